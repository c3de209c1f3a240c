//! Workload T4 as a program to read and run: a character-level GPT (token
//! and position embeddings, two pre-LayerNorm blocks of causal multi-head
//! attention and a GELU MLP, a final LayerNorm and a linear head; 421 697
//! parameters) trained with AdamW on data/backprop_notes.txt, the last 10%
//! held out. The model is `benches/common/models.rs`, the same code the
//! benchmark times: two structs with `#[derive(Module)]` (parameters named
//! as PyTorch names them) and a `Forward` taking typed token ids. A progress
//! bar shows the training loss; every `--eval-every` steps the held-out loss
//! is printed; at the end the model writes text from a prompt, computed
//! under `no_grad`. `--save DIR` writes the weights and AdamW's state;
//! `--resume DIR` continues from them exactly (the same losses as a run that
//! never stopped). Its last line is `final loss: <training loss>`.
//!
//! Run: `cargo run --release --example tiny_gpt -- --steps 300`
//! Resume: `... -- --steps 50 --save target/gpt` then
//! `... -- --steps 50 --resume target/gpt` (same final loss as `--steps 100`)

#[path = "../benches/common/models.rs"]
mod models;

use std::path::PathBuf;

use autograd::nn::{Forward, Module, TokenIds};
use autograd::{Tensor, TensorTape};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const HELP: &str = "\
tiny_gpt: train workload T4's character GPT and sample from it

Options:
  --steps N         training steps (default 300)
  --eval-every N    held-out loss every N steps (default 100)
  --threads N       threads, the calling one included (default: all cores)
  --sample N        characters to write at the end (default 200)
  --prompt TEXT     what the sample starts from (default \"The \")
  --seed N          initialisation and batch seed (default 0)
  --save DIR        write weights and optimizer state into DIR at the end
  --resume DIR      start from what --save wrote into DIR
  --help            this text";

struct Args {
    steps: usize,
    eval_every: usize,
    threads: Option<usize>,
    sample: usize,
    prompt: String,
    seed: u64,
    save: Option<PathBuf>,
    resume: Option<PathBuf>,
}

fn parse() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut a = Args {
        steps: 300,
        eval_every: 100,
        threads: None,
        sample: 200,
        prompt: "The ".into(),
        seed: 0,
        save: None,
        resume: None,
    };
    let mut p = lexopt::Parser::from_env();
    while let Some(arg) = p.next()? {
        match arg {
            Long("steps") => a.steps = p.value()?.parse()?,
            Long("eval-every") => a.eval_every = p.value()?.parse::<usize>()?.max(1),
            Long("threads") => a.threads = Some(p.value()?.parse()?),
            Long("sample") => a.sample = p.value()?.parse()?,
            Long("prompt") => a.prompt = p.value()?.string()?,
            Long("seed") => a.seed = p.value()?.parse()?,
            Long("save") => a.save = Some(p.value()?.into()),
            Long("resume") => a.resume = Some(p.value()?.into()),
            Long("help") | Short('h') => {
                println!("{HELP}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(a)
}

/// The characters of the shipped text, numbered as `models::text_ids`
/// numbers them (order of first appearance).
fn vocabulary() -> Vec<char> {
    let mut v: Vec<char> = Vec::new();
    for c in include_str!("../data/backprop_notes.txt").chars() {
        if !v.contains(&c) {
            v.push(c);
        }
    }
    v
}

/// Continues `prompt` by `n` characters, each drawn from the model's
/// softmax (temperature 0.8) given at most the last CONTEXT characters.
fn sample(w: &models::T4, vocab: &[char], prompt: &str, n: usize, rng: &mut StdRng) -> String {
    let mut ids: Vec<usize> = prompt
        .chars()
        .filter_map(|c| vocab.iter().position(|&v| v == c))
        .collect();
    if ids.is_empty() {
        ids.push(0);
    }
    let mut out: String = ids.iter().map(|&i| vocab[i]).collect();
    for _ in 0..n {
        let ctx = &ids[ids.len().saturating_sub(models::CONTEXT)..];
        let tape = TensorTape::new();
        let batch = Tensor::from_vec(ctx.to_vec(), &[1, ctx.len()]);
        // Inference: nothing is kept for a backward pass.
        let logits = tape
            .no_grad(|| w.model.forward(TokenIds::new(&tape, &batch)))
            .value();
        let last = &logits.data()[(ctx.len() - 1) * models::VOCAB..];
        // Only characters the text has; temperature 0.8.
        let scaled: Vec<f32> = last[..vocab.len()].iter().map(|&v| v / 0.8).collect();
        let probs = Tensor::from_vec(scaled, &[vocab.len()]).softmax(0);
        let mut u: f32 = rng.random();
        let mut next = vocab.len() - 1;
        for (i, &p) in probs.data().iter().enumerate() {
            if u < p {
                next = i;
                break;
            }
            u -= p;
        }
        ids.push(next);
        out.push(vocab[next]);
    }
    out
}

fn main() {
    let args = parse().unwrap_or_else(|e| {
        eprintln!("tiny_gpt: {e}\n\n{HELP}");
        std::process::exit(2)
    });
    if let Some(n) = args.threads {
        autograd::set_num_threads(n);
    }
    let mut w = models::T4::new(args.seed);
    let held_out = w.hold_out(0.9);
    if let Some(dir) = &args.resume {
        w.resume(dir).unwrap_or_else(|e| {
            eprintln!("tiny_gpt: cannot resume from {}: {e}", dir.display());
            std::process::exit(1)
        });
        println!(
            "resumed from {} after {} steps",
            dir.display(),
            w.steps_done
        );
    }
    println!(
        "{} parameters, {} threads; held-out loss before training: {:.4}",
        w.model.num_parameters(),
        autograd::num_threads(),
        w.loss_on(&held_out)
    );
    let bar = ProgressBar::new(args.steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} steps, loss {msg} ({elapsed})")
            .expect("a valid template"),
    );
    let mut last = f32::NAN;
    let first = w.steps_done as usize;
    for step in first + 1..=first + args.steps {
        last = w.step();
        bar.set_message(format!("{last:.4}"));
        bar.inc(1);
        if step % args.eval_every == 0 || step == first + args.steps {
            let held = w.loss_on(&held_out);
            // Above the bar on a terminal; plain lines when piped.
            bar.suspend(|| {
                println!("step {step}: training loss {last:.4}, held-out loss {held:.4}")
            });
        }
    }
    bar.finish_and_clear();
    if let Some(dir) = &args.save {
        w.save(dir).unwrap_or_else(|e| {
            eprintln!("tiny_gpt: cannot save into {}: {e}", dir.display());
            std::process::exit(1)
        });
        println!("saved weights and optimizer state into {}", dir.display());
    }
    let mut rng = StdRng::seed_from_u64(args.seed + 7);
    let text = sample(&w, &vocabulary(), &args.prompt, args.sample, &mut rng);
    println!("sample: {text:?}");
    println!("final loss: {last:.6}");
}
