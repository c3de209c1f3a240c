//! The same bits at every vector level the CPU has (`simd::set_level`): a
//! small transformer-shaped step through the kernels that run wide (the
//! elementwise maps and their VJPs, sums, layer_norm, the attention rows),
//! values and gradients compared with the plain build's bit for bit. The
//! loops vectorise in optimised builds (`cargo test --release`); at the dev
//! profile's opt-level they are scalar at every level.

use autograd_core::simd::{self, Level};
use autograd_core::tensor::Gelu;
use autograd_core::{Tensor, TensorTape};
use rand::SeedableRng;

fn step(x0: &Tensor<f32>, w0: &Tensor<f32>) -> Vec<Vec<u32>> {
    let tape = TensorTape::new();
    let (x, w) = (tape.leaf(x0.clone()), tape.leaf(w0.clone()));
    // [2, 37, 144]: rows of 144 fill nine sixteen-lane sums; 37 positions
    // leave tails in the attention rows and the elementwise loops.
    let h = x.layer_norm(&[144], Some(w), None, 1e-5);
    let a = h.self_attention(4, true);
    let y = a
        .gelu(Gelu::Tanh)
        .add(a.sigmoid())
        .exp()
        .sum_axes(&[1], false);
    let loss = y.log_softmax(-1).sum();
    let g = tape.grad(loss, &[x, w]);
    let bits = |t: &Tensor<f32>| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    vec![bits(&loss.value()), bits(&g[0]), bits(&g[1])]
}

#[test]
fn every_level_gives_the_plain_bits() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let x0 = Tensor::<f32>::rand_normal(&[2, 37, 144], 0.0, 1.0, &mut rng);
    let w0 = Tensor::<f32>::rand_uniform(&[144], 0.5, 1.5, &mut rng);
    let wanted = [Level::Plain, Level::Avx2, Level::Avx512];
    simd::set_level(Level::Plain);
    let plain = step(&x0, &w0);
    // Finite numbers, so equal bits say something.
    assert!(
        plain
            .iter()
            .flatten()
            .all(|&b| f32::from_bits(b).is_finite())
    );
    for level in wanted.into_iter().filter(|&l| l <= simd::detected()) {
        simd::set_level(level);
        assert_eq!(simd::level(), level);
        assert!(
            step(&x0, &w0) == plain,
            "{level:?} differs from the plain build"
        );
    }
    simd::set_level(Level::Avx512);
}
