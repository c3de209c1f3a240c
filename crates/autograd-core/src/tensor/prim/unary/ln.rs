//! Natural logarithm. VJP: `g / x`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ln;

impl<T: Real> Unary<T> for Ln {
    const NAME: &'static str = "ln";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.ln()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        g.div(x)
    }
}

impl<T: Real> Tensor<T> {
    /// Natural logarithm elementwise (NaN below 0, -inf at 0, as `f64::ln`).
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1.0_f64], &[1]);
    /// assert_eq!(a.ln().to_vec(), vec![0.0]);
    /// ```
    pub fn ln(&self) -> Self {
        self.unary(Ln)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// Natural logarithm, recorded. VJP: g / x.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// assert_eq!(x.ln().sum().backward()[x].to_vec(), vec![0.5]);
    /// ```
    #[track_caller]
    pub fn ln(self) -> Self {
        self.unary(Ln)
    }
}
