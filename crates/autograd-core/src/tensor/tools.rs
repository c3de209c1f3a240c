//! Tape tools for debugging and for measuring: anomaly detection (the first
//! NaN or infinity, in the forward pass or the sweep, with the operation,
//! its inputs and the line that recorded it), statistics, and a per-operation
//! profile. All off by default; off, they cost one flag test per operation.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use super::shape::fmt_shape;
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
    /// use std::time::Duration;
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
