//! The scalar tape: an append-only Wengert list of nodes, and the `Var` handle.

use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::trace::{Op, Trace};
use crate::Real;

/// One recorded operation, as the reverse sweep reads it: two parent indices
/// and the local partial derivative with respect to each.
///
/// 24 bytes for `f64`, 16 for `f32`. The node's value is not stored: the
/// sweep never needs it, and the forward pass carries it in the [`Var`]
/// handle. Unused parent slots (a unary operation's second, both of a leaf's)
/// point at the node itself with partial 0, so the sweep has no branch on
/// arity, and the dummy updates touch a slot no other node writes (pointing
/// them at one shared scratch slot instead made every node update that slot
/// in turn: a chain through memory that cost a quarter of the sweep).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub(crate) struct Node<T> {
    pub(crate) parents: [u32; 2],
    pub(crate) partials: [T; 2],
}

/// Node indices are `u32` to keep nodes at 24 bytes; this is the largest tape.
pub(crate) const MAX_NODES: usize = u32::MAX as usize;

pub(crate) struct Inner<T> {
    pub(crate) nodes: Vec<Node<T>>,
    /// Present only on a traced tape: op kind and value of every node.
    pub(crate) trace: Option<Trace<T>>,
    pub(crate) names: Vec<(u32, Cow<'static, str>)>,
    /// The most nodes any recording of this tape has had (updated on clear).
    pub(crate) peak_nodes: usize,
}

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn fresh_id() -> u64 {
    NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed)
}

/// A Wengert tape that records scalar operations for reverse-mode
/// differentiation.
///
/// Variables ([`Var`]) are small `Copy` handles into the tape, so expressions
/// read like maths. One reverse sweep ([`Tape::gradient`]) then gives the
/// derivative of an output with respect to every variable on the tape.
///
/// ```
/// use autograd_core::Tape;
///
/// let tape = Tape::new();
/// let x = tape.var(0.5);
/// let y = tape.var(4.2);
/// let f = x * y + x.sin();
/// let g = f.backward();
/// assert!((g[x] - (4.2 + 0.5_f64.cos())).abs() < 1e-15);
/// assert_eq!(g[y], 0.5);
/// ```
///
/// A tape is reused across the steps of an optimisation loop with
/// [`Tape::clear`], which keeps its capacity, so a loop that records the same
/// computation every step stops allocating after the first one. `clear` takes
/// `&mut self`, so the borrow checker guarantees that no variable of the old
/// recording survives it.
pub struct Tape<T: Real = f64> {
    /// Interior mutability without `RefCell`'s borrow flag, which cost 25% of
    /// the recording time (docs/performance.md). Soundness argument at
    /// [`Tape::inner`] and [`Tape::inner_mut`].
    inner: UnsafeCell<Inner<T>>,
    /// Changes on every `clear`, so gradients from an earlier recording are
    /// never mistaken for the current one.
    pub(crate) id: u64,
}

impl<T: Real> Default for Tape<T> {
    /// An empty, untraced tape of any element type (`Tape::<f32>::default()`).
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

/// Constructors for the default element type, `f64`. For `f32` use
/// `Tape::<f32>::default()` or `Tape::<f32>::with_capacity(n)`: with plain
/// literals like `tape.var(0.5) * 2.0`, a generic `new` could not tell which
/// float type is meant.
impl Tape<f64> {
    /// An empty tape that records what the reverse sweep needs and nothing
    /// more (24 bytes per node).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert!(tape.is_empty());
    /// # let _ = tape.var(1.0);
    /// ```
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A tape that also records each node's operation and value, so that it
    /// can be printed as a Wengert list ([`Tape::wengert`]) or a graph
    /// ([`Tape::to_dot`]). For teaching and debugging; slower than [`Tape::new`].
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::traced();
    /// let x = tape.var(2.0).named("x");
    /// let _y = x.exp();
    /// assert!(tape.to_string().contains("exp(x)"));
    /// ```
    pub fn traced() -> Self {
        let mut tape = Self::new();
        tape.set_traced(true);
        tape
    }
}

impl<T: Real> fmt::Debug for Tape<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tape")
            .field("id", &self.id)
            .field("nodes", &self.len())
            .field("traced", &self.is_traced())
            .finish()
    }
}

