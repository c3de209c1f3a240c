//! The tensor tape: nodes that hold a value and remember how it was made,
//! and recording. The sweeps are in `sweep.rs`, the handle in `var.rs`, the
//! tools (anomaly detection, profiling, statistics) in `tools.rs`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::Arc;

use smallvec::SmallVec;

use super::checkpoint::Segment;
use super::conv::Geometry;
use super::custom::CustomNode;
use super::prim::{BinaryOp, GeneralOp, UnaryOp};
use super::replay::Guard;
use super::shape::same_shape;
use super::spare::{SPARE_MAX, Spare};
use super::statement::StatementNode;
use super::tools::Tools;
use super::value::Tensor;
// Most modules name the handle through this module.
pub(crate) use super::var::{TensorGradients, TensorVar};
use crate::Real;
use crate::scalar::fresh_id;

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
    /// A primitive of any shape (`prim/general/`).
    General(Box<GeneralOp<T>>),
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
            Op::General(p) => p.name(),
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
pub(crate) type Scratch<T> = (Vec<u32>, Vec<(u32, Option<Tensor<T>>)>);

pub(crate) struct Inner<T: Real> {
    pub(crate) nodes: Vec<Node<T>>,
    /// The inputs of nodes with more than two (see [`Parents`]).
    pub(crate) more_parents: Vec<u32>,
    id: u64,
    /// The last cleared recording's values, for this one's outputs.
    pub(crate) spare: Spare<T>,
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
    pub(crate) adjoints: RefCell<Vec<Option<Tensor<T>>>>,
    /// Gradient buffers kept between sweeps for reuse (`pool.rs`).
    pub(crate) pool: RefCell<Vec<Tensor<T>>>,
    /// `grad_into`'s wanted nodes and kept adjoints, kept between calls.
    pub(crate) scratch: RefCell<Scratch<T>>,
    /// Which tools are on (anomaly detection, profiling): one load per op.
    pub(crate) flags: Cell<u8>,
    pub(crate) tools: RefCell<Tools>,
    /// Inside [`TensorTape::no_grad`]: leaves are recorded as constants.
    no_grad: Cell<bool>,
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
        crate::malloc::tune_once();
        TensorTape {
            inner: RefCell::new(Inner {
                nodes: Vec::new(),
                more_parents: Vec::new(),
                id: fresh_id(),
                spare: Spare::default(),
            }),
            adjoints: RefCell::new(Vec::new()),
            pool: RefCell::new(Vec::new()),
            scratch: RefCell::new(Scratch::default()),
            flags: Cell::new(0),
            tools: RefCell::new(Tools::default()),
            no_grad: Cell::new(false),
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
        let requires_grad = !self.no_grad.get();
        let op = if requires_grad {
            Op::Leaf
        } else {
            Op::Constant
        };
        self.push_node(op, Parents::NONE, value, requires_grad)
    }

    /// Runs `f` with gradients off (PyTorch's `torch.no_grad()`, JAX's
    /// `stop_gradient` on every input): leaves and parameters made inside
    /// it enter the recording as constants, so nothing computed from them
    /// keeps a backward rule, and a sweep from such a result is empty.
    /// Values are computed as usual. Nests; gradients are on again after
    /// `f`, even if it panics. For inference (sampling, evaluation);
    /// [`TensorTape::clear`] between batches still frees the values.
    ///
    /// ```
    /// use autograd_core::{Parameter, Tensor, TensorTape};
    /// let w = Parameter::new(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// let tape = TensorTape::new();
    /// let y = tape.no_grad(|| w.var(&tape).square());
    /// assert_eq!(y.value().item(), 4.0);
    /// assert!(!y.requires_grad());
    /// assert!(w.grad(&y.sum().backward()).is_none());
    /// assert!(tape.is_grad_enabled());
    /// assert!(w.var(&tape).requires_grad()); // a leaf again outside
    /// ```
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Cell<bool>, bool);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.no_grad, self.no_grad.replace(true));
        f()
    }

    /// False inside [`TensorTape::no_grad`].
    ///
    /// ```
    /// let tape = autograd_core::TensorTape::<f32>::new();
    /// assert!(tape.is_grad_enabled());
    /// assert!(!tape.no_grad(|| tape.is_grad_enabled()));
    /// ```
    pub fn is_grad_enabled(&self) -> bool {
        !self.no_grad.get()
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

    /// Forgets every node and starts a new recording (variables and
    /// gradients from before are refused by id). The node list keeps its
    /// capacity. The values no one else holds, and the sweep's spare
    /// gradient buffers, are kept for the next recording's elementwise ops
    /// to write into instead of allocating (below 2^17 elements each; what
    /// that recording does not use is freed at the next `clear`), so a
    /// training loop's small values stop going through the allocator;
    /// [`TensorTape::release_buffers`] frees them.
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
        let pool = self.pool.get_mut().drain(..);
        inner
            .spare
            .refill(inner.nodes.drain(..).map(|n| n.value).chain(pool));
        inner.more_parents.clear();
        inner.id = fresh_id();
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
        let inner = &mut *inner;
        let input = &inner.nodes[x as usize];
        let value = if self.flags.get() == 0 {
            // An elementwise op writes into a recycled value where one of
            // its size is kept (`spare.rs`), with replay's kernel.
            let n = input.value.numel();
            let spare = match op {
                Op::Unary(_) if n < SPARE_MAX => inner.spare.take(n),
                _ => None,
            };
            match (spare, &op) {
                (Some(mut out), Op::Unary(u)) => {
                    u.map_into(input.value.data(), out.reuse_like(&input.value));
                    out
                }
                _ => f(&input.value),
            }
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

    #[track_caller]
    pub(crate) fn check_var(&self, op: &str, v: TensorVar<'_, T>) {
        if !std::ptr::eq(self, v.tape) {
            panic!("{op}: the variable belongs to a different tape");
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
}
