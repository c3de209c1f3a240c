//! max(x, 0). VJP: `g` where x > 0, else 0 (so relu'(0) = 0, and NaN stays NaN
//! forward).

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Relu;

impl<T: Real> Unary<T> for Relu {
    const NAME: &'static str = "relu";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        if x < T::ZERO { T::ZERO } else { x }
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        g.keep_where(x, |v| v > T::ZERO)
    }
}

impl<T: Real> Tensor<T> {
    /// max(x, 0) elementwise (NaN stays NaN).
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![-2.0_f32, 3.0], &[2]);
    /// assert_eq!(a.relu().to_vec(), vec![0.0, 3.0]);
    /// ```
    pub fn relu(&self) -> Self {
        self.unary(Relu)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// max(x, 0), recorded. VJP: g where x > 0, else 0 (so relu'(0) = 0).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-1.0_f64, 0.0, 2.0], &[3]));
    /// assert_eq!(x.relu().sum().backward()[x].to_vec(), vec![0.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn relu(self) -> Self {
        self.unary(Relu)
    }
}