impl<T: Real> Tape<T> {
    /// An empty tape with room for `nodes` operations before it allocates.
    ///
    /// ```
    /// let tape = autograd_core::Tape::<f32>::with_capacity(1000);
    /// assert!(tape.capacity() >= 1000);
    /// ```
    pub fn with_capacity(nodes: usize) -> Self {
        Tape {
            inner: UnsafeCell::new(Inner {
                nodes: Vec::with_capacity(nodes),
                trace: None,
                names: Vec::new(),
                peak_nodes: 0,
            }),
            id: fresh_id(),
        }
    }

    /// Shared access to the tape's storage.
    ///
    /// SAFETY argument (for this and [`Tape::inner_mut`]): `Tape` is not
    /// `Sync` (it holds an `UnsafeCell`), so all access comes from one thread.
    /// The only `&mut Inner` is made inside `inner_mut`'s callers, which are
    /// short, non-reentrant functions (`push`, `named`, `record_guard`,
    /// `replay`) that call no user
    /// code and return no reference into the storage. Every `&Inner` from
    /// this function is used within one call of a crate method that records
    /// nothing while holding it. So a `&mut Inner` and any other reference
    /// to it never coexist.
    #[inline(always)]
    pub(crate) fn inner(&self) -> &Inner<T> {
        // SAFETY: see above; no `&mut Inner` is live while this is.
        unsafe { &*self.inner.get() }
    }

