//! The benchmark workloads compute correct gradients (and the plain and tape
//! versions compute the same function).

#[path = "../benches/common/scalar_workloads.rs"]
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
