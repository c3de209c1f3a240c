//! The tensor tape: nodes that hold a value and remember how it was made, the
//! [`TensorVar`] handle, and the one reverse sweep.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::ops::Index;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use super::algebra::Algebra;
use super::checkpoint::Segment;
use super::conv::Geometry;
use super::custom::{self, CustomNode};
use super::prim::{Arg, BinaryOp, UnaryOp};
use super::replay::Guard;
use super::shape::{fmt_shape, same_shape, Shape};
use super::statement::StatementNode;
use super::tools::{Anomaly, Phase, Profile, Summary, TapeStats, Tools, ANOMALY, PROFILE};
use super::value::Tensor;
use super::{conv, elementwise as ew, index, linalg, pool, reduce, shape_ops};
use crate::scalar::fresh_id;
use crate::Real;

/// The resolved axes an operation remembers. Boxed, so that the rare ops
/// that carry axes do not widen every node.
pub(crate) type Axes = Box<[usize]>;

/// How a node was made: the operation and the constants its VJP needs.
/// Tensor inputs are the node's parents; their values, and the node's own,
/// are on the tape already, so nothing else is saved.
#[derive(Clone)]
pub(crate) enum Op<T: Real> {
    /// A differentiable input.
    Leaf,
    /// A value gradients do not flow into (a constant, or a result computed
    /// from constants only).
    Constant,
    /// A one-input elementwise primitive (`prim/unary/`).
    Unary(UnaryOp<T>),
    /// A two-input elementwise primitive (`prim/binary/`).
    Binary(BinaryOp),
    Where(Box<Tensor<bool>>),
    Sum {
        axes: Axes,
        keepdim: bool,
    },
    /// max or min over axes: both route the gradient to the extreme entries.
    Extremum {
        axes: Axes,
        keepdim: bool,
        is_max: bool,
    },
    LogSumExp {
        axes: Axes,
        keepdim: bool,
    },
    Softmax(usize),
    LogSoftmax(usize),
    SumTo,
    BroadcastTo,
    Reshape,
    Permute(Axes),
    Narrow {
        axis: usize,
        start: usize,
    },
    Pad {
        axis: usize,
        start: usize,
    },
    Concat(usize),
    MatMul {
        ta: bool,
        tb: bool,
    },
    IndexSelect {
        axis: usize,
        idx: Arc<[usize]>,
    },
    IndexAdd {
        axis: usize,
        idx: Arc<[usize]>,
    },
    Gather {
        axis: usize,
        index: Box<Tensor<usize>>,
    },
    ScatterAdd {
        axis: usize,
        index: Box<Tensor<usize>>,
    },
    Unfold(Box<Geometry>, T),
    Fold(Box<Geometry>),
    Custom(CustomNode<T>),
    /// An elementwise statement (`statement.rs`): its expression and partials.
    Statement(Box<StatementNode<T>>),
    Checkpoint(Segment<T>),
    /// A recorded comparison `x <cmp> c`: no gradient; replay checks that
    /// its outcome is unchanged.
    Guard(Box<Guard<T>>),
}

impl<T: Real> Op<T> {
    /// The name users know the operation by.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Constant => "constant",
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::Where(_) => "where_cond",
            Op::Sum { .. } => "sum",
            Op::Extremum { .. } => "max/min",
            Op::LogSumExp { .. } => "logsumexp",
            Op::Softmax(_) => "softmax",
            Op::LogSoftmax(_) => "log_softmax",
            Op::SumTo => "sum_to",
            Op::BroadcastTo => "broadcast_to",
            Op::Reshape => "reshape",
            Op::Permute(_) => "permute",
            Op::Narrow { .. } => "narrow",
            Op::Pad { .. } => "pad",
            Op::Concat(_) => "concat",
            Op::MatMul { .. } => "matmul",
            Op::IndexSelect { .. } => "index_select",
            Op::IndexAdd { .. } => "index_add",
            Op::Gather { .. } => "gather",
            Op::ScatterAdd { .. } => "scatter_add",
            Op::Unfold(..) => "unfold2d",
            Op::Fold(_) => "fold2d",
            Op::Custom(_) => "custom",
            Op::Statement(_) => "statement",
            Op::Checkpoint(_) => "checkpoint",
            Op::Guard(_) => "guard",
        }
    }
}

#[inline(always)]
fn two<V>(g: [Option<V>; 2], emit: &mut impl FnMut(usize, V)) {
    let [a, b] = g;
    if let Some(a) = a {
        emit(0, a);
    }
    if let Some(b) = b {
        emit(1, b);
    }
}

#[inline(always)]
fn one<V>(g: V, emit: &mut impl FnMut(usize, V)) {
    emit(0, g)
}

/// A one-input VJP without a new buffer where possible: into the adjoint's
/// own buffer when nobody shares it (the common case in a chain), else into
/// a spare buffer of the right size, which then replaces `g`; a new buffer
/// only when neither exists. For elementwise primitives (`x` is the input's
/// value, `y` the output's) and one-input statements (`y` is the partial).
fn vjp_reusing<T: Real>(
    rule: impl Fn(Option<&[T]>, &mut [T]),
    g: &mut Tensor<T>,
    spare: &mut Vec<Tensor<T>>,
) {
    if let Some(d) = g.data_if_unique() {
        return rule(None, d);
    }
    let mut out = match spare.iter().rposition(|s| s.numel() == g.numel()) {
        Some(k) => spare.swap_remove(k),
        None => Tensor::zeros(g.shape()),
    };
    rule(Some(g.data()), pool::unique(&mut out));
    *g = out.into_shape(g.shape());
}

/// A binary primitive's VJPs into buffers from the pool, for the
/// broadcasts its kernels cover (`Arg`); `None` (nothing taken) otherwise.
fn binary_vjp_pooled<T: Real>(
    op: &BinaryOp,
    x: &[&Tensor<T>],
    y: &Tensor<T>,
    g: &Tensor<T>,
    need: &[bool],
    pool: &mut Vec<Tensor<T>>,
) -> Option<[Option<Tensor<T>>; 2]> {
    let out = g.shape();
    let (a, b) = (Arg::of(x[0], out)?, Arg::of(x[1], out)?);
    let mut grads = [None, None];
    for (k, slot) in grads.iter_mut().enumerate() {
        if need[k] {
            let mut d = pool::take(pool, out);
            op.vjp_into(k, g.data(), a, b, y.data(), pool::unique(&mut d));
            *slot = Some(d);
        }
    }
    Some(grads)
}

