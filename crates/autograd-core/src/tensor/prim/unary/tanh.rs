//! Hyperbolic tangent. VJP: `g (1 - y²)`, from the output alone.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Tanh;

impl<T: Real> Unary<T> for Tanh {
    const NAME: &'static str = "tanh";
    const READS_X: bool = false;
    const READS_Y: bool = true;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.tanh_fast()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, _x: &E, y: &E) -> E {
        g.mul(&y.mul(y).neg().add_scalar(T::ONE))
    }
}

impl<T: Real> Tensor<T> {
    /// Hyperbolic tangent elementwise (for f32 through [`Real::tanh_fast`],
    /// within 4.5e-7 of the exact value: it vectorises).
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f32], &[1]);
    /// assert_eq!(a.tanh().to_vec(), vec![0.0]);
    /// ```
    pub fn tanh(&self) -> Self {
        self.unary(Tanh)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// Hyperbolic tangent, recorded. VJP: g (1 - y²).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.tanh().sum().backward()[x].to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn tanh(self) -> Self {
        self.unary(Tanh)
    }
}
