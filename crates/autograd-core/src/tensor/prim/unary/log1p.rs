//! ln(1 + x), accurate near 0. VJP: `g / (1 + x)`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Log1p;

impl<T: Real> Unary<T> for Log1p {
    const NAME: &'static str = "log1p";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.ln_1p()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        g.div(&x.add_scalar(T::ONE))
    }
}

impl<T: Real> Tensor<T> {
    /// ln(1 + x) elementwise, accurate for small x (PyTorch's `log1p`).
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1e-20_f64], &[1]);
    /// assert_eq!(a.log1p().to_vec(), vec![1e-20]);
    /// ```
    pub fn log1p(&self) -> Self {
        self.unary(Log1p)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// ln(1 + x), recorded. VJP: g / (1 + x).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64], &[1]));
    /// assert_eq!(x.log1p().sum().backward()[x].item(), 0.5);
    /// ```
    #[track_caller]
    pub fn log1p(self) -> Self {
        self.unary(Log1p)
    }
}
