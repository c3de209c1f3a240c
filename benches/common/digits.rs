//! Workload T1 of docs/workloads.md (the digits MLP), shared by
//! examples/digits.rs, benches/train.rs and tests/integration/digits.rs.
#![allow(dead_code)]

use autograd::nn::{
    Activation, Forward, Module, Optimizer, Reduction, Sequential, Sgd, Table, cross_entropy, mlp,
};
use autograd::{Tensor, TensorTape};
use rand::SeedableRng;

/// The digits set, features scaled to [0, 1]: the first 1500 rows to train
/// on, the last 297 to test.
pub struct Digits {
    pub train_x: Tensor<f32>,
    pub train_y: Tensor<usize>,
    pub test_x: Tensor<f32>,
    pub test_y: Tensor<usize>,
}

pub const DIGITS_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv");

pub fn load() -> Digits {
    let table = Table::read(DIGITS_CSV).expect("data/digits.csv");
    assert_eq!(table.rows.len(), 1797, "digits.csv has 1797 rows");
    let pixels: Vec<usize> = (1..=64).collect();
    let scale = |t: Tensor<f32>| t.scale(1.0 / 16.0);
    Digits {
        train_x: scale(table.tensor(0..1500, &pixels)),
        train_y: table.labels(0..1500, 0),
        test_x: scale(table.tensor(1500..1797, &pixels)),
        test_y: table.labels(1500..1797, 0),
    }
}

/// The T1 model: 64-128-128-10, ReLU, PyTorch's default init (uniform on
/// ±1/sqrt(fan_in)).
pub fn model(seed: u64) -> Sequential<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    mlp(&[64, 128, 128, 10], Activation::Relu, &mut rng)
}

/// One SGD step on a batch; returns the batch loss.
pub fn step(
    model: &mut Sequential<f32>,
    opt: &mut Sgd<f32>,
    tape: &mut TensorTape<f32>,
    x: &Tensor<f32>,
    y: &Tensor<usize>,
) -> f32 {
    let (loss, grads) = {
        let logits = model.forward(tape.constant(x.clone()));
        let loss = cross_entropy(logits, y, 0.0, Reduction::Mean);
        (loss.item(), model.gradients(&loss.backward()))
    };
    tape.clear();
    opt.step(model, &grads);
    loss
}

/// Fraction of rows whose largest logit is the label.
pub fn accuracy(model: &Sequential<f32>, x: &Tensor<f32>, y: &Tensor<usize>) -> f64 {
    let tape = TensorTape::new();
    autograd::nn::accuracy(&model.forward(tape.constant(x.clone())).value(), y)
}

/// One epoch of shuffled batches of 32; returns the mean batch loss.
pub fn epoch(
    model: &mut Sequential<f32>,
    opt: &mut Sgd<f32>,
    tape: &mut TensorTape<f32>,
    data: &Digits,
    rng: &mut rand::rngs::StdRng,
    mut on_batch: impl FnMut(f32),
) -> f32 {
    let batches = autograd::nn::batches(data.train_y.numel(), 32, Some(rng));
    let mut total = 0.0;
    for b in &batches {
        let x = data.train_x.index_select(0, b);
        let y = data.train_y.index_select(0, b);
        let l = step(model, opt, tape, &x, &y);
        on_batch(l);
        total += l;
    }
    total / batches.len() as f32
}

/// The whole T1 run: 20 epochs from `seed`; returns (per-epoch mean loss,
/// per-epoch test accuracy).
pub fn train(
    seed: u64,
    epochs: usize,
    progress: impl FnMut(usize, f32, f64),
) -> (Sequential<f32>, Vec<f32>, Vec<f64>) {
    train_with(seed, epochs, Sgd::new(0.05), progress)
}

/// As [`train`] with another SGD configuration.
pub fn train_with(
    seed: u64,
    epochs: usize,
    mut opt: Sgd<f32>,
    mut progress: impl FnMut(usize, f32, f64),
) -> (Sequential<f32>, Vec<f32>, Vec<f64>) {
    let data = load();
    let mut model = model(seed);
    let mut tape = TensorTape::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed + 1);
    let (mut losses, mut accs) = (Vec::new(), Vec::new());
    for e in 0..epochs {
        let l = epoch(&mut model, &mut opt, &mut tape, &data, &mut rng, |_| {});
        let a = accuracy(&model, &data.test_x, &data.test_y);
        progress(e, l, a);
        losses.push(l);
        accs.push(a);
    }
    let _ = Optimizer::<f32>::lr(&opt);
    (model, losses, accs)
}
