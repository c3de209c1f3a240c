//! Workloads T4 (a tiny GPT) and T5 (a digits CNN) of docs/workloads.md,
//! written with autograd-nn's own layers; shared by benches/models.rs and
//! examples/model_steps.rs (which tools/models_torch.py times beside the
//! same models in PyTorch).
#![allow(dead_code)]

use std::path::Path;

use autograd::nn::{
    AdamW, Conv2d, Embedding, Flatten, Forward, Gelu, LayerNorm, Linear, MaxPool2d, Module,
    MultiHeadAttention, Optimizer, OptimizerState, Reduction, Relu, Sequential, Sgd, Table,
    TokenIds, cross_entropy, load_safetensors, save_safetensors,
};
use autograd::{Tensor, TensorTape, TensorVar};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------- T4

pub const VOCAB: usize = 65;
pub const CONTEXT: usize = 64;
pub const BATCH: usize = 16;
pub const WIDTH: usize = 128;
pub const HEADS: usize = 4;
pub const LAYERS: usize = 2;

/// The text the model learns (shipped in data/), as ids below [`VOCAB`]:
/// each distinct character in order of first appearance.
pub fn text_ids() -> Vec<usize> {
    let text = include_str!("../../data/backprop_notes.txt");
    let mut vocab: Vec<char> = Vec::new();
    text.chars()
        .map(|c| match vocab.iter().position(|&v| v == c) {
            Some(i) => i,
            None => {
                vocab.push(c);
                assert!(
                    vocab.len() <= VOCAB,
                    "more than {VOCAB} distinct characters"
                );
                vocab.len() - 1
            }
        })
        .collect()
}

/// A pre-LayerNorm transformer block. `#[derive(Module)]` names its
/// parameters `ln1.weight`, `attn.in_proj_weight`, ... as PyTorch would.
#[derive(Module)]
pub struct Block {
    pub ln1: LayerNorm<f32>,
    pub attn: MultiHeadAttention<f32>,
    pub ln2: LayerNorm<f32>,
    pub fc1: Linear<f32>,
    pub fc2: Linear<f32>,
}

impl<'t> Forward<TensorVar<'t, f32>> for Block {
    type Output = TensorVar<'t, f32>;
    fn forward(&self, x: TensorVar<'t, f32>) -> TensorVar<'t, f32> {
        let x = x + self.attn.forward(self.ln1.forward(x));
        let h = Gelu.forward(self.fc1.forward(self.ln2.forward(x)));
        x + self.fc2.forward(h)
    }
}

/// The T4 model: token and position embeddings, [`LAYERS`] blocks, a final
/// LayerNorm and a linear head. `forward` takes token ids `[B, T]` and
/// gives logits `[B, T, VOCAB]`. Parameters are named `tok_emb.weight`,
/// `blocks.0.ln1.weight`, ..., `head.bias`.
#[derive(Module)]
pub struct TinyGpt {
    pub tok_emb: Embedding<f32>,
    pub pos_emb: Embedding<f32>,
    pub blocks: Vec<Block>,
    pub ln_f: LayerNorm<f32>,
    pub head: Linear<f32>,
}

impl TinyGpt {
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let rng = &mut rng;
        TinyGpt {
            tok_emb: Embedding::new(VOCAB, WIDTH, rng),
            pos_emb: Embedding::new(CONTEXT, WIDTH, rng),
            blocks: (0..LAYERS)
                .map(|_| Block {
                    ln1: LayerNorm::new(WIDTH),
                    attn: MultiHeadAttention::new(WIDTH, HEADS, true, rng),
                    ln2: LayerNorm::new(WIDTH),
                    fc1: Linear::new(WIDTH, 4 * WIDTH, rng),
                    fc2: Linear::new(4 * WIDTH, WIDTH, rng),
                })
                .collect(),
            ln_f: LayerNorm::new(WIDTH),
            head: Linear::new(WIDTH, VOCAB, rng),
        }
    }
}

