//! Memory of a deep MLP's training step with and without gradient
//! checkpointing, measured with an allocator that tracks the peak of live
//! bytes; the gradients of both are compared bit for bit.
//!
//! Run: `cargo run --release --example checkpointing`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use autograd::tensor::checkpoint;
use autograd::{Tensor, TensorTape, TensorVar};
use rand::SeedableRng;

struct Peak;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards unchanged to the system allocator; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Peak = Peak;

const DEPTH: usize = 48;
const WIDTH: usize = 256;
const BATCH: usize = 64;

fn block<'s>(v: &[TensorVar<'s, f32>]) -> TensorVar<'s, f32> {
    v[0].matmul_transposed(v[1]).tanh().scale(0.9).add(v[0])
}

/// One forward + backward; returns (peak bytes above the start, tape bytes
/// after the forward pass, gradients, milliseconds).
fn step(
    x: &Tensor<f32>,
    ws: &[Tensor<f32>],
    segments: bool,
) -> (usize, usize, Vec<Tensor<f32>>, f64) {
    let start = LIVE.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let t = Instant::now();
    let tape = TensorTape::new();
    let wv: Vec<_> = ws.iter().map(|w| tape.leaf(w.clone())).collect();
    let mut h = tape.constant(x.clone());
    for &w in &wv {
        h = if segments {
            checkpoint(block, &[h, w])
        } else {
            block(&[h, w])
        };
    }
    let loss = h.square().mean();
    let held = tape.value_bytes();
    let grads = tape.grad(loss, &wv);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    (PEAK.load(Ordering::Relaxed) - start, held, grads, ms)
}

fn main() {
    cli::parse(
        "checkpointing",
        "memory of a deep MLP's training step with and without gradient checkpointing",
        &[],
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let x = Tensor::<f32>::rand_uniform(&[BATCH, WIDTH], -1.0, 1.0, &mut rng);
    let ws: Vec<Tensor<f32>> = (0..DEPTH)
        .map(|_| Tensor::rand_uniform(&[WIDTH, WIDTH], -0.06, 0.06, &mut rng))
        .collect();
    let weight_mb = (DEPTH * WIDTH * WIDTH * 4) as f64 / 1e6;
    println!(
        "MLP of {DEPTH} residual blocks h + 0.9 tanh(h W^T), width {WIDTH}, batch {BATCH}, f32"
    );
    println!("weights: {weight_mb:.1} MB (held by both runs)\n");
    let _ = step(&x, &ws, false); // warm-up (thread pools, first-touch)
    let (peak_p, held_p, g_p, ms_p) = step(&x, &ws, false);
    let (peak_c, held_c, g_c, ms_c) = step(&x, &ws, true);
    let mb = |b: usize| b as f64 / 1e6;
    println!("                       plain    checkpointed");
    println!(
        "values on the tape  {:7.1} MB  {:7.1} MB",
        mb(held_p),
        mb(held_c)
    );
    println!(
        "peak extra memory   {:7.1} MB  {:7.1} MB",
        mb(peak_p),
        mb(peak_c)
    );
    println!("time for the step   {ms_p:7.1} ms  {ms_c:7.1} ms");
    let same = g_p.iter().zip(&g_c).all(|(a, b)| a == b);
    println!("\ngradients bit-identical: {same}");
}
