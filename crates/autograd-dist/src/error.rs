//! What can go wrong between ranks, said with the values involved.

use std::fmt;

/// An error of the distributed layer. Timeouts are not among them: a
/// collective that does not complete in time means a peer has stopped, and
/// then the whole job is stopped (see `World::timeout`), since a rank that
/// returned could not safely free the buffers the exchange still owns.
///
/// ```
/// let e = autograd_dist::DistError::Config("batch 0".into());
/// assert_eq!(e.to_string(), "autograd-dist: batch 0");
/// ```
#[derive(Debug)]
pub enum DistError {
    /// A bad setting (sampler arguments, MPI already initialised).
    Config(String),
    /// The ranks do not hold the same model.
    ModelMismatch {
        /// The rank reporting.
        rank: usize,
        /// The rank whose model differs from rank 0's.
        other: usize,
        /// Rank 0's description ([`crate::describe`]).
        root: Vec<String>,
        /// The other rank's description.
        theirs: Vec<String>,
    },
    /// The ranks' parameters are no longer bit-identical.
    OutOfSync {
        /// Ranks whose parameters differ from rank 0's.
        ranks: Vec<usize>,
    },
    /// Saving or loading a checkpoint failed.
    Checkpoint(String),
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistError::Config(s) => write!(f, "autograd-dist: {s}"),
            DistError::ModelMismatch {
                rank,
                other,
                root,
                theirs,
            } => {
                let diff = crate::first_difference(root, theirs).unwrap_or_default();
                write!(
                    f,
                    "autograd-dist (rank {rank}): rank {other}'s model differs from rank 0's, first at {diff}\n\
                     rank 0 has:\n  {}\nrank {other} has:\n  {}",
                    root.join("\n  "),
                    theirs.join("\n  ")
                )
            }
            DistError::OutOfSync { ranks } => write!(
                f,
                "autograd-dist: the parameters of rank(s) {ranks:?} differ from rank 0's"
            ),
            DistError::Checkpoint(s) => write!(f, "autograd-dist: checkpoint: {s}"),
        }
    }
}

impl std::error::Error for DistError {}
