//! Tensor workloads T2 and T3 of docs/workloads.md.
//!
//! `T3/iter`: 1000 x (tanh, scale, add) on a 16-element tensor plus sum and
//! backward (3001 recorded ops); `T3/replay`: the same from one recording,
//! replayed (values recomputed, no re-recording) and swept; `T3/statements`:
//! each step recorded as one elementwise statement (`TensorTape::statement`).
//! `T2/step`: one SGD step of the 784-1024-1024-10 MLP at batch 256. `T2/matmul`: the eight `gemm` calls
//! of that step (3 forward, 5 backward) on the same shapes and strides, with
//! nothing else: the ceiling `T2/step` can approach. `threads/empty_region`:
//! a parallel region with nothing to do on 2 threads (`for_each_part` over two
//! parts), back to back: what handing work to a helper costs;
//! `threads/region_after_gap`: the same region timed alone after 300 us of
//! work on the calling thread (a T4 step's regions are ~400 us apart).
//!
//! Run: `cargo bench --bench tensor`

use std::hint::black_box;

use autograd::TensorTape;
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/tensor_workloads.rs"]
mod workloads;
use workloads::*;

fn t3(c: &mut Criterion) {
    let mut g = c.benchmark_group("T3");
    let x = t3_input();
    let mut tape = TensorTape::new();
    g.bench_function("iter", |b| {
        b.iter(|| black_box(t3_iter(&mut tape, black_box(&x))))
    });
    // The same chain with each step one elementwise statement (one node
    // instead of three; not the workload's three recorded ops).
    let mut stape = TensorTape::new();
    g.bench_function("statements", |b| {
        b.iter(|| {
            let out = {
                let x = stape.leaf(black_box(&x).clone());
                let mut y = x;
                for _ in 0..1000 {
                    y = stape.statement([y], |[y]| y + y.tanh() * 0.001);
                }
                let mut g = y.sum().backward();
                g.take(x)
            };
            stape.clear();
            out
        })
    });
    // Record once, then replay the recorded tape for the input and sweep.
    let tape = TensorTape::new();
    let leaf = tape.leaf(x.clone());
    let mut y = leaf;
    for _ in 0..1000 {
        y = y + y.tanh() * 0.001;
    }
    let loss = y.sum();
    g.bench_function("replay", |b| {
        b.iter(|| {
            tape.replay(&[(leaf, black_box(&x).clone())])
                .expect("no branches");
            let mut grads = loss.backward();
            black_box(grads.take(leaf))
        })
    });
    g.finish();
}

/// The products of one T2 step as (m, k, n, transpose a, transpose b),
/// C[m, n] = op(A) op(B): forward x W^T, backward dW = G^T X, dX = G W.
const T2_PRODUCTS: [(usize, usize, usize, bool, bool); 8] = [
    (256, 784, 1024, false, true),
    (256, 1024, 1024, false, true),
    (256, 1024, 10, false, true),
    (10, 256, 1024, true, false),
    (256, 10, 1024, false, false),
    (1024, 256, 1024, true, false),
    (256, 1024, 1024, false, false),
    (1024, 256, 784, true, false),
];

fn raw_products(bufs: &mut [(Vec<f32>, Vec<f32>, Vec<f32>)]) {
    for (&(m, k, n, ta, tb), (a, b, c)) in T2_PRODUCTS.iter().zip(bufs.iter_mut()) {
        let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
        let (b_rs, b_cs) = if tb { (1, k) } else { (n, 1) };
        assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
        // SAFETY: the buffers have exactly m*k, k*n and m*n elements (asserted),
        // and the strides address op(A) (m x k), op(B) (k x n) and C (m x n)
        // inside them, as in autograd-core's `gemm_into`. C is a distinct
        // `&mut` buffer, so it aliases neither input.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                a_cs as isize,
                a_rs as isize,
                b.as_ptr(),
                b_cs as isize,
                b_rs as isize,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                // gemm's own threading over rayon's pool, with as many
                // threads as the engine uses: the kernel alone, as a
                // reference for the step.
                gemm::Parallelism::Rayon(autograd::num_threads()),
            );
        }
    }
}

fn t2(c: &mut Criterion) {
    let mut g = c.benchmark_group("T2");
    g.sample_size(20);
    let (x, y) = t2_batch(1);
    let mut mlp = Mlp::new(&[784, 1024, 1024, 10], 2);
    let mut tape = TensorTape::new();
    g.bench_function("step", |b| {
        b.iter(|| black_box(mlp.step(&mut tape, &x, &y, 0.01)))
    });
    let mut bufs: Vec<_> = T2_PRODUCTS
        .iter()
        .map(|&(m, k, n, _, _)| (vec![0.5f32; m * k], vec![0.25f32; k * n], vec![0f32; m * n]))
        .collect();
    g.bench_function("matmul", |b| b.iter(|| raw_products(black_box(&mut bufs))));
    g.finish();
    eprintln!(
        "T2: GFLOP/s = 6 * {T2_PARAMS} * 256 / seconds / 1e9 = {:.4} / (ms per step); {} threads (AUTOGRAD_NUM_THREADS)",
        6.0 * T2_PARAMS as f64 * 256.0 / 1e6,
        autograd::num_threads()
    );
}

/// GELU (tanh form) on a [256, 1024] activation, forward and backward:
/// nine tensor operations (`gelu/ops`) against one elementwise statement
/// (`gelu/statement`). Not a workload of docs/workloads.md: it shows where a
/// statement pays (large tensors: one pass over memory instead of nine).
fn gelu(c: &mut Criterion) {
    use autograd::Tensor;
    use rand::{SeedableRng, rngs::StdRng};
    let mut g = c.benchmark_group("gelu");
    g.sample_size(30);
    let x = Tensor::<f32>::rand_uniform(&[256, 1024], -3.0, 3.0, &mut StdRng::seed_from_u64(1));
    const K: f32 = 0.797_884_6; // sqrt(2 / pi)
    let mut tape = TensorTape::new();
    g.bench_function("ops", |b| {
        b.iter(|| {
            let out = {
                let v = tape.leaf(black_box(&x).clone());
                let inner = (v + v * v * v * 0.044715) * K;
                let y = v * (inner.tanh() + 1.0) * 0.5;
                let mut g = y.sum().backward();
                g.take(v)
            };
            tape.clear();
            out
        })
    });
    g.bench_function("statement", |b| {
        b.iter(|| {
            let out = {
                let v = tape.leaf(black_box(&x).clone());
                let y = tape.statement([v], |[v]| {
                    v * (((v + v * v * v * 0.044715) * K).tanh() + 1.0) * 0.5
                });
                let mut g = y.sum().backward();
                g.take(v)
            };
            tape.clear();
            out
        })
    });
    g.finish();
}

fn threads(c: &mut Criterion) {
    let before = autograd::num_threads();
    autograd::set_num_threads(2);
    let mut parts = [0u64; 2];
    c.bench_function("threads/empty_region", |b| {
        b.iter(|| autograd::for_each_part(parts.iter_mut(), |p| *p += 1))
    });
    c.bench_function("threads/region_after_gap", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let gap = std::time::Instant::now();
                while gap.elapsed().as_micros() < 300 {
                    std::hint::spin_loop();
                }
                let t = std::time::Instant::now();
                autograd::for_each_part(parts.iter_mut(), |p| *p += 1);
                total += t.elapsed();
            }
            total
        })
    });
    black_box(parts);
    autograd::set_num_threads(before);
}

criterion_group!(benches, t3, gelu, t2, threads);
criterion_main!(benches);
