//! Workload T1 (the digits MLP, 64-128-128-10, plain SGD lr 0.05) trained
//! data-parallel over MPI. Every rank builds the model (from a seed of its
//! own: `Ddp::new` replaces it with rank 0's), draws its share of each
//! epoch from a `DistributedSampler`, and averages gradients with the
//! others before each step. With N ranks and `--batch 32` each step sees
//! 32 N rows, so
//!
//! ```text
//! mpirun -np 2 target/release/examples/ddp_digits            # 2 x 32 rows per step
//! target/release/examples/ddp_digits --single --batch 64     # 1 x 64, no MPI
//! ```
//!
//! end with the same weights (to f32 rounding: the sums are grouped
//! differently) and print the same last line
//! `final weights checksum: <sum of all parameters>`. Build it with
//! `cargo build --release --features mpi --example ddp_digits` (needs an
//! MPI library: Debian's openmpi-bin, libopenmpi-dev and libclang-dev).
//! `tools/ddp_run.sh` sets what OpenMPI needs when run as root.

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

#[path = "../benches/common/digits.rs"]
mod digits;

use std::time::{Duration, Instant};

use autograd::dist::{Ddp, DistributedSampler, World};
use autograd::nn::{
    Forward, Module, Optimizer, ParamGrads, Reduction, Sequential, Sgd, cross_entropy,
    load_safetensors, save_safetensors,
};
use autograd::{TensorTape, TensorVar};

/// The sum of every parameter, in f64: one number to compare runs by.
fn checksum(model: &Sequential<f32>) -> f64 {
    let mut sum = 0.0;
    model.visit_parameters("", &mut |_, p| {
        sum += p.value().data().iter().map(|&v| v as f64).sum::<f64>()
    });
    sum
}

/// `x` with `digits` significant digits, in plain notation.
fn significant(x: f64, digits: i32) -> String {
    let magnitude = if x == 0.0 {
        0
    } else {
        x.abs().log10().floor() as i32
    };
    format!("{:.*}", (digits - 1 - magnitude).max(0) as usize, x)
}

struct Config {
    steps: usize,
    batch: usize,
    seed: u64,
    lr: f64,
}

/// What differs between the two modes: how gradients are made, who talks.
trait Trainer {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    fn gradients(&mut self, model: &Sequential<f32>, loss: TensorVar<'_, f32>) -> ParamGrads<f32>;
    /// The mean of `x` over the ranks (every rank must call it).
    fn mean(&self, x: f32) -> f32;
}

struct Single;

impl Trainer for Single {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn gradients(&mut self, model: &Sequential<f32>, loss: TensorVar<'_, f32>) -> ParamGrads<f32> {
        model.gradients(&loss.backward())
    }
    fn mean(&self, x: f32) -> f32 {
        x
    }
}

struct Distributed<'w> {
    world: &'w World,
    ddp: Ddp<'w, f32>,
    /// Fault injection for crates/autograd-dist/tests/ddp.rs: (rank, step, what).
    fault: Option<(usize, usize, String)>,
    step: usize,
}

impl Trainer for Distributed<'_> {
    fn rank(&self) -> usize {
        self.world.rank()
    }
    fn size(&self) -> usize {
        self.world.size()
    }
    fn gradients(&mut self, model: &Sequential<f32>, loss: TensorVar<'_, f32>) -> ParamGrads<f32> {
        if let Some((rank, step, what)) = &self.fault
            && *rank == self.world.rank()
            && *step == self.step
        {
            eprintln!("rank {rank}: injected fault at step {step}: {what}");
            match what.as_str() {
                "die" => std::process::exit(3),
                _ => std::thread::sleep(Duration::from_secs(3600)),
            }
        }
        self.step += 1;
        self.ddp.backward(model, loss)
    }
    fn mean(&self, x: f32) -> f32 {
        let mut v = [x];
        self.world.all_reduce_sum(&mut v);
        v[0] / self.world.size() as f32
    }
}

