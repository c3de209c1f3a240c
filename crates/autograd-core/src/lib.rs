//! # autograd-core
//!
//! Tape-based reverse-mode automatic differentiation. Operations are recorded
//! on a [`Tape`] as they run; each primitive stores its local partial
//! derivatives; one reverse sweep over the tape then gives the gradient of an
//! output with respect to every input. Nothing built from primitives needs a
//! derivative formula of its own.
//!
//! ```
//! use autograd_core::Tape;
//!
//! let tape = Tape::new();
//! let w = tape.var(0.3);
//! let x = 2.0;
//! let loss = (w * x).sigmoid().ln() * -1.0;
//! let g = loss.backward();
//! // d/dw [-ln sigmoid(w x)] = -(1 - sigmoid(w x)) x
//! let s = 1.0 / (1.0 + (-0.6_f64).exp());
//! assert!((g[w] + (1.0 - s) * x).abs() < 1e-15);
//! ```

#![warn(missing_docs)]

pub mod forward;
mod generic;
pub mod gradcheck;
mod html;
mod malloc;
mod parallel;
mod real;
mod replay;
pub mod scalar;
pub mod simd;
mod team;
pub mod tensor;

pub use generic::{Scalar, derivative, scalar_gradient, scalar_hessian};
pub use gradcheck::{GradCheck, GradCheckError, GradCheckReport, gradcheck};
pub use parallel::{for_each_part, num_threads, set_num_threads};
pub use real::Real;

/// The `rand` crate (0.9) whose generators the constructors here and in
/// autograd-nn take. `cargo add rand` may pick a newer major version whose
/// `Rng` is a different trait, and then `Tensor::randn(&shape, &mut rng)`
/// fails with "the trait bound `StdRng: rand::rng::Rng` is not satisfied";
/// `autograd::rand` (or `autograd_core::rand`) is always the matching one.
///
/// ```
/// use autograd_core::rand::{rngs::StdRng, SeedableRng};
/// let mut rng = StdRng::seed_from_u64(0);
/// let t = autograd_core::Tensor::<f32>::randn(&[2, 3], &mut rng);
/// assert_eq!(t.shape(), &[2, 3]);
/// ```
pub use rand;
pub use replay::ReplayError;
pub use scalar::{GradientError, Gradients, Local, Tape, Var};
pub use tensor::{
    Algebra, CrossEntropy, CustomOp, Element, Parameter, Pointwise, Reduction, Shape, Tensor,
    TensorGradCheckError, TensorGradients, TensorTape, TensorVar, Window2d, tensor_gradcheck,
    tensor_gradcheck_with,
};
