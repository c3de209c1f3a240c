//! # autograd
//!
//! Tape-based reverse-mode automatic differentiation: record operations on a
//! [`Tape`], sweep it backwards once, get the gradient with respect to every
//! input. This facade re-exports [`autograd_core`] (the tape) and
//! [`autograd_nn`] (models on top).
//!
//! ```
//! use autograd::Tape;
//! let tape = Tape::new();
//! let x = tape.var(0.5);
//! let y = tape.var(4.2);
//! let f = x * y + x.sin();
//! let g = f.backward();
//! assert_eq!(g[x], 4.2 + 0.5_f64.cos());
//! ```

pub use autograd_core;
pub use autograd_core::*;
/// Data-parallel training ([`autograd_dist`]): the sampler and bucket plan
/// always, `World` and `Ddp` with the `mpi` feature.
///
/// ```
/// let s = autograd::dist::DistributedSampler::new(100, 1, 4, 0).unwrap();
/// assert_eq!(s.indices().len(), 25);
/// ```
pub use autograd_dist as dist;
pub use autograd_nn;
pub use autograd_nn as nn;
/// The `rand` crate at the version the constructors take (0.9); see
/// `autograd_nn::rand`.
///
/// ```
/// use autograd::rand::SeedableRng;
/// let mut rng = autograd::rand::rngs::StdRng::seed_from_u64(1);
/// let _ = autograd::nn::Linear::<f64>::new(3, 1, &mut rng);
/// ```
pub use autograd_nn::rand;

/// The code blocks of README.md, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The book's chapters: every Rust block in them runs as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../docs/01-xor-by-hand.md")]
pub struct BookChapter1;

/// See [`BookChapter1`].
#[cfg(doctest)]
#[doc = include_str!("../docs/02-xor-on-the-tape.md")]
pub struct BookChapter2;

/// See [`BookChapter1`].
#[cfg(doctest)]
#[doc = include_str!("../docs/03-why-reverse-mode.md")]
pub struct BookChapter3;

/// See [`BookChapter1`].
#[cfg(doctest)]
#[doc = include_str!("../docs/04-tensors.md")]
pub struct BookChapter4;

/// See [`BookChapter1`].
#[cfg(doctest)]
#[doc = include_str!("../docs/05-training-real-models.md")]
pub struct BookChapter5;

/// See [`BookChapter1`].
#[cfg(doctest)]
#[doc = include_str!("../docs/06-your-own-model.md")]
pub struct BookChapter6;

/// See [`BookChapter1`].
#[cfg(doctest)]
#[doc = include_str!("../docs/07-beyond-first-order.md")]
pub struct BookChapter7;

/// See [`BookChapter1`].
#[cfg(doctest)]
#[doc = include_str!("../docs/08-pitfalls.md")]
pub struct BookChapter8;

/// See [`BookChapter1`].
#[cfg(doctest)]
#[doc = include_str!("../docs/09-making-the-tape-fast.md")]
pub struct BookChapter9;

/// See [`BookChapter1`].
#[cfg(doctest)]
#[doc = include_str!("../docs/10-exercises.md")]
pub struct BookChapter10;
