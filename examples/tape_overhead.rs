//! What the tape costs and where: the seed's XOR training step three ways
//! (the article's hand-written gradient formulas in plain Rust, the scalar
//! tape, the tensor tape), with each tape's statistics; then the T1 digits
//! step's statistics and flat profile.
//!
//! Timings here are medians of repeated runs in one process, for a quick
//! look; the benchmark figures are in docs/performance.md.
//!
//! Run: `cargo run --release --example tape_overhead`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

#[path = "seed_xor.rs"]
#[allow(dead_code)]
mod seed;

#[path = "../benches/common/digits.rs"]
mod digits;

use std::hint::black_box;
use std::time::Instant;

use autograd::nn::{Forward, Reduction, Sgd, mse_loss};
use autograd::{Tape, Tensor, TensorTape};
use rand::SeedableRng;

/// Median nanoseconds of `f` over `reps` runs (after as many warm-up runs).
fn median_ns(reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..reps {
        f();
    }
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_nanos() as f64
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// One step of the article's program with its hand-written derivatives:
/// returns the two weight gradients (of 0.5 * sum (y - out)^2).
fn hand_written(w1: &[[f64; 2]; 2], w2: &[f64; 2]) -> ([[f64; 2]; 2], [f64; 2]) {
    let (mut g1, mut g2) = ([[0.0; 2]; 2], [0.0; 2]);
    for (x, y) in seed::X.iter().zip(seed::Y) {
        let h = [0, 1].map(|j| sigmoid(x[0] * w1[0][j] + x[1] * w1[1][j]));
        let out = sigmoid(h[0] * w2[0] + h[1] * w2[1]);
        let d_out = (out - y) * out * (1.0 - out);
        for j in 0..2 {
            g2[j] += h[j] * d_out;
            let d_hidden = d_out * w2[j] * h[j] * (1.0 - h[j]);
            g1[0][j] += x[0] * d_hidden;
            g1[1][j] += x[1] * d_hidden;
        }
    }
    (g1, g2)
}

fn main() {
    cli::parse(
        "tape_overhead",
        "what the tape costs: the article's XOR training step three ways",
        &[],
    );
    let (w1, w2) = (seed::W1, seed::W2);

    println!("== the seed's XOR step: forward + gradient of both weight matrices ==\n");
    let t_hand = median_ns(20_000, || {
        black_box(hand_written(black_box(&w1), black_box(&w2)));
    });

    let mut tape = Tape::new();
    let t_scalar = median_ns(20_000, || {
        let g = {
            let w1v = w1.map(|r| r.map(|w| tape.var(w)));
            let w2v = w2.map(|w| tape.var(w));
            let f = seed::forward(&w1v, &w2v);
            let g = f.loss.backward();
            (w1v.map(|r| r.map(|v| g[v])), w2v.map(|v| g[v]))
        };
        black_box(g);
        tape.clear();
    });
    // Record once on a traced tape, then replay: no recording, no
    // allocation. (The same weights every time, so no sigmoid changes its
    // branch; a training loop re-records when `replay` says so.)
    let traced = Tape::traced();
    let w1v = w1.map(|r| r.map(|w| traced.var(w)));
    let w2v = w2.map(|w| traced.var(w));
    let loss = seed::forward(&w1v, &w2v).loss;
    let inputs: Vec<_> = w1v
        .iter()
        .flatten()
        .zip(w1.iter().flatten())
        .chain(w2v.iter().zip(&w2))
        .map(|(&v, &w)| (v, w))
        .collect();
    let mut grads = autograd::Gradients::new();
    let t_replay = median_ns(20_000, || {
        traced.replay(black_box(&inputs)).expect("same branches");
        traced.gradient_into(loss, &mut grads);
        black_box((w1v.map(|r| r.map(|v| grads[v])), w2v.map(|v| grads[v])));
    });
    let scalar_stats = traced.stats();

    let x = Tensor::from_vec(seed::X.concat(), &[4, 2]);
    let y = Tensor::from_vec(seed::Y.to_vec(), &[4, 1]);
    let w1t = Tensor::from_vec(vec![w1[0][0], w1[0][1], w1[1][0], w1[1][1]], &[2, 2]);
    let w2t = Tensor::from_vec(w2.to_vec(), &[2, 1]);
    let mut ttape = TensorTape::<f64>::new();
    let xor_step = |t: &TensorTape<f64>| {
        let (a, b) = (t.leaf(w1t.clone()), t.leaf(w2t.clone()));
        let out = t
            .constant(x.clone())
            .matmul(a)
            .sigmoid()
            .matmul(b)
            .sigmoid();
        let loss = mse_loss(out, t.constant(y.clone()), Reduction::Sum).scale(0.5);
        let g = loss.backward();
        (g.wrt(a), g.wrt(b))
    };
    let t_tensor = median_ns(20_000, || {
        black_box(xor_step(&ttape));
        ttape.clear();
    });
    ttape.set_profiling(true);
    for _ in 0..1000 {
        let _ = xor_step(&ttape);
        ttape.clear();
    }
    ttape.set_profiling(false);
    let tensor_profile = ttape.profile();
    let _ = xor_step(&ttape);
    let tensor_stats = ttape.stats();
    ttape.clear();

    println!("                              ns per step   x hand-written");
    println!("hand-written formulas        {t_hand:>11.0}   {:>8.1}", 1.0);
    println!(
        "scalar tape                  {t_scalar:>11.0}   {:>8.1}",
        t_scalar / t_hand
    );
    println!(
        "scalar tape, replayed        {t_replay:>11.0}   {:>8.1}",
        t_replay / t_hand
    );
    println!(
        "tensor tape (f64, 2x2 mats)  {t_tensor:>11.0}   {:>8.1}",
        t_tensor / t_hand
    );
    println!(
        "\nscalar tape (traced, as replay needs; untraced keeps only the records): {scalar_stats}"
    );
    println!("tensor tape: {tensor_stats}");
    let scalar_profile = traced.profile().expect("traced, no custom primitives");
    let in_ops: f64 = scalar_profile
        .rows
        .iter()
        .map(|r| r.total().as_secs_f64() * 1e9)
        .sum();
    println!(
        "\nscalar tape, where one step's recorded work goes (each kind re-run in 200 µs batches, \
         since one op takes less than a clock read; per step):\n{scalar_profile}\
         values, partials and sweep steps by kind: {in_ops:.0} ns; a recorded step took \
         {t_scalar:.0} ns above, the difference being the rest of recording (appending nodes, \
         checks) and of the sweep (its setup, the gradient buffer)\n"
    );
    println!("tensor tape, profiled while running 1000 steps (in total):\n{tensor_profile}");

    println!("== T1: one training step of the 64-128-128-10 MLP, batch 32 ==\n");
    let data = digits::load();
    let mut model = digits::model(0);
    let mut opt = Sgd::new(0.05);
    let mut tape = TensorTape::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let batches = autograd::nn::batches(1500, 32, Some(&mut rng));
    let xb = data.train_x.index_select(0, &batches[0]);
    let yb = data.train_y.index_select(0, &batches[0]);
    let t_off = median_ns(500, || {
        digits::step(&mut model, &mut opt, &mut tape, &xb, &yb);
    });
    tape.set_profiling(true);
    let t_on = median_ns(500, || {
        digits::step(&mut model, &mut opt, &mut tape, &xb, &yb);
    });
    let profile = tape.profile();
    tape.set_profiling(false);
    let stats = {
        let logits = model.forward(tape.constant(xb.clone()));
        let _ = autograd::nn::cross_entropy(logits, &yb, 0.0, Reduction::Mean);
        let s = tape.stats();
        tape.clear();
        s
    };
    println!(
        "step: {:.1} µs ({:.0} steps/s); with the profiler on: {:.1} µs",
        t_off / 1e3,
        1e9 / t_off,
        t_on / 1e3
    );
    println!("forward pass on the tape: {stats}");
    // median_ns ran 500 warm-up and 500 timed steps with the profiler on.
    println!("flat profile over 1000 steps (profiler on):\n{profile}");
}
