//! Jacobians, Hessian-vector products and Hessians of tensor functions,
//! against analytic derivatives and finite differences; Newton's method with
//! the engine's own Hessian.

#[path = "../../examples/newton.rs"]
mod newton;

use autograd::tensor::{hessian, hvp, jacobian, value_and_grad};
use autograd::{Tensor, TensorVar};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Extended Rosenbrock in n dimensions.
fn rosen(v: TensorVar<'_, f64>) -> TensorVar<'_, f64> {
    let n = v.shape()[0];
    let (a, b) = (v.narrow(0, 0, n - 1), v.narrow(0, 1, n - 1));
    ((b - a.square()).square() * 100.0 + (1.0 - a).square()).sum()
}

fn rosen_hessian(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut h = vec![0.0; n * n];
    for i in 0..n - 1 {
        h[i * n + i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[(i + 1) * n + i + 1] += 200.0;
        h[i * n + i + 1] -= 400.0 * x[i];
        h[(i + 1) * n + i] -= 400.0 * x[i];
    }
    h
}

#[test]
fn newton_reaches_the_minimum_in_few_steps() {
    let path = newton::newton([-1.2, 1.0], 1e-14, 25);
    let last = path[path.len() - 1];
    assert!(
        (last[0] - 1.0).abs() < 1e-10 && (last[1] - 1.0).abs() < 1e-10,
        "{last:?}"
    );
    assert!(path.len() - 1 <= 25, "{} iterations", path.len() - 1);
}

#[test]
fn hessian_of_rosenbrock_is_the_analytic_one() {
    let mut rng = StdRng::seed_from_u64(1);
    for n in [2, 3, 6] {
        let x = Tensor::<f64>::rand_uniform(&[n], -1.5, 1.5, &mut rng);
        let h = hessian(rosen, &x);
        assert_eq!(h.shape(), &[n, n]);
        let want = rosen_hessian(x.data());
        for (a, b) in h.data().iter().zip(&want) {
            assert!(
                (a - b).abs() < 1e-9 * b.abs().max(1.0),
                "n = {n}: {h} vs {want:?}"
            );
        }
        // hvp agrees with H v without forming H.
        let v = Tensor::<f64>::rand_uniform(&[n], -1.0, 1.0, &mut rng);
        let hv = hvp(rosen, &x, &v);
        let direct = h.matmul(&v);
        assert!(hv.max_abs_diff(&direct) < 1e-9, "{hv} vs {direct}");
    }
}

#[test]
fn hvp_matches_finite_differences_of_the_gradient() {
    // A function mixing several primitives, on a matrix input.
    fn f(w: TensorVar<'_, f64>) -> TensorVar<'_, f64> {
        w.tanh().matmul(w.t()).softmax(-1).ln().neg().mean() + w.exp().sum() * 0.01
    }
    let mut rng = StdRng::seed_from_u64(2);
    let x = Tensor::<f64>::rand_uniform(&[3, 4], -1.0, 1.0, &mut rng);
    let v = Tensor::<f64>::rand_uniform(&[3, 4], -1.0, 1.0, &mut rng);
    let hv = hvp(f, &x, &v);
    let h = 1e-5;
    let up = value_and_grad(f, &(&x + &(&v * h))).1;
    let down = value_and_grad(f, &(&x - &(&v * h))).1;
    let numeric = (&up - &down) * (0.5 / h);
    assert!(hv.max_abs_diff(&numeric) < 1e-7, "{hv} vs {numeric}");
}

#[test]
fn jacobian_matches_finite_differences() {
    fn f(x: TensorVar<'_, f64>) -> TensorVar<'_, f64> {
        x.matmul(x.t()).tanh().sum_axes(&[1], false) * x.sum_axes(&[1], false)
    }
    let mut rng = StdRng::seed_from_u64(3);
    let x = Tensor::<f64>::rand_uniform(&[3, 2], -1.0, 1.0, &mut rng);
    let j = jacobian(f, &x);
    assert_eq!(j.shape(), &[3, 3, 2]);
    let eval = |x: &Tensor<f64>| {
        let tape = autograd::TensorTape::new();
        f(tape.constant(x.clone())).value()
    };
    let h = 1e-6;
    for k in 0..x.numel() {
        let mut up = x.clone();
        up.data_mut()[k] += h;
        let mut down = x.clone();
        down.data_mut()[k] -= h;
        let col = (&eval(&up) - &eval(&down)) * (0.5 / h);
        for i in 0..3 {
            let a = j.data()[i * 6 + k];
            assert!(
                (a - col.data()[i]).abs() < 1e-8,
                "J[{i}][{k}] = {a} vs {}",
                col.data()[i]
            );
        }
    }
}

#[test]
fn functions_must_return_one_value_for_hessians() {
    let r =
        std::panic::catch_unwind(|| hessian(|x: TensorVar<'_, f64>| x.exp(), &Tensor::ones(&[2])));
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert_eq!(
        msg,
        "hessian: the function must return one value (a loss), got shape [2]"
    );
}

/// Scalar code over `Scalar`, second order without tensors in sight:
/// against finite differences of the gradient, and exact zeros where the
/// gradient is constant.
#[test]
fn scalar_hessians_match_finite_differences_of_scalar_gradients() {
    use autograd::{Scalar, scalar_gradient, scalar_hessian};
    fn f<S: Scalar>(v: &[S]) -> S {
        let (x, y, z) = (v[0], v[1], v[2]);
        (x * y).sin() + z.rdiv(1.0) * x.exp() + y.rsub(2.0).powf(3.0) + z.lift(0.5)
    }
    let x = [0.3, -0.7, 1.4];
    let h = scalar_hessian(|v| f(v), &x);
    for j in 0..3 {
        let step = 1e-6;
        let (mut up, mut down) = (x, x);
        up[j] += step;
        down[j] -= step;
        let (gu, gd) = (
            scalar_gradient(|v| f(v), &up),
            scalar_gradient(|v| f(v), &down),
        );
        for i in 0..3 {
            let numeric = (gu[i] - gd[i]) / (2.0 * step);
            assert!(
                (h[i][j] - numeric).abs() < 1e-6 * numeric.abs().max(1.0),
                "H[{i}][{j}] {} vs {numeric}",
                h[i][j]
            );
        }
    }
    assert_eq!(h[0][1], h[1][0]);
    let linear = scalar_hessian(|v| v[0] * 3.0 + v[1], &[1.0, 2.0]);
    assert_eq!(linear, vec![vec![0.0, 0.0], vec![0.0, 0.0]]);
}
