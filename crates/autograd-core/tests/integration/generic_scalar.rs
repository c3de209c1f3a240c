//! Scalar code written once over `Scalar` runs on f64, the scalar tape,
//! dual numbers and 0-d tensors, with derivatives of any order on the last.

use autograd_core::forward::Dual;
use autograd_core::{Scalar, Tape, derivative};

fn f<S: Scalar>(x: S) -> S {
    (x * x + 1.0).ln() * x.sin() + (x * 0.5).tanh().exp() / (x.cos() + 2.0) - x.sqrt().powf(3.0)
}

#[test]
fn one_function_four_backends_agree() {
    for &x in &[0.3, 1.1, 2.5] {
        let plain = f(x);
        let tape = Tape::new();
        let v = tape.var(x);
        let y = f(v);
        let rev = y.backward()[v];
        let fwd = f(Dual::new(x, 1.0)).tangent;
        assert_eq!(y.value(), plain);
        assert_eq!(derivative(|t| f(t), x, 0), plain);
        let d1 = derivative(|t| f(t), x, 1);
        assert!(
            (rev - fwd).abs() < 1e-14 && (rev - d1).abs() < 1e-13,
            "{rev} {fwd} {d1}"
        );
        // The second derivative against central differences of the first.
        let h = 1e-5;
        let numeric =
            (f(Dual::new(x + h, 1.0)).tangent - f(Dual::new(x - h, 1.0)).tangent) / (2.0 * h);
        let d2 = derivative(|t| f(t), x, 2);
        assert!(
            (d2 - numeric).abs() < 1e-7 * numeric.abs().max(1.0),
            "{d2} vs {numeric}"
        );
    }
}

#[test]
fn tanh_derivatives_to_fourth_order_from_scalar_code() {
    fn g<S: Scalar>(x: S) -> S {
        x.tanh()
    }
    for &x in &[-1.3_f64, 0.0, 0.4, 2.0] {
        let t = x.tanh();
        let s = 1.0 - t * t;
        let want = [
            t,
            s,
            -2.0 * t * s,
            s * (6.0 * t * t - 2.0),
            s * (16.0 * t - 24.0 * t * t * t),
        ];
        for (k, w) in want.iter().enumerate() {
            let got = derivative(|v| g(v), x, k);
            assert!((got - w).abs() < 1e-12, "order {k} at {x}: {got} vs {w}");
        }
    }
}
