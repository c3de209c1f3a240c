//! The benchmark workloads compute correct gradients (and the plain and tape
//! versions compute the same function).

#[path = "../../benches/common/scalar_workloads.rs"]
// The shared code keeps its own name inside this test module.
#[allow(clippy::module_inception)]
mod workloads;

use autograd::{Gradients, Tape};
use workloads::*;

#[test]
fn s1_gradient_matches_analytic() {
    let x = s1_input(N);
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut out = vec![0.0; N];
    for _ in 0..2 {
        let v = tape_gradient(&tape, s1_tape, &x, &mut grads, &mut out);
        assert_eq!(v, s1_plain(&x));
        tape.clear();
    }
    let err = max_rel_error(&out, &s1_analytic(&x));
    assert!(err < 1e-13, "S1 max relative error {err:e}");
}

#[test]
fn s2_gradient_matches_analytic() {
    let x = s2_input(N);
    let tape = Tape::new();
    let mut grads = Gradients::new();
    let mut out = vec![0.0; N];
    let v = tape_gradient(&tape, s2_tape, &x, &mut grads, &mut out);
    assert_eq!(v, s2_plain(&x));
    let err = max_rel_error(&out, &s2_analytic(&x));
    assert!(err < 1e-13, "S2 max relative error {err:e}");
}

#[test]
fn s1_and_s2_by_statements_match_analytic() {
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut out = vec![0.0; N];
    type Case = (
        WorkloadFn,
        fn(&[f64]) -> f64,
        fn(&[f64]) -> Vec<f64>,
        Vec<f64>,
        usize,
    );
    // Nodes: the leaves, the sum's zero, and two per term.
    let cases: [Case; 2] = [
        (
            s1_statements,
            s1_plain,
            s1_analytic,
            s1_input(N),
            N + 1 + 2 * (N - 1),
        ),
        (
            s2_statements,
            s2_plain,
            s2_analytic,
            s2_input(N),
            N + 1 + 2 * N,
        ),
    ];
    for (f, plain, analytic, x, nodes) in cases {
        let v = tape_gradient(&tape, f, &x, &mut grads, &mut out);
        assert!(
            (v - plain(&x)).abs() <= 1e-12 * v.abs(),
            "{v} vs {}",
            plain(&x)
        );
        assert_eq!(tape.len(), nodes);
        let err = max_rel_error(&out, &analytic(&x));
        assert!(err < 1e-13, "max relative error {err:e}");
        tape.clear();
    }
}
