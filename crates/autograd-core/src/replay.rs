//! The error both tapes' replays return.

use std::fmt;
use std::panic::Location;

use crate::tensor::shape::fmt_shape;

/// Why a replay was refused.
///
/// ```
/// use autograd_core::{ReplayError, Tensor, TensorTape};
/// let tape = TensorTape::new();
/// let x = tape.leaf(Tensor::scalar(-1.0_f64));
/// let y = if x.guard_lt(0.0) { x.neg() } else { x };
/// let e = tape.replay(&[(x, Tensor::scalar(2.0))]).unwrap_err();
/// assert!(matches!(e, ReplayError::BranchChanged { .. }));
/// assert!(e.to_string().contains("re-record"));
/// # let _ = y;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ReplayError {
    /// A recorded comparison came out differently: the code would take
    /// another branch, so the recorded tape no longer describes it.
    BranchChanged {
        /// The guard's node on a tensor tape; the compared variable's node on
        /// a scalar tape (where guards take no node).
        node: usize,
        /// Where the comparison was recorded.
        location: &'static Location<'static>,
    },
    /// A new input has another shape than the recorded one.
    Shape {
        /// The input's node.
        node: usize,
        /// The recorded shape.
        recorded: Vec<usize>,
        /// The new shape.
        given: Vec<usize>,
    },
    /// A new value was given for a node that is not an input (a leaf or a
    /// constant).
    NotAnInput {
        /// The node.
        node: usize,
    },
    /// A scalar tape can be replayed only if it was recorded traced
    /// ([`crate::Tape::traced`]): the plain tape keeps partials, not the
    /// operations that made them.
    NotTraced,
    /// The tape holds an operation whose value cannot be recomputed from
    /// the recording (a custom scalar primitive, whose value and partials
    /// came from its caller).
    NotReplayable {
        /// The first such node.
        node: usize,
        /// Its name.
        op: &'static str,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::BranchChanged { node, location } => write!(
                f,
                "replay: the comparison recorded at {}:{}:{} (node {node}) now has another outcome; \
                 the code takes another branch, so re-record the computation",
                location.file(),
                location.line(),
                location.column()
            ),
            ReplayError::Shape {
                node,
                recorded,
                given,
            } => write!(
                f,
                "replay: input node {node} was recorded with shape {} but is given shape {}; re-record for new shapes",
                fmt_shape(recorded),
                fmt_shape(given)
            ),
            ReplayError::NotAnInput { node } => {
                write!(
                    f,
                    "replay: node {node} is computed, not an input (leaf or constant)"
                )
            }
            ReplayError::NotTraced => write!(
                f,
                "replay: this scalar tape was not recorded traced; record with Tape::traced() to replay it"
            ),
            ReplayError::NotReplayable { node, op } => write!(
                f,
                "replay: node {node} ({op}) is a custom primitive whose value the tape cannot recompute; re-record instead"
            ),
        }
    }
}

impl std::error::Error for ReplayError {}
