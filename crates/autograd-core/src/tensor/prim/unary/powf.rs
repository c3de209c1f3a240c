//! `x ^ p` for a number `p`. VJP: `g p x^(p-1)`. Squares, cubes and
//! reciprocals multiply or divide instead of calling libm's `pow`, both ways.

use crate::tensor::pointwise::{powf_scalar, Pointwise};
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Powf<T>(pub(crate) T);

impl<T: Real> Unary<T> for Powf<T> {
    const NAME: &'static str = "powf";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        powf_scalar(x, self.0)
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        let p = self.0;
        if p == T::TWO {
            g.mul(x).scale(T::TWO)
        } else {
            g.mul(&x.powf(p - T::ONE)).scale(p)
        }
    }
}

impl<T: Real> Tensor<T> {
    /// `self ^ p` for a number `p`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![4.0_f32, 9.0], &[2]);
    /// assert_eq!(a.powf(0.5).to_vec(), vec![2.0, 3.0]);
    /// assert_eq!(a.powf(3.0).to_vec(), vec![64.0, 729.0]);
    /// ```
    pub fn powf(&self, p: T) -> Self {
        self.unary(Powf(p))
    }

    /// `self * self`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![-3.0_f32], &[1]);
    /// assert_eq!(a.square().to_vec(), vec![9.0]);
    /// ```
    pub fn square(&self) -> Self {
        self.unary(Powf(T::TWO))
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `self ^ p` for a number, recorded. VJP: g p x^(p-1).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// assert_eq!(x.powf(2.0).sum().backward()[x].item(), 6.0);
    /// ```
    #[track_caller]
    pub fn powf(self, p: T) -> Self {
        self.unary(Powf(p))
    }

    /// `self * self`, recorded (as `powf(2)`).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// assert_eq!(x.square().sum().backward()[x].item(), 6.0);
    /// ```
    #[track_caller]
    pub fn square(self) -> Self {
        self.powf(T::TWO)
    }
}
