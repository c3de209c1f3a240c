//! Workloads S1 and S2 of docs/workloads.md, each written twice in the same code
//! shape: once on plain `f64` and once on tape variables. Shared by
//! benches/scalar.rs and tests/integration/workloads.rs.
#![allow(dead_code)]

use autograd::{Gradients, Scalar, Tape, Var};

pub const N: usize = 100_000;

/// A workload recorded on the tape: the variables in, the output node out.
pub type WorkloadFn = for<'t> fn(&[Var<'t>]) -> Var<'t>;

/// x[i] = -1.2 for even i, 1.0 for odd i.
pub fn s1_input(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect()
}

/// x[i] = sin(i).
pub fn s2_input(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i as f64).sin()).collect()
}

/// S1, extended Rosenbrock, plain.
pub fn s1_plain(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * (a * a) + b * b;
    }
    s
}

/// S1 on the tape.
pub fn s1_tape<'t>(x: &[Var<'t>]) -> Var<'t> {
    let mut s = x[0].tape().constant(0.0);
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * (a * a) + b * b;
    }
    s
}

/// The analytic gradient of S1.
pub fn s1_analytic(x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        g[i] += -400.0 * x[i] * a - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * a;
    }
    g
}

/// S2, transcendental sum, plain.
pub fn s2_plain(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        let sq = x[i] * x[i];
        s += x[i].sin() * (sq * -0.5).exp() + (1.0 + sq).ln() + (x[i] * x[(i + 1) % n]).tanh();
    }
    s
}

/// S2 written once over `Scalar`: the same code runs on f64, dual numbers
/// and tape variables (benches/modes.rs, examples/modes_table.rs).
pub fn s2_generic<S: Scalar>(x: &[S]) -> S {
    let n = x.len();
    let mut s = x[0] * 0.0;
    for i in 0..n {
        let xi = x[i];
        s = s
            + xi.sin() * (xi * xi * -0.5).exp()
            + (xi * xi + 1.0).ln()
            + (xi * x[(i + 1) % n]).tanh();
    }
    s
}

/// S2 on the tape.
pub fn s2_tape<'t>(x: &[Var<'t>]) -> Var<'t> {
    let n = x.len();
    let mut s = x[0].tape().constant(0.0);
    for i in 0..n {
        let sq = x[i] * x[i];
        s += x[i].sin() * (sq * -0.5).exp() + (1.0 + sq).ln() + (x[i] * x[(i + 1) % n]).tanh();
    }
    s
}

/// The analytic gradient of S2.
pub fn s2_analytic(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut g = vec![0.0; n];
    for i in 0..n {
        let xi = x[i];
        let e = (-xi * xi / 2.0).exp();
        g[i] += xi.cos() * e - xi * xi.sin() * e + 2.0 * xi / (1.0 + xi * xi);
        let j = (i + 1) % n;
        let t = (xi * x[j]).tanh();
        let d = 1.0 - t * t;
        g[i] += d * x[j];
        g[j] += d * xi;
    }
    g
}

/// S1's term, written once over `Scalar` for statements.
pub fn s1_term<S: Scalar>(a: S, b: S) -> S {
    let d = b - a * a;
    let e = -a + 1.0;
    d * d * 100.0 + e * e
}

/// S1 on the tape with one statement per term ([`Tape::statement`]): two
/// nodes per term (the statement and the running sum) instead of eight.
pub fn s1_statements<'t>(x: &[Var<'t>]) -> Var<'t> {
    let tape = x[0].tape();
    let mut s = tape.constant(0.0);
    for i in 0..x.len() - 1 {
        s += tape.statement([x[i], x[i + 1]], |[a, b]| s1_term(a, b));
    }
    s
}

/// S2's term, written once over `Scalar` for statements.
pub fn s2_term<S: Scalar>(a: S, b: S) -> S {
    let sq = a * a;
    a.sin() * (sq * -0.5).exp() + (sq + 1.0).ln() + (a * b).tanh()
}

/// S2 on the tape with one statement per term: two nodes per term instead
/// of twelve.
pub fn s2_statements<'t>(x: &[Var<'t>]) -> Var<'t> {
    let n = x.len();
    let tape = x[0].tape();
    let mut s = tape.constant(0.0);
    for i in 0..n {
        s += tape.statement([x[i], x[(i + 1) % n]], |[a, b]| s2_term(a, b));
    }
    s
}

/// Records `f` on `tape` at `x`, sweeps, and writes the gradient to `out`:
/// everything `S*/grad` measures (the caller clears the tape).
pub fn tape_gradient(
    tape: &Tape,
    f: for<'t> fn(&[Var<'t>]) -> Var<'t>,
    x: &[f64],
    grads: &mut Gradients,
    out: &mut [f64],
) -> f64 {
    let xs = tape.vars(x);
    let y = f(&xs);
    tape.gradient_into(y, grads);
    grads.wrt_into(&xs, out);
    y.value()
}

/// Largest relative error |a - b| / max(|b|, 1).
pub fn max_rel_error(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0, f64::max)
}