    /// Exclusive access to the storage, for `push`, `named`, `record_guard`
    /// and `replay` only.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub(super) fn inner_mut(&self) -> &mut Inner<T> {
        // SAFETY: see `inner`; callers hold this only within their own body,
        // call nothing that reaches the tape, and create no other reference.
        unsafe { &mut *self.inner.get() }
    }

    /// Turns tracing on or off (see [`Tape::traced`]); works for any element
    /// type. Turning it on for a tape that already holds nodes is refused
    /// (returns `false`), since their operations were not recorded.
    ///
    /// ```
    /// let mut tape = autograd_core::Tape::<f32>::default();
    /// assert!(tape.set_traced(true));
    /// let x = tape.var(2.0).named("x");
    /// let _ = x.exp();
    /// assert!(tape.to_string().contains("exp(x)"));
    /// ```
    pub fn set_traced(&mut self, on: bool) -> bool {
        let inner = self.inner.get_mut();
        match (on, inner.trace.is_some()) {
            (true, false) if !inner.nodes.is_empty() => false,
            (true, false) => {
                inner.trace = Some(Trace::new());
                true
            }
            (false, _) => {
                inner.trace = None;
                true
            }
            (true, true) => true,
        }
    }

    /// Whether this tape records operations and values ([`Tape::traced`]).
    ///
    /// ```
    /// assert!(!autograd_core::Tape::new().is_traced());
    /// ```
    pub fn is_traced(&self) -> bool {
        self.inner().trace.is_some()
    }

    /// A new independent variable (a leaf) with the given value.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(3.0);
    /// assert_eq!(x.value(), 3.0);
    /// ```
    #[inline]
    pub fn var(&self, value: T) -> Var<'_, T> {
        self.push_leaf(value, Op::Input)
    }

    /// Several leaves at once, in order.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let xs = tape.vars(&[1.0, 2.0]);
    /// assert_eq!(xs[1].value(), 2.0);
    /// ```
    pub fn vars(&self, values: &[T]) -> Vec<Var<'_, T>> {
        let first = {
            let inner = self.inner_mut();
            let first = inner.nodes.len();
            if first + values.len() > MAX_NODES {
                panic!(
                    "Tape::vars: {} more nodes would exceed the limit of {MAX_NODES}",
                    values.len()
                );
            }
            // One reservation and a plain loop of stores, instead of one
            // push (with its capacity check) per leaf.
            inner
                .nodes
                .extend((first..first + values.len()).map(|i| Node {
                    parents: [i as u32; 2],
                    partials: [T::ZERO; 2],
                }));
            if let Some(trace) = inner.trace.as_mut() {
                for &v in values {
                    trace.push(Op::Input, v);
                }
            }
            first
        };
        values
            .iter()
            .enumerate()
            .map(|(k, &value)| Var {
                tape: self,
                index: (first + k) as u32,
                value,
            })
            .collect()
    }

    /// A constant: a leaf whose gradient you do not intend to ask for.
    /// Arithmetic with plain numbers (`x * 2.0`) needs no constant; this is
    /// for a starting value such as the zero of a running sum.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(2.0);
    /// let mut total = tape.constant(0.0);
    /// for _ in 0..3 { total += x; }
    /// assert_eq!(total.backward()[x], 3.0);
    /// ```
    #[inline]
    pub fn constant(&self, value: T) -> Var<'_, T> {
        self.push_leaf(value, Op::Constant)
    }

    /// Number of recorded nodes (leaves included).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(1.0);
    /// let _ = x * x;
    /// assert_eq!(tape.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.inner().nodes.len()
    }

    /// True when nothing has been recorded since creation or the last clear.
    ///
    /// ```
    /// assert!(autograd_core::Tape::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many nodes fit before the tape reallocates.
    ///
    /// ```
    /// let tape = autograd_core::Tape::<f64>::with_capacity(10);
    /// assert!(tape.capacity() >= 10);
    /// ```
    pub fn capacity(&self) -> usize {
        self.inner().nodes.capacity()
    }

    /// Bytes one node takes on the tape (24 for `f64`, 16 for `f32`), for
    /// every kind of node; the trace of a traced tape and names are extra.
    ///
    /// ```
    /// assert_eq!(autograd_core::Tape::<f64>::bytes_per_node(), 24);
    /// assert_eq!(autograd_core::Tape::<f32>::bytes_per_node(), 16);
    /// ```
    pub const fn bytes_per_node() -> usize {
        std::mem::size_of::<Node<T>>()
    }

    /// Node counts by operation (on a traced tape; an untraced one does not
    /// know its operations) and bytes held, now and at the peak over this
    /// tape's recordings. The reverse sweep needs only the 24-byte nodes:
    /// `value_bytes` counts what a traced tape keeps on top (each node's
    /// operation and value, the plan [`Tape::replay`] runs), 0 otherwise.
    ///
    /// ```
    /// let mut tape = autograd_core::Tape::traced();
    /// let x = tape.var(2.0);
    /// let _ = x * x + x.exp();
    /// let s = tape.stats();
    /// assert_eq!((s.nodes, s.node_bytes), (4, 4 * 24));
    /// assert_eq!(s.by_op[0], ("add", 1)); // ties in name order
    /// tape.clear();
    /// assert_eq!((tape.stats().nodes, tape.stats().peak_nodes), (0, 4));
    /// ```
    pub fn stats(&self) -> crate::tensor::TapeStats {
        let inner = self.inner();
        let n = inner.nodes.len();
        let peak = inner.peak_nodes.max(n);
        let mut by_op: Vec<(&'static str, usize)> = Vec::new();
        let mut trace_bytes_per_node = 0;
        if let Some(trace) = &inner.trace {
            trace_bytes_per_node = std::mem::size_of::<Op>() + std::mem::size_of::<T>();
            for op in &trace.ops {
                let name = op.name();
                match by_op.iter_mut().find(|(k, _)| *k == name) {
                    Some((_, c)) => *c += 1,
                    None => by_op.push((name, 1)),
                }
            }
            by_op.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        }
        crate::tensor::TapeStats {
            nodes: n,
            by_op,
            node_bytes: n * Self::bytes_per_node(),
            value_bytes: n * trace_bytes_per_node,
            peak_nodes: peak,
            peak_value_bytes: peak * trace_bytes_per_node,
        }
    }

    /// Forgets every recorded node but keeps the allocated memory, so that a
    /// loop re-recording the same computation reaches a steady state with no
    /// allocation. Gradients computed before the clear are no longer valid for
    /// the new variables: using them is an error, not a silent wrong answer.
    ///
    /// ```
    /// let mut tape = autograd_core::Tape::new();
    /// for step in 0..3 {
    ///     let x = tape.var(step as f64);
    ///     let g = (x * x).backward();
    ///     assert_eq!(g[x], 2.0 * step as f64);
    ///     tape.clear();
    /// }
    /// assert!(tape.is_empty());
    /// ```
    pub fn clear(&mut self) {
        let inner = self.inner.get_mut();
        inner.peak_nodes = inner.peak_nodes.max(inner.nodes.len());
        inner.nodes.clear();
        inner.names.clear();
        if let Some(trace) = inner.trace.as_mut() {
            trace.clear();
        }
        self.id = fresh_id();
    }

    /// Records one node. Every primitive goes through here; `parents` and
    /// `partials` are completed by the callers below.
    #[inline(always)]
    fn push(
        &self,
        parents: impl FnOnce(u32) -> [u32; 2],
        partials: [T; 2],
        value: T,
        op: Op,
    ) -> Var<'_, T> {
        let inner = self.inner_mut();
        let index = inner.nodes.len();
        if index == inner.nodes.capacity() {
            grow(&mut inner.nodes);
        }
        inner.nodes.push(Node {
            parents: parents(index as u32),
            partials,
        });
        if let Some(trace) = inner.trace.as_mut() {
            trace_node(trace, &mut inner.nodes, op, value);
        }
        Var {
            tape: self,
            index: index as u32,
            value,
        }
    }

    /// A node without parents.
    #[inline(always)]
    fn push_leaf(&self, value: T, op: Op) -> Var<'_, T> {
        self.push(|me| [me, me], [T::ZERO; 2], value, op)
    }

    /// A node with one parent.
    #[inline(always)]
    pub(crate) fn push1(&self, parent: u32, partial: T, value: T, op: Op) -> Var<'_, T> {
        self.push(|me| [parent, me], [partial, T::ZERO], value, op)
    }

    /// A node with two parents.
    #[inline(always)]
    pub(crate) fn push2(
        &self,
        parents: [u32; 2],
        partials: [T; 2],
        value: T,
        op: Op,
    ) -> Var<'_, T> {
        self.push(|_| parents, partials, value, op)
    }

    /// Records a custom primitive with one argument: you give its value and its
    /// local derivative `d value / d x`, and the reverse sweep does the rest.
    /// This is the mechanism the built-in operations use.
    ///
    /// ```
    /// use autograd_core::{gradcheck, Tape};
    /// // cube(x) = x^3, with derivative 3x^2
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let y = tape.custom_unary("cube", x, 8.0, 12.0);
    /// assert_eq!(y.backward()[x], 12.0);
    /// ```
    #[track_caller]
    pub fn custom_unary<'t>(
        &'t self,
        name: &'static str,
        x: Var<'t, T>,
        value: T,
        dx: T,
    ) -> Var<'t, T> {
        self.check_own(x, name);
        self.push1(x.index, dx, value, Op::Custom(name))
    }

    /// Records a custom primitive with two arguments and both local partials.
    ///
    /// ```
    /// use autograd_core::Tape;
    /// // hypot(x, y) = sqrt(x^2 + y^2)
    /// let tape = Tape::new();
    /// let (x, y) = (tape.var(3.0), tape.var(4.0));
    /// let h = tape.custom_binary("hypot", x, y, 5.0, 3.0 / 5.0, 4.0 / 5.0);
    /// let g = h.backward();
    /// assert_eq!((g[x], g[y]), (0.6, 0.8));
    /// ```
    #[track_caller]
    pub fn custom_binary<'t>(
        &'t self,
        name: &'static str,
        x: Var<'t, T>,
        y: Var<'t, T>,
        value: T,
        dx: T,
        dy: T,
    ) -> Var<'t, T> {
        self.check_own(x, name);
        self.check_own(y, name);
        self.push2([x.index, y.index], [dx, dy], value, Op::Custom(name))
    }

    /// Keeps a guard on a traced tape; an untraced one cannot be replayed,
    /// so it keeps nothing.
    pub(super) fn record_guard(&self, mut guard: super::replay::Guard) {
        let inner = self.inner_mut();
        if let Some(trace) = inner.trace.as_mut() {
            guard.after = inner.nodes.len() as u32;
            trace.guards.push(guard);
        }
    }

    #[inline(always)]
    #[track_caller]
    pub(crate) fn check_own(&self, v: Var<'_, T>, op: &str) {
        if !std::ptr::eq(self, v.tape) {
            different_tapes(op, self.id, v.tape.id);
        }
    }
}

