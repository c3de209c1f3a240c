//! # autograd-nn
//!
//! Layers, losses, initialisation and optimizers built on `autograd-core`.
//! None of them contains derivative code: their gradients come from the tape.
//!
//! This crate is being built up; for now it re-exports the core so that the
//! facade's users see one consistent API.
//!
//! ```
//! use autograd_nn::core::Tape;
//! let tape = Tape::new();
//! let w = tape.var(0.5);
//! assert_eq!((w * w).backward()[w], 1.0);
//! ```

#![warn(missing_docs)]

pub use autograd_core as core;
