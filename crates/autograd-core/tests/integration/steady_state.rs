//! A training-style loop that re-records the same computation each step
//! reaches a steady state with no allocation per step.

use autograd_core::{Gradients, Tape};

use crate::common;
use common::allocations;

#[test]
fn optimisation_loop_allocates_nothing_after_the_first_steps() {
    // Gradient descent on f(w) = sum_i (sigmoid(w0 * x_i + w1) - y_i)^2.
    let data = [(0.0, 0.1), (1.0, 0.4), (2.0, 0.8), (3.0, 0.9)];
    let mut w = [0.1, -0.2];
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut per_step = Vec::with_capacity(200);
    for _ in 0..200 {
        let before = allocations();
        {
            let w0 = tape.var(w[0]);
            let w1 = tape.var(w[1]);
            let mut loss = tape.constant(0.0);
            for &(x, y) in &data {
                loss += ((w0 * x + w1).sigmoid() - y).square();
            }
            tape.gradient_into(loss, &mut grads);
            w[0] -= 0.5 * grads[w0];
            w[1] -= 0.5 * grads[w1];
        }
        tape.clear();
        per_step.push(allocations() - before);
    }
    assert!(per_step[0] > 0, "the first step allocates the tape");
    assert!(
        per_step[10..].iter().all(|&n| n == 0),
        "allocations per step: {per_step:?}"
    );
    assert!(w[0] > 1.0, "and it did learn: {w:?}");
}

#[test]
fn replaying_a_recorded_tape_allocates_nothing() {
    // The same loss, recorded once on a traced tape and then replayed for
    // every new parameter value: no allocation at all after the recording,
    // and the same trajectory, bit for bit, as re-recording every step.
    let data = [(0.0, 0.1), (1.0, 0.4), (2.0, 0.8), (3.0, 0.9)];
    fn record<'t>(tape: &'t Tape, w: [f64; 2], data: &[(f64, f64)]) -> [autograd_core::Var<'t>; 3] {
        let w0 = tape.var(w[0]);
        let w1 = tape.var(w[1]);
        let mut loss = tape.constant(0.0);
        for &(x, y) in data {
            loss += ((w0 * x + w1).sigmoid() - y).square();
        }
        [w0, w1, loss]
    }
    // Started on the side of zero each w0 x + w1 ends on, so the guard in
    // sigmoid never sees a sign change.
    let start = [0.5, -1.0];
    let mut replayed = Vec::with_capacity(200);
    {
        let mut w = start;
        let tape = Tape::traced();
        let [w0, w1, loss] = record(&tape, w, &data);
        let mut grads = Gradients::new();
        tape.gradient_into(loss, &mut grads);
        let before = allocations();
        for _ in 0..200 {
            w[0] -= 0.5 * grads[w0];
            w[1] -= 0.5 * grads[w1];
            tape.replay(&[(w0, w[0]), (w1, w[1])])
                .expect("no sign change of w0 x + w1 in this run");
            tape.gradient_into(loss, &mut grads);
            replayed.push((w, loss.value()));
        }
        assert_eq!(allocations() - before, 0, "allocations in 200 replays");
    }
    let mut w = start;
    let mut tape = Tape::new();
    for (step, &(w_replayed, loss_replayed)) in replayed.iter().enumerate() {
        let [w0, w1, loss] = record(&tape, w, &data);
        let g = loss.backward();
        w[0] -= 0.5 * g[w0];
        w[1] -= 0.5 * g[w1];
        tape.clear();
        let [w0, w1, loss] = record(&tape, w, &data);
        let _ = (w0, w1);
        assert_eq!(
            (w, loss.value()),
            (w_replayed, loss_replayed),
            "step {step}"
        );
        tape.clear();
    }
    assert!(
        replayed[199].1 < replayed[0].1 * 0.5,
        "it trains: {:?}",
        (replayed[0], replayed[199])
    );
}
