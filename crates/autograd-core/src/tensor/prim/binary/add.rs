//! `a + b`, broadcasting. VJP: `(g, g)` (the sweep moves `g` itself to one
//! input and shares it with the other).

// `a.add(b)` names the operation as PyTorch and candle do; the operator
// traits are implemented too (operators.rs) and forward here.
#![allow(clippy::should_implement_trait)]

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Binary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Add;

impl<T: Real> Binary<T> for Add {
    const NAME: &'static str = "add";
    #[inline(always)]
    fn value(self, a: T, b: T) -> T {
        a + b
    }
    #[inline(always)]
    fn vjp_a<E: Pointwise<T>>(self, g: &E, _a: &E, _b: &E, _y: &E) -> E {
        g.clone()
    }
    #[inline(always)]
    fn vjp_b<E: Pointwise<T>>(self, g: &E, _a: &E, _b: &E, _y: &E) -> E {
        g.clone()
    }
}

impl<T: Real> Tensor<T> {
    /// `self + other`, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0], &[2, 1]);
    /// let b = Tensor::from_vec(vec![10.0_f32, 20.0, 30.0], &[3]);
    /// assert_eq!(a.add(&b).shape(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn add(&self, other: &Self) -> Self {
        self.binary(other, Add)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `self + other`, broadcasting, recorded. VJP: (g, g).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::scalar(10.0_f64));
    /// let g = a.add(b).sum().backward();
    /// assert_eq!((g[a].to_vec(), g[b].item()), (vec![1.0, 1.0], 2.0));
    /// ```
    #[track_caller]
    pub fn add(self, other: Self) -> Self {
        self.binary(other, Add)
    }
}