/// Steps `start..cfg.steps`: step s takes batch s mod B of epoch s / B of
/// this rank's sampler (B batches per epoch), so a resumed run sees what an
/// uninterrupted one would.
fn train(
    trainer: &mut dyn Trainer,
    model: &mut Sequential<f32>,
    opt: &mut Sgd<f32>,
    cfg: &Config,
) -> f32 {
    let data = digits::load();
    let rows = data.train_y.numel();
    let mut sampler = DistributedSampler::new(rows, trainer.rank(), trainer.size(), cfg.seed)
        .unwrap_or_else(|e| fail(&e.to_string()));
    let mut epoch = u64::MAX;
    let mut batches = Vec::new();
    let mut tape = TensorTape::new();
    let (mut last, start, first) = (f32::NAN, Instant::now(), opt.steps());
    for s in first..cfg.steps {
        let per_epoch = sampler.num_samples().div_ceil(cfg.batch);
        if (s / per_epoch) as u64 != epoch {
            epoch = (s / per_epoch) as u64;
            sampler.set_epoch(epoch);
            batches = sampler.batches(cfg.batch);
        }
        let b = &batches[s % per_epoch];
        let x = data.train_x.index_select(0, b);
        let y = data.train_y.index_select(0, b);
        let grads = {
            let logits = model.forward(tape.constant(x));
            let loss = cross_entropy(logits, &y, 0.0, Reduction::Mean);
            last = loss.item();
            trainer.gradients(model, loss)
        };
        tape.clear();
        opt.step(model, &grads);
        if (s + 1) % 50 == 0 || s + 1 == cfg.steps {
            // The whole step's loss: the mean of the ranks' means.
            last = trainer.mean(last);
        }
        if trainer.rank() == 0 && (s + 1) % 50 == 0 {
            println!(
                "step {:>4}  loss {last:.4}  ({:.3} ms/step)",
                s + 1,
                start.elapsed().as_secs_f64() * 1e3 / (s + 1 - first) as f64
            );
        }
    }
    last
}

fn fail(msg: &str) -> ! {
    eprintln!("ddp_digits: {msg}");
    std::process::exit(2)
}

