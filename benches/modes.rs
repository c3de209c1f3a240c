//! Forward mode against reverse mode as the number of inputs grows, on
//! workload S2's function: the whole gradient of f: R^n -> R by dual numbers
//! (n forward passes) and by the tape (one recording and one sweep), and
//! the plain evaluation for scale. IDs: `modes/plain/n`, `modes/forward/n`,
//! `modes/reverse/n`.
//!
//! Run: `cargo bench --bench modes`

use std::hint::black_box;

use autograd::forward::{Dual, gradient};
use autograd::{Tape, Var};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

#[path = "common/scalar_workloads.rs"]
mod workloads;
use workloads::s2_generic as s2;

fn s2_tape<'t>(x: &[Var<'t>]) -> Var<'t> {
    s2(x)
}

fn modes(c: &mut Criterion) {
    let mut g = c.benchmark_group("modes");
    g.sample_size(20);
    for n in [1usize, 10, 100, 1000] {
        let x: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        g.bench_with_input(BenchmarkId::new("plain", n), &x, |b, x| {
            b.iter(|| s2::<f64>(black_box(x)))
        });
        g.bench_with_input(BenchmarkId::new("forward", n), &x, |b, x| {
            b.iter(|| gradient(|d: &[Dual<f64>]| s2(d), black_box(x)))
        });
        let mut tape = Tape::new();
        g.bench_with_input(BenchmarkId::new("reverse", n), &x, |b, x| {
            b.iter(|| {
                let out = {
                    let xs = tape.vars(black_box(x));
                    s2_tape(&xs).backward().wrt_all(&xs)
                };
                tape.clear();
                out
            })
        });
    }
    g.finish();
}

criterion_group!(benches, modes);
criterion_main!(benches);
