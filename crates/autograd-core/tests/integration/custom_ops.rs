//! Differentiable primitives defined outside the crate (this test is
//! another crate): forward + VJP, checked with the same gradcheck as the
//! built-in ops, first order and under grad_graph.

use autograd_core::{Algebra, CustomOp, Real, Tensor, TensorTape, TensorVar, tensor_gradcheck};

/// ln(1 + e^x), stable for any x.
struct Log1pExp;

impl<T: Real> CustomOp<T> for Log1pExp {
    fn name(&self) -> &str {
        "log1p_exp"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        x[0].map(|v| if v > T::ZERO { v } else { T::ZERO } + (-v.abs()).exp().ln_1p())
    }
    fn vjp<V: Algebra<T>>(&self, x: &[&V], _y: &V, grad: &V) -> Vec<Option<V>> {
        let sig = x[0].neg().exp().add_scalar(T::ONE).powf(-T::ONE);
        vec![Some(grad.mul(&sig))]
    }
}

/// A fused two-input op with broadcasting: a * b + a (its VJP returns
/// gradients in the broadcast shape; the sweep reduces them).
struct MulAddSelf;

impl<T: Real> CustomOp<T> for MulAddSelf {
    fn name(&self) -> &str {
        "mul_add_self"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        x[0].mul(x[1]).add(x[0])
    }
    fn vjp<V: Algebra<T>>(&self, x: &[&V], _y: &V, g: &V) -> Vec<Option<V>> {
        vec![Some(g.mul(&x[1].add_scalar(T::ONE))), Some(g.mul(x[0]))]
    }
}

#[test]
fn custom_ops_pass_gradcheck_with_broadcasting() {
    let x = Tensor::from_vec(vec![-3.0, -0.5, 0.0, 1.5, 4.0, 0.25], &[2, 3]);
    tensor_gradcheck(
        |_, v| TensorVar::custom(Log1pExp, &[v[0]]),
        std::slice::from_ref(&x),
    )
    .unwrap();
    let b = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]);
    tensor_gradcheck(
        |_, v| TensorVar::custom(MulAddSelf, &[v[0], v[1]]).tanh(),
        &[x, b],
    )
    .unwrap();
}

#[test]
fn custom_ops_agree_with_their_composite_oracle_and_differentiate_twice() {
    let tape = TensorTape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![-2.0, 0.0, 3.0], &[3]));
    let fused = TensorVar::custom(Log1pExp, &[x]);
    let composite = (x.exp() + 1.0).ln();
    assert!(fused.value().max_abs_diff(&composite.value()) < 1e-15);
    // Second derivative through the custom VJP: sigmoid'(x) = s (1 - s).
    let [g] = tape.grad_graph(fused.sum(), &[x]).try_into().unwrap();
    let [h] = tape.grad(g.sum(), &[x]).try_into().unwrap();
    for (i, &v) in [-2.0_f64, 0.0, 3.0].iter().enumerate() {
        let s = 1.0 / (1.0 + (-v).exp());
        assert!((h.get(&[i]) - s * (1.0 - s)).abs() < 1e-14);
    }
    // Stable where the composite overflows.
    let big = tape.leaf(Tensor::from_vec(vec![1000.0], &[1]));
    assert_eq!(TensorVar::custom(Log1pExp, &[big]).item(), 1000.0);
    assert!((big.exp() + 1.0).ln().item().is_infinite());
}
