//! Tape tools for debugging and for measuring: anomaly detection (the first
//! NaN or infinity, in the forward pass or the sweep, with the operation,
//! its inputs and the line that recorded it), statistics, and a per-operation
//! profile. All off by default; off, they cost one flag test per operation.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use super::shape::fmt_shape;
use super::tape::{Node, TensorTape};
use super::value::Tensor;
use crate::Real;

pub(crate) const ANOMALY: u8 = 1;
pub(crate) const PROFILE: u8 = 2;

/// A tensor described in a few numbers: shape, range, mean, and how many
/// entries are NaN or infinite.
///
/// ```
/// use autograd_core::{tensor::Summary, Tensor};
/// let s = Summary::of(&Tensor::from_vec(vec![1.0_f64, f64::NAN, 3.0], &[3]));
/// assert_eq!((s.nan, s.min, s.max), (1, 1.0, 3.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The shape.
    pub shape: Vec<usize>,
    /// Smallest finite entry (NaN if none).
    pub min: f64,
    /// Largest finite entry (NaN if none).
    pub max: f64,
    /// Mean of the finite entries (NaN if none).
    pub mean: f64,
    /// NaN entries.
    pub nan: usize,
    /// Infinite entries.
    pub inf: usize,
}

impl Summary {
    /// Summarises a tensor.
    ///
    /// ```
    /// use autograd_core::{tensor::Summary, Tensor};
    /// let s = Summary::of(&Tensor::from_vec(vec![-1.0_f32, f32::INFINITY], &[2]));
    /// assert_eq!((s.inf, s.mean), (1, -1.0));
    /// ```
    pub fn of<T: Real>(t: &Tensor<T>) -> Summary {
        let (mut min, mut max, mut sum, mut n, mut nan, mut inf) =
            (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize, 0, 0);
        for &v in t.data() {
            let v = v.to_f64();
            if v.is_nan() {
                nan += 1;
            } else if v.is_infinite() {
                inf += 1;
            } else {
                min = min.min(v);
                max = max.max(v);
                sum += v;
                n += 1;
            }
        }
        let (min, max, mean) = if n == 0 {
            (f64::NAN, f64::NAN, f64::NAN)
        } else {
            (min, max, sum / n as f64)
        };
        Summary {
            shape: t.shape().to_vec(),
            min,
            max,
            mean,
            nan,
            inf,
        }
    }

    pub(crate) fn bad(&self) -> bool {
        self.nan + self.inf > 0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} min {:e} max {:e} mean {:e}",
            fmt_shape(&self.shape),
            self.min,
            self.max,
            self.mean
        )?;
        if self.bad() {
            write!(f, " ({} NaN, {} infinite)", self.nan, self.inf)?;
        }
        Ok(())
    }
}

/// Where an anomaly was born.
///
/// ```
/// assert_ne!(autograd_core::tensor::Phase::Forward, autograd_core::tensor::Phase::Backward);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// An operation's value.
    Forward,
    /// A gradient computed by an operation's VJP in the sweep.
    Backward,
}

/// The first NaN or infinity seen with anomaly detection on: the operation,
/// the line that recorded it, its inputs, and the offending tensor.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// let tape = TensorTape::new();
/// tape.set_anomaly_detection(true);
/// let x = tape.leaf(Tensor::from_vec(vec![-1.0_f64, 2.0], &[2]));
/// let y = x.ln().sum();
/// let e = y.try_backward().unwrap_err();
/// assert_eq!(e.op, "ln");
/// assert!(e.to_string().starts_with("anomaly in the forward pass: ln (node 1)"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// Forward value or backward gradient.
    pub phase: Phase,
    /// The operation's name.
    pub op: &'static str,
    /// Its node on the tape.
    pub node: usize,
    /// The source line that recorded it.
    pub location: Option<&'static Location<'static>>,
    /// Its inputs.
    pub inputs: Vec<Summary>,
    /// The value (forward) or the gradient (backward) that went bad.
    pub bad: Summary,
    /// For a backward anomaly: which input's gradient.
    pub input: Option<usize>,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Forward => "forward pass",
            Phase::Backward => "backward sweep",
        };
        write!(
            f,
            "anomaly in the {phase}: {} (node {})",
            self.op, self.node
        )?;
        if let Some(l) = self.location {
            write!(f, " recorded at {}:{}:{}", l.file(), l.line(), l.column())?;
        }
        match (self.phase, self.input) {
            (Phase::Backward, Some(k)) => write!(f, "; gradient of input {k}: {}", self.bad)?,
            _ => write!(f, "; value: {}", self.bad)?,
        }
        for (k, s) in self.inputs.iter().enumerate() {
            write!(f, "; input {k}: {s}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Anomaly {}

/// Counts and sizes of a tape's recording.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// let tape = TensorTape::new();
/// let x = tape.leaf(Tensor::<f32>::ones(&[10]));
/// let _ = x.exp().exp().sum();
/// let s = tape.stats();
/// assert_eq!(s.nodes, 4);
/// assert_eq!(s.by_op[0], ("exp", 2));
/// assert_eq!(s.value_bytes, (10 + 10 + 10 + 1) * 4);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapeStats {
    /// Nodes recorded now.
    pub nodes: usize,
    /// Nodes by operation, most frequent first.
    pub by_op: Vec<(&'static str, usize)>,
    /// Bytes of the node records themselves (without the values).
    pub node_bytes: usize,
    /// Bytes of the values the nodes hold (what the backward needs).
    pub value_bytes: usize,
    /// The most nodes any recording of this tape has had.
    pub peak_nodes: usize,
    /// The most value bytes any recording of this tape has held.
    pub peak_value_bytes: usize,
}

impl fmt::Display for TapeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} nodes: {} bytes of records ({} per node) + {} bytes of values; peak {} nodes, {} value bytes",
            self.nodes,
            self.node_bytes,
            self.node_bytes.checked_div(self.nodes).unwrap_or(0),
            self.value_bytes,
            self.peak_nodes,
            self.peak_value_bytes
        )?;
        for (op, n) in &self.by_op {
            writeln!(f, "  {op:<14} {n:>8}")?;
        }
        Ok(())
    }
}