/// The vector-Jacobian product of one node: the gradients of its inputs
/// given the adjoint `g` of its output, in the output's broadcast shape.
/// Each arm calls the rule that sits beside the op's forward code.
fn vjp<T: Real, V: Algebra<T>>(
    op: &Op<T>,
    x: &[&V],
    y: &V,
    g: &V,
    need: &[bool],
    emit: &mut impl FnMut(usize, V),
) {
    match op {
        Op::Leaf | Op::Constant | Op::Guard(_) => {}
        Op::Unary(u) => one(u.vjp(g, x[0], y), emit),
        Op::Binary(b) => two(b.vjp(g, x[0], x[1], y, need), emit),
        Op::Where(mask) => two(ew::where_vjp(mask, g, need), emit),
        Op::Sum { axes, keepdim } => one(reduce::sum_vjp(x[0], g, axes, *keepdim), emit),
        Op::Extremum { axes, keepdim, .. } => {
            one(reduce::extremum_vjp(x[0], y, g, axes, *keepdim), emit)
        }
        Op::LogSumExp { axes, keepdim } => {
            one(reduce::logsumexp_vjp(x[0], y, g, axes, *keepdim), emit)
        }
        Op::Softmax(axis) => one(reduce::softmax_vjp(y, g, *axis), emit),
        Op::LogSoftmax(axis) => one(reduce::log_softmax_vjp(y, g, *axis), emit),
        Op::SumTo => one(g.broadcast_to(&x[0].shape()), emit),
        Op::BroadcastTo => one(g.sum_to(&x[0].shape()), emit),
        Op::Reshape => one(g.reshape(&x[0].shape()), emit),
        Op::Permute(perm) => one(shape_ops::permute_vjp(g, perm), emit),
        Op::Narrow { axis, start } => one(g.pad(*axis, *start, x[0].shape()[*axis]), emit),
        Op::Pad { axis, start } => one(g.narrow(*axis, *start, x[0].shape()[*axis]), emit),
        Op::Concat(axis) => {
            for (k, gk) in shape_ops::concat_vjp(x, g, *axis, need)
                .into_iter()
                .enumerate()
            {
                if let Some(gk) = gk {
                    emit(k, gk);
                }
            }
        }
        Op::MatMul { ta, tb } => two(linalg::mm_vjp(x, g, *ta, *tb, need), emit),
        Op::IndexSelect { axis, idx } => {
            one(g.index_add_into(*axis, idx, x[0].shape()[*axis]), emit)
        }
        Op::IndexAdd { axis, idx } => one(g.index_select(*axis, idx), emit),
        Op::Gather { axis, index } => one(g.scatter_add_into(*axis, index, &x[0].shape()), emit),
        Op::ScatterAdd { axis, index } => one(index::scatter_vjp(g, *axis, index), emit),
        Op::Unfold(geom, _) => one(conv::unfold_vjp(g, geom), emit),
        Op::Fold(geom) => one(conv::fold_vjp(g, geom), emit),
        Op::Custom(c) => custom::custom_vjp(&*c.0, x, y, g, emit),
        // The partials are in the output's shape; `accumulate` sums each
        // product back to its input's shape.
        Op::Statement(s) => {
            for (k, p) in s.partials.iter().enumerate() {
                if need[k] {
                    emit(k, g.mul(&g.lift(p.clone())));
                }
            }
        }
        Op::Checkpoint(seg) => {
            for (k, gk) in V::checkpoint_vjp(&*seg.0, x, g).into_iter().enumerate() {
                emit(k, gk);
            }
        }
    }
}

/// Adds a gradient into a node's adjoint. This is the one place where a
/// gradient in an operation's broadcast shape is summed back to the shape of
/// the input it belongs to.
fn accumulate<T: Real, V: Algebra<T>>(
    slot: &mut Option<V>,
    grad: V,
    shape: &[usize],
    add_in_place: impl FnOnce(&mut V, V),
) {
    let grad = if !grad.has_shape(shape) {
        grad.sum_to(shape)
    } else {
        grad
    };
    match slot {
        None => *slot = Some(grad),
        Some(acc) => add_in_place(acc, grad),
    }
}

/// [`accumulate`] on plain tensors in the sweep: a gradient in a broadcast
/// shape is summed back into a pooled buffer where `sum_to_pooled` covers
/// the axes, and a buffer left over by the addition goes back to the pool.
fn accumulate_pooled<T: Real>(
    slot: &mut Option<Tensor<T>>,
    grad: Tensor<T>,
    shape: Option<&[usize]>,
    pool: &mut Vec<Tensor<T>>,
) {
    // `None`: the input is known to have the gradient's shape (the node's
    // `same_shape` bit), so its header is not read.
    let grad = match shape {
        Some(shape) if !same_shape(grad.shape(), shape) => {
            match reduce::sum_to_pooled(&grad, shape, pool) {
                Some(summed) => {
                    pool::give(pool, grad);
                    summed
                }
                None => grad.sum_to(shape),
            }
        }
        _ => grad,
    };
    match slot {
        None => *slot = Some(grad),
        Some(acc) => acc.add_assign_owned(grad, pool),
    }
}

/// A node's inputs: up to two inline (nearly every op), more in the tape's
/// side list (`Inner::more_parents`), so a node is one 64-byte cache line.
#[derive(Clone, Copy)]
pub(crate) struct Parents {
    len: u32,
    /// The inputs, or for more than two, where they start in the side list.
    at: [u32; 2],
}

impl Parents {
    pub(crate) const NONE: Parents = Parents { len: 0, at: [0; 2] };

    pub(crate) fn one(p: u32) -> Self {
        Parents { len: 1, at: [p, 0] }
    }

    fn new(ps: &[u32], more: &mut Vec<u32>) -> Self {
        let len = u32::try_from(ps.len()).expect("tensor tape: too many inputs");
        match *ps {
            [] => Parents::NONE,
            [a] => Parents { len, at: [a, 0] },
            [a, b] => Parents { len, at: [a, b] },
            _ => {
                let start = u32::try_from(more.len()).expect("tensor tape: more than 2^32 inputs");
                more.extend_from_slice(ps);
                Parents {
                    len,
                    at: [start, 0],
                }
            }
        }
    }

