//! Record once, replay many: recompute a recorded tape's values for new
//! inputs without re-recording, then sweep as usual. Comparisons that steer
//! the code (`guard_*`) are recorded too and checked on replay, so a replay
//! that would take another branch is an error, not a silently wrong
//! gradient.

use std::panic::Location;

use super::prim::Arg;
use super::shape::Shape;
use super::tape::{Inner, Op, Parents, TensorTape, TensorVar};
use super::value::Tensor;
use crate::Real;
pub use crate::replay::ReplayError;

/// The comparison a guard recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Lt,
    Gt,
}

/// A recorded comparison `x <cmp> c`, where it was made, and its outcome.
#[derive(Clone, Debug)]
pub(crate) struct Guard<T> {
    cmp: Cmp,
    c: T,
    at: &'static Location<'static>,
}

fn compare<T: Real>(x: &Tensor<T>, cmp: Cmp, c: T) -> Tensor<T> {
    x.map(|v| {
        let hit = match cmp {
            Cmp::Lt => v < c,
            Cmp::Gt => v > c,
        };
        if hit { T::ONE } else { T::ZERO }
    })
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// True when every element is below `c`; recorded, so that
    /// [`TensorTape::replay`] refuses new inputs for which the answer
    /// changes. Use it where code branches on values.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::scalar(-3.0_f64));
    /// let y = if x.guard_lt(0.0) { x.neg() } else { x };   // |x|
    /// assert_eq!(y.backward()[x].item(), -1.0);
    /// tape.replay(&[(x, Tensor::scalar(-5.0))]).unwrap(); // same branch: fine
    /// assert_eq!(y.item(), 5.0);
    /// assert!(tape.replay(&[(x, Tensor::scalar(5.0))]).is_err());
    /// ```
    #[track_caller]
    pub fn guard_lt(self, c: T) -> bool {
        self.guard(Cmp::Lt, c)
    }

    /// True when every element is above `c`; recorded like
    /// [`TensorVar::guard_lt`].
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// assert!(x.guard_gt(0.5));
    /// ```
    #[track_caller]
    pub fn guard_gt(self, c: T) -> bool {
        self.guard(Cmp::Gt, c)
    }

    #[track_caller]
    fn guard(self, cmp: Cmp, c: T) -> bool {
        let mask = compare(&self.value(), cmp, c);
        let all = mask.data().iter().all(|&m| m == T::ONE);
        let guard = Guard {
            cmp,
            c,
            at: Location::caller(),
        };
        self.tape.push_node(
            Op::Guard(Box::new(guard)),
            Parents::one(self.index),
            mask,
            false,
        );
        all
    }
}

/// [`forward`] into `out`'s own buffer, for the elementwise primitives
/// (their value kernels, so bit for bit the allocating forward), sums,
/// softmaxes and matrix products. False when there is no kernel, a
/// broadcast it does not handle, or another tensor shares `out`'s buffer.
fn forward_in_place<T: Real>(op: &Op<T>, x: &[&Tensor<T>], out: &mut Tensor<T>) -> bool {
    match (x, op) {
        ([a, b], Op::MatMul { ta, tb }) => return a.mm_into(b, *ta, *tb, out),
        ([a, b], Op::Binary(op)) => {
            let shape = Shape::from_slice(out.shape());
            let (Some(a), Some(b)) = (Arg::of(a, &shape), Arg::of(b, &shape)) else {
                return false;
            };
            match out.data_if_unique() {
                Some(d) => op.zip_into(a, b, d),
                None => return false,
            }
        }
        ([a], _) => {
            let Some(d) = out.data_if_unique() else {
                return false;
            };
            match op {
                Op::Sum { axes, .. } => return super::fold::sum_into(a, axes, d),
                Op::Softmax(ax) | Op::LogSoftmax(ax) => {
                    let log = matches!(op, Op::LogSoftmax(_));
                    super::softmax::softmax_into(a, *ax, log, d)
                }
                Op::Unary(u) => u.map_into(a.data(), d),
                _ => return false,
            }
        }
        _ => return false,
    }
    true
}

