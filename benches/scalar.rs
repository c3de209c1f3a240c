//! Scalar tape overhead: workloads S1 and S2 of docs/workloads.md.
//!
//! `S*/plain` evaluates the function on f64, `S*/grad` records it on a reused
//! tape, sweeps, and reads out the whole gradient. `S1/reverse_crate` is the
//! same S1 gradient with the `reverse` crate, measured in the same run; the
//! `*_fresh_tape` variants make a new tape for every gradient.
//!
//! Run: `cargo bench --bench scalar`

use std::hint::black_box;

use autograd::{Gradients, Tape};
use criterion::{Criterion, criterion_group, criterion_main};
use reverse::Gradient as _;

#[path = "common/scalar_workloads.rs"]
mod workloads;
use workloads::*;

fn report_tape_shape(
    name: &str,
    f: for<'t> fn(&[autograd::Var<'t>]) -> autograd::Var<'t>,
    x: &[f64],
) {
    let tape = Tape::new();
    let xs = tape.vars(x);
    let _ = f(&xs);
    eprintln!(
        "{name}: {} nodes recorded ({} leaves, {} operations), {} bytes per node, {:.1} MB tape",
        tape.len(),
        x.len(),
        tape.len() - x.len(),
        Tape::<f64>::bytes_per_node(),
        (tape.len() * Tape::<f64>::bytes_per_node()) as f64 / 1e6
    );
}

fn s1_reverse_crate(tape: &reverse::Tape, x: &[f64], out: &mut [f64]) -> f64 {
    let xs = tape.add_vars(x);
    let mut s = tape.add_var(0.0);
    for i in 0..xs.len() - 1 {
        let a = xs[i + 1] - xs[i] * xs[i];
        let b = 1.0 - xs[i];
        s = s + 100.0 * (a * a) + b * b;
    }
    let g = s.grad();
    for (o, v) in out.iter_mut().zip(&xs) {
        *o = g.wrt(v);
    }
    s.val()
}

/// `S*/grad`: record on a reused tape, sweep, read out, clear.
fn reused_tape_gradient(
    b: &mut criterion::Bencher,
    tape: &mut Tape,
    grads: &mut Gradients,
    out: &mut [f64],
    f: for<'t> fn(&[autograd::Var<'t>]) -> autograd::Var<'t>,
    x: &[f64],
) {
    b.iter(|| {
        let v = tape_gradient(tape, f, black_box(x), grads, out);
        tape.clear();
        v
    })
}

fn scalar(c: &mut Criterion) {
    let x1 = s1_input(N);
    let x2 = s2_input(N);
    report_tape_shape("S1", s1_tape, &x1);
    report_tape_shape("S2", s2_tape, &x2);

    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut out = vec![0.0; N];

    let mut g = c.benchmark_group("S1");
    g.sample_size(30);
    g.bench_function("plain", |b| b.iter(|| s1_plain(black_box(&x1))));
    g.bench_function("grad", |b| {
        reused_tape_gradient(b, &mut tape, &mut grads, &mut out, s1_tape, &x1)
    });
    g.bench_function("grad_statements", |b| {
        reused_tape_gradient(b, &mut tape, &mut grads, &mut out, s1_statements, &x1)
    });
    let rtape = reverse::Tape::new();
    g.bench_function("reverse_crate", |b| {
        b.iter(|| {
            let v = s1_reverse_crate(&rtape, black_box(&x1), &mut out);
            rtape.clear();
            v
        })
    });
    // The same two gradients with a new tape (and gradient buffer) each
    // time, as one-off code would write them: growth and page faults
    // included.
    g.bench_function("grad_fresh_tape", |b| {
        b.iter(|| {
            let tape = Tape::new();
            let mut grads = Gradients::new();
            tape_gradient(&tape, s1_tape, black_box(&x1), &mut grads, &mut out)
        })
    });
    g.bench_function("reverse_crate_fresh_tape", |b| {
        b.iter(|| {
            let rtape = reverse::Tape::new();
            s1_reverse_crate(&rtape, black_box(&x1), &mut out)
        })
    });
    replay_benches(&mut g, s1_tape, &x1, &mut out);
    g.finish();

    let mut g = c.benchmark_group("S2");
    g.sample_size(30);
    g.bench_function("plain", |b| b.iter(|| s2_plain(black_box(&x2))));
    g.bench_function("grad", |b| {
        reused_tape_gradient(b, &mut tape, &mut grads, &mut out, s2_tape, &x2)
    });
    g.bench_function("grad_statements", |b| {
        reused_tape_gradient(b, &mut tape, &mut grads, &mut out, s2_statements, &x2)
    });
    replay_benches(&mut g, s2_tape, &x2, &mut out);
    g.finish();
}

/// `S*/grad_traced`: as `S*/grad` on a traced tape (what a replayable
/// recording costs). `S*/replay`: that recording replayed for the inputs,
/// then swept and read out; no recording, no allocation.
fn replay_benches(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    f: for<'t> fn(&[autograd::Var<'t>]) -> autograd::Var<'t>,
    x: &[f64],
    out: &mut [f64],
) {
    let mut traced = Tape::traced();
    let mut grads = Gradients::new();
    g.bench_function("grad_traced", |b| {
        reused_tape_gradient(b, &mut traced, &mut grads, out, f, x)
    });
    traced.clear();
    let xs = traced.vars(x);
    let y = f(&xs);
    let inputs: Vec<_> = xs.iter().zip(x).map(|(&v, &value)| (v, value)).collect();
    g.bench_function("replay", |b| {
        b.iter(|| {
            traced.replay(black_box(&inputs)).unwrap();
            traced.gradient_into(y, &mut grads);
            grads.wrt_into(&xs, out);
            y.value()
        })
    });
}

criterion_group!(benches, scalar);
criterion_main!(benches);
