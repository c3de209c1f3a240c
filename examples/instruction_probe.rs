//! A fixed amount of work from a workload (docs/workloads.md), for counting
//! instructions under callgrind: a count does not move with the machine's
//! load, so two builds can be compared on a busy machine
//! (docs/performance.md, "The primitive layout").
//!
//! ```sh
//! cargo build --profile bench --example instruction_probe
//! valgrind --tool=callgrind target/release/examples/instruction_probe t3
//! ```
//!
//! `t3`: 200 T3 iterations; `t1`: the digits set loaded and 40 T1 steps;
//! `t2`: 3 T2 steps (run with `RAYON_NUM_THREADS=1` for a stable count).
// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;
#[path = "../benches/common/digits.rs"]
mod digits;
#[path = "../benches/common/tensor_workloads.rs"]
mod workloads;
use autograd::TensorTape;
use autograd::nn::Sgd;
use rand::SeedableRng;
fn main() {
    let args = cli::parse(
        "instruction_probe",
        "a fixed amount of a workload's work, for counting instructions under callgrind",
        &[cli::positional("WORKLOAD", "t1, t2 or t3")],
    );
    let which = args.positional().unwrap_or_default();
    if !["t1", "t2", "t3"].contains(&which.as_str()) {
        eprintln!("instruction_probe: give t1, t2 or t3 (see --help)");
        std::process::exit(2);
    }
    if which == "t2" {
        let mut mlp = workloads::Mlp::new(&[784, 1024, 1024, 10], 0);
        let (x, y) = workloads::t2_batch(1);
        let mut tape = TensorTape::new();
        let mut l = 0.0;
        for _ in 0..3 {
            l += mlp.step(&mut tape, &x, &y, 0.01);
        }
        println!("{l}");
    } else if which == "t3" {
        let x = workloads::t3_input();
        let mut tape = TensorTape::new();
        let mut s = 0.0;
        for _ in 0..200 {
            s += workloads::t3_iter(&mut tape, &x).0;
        }
        println!("{s}");
    } else {
        let data = digits::load();
        let mut model = digits::model(0);
        let mut opt = Sgd::new(0.05);
        let mut tape = TensorTape::new();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let batches = autograd::nn::batches(1500, 32, Some(&mut rng));
        let mut l = 0.0;
        for b in batches.iter().filter(|b| b.len() == 32).take(40) {
            let x = data.train_x.index_select(0, b);
            let y = data.train_y.index_select(0, b);
            l += digits::step(&mut model, &mut opt, &mut tape, &x, &y);
        }
        println!("{l}");
    }
}
