//! Square root. VJP: `g / (2 y)`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sqrt;

impl<T: Real> Unary<T> for Sqrt {
    const NAME: &'static str = "sqrt";
    const READS_X: bool = false;
    const READS_Y: bool = true;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.sqrt()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, _x: &E, y: &E) -> E {
        g.div(y).scale(T::HALF)
    }
}

impl<T: Real> Tensor<T> {
    /// Square root elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![16.0_f32], &[1]);
    /// assert_eq!(a.sqrt().to_vec(), vec![4.0]);
    /// ```
    pub fn sqrt(&self) -> Self {
        self.unary(Sqrt)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// Square root, recorded. VJP: g / (2 y).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![4.0_f64], &[1]));
    /// assert_eq!(x.sqrt().sum().backward()[x].to_vec(), vec![0.25]);
    /// ```
    #[track_caller]
    pub fn sqrt(self) -> Self {
        self.unary(Sqrt)
    }
}
