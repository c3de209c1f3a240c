//! `a - b`, broadcasting. VJP: `(g, -g)`.

// `a.add(b)` names the operation as PyTorch and candle do; the operator
// traits are implemented too (operators.rs) and forward here.
#![allow(clippy::should_implement_trait)]

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Binary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sub;

impl<T: Real> Binary<T> for Sub {
    const NAME: &'static str = "sub";
    #[inline(always)]
    fn value(self, a: T, b: T) -> T {
        a - b
    }
    #[inline(always)]
    fn vjp_a<E: Pointwise<T>>(self, g: &E, _a: &E, _b: &E, _y: &E) -> E {
        g.clone()
    }
    #[inline(always)]
    fn vjp_b<E: Pointwise<T>>(self, g: &E, _a: &E, _b: &E, _y: &E) -> E {
        g.neg()
    }
}

impl<T: Real> Tensor<T> {
    /// `self - other`, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![5.0_f32, 7.0], &[2]);
    /// assert_eq!(a.sub(&Tensor::scalar(1.0)).to_vec(), vec![4.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn sub(&self, other: &Self) -> Self {
        self.binary(other, Sub)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `self - other`, broadcasting, recorded. VJP: (g, -g).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::scalar(10.0_f64));
    /// assert_eq!(a.sub(b).sum().backward()[b].item(), -2.0);
    /// ```
    #[track_caller]
    pub fn sub(self, other: Self) -> Self {
        self.binary(other, Sub)
    }
}