/// A node's value recomputed from its inputs' values; `shape` is the
/// recorded output shape (what shape-changing ops need).
fn forward<T: Real>(op: &Op<T>, x: &[&Tensor<T>], shape: &[usize]) -> Tensor<T> {
    match op {
        Op::Leaf | Op::Constant => unreachable!("inputs have no parents"),
        Op::Unary(u) => u.value_tensor(x[0]),
        Op::Binary(b) => b.value_tensor(x[0], x[1]),
        Op::General(p) => p.forward(x),
        Op::Where(mask) => mask.where_cond(x[0], x[1]),
        Op::Sum { axes, keepdim } => x[0].sum_resolved(axes, *keepdim),
        Op::Extremum {
            axes,
            keepdim,
            is_max,
        } => x[0].extremum_resolved("replay", axes, *keepdim, *is_max),
        Op::LogSumExp { axes, keepdim } => x[0].logsumexp_resolved(axes, *keepdim),
        Op::Softmax(axis) => x[0].softmax_resolved(*axis),
        Op::LogSoftmax(axis) => x[0].log_softmax_resolved(*axis),
        Op::SumTo => x[0].sum_to(shape),
        Op::BroadcastTo => x[0].broadcast_to(shape),
        Op::Reshape => x[0].reshape(shape),
        Op::Permute(perm) => x[0].permute_resolved(perm),
        Op::Narrow { axis, start } => x[0].narrow_resolved(*axis, *start, shape[*axis]),
        Op::Pad { axis, start } => x[0].pad_resolved(*axis, *start, shape[*axis]),
        Op::Concat(axis) => Tensor::concat(x, *axis as isize),
        Op::MatMul { ta, tb } => x[0].mm_ex(x[1], *ta, *tb),
        Op::IndexSelect { axis, idx } => x[0].index_select_resolved(*axis, idx),
        Op::IndexAdd { axis, idx } => x[0].index_add_into_resolved(*axis, idx, shape[*axis]),
        Op::Gather { axis, index } => x[0].gather_resolved(*axis, index),
        Op::ScatterAdd { axis, index } => x[0].scatter_add_into_resolved(*axis, index, shape),
        Op::Unfold(g, pad) => x[0].unfold_geom(g, *pad),
        Op::Fold(g) => x[0].fold_geom(g),
        Op::Custom(c) => c.0.forward_values(x),
        Op::Statement(s) => s.expr.eval(x, shape).0,
        Op::Checkpoint(seg) => {
            let scratch = TensorTape::new();
            let vars: Vec<_> = x.iter().map(|v| scratch.constant((*v).clone())).collect();
            (seg.0)(&vars).value()
        }
        Op::Guard(g) => compare(x[0], g.cmp, g.c),
    }
}

impl<T: Real> TensorTape<T> {
    /// Recomputes every recorded value for new values of some inputs
    /// (leaves or constants: parameters, a data batch), in recording order,
    /// without re-recording. Index tensors (`gather`, `index_select`,
    /// `scatter_add`) and `where_cond` masks are part of the recording, not
    /// inputs: pass labels that change as data (one-hot) to replay them, and
    /// token ids through [`TensorVar::embedding`], whose ids are an input. The
    /// values are copied into buffers the tape owns (made once, the first
    /// time an input's recorded value is shared), so the caller's tensors
    /// stay its own. Sweep afterwards as usual; the gradients are
    /// those a fresh recording would give. Refused, before anything changes
    /// when possible, for a new input shape or when a recorded comparison
    /// (`guard_lt`/`guard_gt`) comes out differently (values recomputed
    /// before that point are kept; re-record then).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let w = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let loss = w.square().sum();
    /// assert_eq!(loss.backward()[w].to_vec(), vec![2.0, 4.0]);
    /// tape.replay(&[(w, Tensor::from_vec(vec![3.0, -1.0], &[2]))]).unwrap();
    /// assert_eq!(loss.item(), 10.0);
    /// assert_eq!(loss.backward()[w].to_vec(), vec![6.0, -2.0]);
    /// ```
    pub fn replay(&self, inputs: &[(TensorVar<'_, T>, Tensor<T>)]) -> Result<(), ReplayError> {
        let mut inner = self.inner.borrow_mut();
        for (v, t) in inputs {
            let node = &inner.nodes[v.index as usize];
            if !node.parents.is_empty() || !matches!(node.op, Op::Leaf | Op::Constant) {
                return Err(ReplayError::NotAnInput {
                    node: v.index as usize,
                });
            }
            if node.value.shape() != t.shape() {
                return Err(ReplayError::Shape {
                    node: v.index as usize,
                    recorded: node.value.shape().to_vec(),
                    given: t.shape().to_vec(),
                });
            }
        }
        for (v, t) in inputs {
            // Copied into the tape's own buffer rather than shared, so the
            // caller keeps sole ownership and may update its tensor in place
            // (an optimiser step) without a copy-on-write allocation.
            let value = &mut inner.nodes[v.index as usize].value;
            match value.data_if_unique() {
                Some(d) => d.copy_from_slice(t.data()),
                None => *value = Tensor::from_parts(Shape::from_slice(t.shape()), t.to_vec()),
            }
        }
        let Inner {
            nodes,
            more_parents,
            ..
        } = &mut *inner;
        for i in 0..nodes.len() {
            let (before, rest) = nodes.split_at_mut(i);
            let node = &mut rest[0];
            if node.parents.is_empty() {
                continue;
            }
            let parents = node.parents.get(more_parents);
            // One or two inputs (nearly every op) on the stack, not a Vec.
            let (pair, many);
            let x: &[&Tensor<T>] = if parents.len() <= 2 {
                pair = [
                    &before[parents[0] as usize].value,
                    &before[parents[parents.len() - 1] as usize].value,
                ];
                &pair[..parents.len()]
            } else {
                many = parents
                    .iter()
                    .map(|&p| &before[p as usize].value)
                    .collect::<Vec<_>>();
                &many
            };
            if let Op::Guard(g) = &node.op {
                if forward(&node.op, x, node.value.shape()) != node.value {
                    return Err(ReplayError::BranchChanged {
                        node: i,
                        location: g.at,
                    });
                }
                continue;
            }
            if let Op::Statement(s) = &mut node.op {
                // The kept expression gives the value and its partials anew.
                let (value, partials) = s.expr.eval(x, node.value.shape());
                node.value = value;
                s.partials = partials;
                continue;
            }
            // Into the recorded buffer where a kernel exists and nobody
            // else holds the old value; a fresh tensor otherwise.
            if !forward_in_place(&node.op, x, &mut node.value) {
                node.value = forward(&node.op, x, node.value.shape());
            }
        }
        Ok(())
    }
}
