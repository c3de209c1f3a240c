//! Where the time of a scalar gradient goes: recording the tape, the reverse
//! sweep, and reading the gradient out, for workloads S1 and S2
//! (docs/workloads.md), recorded operation by operation and with one
//! statement per term, in nanoseconds per recorded node. Each phase is
//! the minimum over 50 repetitions in one process. The criterion benches
//! (`cargo bench --bench scalar`) give the end-to-end figures; this splits them.
//!
//! Run: `cargo run --release --example tape_phases` (`-- --markdown` prints
//! a Markdown table, which the book's chapter 3 quotes).

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

#[path = "../benches/common/scalar_workloads.rs"]
mod workloads;

use std::hint::black_box;
use std::time::Instant;

use autograd::{Gradients, Tape};
use workloads::*;

fn min_time(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn phases(name: &str, f: WorkloadFn, plain: fn(&[f64]) -> f64, x: &[f64]) {
    let mut tape = Tape::new();
    let mut g = Gradients::new();
    let (mut record, mut sweep, mut readout) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    let mut nodes = 0;
    let mut out = vec![0.0; x.len()];
    for _ in 0..50 {
        let t0 = Instant::now();
        let xs = tape.vars(black_box(x));
        let y = f(&xs);
        let t1 = Instant::now();
        tape.gradient_into(y, &mut g);
        let t2 = Instant::now();
        g.wrt_into(&xs, &mut out);
        let t3 = Instant::now();
        black_box(&out);
        record = record.min((t1 - t0).as_secs_f64());
        sweep = sweep.min((t2 - t1).as_secs_f64());
        readout = readout.min((t3 - t2).as_secs_f64());
        nodes = tape.len();
        drop(xs);
        tape.clear();
    }
    let t_plain = min_time(50, || {
        black_box(plain(black_box(x)));
    });
    let per = |t: f64| t * 1e9 / nodes as f64;
    let total = record + sweep + readout;
    if std::env::args().any(|a| a == "--markdown") {
        // Per recorded operation: the leaves are not operations.
        let ops = (nodes - x.len()) as f64;
        println!(
            "| {name} | {ops} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.1} ns | {:.1} |",
            t_plain * 1e3,
            record * 1e3,
            sweep * 1e3,
            readout * 1e3,
            total * 1e3,
            total * 1e9 / ops,
            total / t_plain
        );
        return;
    }
    println!(
        "{name}: {nodes} nodes | plain {:.3} ms | record {:.3} ms ({:.2} ns/node) | sweep {:.3} ms ({:.2} ns/node) \
         | read-out {:.3} ms | total {:.3} ms ({:.2} ns/node, {:.2}x plain)",
        t_plain * 1e3,
        record * 1e3,
        per(record),
        sweep * 1e3,
        per(sweep),
        readout * 1e3,
        total * 1e3,
        per(total),
        total / t_plain
    );
}

fn main() {
    // The timing helper reads the switch from the arguments again.
    cli::parse(
        "tape_phases",
        "where a scalar gradient's time goes: recording, the sweep, reading it out",
        &[cli::switch(
            "markdown",
            "print the table as Markdown (the book quotes it)",
        )],
    );
    if std::env::args().any(|a| a == "--markdown") {
        println!(
            "| workload | recorded ops | plain | record | sweep | read-out | gradient in all | per recorded op | gradient / plain |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
    } else {
        println!("bytes per node: {}", Tape::<f64>::bytes_per_node());
    }
    phases("S1", s1_tape, s1_plain, &s1_input(N));
    phases("S2", s2_tape, s2_plain, &s2_input(N));
    // The same gradients with one statement per term (`Tape::statement`):
    // fewer nodes, each carrying a whole term's partials.
    phases("S1, statements", s1_statements, s1_plain, &s1_input(N));
    phases("S2, statements", s2_statements, s2_plain, &s2_input(N));
}
