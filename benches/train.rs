//! Workload T1 of docs/workloads.md: one SGD step (batch 32, lr 0.05) of the
//! 64-128-128-10 ReLU MLP on the digits set (`T1/step`), and the same step
//! replayed from one recording (`T1/replay_step`). The bench prints, after 20
//! epochs of the T1 recipe, the test accuracy.
//!
//! Run: `cargo bench --bench train`

use std::hint::black_box;

use autograd::TensorTape;
use autograd::nn::{Module, Sgd};
use criterion::{Criterion, criterion_group, criterion_main};
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
    // 50 warm-up steps, as docs/workloads.md asks.
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
    // Record once, replay many: one recording of the step, then per step a
    // replay with the batch and the current parameters, a sweep and the SGD
    // update. Labels enter as one-hot data (an index tensor would be part of
    // the recording).
    let tape = TensorTape::new();
    let params: Vec<_> = model.state_dict().into_values().collect();
    let vars: Vec<_> = params.iter().map(|p| tape.leaf(p.clone())).collect();
    let xv = tape.constant(xs[0].clone());
    let onehot = |y: &autograd::Tensor<usize>| {
        autograd::Tensor::<f32>::one_hot(&y.reshape(&[y.numel()]), 10)
    };
    let yv = tape.constant(onehot(&ys[0]));
    let mut h = xv;
    for l in 0..3 {
        h = h.matmul_transposed(vars[2 * l]).add(vars[2 * l + 1]);
        if l < 2 {
            h = h.relu();
        }
    }
    let loss = h.log_softmax(-1).mul(yv).sum_axes(&[1], false).mean().neg();
    // Steady state without allocation on this side of gemm: the batches and
    // their one-hot labels are made once, `replay` copies them (and the
    // parameters) into the tape's buffers, `grad_into` reuses last step's
    // gradient buffers, and the update is in place.
    let onehots: Vec<_> = ys.iter().map(onehot).collect();
    let mut inputs = vec![(xv, xs[0].clone()), (yv, onehots[0].clone())];
    inputs.extend(vars.iter().zip(params).map(|(&v, p)| (v, p)));
    let mut grads = Vec::new();
    let mut k = 0;
    c.benchmark_group("T1").bench_function("replay_step", |b| {
        b.iter(|| {
            k = (k + 1) % xs.len();
            inputs[0].1 = xs[k].clone();
            inputs[1].1 = onehots[k].clone();
            tape.replay(&inputs).expect("no branches");
            tape.grad_into(loss, &vars, &mut grads);
            for ((_, p), d) in inputs[2..].iter_mut().zip(&grads) {
                for (w, &dw) in p.data_mut().iter_mut().zip(d.data()) {
                    *w -= 0.05 * dw;
                }
            }
            black_box(loss.item())
        })
    });
    let (_, _, accs) = digits::train(0, 20, |_, _, _| {});
    eprintln!(
        "T1: test accuracy after 20 epochs (plain SGD, seed 0): {:.4}; {} threads (AUTOGRAD_NUM_THREADS)",
        accs[19],
        autograd::num_threads()
    );
}

criterion_group!(benches, t1);
criterion_main!(benches);