    /// The inputs, given the tape's side list.
    #[inline]
    pub(crate) fn get<'a>(&'a self, more: &'a [u32]) -> &'a [u32] {
        if self.len <= 2 {
            &self.at[..self.len as usize]
        } else {
            let start = self.at[0] as usize;
            &more[start..start + self.len as usize]
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

pub(crate) struct Node<T: Real> {
    pub(crate) op: Op<T>,
    pub(crate) parents: Parents,
    pub(crate) value: Tensor<T>,
    pub(crate) requires_grad: bool,
    /// Bit k: parent k (k < 8) has this node's shape, noted at record time
    /// while both shapes are in cache, so that the sweep's fast paths need
    /// not read the parents' headers (a cache miss each, on a long tape) to
    /// know no gradient needs summing back. Shapes are fixed for a
    /// recording (replay refuses new ones).
    pub(crate) same_shape: u8,
}

/// The wanted node indices (sorted) and the adjoints a sweep kept.
type Scratch<T> = (Vec<u32>, Vec<(u32, Option<Tensor<T>>)>);

pub(crate) struct Inner<T: Real> {
    pub(crate) nodes: Vec<Node<T>>,
    /// The inputs of nodes with more than two (see [`Parents`]).
    pub(crate) more_parents: Vec<u32>,
    id: u64,
}

impl<T: Real> Inner<T> {
    /// Appends a node; its index.
    #[inline(always)]
    fn push(&mut self, node: Node<T>) -> u32 {
        let Node {
            op,
            parents,
            value,
            requires_grad,
            same_shape,
        } = node;
        let len = self.nodes.len();
        let index = u32::try_from(len).expect("tensor tape: more than 2^32 nodes");
        // `Vec::push` keeps the node on the stack across its possible grow
        // call and then copies it with 16-byte loads over the 1- and 8-byte
        // stores that built it: a store-forwarding stall on every recorded
        // op. With the room made first, each field is written straight
        // into place at its own width.
        self.nodes.reserve(1);
        let slot = self.nodes.spare_capacity_mut()[0].as_mut_ptr();
        // SAFETY: `reserve(1)` left capacity for at least `len + 1` nodes,
        // so `slot` (the first spare slot, index `len`) is valid for writes
        // and properly aligned; `addr_of_mut!` makes field pointers without
        // a reference to the uninitialised node. The five writes initialise
        // every field of it (the destructuring above names them all, so a
        // new field fails to compile here), after which the first `len + 1`
        // elements are initialised and `set_len` may expose them. Nothing
        // in between can panic.
        unsafe {
            std::ptr::addr_of_mut!((*slot).op).write(op);
            std::ptr::addr_of_mut!((*slot).parents).write(parents);
            std::ptr::addr_of_mut!((*slot).value).write(value);
            std::ptr::addr_of_mut!((*slot).requires_grad).write(requires_grad);
            std::ptr::addr_of_mut!((*slot).same_shape).write(same_shape);
            self.nodes.set_len(len + 1);
        }
        index
    }
}

/// A tape that records tensor operations for reverse-mode differentiation.
///
/// Record a computation through [`TensorVar`] handles, then ask for
/// gradients: [`TensorVar::backward`] on a scalar loss, [`TensorTape::grad`]
/// for chosen inputs, [`TensorTape::vjp`] with an explicit seed. The values
/// each node keeps for its backward are freed by [`TensorTape::clear`] or
/// when the tape is dropped.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
///
/// let tape = TensorTape::new();
/// let w = tape.leaf(Tensor::from_vec(vec![1.0_f64, -1.0, 0.5, -2.0], &[2, 2]));
/// let x = tape.constant(Tensor::from_vec(vec![3.0, 4.0], &[1, 2]));
/// let loss = x.matmul(w).relu().sum();
/// let g = loss.backward();
/// // Only the first column is active: d loss / d w = x^T [1, 0].
/// assert_eq!(g[w].to_vec(), vec![3.0, 0.0, 4.0, 0.0]);
/// ```
pub struct TensorTape<T: Real = f32> {
    pub(crate) inner: RefCell<Inner<T>>,
    /// The sweep's adjoint slots, kept (empty) between sweeps.
    adjoints: RefCell<Vec<Option<Tensor<T>>>>,
    /// Gradient buffers kept between sweeps for reuse (`pool.rs`).
    pool: RefCell<Vec<Tensor<T>>>,
    /// `grad_into`'s wanted nodes and kept adjoints, kept between calls.
    scratch: RefCell<Scratch<T>>,
    /// Which tools are on (anomaly detection, profiling): one load per op.
    flags: Cell<u8>,
    tools: RefCell<Tools>,
}

impl<T: Real> Default for TensorTape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> fmt::Debug for TensorTape<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        write!(
            f,
            "TensorTape<{}> {{ recording: #{}, nodes: {} }}",
            T::NAME,
            inner.id,
            inner.nodes.len()
        )
    }
}

impl<T: Real> TensorTape<T> {
    /// An empty tape.
    ///
    /// ```
    /// let tape = autograd_core::TensorTape::<f32>::new();
    /// assert!(tape.is_empty());
    /// ```
    pub fn new() -> Self {
        TensorTape {
            inner: RefCell::new(Inner {
                nodes: Vec::new(),
                more_parents: Vec::new(),
                id: fresh_id(),
            }),
            adjoints: RefCell::new(Vec::new()),
            pool: RefCell::new(Vec::new()),
            scratch: RefCell::new(Scratch::default()),
            flags: Cell::new(0),
            tools: RefCell::new(Tools::default()),
        }
    }

    /// A differentiable input: gradients flow into it.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// assert_eq!(x.square().sum().backward()[x].item(), 4.0);
    /// ```
    pub fn leaf(&self, value: Tensor<T>) -> TensorVar<'_, T> {
        self.push_node(Op::Leaf, Parents::NONE, value, true)
    }

