//! What data parallelism costs on this machine (or cluster): run it under
//! `mpirun -np N` for several N and it prints, from rank 0,
//!
//! - the allreduce time of 1 Ki to 1.86 M f32 values (the last is the
//!   gradient of T2's 784-1024-1024-10 MLP, 7.45 MB) across the N ranks,
//! - a T2 training step with a global batch of 256 split over the ranks:
//!   the step alone (one rank's forward, backward and SGD update on its
//!   256 / N rows, no exchange) and the data-parallel step (`Ddp`, buckets
//!   exchanged while the sweep runs), medians in ms.
//!
//! docs/distributed.md turns these into a model of step time against ranks
//! and link speed. Build: `cargo build --release --features mpi --example
//! ddp_scaling`; run: `tools/ddp_run.sh 2 ddp_scaling` (sets what OpenMPI
//! needs as root).

#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use std::time::Instant;

use autograd::dist::{Ddp, World};
use autograd::nn::{Activation, Forward, Module, Optimizer, Reduction, Sgd, cross_entropy, mlp};
use autograd::rand::{Rng, SeedableRng};
use autograd::{Tensor, TensorTape};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args = cli::parse(
        "ddp_scaling",
        "allreduce and T2 step times across the ranks of an mpirun job",
        &[
            cli::value("reps", "N", "timed repetitions per figure (default 15)"),
            cli::value(
                "batch",
                "B",
                "global batch, split over the ranks (default 256)",
            ),
            cli::value(
                "bucket-kib",
                "K",
                "gradient bucket size in KiB (default: 1 MiB first, 25 MiB after)",
            ),
        ],
    );
    let reps: usize = args.get("reps", 15);
    let global: usize = args.get("batch", 256);
    let world = World::init().unwrap_or_else(|e| {
        eprintln!("ddp_scaling: {e}");
        std::process::exit(2)
    });
    let (rank, size) = (world.rank(), world.size());
    let say = |s: String| {
        if rank == 0 {
            println!("{s}");
        }
    };
    say(format!(
        "{size} rank(s), {} on this machine, {} engine thread(s) per rank",
        world.local_size(),
        autograd::num_threads()
    ));

    say("allreduce (sum of f32 values over all ranks), median:".into());
    for n in [
        1 << 10,
        1 << 14,
        1 << 18,
        784 * 1024 + 1024 + 1024 * 1024 + 1024 + 10 * 1024 + 10,
    ] {
        let mut v = vec![1.0_f32; n];
        world.all_reduce_sum(&mut v); // warm-up: connections, buffers
        let times: Vec<f64> = (0..reps)
            .map(|_| {
                world.barrier();
                let t = Instant::now();
                world.all_reduce_sum(&mut v);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        let ms = median(times);
        say(format!(
            "  {n:>8} values ({:>6.2} MB): {ms:8.3} ms  ({:.2} GB/s of gradient)",
            n as f64 * 4e-6,
            n as f64 * 4e-6 / ms
        ));
    }

    // T2's model; each rank's share of the global batch (random data).
    let local = global.div_ceil(size);
    let mut rng = autograd::rand::rngs::StdRng::seed_from_u64(rank as u64);
    let x = Tensor::rand_uniform(&[local, 784], 0.0, 1.0, &mut rng);
    let y = Tensor::from_vec(
        (0..local).map(|_| rng.random_range(0..10)).collect(),
        &[local],
    );
    let mut init = autograd::rand::rngs::StdRng::seed_from_u64(0);
    let mut model = mlp::<f32, _>(&[784, 1024, 1024, 10], Activation::Relu, &mut init);
    let mut opt = Sgd::new(0.01);
    let mut ddp = Ddp::new(&world, &mut model).unwrap();
    if let Some(kib) = args.text("bucket-kib") {
        let kib: usize = kib.parse().expect("--bucket-kib: a number");
        ddp = ddp.bucket_bytes(kib << 10, kib << 10);
    }
    let mut step = |exchange: bool| {
        let tape = TensorTape::new();
        let loss = cross_entropy(
            model.forward(tape.constant(x.clone())),
            &y,
            0.0,
            Reduction::Mean,
        );
        let grads = if exchange {
            ddp.backward(&model, loss)
        } else {
            model.gradients(&loss.backward())
        };
        drop(tape);
        opt.step(&mut model, &grads);
    };
    let mut time = |exchange: bool| {
        for _ in 0..3 {
            step(exchange);
        }
        let times: Vec<f64> = (0..reps)
            .map(|_| {
                world.barrier();
                let t = Instant::now();
                step(exchange);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        median(times)
    };
    let alone = time(false);
    let together = time(true);
    say(format!(
        "T2 step, global batch {global} = {size} x {local} rows, median: one rank's step alone {alone:.2} ms, \
         data-parallel step {together:.2} ms ({:.0} rows/s)",
        global as f64 / together * 1e3
    ));
    let s = ddp.stats();
    say(format!(
        "  per data-parallel step: sweep {:.2} ms, then waiting {:.2} ms; {} bucket(s), {:.0}% started during the sweep",
        s.sweep_seconds * 1e3 / s.steps as f64,
        s.wait_seconds * 1e3 / s.steps as f64,
        s.buckets,
        100.0 * s.started_during_sweep as f64 / (s.steps * s.buckets) as f64
    ));
}
