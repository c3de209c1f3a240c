//! A character-level LSTM language model on the project's own book (the ten
//! chapters in docs/, 170-odd thousand characters of prose, code and
//! tables): embedding 16 -> LSTM 96 -> linear to the
//! vocabulary, cross-entropy on next characters, Adam. The last tenth of
//! the text is held out: the model never trains on it, and its loss there
//! (computed under `no_grad`) says whether the model learned the language
//! or memorised the training text. A progress bar shows the training loss;
//! at the end the model writes a few lines itself.
//!
//! Run: `cargo run --release --example char_rnn [-- --steps 600]`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use autograd::nn::{
    Adam, Embedding, Forward, Linear, Lstm, Module, Optimizer, ParamGrads, Reduction, cross_entropy,
};
use autograd::{Tensor, TensorTape, TensorVar};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The book's chapters, in order: the last tenth (the end of chapter 9 and
/// the exercises) is the held-out text.
pub const TEXT: &str = concat!(
    include_str!("../docs/01-xor-by-hand.md"),
    include_str!("../docs/02-xor-on-the-tape.md"),
    include_str!("../docs/03-why-reverse-mode.md"),
    include_str!("../docs/04-tensors.md"),
    include_str!("../docs/05-training-real-models.md"),
    include_str!("../docs/06-your-own-model.md"),
    include_str!("../docs/07-beyond-first-order.md"),
    include_str!("../docs/08-pitfalls.md"),
    include_str!("../docs/09-making-the-tape-fast.md"),
    include_str!("../docs/10-exercises.md"),
);
const SEQ: usize = 48;
const BATCH: usize = 16;

/// Embedding, LSTM and output layer, seen as one module for the optimizer
/// (parameters `embed.weight`, `lstm.weight_ih_l0`, ..., `head.bias`).
#[derive(Module)]
pub struct CharModel {
    #[module(skip)]
    pub vocab: Vec<char>,
    pub embed: Embedding<f32>,
    pub lstm: Lstm<f32>,
    pub head: Linear<f32>,
}

impl CharModel {
    pub fn new(vocab: Vec<char>, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let v = vocab.len();
        CharModel {
            vocab,
            embed: Embedding::new(v, 16, &mut rng),
            lstm: Lstm::new(16, 96, &mut rng),
            head: Linear::new(96, v, &mut rng),
        }
    }

    /// Logits `[T, B, vocab]` for ids `[T, B]`.
    pub fn logits<'t>(&self, tape: &'t TensorTape<f32>, ids: &Tensor<usize>) -> TensorVar<'t, f32> {
        let x = self.embed.lookup(tape, ids);
        self.head.forward(self.lstm.forward(x))
    }
}