    /// A constant (data, targets, masks): no gradient flows into it, and
    /// operations on constants only are computed but not recorded for the
    /// backward pass.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let c = tape.constant(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// assert!(!c.requires_grad());
    /// ```
    pub fn constant(&self, value: Tensor<T>) -> TensorVar<'_, T> {
        self.push_node(Op::Constant, Parents::NONE, value, false)
    }

    /// The number of recorded nodes.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f32>::zeros(&[2]));
    /// let _ = x.exp();
    /// assert_eq!(tape.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.borrow().nodes.len()
    }

    /// Bytes held by the recorded values (each node's output; shared
    /// storage counted once per node that holds it).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f32>::zeros(&[1000]));
    /// let _ = x.exp();
    /// assert_eq!(tape.value_bytes(), 2 * 4000);
    /// ```
    pub fn value_bytes(&self) -> usize {
        self.inner
            .borrow()
            .nodes
            .iter()
            .map(|n| n.value.numel() * std::mem::size_of::<T>())
            .sum()
    }

    /// True when nothing is recorded.
    ///
    /// ```
    /// assert!(autograd_core::TensorTape::<f64>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every node, freeing the values they held, and starts a new
    /// recording (variables and gradients from before are refused by id).
    /// The node list keeps its capacity; the gradient buffers kept for
    /// reuse between sweeps are freed.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let mut tape = TensorTape::new();
    /// for _ in 0..3 {
    ///     let x = tape.leaf(Tensor::<f32>::ones(&[4]));
    ///     let _ = x.sum().backward();
    ///     tape.clear();
    /// }
    /// assert!(tape.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.note_peak();
        let tools = self.tools.get_mut();
        tools.locations.clear();
        tools.anomaly = None;
        let inner = self.inner.get_mut();
        inner.nodes.clear();
        inner.more_parents.clear();
        inner.id = fresh_id();
        // Nothing of the recording outlives it, spare gradient buffers
        // included (a replay loop, which does not clear, keeps them).
        *self.pool.get_mut() = Vec::new();
    }

    /// The id of the current recording.
    pub(crate) fn id(&self) -> u64 {
        self.inner.borrow().id
    }

    pub(crate) fn with_node<R>(&self, index: u32, f: impl FnOnce(&Node<T>) -> R) -> R {
        f(&self.inner.borrow().nodes[index as usize])
    }

    pub(crate) fn push_node(
        &self,
        op: Op<T>,
        parents: Parents,
        value: Tensor<T>,
        requires_grad: bool,
    ) -> TensorVar<'_, T> {
        let index = self.inner.borrow_mut().push(Node {
            op,
            parents,
            value,
            requires_grad,
            same_shape: 0,
        });
        TensorVar { tape: self, index }
    }

    /// Records an operation's result with its parents; it needs a gradient
    /// when any parent does.
    #[track_caller]
    pub(crate) fn record(
        &self,
        op: Op<T>,
        parents: &[TensorVar<'_, T>],
        value: Tensor<T>,
    ) -> TensorVar<'_, T> {
        self.record_shaped(op, parents, value, None)
    }

    /// [`TensorTape::record`] with the node's `same_shape` bits when the
    /// caller knows them already (an elementwise op on equal shapes).
    #[track_caller]
    pub(crate) fn record_shaped(
        &self,
        op: Op<T>,
        parents: &[TensorVar<'_, T>],
        value: Tensor<T>,
        same: Option<u8>,
    ) -> TensorVar<'_, T> {
        let mut inner = self.inner.borrow_mut();
        if self.flags.get() != 0 {
            let inputs: Vec<&Tensor<T>> = parents
                .iter()
                .map(|p| &inner.nodes[p.index as usize].value)
                .collect();
            self.observe_forward(op.name(), inner.nodes.len(), &inputs, &value, None);
        }
        let requires_grad = parents
            .iter()
            .any(|p| inner.nodes[p.index as usize].requires_grad);
        let same = same.unwrap_or_else(|| {
            parents.iter().take(8).enumerate().fold(0, |bits, (k, p)| {
                let shape = inner.nodes[p.index as usize].value.shape();
                bits | (u8::from(same_shape(shape, value.shape())) << k)
            })
        });
        // Ops on constants keep their op and parents too (the sweep skips
        // them by `requires_grad`): a replay with new data recomputes them.
        let ps: SmallVec<[u32; 2]> = parents.iter().map(|p| p.index).collect();
        let parents = Parents::new(&ps, &mut inner.more_parents);
        let index = inner.push(Node {
            op,
            parents,
            value,
            requires_grad,
            same_shape: same,
        });
        TensorVar { tape: self, index }
    }

    /// Records a one-input operation under a single borrow of the tape:
    /// computes `f(x)` from the input's value and pushes the node.
    #[track_caller]
    pub(crate) fn record_unary(
        &self,
        op: Op<T>,
        x: u32,
        f: impl FnOnce(&Tensor<T>) -> Tensor<T>,
    ) -> TensorVar<'_, T> {
        let mut inner = self.inner.borrow_mut();
        let input = &inner.nodes[x as usize];
        let value = if self.flags.get() == 0 {
            f(&input.value)
        } else {
            self.timed_unary(op.name(), inner.nodes.len(), &input.value, f)
        };
        let input = &inner.nodes[x as usize];
        let requires_grad = input.requires_grad;
        // The ops the sweep reuses buffers for keep their input's shape.
        let same =
            u8::from(matches!(op, Op::Unary(_)) || same_shape(input.value.shape(), value.shape()));
        let index = inner.push(Node {
            op,
            parents: Parents::one(x),
            value,
            requires_grad,
            same_shape: same,
        });
        TensorVar { tape: self, index }
    }

    /// Turns anomaly detection on or off (off by default). While on, the
    /// tape remembers the line that recorded each operation, and the first
    /// NaN or infinity produced by an operation's value or by its VJP in the
    /// sweep is kept as an [`Anomaly`]: [`TensorVar::try_backward`] returns
    /// it, [`TensorVar::backward`] panics with it.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// tape.set_anomaly_detection(true);
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// // sqrt(0) is fine; its derivative 1/(2 sqrt 0) is not.
    /// let e = x.sqrt().sum().try_backward().unwrap_err();
    /// assert_eq!((e.op, e.phase), ("sqrt", autograd_core::tensor::Phase::Backward));
    /// ```
    pub fn set_anomaly_detection(&self, on: bool) {
        self.set_flag(ANOMALY, on);
    }

    /// Turns the profiler on or off (off by default): time per operation
    /// kind, forward and backward, read with [`TensorTape::profile`].
    ///
    /// ```
    /// let tape = autograd_core::TensorTape::<f32>::new();
    /// tape.set_profiling(true);
    /// assert!(tape.profile().rows.is_empty());
    /// ```
    pub fn set_profiling(&self, on: bool) {
        self.set_flag(PROFILE, on);
    }

    fn set_flag(&self, flag: u8, on: bool) {
        let f = self.flags.get();
        self.flags.set(if on { f | flag } else { f & !flag });
    }

    /// The first anomaly of this recording, if anomaly detection is on and
    /// one occurred.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// tape.set_anomaly_detection(true);
    /// let _ = tape.leaf(Tensor::from_vec(vec![1.0_f64], &[1])).ln();
    /// assert!(tape.anomaly().is_none()); // ln 1 = 0 is fine
    /// ```
    pub fn anomaly(&self) -> Option<Anomaly> {
        self.tools.borrow().anomaly.clone()
    }

    /// The profile gathered since profiling was turned on (across
    /// recordings), largest total time first.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// tape.set_profiling(true);
    /// let x = tape.leaf(Tensor::<f32>::ones(&[4]));
    /// let _ = x.exp().sum().backward();
    /// assert_eq!(tape.profile().rows.len(), 2);
    /// ```
    pub fn profile(&self) -> Profile {
        let mut rows = self.tools.borrow().profile.clone();
        rows.sort_by_key(|r| std::cmp::Reverse(r.total()));
        Profile { rows }
    }

    /// Forgets the profile gathered so far.
    ///
    /// ```
    /// let tape = autograd_core::TensorTape::<f32>::new();
    /// tape.reset_profile();
    /// assert!(tape.profile().rows.is_empty());
    /// ```
    pub fn reset_profile(&self) {
        self.tools.borrow_mut().profile.clear();
    }

    /// Node counts by operation and bytes held, now and at the peak over
    /// this tape's recordings.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let mut tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f32>::ones(&[100]));
    /// let _ = x.exp();
    /// tape.clear();
    /// let s = tape.stats();
    /// assert_eq!((s.nodes, s.peak_nodes, s.peak_value_bytes), (0, 2, 800));
    /// ```
    pub fn stats(&self) -> TapeStats {
        self.note_peak();
        let inner = self.inner.borrow();
        let mut by_op: Vec<(&'static str, usize)> = Vec::new();
        for n in &inner.nodes {
            let name = n.op.name();
            match by_op.iter_mut().find(|(k, _)| *k == name) {
                Some((_, c)) => *c += 1,
                None => by_op.push((name, 1)),
            }
        }
        by_op.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let tools = self.tools.borrow();
        TapeStats {
            nodes: inner.nodes.len(),
            by_op,
            node_bytes: inner.nodes.len() * std::mem::size_of::<Node<T>>(),
            value_bytes: self.value_bytes(),
            peak_nodes: tools.peak_nodes,
            peak_value_bytes: tools.peak_value_bytes,
        }
    }

    fn note_peak(&self) {
        let (n, b) = (self.len(), self.value_bytes());
        let mut tools = self.tools.borrow_mut();
        tools.peak_nodes = tools.peak_nodes.max(n);
        tools.peak_value_bytes = tools.peak_value_bytes.max(b);
    }

    /// `f(x)` with the tools' bookkeeping (only called with a tool on).
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn timed_unary(
        &self,
        op: &'static str,
        node: usize,
        x: &Tensor<T>,
        f: impl FnOnce(&Tensor<T>) -> Tensor<T>,
    ) -> Tensor<T> {
        let start = Instant::now();
        let value = f(x);
        let took = start.elapsed();
        self.observe_forward(op, node, &[x], &value, Some(took));
        value
    }

    /// Anomaly and profile bookkeeping for a value being recorded as node
    /// `node` (only called with a tool on; kept out of line so the hot path
    /// stays small).
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn observe_forward(
        &self,
        op: &'static str,
        node: usize,
        inputs: &[&Tensor<T>],
        value: &Tensor<T>,
        took: Option<Duration>,
    ) {
        let flags = self.flags.get();
        let mut tools = self.tools.borrow_mut();
        if flags & PROFILE != 0 {
            let row = tools.row(op);
            row.forward_calls += 1;
            row.forward += took.unwrap_or_default();
        }
        if flags & ANOMALY != 0 {
            let location = Location::caller();
            tools.locations.push((node as u32, location));
            if tools.anomaly.is_none() && value.data().iter().any(|v| !v.is_finite()) {
                tools.anomaly = Some(Anomaly {
                    phase: Phase::Forward,
                    op,
                    node,
                    location: Some(location),
                    inputs: inputs.iter().map(|t| Summary::of(t)).collect(),
                    bad: Summary::of(value),
                    input: None,
                });
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn note_backward_time(&self, op: &'static str, start: Instant) {
        let mut tools = self.tools.borrow_mut();
        let row = tools.row(op);
        row.backward_calls += 1;
        row.backward += start.elapsed();
    }

    /// Checks a gradient node `i`'s VJP produced for its input `k`.
    #[cold]
    #[inline(never)]
    fn observe_backward(
        &self,
        i: usize,
        node: &Node<T>,
        x: &[&Tensor<T>],
        k: usize,
        grad: &Tensor<T>,
    ) {
        let mut tools = self.tools.borrow_mut();
        if tools.anomaly.is_some() || grad.data().iter().all(|v| v.is_finite()) {
            return;
        }
        let location = tools.location(i as u32);
        tools.anomaly = Some(Anomaly {
            phase: Phase::Backward,
            op: node.op.name(),
            node: i,
            location,
            inputs: x.iter().map(|t| Summary::of(t)).collect(),
            bad: Summary::of(grad),
            input: Some(k),
        });
    }

    /// Gradients of `output` (seeded with `seed`, the output's shape) with
    /// respect to every leaf: a vector-Jacobian product.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let y = x.square();
    /// let g = tape.vjp(y, &Tensor::from_vec(vec![1.0, 10.0], &[2]));
    /// assert_eq!(g[x].to_vec(), vec![2.0, 40.0]);
    /// ```
    #[track_caller]
    pub fn vjp(&self, output: TensorVar<'_, T>, seed: &Tensor<T>) -> TensorGradients<T> {
        self.check_var("vjp", output);
        let shape = output.shape();
        if seed.shape() != shape.as_slice() {
            panic!(
                "vjp: the seed has shape {} but the output has shape {}",
                fmt_shape(seed.shape()),
                fmt_shape(&shape)
            );
        }
        let mut grads = Vec::new();
        self.sweep(
            output.index,
            seed.clone(),
            |_, node| matches!(node.op, Op::Leaf),
            &mut grads,
        );
        TensorGradients {
            tape_id: self.id(),
            grads,
        }
    }

    /// Gradients of a scalar (one-element) `output` with respect to
    /// `inputs`, each with its input's shape; zeros for an input the output
    /// does not depend on.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::scalar(3.0_f64));
    /// let h = a.mul(b); // intermediate variables may be asked for too
    /// let loss = h.sum();
    /// let [ga, gb, gh] = tape.grad(loss, &[a, b, h]).try_into().unwrap();
    /// assert_eq!((ga.to_vec(), gb.item(), gh.to_vec()), (vec![3.0, 3.0], 3.0, vec![1.0, 1.0]));
    /// ```
    #[track_caller]
    pub fn grad(&self, output: TensorVar<'_, T>, inputs: &[TensorVar<'_, T>]) -> Vec<Tensor<T>> {
        self.check_var("grad", output);
        let seed = scalar_seed("grad", output);
        let mut wanted: Vec<u32> = inputs.iter().map(|x| x.index).collect();
        for &x in inputs {
            self.check_var("grad", x);
        }
        wanted.sort_unstable();
        let mut grads = Vec::new();
        self.sweep(
            output.index,
            seed,
            |i, _| wanted.binary_search(&(i as u32)).is_ok(),
            &mut grads,
        );
        inputs
            .iter()
            .map(
                |x| match grads.binary_search_by_key(&x.index, |(i, _)| *i) {
                    Ok(k) => grads[k].1.clone().expect("kept adjoint"),
                    Err(_) => Tensor::zeros(&x.shape()),
                },
            )
            .collect()
    }

    /// [`TensorTape::grad`] into `grads`, reusing its buffers: on return
    /// `grads[k]` is d`output`/d`inputs[k]`. The buffers `grads` held go to
    /// the tape's pool, which the sweep's VJPs draw their outputs from; so a
    /// loop that replays a recording ([`TensorTape::replay`]) and calls this
    /// with the same `grads` each time reaches a steady state in which
    /// neither the replay nor the sweep allocates (the matrix kernel's own
    /// workspace aside). Results are those of `grad`, bit for bit.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let w = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let x = tape.constant(Tensor::from_vec(vec![3.0, 4.0], &[2]));
    /// let loss = (w * x).sum();
    /// let mut grads = Vec::new();
    /// for step in 0..3 {
    ///     tape.replay(&[(x, Tensor::from_vec(vec![step as f64, 1.0], &[2]))]).unwrap();
    ///     tape.grad_into(loss, &[w], &mut grads);
    ///     assert_eq!(grads[0].to_vec(), vec![step as f64, 1.0]);
    /// }
    /// ```
    #[track_caller]
    pub fn grad_into(
        &self,
        output: TensorVar<'_, T>,
        inputs: &[TensorVar<'_, T>],
        grads: &mut Vec<Tensor<T>>,
    ) {
        self.check_var("grad_into", output);
        for &x in inputs {
            self.check_var("grad_into", x);
        }
        let shape = output.shape();
        check_scalar_output("grad_into", &shape);
        let seed = {
            let mut pool = self.pool.borrow_mut();
            pool::ready(&mut pool);
            for t in grads.drain(..) {
                pool::give(&mut pool, t);
            }
            let mut seed = pool::take(&mut pool, &shape);
            pool::unique(&mut seed).fill(T::ONE);
            seed
        };
        let mut scratch = self.scratch.borrow_mut();
        let (wanted, kept) = &mut *scratch;
        wanted.clear();
        wanted.extend(inputs.iter().map(|x| x.index));
        wanted.sort_unstable();
        self.sweep(
            output.index,
            seed,
            |i, _| wanted.binary_search(&(i as u32)).is_ok(),
            kept,
        );
        let mut pool = self.pool.borrow_mut();
        for x in inputs {
            grads.push(match kept.binary_search_by_key(&x.index, |(i, _)| *i) {
                // A clone: an input listed twice gets the same gradient.
                Ok(k) => kept[k].1.clone().expect("kept adjoint"),
                Err(_) => {
                    let mut zeros = pool::take(&mut pool, &x.shape());
                    pool::unique(&mut zeros).fill(T::ZERO);
                    zeros
                }
            });
        }
        // Dropping the sweep's references leaves `grads` the only holder.
        kept.clear();
    }

    /// Frees the gradient buffers the tape keeps between sweeps for reuse
    /// (at most 32; see [`TensorTape::grad_into`]), as
    /// [`TensorTape::clear`] does too, without clearing the recording.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f32>::ones(&[1000]));
    /// let _ = (x * x).sum().backward();
    /// tape.release_buffers();
    /// ```
    pub fn release_buffers(&self) {
        *self.pool.borrow_mut() = Vec::new();
    }

    /// The reverse sweep on plain tensors: records nothing. The adjoints of
    /// nodes for which `keep` holds go to `kept`, in increasing node order;
    /// the others are dropped as soon as they have been propagated, so memory
    /// stays near the forward's. A node's adjoint is complete when the sweep
    /// reaches it (all its consumers come later on the tape), so it is
    /// collected right there.
    fn sweep(
        &self,
        output: u32,
        seed: Tensor<T>,
        keep: impl Fn(usize, &Node<T>) -> bool,
        kept: &mut Vec<(u32, Option<Tensor<T>>)>,
    ) {
        let inner = self.inner.borrow();
        let nodes = &inner.nodes[..=output as usize];
        let more = &inner.more_parents[..];
        // The adjoint slots are kept between sweeps: no allocation per sweep.
        let mut adj = self.adjoints.borrow_mut();
        adj.clear();
        adj.resize(nodes.len(), None);
        adj[output as usize] = Some(seed);
        kept.clear();
        // Gradient buffers left over (the smaller term of an accumulation,
        // a spent adjoint, the last sweep's), for the VJPs to write into.
        let mut pool = self.pool.borrow_mut();
        let spare = &mut *pool;
        pool::ready(spare);
        for i in (0..nodes.len()).rev() {
            let node = &nodes[i];
            let wanted = keep(i, node);
            if node.parents.is_empty() || !node.requires_grad {
                if wanted {
                    if let Some(g) = adj[i].take() {
                        kept.push((i as u32, Some(g)));
                    }
                }
                continue;
            }
            let Some(mut g) = adj[i].take() else { continue };
            if wanted {
                kept.push((i as u32, Some(g.clone())));
            }
            let parents = node.parents.get(more);
            // One or two inputs (nearly every op) live on the stack.
            let (pair_x, pair_need, many_x, many_need);
            let (x, need): (&[&Tensor<T>], &[bool]) = if parents.len() <= 2 {
                let (a, b) = (parents[0] as usize, parents[parents.len() - 1] as usize);
                pair_x = [&nodes[a].value, &nodes[b].value];
                pair_need = [nodes[a].requires_grad, nodes[b].requires_grad];
                (&pair_x[..parents.len()], &pair_need[..parents.len()])
            } else {
                many_x = parents
                    .iter()
                    .map(|&p| &nodes[p as usize].value)
                    .collect::<Vec<_>>();
                many_need = parents
                    .iter()
                    .map(|&p| nodes[p as usize].requires_grad)
                    .collect::<Vec<_>>();
                (&many_x[..], &many_need[..])
            };
            let flags = self.flags.get();
            if flags == 0 && matches!(node.op, Op::Binary(BinaryOp::Add(_))) {
                // Both inputs get `g` itself (the rule in `prim/binary/add.rs`):
                // moved to one and shared with the other, rather than two
                // clones and a drop, saving two atomic count updates per add.
                let (a, b) = (parents[0] as usize, parents[1] as usize);
                let same = node.same_shape;
                let mut to = |k: usize, p: usize, g| {
                    let shape = (same & (1 << k) == 0).then(|| nodes[p].value.shape());
                    accumulate_pooled(&mut adj[p], g, shape, spare)
                };
                match (need[0], need[1]) {
                    (true, true) => {
                        to(1, b, g.clone());
                        to(0, a, g);
                    }
                    (true, false) => to(0, a, g),
                    (false, true) => to(1, b, g),
                    (false, false) => pool::give(spare, g),
                }
                continue;
            }
            let start = (flags & PROFILE != 0).then(Instant::now);
            // The inputs' gradients: into buffers the sweep already has where
            // the op has a kernel for it, else by the general rule. With a
            // tool on, always the general rule: the reference the kernels
            // are tested against bit for bit (pool.rs).
            let fast = flags == 0;
            let grads: SmallVec<[Option<Tensor<T>>; 2]> = match &node.op {
                Op::Unary(u) if fast => {
                    let (x, y) = (x[0].data(), node.value.data());
                    vjp_reusing(|g, out| u.vjp_into(g, x, y, out), &mut g, spare);
                    smallvec::smallvec![Some(g)]
                }
                Op::Statement(st) if fast && st.partials.len() == 1 => {
                    // g times the kept partial.
                    let p = st.partials[0].data();
                    vjp_reusing(
                        |g, out| match g {
                            None => out.iter_mut().zip(p).for_each(|(o, &p)| *o *= p),
                            Some(g) => out
                                .iter_mut()
                                .zip(g.iter().zip(p))
                                .for_each(|(o, (&g, &p))| *o = g * p),
                        },
                        &mut g,
                        spare,
                    );
                    smallvec::smallvec![Some(g)]
                }
                op => {
                    let pooled = match op {
                        _ if !fast => None,
                        Op::Binary(b) => binary_vjp_pooled(b, x, &node.value, &g, need, spare),
                        _ => pool::vjp_pooled(op, x, &node.value, &g, need, spare),
                    };
                    let mut gs: SmallVec<[Option<Tensor<T>>; 2]> =
                        smallvec::smallvec![None; parents.len()];
                    match pooled {
                        Some(pg) => gs.iter_mut().zip(pg).for_each(|(s, t)| *s = t),
                        None => vjp(op, x, &node.value, &g, need, &mut |k, gk| gs[k] = Some(gk)),
                    }
                    pool::give(spare, g);
                    gs
                }
            };
            for (k, gk) in grads.into_iter().enumerate() {
                let Some(gk) = gk else { continue };
                if flags & ANOMALY != 0 {
                    self.observe_backward(i, node, x, k, &gk);
                }
                let p = parents[k] as usize;
                if nodes[p].requires_grad {
                    // The `same_shape` bit spares reading the input's header.
                    let same = k < 8 && node.same_shape & (1 << k) != 0;
                    let shape = (!same).then(|| nodes[p].value.shape());
                    accumulate_pooled(&mut adj[p], gk, shape, spare);
                } else {
                    pool::give(spare, gk);
                }
            }
            if let Some(start) = start {
                self.note_backward_time(node.op.name(), start);
            }
        }
        // Adjoints nobody asked for (of leaves not wanted) are spare too.
        for g in adj.drain(..).flatten() {
            pool::give(spare, g);
        }
        kept.reverse();
    }

    /// Gradients of a scalar `output` with respect to `inputs`, as
    /// variables recorded on this tape (PyTorch's `create_graph=True`): the
    /// backward pass runs the same VJP rules on variables, so the result can
    /// be differentiated again, to any order.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.5_f64], &[1]));
    /// let y = x.tanh().sum();
    /// let [dy] = tape.grad_graph(y, &[x]).try_into().unwrap();
    /// let [d2y] = tape.grad(dy.sum(), &[x]).try_into().unwrap();
    /// let t = 0.5_f64.tanh();
    /// assert!((d2y.item() - (-2.0 * t * (1.0 - t * t))).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn grad_graph<'t>(
        &'t self,
        output: TensorVar<'t, T>,
        inputs: &[TensorVar<'t, T>],
    ) -> Vec<TensorVar<'t, T>> {
        self.check_var("grad_graph", output);
        let seed = self.constant(scalar_seed("grad_graph", output));
        let n = output.index as usize + 1;
        let mut keep = vec![false; n];
        for &x in inputs {
            self.check_var("grad_graph", x);
            if let Some(k) = keep.get_mut(x.index as usize) {
                *k = true;
            }
        }
        let mut adj: Vec<Option<TensorVar<'t, T>>> = vec![None; n];
        adj[output.index as usize] = Some(seed);
        for i in (0..n).rev() {
            // Read what the rule needs, then release the tape: the rule
            // records onto it.
            let (op, parents, need) = {
                let inner = self.inner.borrow();
                let node = &inner.nodes[i];
                if node.parents.is_empty() || !node.requires_grad {
                    continue;
                }
                let parents: SmallVec<[u32; 2]> =
                    SmallVec::from_slice(node.parents.get(&inner.more_parents));
                let need: SmallVec<[bool; 2]> = parents
                    .iter()
                    .map(|&p| inner.nodes[p as usize].requires_grad)
                    .collect();
                (node.op.clone(), parents, need)
            };
            let g = if keep[i] { adj[i] } else { adj[i].take() };
            let Some(g) = g else { continue };
            if let Op::Statement(_) = op {
                panic!(
                    "grad_graph: node {i} is a statement (TensorTape::statement), whose partials are \
                     numbers, not a recording, so its gradient cannot be differentiated again; write \
                     that expression with tensor operations to take higher derivatives through it"
                );
            }
            let xs: SmallVec<[TensorVar<'t, T>; 2]> = parents
                .iter()
                .map(|&p| TensorVar {
                    tape: self,
                    index: p,
                })
                .collect();
            let x: SmallVec<[&TensorVar<'t, T>; 2]> = xs.iter().collect();
            let y = TensorVar {
                tape: self,
                index: i as u32,
            };
            vjp(&op, &x, &y, &g, &need, &mut |k, gk: TensorVar<'t, T>| {
                let p = parents[k];
                if need[k] {
                    let shape = self.with_node(p, |n| Shape::from_slice(n.value.shape()));
                    accumulate(&mut adj[p as usize], gk, &shape, |acc, g| *acc = acc.add(g));
                }
            });
        }
        inputs
            .iter()
            .map(|x| match adj.get(x.index as usize).copied().flatten() {
                Some(g) => g,
                None => self.constant(Tensor::zeros(&x.shape())),
            })
            .collect()
    }

    #[track_caller]
    fn check_var(&self, op: &str, v: TensorVar<'_, T>) {
        if !std::ptr::eq(self, v.tape) {
            panic!("{op}: the variable belongs to a different tape");
        }
    }
}

#[track_caller]
fn scalar_seed<T: Real>(op: &str, output: TensorVar<'_, T>) -> Tensor<T> {
    let shape = output.shape();
    check_scalar_output(op, &shape);
    Tensor::ones(&shape)
}

#[track_caller]
fn check_scalar_output(op: &str, shape: &[usize]) {
    if shape.iter().product::<usize>() != 1 {
        panic!(
            "{op}: the output has shape {} ({} elements); gradients need a scalar \
             output, or an explicit seed through vjp",
            fmt_shape(shape),
            shape.iter().product::<usize>()
        );
    }
}

/// A recorded tensor variable: a small `Copy` handle to a node on a
/// [`TensorTape`].
///
/// Its methods record operations and return new variables; binary
/// operations broadcast like numpy's. `a + b`, `a * 2.0`, `1.0 - a` work too.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// let tape = TensorTape::new();
/// let x = tape.leaf(Tensor::from_vec(vec![1.0_f32, 2.0, 3.0], &[3]));
/// let y = (x * x + 1.0).sum();
/// assert_eq!(y.item(), 17.0);
/// assert_eq!(y.backward()[x].to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
#[derive(Clone, Copy)]
pub struct TensorVar<'t, T: Real = f32> {
    pub(crate) tape: &'t TensorTape<T>,
    pub(crate) index: u32,
}

impl<T: Real> fmt::Debug for TensorVar<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.tape.with_node(self.index, |n| {
            write!(
                f,
                "TensorVar {{ index: {}, op: {}, shape: {} }}",
                self.index,
                n.op.name(),
                fmt_shape(n.value.shape())
            )
        })
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// The tape this variable is recorded on.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f32>::zeros(&[1]));
    /// assert!(std::ptr::eq(x.tape(), &tape));
    /// ```
    pub fn tape(&self) -> &'t TensorTape<T> {
        self.tape
    }

    /// The node's position on the tape.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// assert_eq!(tape.leaf(Tensor::<f32>::zeros(&[1])).index(), 0);
    /// ```
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// The value (a cheap shared copy).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f32, 2.0], &[2]));
    /// assert_eq!(x.scale(2.0).value().to_vec(), vec![2.0, 4.0]);
    /// ```
    pub fn value(self) -> Tensor<T> {
        self.tape.with_node(self.index, |n| n.value.clone())
    }

    /// The shape.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// assert_eq!(tape.leaf(Tensor::<f32>::zeros(&[2, 3])).shape().as_slice(), &[2, 3]);
    /// ```
    pub fn shape(self) -> Shape {
        self.tape
            .with_node(self.index, |n| Shape::from_slice(n.value.shape()))
    }

    /// The single value of a one-element variable (a loss).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(1.5_f32)).item(), 1.5);
    /// ```
    #[track_caller]
    pub fn item(self) -> T {
        self.tape.with_node(self.index, |n| n.value.item())
    }

    /// True when gradients flow into this variable (a leaf, or computed from
    /// one).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f32>::ones(&[1]));
    /// assert!(x.exp().requires_grad());
    /// assert!(!x.detach().exp().requires_grad());
    /// ```
    pub fn requires_grad(self) -> bool {
        self.tape.with_node(self.index, |n| n.requires_grad)
    }

    /// The same value as a constant: gradients stop here.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// // d/dx [x * stop(x)] = stop(x) = 3, not 2x = 6.
    /// assert_eq!(x.mul(x.detach()).sum().backward()[x].item(), 3.0);
    /// ```
    pub fn detach(self) -> Self {
        self.tape.constant(self.value())
    }

    /// Gradients of this scalar (one-element) variable with respect to every
    /// leaf of its tape.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let g = x.square().mean().backward();
    /// assert_eq!(g[x].to_vec(), vec![1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn backward(self) -> TensorGradients<T> {
        match self.try_backward() {
            Ok(g) => g,
            Err(anomaly) => panic!("{anomaly}"),
        }
    }

    /// As [`TensorVar::backward`], but with anomaly detection on, the first
    /// NaN or infinity of the recording or of this sweep is an `Err` (see
    /// [`TensorTape::set_anomaly_detection`]). Without it, always `Ok`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// tape.set_anomaly_detection(true);
    /// let x = tape.leaf(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// assert!(x.ln().sum().try_backward().is_ok());
    /// ```
    #[track_caller]
    pub fn try_backward(self) -> Result<TensorGradients<T>, Box<Anomaly>> {
        let seed = scalar_seed("backward", self);
        if let Some(a) = self.tape.anomaly() {
            return Err(Box::new(a));
        }
        let g = self.tape.vjp(self, &seed);
        match self.tape.anomaly() {
            Some(a) => Err(Box::new(a)),
            None => Ok(g),
        }
    }

    #[track_caller]
    pub(crate) fn check_same_tape(self, op: &str, other: Self) {
        if !std::ptr::eq(self.tape, other.tape) {
            panic!(
                "{op}: the variables belong to different tapes (recordings #{} and #{})",
                self.tape.id(),
                other.tape.id()
            );
        }
    }

    /// Records a one-input operation whose value is `f(x)`.
    #[track_caller]
    pub(crate) fn record_unary(self, op: Op<T>, f: impl FnOnce(&Tensor<T>) -> Tensor<T>) -> Self {
        self.tape.record_unary(op, self.index, f)
    }

    /// Records a two-input operation whose value is `f(a, b)`.
    #[track_caller]
    pub(crate) fn record_binary(
        self,
        other: Self,
        name: &str,
        op: Op<T>,
        same: Option<u8>,
        f: impl FnOnce(&Tensor<T>, &Tensor<T>) -> Tensor<T>,
    ) -> Self {
        self.check_same_tape(name, other);
        let start = (self.tape.flags.get() & PROFILE != 0).then(Instant::now);
        let value = {
            let inner = self.tape.inner.borrow();
            f(
                &inner.nodes[self.index as usize].value,
                &inner.nodes[other.index as usize].value,
            )
        };
        if let Some(start) = start {
            // The value's time; `record` counts the call.
            self.tape.tools.borrow_mut().row(op.name()).forward += start.elapsed();
        }
        self.tape.record_shaped(op, &[self, other], value, same)
    }

    /// Records an operation of several inputs whose value is computed.
    #[track_caller]
    pub(crate) fn record_nary(
        self,
        inputs: &[Self],
        name: &str,
        op: Op<T>,
        value: Tensor<T>,
    ) -> Self {
        for &x in inputs {
            self.check_same_tape(name, x);
        }
        self.tape.record(op, inputs, value)
    }
}

