//! The benchmarked tensor workloads compute the right thing.

#[path = "../../benches/common/tensor_workloads.rs"]
mod workloads;

use autograd::TensorTape;
use workloads::*;

#[test]
fn t3_gradient_matches_the_chain_rule_by_hand() {
    let x = t3_input();
    let mut tape = TensorTape::new();
    let (loss, grad) = t3_iter(&mut tape, &x);
    assert!(tape.is_empty(), "t3_iter clears the tape");
    let mut total = 0.0;
    for (j, &x0) in x.data().iter().enumerate() {
        // d y_{k+1} / d y_k = 1 + 0.001 (1 - tanh(y_k)^2), multiplied along the chain.
        let (mut y, mut d) = (x0 as f64, 1.0);
        for _ in 0..1000 {
            let t = y.tanh();
            d *= 1.0 + 0.001 * (1.0 - t * t);
            y += 0.001 * t;
        }
        total += y;
        let g = grad.data()[j] as f64;
        assert!((g - d).abs() < 1e-4 * d, "x[{j}]: tape {g}, by hand {d}");
    }
    assert!((loss as f64 - total).abs() < 1e-3, "loss {loss} vs {total}");
}

#[test]
fn t2_training_steps_reduce_the_loss() {
    // The T2 step on a smaller net, so the test stays fast in debug builds.
    // 32 of the batch's rows: few enough random labels to fit in a few steps.
    let (x, y) = t2_batch(1);
    let (x, y) = (x.narrow(0, 0, 32), y.narrow(0, 0, 32));
    let mut mlp = Mlp::new(&[784, 64, 64, 10], 2);
    let mut tape = TensorTape::new();
    let first = mlp.step(&mut tape, &x, &y, 0.1);
    let mut last = first;
    for _ in 0..40 {
        last = mlp.step(&mut tape, &x, &y, 0.1);
    }
    assert!(
        (first - 10f32.ln()).abs() < 0.3,
        "initial loss {first} near ln 10"
    );
    assert!(last < 0.8 * first, "loss {first} -> {last}");
}
