//! The logistic function. VJP: `g y (1 - y)`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sigmoid;

impl<T: Real> Unary<T> for Sigmoid {
    const NAME: &'static str = "sigmoid";
    const READS_X: bool = false;
    const READS_Y: bool = true;
    #[inline(always)]
    fn value(self, x: T) -> T {
        crate::tensor::pointwise::sigmoid_scalar(x)
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, _x: &E, y: &E) -> E {
        g.mul(&y.sub(&y.mul(y)))
    }
}

impl<T: Real> Tensor<T> {
    /// The logistic function 1 / (1 + e^-x), computed without overflow.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f32, -1000.0], &[2]);
    /// assert_eq!(a.sigmoid().to_vec(), vec![0.5, 0.0]);
    /// ```
    pub fn sigmoid(&self) -> Self {
        self.unary(Sigmoid)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// Logistic sigmoid, recorded. VJP: g y (1 - y).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.sigmoid().sum().backward()[x].to_vec(), vec![0.25]);
    /// ```
    #[track_caller]
    pub fn sigmoid(self) -> Self {
        self.unary(Sigmoid)
    }
}
