//! # autograd-dist
//!
//! Data-parallel training over MPI: every process (rank) holds the whole
//! model, trains on its own share of each batch, and the ranks average their
//! gradients with an allreduce before each optimizer step, so their
//! parameters stay bit-identical: PyTorch's `DistributedDataParallel`, on
//! the system's MPI library (the `mpi` feature, off by default).
//!
//! Without the feature this crate has what needs no MPI: the
//! [`DistributedSampler`] (which rows each rank takes), the
//! [`BucketPlan`] (how gradients are grouped for the exchange) and
//! [`describe`] (the model description ranks compare at start). With it:
//! `World` (the ranks, from `mpirun`) and `Ddp` (the trainer's side).
//!
//! A training step with the `mpi` feature:
//!
//! ```text
//! let world = World::init()?;                      // under mpirun -np N
//! let mut ddp = Ddp::new(&world, &mut model)?;     // same model everywhere, rank 0's weights
//! ddp.sync_optimizer(&mut opt)?;                   // and rank 0's optimizer state
//! let sampler = DistributedSampler::new(rows, world.rank(), world.size(), seed)?;
//! for batch in sampler.batches(32) {
//!     let tape = TensorTape::new();
//!     let loss = loss_of(&model, &tape, &batch);
//!     let grads = ddp.backward(&model, loss);      // averaged over all ranks
//!     opt.step(&mut model, &grads);
//! }
//! ```
//!
//! `examples/ddp_digits.rs` is that loop in full, and docs/distributed.md
//! says how to run it on several machines and what scales.

mod error;
mod plan;
mod sampler;

#[cfg(feature = "mpi")]
mod ddp;
#[cfg(feature = "mpi")]
mod world;

pub use error::DistError;
pub use plan::{BucketPlan, describe, first_difference};
pub use sampler::DistributedSampler;

#[cfg(feature = "mpi")]
pub use ddp::{Ddp, DdpStats};
#[cfg(feature = "mpi")]
pub use world::World;
