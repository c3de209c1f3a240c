//! Tensors and the tensor tape.
//!
//! [`Tensor`] is a plain n-d value with arithmetic that needs no tape.
//! [`TensorTape`] records operations on [`TensorVar`] handles; one reverse
//! sweep gives gradients. Each primitive's forward code, its recording and
//! its vector-Jacobian product sit side by side in one file per family
//! (elementwise, reductions, shape, matrix products, indexing, convolution);
//! VJPs are
//! written in [`Algebra`] operations so that the backward pass can itself be
//! recorded ([`TensorTape::grad_graph`]).
//!
//! ```
//! use autograd_core::{Tensor, TensorTape};
//!
//! let tape = TensorTape::new();
//! let w = tape.leaf(Tensor::from_vec(vec![0.5_f64, -0.5], &[2, 1]));
//! let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]));
//! let y = tape.constant(Tensor::from_vec(vec![1.0, 0.0], &[2, 1]));
//! let loss = (x.matmul(w) - y).square().mean();
//! let g = loss.backward();
//! assert_eq!(g[w].shape(), &[2, 1]);
//! ```

mod algebra;
mod check;
mod checkpoint;
mod conv;
mod create;
mod custom;
mod display;
pub(crate) mod elementwise;
mod fold;
mod functional;
mod gradients;
mod index;
mod linalg;
mod operators;
mod param;
mod pointwise;
mod pool;
mod prim;

mod reduce;
mod replay;
pub(crate) mod shape;
mod shape_ops;
mod softmax;
mod spare;
mod statement;
mod sweep;
mod tape;
mod tools;
mod value;
mod var;
mod view;

pub use algebra::Algebra;
pub use check::{TensorGradCheckError, tensor_gradcheck, tensor_gradcheck_with};
pub use checkpoint::{SegmentFn, checkpoint};
pub use conv::{Geometry, Window2d};
pub use custom::{CustomOp, DynCustomOp};
pub use display::Element;
pub use functional::{TensorFn, hessian, hvp, jacobian, tensor_fn, value_and_grad};
pub use param::Parameter;
pub use pointwise::Pointwise;
pub use prim::general::cross_entropy::{CrossEntropy, Reduction};
pub use prim::unary::gelu::Gelu;
pub use replay::ReplayError;
pub use shape::Shape;
pub use tape::TensorTape;
pub use tools::{Anomaly, Phase, Profile, ProfileRow, Summary, TapeStats};
pub use value::Tensor;
pub use var::{TensorGradients, TensorVar};

/// The stable logistic function on one number (shared with forward mode).
pub(crate) use pointwise::sigmoid_scalar;