impl<'t> Forward<TensorVar<'t, f32>> for CharModel {
    type Output = TensorVar<'t, f32>;
    fn forward(&self, x: TensorVar<'t, f32>) -> TensorVar<'t, f32> {
        self.head.forward(self.lstm.forward(self.embed.forward(x)))
    }
}

/// The text as ids, and its sorted character set.
pub fn encode() -> (Vec<usize>, Vec<char>) {
    let mut vocab: Vec<char> = TEXT.chars().collect();
    vocab.sort_unstable();
    vocab.dedup();
    let ids = TEXT
        .chars()
        .map(|c| vocab.binary_search(&c).expect("in vocab"))
        .collect();
    (ids, vocab)
}

/// The text's ids split into the part trained on (the first 90%) and the
/// part held out (the rest).
pub fn split(ids: &[usize]) -> (&[usize], &[usize]) {
    ids.split_at(ids.len() * 9 / 10)
}

/// The mean next-character loss over consecutive windows of `ids`, with no
/// update and nothing kept for a backward pass.
pub fn held_out_loss(model: &CharModel, ids: &[usize]) -> f32 {
    let windows: Vec<&[usize]> = ids.windows(SEQ + 1).step_by(SEQ).collect();
    let n = windows.len();
    let (mut x, mut y) = (vec![0; SEQ * n], vec![0; SEQ * n]);
    for (b, w) in windows.iter().enumerate() {
        for t in 0..SEQ {
            x[t * n + b] = w[t];
            y[t * n + b] = w[t + 1];
        }
    }
    let tape = TensorTape::new();
    let v = model.vocab.len();
    tape.no_grad(|| {
        let logits = model.logits(&tape, &Tensor::from_vec(x, &[SEQ, n]));
        let targets = Tensor::from_vec(y, &[SEQ * n]);
        cross_entropy(
            logits.reshape(&[SEQ * n, v]),
            &targets,
            0.0,
            Reduction::Mean,
        )
        .item()
    })
}

/// A random batch of windows: inputs and next-character targets, `[T, B]`.
fn batch(ids: &[usize], rng: &mut StdRng) -> (Tensor<usize>, Tensor<usize>) {
    let (mut x, mut y) = (vec![0; SEQ * BATCH], vec![0; SEQ * BATCH]);
    for b in 0..BATCH {
        let start = rng.random_range(0..ids.len() - SEQ - 1);
        for t in 0..SEQ {
            x[t * BATCH + b] = ids[start + t];
            y[t * BATCH + b] = ids[start + t + 1];
        }
    }
    (
        Tensor::from_vec(x, &[SEQ, BATCH]),
        Tensor::from_vec(y, &[SEQ, BATCH]),
    )
}

/// Trains for `steps` on the training part of the text; returns the model
/// and the loss of every step. `on_step(step, loss, model)` sees each.
pub fn train(
    steps: usize,
    seed: u64,
    mut on_step: impl FnMut(usize, f32, &CharModel),
) -> (CharModel, Vec<f32>) {
    let (all, vocab) = encode();
    let (ids, _) = split(&all);
    let mut model = CharModel::new(vocab, seed);
    let mut opt = Adam::new(0.01);
    let mut rng = StdRng::seed_from_u64(seed + 1);
    let mut tape = TensorTape::new();
    let mut losses = Vec::with_capacity(steps);
    for s in 0..steps {
        let (x, y) = batch(ids, &mut rng);
        let grads: ParamGrads<f32> = {
            let v = model.vocab.len();
            let logits = model.logits(&tape, &x).reshape(&[SEQ * BATCH, v]);
            let loss = cross_entropy(logits, &y.reshape(&[SEQ * BATCH]), 0.0, Reduction::Mean);
            losses.push(loss.item());
            model.gradients(&loss.backward())
        };
        tape.clear();
        let mut g = grads;
        autograd::nn::clip_grad_norm(&mut g, 5.0);
        opt.step(&mut model, &g);
        on_step(s, losses[s], &model);
    }
    (model, losses)
}

/// Continues `prompt` for `n` characters, sampling with `temperature`.
pub fn sample(model: &CharModel, prompt: &str, n: usize, temperature: f32, seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out: Vec<usize> = prompt
        .chars()
        .filter_map(|c| model.vocab.binary_search(&c).ok())
        .collect();
    for _ in 0..n {
        let tape = TensorTape::new();
        let window = &out[out.len().saturating_sub(SEQ)..];
        let ids = Tensor::from_vec(window.to_vec(), &[window.len(), 1]);
        let logits = tape.no_grad(|| model.logits(&tape, &ids)).value();
        let v = model.vocab.len();
        let last = logits
            .reshape(&[window.len(), v])
            .narrow(0, window.len() - 1, 1)
            .scale(1.0 / temperature);
        let p = last.softmax(-1);
        let mut u: f32 = rng.random();
        let mut next = v - 1;
        for (k, &pk) in p.data().iter().enumerate() {
            if u < pk {
                next = k;
                break;
            }
            u -= pk;
        }
        out.push(next);
    }
    out.iter().map(|&i| model.vocab[i]).collect()
}

#[allow(dead_code)]
fn main() {
    let args = cli::parse(
        "char_rnn",
        "a character-level LSTM trained on the book's chapters, the last tenth held out",
        &[cli::value("steps", "N", "training steps (default 600)")],
    );
    let steps: usize = args.get("steps", 600);
    let (ids, vocab) = encode();
    let (trained_on, held_out) = split(&ids);
    println!(
        "character LSTM on the book (docs/01..10): {} characters, {} distinct; \
         the first {} train, the last {} are held out",
        ids.len(),
        vocab.len(),
        trained_on.len(),
        held_out.len()
    );
    println!(
        "embedding 16 -> LSTM 96 -> linear; windows of {SEQ}, batch {BATCH}, Adam lr 0.01, {steps} steps\n"
    );
    let bar = ProgressBar::new(steps as u64).with_style(
        ProgressStyle::with_template("[{bar:40}] {pos}/{len} steps  loss {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    let (model, losses) = train(steps, 0, |s, l, model| {
        bar.set_message(format!("{l:.3}"));
        bar.inc(1);
        if (s + 1) % 200 == 0 || s + 1 == steps {
            let h = held_out_loss(model, held_out);
            bar.suspend(|| {
                println!(
                    "step {:>4}  training loss {l:.3}  held-out loss {h:.3}",
                    s + 1
                )
            });
        }
    });
    bar.finish();
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len() as f32;
    let k = (steps / 10).max(1);
    println!(
        "\nmean loss over the first {k} steps {:.3}, over the last {k} steps {:.3} (uniform guessing: {:.3})",
        mean(&losses[..k]),
        mean(&losses[losses.len() - k..]),
        (vocab.len() as f32).ln()
    );
    let held = held_out_loss(&model, held_out);
    let trained = held_out_loss(&model, trained_on);
    println!(
        "loss on the training text {trained:.3}, on the held-out text {held:.3} \
         (a wide gap would mean the model memorised rather than learned)"
    );
    println!(
        "\nthe model continues \"The tape\":\n{}",
        sample(&model, "The tape", 200, 0.6, 3)
    );
}
