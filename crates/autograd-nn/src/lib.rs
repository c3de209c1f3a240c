//! # autograd-nn
//!
//! Layers, losses, initialisation, optimizers and data loading built on
//! `autograd-core`. None of them contains derivative code: every forward
//! pass is recorded from tensor primitives, and the tape differentiates it.
//!
//! A training step: record a forward pass on a fresh (or cleared) tape,
//! sweep, collect the parameters' gradients, update.
//!
//! ```
//! use autograd_core::{Tensor, TensorTape};
//! use autograd_nn::{cross_entropy, mlp, Activation, Forward, Module, Optimizer, Reduction, Sgd};
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let mut model = mlp::<f32, _>(&[2, 8, 2], Activation::Tanh, &mut rng);
//! let mut opt = Sgd::new(0.5);
//! let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]);
//! let y = Tensor::from_vec(vec![0_usize, 1, 1, 0], &[4]);
//! let mut tape = TensorTape::new();
//! let mut first = None;
//! for _ in 0..200 {
//!     let grads = {
//!         let logits = model.forward(tape.constant(x.clone()));
//!         let loss = cross_entropy(logits, &y, 0.0, Reduction::Mean);
//!         first.get_or_insert(loss.item());
//!         model.gradients(&loss.backward())
//!     };
//!     tape.clear();
//!     opt.step(&mut model, &grads);
//! }
//! let logits = model.forward(tape.constant(x.clone())).value();
//! assert_eq!(logits.argmax(1, false).to_vec(), vec![0, 1, 1, 0]); // XOR learned
//! ```

#![warn(missing_docs)]

pub use autograd_core as core;
/// The `rand` crate (0.9) whose `Rng` the constructors and initialisers
/// take: `use autograd_nn::rand::SeedableRng;` gives a generator of the
/// matching version whatever `rand` a project itself depends on.
///
/// ```
/// use autograd_nn::rand::{rngs::StdRng, SeedableRng};
/// let mut rng = StdRng::seed_from_u64(0);
/// let _ = autograd_nn::Linear::<f32>::new(2, 2, &mut rng);
/// ```
pub use rand;

mod conv_rnn_attn;
mod data;
pub mod init;
mod layers;
mod loss;
mod module;
mod norm_rnn;
mod optim;
mod optim_state;
mod schedule;
mod weights;

/// `#[derive(Module)]`: see [the autograd-derive crate](autograd_derive).
pub use autograd_derive::Module;
pub use conv_rnn_attn::{AvgPool2d, Conv2d, Lstm, LstmCell, MaxPool2d, MultiHeadAttention};
pub use data::{CsvError, Table, batches, train_test_split};
pub use layers::{
    Activation, Dropout, Embedding, Flatten, Gelu, LayerNorm, Linear, Relu, Sigmoid, Tanh,
    TokenIds, mlp,
};
pub use loss::{
    CrossEntropy, Reduction, accuracy, binary_cross_entropy_with_logits, cross_entropy, huber_loss,
    l1_loss, mse_loss, nll_loss,
};
pub use module::{
    BufferField, Forward, Layer, LoadError, Module, ParamGrads, Sequential, join, named_scope,
};
pub use norm_rnn::{BatchNorm, BatchNorm1d, BatchNorm2d, Conv1d, GroupNorm, Gru, GruCell};

// The derive names `::autograd_nn::...`; this lets it do so inside this
// crate too.
extern crate self as autograd_nn;
pub use optim::{Adam, AdamW, GradSource, Optimizer, RmsProp, Sgd};
pub use optim_state::OptimizerState;
pub use schedule::{
    CosineLr, ExponentialLr, LrSchedule, StepLr, Warmup, clip_grad_norm, clip_grad_value,
};
pub use weights::{
    WeightsError, from_safetensors_bytes, load_safetensors, save_safetensors, to_safetensors_bytes,
};