/// A traced tape's record of the node just pushed; out of line, so that the
/// untraced recording path stays as small as it is. After a replay the node
/// is recomputed from the trace's current values: the handle values it was
/// computed from may predate the replay. (The handle returned for it may be
/// stale too; on a traced tape nothing reads that copy but this fix-up, and
/// [`Var::value`] reads the trace.)
#[inline(never)]
fn trace_node<T: Real>(trace: &mut Trace<T>, nodes: &mut [Node<T>], op: Op, value: T) {
    trace.push(op, value);
    if trace.replayed {
        let index = nodes.len() - 1;
        let node = &mut nodes[index];
        let (value, partials) = trace.recompute(op, node.parents, index, value, node.partials);
        node.partials = partials;
        trace.values[index] = value;
    }
}

#[cold]
#[inline(never)]
fn grow<T>(nodes: &mut Vec<Node<T>>) {
    if nodes.len() >= MAX_NODES {
        panic!(
            "Tape: cannot record more than {MAX_NODES} nodes (indices are u32); split the computation or clear the tape"
        );
    }
    nodes.reserve(nodes.len().max(64));
}

#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn different_tapes(op: &str, a: u64, b: u64) -> ! {
    panic!(
        "{op}: variables from two different tapes (tape #{a} and tape #{b}) cannot be combined; \
         record the whole computation on one tape"
    )
}

