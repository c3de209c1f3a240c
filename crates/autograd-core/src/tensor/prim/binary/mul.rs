//! `a * b` elementwise, broadcasting. VJP: `(g b, g a)`.

// `a.add(b)` names the operation as PyTorch and candle do; the operator
// traits are implemented too (operators.rs) and forward here.
#![allow(clippy::should_implement_trait)]

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Binary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mul;

impl<T: Real> Binary<T> for Mul {
    const NAME: &'static str = "mul";
    #[inline(always)]
    fn value(self, a: T, b: T) -> T {
        a * b
    }
    #[inline(always)]
    fn vjp_a<E: Pointwise<T>>(self, g: &E, _a: &E, b: &E, _y: &E) -> E {
        g.mul(b)
    }
    #[inline(always)]
    fn vjp_b<E: Pointwise<T>>(self, g: &E, a: &E, _b: &E, _y: &E) -> E {
        g.mul(a)
    }
}

impl<T: Real> Tensor<T> {
    /// `self * other` elementwise, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![2.0_f32, 3.0], &[2]);
    /// assert_eq!(a.mul(&a).to_vec(), vec![4.0, 9.0]);
    /// ```
    #[track_caller]
    pub fn mul(&self, other: &Self) -> Self {
        self.binary(other, Mul)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `self * other` elementwise, broadcasting, recorded. VJP: (g b, g a).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::from_vec(vec![3.0_f64, 4.0], &[2]));
    /// assert_eq!(a.mul(b).sum().backward()[a].to_vec(), vec![3.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn mul(self, other: Self) -> Self {
        self.binary(other, Mul)
    }
}
