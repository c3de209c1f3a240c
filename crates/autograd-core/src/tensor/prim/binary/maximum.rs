//! The larger of each pair, broadcasting. The gradient goes to the larger;
//! ties split it evenly (so the subgradient is symmetric).

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Binary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

/// The larger (`MAX`) or smaller of each pair; `minimum.rs` names the
/// other one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Extremum<const MAX: bool>;

pub(crate) type Maximum = Extremum<true>;

/// The share of the gradient the first (`first`) or second input gets.
#[inline(always)]
fn share<T: Real, const MAX: bool>(first: bool) -> impl Fn(T, T) -> T {
    move |p, q| {
        if p == q {
            T::HALF
        } else if (p > q) == (MAX == first) {
            T::ONE
        } else {
            T::ZERO
        }
    }
}

impl<T: Real, const MAX: bool> Binary<T> for Extremum<MAX> {
    const NAME: &'static str = if MAX { "maximum" } else { "minimum" };
    #[inline(always)]
    fn value(self, a: T, b: T) -> T {
        // NaN in `b` loses to `a`, as before the primitives moved here.
        let b_wins = if MAX { b > a } else { b < a };
        if b_wins {
            b
        } else {
            a
        }
    }
    #[inline(always)]
    fn vjp_a<E: Pointwise<T>>(self, g: &E, a: &E, b: &E, _y: &E) -> E {
        g.mul(&a.detached_zip(b, share::<T, MAX>(true)))
    }
    #[inline(always)]
    fn vjp_b<E: Pointwise<T>>(self, g: &E, a: &E, b: &E, _y: &E) -> E {
        g.mul(&a.detached_zip(b, share::<T, MAX>(false)))
    }
}

impl<T: Real> Tensor<T> {
    /// The larger of each pair, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 5.0], &[2]);
    /// assert_eq!(a.maximum(&Tensor::scalar(2.0)).to_vec(), vec![2.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn maximum(&self, other: &Self) -> Self {
        self.binary(other, Maximum {})
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// The larger of each pair, recorded. The gradient goes to the larger;
    /// ties split it evenly.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 5.0, 2.0], &[3]));
    /// let b = tape.leaf(Tensor::scalar(2.0_f64));
    /// let g = a.maximum(b).sum().backward();
    /// assert_eq!((g[a].to_vec(), g[b].item()), (vec![0.0, 1.0, 0.5], 1.5));
    /// ```
    #[track_caller]
    pub fn maximum(self, other: Self) -> Self {
        self.binary(other, Maximum {})
    }
}