/// Gradients from one sweep of a [`TensorTape`], keyed by variable.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// let tape = TensorTape::new();
/// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
/// let g = x.exp().sum().backward();
/// assert_eq!(g.get(x).unwrap().shape(), &[2]);
/// assert_eq!(g[x].get(&[0]), 1.0_f64.exp());
/// ```
pub struct TensorGradients<T: Real = f32> {
    tape_id: u64,
    /// (node index, gradient), by increasing index.
    grads: Vec<(u32, Option<Tensor<T>>)>,
}

impl<T: Real> fmt::Debug for TensorGradients<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.grads
                    .iter()
                    .filter_map(|(i, g)| g.as_ref().map(|g| (i, g))),
            )
            .finish()
    }
}

impl<T: Real> TensorGradients<T> {
    /// The gradient of a leaf, or `None` if the output does not depend on it
    /// (or it is not a leaf). Panics if the variable is from another
    /// recording.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::scalar(1.0_f32));
    /// let unused = tape.leaf(Tensor::scalar(1.0_f32));
    /// let g = x.exp().backward();
    /// assert!(g.get(x).is_some() && g.get(unused).is_none());
    /// ```
    #[track_caller]
    pub fn get(&self, v: TensorVar<'_, T>) -> Option<&Tensor<T>> {
        if v.tape.id() != self.tape_id {
            panic!(
                "gradients: variable {} is on tape recording #{}, these gradients come from #{}",
                v.index,
                v.tape.id(),
                self.tape_id
            );
        }
        let k = self
            .grads
            .binary_search_by_key(&v.index, |(i, _)| *i)
            .ok()?;
        self.grads[k].1.as_ref()
    }

