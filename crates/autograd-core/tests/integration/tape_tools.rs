//! Anomaly detection, statistics and the profiler of the tensor tape.

use autograd_core::tensor::Phase;
use autograd_core::{Tensor, TensorTape};

use crate::common;

/// The line of this file holding `text` (which must occur once).
fn line_of(text: &str) -> u32 {
    common::line_of(include_str!("tape_tools.rs"), text)
}

#[test]
fn nan_born_in_the_forward_pass_names_op_inputs_and_line() {
    let tape = TensorTape::new();
    tape.set_anomaly_detection(true);
    let x = tape.leaf(Tensor::from_vec(vec![2.0_f64, -1.0, 0.5], &[3]));
    let y = x.scale(2.0);
    let z = y.ln();
    let loss = z.exp().sum();
    let a = loss.try_backward().unwrap_err();
    assert_eq!((a.phase, a.op), (Phase::Forward, "ln"));
    assert_eq!(a.bad.nan, 1);
    assert_eq!(a.inputs[0].shape, vec![3]);
    assert_eq!((a.inputs[0].min, a.inputs[0].max), (-2.0, 4.0));
    let loc = a.location.expect("recorded with a location");
    assert!(loc.file().ends_with("tape_tools.rs"), "{}", loc.file());
    assert_eq!(loc.line(), line_of("let z = y.ln();"));
    let msg = a.to_string();
    assert!(
        msg.starts_with("anomaly in the forward pass: ln (node 2) recorded at "),
        "{msg}"
    );
    assert!(msg.contains("1 NaN"), "{msg}");
    // backward() panics with the same message.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| loss.backward()));
    assert_eq!(*r.unwrap_err().downcast::<String>().unwrap(), msg);
}

#[test]
fn infinity_born_in_the_backward_sweep() {
    let tape = TensorTape::new();
    tape.set_anomaly_detection(true);
    let x = tape.leaf(Tensor::from_vec(vec![4.0_f64, 0.0], &[2]));
    let r = x.sqrt();
    let loss = r.sum();
    assert!(tape.anomaly().is_none(), "sqrt(0) = 0 is a fine value");
    let a = loss.try_backward().unwrap_err();
    assert_eq!((a.phase, a.op, a.input), (Phase::Backward, "sqrt", Some(0)));
    assert_eq!(a.bad.inf, 1);
    assert_eq!(a.location.unwrap().line(), line_of("let r = x.sqrt();"));
    assert!(a.to_string().contains("gradient of input 0"), "{a}");
}

#[test]
fn no_false_alarm_on_a_clean_model_and_nothing_when_off() {
    let tape = TensorTape::<f32>::new();
    tape.set_anomaly_detection(true);
    let x = tape.constant(Tensor::from_vec(
        (0..32).map(|i| i as f32 / 32.0).collect(),
        &[4, 8],
    ));
    let w = tape.leaf(Tensor::from_vec(
        (0..24).map(|i| (i as f32 - 12.0) / 50.0).collect(),
        &[3, 8],
    ));
    let b = tape.leaf(Tensor::zeros(&[3]));
    let labels = Tensor::from_vec(vec![0_usize, 1, 2, 1], &[4, 1]);
    let loss = x
        .matmul_transposed(w)
        .add(b)
        .relu()
        .log_softmax(-1)
        .gather(1, &labels)
        .mean()
        .neg();
    assert!(loss.try_backward().is_ok());
    assert!(tape.anomaly().is_none());
    // Off (the default): a NaN goes through as IEEE arithmetic says.
    let quiet = TensorTape::new();
    let y = quiet.leaf(Tensor::from_vec(vec![-1.0_f64], &[1]));
    let g = y.ln().sum().try_backward().unwrap();
    assert_eq!(g[y].item(), -1.0);
    assert!(quiet.anomaly().is_none());
}

#[test]
fn stats_count_nodes_by_op_and_keep_the_peak() {
    let mut tape = TensorTape::<f32>::new();
    {
        let x = tape.leaf(Tensor::ones(&[256]));
        let mut y = x;
        for _ in 0..10 {
            y = y + y.tanh() * 0.5;
        }
        let _ = y.sum();
    }
    let s = tape.stats();
    assert_eq!(s.nodes, 1 + 30 + 1);
    assert_eq!(&s.by_op[..3], &[("add", 10), ("scale", 10), ("tanh", 10)]);
    assert_eq!(s.value_bytes, (31 * 256 + 1) * 4);
    assert!(s.node_bytes >= 32 * 64);
    tape.clear();
    let after = tape.stats();
    assert_eq!(
        (after.nodes, after.peak_nodes, after.peak_value_bytes),
        (0, 32, s.value_bytes)
    );
    assert!(s.to_string().contains("tanh"));
}

#[test]
fn the_profile_counts_every_forward_and_backward_call() {
    let tape = TensorTape::<f32>::new();
    tape.set_profiling(true);
    let x = tape.leaf(Tensor::ones(&[64, 64]));
    let w = tape.leaf(Tensor::ones(&[64, 64]));
    let y = x.matmul(w).tanh().matmul(w).sum();
    let _ = y.backward();
    let p = tape.profile();
    let row = |op: &str| {
        p.rows
            .iter()
            .find(|r| r.op == op)
            .unwrap_or_else(|| panic!("{op} in {p}"))
    };
    assert_eq!(
        (row("matmul").forward_calls, row("matmul").backward_calls),
        (2, 2)
    );
    assert_eq!(
        (row("tanh").forward_calls, row("tanh").backward_calls),
        (1, 1)
    );
    assert!(row("matmul").total() > std::time::Duration::ZERO);
    // Sorted by total time, largest first.
    assert!(p.rows.windows(2).all(|w| w[0].total() >= w[1].total()));
    tape.reset_profile();
    assert!(tape.profile().rows.is_empty());
}
