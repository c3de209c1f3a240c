//! Cosine. VJP: `-g sin x`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Cos;

impl<T: Real> Unary<T> for Cos {
    const NAME: &'static str = "cos";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.cos()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        g.mul(&x.sin()).neg()
    }
}

impl<T: Real> Tensor<T> {
    /// Cosine elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f32], &[1]);
    /// assert_eq!(a.cos().to_vec(), vec![1.0]);
    /// ```
    pub fn cos(&self) -> Self {
        self.unary(Cos)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// Cosine, recorded. VJP: -g sin x.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.cos().sum().backward()[x].to_vec(), vec![0.0]);
    /// ```
    #[track_caller]
    pub fn cos(self) -> Self {
        self.unary(Cos)
    }
}
