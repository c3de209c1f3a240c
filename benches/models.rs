//! Workloads T4 (a tiny GPT) and T5 (a digits CNN) of docs/workloads.md: one
//! training step each (`T4/step`, `T5/step`), on as many threads as the
//! engine uses (`AUTOGRAD_NUM_THREADS`, all cores by default).
//! PyTorch's figures for the same models come from tools/models_torch.py.
//!
//! Run: `cargo bench --bench models` (or `AUTOGRAD_NUM_THREADS=1 cargo bench --bench models`)

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/models.rs"]
mod models;

fn t4(c: &mut Criterion) {
    let mut w = models::T4::new(0);
    for _ in 0..5 {
        w.step();
    }
    eprintln!(
        "T4: {} parameters, {} threads",
        autograd::nn::Module::num_parameters(&w.model),
        autograd::num_threads()
    );
    c.benchmark_group("T4")
        .sample_size(20)
        .bench_function("step", |b| b.iter(|| black_box(w.step())));
}

fn t5(c: &mut Criterion) {
    let mut w = models::T5::new(0);
    for _ in 0..20 {
        w.step();
    }
    eprintln!(
        "T5: {} parameters, {} threads",
        autograd::nn::Module::num_parameters(&w.model),
        autograd::num_threads()
    );
    c.benchmark_group("T5")
        .bench_function("step", |b| b.iter(|| black_box(w.step())));
}

criterion_group!(benches, t4, t5);
criterion_main!(benches);
