//! Forward mode (dual numbers) agrees with the tape's reverse mode.

use autograd_core::forward::{Dual, gradient, jvp};
use autograd_core::{Scalar, Tape};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Workload S2's function, written once over `Scalar`.
fn s2<S: Scalar>(x: &[S]) -> S {
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

#[test]
fn forward_gradient_equals_reverse_gradient() {
    let mut rng = StdRng::seed_from_u64(1);
    for n in [1, 2, 7, 30] {
        let x: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
        let fwd = gradient(|d: &[Dual<f64>]| s2(d), &x);
        let tape = Tape::new();
        let xs = tape.vars(&x);
        let rev = s2(&xs).backward().wrt_all(&xs);
        for (a, b) in fwd.iter().zip(&rev) {
            assert!(
                (a - b).abs() < 1e-13 * b.abs().max(1.0),
                "n = {n}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn jvp_equals_the_jacobian_times_v() {
    // f(x) = (x0 x1 x2, sin(x0) / x1, sqrt(x2) powi 3): J by hand.
    let f = |p: &[Dual<f64>]| vec![p[0] * p[1] * p[2], p[0].sin() / p[1], p[2].sqrt().powi(3)];
    let x = [0.7, 1.3, 2.0];
    let v = [1.0, -2.0, 0.5];
    let (y, jv) = jvp(f, &x, &v);
    let j = [
        [x[1] * x[2], x[0] * x[2], x[0] * x[1]],
        [x[0].cos() / x[1], -x[0].sin() / (x[1] * x[1]), 0.0],
        [0.0, 0.0, 1.5 * x[2].sqrt()],
    ];
    assert_eq!(y[0], x[0] * x[1] * x[2]);
    for i in 0..3 {
        let want: f64 = (0..3).map(|k| j[i][k] * v[k]).sum();
        assert!((jv[i] - want).abs() < 1e-14, "row {i}: {} vs {want}", jv[i]);
    }
}
