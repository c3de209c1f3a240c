//! e^x. VJP: `g y`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exp;

impl<T: Real> Unary<T> for Exp {
    const NAME: &'static str = "exp";
    const READS_X: bool = false;
    const READS_Y: bool = true;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.exp()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, _x: &E, y: &E) -> E {
        g.mul(y)
    }
}

impl<T: Real> Tensor<T> {
    /// e^x elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f64], &[1]);
    /// assert_eq!(a.exp().to_vec(), vec![1.0]);
    /// ```
    pub fn exp(&self) -> Self {
        self.unary(Exp)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// e^x, recorded. VJP: g * y.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64, 1.0], &[2]));
    /// let g = x.exp().sum().backward();
    /// assert_eq!(g[x].to_vec(), vec![1.0, 1.0_f64.exp()]);
    /// ```
    #[track_caller]
    pub fn exp(self) -> Self {
        self.unary(Exp)
    }
}
