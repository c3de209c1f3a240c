//! Each element limited to `[low, high]`. VJP: `g` where `low <= x <= high`,
//! else 0.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Clamp<T>(pub(crate) T, pub(crate) T);

impl<T: Real> Unary<T> for Clamp<T> {
    const NAME: &'static str = "clamp";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        if x < self.0 {
            self.0
        } else if x > self.1 {
            self.1
        } else {
            x
        }
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        let (low, high) = (self.0, self.1);
        g.keep_where(x, |v| v >= low && v <= high)
    }
}

#[track_caller]
fn check<T: Real>(low: T, high: T) -> Clamp<T> {
    if low > high || low.is_nan() || high.is_nan() {
        panic!("clamp: low {low} must not exceed high {high}");
    }
    Clamp(low, high)
}

impl<T: Real> Tensor<T> {
    /// Each element limited to `[low, high]`. Panics if `low > high`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![-2.0_f32, 0.5, 3.0], &[3]);
    /// assert_eq!(a.clamp(-1.0, 1.0).to_vec(), vec![-1.0, 0.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn clamp(&self, low: T, high: T) -> Self {
        self.unary(check(low, high))
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// Each element limited to `[low, high]`, recorded. The gradient passes
    /// where `low <= x <= high` and is 0 outside.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-2.0_f64, 0.5, 3.0], &[3]));
    /// assert_eq!(x.clamp(-1.0, 1.0).sum().backward()[x].to_vec(), vec![0.0, 1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn clamp(self, low: T, high: T) -> Self {
        self.unary(check(low, high))
    }
}
