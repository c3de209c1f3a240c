//! The article's XOR network rebuilt from autograd-nn parts: two `Linear`
//! layers without bias, sigmoid, loss 0.5 * summed squared error, SGD with
//! lr 0.5 for 5000 full-batch epochs, from the article's initial weights.
//! Its four outputs equal the seed's (and numpy's) to 1e-9.
//!
//! `--bias`: the same network with biases and PyTorch's default random
//! initialisation, trained with SGD (lr 0.5, momentum 0.9) for 5000 epochs
//! from seeds 0 to 19; it reports how many learn XOR (19 of 20; over seeds
//! 0-99, 93 of 100: a 2-2-1 sigmoid network has local minima that some
//! starts fall into, whatever the engine).
//!
//! Run: `cargo run --release --example xor [-- --bias]`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use autograd::nn::{
    Forward, Linear, Module, Optimizer, Reduction, Sequential, Sgd, Sigmoid, mse_loss,
};
use autograd::{Tensor, TensorTape};
use rand::SeedableRng;

/// The article's initial weights (numpy seed 1), in its `[in, out]` layout.
pub const W1: [[f64; 2]; 2] = [
    [0.417022004702574, 0.7203244934421581],
    [0.00011437481734488664, 0.30233257263183977],
];
/// Hidden to output, `[in]`.
pub const W2: [f64; 2] = [0.14675589081711304, 0.0923385947687978];

fn data() -> (Tensor<f64>, Tensor<f64>) {
    let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]);
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4, 1]);
    (x, y)
}

/// The network; `Linear` stores `[out, in]`, so the article's matrices are
/// transposed on the way in.
pub fn article_model() -> Sequential<f64> {
    let w1 = Tensor::from_vec(vec![W1[0][0], W1[1][0], W1[0][1], W1[1][1]], &[2, 2]);
    let w2 = Tensor::from_vec(W2.to_vec(), &[1, 2]);
    Sequential::new()
        .push(Linear::from_parts(w1, None))
        .push(Sigmoid)
        .push(Linear::from_parts(w2, None))
        .push(Sigmoid)
}

/// Trains `model` on XOR; returns the predictions of the last epoch's
/// forward pass (before its update, as the article prints them) and calls
/// `report(epoch, loss)` every epoch.
pub fn train(
    model: &mut Sequential<f64>,
    opt: &mut dyn Optimizer<f64>,
    epochs: usize,
    mut report: impl FnMut(usize, f64),
) -> Vec<f64> {
    let (x, y) = data();
    let mut tape = TensorTape::new();
    let mut predictions = Vec::new();
    for epoch in 0..epochs {
        let grads = {
            let out = model.forward(tape.constant(x.clone()));
            let loss = mse_loss(out, tape.constant(y.clone()), Reduction::Sum).scale(0.5);
            predictions = out.value().to_vec();
            report(epoch, loss.item());
            model.gradients(&loss.backward())
        };
        tape.clear();
        opt.step(model, &grads);
    }
    predictions
}

/// The `--bias` variant: 2-2-1 with biases, PyTorch's default random
/// initialisation from `seed`, SGD with momentum 0.9. True if all four
/// outputs end on the right side of 0.5.
pub fn learns_with_bias(seed: u64, epochs: usize) -> bool {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut model = Sequential::new()
        .push(Linear::new(2, 2, &mut rng))
        .push(Sigmoid)
        .push(Linear::new(2, 1, &mut rng))
        .push(Sigmoid);
    train(
        &mut model,
        &mut Sgd::new(0.5).momentum(0.9),
        epochs,
        |_, _| {},
    );
    let (x, y) = data();
    let tape = TensorTape::new();
    let out = model.forward(tape.constant(x)).value();
    out.data()
        .iter()
        .zip(y.data())
        .all(|(&o, &t)| (o > 0.5) == (t > 0.5))
}

#[allow(dead_code)]
fn main() {
    let args = cli::parse(
        "xor",
        "the article's XOR network built from autograd-nn layers",
        &[cli::switch(
            "bias",
            "train with biases, from 20 random seeds",
        )],
    );
    if args.switch("bias") {
        println!(
            "XOR, 2-2-1 sigmoid network with biases, random init, SGD lr 0.5 momentum 0.9, 5000 epochs"
        );
        let mut learned = 0;
        for seed in 0..20 {
            let ok = learns_with_bias(seed, 5000);
            learned += ok as usize;
            println!(
                "seed {seed:>2}: {}",
                if ok {
                    "learned XOR"
                } else {
                    "did not learn XOR"
                }
            );
        }
        println!("{learned} of 20 seeds learned XOR");
        return;
    }
    println!("XOR: the article's 2-2-1 sigmoid network from autograd-nn layers");
    println!(
        "Linear(2, 2, no bias) -> Sigmoid -> Linear(2, 1, no bias) -> Sigmoid; loss 0.5 * sum (y - out)^2; SGD lr 0.5\n"
    );
    let mut model = article_model();
    let pred = train(&mut model, &mut Sgd::new(0.5), 5000, |epoch, loss| {
        if epoch % 1000 == 0 || epoch == 4999 {
            println!("epoch {epoch:>4}  loss {loss:.6}");
        }
    });
    println!("\nPredicted Output after Training:");
    for (k, p) in pred.iter().enumerate() {
        let open = if k == 0 { "[[" } else { " [" };
        let close = if k == 3 { "]]" } else { "]" };
        println!("{open}{p:.8}{close}");
    }
    println!("\nin full precision:");
    for p in &pred {
        println!("  {p:.17}");
    }
    for (name, t) in model.state_dict() {
        println!("{name}: {:?}", t.to_vec());
    }
}
