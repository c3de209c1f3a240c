//! Absolute value. VJP: `g sign(x)`, with sign(0) = 0 (PyTorch's choice; JAX
//! gives 1 there).

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Abs;

impl<T: Real> Unary<T> for Abs {
    const NAME: &'static str = "abs";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.abs()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        let sign = x.detached_map(|v| {
            if v > T::ZERO {
                T::ONE
            } else if v < T::ZERO {
                -T::ONE
            } else {
                T::ZERO
            }
        });
        g.mul(&sign)
    }
}

impl<T: Real> Tensor<T> {
    /// Absolute value elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![-2.0_f32], &[1]);
    /// assert_eq!(a.abs().to_vec(), vec![2.0]);
    /// ```
    pub fn abs(&self) -> Self {
        self.unary(Abs)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// Absolute value, recorded. VJP: g sign(x), with 0 at x = 0.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-3.0_f64, 0.0, 2.0], &[3]));
    /// assert_eq!(x.abs().sum().backward()[x].to_vec(), vec![-1.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn abs(self) -> Self {
        self.unary(Abs)
    }
}