    /// The gradient of node `index` of recording `tape_id`, if kept.
    pub(crate) fn get_by_index(&self, tape_id: u64, index: u32) -> Option<&Tensor<T>> {
        if tape_id != self.tape_id {
            return None;
        }
        let k = self.grads.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        self.grads[k].1.as_ref()
    }

    /// The gradient of `v` as a tensor of its shape; zeros where the output
    /// does not depend on it.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::scalar(1.0_f32));
    /// let unused = tape.leaf(Tensor::<f32>::ones(&[2]));
    /// assert_eq!(x.exp().backward().wrt(unused).to_vec(), vec![0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn wrt(&self, v: TensorVar<'_, T>) -> Tensor<T> {
        self.get(v)
            .cloned()
            .unwrap_or_else(|| Tensor::zeros(&v.shape()))
    }

    /// Takes the gradient of `v` out (no copy), leaving `None`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::scalar(2.0_f32));
    /// let mut g = x.square().backward();
    /// assert_eq!(g.take(x).unwrap().item(), 4.0);
    /// assert!(g.take(x).is_none());
    /// ```
    #[track_caller]
    pub fn take(&mut self, v: TensorVar<'_, T>) -> Option<Tensor<T>> {
        self.get(v)?;
        let k = self
            .grads
            .binary_search_by_key(&v.index, |(i, _)| *i)
            .ok()?;
        self.grads[k].1.take()
    }
}

