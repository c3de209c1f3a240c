//! autograd-nn's integration tests, one module per file, in one binary
//! (one link instead of one per file).

mod derive;
mod layers_gradcheck;
mod optimizers;
mod torch_fixtures;
mod weights;
