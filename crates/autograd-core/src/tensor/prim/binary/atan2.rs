//! atan2(a, b): the angle of the point (b, a), broadcasting.
//! VJP: `(g b / (a² + b²), -g a / (a² + b²))`.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Binary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Atan2;

impl<T: Real> Binary<T> for Atan2 {
    const NAME: &'static str = "atan2";
    #[inline(always)]
    fn value(self, a: T, b: T) -> T {
        a.atan2(b)
    }
    #[inline(always)]
    fn vjp_a<E: Pointwise<T>>(self, g: &E, a: &E, b: &E, _y: &E) -> E {
        g.mul(b).div(&a.mul(a).add(&b.mul(b)))
    }
    #[inline(always)]
    fn vjp_b<E: Pointwise<T>>(self, g: &E, a: &E, b: &E, _y: &E) -> E {
        g.mul(a).div(&a.mul(a).add(&b.mul(b))).neg()
    }
}

impl<T: Real> Tensor<T> {
    /// atan2(self, other) elementwise, broadcasting: the angle in (-π, π]
    /// of the point (other, self) (PyTorch's `atan2(input, other)`).
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let y = Tensor::from_vec(vec![1.0_f64, 0.0], &[2]);
    /// let a = y.atan2(&Tensor::from_vec(vec![0.0, -1.0], &[2])).to_vec();
    /// assert_eq!(a, vec![std::f64::consts::FRAC_PI_2, std::f64::consts::PI]);
    /// ```
    #[track_caller]
    pub fn atan2(&self, other: &Self) -> Self {
        self.binary(other, Atan2)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// atan2(self, other), broadcasting, recorded.
    /// VJP: (g b / (a² + b²), -g a / (a² + b²)).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64], &[1]));
    /// let b = tape.leaf(Tensor::from_vec(vec![1.0_f64], &[1]));
    /// let g = a.atan2(b).sum().backward();
    /// assert_eq!((g[a].item(), g[b].item()), (0.5, -0.5));
    /// ```
    #[track_caller]
    pub fn atan2(self, other: Self) -> Self {
        self.binary(other, Atan2)
    }
}
