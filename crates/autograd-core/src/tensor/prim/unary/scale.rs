//! `x * c` for a number `c`. VJP: `c g`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scale<T>(pub(crate) T);

impl<T: Real> Unary<T> for Scale<T> {
    const NAME: &'static str = "scale";
    const READS_X: bool = false;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x * self.0
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, _x: &E, _y: &E) -> E {
        g.scale(self.0)
    }
}

impl<T: Real> Tensor<T> {
    /// `self * c` for a number `c`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1.0_f32, -2.0], &[2]);
    /// assert_eq!(a.scale(3.0).to_vec(), vec![3.0, -6.0]);
    /// ```
    pub fn scale(&self, c: T) -> Self {
        self.unary(Scale(c))
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `self * c` for a number, recorded. VJP: c g.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64], &[1]));
    /// assert_eq!(x.scale(3.0).sum().backward()[x].item(), 3.0);
    /// ```
    #[track_caller]
    pub fn scale(self, c: T) -> Self {
        self.unary(Scale(c))
    }
}
