//! Workload T1 of WORKLOADS.md: one SGD step (batch 32, lr 0.05) of the
//! 64-128-128-10 ReLU MLP on the digits set. The bench prints steps per
//! second and, after 20 epochs of the T1 recipe, the test accuracy.
//!
//! Run: `cargo bench --bench train`

use std::hint::black_box;

use autograd::nn::Sgd;
use autograd::TensorTape;
use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;

#[path = "common/digits.rs"]
mod digits;

fn t1(c: &mut Criterion) {
    let data = digits::load();
    let mut model = digits::model(0);
    let mut opt = Sgd::new(0.05);
    let mut tape = TensorTape::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let batches = autograd::nn::batches(1500, 32, Some(&mut rng));
    let full: Vec<_> = batches.iter().filter(|b| b.len() == 32).collect();
    let xs: Vec<_> = full
        .iter()
        .map(|b| data.train_x.index_select(0, b))
        .collect();
    let ys: Vec<_> = full
        .iter()
        .map(|b| data.train_y.index_select(0, b))
        .collect();
    // 50 warm-up steps, as WORKLOADS.md asks.
    for k in 0..50 {
        digits::step(
            &mut model,
            &mut opt,
            &mut tape,
            &xs[k % xs.len()],
            &ys[k % ys.len()],
        );
    }
    let mut k = 0;
    c.benchmark_group("T1").bench_function("step", |b| {
        b.iter(|| {
            k = (k + 1) % xs.len();
            black_box(digits::step(
                &mut model, &mut opt, &mut tape, &xs[k], &ys[k],
            ))
        })
    });
    let (_, _, accs) = digits::train(0, 20, |_, _, _| {});
    eprintln!(
        "T1: test accuracy after 20 epochs (plain SGD, seed 0): {:.4}; {} rayon threads available to gemm",
        accs[19],
        rayon::current_num_threads()
    );
}

criterion_group!(benches, t1);
criterion_main!(benches);
