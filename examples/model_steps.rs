//! Times training steps of workload T4 (a tiny GPT), T5 (a digits CNN) or
//! T2 (the 784-1024-1024-10 MLP, whose GFLOP/s are 6 P 256 / time), the
//! models of benches/models.rs and benches/tensor.rs, and prints one line per repetition:
//! `<model> threads=<n> ms_per_step=<median of the repetition's steps>`.
//! tools/models_torch.py runs it in turn with the same models in PyTorch
//! eager, so both are measured in one run. `--train` instead runs the
//! workload's training recipe and prints its result (T4: the loss after
//! 200 steps; T5: test accuracy after 10 epochs) and the peak memory.
//!
//! Run: `cargo run --release --example model_steps -- --model t4 --threads 1`

#[path = "../benches/common/models.rs"]
mod models;
#[path = "../benches/common/tensor_workloads.rs"]
mod tensor_workloads;

use std::time::Instant;

const HELP: &str = "\
model_steps: time training steps of T4 (tiny GPT), T5 (digits CNN) or T2 (MLP)

Options:
  --model t4|t5|t2  which workload (default t4)
  --threads N       threads, the calling one included (default: all cores)
  --steps N         steps per repetition (default 20 for t4 and t2, 200 for t5)
  --repeat N        repetitions, one line each (default 5)
  --warmup N        untimed steps first (default 5)
  --train           run the workload's training recipe instead of timing
  --help            this text";

struct Args {
    model: String,
    threads: Option<usize>,
    steps: Option<usize>,
    repeat: usize,
    warmup: usize,
    train: bool,
}

fn parse() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut a = Args {
        model: "t4".into(),
        threads: None,
        steps: None,
        repeat: 5,
        warmup: 5,
        train: false,
    };
    let mut p = lexopt::Parser::from_env();
    while let Some(arg) = p.next()? {
        match arg {
            Long("model") => {
                a.model = p.value()?.string()?;
                if !["t4", "t5", "t2"].contains(&a.model.as_str()) {
                    return Err(format!("--model must be t4, t5 or t2, got {}", a.model).into());
                }
            }
            Long("threads") => a.threads = Some(p.value()?.parse()?),
            Long("steps") => a.steps = Some(p.value()?.parse()?),
            Long("repeat") => a.repeat = p.value()?.parse()?,
            Long("warmup") => a.warmup = p.value()?.parse()?,
            Long("train") => a.train = true,
            Long("help") | Short('h') => {
                println!("{HELP}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(a)
}

/// Peak resident memory of this process (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let args = parse().unwrap_or_else(|e| {
        eprintln!("model_steps: {e}\n\n{HELP}");
        std::process::exit(2)
    });
    if let Some(n) = args.threads {
        autograd::set_num_threads(n);
    }
    let threads = autograd::num_threads();
    let mut step: Box<dyn FnMut() -> f32> = match args.model.as_str() {
        "t4" => {
            let mut w = models::T4::new(0);
            if args.train {
                let mut last = 0.0;
                for i in 0..200 {
                    last = w.step();
                    if i == 0 {
                        println!("t4 first loss: {last:.4}");
                    }
                }
                println!("t4 loss after 200 steps: {last:.4}");
                println!(
                    "peak resident memory: {:.0} MB",
                    peak_rss_mb().unwrap_or(f64::NAN)
                );
                return;
            }
            Box::new(move || w.step())
        }
        "t2" => {
            if args.train {
                eprintln!("model_steps: T2 has no training recipe (random data)");
                std::process::exit(2);
            }
            let (x, y) = tensor_workloads::t2_batch(1);
            let mut mlp = tensor_workloads::Mlp::new(&[784, 1024, 1024, 10], 2);
            let mut tape = autograd::TensorTape::new();
            Box::new(move || mlp.step(&mut tape, &x, &y, 0.01))
        }
        _ => {
            let mut w = models::T5::new(0);
            if args.train {
                let acc = w.train(10);
                println!("t5 test accuracy after 10 epochs: {acc:.4}");
                println!(
                    "peak resident memory: {:.0} MB",
                    peak_rss_mb().unwrap_or(f64::NAN)
                );
                return;
            }
            Box::new(move || w.step())
        }
    };
    let steps = args
        .steps
        .unwrap_or(if args.model == "t5" { 200 } else { 20 });
    for _ in 0..args.warmup {
        step();
    }
    for _ in 0..args.repeat {
        let mut times: Vec<f64> = (0..steps)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(step());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{} threads={threads} ms_per_step={:.4}",
            args.model,
            times[times.len() / 2]
        );
    }
}
