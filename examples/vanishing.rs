//! Vanishing gradients, measured: the gradient that reaches each layer of a
//! 20-layer MLP (width 64, batch 32, f64), with sigmoid and with ReLU
//! activations, for the same loss (the mean of the last layer's outputs).
//! Sigmoid's derivative is at most 1/4, so every layer shrinks the adjoint;
//! ReLU's is 0 or 1, and with He initialisation the adjoint keeps its size.
//!
//! Deterministic (seeded); quoted in docs/08-pitfalls.md.
//!
//! Run: `cargo run --example vanishing`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use autograd::{Tensor, TensorTape};
use rand::SeedableRng;
use rand::rngs::StdRng;

const LAYERS: usize = 20;
const WIDTH: usize = 64;

/// Root-mean-square gradient of each layer's weight matrix, first layer first.
fn layer_gradients(activation: &str) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(7);
    // Xavier/Glorot for sigmoid, He for ReLU: the usual pairing, each keeping
    // the forward signal's scale.
    let bound = match activation {
        "sigmoid" => (6.0 / (2 * WIDTH) as f64).sqrt(),
        _ => (6.0 / WIDTH as f64).sqrt(),
    };
    let weights: Vec<Tensor<f64>> = (0..LAYERS)
        .map(|_| Tensor::rand_uniform(&[WIDTH, WIDTH], -bound, bound, &mut rng))
        .collect();
    let x = Tensor::rand_uniform(&[32, WIDTH], -1.0, 1.0, &mut rng);
    let tape = TensorTape::new();
    let ws: Vec<_> = weights.iter().map(|w| tape.leaf(w.clone())).collect();
    let mut h = tape.constant(x);
    for &w in &ws {
        let z = h.matmul_transposed(w);
        h = match activation {
            "sigmoid" => z.sigmoid(),
            _ => z.relu(),
        };
    }
    let g = h.mean().backward();
    ws.iter()
        .map(|&w| {
            let d = g[w].to_vec();
            (d.iter().map(|v| v * v).sum::<f64>() / d.len() as f64).sqrt()
        })
        .collect()
}

fn main() {
    cli::parse(
        "vanishing",
        "vanishing gradients measured: the gradient reaching each layer of a deep network",
        &[],
    );
    let sigmoid = layer_gradients("sigmoid");
    let relu = layer_gradients("relu");
    println!("RMS gradient of each layer's weights, 20-layer MLP, width 64:\n");
    println!("layer   sigmoid      relu");
    for layer in [1, 2, 5, 10, 15, 19, 20] {
        println!(
            "{layer:>5}   {:9.2e}   {:9.2e}",
            sigmoid[layer - 1],
            relu[layer - 1]
        );
    }
    println!(
        "\nlayer 1 / layer 20: sigmoid {:.1e}, relu {:.2}",
        sigmoid[0] / sigmoid[LAYERS - 1],
        relu[0] / relu[LAYERS - 1]
    );
}