impl<'t> Forward<TokenIds<'t, f32>> for TinyGpt {
    type Output = TensorVar<'t, f32>;
    fn forward(&self, ids: TokenIds<'t, f32>) -> TensorVar<'t, f32> {
        let t = ids.shape()[1];
        let pos = self.pos_emb.weight.var(ids.tape()).narrow(0, 0, t);
        let mut x = self.tok_emb.forward(ids) + pos;
        for b in &self.blocks {
            x = b.forward(x);
        }
        self.head.forward(self.ln_f.forward(x))
    }
}

/// T4's training state: model, AdamW, the text and the batch sampler.
pub struct T4 {
    pub model: TinyGpt,
    pub opt: AdamW<f32>,
    pub tape: TensorTape<f32>,
    text: Vec<usize>,
    seed: u64,
    /// Steps taken (also AdamW's step count, saved with its state).
    pub steps_done: u64,
}

/// The files [`T4::save`] writes into its directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";

impl T4 {
    pub fn new(seed: u64) -> Self {
        T4 {
            model: TinyGpt::new(seed),
            opt: AdamW::new(3e-4).weight_decay(0.01).betas(0.9, 0.999),
            tape: TensorTape::new(),
            text: text_ids(),
            seed,
            steps_done: 0,
        }
    }

    /// Writes the weights and the optimizer state (safetensors, PyTorch's
    /// names) into `dir`, creating it.
    pub fn save(&self, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
        std::fs::create_dir_all(dir)?;
        save_safetensors(&self.model.state_dict(), dir.join(WEIGHTS_FILE))?;
        self.opt.state_dict().save(dir.join(OPTIMIZER_FILE))?;
        Ok(())
    }

    /// Loads what [`T4::save`] wrote; training then continues exactly as if
    /// it had not stopped (the batches are drawn from the step count).
    pub fn resume(&mut self, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
        let weights = load_safetensors(dir.join(WEIGHTS_FILE))?;
        let state = OptimizerState::load(dir.join(OPTIMIZER_FILE))?;
        self.model.load_state_dict(&weights)?;
        self.opt.load_state_dict(&state)?;
        self.steps_done = state.scalars["step"] as u64;
        Ok(())
    }

    /// Keeps the first `fraction` of the text for training and returns the
    /// rest (held out, for [`T4::loss_on`]).
    pub fn hold_out(&mut self, fraction: f64) -> Vec<usize> {
        let cut = (self.text.len() as f64 * fraction) as usize;
        self.text.split_off(cut)
    }

    /// Mean next-character loss over consecutive windows of `ids` (no
    /// update): the held-out loss.
    pub fn loss_on(&self, ids: &[usize]) -> f32 {
        let windows: Vec<&[usize]> = ids.windows(CONTEXT + 1).step_by(CONTEXT).collect();
        let n = windows.len();
        let x: Vec<usize> = windows
            .iter()
            .flat_map(|w| w[..CONTEXT].iter().copied())
            .collect();
        let y: Vec<usize> = windows
            .iter()
            .flat_map(|w| w[1..].iter().copied())
            .collect();
        let tape = TensorTape::new();
        let ids = Tensor::from_vec(x, &[n, CONTEXT]);
        let logits = tape.no_grad(|| self.model.forward(TokenIds::new(&tape, &ids)));
        let logits = logits.reshape(&[n * CONTEXT, VOCAB]);
        cross_entropy(
            logits,
            &Tensor::from_vec(y, &[n * CONTEXT]),
            0.0,
            Reduction::Mean,
        )
        .item()
    }

