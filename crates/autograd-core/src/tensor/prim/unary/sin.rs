//! Sine. VJP: `g cos x`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sin;

impl<T: Real> Unary<T> for Sin {
    const NAME: &'static str = "sin";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.sin()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        g.mul(&x.cos())
    }
}

impl<T: Real> Tensor<T> {
    /// Sine elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f32], &[1]);
    /// assert_eq!(a.sin().to_vec(), vec![0.0]);
    /// ```
    pub fn sin(&self) -> Self {
        self.unary(Sin)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// Sine, recorded. VJP: g cos x.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.sin().sum().backward()[x].to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn sin(self) -> Self {
        self.unary(Sin)
    }
}
