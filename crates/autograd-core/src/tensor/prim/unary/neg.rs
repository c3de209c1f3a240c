//! `-x`. VJP: `-g`.

// `a.add(b)` names the operation as PyTorch and candle do; the operator
// traits are implemented too (operators.rs) and forward here.
#![allow(clippy::should_implement_trait)]

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Neg;

impl<T: Real> Unary<T> for Neg {
    const NAME: &'static str = "neg";
    const READS_X: bool = false;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        -x
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, _x: &E, _y: &E) -> E {
        g.neg()
    }
}

impl<T: Real> Tensor<T> {
    /// `-self`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1.0_f32, -2.0], &[2]);
    /// assert_eq!(a.neg().to_vec(), vec![-1.0, 2.0]);
    /// ```
    pub fn neg(&self) -> Self {
        self.unary(Neg)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `-x`, recorded. VJP: -g.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// assert_eq!(x.neg().sum().backward()[x].to_vec(), vec![-1.0]);
    /// ```
    #[track_caller]
    pub fn neg(self) -> Self {
        self.unary(Neg)
    }
}