/// A variable: a handle to one node of a [`Tape`], carrying its value.
///
/// `Var` is `Copy` (24 bytes for `f64`), so it is used like a number:
/// `x * y + x.sin()`. Arithmetic with plain numbers works on either side
/// (`2.0 * x`, `x / 3.0`).
///
/// ```
/// use autograd_core::Tape;
/// let tape = Tape::new();
/// let x = tape.var(3.0);
/// let y = 2.0 * x * x - x / 3.0 + 1.0;
/// assert_eq!(y.value(), 18.0);
/// assert!((y.backward()[x] - (4.0 * 3.0 - 1.0 / 3.0)).abs() < 1e-12);
/// ```
#[derive(Clone, Copy)]
pub struct Var<'t, T: Real = f64> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) index: u32,
    pub(crate) value: T,
}

impl<T: Real> fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var(v{} = {:?})", self.index, self.value())
    }
}

impl<T: Real> fmt::Display for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value(), f)
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// The value computed in the forward pass; on a traced tape, the latest
    /// one ([`Tape::replay`] recomputes values).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert_eq!((tape.var(2.0) * 3.0).value(), 6.0);
    /// ```
    #[inline(always)]
    pub fn value(&self) -> T {
        match &self.tape.inner().trace {
            None => self.value,
            Some(trace) => trace.values[self.index as usize],
        }
    }

    /// Position of this variable's node on its tape, from 0. Rows of the
    /// Wengert list use it.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert_eq!(tape.var(1.0).index(), 0);
    /// ```
    #[inline(always)]
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// The tape this variable lives on.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(1.0);
    /// assert!(std::ptr::eq(x.tape(), &tape));
    /// ```
    #[inline(always)]
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// Gives this node a name that the Wengert list and DOT graph show.
    ///
    /// ```
    /// let tape = autograd_core::Tape::traced();
    /// let w = tape.var(0.1).named("w");
    /// assert!(tape.to_string().contains(" w "));
    /// # let _ = w;
    /// ```
    pub fn named(self, name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        self.tape.inner_mut().names.push((self.index, name));
        self
    }

    /// d(self)/d(every variable): one reverse sweep seeded with 1 at `self`.
    /// Same as [`Tape::gradient`].
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(3.0);
    /// assert_eq!((x * x).backward()[x], 6.0);
    /// ```
    pub fn backward(self) -> super::Gradients<T> {
        self.tape.gradient(self)
    }

    #[inline(always)]
    pub(crate) fn unary(self, value: T, d: T, op: Op) -> Self {
        self.tape.push1(self.index, d, value, op)
    }

    #[inline(always)]
    #[track_caller]
    pub(crate) fn binary(self, other: Self, value: T, da: T, db: T, op: Op) -> Self {
        if !std::ptr::eq(self.tape, other.tape) {
            different_tapes(op.name(), self.tape.id, other.tape.id);
        }
        self.tape
            .push2([self.index, other.index], [da, db], value, op)
    }
}
