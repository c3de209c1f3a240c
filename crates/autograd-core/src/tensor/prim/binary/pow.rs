//! `a ^ b` elementwise with a tensor exponent, broadcasting.
//! VJP: `(g b a^(b-1), g y ln a)`; the second is NaN for a < 0, as on the
//! scalar tape.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Binary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pow;

impl<T: Real> Binary<T> for Pow {
    const NAME: &'static str = "pow";
    #[inline(always)]
    fn value(self, a: T, b: T) -> T {
        a.powf(b)
    }
    #[inline(always)]
    fn vjp_a<E: Pointwise<T>>(self, g: &E, a: &E, b: &E, _y: &E) -> E {
        g.mul(b).mul(&a.pow(&b.add_scalar(-T::ONE)))
    }
    #[inline(always)]
    fn vjp_b<E: Pointwise<T>>(self, g: &E, a: &E, _b: &E, y: &E) -> E {
        g.mul(y).mul(&a.ln())
    }
}

impl<T: Real> Tensor<T> {
    /// `self ^ exponent` elementwise with a tensor exponent, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![2.0_f64, 3.0], &[2]);
    /// assert_eq!(a.pow(&Tensor::from_vec(vec![3.0, 2.0], &[2])).to_vec(), vec![8.0, 9.0]);
    /// ```
    #[track_caller]
    pub fn pow(&self, exponent: &Self) -> Self {
        self.binary(exponent, Pow)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `self ^ other` elementwise, broadcasting, recorded.
    /// VJP: (g e x^(e-1), g y ln x); the second is NaN for x < 0, as in the
    /// scalar tape.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// let e = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// let g = x.pow(e).sum().backward();
    /// assert_eq!(g[x].item(), 12.0);
    /// assert!((g[e].item() - 8.0 * 2.0_f64.ln()).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn pow(self, other: Self) -> Self {
        self.binary(other, Pow)
    }
}
