//! Forward mode against reverse mode, timed in one run: the whole gradient
//! of workload S2's function f: R^n -> R for n = 1, 10, 100, 1000, by dual
//! numbers (n forward passes) and by the tape (one recording, one sweep),
//! each as a multiple of one plain evaluation. Medians of repeated runs, a
//! quick version of `cargo bench --bench modes`; the book's chapter 3
//! quotes this table (`python3 tools/book.py --timings` refreshes it).
//!
//! Run: `cargo run --release --example modes_table`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use std::hint::black_box;
use std::time::Instant;

use autograd::Tape;
use autograd::forward::{Dual, gradient};

#[path = "../benches/common/scalar_workloads.rs"]
mod workloads;
use workloads::s2_generic as s2;

/// Median nanoseconds per call of `f`, over 31 timed batches.
fn median_ns(mut f: impl FnMut()) -> f64 {
    // Batches of about a millisecond, so the timer's resolution does not show.
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed().as_micros() < 1000 {
        f();
        calls += 1;
    }
    let mut t: Vec<f64> = (0..31)
        .map(|_| {
            let s = Instant::now();
            for _ in 0..calls {
                f();
            }
            s.elapsed().as_nanos() as f64 / calls as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[15]
}

fn main() {
    cli::parse(
        "modes_table",
        "forward mode against reverse mode on workload S2, timed in one run",
        &[],
    );
    println!(
        "| inputs n | plain | forward mode (n passes) | reverse mode (1 sweep) | forward / plain | reverse / plain |"
    );
    println!("|---|---|---|---|---|---|");
    let mut tape = Tape::new();
    for n in [1usize, 10, 100, 1000] {
        let x: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let plain = median_ns(|| {
            black_box(s2::<f64>(black_box(&x)));
        });
        let forward = median_ns(|| {
            black_box(gradient(|d: &[Dual<f64>]| s2(d), black_box(&x)));
        });
        let reverse = median_ns(|| {
            let g = {
                let xs = tape.vars(black_box(&x));
                s2(&xs).backward().wrt_all(&xs)
            };
            black_box(g);
            tape.clear();
        });
        let fmt = |ns: f64| {
            if ns < 1e3 {
                format!("{ns:.0} ns")
            } else if ns < 1e6 {
                format!("{:.1} µs", ns / 1e3)
            } else {
                format!("{:.1} ms", ns / 1e6)
            }
        };
        println!(
            "| {n} | {} | {} | {} | {:.1} | {:.1} |",
            fmt(plain),
            fmt(forward),
            fmt(reverse),
            forward / plain,
            reverse / plain
        );
    }
}
