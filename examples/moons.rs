//! Two interleaved half-moons, generated in code (as scikit-learn's
//! `make_moons`, with Gaussian noise), learned by a 2-16-16-2 tanh MLP with
//! Adam. Prints the loss as it trains and the final accuracy, and writes the
//! learned decision boundary as an SVG (`--plot PATH`, default moons.svg).
//!
//! Run: `cargo run --release --example moons`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use autograd::nn::{
    Activation, Adam, Forward, Module, Optimizer, Reduction, Sequential, cross_entropy, mlp,
};
use autograd::{Tensor, TensorTape};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// `n` points per moon with noise `noise`: (features [2n, 2], labels [2n]).
pub fn make_moons(n: usize, noise: f64, seed: u64) -> (Tensor<f32>, Tensor<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let jitter = Tensor::<f64>::rand_normal(&[2 * n, 2], 0.0, noise, &mut rng);
    let mut xs = Vec::with_capacity(4 * n);
    let mut ys = Vec::with_capacity(2 * n);
    for i in 0..2 * n {
        let t = std::f64::consts::PI * (i % n) as f64 / (n - 1) as f64;
        let (x, y) = if i < n {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        xs.push((x + jitter.get(&[i, 0])) as f32);
        xs.push((y + jitter.get(&[i, 1])) as f32);
        ys.push(usize::from(i >= n));
    }
    (
        Tensor::from_vec(xs, &[2 * n, 2]),
        Tensor::from_vec(ys, &[2 * n]),
    )
}

/// Trains the MLP full-batch for `steps`; returns it and the loss curve.
pub fn train(
    x: &Tensor<f32>,
    y: &Tensor<usize>,
    steps: usize,
    seed: u64,
) -> (Sequential<f32>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = mlp(&[2, 16, 16, 2], Activation::Tanh, &mut rng);
    let mut opt = Adam::new(0.02);
    let mut tape = TensorTape::new();
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let grads = {
            let loss = cross_entropy(
                model.forward(tape.constant(x.clone())),
                y,
                0.0,
                Reduction::Mean,
            );
            losses.push(loss.item());
            model.gradients(&loss.backward())
        };
        tape.clear();
        opt.step(&mut model, &grads);
    }
    (model, losses)
}

/// Fraction of points classified right.
pub fn accuracy(model: &Sequential<f32>, x: &Tensor<f32>, y: &Tensor<usize>) -> f64 {
    let tape = TensorTape::new();
    autograd::nn::accuracy(&model.forward(tape.constant(x.clone())).value(), y)
}

/// The plane coloured by the predicted class (plotters' SVG backend), with
/// the points on top and both axes ticked and labelled.
fn boundary_svg(model: &Sequential<f32>, x: &Tensor<f32>, y: &Tensor<usize>) -> String {
    use plotters::prelude::*;
    let (x0, x1, y0, y1) = (-1.5f32, 2.5f32, -1.0f32, 1.5f32);
    let cells = 120usize;
    let rows = (cells as f32 * (y1 - y0) / (x1 - x0)) as usize;
    let (cw, ch) = ((x1 - x0) / cells as f32, (y1 - y0) / rows as f32);
    let grid: Vec<f32> = (0..rows)
        .flat_map(|r| {
            (0..cells).flat_map(move |c| [x0 + cw * (c as f32 + 0.5), y0 + ch * (r as f32 + 0.5)])
        })
        .collect();
    let tape = TensorTape::new();
    let probs = model
        .forward(tape.constant(Tensor::from_vec(grid, &[rows * cells, 2])))
        .softmax(-1)
        .value();
    let (blue, orange) = (RGBColor(31, 119, 180), RGBColor(255, 127, 14));
    // Probabilities in 16 shades, blended from blue (class 0) to orange
    // (class 1), pale so the points show; each row's runs of one shade are
    // one rectangle, so the file stays small (one per cell was 730 KB).
    let shade = |r: usize, c: usize| (probs.get(&[r * cells + c, 1]) * 15.0).round() as u32;
    let pale = |level: u32| {
        let p = level as f32 / 15.0;
        let mix = |a: u8, b: u8| {
            let v = a as f32 + (b as f32 - a as f32) * p;
            (255.0 - 0.35 * (255.0 - v)) as u8
        };
        RGBColor(
            mix(blue.0, orange.0),
            mix(blue.1, orange.1),
            mix(blue.2, orange.2),
        )
    };
    let mut runs = Vec::new();
    for r in 0..rows {
        let mut c = 0;
        while c < cells {
            let (level, start) = (shade(r, c), c);
            while c < cells && shade(r, c) == level {
                c += 1;
            }
            let (a, b) = (x0 + cw * start as f32, x0 + cw * c as f32);
            let (lo, hi) = (y0 + ch * r as f32, y0 + ch * (r + 1) as f32);
            runs.push(((a as f64, lo as f64), (b as f64, hi as f64), pale(level)));
        }
    }
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (640, 420)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(45)
                .build_cartesian_2d(x0 as f64..x1 as f64, y0 as f64..y1 as f64)?;
            chart.draw_series(
                runs.iter()
                    .map(|&(a, b, colour)| Rectangle::new([a, b], colour.filled())),
            )?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("x1")
                .y_desc("x2")
                .draw()?;
            for (class, colour, name) in [(0, blue, "class 0"), (1, orange, "class 1")] {
                chart
                    .draw_series((0..y.numel()).filter(|&i| y.data()[i] == class).map(|i| {
                        let p = (x.get(&[i, 0]) as f64, x.get(&[i, 1]) as f64);
                        Circle::new(p, 3, colour.filled())
                    }))?
                    .label(name)
                    .legend(move |(px, py)| Circle::new((px + 8, py), 3, colour.filled()));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            eprintln!("moons: drawing the boundary failed: {e}");
        }
    }
    out
}

#[allow(dead_code)]
fn main() {
    let args = cli::parse(
        "moons",
        "an MLP separating two interleaved half circles, with its decision boundary",
        &[cli::value(
            "plot",
            "FILE",
            "where the boundary picture goes (default target/moons.svg)",
        )],
    );
    let (x, y) = make_moons(100, 0.1, 7);
    println!("two moons: 200 points, noise 0.1; MLP 2-16-16-2 (tanh), Adam lr 0.02, full batch");
    let (model, losses) = train(&x, &y, 500, 0);
    for (i, l) in losses.iter().enumerate() {
        if i % 100 == 0 || i == losses.len() - 1 {
            println!("step {i:>3}  loss {l:.4}");
        }
    }
    println!("training accuracy: {:.3}", accuracy(&model, &x, &y));
    let (xt, yt) = make_moons(100, 0.1, 8);
    println!(
        "accuracy on 200 fresh points: {:.3}",
        accuracy(&model, &xt, &yt)
    );
    // Generated files go under target/ unless the user names a place.
    let path = args
        .text("plot")
        .unwrap_or_else(|| "target/moons.svg".into());
    if let Some(dir) = std::path::Path::new(&path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, boundary_svg(&model, &x, &y)) {
        Ok(()) => println!("decision boundary written to {path}"),
        Err(e) => eprintln!("could not write {path}: {e}"),
    }
}
