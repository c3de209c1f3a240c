//! Scalar reverse mode: the [`Tape`], the [`Var`] handle, the primitives and
//! the reverse sweep.
//!
//! ```
//! use autograd_core::Tape;
//! let tape = Tape::new();
//! let x = tape.var(0.5);
//! let y = tape.var(4.2);
//! let f = x * y + x.sin();
//! let g = f.backward();
//! assert_eq!(g[y], 0.5);
//! ```

mod composite;
mod gradients;
mod ops;
mod profile;
mod replay;
mod statement;
mod tape;
mod trace;
mod view;

pub use composite::{logsumexp, sum};
pub use gradients::{GradientError, Gradients};
pub use ops::{Exponent, Operand};
pub use statement::Local;
pub(crate) use tape::fresh_id;
pub use tape::{Tape, Var};
pub use trace::{AdjointUpdate, Op, Row, SweepSteps, Wengert};
