//! The central claim of the project, on the article it grows from: the
//! article's hand-written backprop is exactly what reversing the tape gives.

#[path = "../../examples/seed_xor.rs"]
// The shared code keeps its own name inside this test module.
// xor_nn.rs loads the same example: one binary, two modules.
#[allow(clippy::module_inception, clippy::duplicate_mod)]
mod seed_xor;

use autograd::Tape;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use seed_xor::*;

#[test]
fn seed_xor_prints_what_numpy_prints() {
    let (pred, _, _) = train(EPOCHS, |_, _| {});
    for (p, n) in pred.iter().zip(NUMPY_PREDICTIONS) {
        assert!((p - n).abs() < 1e-9, "{p} vs numpy {n}");
    }
}

/// The article's backprop, written out in plain Rust exactly as the numpy
/// program computes it: deltas and weight updates.
struct HandWritten {
    d_output: [f64; 4],
    d_hidden: [[f64; 2]; 4],
    update_w2: [f64; 2],
    update_w1: [[f64; 2]; 2],
}

fn hand_written(w1: &[[f64; 2]; 2], w2: &[f64; 2]) -> HandWritten {
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let hidden = X.map(|x| [0, 1].map(|j| sigmoid(x[0] * w1[0][j] + x[1] * w1[1][j])));
    let out = hidden.map(|h| sigmoid(h[0] * w2[0] + h[1] * w2[1]));
    // error * sigmoid_derivative(predicted_output)
    let d_output: [f64; 4] = std::array::from_fn(|s| (Y[s] - out[s]) * out[s] * (1.0 - out[s]));
    // d_output . W2^T * sigmoid_derivative(hidden_output)
    let d_hidden: [[f64; 2]; 4] = std::array::from_fn(|s| {
        [0, 1].map(|j| d_output[s] * w2[j] * hidden[s][j] * (1.0 - hidden[s][j]))
    });
    // hidden^T . d_output * lr  and  X^T . d_hidden * lr
    let update_w2 =
        [0, 1].map(|j| LEARNING_RATE * (0..4).map(|s| hidden[s][j] * d_output[s]).sum::<f64>());
    let update_w1 = [0, 1].map(|i| {
        [0, 1].map(|j| LEARNING_RATE * (0..4).map(|s| X[s][i] * d_hidden[s][j]).sum::<f64>())
    });
    HandWritten {
        d_output,
        d_hidden,
        update_w2,
        update_w1,
    }
}

#[test]
fn tape_gradients_are_the_articles_hand_written_formulas() {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
    let mut rng = StdRng::seed_from_u64(2024);
    for _ in 0..200 {
        let w1: [[f64; 2]; 2] =
            std::array::from_fn(|_| std::array::from_fn(|_| rng.random_range(-3.0..3.0)));
        let w2: [f64; 2] = std::array::from_fn(|_| rng.random_range(-3.0..3.0));
        let hand = hand_written(&w1, &w2);

        let tape = Tape::new();
        let w1v = w1.map(|row| row.map(|w| tape.var(w)));
        let w2v = w2.map(|w| tape.var(w));
        let f = forward(&w1v, &w2v);
        let g = f.loss.backward();

        // The article's deltas are (minus) the adjoints of the
        // pre-activations: d_output = -dL/d(out_in), d_hidden = -dL/d(hidden_in).
        for s in 0..4 {
            assert!(close(-g[f.out_in[s]], hand.d_output[s]), "d_output[{s}]");
            for j in 0..2 {
                assert!(
                    close(-g[f.hidden_in[s][j]], hand.d_hidden[s][j]),
                    "d_hidden[{s}][{j}]"
                );
            }
        }
        // Its weight updates are -lr times the tape's gradient.
        for i in 0..2 {
            assert!(
                close(-LEARNING_RATE * g[w2v[i]], hand.update_w2[i]),
                "update of w2[{i}]"
            );
            for j in 0..2 {
                assert!(
                    close(-LEARNING_RATE * g[w1v[i][j]], hand.update_w1[i][j]),
                    "update of w1[{i}][{j}]"
                );
            }
        }
        // And the hidden activations' adjoints are the article's error_hidden.
        for s in 0..4 {
            for j in 0..2 {
                assert!(
                    close(-g[f.hidden[s][j]], hand.d_output[s] * w2[j]),
                    "error_hidden[{s}][{j}]"
                );
            }
        }
    }
}
