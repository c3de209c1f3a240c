//! e^x - 1, accurate near 0. VJP: `g (y + 1)`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Expm1;

impl<T: Real> Unary<T> for Expm1 {
    const NAME: &'static str = "expm1";
    const READS_X: bool = false;
    const READS_Y: bool = true;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.exp_m1()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, _x: &E, y: &E) -> E {
        g.mul(&y.add_scalar(T::ONE))
    }
}

impl<T: Real> Tensor<T> {
    /// e^x - 1 elementwise, accurate for small x (PyTorch's `expm1`).
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1e-20_f64], &[1]);
    /// assert_eq!(a.expm1().to_vec(), vec![1e-20]);
    /// ```
    pub fn expm1(&self) -> Self {
        self.unary(Expm1)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// e^x - 1, recorded. VJP: g (y + 1) = g e^x.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.expm1().sum().backward()[x].item(), 1.0);
    /// ```
    #[track_caller]
    pub fn expm1(self) -> Self {
        self.unary(Expm1)
    }
}
