//! The error function. VJP: `g 2/√π e^(-x²)`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Erf;

impl<T: Real> Unary<T> for Erf {
    const NAME: &'static str = "erf";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        x.erf()
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        g.mul(&x.mul(x).neg().exp().scale(T::from_f64(std::f64::consts::FRAC_2_SQRT_PI)))
    }
}

impl<T: Real> Tensor<T> {
    /// The error function elementwise (the `libm` crate's).
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f64, 10.0], &[2]);
    /// assert_eq!(a.erf().to_vec(), vec![0.0, 1.0]);
    /// ```
    pub fn erf(&self) -> Self {
        self.unary(Erf)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// The error function, recorded. VJP: g 2/√π e^(-x²).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// let d = x.erf().sum().backward()[x].item();
    /// assert!((d - 2.0 / std::f64::consts::PI.sqrt()).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn erf(self) -> Self {
        self.unary(Erf)
    }
}
