//! The T1 model, the 64-128-128-10 ReLU MLP, on the digits set (first 1500
//! rows to train, last 297 to test): softmax cross-entropy, batch 32, SGD
//! lr 0.05 with momentum 0.9 for 30 epochs (reaches 0.92-0.93 test accuracy
//! over seeds 0-7). `--t1` trains exactly as workload T1 instead (plain SGD,
//! 20 epochs: 0.89-0.91, the same range as a hand-written numpy version,
//! tools/t1_numpy_reference.py). Prints `test accuracy: 0.9xxx`, shows a progress bar
//! per epoch, writes the loss and accuracy curves as an SVG, and with
//! `--save PATH` writes the weights as safetensors named like PyTorch's
//! `nn.Sequential` state dict (`0.weight` [128, 64], ..., `4.bias`).
//!
//! Run: `cargo run --release --example digits -- [--save weights.safetensors] [--plot curves.svg]`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

#[path = "../benches/common/digits.rs"]
mod digits;

use autograd::TensorTape;
use autograd::nn::{Module, Sgd, save_safetensors};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;

/// The curves as an SVG (plotters' SVG backend): mean training loss per
/// epoch on the left axis, test accuracy on the right one (0.8 to 1), epochs
/// along the bottom, with ticks, a grid and a legend.
fn svg(losses: &[f32], accs: &[f64]) -> String {
    use plotters::prelude::*;
    let epochs = losses.len().max(2);
    let max_loss = losses.iter().cloned().fold(0.0_f32, f32::max).max(1e-6) as f64;
    let (loss_colour, acc_colour) = (RGBColor(178, 34, 34), RGBColor(70, 130, 180));
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (640, 360)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .right_y_label_area_size(55)
                .build_cartesian_2d(1..epochs, 0.0..max_loss * 1.05)?
                .set_secondary_coord(1..epochs, 0.8..1.0);
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc("training loss (mean per epoch)")
                .light_line_style(RGBColor(238, 238, 238))
                .draw()?;
            chart
                .configure_secondary_axes()
                .y_desc("test accuracy")
                .draw()?;
            chart
                .draw_series(LineSeries::new(
                    losses.iter().enumerate().map(|(i, &l)| (i + 1, l as f64)),
                    loss_colour.stroke_width(2),
                ))?
                .label("training loss")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], loss_colour));
            chart
                .draw_secondary_series(LineSeries::new(
                    accs.iter()
                        .enumerate()
                        .map(|(i, &a)| (i + 1, a.clamp(0.8, 1.0))),
                    acc_colour.stroke_width(2),
                ))?
                .label("test accuracy")
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], acc_colour));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::MiddleRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            eprintln!("digits: drawing the curves failed: {e}");
        }
    }
    out
}

fn main() {
    let args = cli::parse(
        "digits",
        "an MLP 64-128-128-10 trained on the digits, with its loss and accuracy curves",
        &[
            cli::switch("t1", "workload T1's recipe (20 epochs, no momentum)"),
            cli::value(
                "plot",
                "FILE",
                "where the curves go (default target/digits_curves.svg)",
            ),
            cli::value("save", "FILE", "write the trained weights (safetensors)"),
        ],
    );
    let t1 = args.switch("t1");
    let (epochs, momentum) = if t1 { (20, 0.0) } else { (30, 0.9) };
    println!("MLP 64-128-128-10 (ReLU) on digits: 1500 rows to train, 297 to test");
    println!(
        "softmax cross-entropy, batch 32, SGD lr 0.05 momentum {momentum}, {epochs} epochs, seed 0\n"
    );
    let data = digits::load();
    let mut model = digits::model(0);
    let mut opt = Sgd::new(0.05).momentum(momentum);
    let mut tape = TensorTape::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let (mut losses, mut accs) = (Vec::new(), Vec::new());
    let style = ProgressStyle::with_template(
        "epoch {prefix:>2} [{bar:30}] {pos}/{len} batches  loss {msg}",
    )
    .expect("template")
    .progress_chars("=> ");
    for e in 0..epochs {
        let bar = ProgressBar::new(data.train_y.numel().div_ceil(32) as u64)
            .with_style(style.clone())
            .with_prefix(format!("{}", e + 1));
        let loss = digits::epoch(&mut model, &mut opt, &mut tape, &data, &mut rng, |l| {
            bar.set_message(format!("{l:.4}"));
            bar.inc(1);
        });
        let acc = digits::accuracy(&model, &data.test_x, &data.test_y);
        bar.finish_with_message(format!("{loss:.4} (epoch mean), test accuracy {acc:.4}"));
        if bar.is_hidden() {
            // No terminal (CI, a pipe): one plain line per epoch instead.
            println!("epoch {:>2}  loss {loss:.4}  test accuracy {acc:.4}", e + 1);
        }
        losses.push(loss);
        accs.push(acc);
    }
    // Generated files go under target/ unless the user names a place.
    let plot = args
        .text("plot")
        .unwrap_or_else(|| "target/digits_curves.svg".to_string());
    if let Some(dir) = std::path::Path::new(&plot).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&plot, svg(&losses, &accs)) {
        Ok(()) => println!("\nloss and accuracy curves written to {plot}"),
        Err(e) => eprintln!("\ncould not write {plot}: {e}"),
    }
    if let Some(path) = args.text("save") {
        match save_safetensors(&model.state_dict(), &path) {
            Ok(()) => println!(
                "weights written to {path} (load in PyTorch with safetensors.torch.load_file)"
            ),
            Err(e) => eprintln!("could not save weights: {e}"),
        }
    }
    println!("test accuracy: {:.4}", accs.last().copied().unwrap_or(0.0));
}
