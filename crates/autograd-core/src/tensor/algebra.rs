//! The operations vector-Jacobian products are written in.
//!
//! Every VJP is generic over [`Algebra`]. The ordinary backward pass runs it
//! on plain [`Tensor`]s: nothing is recorded and nothing is paid for
//! generality. The higher-order backward runs the very same code on
//! [`TensorVar`]s, so the backward pass lands on the tape and can itself be
//! differentiated, with no second set of derivative rules.

use std::sync::Arc;

use super::checkpoint::SegmentFn;
pub use super::conv::Geometry;
use super::custom::DynCustomOp;
use super::pointwise::Pointwise;
use super::shape::Shape;
use super::tape::TensorVar;
use super::value::Tensor;
use crate::Real;

/// Tensor operations that exist both on plain values ([`Tensor`]) and on
/// recorded variables ([`TensorVar`]).
///
/// Code generic over `Algebra` runs without a tape on tensors and is recorded
/// when given variables. The elementwise operations come from its
/// supertrait [`Pointwise`]; axes here are already resolved (non-negative).
///
/// ```
/// use autograd_core::{Algebra, Tensor, TensorTape};
///
/// fn softsign<V: Algebra<f64>>(x: &V) -> V {
///     let one_plus_abs = x.mul(x).sqrt().add_scalar(1.0);
///     x.div(&one_plus_abs)
/// }
/// let t = Tensor::from_vec(vec![1.0_f64, -3.0], &[2]);
/// assert_eq!(softsign(&t).to_vec(), vec![0.5, -0.75]);
///
/// let tape = TensorTape::new();
/// let x = tape.leaf(t);
/// let g = softsign(&x).sum().backward();
/// // d/dx x/(1+|x|) = 1/(1+|x|)^2
/// assert!((g[x].get(&[1]) - 1.0 / 16.0).abs() < 1e-12);
/// ```
pub trait Algebra<T: Real>: Pointwise<T> {
    /// The shape.
    fn shape(&self) -> Shape;
    /// True when the shape is `shape` (without building a [`Shape`]).
    fn has_shape(&self, shape: &[usize]) -> bool {
        self.shape().as_slice() == shape
    }
    /// The numeric value (for a variable, the value it was recorded with).
    fn value(&self) -> Tensor<T>;
    /// A constant in the same world as `self` (for a variable, a constant
    /// node on its tape).
    fn lift(&self, t: Tensor<T>) -> Self;
    /// Sum over resolved `axes`.
    fn sum_axes(&self, axes: &[usize], keepdim: bool) -> Self;
    /// Sum down to a shape this one broadcasts from.
    fn sum_to(&self, shape: &[usize]) -> Self;
    /// Broadcast up to `shape`.
    fn broadcast_to(&self, shape: &[usize]) -> Self;
    /// Same elements, another shape.
    fn reshape(&self, shape: &[usize]) -> Self;
    /// Reorders the axes.
    fn permute(&self, perm: &[usize]) -> Self;
    /// Batched matrix product of the last two axes, each side optionally
    /// transposed.
    fn mm(&self, o: &Self, transpose_self: bool, transpose_o: bool) -> Self;
    /// `len` entries from `start` along `axis`.
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self;
    /// Zero padding along `axis` to length `size`, `self` starting at `start`
    /// (the adjoint of [`Algebra::narrow`]).
    fn pad(&self, axis: usize, start: usize, size: usize) -> Self;
    /// Rows `idx` along `axis`.
    fn index_select(&self, axis: usize, idx: &Arc<[usize]>) -> Self;
    /// Adds slice `k` into row `idx[k]` of zeros of length `size` along
    /// `axis` (the adjoint of [`Algebra::index_select`]).
    fn index_add_into(&self, axis: usize, idx: &Arc<[usize]>, size: usize) -> Self;
    /// `out[..i..] = self[..index[..i..]..]` along `axis`.
    fn gather(&self, axis: usize, index: &Tensor<usize>) -> Self;
    /// Adds `self` into zeros of `shape` at `index` along `axis` (the adjoint
    /// of [`Algebra::gather`]).
    fn scatter_add_into(&self, axis: usize, index: &Tensor<usize>, shape: &[usize]) -> Self;
    /// im2col with zero padding.
    #[doc(hidden)]
    fn unfold2d(&self, geometry: &Geometry) -> Self;
    /// col2im (the adjoint of [`Algebra::unfold2d`]).
    #[doc(hidden)]
    fn fold2d(&self, geometry: &Geometry) -> Self;

    /// Runs a custom op's VJP on this side (values or variables).
    #[doc(hidden)]
    fn custom_vjp(op: &dyn DynCustomOp<T>, x: &[&Self], y: &Self, g: &Self) -> Vec<Option<Self>>
    where
        Self: Sized;

    /// Recomputes a checkpointed segment and returns its inputs' gradients.
    #[doc(hidden)]
    fn checkpoint_vjp(f: &dyn SegmentFn<T>, x: &[&Self], g: &Self) -> Vec<Self>
    where
        Self: Sized;
}

