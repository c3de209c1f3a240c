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

/// The curves as an SVG: mean training loss per epoch (left axis) and test
/// accuracy (right axis, 0.8 to 1).
fn svg(losses: &[f32], accs: &[f64]) -> String {
    let (w, h, m) = (640.0, 360.0, 50.0);
    let n = losses.len().max(2) as f64 - 1.0;
    let max_loss = losses.iter().cloned().fold(0.0_f32, f32::max).max(1e-6) as f64;
    let x = |i: usize| m + (w - 2.0 * m) * i as f64 / n;
    let y_loss = |l: f32| h - m - (h - 2.0 * m) * l as f64 / max_loss;
    let y_acc = |a: f64| h - m - (h - 2.0 * m) * ((a - 0.8) / 0.2).clamp(0.0, 1.0);
    let line = |pts: Vec<(f64, f64)>, colour: &str| {
        let p: Vec<String> = pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
        format!(
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            p.join(" ")
        )
    };
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    s += &format!(r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    s += &format!(
        r#"<line x1="{m}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
        h - m,
        w - m,
        h - m
    );
    s += &format!(
        r#"<line x1="{m}" y1="{m}" x2="{m}" y2="{}" stroke="black"/>"#,
        h - m
    );
    s += &format!(
        r#"<line x1="{}" y1="{m}" x2="{}" y2="{}" stroke="black"/>"#,
        w - m,
        w - m,
        h - m
    );
    // Ticks and a light grid (under the curves): epochs along x, loss on the left axis,
    // accuracy on the right one.
    let epochs = losses.len();
    let step = if epochs > 20 {
        5
    } else if epochs > 8 {
        2
    } else {
        1
    };
    for e in (1..=epochs).filter(|e| *e == 1 || e % step == 0) {
        let xe = x(e - 1);
        s += &format!(
            r##"<line x1="{xe:.1}" y1="{}" x2="{xe:.1}" y2="{}" stroke="black"/><text x="{xe:.1}" y="{}" text-anchor="middle">{e}</text>"##,
            h - m,
            h - m + 5.0,
            h - m + 18.0
        );
    }
    for k in 0..=4 {
        let frac = k as f64 / 4.0;
        let yk = h - m - (h - 2.0 * m) * frac;
        s += &format!(
            r##"<line x1="{m}" y1="{yk:.1}" x2="{}" y2="{yk:.1}" stroke="#ddd"/>"##,
            w - m
        );
        s += &format!(
            r##"<text x="{}" y="{:.1}" text-anchor="end" fill="firebrick">{:.2}</text>"##,
            m - 6.0,
            yk + 4.0,
            max_loss * frac
        );
        s += &format!(
            r##"<text x="{}" y="{:.1}" fill="steelblue">{:.2}</text>"##,
            w - m + 6.0,
            yk + 4.0,
            0.8 + 0.2 * frac
        );
    }
    s += &line(
        losses
            .iter()
            .enumerate()
            .map(|(i, &l)| (x(i), y_loss(l)))
            .collect(),
        "firebrick",
    );
    s += &line(
        accs.iter()
            .enumerate()
            .map(|(i, &a)| (x(i), y_acc(a)))
            .collect(),
        "steelblue",
    );
    s += &format!(
        r#"<text x="{m}" y="{}" fill="firebrick">training loss</text>"#,
        m - 12.0
    );
    s += &format!(
        r#"<text x="{}" y="{}" fill="steelblue" text-anchor="end">test accuracy</text>"#,
        w - m,
        m - 12.0
    );
    s += &format!(
        r#"<text x="{}" y="{}" text-anchor="middle">epoch</text>"#,
        w / 2.0,
        h - 12.0
    );
    s += "</svg>\n";
    s
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
