//! Workload T5 as a program to read and run: a small CNN on the digits set
//! as 8x8 images (two 3x3 convolutions with ReLU, 2x2 max-pooling, a linear
//! layer; 9 930 parameters), SGD with momentum, batch 32, the first 1500
//! images to train on and the last 297 to test. The model is
//! `benches/common/models.rs`, the code the benchmark times. Prints the test
//! accuracy after each epoch; the last line is `test accuracy: <value>`.
//!
//! Run: `cargo run --release --example digits_cnn -- --epochs 10`

#[path = "../benches/common/models.rs"]
mod models;

use autograd::nn::{Module, batches};

const HELP: &str = "\
digits_cnn: train workload T5's CNN on the digits set

Options:
  --epochs N     passes over the 1500 training images (default 10)
  --threads N    threads, the calling one included (default: all cores)
  --seed N       initialisation and shuffling seed (default 0)
  --help         this text";

fn main() {
    let (mut epochs, mut seed) = (10usize, 0u64);
    let mut parser = lexopt::Parser::from_env();
    let parsed: Result<(), lexopt::Error> = (|| {
        use lexopt::prelude::*;
        while let Some(arg) = parser.next()? {
            match arg {
                Long("epochs") => epochs = parser.value()?.parse()?,
                Long("threads") => autograd::set_num_threads(parser.value()?.parse()?),
                Long("seed") => seed = parser.value()?.parse()?,
                Long("help") | Short('h') => {
                    println!("{HELP}");
                    std::process::exit(0);
                }
                _ => return Err(arg.unexpected()),
            }
        }
        Ok(())
    })();
    if let Err(e) = parsed {
        eprintln!("digits_cnn: {e}\n\n{HELP}");
        std::process::exit(2);
    }
    let mut w = models::T5::new(seed);
    println!(
        "{} parameters, {} threads",
        w.model.num_parameters(),
        autograd::num_threads()
    );
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed + 1);
    let mut acc = w.accuracy();
    for epoch in 1..=epochs {
        let mut total = 0.0;
        let order = batches(1500, 32, Some(&mut rng));
        for b in &order {
            total += w.step_on(b);
        }
        acc = w.accuracy();
        println!(
            "epoch {epoch}: mean training loss {:.4}, test accuracy {acc:.4}",
            total / order.len() as f32
        );
    }
    println!("test accuracy: {acc:.4}");
}
