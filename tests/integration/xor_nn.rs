//! examples/xor.rs: the article's network from autograd-nn layers gives the
//! seed's (numpy's) outputs; with biases and random init it learns XOR.

#[path = "../../examples/xor.rs"]
mod xor;

#[path = "../../examples/seed_xor.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod seed;

#[test]
fn layers_reproduce_the_article_to_1e_9() {
    let mut model = xor::article_model();
    let pred = xor::train(
        &mut model,
        &mut autograd::nn::Sgd::new(0.5),
        5000,
        |_, _| {},
    );
    for (p, n) in pred.iter().zip(seed::NUMPY_PREDICTIONS) {
        assert!((p - n).abs() < 1e-9, "{p} vs numpy {n}");
    }
    // And the scalar tape's seed program agrees with the layers exactly.
    let (scalar, _, _) = seed::train(5000, |_, _| {});
    for (p, s) in pred.iter().zip(scalar) {
        assert!((p - s).abs() < 1e-12, "{p} vs scalar tape {s}");
    }
}

#[test]
fn with_biases_nineteen_of_twenty_seeds_learn() {
    let learned = (0..20).filter(|&s| xor::learns_with_bias(s, 5000)).count();
    assert!(learned >= 19, "{learned} of 20 seeds learned XOR");
}