impl<T: Real> Index<TensorVar<'_, T>> for TensorGradients<T> {
    type Output = Tensor<T>;
    /// The gradient of a leaf the output depends on; panics otherwise (use
    /// [`TensorGradients::wrt`] for zeros instead).
    #[track_caller]
    fn index(&self, v: TensorVar<'_, T>) -> &Tensor<T> {
        match self.get(v) {
            Some(g) => g,
            None => panic!(
                "gradients: variable {} has no gradient (not a leaf, or the output does not depend on it); wrt() gives zeros",
                v.index
            ),
        }
    }
}
#[cfg(test)]
mod tests {
    /// Every recorded op moves one node onto the tape: rare ops box their
    /// large constants so the common ones stay small.
    #[test]
    fn nodes_stay_small() {
        assert!(std::mem::size_of::<super::Op<f32>>() <= 32);
        assert!(std::mem::size_of::<super::Node<f32>>() <= 128);
    }

    use super::*;
    use rand::SeedableRng;

    /// Where `vjp_reusing` writes: the adjoint's own buffer when unshared,
    /// else a spare of the right size (consumed), else a new buffer; the
    /// result is the same each way.
    #[test]
    fn vjp_reusing_writes_into_the_buffer_it_can_have() {
        let g = Tensor::from_vec(vec![1.0_f32, -2.0, 3.0], &[3]);
        let rule = |g: Option<&[f32]>, out: &mut [f32]| match g {
            None => out.iter_mut().for_each(|o| *o *= 2.0),
            Some(g) => out.iter_mut().zip(g).for_each(|(o, &g)| *o = g * 2.0),
        };
        let want = vec![2.0, -4.0, 6.0];
        let mut own = Tensor::from_vec(g.to_vec(), &[3]);
        let before = own.data().as_ptr();
        vjp_reusing(rule, &mut own, &mut Vec::new());
        assert_eq!((own.to_vec(), own.data().as_ptr()), (want.clone(), before));
        let mut spare = vec![Tensor::<f32>::zeros(&[5]), Tensor::<f32>::zeros(&[3])];
        let spare_ptr = spare[1].data().as_ptr();
        let mut shared = g.clone();
        vjp_reusing(rule, &mut shared, &mut spare);
        assert_eq!(
            (shared.to_vec(), shared.data().as_ptr()),
            (want.clone(), spare_ptr)
        );
        assert_eq!(spare.len(), 1);
        let mut shared = g.clone();
        vjp_reusing(rule, &mut shared, &mut spare);
        assert_eq!((shared.to_vec(), g.to_vec()), (want, vec![1.0, -2.0, 3.0]));
    }

    /// A one-input statement's in-place VJP (the sweep's) gives exactly
    /// what its general rule gives.
    #[test]
    fn statement_in_place_vjp_equals_the_general_rule_bit_for_bit() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let x = Tensor::<f32>::rand_uniform(&[7, 3], -3.0, 3.0, &mut rng);
        let g = Tensor::<f32>::rand_uniform(&[7, 3], -2.0, 2.0, &mut rng);
        let tape = TensorTape::new();
        let v = tape.leaf(x.clone());
        let st = tape.statement([v], |[v]| (v * v).tanh() * v);
        let st_op = tape.inner.borrow().nodes[st.index as usize].op.clone();
        let mut general = None;
        vjp(&st_op, &[&x], &st.value(), &g, &[true], &mut |_, gk| {
            general = Some(gk)
        });
        let swept = tape.vjp(st, &g);
        assert_eq!(general.unwrap(), swept[v]);
    }
}
