//! Gradient checkpointing: a marked segment of the forward pass keeps only
//! its output on the tape and is recomputed during the backward sweep
//! (`torch.utils.checkpoint`, `jax.checkpoint`).

use std::sync::Arc;

use super::tape::{Op, TensorTape, TensorVar};
use super::value::Tensor;
use crate::Real;

/// The function of a checkpointed segment: a closure over a slice of input
/// variables, called again on another tape during the backward sweep (so it
/// must not capture variables of its own).
///
/// ```
/// use autograd_core::tensor::SegmentFn;
/// fn takes<F: SegmentFn<f32>>(_: F) {}
/// fn block<'s>(v: &[autograd_core::TensorVar<'s, f32>]) -> autograd_core::TensorVar<'s, f32> {
///     v[0].relu()
/// }
/// takes(block);
/// ```
pub trait SegmentFn<T: Real>:
    for<'s> Fn(&[TensorVar<'s, T>]) -> TensorVar<'s, T> + Send + Sync + 'static
{
}
impl<T: Real, F> SegmentFn<T> for F where
    F: for<'s> Fn(&[TensorVar<'s, T>]) -> TensorVar<'s, T> + Send + Sync + 'static
{
}

/// A checkpointed segment as a tape node holds it.
#[derive(Clone)]
pub(crate) struct Segment<T: Real>(pub(crate) Arc<dyn SegmentFn<T>>);

/// Runs `f` on `inputs` without keeping its intermediate values: the tape
/// records one node holding the output. In the backward sweep `f` runs
/// again on a scratch tape and its gradients are taken there, so memory
/// for the segment's internals is needed only one segment at a time.
/// Gradients are identical to running `f` directly (same operations, same
/// order). Works under `grad_graph` too (the recomputation is then recorded).
///
/// ```
/// use autograd_core::tensor::checkpoint;
/// use autograd_core::{Tensor, TensorTape};
/// let tape = TensorTape::new();
/// let x = tape.leaf(Tensor::from_vec(vec![0.5_f64, -1.0], &[2]));
/// let y = checkpoint(|v| v[0].tanh().exp().sin(), &[x]).sum();
/// let g_ckpt = y.backward()[x].clone();
/// let g_plain = x.tanh().exp().sin().sum().backward()[x].clone();
/// assert_eq!(g_ckpt, g_plain);
/// ```
#[track_caller]
pub fn checkpoint<'t, T: Real, F>(f: F, inputs: &[TensorVar<'t, T>]) -> TensorVar<'t, T>
where
    F: for<'s> Fn(&[TensorVar<'s, T>]) -> TensorVar<'s, T> + Send + Sync + 'static,
{
    let Some(&first) = inputs.first() else {
        panic!("checkpoint: needs at least one input");
    };
    let value = {
        let scratch = TensorTape::new();
        let xs: Vec<_> = inputs.iter().map(|x| scratch.constant(x.value())).collect();
        f(&xs).value()
    };
    first.record_nary(
        inputs,
        "checkpoint",
        Op::Checkpoint(Segment(Arc::new(f))),
        value,
    )
}

/// The gradients of a segment's inputs for output adjoint `g`, recomputing
/// the segment on a scratch tape (ordinary backward).
pub(crate) fn segment_vjp_values<T: Real>(
    f: &dyn SegmentFn<T>,
    x: &[&Tensor<T>],
    g: &Tensor<T>,
) -> Vec<Tensor<T>> {
    let scratch = TensorTape::new();
    let xs: Vec<_> = x.iter().map(|v| scratch.leaf((*v).clone())).collect();
    let y = f(&xs);
    let grads = scratch.vjp(y, g);
    xs.iter().map(|&v| grads.wrt(v)).collect()
}

/// The same, recorded on the inputs' own tape (higher-order backward).
pub(crate) fn segment_vjp_vars<'t, T: Real>(
    f: &dyn SegmentFn<T>,
    x: &[&TensorVar<'t, T>],
    g: &TensorVar<'t, T>,
) -> Vec<TensorVar<'t, T>> {
    let xs: Vec<TensorVar<'t, T>> = x.iter().map(|v| **v).collect();
    let tape = xs[0].tape();
    let y = f(&xs);
    tape.grad_graph(y.mul(*g).sum(), &xs)
}