impl<T: Real> Algebra<T> for Tensor<T> {
    fn shape(&self) -> Shape {
        Shape::from_slice(Tensor::shape(self))
    }
    fn has_shape(&self, shape: &[usize]) -> bool {
        super::shape::same_shape(Tensor::shape(self), shape)
    }
    fn value(&self) -> Tensor<T> {
        self.clone()
    }
    fn lift(&self, t: Tensor<T>) -> Self {
        t
    }
    fn sum_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        self.sum_resolved(axes, keepdim)
    }
    fn sum_to(&self, shape: &[usize]) -> Self {
        Tensor::sum_to(self, shape)
    }
    fn broadcast_to(&self, shape: &[usize]) -> Self {
        Tensor::broadcast_to(self, shape)
    }
    fn reshape(&self, shape: &[usize]) -> Self {
        Tensor::reshape(self, shape)
    }
    fn permute(&self, perm: &[usize]) -> Self {
        self.permute_resolved(perm)
    }
    fn mm(&self, o: &Self, ta: bool, tb: bool) -> Self {
        self.mm_ex(o, ta, tb)
    }
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        self.narrow_resolved(axis, start, len)
    }
    fn pad(&self, axis: usize, start: usize, size: usize) -> Self {
        self.pad_resolved(axis, start, size)
    }
    fn index_select(&self, axis: usize, idx: &Arc<[usize]>) -> Self {
        self.index_select_resolved(axis, idx)
    }
    fn index_add_into(&self, axis: usize, idx: &Arc<[usize]>, size: usize) -> Self {
        self.index_add_into_resolved(axis, idx, size)
    }
    fn gather(&self, axis: usize, index: &Tensor<usize>) -> Self {
        self.gather_resolved(axis, index)
    }
    fn scatter_add_into(&self, axis: usize, index: &Tensor<usize>, shape: &[usize]) -> Self {
        self.scatter_add_into_resolved(axis, index, shape)
    }
    fn unfold2d(&self, g: &Geometry) -> Self {
        self.unfold_resolved(g)
    }
    fn fold2d(&self, g: &Geometry) -> Self {
        self.fold_resolved(g)
    }
    fn custom_vjp(op: &dyn DynCustomOp<T>, x: &[&Self], y: &Self, g: &Self) -> Vec<Option<Self>> {
        op.vjp_tensor(x, y, g)
    }
    fn checkpoint_vjp(f: &dyn SegmentFn<T>, x: &[&Self], g: &Self) -> Vec<Self> {
        super::checkpoint::segment_vjp_values(f, x, g)
    }
}

impl<'t, T: Real> Algebra<T> for TensorVar<'t, T> {
    fn shape(&self) -> Shape {
        TensorVar::shape(*self)
    }
    fn value(&self) -> Tensor<T> {
        TensorVar::value(*self)
    }
    fn lift(&self, t: Tensor<T>) -> Self {
        self.tape().constant(t)
    }
    fn sum_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        self.sum_resolved(axes, keepdim)
    }
    fn sum_to(&self, shape: &[usize]) -> Self {
        TensorVar::sum_to(*self, shape)
    }
    fn broadcast_to(&self, shape: &[usize]) -> Self {
        TensorVar::broadcast_to(*self, shape)
    }
    fn reshape(&self, shape: &[usize]) -> Self {
        TensorVar::reshape(*self, shape)
    }
    fn permute(&self, perm: &[usize]) -> Self {
        self.permute_resolved(perm)
    }
    fn mm(&self, o: &Self, ta: bool, tb: bool) -> Self {
        self.mm_ex(*o, ta, tb)
    }
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        self.narrow_resolved(axis, start, len)
    }
    fn pad(&self, axis: usize, start: usize, size: usize) -> Self {
        self.pad_resolved(axis, start, size)
    }
    fn index_select(&self, axis: usize, idx: &Arc<[usize]>) -> Self {
        self.index_select_resolved(axis, idx)
    }
    fn index_add_into(&self, axis: usize, idx: &Arc<[usize]>, size: usize) -> Self {
        self.index_add_into_resolved(axis, idx, size)
    }
    fn gather(&self, axis: usize, index: &Tensor<usize>) -> Self {
        self.gather_resolved(axis, index)
    }
    fn scatter_add_into(&self, axis: usize, index: &Tensor<usize>, shape: &[usize]) -> Self {
        self.scatter_add_into_resolved(axis, index, shape)
    }
    fn unfold2d(&self, g: &Geometry) -> Self {
        self.unfold_resolved(g)
    }
    fn fold2d(&self, g: &Geometry) -> Self {
        self.fold_resolved(g)
    }
    fn custom_vjp(op: &dyn DynCustomOp<T>, x: &[&Self], y: &Self, g: &Self) -> Vec<Option<Self>> {
        op.vjp_var(x, y, g)
    }
    fn checkpoint_vjp(f: &dyn SegmentFn<T>, x: &[&Self], g: &Self) -> Vec<Self> {
        super::checkpoint::segment_vjp_vars(f, x, g)
    }
}
