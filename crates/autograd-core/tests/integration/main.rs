//! autograd-core's integration tests, one module per file, in one binary:
//! linking a test binary costs seconds, and a binary per file was most of
//! `cargo test`'s time on a fresh clone. `tests/tensor_memory.rs` stays a
//! binary of its own: it measures the process's peak memory, which other
//! tests running beside it would disturb.

mod common;

// Counts allocations per thread (the replay and steady-state tests assert
// on them); other threads' tests do not show in a test's count.
#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

mod checkpointing;
mod custom_ops;
mod deep_chain;
mod errors;
mod forward_mode;
mod generic_scalar;
mod primitives;
mod properties;
mod replay;
mod scalar_replay;
mod simd_levels;
mod statement;
mod steady_state;
mod tape_tools;
mod tensor_errors;
mod tensor_gradcheck;
mod tensor_higher_order;
mod tensor_primitives;
mod tensor_statement;
mod trace;
