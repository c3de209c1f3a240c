//! softplus(x) = ln(1 + e^(βx)) / β, computed as (max(βx, 0) + ln(1 +
//! e^-|βx|)) / β so that it never overflows and stays exact for large |x|
//! (where PyTorch switches to `x` past a threshold, this form needs none).
//! VJP: `g σ(βx)`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

/// The sharpness β.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Softplus<T>(pub(crate) T);

impl<T: Real> Unary<T> for Softplus<T> {
    const NAME: &'static str = "softplus";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        let bx = x * self.0;
        let pos = if bx > T::ZERO { bx } else { T::ZERO };
        (pos + (-bx.abs()).exp().ln_1p()) / self.0
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        g.mul(&x.scale(self.0).sigmoid())
    }
}

#[track_caller]
fn check<T: Real>(beta: T) -> Softplus<T> {
    if beta <= T::ZERO || !beta.is_finite() {
        panic!("softplus: beta must be positive and finite, got {beta}");
    }
    Softplus(beta)
}

impl<T: Real> Tensor<T> {
    /// ln(1 + e^(βx)) / β elementwise, without overflow (PyTorch's
    /// `softplus(x, beta)`). Panics unless β > 0.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f64, 1000.0, -1000.0], &[3]);
    /// assert_eq!(a.softplus(1.0).to_vec(), vec![2.0_f64.ln(), 1000.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn softplus(&self, beta: T) -> Self {
        self.unary(check(beta))
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// ln(1 + e^(βx)) / β, recorded as one node. VJP: g σ(βx).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.softplus(1.0).sum().backward()[x].item(), 0.5);
    /// ```
    #[track_caller]
    pub fn softplus(self, beta: T) -> Self {
        self.unary(check(beta))
    }
}
