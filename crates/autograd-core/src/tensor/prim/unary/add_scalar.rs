//! `x + c` for a number `c`. VJP: `g`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AddScalar<T>(pub(crate) T);

impl<T: Real> Unary<T> for AddScalar<T> {
    const NAME: &'static str = "add_scalar";
    const READS_X: bool = false;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x + self.0
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, _x: &E, _y: &E) -> E {
        g.clone()
    }
}

impl<T: Real> Tensor<T> {
    /// `self + c` for a number `c`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1.0_f32, -2.0], &[2]);
    /// assert_eq!(a.add_scalar(1.0).to_vec(), vec![2.0, -1.0]);
    /// ```
    pub fn add_scalar(&self, c: T) -> Self {
        self.unary(AddScalar(c))
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `self + c` for a number, recorded. VJP: g.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f32], &[1]));
    /// assert_eq!(x.add_scalar(2.0).value().to_vec(), vec![3.0]);
    /// ```
    #[track_caller]
    pub fn add_scalar(self, c: T) -> Self {
        self.unary(AddScalar(c))
    }
}
