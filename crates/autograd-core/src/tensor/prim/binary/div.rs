//! `a / b` elementwise, broadcasting. VJP: `(g / b, -g y / b)`.

// `a.add(b)` names the operation as PyTorch and candle do; the operator
// traits are implemented too (operators.rs) and forward here.
#![allow(clippy::should_implement_trait)]

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Binary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Div;

impl<T: Real> Binary<T> for Div {
    const NAME: &'static str = "div";
    #[inline(always)]
    fn value(self, a: T, b: T) -> T {
        a / b
    }
    #[inline(always)]
    fn vjp_a<E: Pointwise<T>>(self, g: &E, _a: &E, b: &E, _y: &E) -> E {
        g.div(b)
    }
    #[inline(always)]
    fn vjp_b<E: Pointwise<T>>(self, g: &E, _a: &E, b: &E, y: &E) -> E {
        g.mul(y).div(b).neg()
    }
}

impl<T: Real> Tensor<T> {
    /// `self / other` elementwise, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![2.0_f32, 3.0], &[2]);
    /// assert_eq!(a.div(&Tensor::scalar(2.0)).to_vec(), vec![1.0, 1.5]);
    /// ```
    #[track_caller]
    pub fn div(&self, other: &Self) -> Self {
        self.binary(other, Div)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `self / other` elementwise, broadcasting, recorded. VJP: (g / b, -g y / b).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64], &[1]));
    /// let b = tape.leaf(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// let g = a.div(b).sum().backward();
    /// assert_eq!((g[a].item(), g[b].item()), (0.5, -0.25));
    /// ```
    #[track_caller]
    pub fn div(self, other: Self) -> Self {
        self.binary(other, Div)
    }
}
