//! The seed article's program, with every gradient taken from the tape.
//!
//! A 2-2-1 sigmoid network without biases learns XOR by full-batch gradient
//! descent (learning rate 0.5, 5000 epochs) on the loss 0.5 * sum((y - out)^2),
//! starting from the weights numpy's `np.random.seed(1)` gives. The article
//! derives d_output and d_hidden by hand; here the network's forward pass is
//! recorded on a tape and one reverse sweep per epoch gives the gradient.
//! The printed predictions equal the numpy program's (tools/seed_xor_reference.py)
//! to about 1e-15.
//!
//! Run: `cargo run --release --example seed_xor`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use autograd::{Tape, Var};

/// The four XOR inputs and targets.
pub const X: [[f64; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
pub const Y: [f64; 4] = [0.0, 1.0, 1.0, 0.0];

/// `np.random.seed(1); np.random.rand(2, 2)` and `np.random.rand(2, 1)`.
pub const W1: [[f64; 2]; 2] = [
    [0.417022004702574, 0.7203244934421581],
    [0.00011437481734488664, 0.30233257263183977],
];
pub const W2: [f64; 2] = [0.14675589081711304, 0.0923385947687978];

pub const LEARNING_RATE: f64 = 0.5;
pub const EPOCHS: usize = 5000;

/// What numpy prints for the last forward pass (tools/seed_xor_reference.py).
pub const NUMPY_PREDICTIONS: [f64; 4] = [
    0.10285053533770035,
    0.8365548242302571,
    0.8365533439064944,
    0.21558213991708328,
];

/// Every intermediate of one forward pass, kept so that their adjoints can
/// be compared with the article's hand-written deltas.
pub struct Forward<'t> {
    /// X . W1, per sample and hidden unit.
    pub hidden_in: [[Var<'t>; 2]; 4],
    /// sigmoid(hidden_in).
    pub hidden: [[Var<'t>; 2]; 4],
    /// hidden . W2, per sample.
    pub out_in: [Var<'t>; 4],
    /// sigmoid(out_in): the predictions.
    pub out: [Var<'t>; 4],
    /// 0.5 * sum((Y - out)^2).
    pub loss: Var<'t>,
}

/// Records the network on the tape. Plain code: no derivative anywhere.
pub fn forward<'t>(w1: &[[Var<'t>; 2]; 2], w2: &[Var<'t>; 2]) -> Forward<'t> {
    let tape = w2[0].tape();
    let hidden_in = X.map(|x| [0, 1].map(|j| x[0] * w1[0][j] + x[1] * w1[1][j]));
    let hidden = hidden_in.map(|h| h.map(|z| z.sigmoid()));
    let out_in = hidden.map(|h| h[0] * w2[0] + h[1] * w2[1]);
    let out = out_in.map(|z| z.sigmoid());
    let mut loss = tape.constant(0.0);
    for (o, y) in out.iter().zip(Y) {
        loss += 0.5 * (y - *o).square();
    }
    Forward {
        hidden_in,
        hidden,
        out_in,
        out,
        loss,
    }
}

/// Trains from the article's initial weights for `epochs` epochs, calling
/// `report(epoch, loss)` along the way; returns the last forward pass's
/// predictions and the final weights.
pub fn train(
    epochs: usize,
    mut report: impl FnMut(usize, f64),
) -> ([f64; 4], [[f64; 2]; 2], [f64; 2]) {
    let (mut w1, mut w2) = (W1, W2);
    let mut tape = Tape::new();
    let mut predictions = [0.0; 4];
    for epoch in 0..epochs {
        let w1v = w1.map(|row| row.map(|w| tape.var(w)));
        let w2v = w2.map(|w| tape.var(w));
        let f = forward(&w1v, &w2v);
        let g = f.loss.backward();
        predictions = f.out.map(|o| o.value());
        report(epoch, f.loss.value());
        for i in 0..2 {
            for j in 0..2 {
                w1[i][j] -= LEARNING_RATE * g[w1v[i][j]];
            }
            w2[i] -= LEARNING_RATE * g[w2v[i]];
        }
        tape.clear();
    }
    (predictions, w1, w2)
}

#[allow(dead_code)]
fn main() {
    cli::parse(
        "seed_xor",
        "the article's XOR program with every gradient taken from the tape",
        &[],
    );
    println!("XOR with a 2-2-1 sigmoid network, gradients from the tape");
    println!(
        "learning rate {LEARNING_RATE}, {EPOCHS} full-batch epochs, numpy seed 1 initial weights\n"
    );
    let (pred, w1, w2) = train(EPOCHS, |epoch, loss| {
        if epoch % 1000 == 0 || epoch == EPOCHS - 1 {
            println!("epoch {epoch:>4}  loss {loss:.6}");
        }
    });
    println!("\nPredicted Output after Training:");
    for (k, p) in pred.iter().enumerate() {
        let open = if k == 0 { "[[" } else { " [" };
        let close = if k == 3 { "]]" } else { "]" };
        println!("{open}{p:.8}{close}");
    }
    println!("\nin full precision (17 significant digits), next to numpy's:");
    let mut worst: f64 = 0.0;
    for (p, n) in pred.iter().zip(NUMPY_PREDICTIONS) {
        println!("  {}   numpy {}", sig17(*p), sig17(n));
        worst = worst.max((p - n).abs());
    }
    println!("largest difference from numpy: {worst:.1e}");
    println!("\nfinal weights: input->hidden {w1:?}, hidden->output {w2:?}");
}

/// `x` with 17 significant digits, as numpy's `f"{x:.17g}"`.
fn sig17(x: f64) -> String {
    let s = format!("{x:.16e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-5..17).contains(&exp) {
        format!("{:.*}", (16 - exp).max(0) as usize, x)
    } else {
        format!("{mantissa}e{exp}")
    }
}