fn main() {
    let args = cli::parse(
        "ddp_digits",
        "workload T1 trained data-parallel over MPI (run under mpirun), or in one process with --single",
        &[
            cli::switch("single", "one process, no MPI: the comparison run"),
            cli::value("batch", "N", "rows per rank per step (default 32)"),
            cli::value("steps", "N", "optimizer steps in all (default 200)"),
            cli::value("seed", "S", "model and shuffling seed (default 0)"),
            cli::value("lr", "LR", "SGD learning rate (default 0.05)"),
            cli::value(
                "bucket-kib",
                "K",
                "gradient bucket size in KiB (default: 1 MiB first, 25 MiB after)",
            ),
            cli::value(
                "save",
                "DIR",
                "write weights and optimizer state to DIR (rank 0)",
            ),
            cli::value("resume", "DIR", "start from a checkpoint written by --save"),
            cli::value("fault-rank", "R", "for tests: the rank that fails"),
            cli::value("fault-step", "S", "for tests: the step at which it fails"),
            cli::value(
                "fault",
                "KIND",
                "for tests: die (exit) | stall (stop responding) | model (another width)",
            ),
        ],
    );
    let cfg = Config {
        steps: args.get("steps", 200),
        batch: args.get("batch", 32),
        seed: args.get("seed", 0),
        lr: args.get("lr", 0.05),
    };
    if cfg.batch == 0 {
        fail("--batch must be at least 1");
    }
    let mut opt = Sgd::new(cfg.lr);
    let (model, last) = if args.switch("single") {
        let mut model = digits::model(cfg.seed);
        if let Some(dir) = args.text("resume") {
            let dir = std::path::Path::new(&dir);
            let w = load_safetensors(dir.join("weights.safetensors"))
                .unwrap_or_else(|e| fail(&e.to_string()));
            model
                .load_state_dict(&w)
                .unwrap_or_else(|e| fail(&e.to_string()));
            let o = autograd::nn::OptimizerState::load(dir.join("optimizer.safetensors"))
                .unwrap_or_else(|e| fail(&e.to_string()));
            opt.load_state_dict(&o)
                .unwrap_or_else(|e| fail(&e.to_string()));
        }
        println!("one process, batch {}, {} steps", cfg.batch, cfg.steps);
        let last = train(&mut Single, &mut model, &mut opt, &cfg);
        if let Some(dir) = args.text("save") {
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&e.to_string()));
            let dir = std::path::Path::new(&dir);
            save_safetensors(&model.state_dict(), dir.join("weights.safetensors"))
                .unwrap_or_else(|e| fail(&e.to_string()));
            opt.state_dict()
                .save(dir.join("optimizer.safetensors"))
                .unwrap_or_else(|e| fail(&e.to_string()));
        }
        (model, last)
    } else {
        let world = World::init().unwrap_or_else(|e| fail(&e.to_string()));
        let (rank, size) = (world.rank(), world.size());
        let fault = args.text("fault").map(|k| {
            (
                args.get("fault-rank", 1),
                args.get("fault-step", 0),
                k.to_string(),
            )
        });
        // Each rank starts from its own seed: Ddp::new gives all rank 0's.
        let mut model = match &fault {
            Some((r, _, k)) if k == "model" && *r == rank => {
                let mut rng =
                    <autograd::rand::rngs::StdRng as autograd::rand::SeedableRng>::seed_from_u64(0);
                autograd::nn::mlp(
                    &[64, 100, 128, 10],
                    autograd::nn::Activation::Relu,
                    &mut rng,
                )
            }
            _ => digits::model(cfg.seed + 1000 * rank as u64),
        };
        let mut ddp = Ddp::new(&world, &mut model).unwrap_or_else(|e| fail(&e.to_string()));
        if let Some(kib) = args.text("bucket-kib") {
            let kib: usize = kib
                .parse()
                .unwrap_or_else(|_| fail("--bucket-kib: not a number"));
            ddp = ddp.bucket_bytes(kib << 10, kib << 10);
        }
        if let Some(dir) = args.text("resume") {
            ddp.load(&mut model, &mut opt, &dir)
                .unwrap_or_else(|e| fail(&e.to_string()));
        }
        ddp.sync_optimizer(&mut opt)
            .unwrap_or_else(|e| fail(&e.to_string()));
        if rank == 0 {
            println!(
                "{size} ranks, batch {} per rank ({} per step), {} steps, {} gradient bucket(s)",
                cfg.batch,
                cfg.batch * size,
                cfg.steps,
                ddp.plan().buckets().len()
            );
        }
        let mut trainer = Distributed {
            world: &world,
            ddp,
            fault,
            step: opt.steps(),
        };
        let last = train(&mut trainer, &mut model, &mut opt, &cfg);
        let ddp = trainer.ddp;
        ddp.check_in_sync(&model)
            .unwrap_or_else(|e| fail(&e.to_string()));
        if let Some(dir) = args.text("save") {
            ddp.save(&model, &opt, &dir)
                .unwrap_or_else(|e| fail(&e.to_string()));
        }
        if rank == 0 {
            let s = ddp.stats();
            println!(
                "every rank's weights bit-identical; per step: sweep {:.3} ms, waiting for the \
                 allreduce {:.3} ms, {} of {} buckets started during the sweep",
                s.sweep_seconds * 1e3 / s.steps.max(1) as f64,
                s.wait_seconds * 1e3 / s.steps.max(1) as f64,
                s.started_during_sweep,
                s.steps * s.buckets
            );
        }
        if rank != 0 {
            return;
        }
        (model, last)
    };
    let data = digits::load();
    let acc = digits::accuracy(&model, &data.test_x, &data.test_y);
    println!("last batch loss {last:.4}, test accuracy {acc:.4}");
    println!(
        "final weights checksum: {}",
        significant(checksum(&model), 9)
    );
}
