//! Values of the elementwise primitives against references computed in
//! float64 with Python's `math` module (the formulas PyTorch documents), in
//! both element types, and their errors.

use autograd_core::tensor::Gelu;
use autograd_core::{Tensor, TensorTape};

#[track_caller]
fn close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
}

#[test]
fn new_primitives_match_reference_values_in_f64_and_f32() {
    let x = Tensor::from_vec(vec![-1.0_f64, 0.5, 3.0], &[3]);
    let exact = [-0.15865525393145707, 0.34573123063700656, 2.99595030590511];
    let tanh = [-0.15880800939172324, 0.34571400982514394, 2.996362607918227];
    close(&x.gelu(Gelu::Exact).to_vec(), &exact, 1e-15);
    close(&x.gelu(Gelu::Tanh).to_vec(), &tanh, 1e-15);
    let x32 = x.cast::<f32>();
    let as64 = |t: Tensor<f32>| t.to_vec().into_iter().map(f64::from).collect::<Vec<_>>();
    close(&as64(x32.gelu(Gelu::Exact)), &exact, 1e-6);
    close(&as64(x32.gelu(Gelu::Tanh)), &tanh, 1e-6);

    let one = |v: f64| Tensor::from_vec(vec![v], &[1]);
    close(&one(0.5).erf().to_vec(), &[0.5204998778130465], 1e-16);
    // Accurate where ln(1 + x) and e^x - 1 would lose every digit.
    assert_eq!(one(1e-10).log1p().item(), 9.999999999500001e-11);
    assert_eq!(one(1e-10).expm1().item(), 1.00000000005e-10);
    close(
        &one(0.3).softplus(2.0).to_vec(),
        &[0.5187439752429428],
        1e-15,
    );
    // No overflow either way, exact where softplus is linear or vanishes.
    let wide = Tensor::from_vec(vec![-800.0_f64, 800.0], &[2]);
    assert_eq!(wide.softplus(1.0).to_vec(), vec![0.0, 800.0]);
    assert_eq!(wide.cast::<f32>().softplus(1.0).to_vec(), vec![0.0, 800.0]);
    assert_eq!(one(-1.0).atan2(&one(-1.0)).item(), -2.356194490192345);
    // Integer powers by multiplication: exact.
    assert_eq!(one(3.0).powf(3.0).item(), 27.0);
    assert_eq!(one(4.0).powf(-1.0).item(), 0.25);
}

#[test]
fn one_node_each_and_gradients_through_the_tape() {
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::from_vec(vec![-1.0_f64, 0.5, 3.0], &[3]));
    let y = x.gelu(Gelu::Tanh);
    assert_eq!(
        tape.len(),
        2,
        "GELU records one node, not the formula's eight"
    );
    let g = y.sum().backward()[x].to_vec();
    // Central differences of the reference formula.
    let f = |v: f64| {
        0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v * v * v)).tanh())
    };
    let h = 1e-6;
    let fd: Vec<f64> = [-1.0, 0.5, 3.0]
        .iter()
        .map(|&v| (f(v + h) - f(v - h)) / (2.0 * h))
        .collect();
    close(&g, &fd, 1e-8);
}

#[test]
fn bad_arguments_are_named() {
    let t = Tensor::from_vec(vec![1.0_f64, 2.0], &[2]);
    let e = std::panic::catch_unwind(|| t.softplus(0.0)).unwrap_err();
    let msg = e.downcast_ref::<String>().unwrap();
    assert_eq!(msg, "softplus: beta must be positive and finite, got 0");
    let tape = TensorTape::new();
    let (a, b) = (tape.leaf(t.clone()), tape.leaf(Tensor::<f64>::zeros(&[3])));
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.atan2(b))).unwrap_err();
    let msg = e.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("atan2: shapes [2] and [3] do not broadcast"),
        "{msg}"
    );
    assert_eq!(tape.len(), 2, "nothing recorded by the refused op");
    // NaN flows through like any other value.
    let nan = Tensor::from_vec(vec![f64::NAN], &[1]);
    assert!(nan.gelu(Gelu::Exact).item().is_nan());
    assert!(nan.erf().item().is_nan());
}
