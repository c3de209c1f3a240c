//! Workloads T2 and T3 of docs/workloads.md, shared by benches/tensor.rs and
//! tests/integration/workloads.rs so that what is timed is also what is tested.
#![allow(dead_code)]

use autograd::{Tensor, TensorTape};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// T3's input: 16 values from -1 to 1.
pub fn t3_input() -> Tensor<f32> {
    Tensor::from_vec(
        (0..16).map(|j| -1.0 + 2.0 * j as f32 / 15.0).collect(),
        &[16],
    )
}

/// T3: y = y + 0.001 tanh(y), 1000 times; loss = sum(y); backward.
/// Returns the loss and the gradient; the tape is cleared for reuse.
pub fn t3_iter(tape: &mut TensorTape<f32>, x: &Tensor<f32>) -> (f32, Tensor<f32>) {
    let out = {
        let x = tape.leaf(x.clone());
        let mut y = x;
        for _ in 0..1000 {
            y = y + y.tanh() * 0.001;
        }
        let loss = y.sum();
        let mut g = loss.backward();
        (loss.item(), g.take(x).expect("x is a leaf"))
    };
    tape.clear();
    out
}

/// The MLP of T2 (784-1024-1024-10), weights in PyTorch's [out, in] layout.
pub struct Mlp {
    /// w1, b1, w2, b2, w3, b3.
    pub params: Vec<Tensor<f32>>,
}

impl Mlp {
    pub fn new(sizes: &[usize], seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut params = Vec::new();
        for w in sizes.windows(2) {
            let bound = 1.0 / (w[0] as f64).sqrt();
            params.push(Tensor::rand_uniform(&[w[1], w[0]], -bound, bound, &mut rng));
            params.push(Tensor::rand_uniform(&[w[1]], -bound, bound, &mut rng));
        }
        Mlp { params }
    }

    /// One SGD step on a batch: forward, softmax cross-entropy (mean),
    /// backward, `p -= lr * grad`. Returns the loss.
    pub fn step(
        &mut self,
        tape: &mut TensorTape<f32>,
        x: &Tensor<f32>,
        labels: &Tensor<usize>,
        lr: f32,
    ) -> f32 {
        let (loss, grads) = {
            let vars: Vec<_> = self.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let mut h = tape.constant(x.clone());
            let layers = vars.len() / 2;
            for l in 0..layers {
                h = h.matmul_transposed(vars[2 * l]).add(vars[2 * l + 1]);
                if l + 1 < layers {
                    h = h.relu();
                }
            }
            let loss = h.log_softmax(-1).gather(1, labels).mean().neg();
            let mut g = loss.backward();
            let grads: Vec<Tensor<f32>> = vars.iter().map(|&v| g.take(v).expect("leaf")).collect();
            (loss.item(), grads)
        };
        // Clearing first leaves each parameter the only owner of its data,
        // so the update below writes in place instead of copying.
        tape.clear();
        for (p, g) in self.params.iter_mut().zip(&grads) {
            for (w, &d) in p.data_mut().iter_mut().zip(g.data()) {
                *w -= lr * d;
            }
        }
        loss
    }
}

/// T2's random batch: 256 rows of 784 features and labels in 0..10.
pub fn t2_batch(seed: u64) -> (Tensor<f32>, Tensor<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Tensor::rand_uniform(&[256, 784], 0.0, 1.0, &mut rng);
    let y = Tensor::from_vec(
        (0..256).map(|_| rng.random_range(0..10)).collect(),
        &[256, 1],
    );
    (x, y)
}

/// T2's parameter count P (for GFLOP/s = 6 P 256 / seconds).
pub const T2_PARAMS: usize = 784 * 1024 + 1024 * 1024 + 1024 * 10;
