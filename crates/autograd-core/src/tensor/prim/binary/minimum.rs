//! The smaller of each pair, broadcasting: `maximum.rs`'s primitive with
//! the comparison turned round (ties split the gradient evenly).

use crate::tensor::{Tensor, TensorVar};
use crate::Real;

pub(crate) type Minimum = super::maximum::Extremum<false>;

impl<T: Real> Tensor<T> {
    /// The smaller of each pair, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 5.0], &[2]);
    /// assert_eq!(a.minimum(&Tensor::scalar(2.0)).to_vec(), vec![1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn minimum(&self, other: &Self) -> Self {
        self.binary(other, Minimum {})
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// The smaller of each pair, recorded; ties split the gradient evenly.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 5.0], &[2]));
    /// let b = tape.leaf(Tensor::scalar(2.0_f64));
    /// assert_eq!(a.minimum(b).sum().backward()[a].to_vec(), vec![1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn minimum(self, other: Self) -> Self {
        self.binary(other, Minimum {})
    }
}