/// Time spent per operation kind, forward (computing values while
/// recording) and backward (its VJP in the sweep), as a flat profile.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// let tape = TensorTape::new();
/// tape.set_profiling(true);
/// let x = tape.leaf(Tensor::<f32>::ones(&[100]));
/// let _ = x.tanh().sum().backward();
/// let p = tape.profile();
/// assert!(p.rows.iter().any(|r| r.op == "tanh" && r.forward_calls == 1 && r.backward_calls == 1));
/// assert!(p.to_string().starts_with("op"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// One row per operation kind, by total time, largest first.
    pub rows: Vec<ProfileRow>,
}

/// One operation kind's line of a [`Profile`].
///
/// ```
/// let r = autograd_core::tensor::ProfileRow::default();
/// assert_eq!(r.total(), std::time::Duration::ZERO);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileRow {
    /// The operation.
    pub op: &'static str,
    /// Values computed.
    pub forward_calls: usize,
    /// Time computing them.
    pub forward: Duration,
    /// VJPs run.
    pub backward_calls: usize,
    /// Time in them (including accumulating their results).
    pub backward: Duration,
}

impl ProfileRow {
    /// Forward plus backward time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let r = autograd_core::tensor::ProfileRow { forward: Duration::from_micros(2), backward: Duration::from_micros(3), ..Default::default() };
    /// assert_eq!(r.total(), Duration::from_micros(5));
    /// ```
    pub fn total(&self) -> Duration {
        self.forward + self.backward
    }
}

impl fmt::Display for Profile {
    /// A table in µs, or in ns when the whole profile is under 100 µs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all: Duration = self.rows.iter().map(ProfileRow::total).sum();
        let (scale, unit) = if all < Duration::from_micros(100) {
            (1e9, "ns")
        } else {
            (1e6, "µs")
        };
        writeln!(
            f,
            "op             share   total {unit}   fwd calls     fwd {unit}   bwd calls     bwd {unit}"
        )?;
        for r in &self.rows {
            let share = if all.is_zero() {
                0.0
            } else {
                100.0 * r.total().as_secs_f64() / all.as_secs_f64()
            };
            writeln!(
                f,
                "{:<14} {share:>5.1}% {:>10.1} {:>11} {:>10.1} {:>11} {:>10.1}",
                r.op,
                r.total().as_secs_f64() * scale,
                r.forward_calls,
                r.forward.as_secs_f64() * scale,
                r.backward_calls,
                r.backward.as_secs_f64() * scale
            )?;
        }
        Ok(())
    }
}

/// What the tools keep while on.
#[derive(Default)]
pub(crate) struct Tools {
    pub(crate) locations: Vec<(u32, &'static Location<'static>)>,
    pub(crate) anomaly: Option<Anomaly>,
    pub(crate) profile: Vec<ProfileRow>,
    pub(crate) peak_nodes: usize,
    pub(crate) peak_value_bytes: usize,
}

impl Tools {
    pub(crate) fn location(&self, node: u32) -> Option<&'static Location<'static>> {
        self.locations
            .binary_search_by_key(&node, |(n, _)| *n)
            .ok()
            .map(|k| self.locations[k].1)
    }

    pub(crate) fn row(&mut self, op: &'static str) -> &mut ProfileRow {
        match self.profile.iter().position(|r| r.op == op) {
            Some(k) => &mut self.profile[k],
            None => {
                self.profile.push(ProfileRow {
                    op,
                    ..Default::default()
                });
                self.profile.last_mut().expect("just pushed")
            }
        }
    }
}

impl<T: Real> TensorTape<T> {
    /// Turns anomaly detection on or off (off by default). While on, the
    /// tape remembers the line that recorded each operation, and the first
    /// NaN or infinity produced by an operation's value or by its VJP in the
    /// sweep is kept as an [`Anomaly`]: [`TensorVar::try_backward`](super::TensorVar::try_backward) returns
    /// it, [`TensorVar::backward`](super::TensorVar::backward) panics with it.
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

    pub(crate) fn note_peak(&self) {
        let (n, b) = (self.len(), self.value_bytes());
        let mut tools = self.tools.borrow_mut();
        tools.peak_nodes = tools.peak_nodes.max(n);
        tools.peak_value_bytes = tools.peak_value_bytes.max(b);
    }

    /// `f(x)` with the tools' bookkeeping (only called with a tool on).
    #[cold]
    #[inline(never)]
    #[track_caller]
    pub(crate) fn timed_unary(
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
    pub(crate) fn observe_forward(
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
    pub(crate) fn note_backward_time(&self, op: &'static str, start: Instant) {
        let mut tools = self.tools.borrow_mut();
        let row = tools.row(op);
        row.backward_calls += 1;
        row.backward += start.elapsed();
    }

    /// Checks a gradient node `i`'s VJP produced for its input `k`.
    #[cold]
    #[inline(never)]
    pub(crate) fn observe_backward(
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
}
