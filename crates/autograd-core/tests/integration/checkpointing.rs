//! Checkpointed segments give the same gradients as the plain forward pass
//! and keep far fewer values on the tape.

use autograd_core::tensor::checkpoint;
use autograd_core::{Tensor, TensorTape, TensorVar};
use rand::SeedableRng;
use rand::rngs::StdRng;

const DEPTH: usize = 24;
const WIDTH: usize = 64;

fn weights(seed: u64) -> Vec<Tensor<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..DEPTH)
        .map(|_| Tensor::rand_uniform(&[WIDTH, WIDTH], -0.2, 0.2, &mut rng))
        .collect()
}

/// One residual block: h + 0.9 tanh(h Wᵀ), four recorded ops. Its weight
/// is an input, so it is a leaf of the outer tape and gets a gradient
/// through the checkpoint.
fn block<'s>(v: &[TensorVar<'s, f64>]) -> TensorVar<'s, f64> {
    v[0].matmul_transposed(v[1]).tanh().scale(0.9).add(v[0])
}

/// Loss and gradients of a deep MLP, checkpointing every block or none;
/// also the bytes of activations held on the tape after the forward pass
/// (values minus the weights, which both hold).
fn run(x: &Tensor<f64>, ws: &[Tensor<f64>], ckpt: bool) -> (f64, Vec<Tensor<f64>>, usize) {
    let tape = TensorTape::new();
    let wv: Vec<_> = ws.iter().map(|w| tape.leaf(w.clone())).collect();
    let mut h = tape.constant(x.clone());
    for &w in &wv {
        h = if ckpt {
            checkpoint(block, &[h, w])
        } else {
            block(&[h, w])
        };
    }
    let loss = h.square().mean();
    let weight_bytes: usize = ws.iter().map(|w| w.numel() * 8).sum();
    let held = tape.value_bytes() - weight_bytes;
    (loss.item(), tape.grad(loss, &wv), held)
}

#[test]
fn deep_mlp_gradients_are_identical_with_and_without_checkpoints() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::<f64>::rand_uniform(&[32, WIDTH], -1.0, 1.0, &mut rng);
    let ws = weights(2);
    let (l1, g1, plain_bytes) = run(&x, &ws, false);
    let (l2, g2, ckpt_bytes) = run(&x, &ws, true);
    assert_eq!(l1, l2);
    for (a, b) in g1.iter().zip(&g2) {
        assert_eq!(a, b, "bit-identical gradients");
    }
    // Per block the plain tape holds four activations, the checkpointed one
    // only the block's output.
    assert!(
        ckpt_bytes * 3 < plain_bytes,
        "{ckpt_bytes} vs {plain_bytes} bytes"
    );
    eprintln!(
        "activations on the tape: plain {plain_bytes} bytes, checkpointed {ckpt_bytes} bytes"
    );
}

#[test]
fn checkpoints_differentiate_twice() {
    let tape = TensorTape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![0.3, -0.7], &[2]));
    let y = checkpoint(|v| v[0].tanh().square(), &[x]).sum();
    let [g] = tape.grad_graph(y, &[x]).try_into().unwrap();
    let [h] = tape.grad(g.sum(), &[x]).try_into().unwrap();
    // d/dx tanh² = 2 t (1 - t²); d²/dx² = 2 (1 - t²)(1 - 3 t²)
    for (i, &v) in [0.3_f64, -0.7].iter().enumerate() {
        let t = v.tanh();
        assert!((g.value().get(&[i]) - 2.0 * t * (1.0 - t * t)).abs() < 1e-14);
        assert!((h.get(&[i]) - 2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t)).abs() < 1e-13);
    }
}