    /// `BATCH` random windows: inputs `[B, T]` and next-character targets.
    /// Drawn from a generator seeded by the seed and the step count, so a
    /// resumed run draws the batches an uninterrupted one would.
    pub fn batch(&mut self) -> (Tensor<usize>, Tensor<usize>) {
        let mut rng = StdRng::seed_from_u64(
            self.seed ^ (self.steps_done + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..BATCH {
            let s = rng.random_range(0..self.text.len() - CONTEXT - 1);
            x.extend_from_slice(&self.text[s..s + CONTEXT]);
            y.extend_from_slice(&self.text[s + 1..s + CONTEXT + 1]);
        }
        (
            Tensor::from_vec(x, &[BATCH, CONTEXT]),
            Tensor::from_vec(y, &[BATCH * CONTEXT]),
        )
    }

    /// One training step on a fresh batch; returns the loss.
    pub fn step(&mut self) -> f32 {
        let (x, y) = self.batch();
        self.steps_done += 1;
        let (loss, grads) = {
            let logits = self.model.forward(TokenIds::new(&self.tape, &x));
            let logits = logits.reshape(&[BATCH * CONTEXT, VOCAB]);
            let loss = cross_entropy(logits, &y, 0.0, Reduction::Mean);
            (loss.item(), self.model.gradients(&loss.backward()))
        };
        self.tape.clear();
        self.opt.step(&mut self.model, &grads);
        loss
    }
}

// ---------------------------------------------------------------- T5

/// The T5 model: two 3x3 convolutions (1 -> 16 -> 32 channels, padding 1)
/// with ReLU, a 2x2 max-pool, and a linear layer 512 -> 10.
pub fn cnn(seed: u64) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .push(Conv2d::new(1, 16, (3, 3), &mut rng).padding(1))
        .push(Relu)
        .push(Conv2d::new(16, 32, (3, 3), &mut rng).padding(1))
        .push(Relu)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(512, 10, &mut rng))
}

/// T5's training state: model, SGD with momentum and the digits as images.
pub struct T5 {
    pub model: Sequential<f32>,
    pub opt: Sgd<f32>,
    pub tape: TensorTape<f32>,
    pub train_x: Tensor<f32>,
    pub train_y: Tensor<usize>,
    pub test_x: Tensor<f32>,
    pub test_y: Tensor<usize>,
    rng: StdRng,
}

pub const DIGITS_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv");

impl T5 {
    pub fn new(seed: u64) -> Self {
        let table = Table::read(DIGITS_CSV).expect("data/digits.csv");
        let pixels: Vec<usize> = (1..=64).collect();
        let images = |r: std::ops::Range<usize>| {
            let n = r.len();
            table
                .tensor::<f32>(r, &pixels)
                .scale(1.0 / 16.0)
                .reshape(&[n, 1, 8, 8])
        };
        T5 {
            model: cnn(seed),
            opt: Sgd::new(0.05).momentum(0.9),
            tape: TensorTape::new(),
            train_x: images(0..1500),
            train_y: table.labels(0..1500, 0),
            test_x: images(1500..1797),
            test_y: table.labels(1500..1797, 0),
            rng: StdRng::seed_from_u64(seed + 1),
        }
    }

    /// One step on `rows` of the training set; returns the loss.
    pub fn step_on(&mut self, rows: &[usize]) -> f32 {
        let x = self.train_x.index_select(0, rows);
        let y = self.train_y.index_select(0, rows);
        let (loss, grads) = {
            let logits = self.model.forward(self.tape.constant(x));
            let loss = cross_entropy(logits, &y, 0.0, Reduction::Mean);
            (loss.item(), self.model.gradients(&loss.backward()))
        };
        self.tape.clear();
        self.opt.step(&mut self.model, &grads);
        loss
    }

    /// One step on a random batch of 32.
    pub fn step(&mut self) -> f32 {
        let rows: Vec<usize> = (0..32).map(|_| self.rng.random_range(0..1500)).collect();
        self.step_on(&rows)
    }

    /// Ten epochs of shuffled batches of 32; returns the test accuracy.
    pub fn train(&mut self, epochs: usize) -> f64 {
        for _ in 0..epochs {
            for b in autograd::nn::batches(1500, 32, Some(&mut self.rng)) {
                self.step_on(&b);
            }
        }
        self.accuracy()
    }

    pub fn accuracy(&self) -> f64 {
        let tape = TensorTape::new();
        let logits = self.model.forward(tape.constant(self.test_x.clone()));
        autograd::nn::accuracy(&logits.value(), &self.test_y)
    }
}
