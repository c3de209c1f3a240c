//! Where a T3 iteration's time goes: recording, the reverse sweep, `clear`.
//!
//! T3 (docs/workloads.md): a 16-element leaf, `y = y + 0.001 tanh(y)` 1000 times,
//! `sum`, backward: 3001 recorded ops. This runs 40 batches of 100 iterations
//! and prints, for each phase, the fastest batch's mean (the minimum is the
//! figure least disturbed by a shared machine; criterion's `T3/iter` reports
//! the mean of all samples, a few percent higher).
//!
//! Run: `cargo run --release --example t3_phases`
//! (docs/performance.md quotes it built with `--profile bench`.)

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use std::hint::black_box;
use std::time::{Duration, Instant};

use autograd::{Tensor, TensorTape};

fn main() {
    cli::parse(
        "t3_phases",
        "where a T3 iteration's time goes: recording, the reverse sweep, clear",
        &[],
    );
    let x = Tensor::from_vec(
        (0..16).map(|j| -1.0 + 2.0 * j as f32 / 15.0).collect(),
        &[16],
    );
    let mut tape = TensorTape::<f32>::new();
    let per_iter = |d: Duration| d.as_secs_f64() * 1e6 / 100.0;
    let (mut total, mut record, mut sweep, mut clear) =
        (f64::INFINITY, f64::INFINITY, f64::INFINITY, f64::INFINITY);
    for _ in 0..40 {
        let (mut r, mut s, mut c) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let batch = Instant::now();
        for _ in 0..100 {
            let t0 = Instant::now();
            let out = {
                let xv = tape.leaf(black_box(&x).clone());
                let mut y = xv;
                for _ in 0..1000 {
                    y = y + y.tanh() * 0.001;
                }
                let loss = y.sum();
                let t1 = Instant::now();
                r += t1 - t0;
                let mut g = loss.backward();
                let out = (loss.item(), g.take(xv).expect("x is a leaf"));
                s += t1.elapsed();
                out
            };
            let t2 = Instant::now();
            tape.clear();
            c += t2.elapsed();
            black_box(out);
        }
        total = total.min(per_iter(batch.elapsed()));
        record = record.min(per_iter(r));
        sweep = sweep.min(per_iter(s));
        clear = clear.min(per_iter(c));
    }
    let ns = |us: f64| us * 1000.0 / 3001.0;
    println!("T3, fastest batch of 100 iterations (40 batches), per iteration:");
    println!(
        "  total     {total:7.1} µs  {:5.1} ns per recorded op",
        ns(total)
    );
    println!("  recording {record:7.1} µs  {:5.1} ns per op", ns(record));
    println!("  sweep     {sweep:7.1} µs  {:5.1} ns per op", ns(sweep));
    println!("  clear     {clear:7.1} µs  {:5.1} ns per op", ns(clear));
}
