//! Newton's method on the 2-d Rosenbrock function
//! f(x, y) = (1 - x)² + 100 (y - x²)², from (-1.2, 1), with the gradient and
//! the Hessian both from the tape (the Hessian by differentiating the
//! recorded gradient). Prints each iterate; the last line is the final point.
//!
//! Run: `cargo run --example newton`

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use autograd::tensor::{hessian, value_and_grad};
use autograd::{Tensor, TensorVar};

/// Rosenbrock of a 2-vector, written once for values and derivatives alike.
pub fn rosenbrock(v: TensorVar<'_, f64>) -> TensorVar<'_, f64> {
    let (x, y) = (v.narrow(0, 0, 1), v.narrow(0, 1, 1));
    ((1.0 - x).square() + (y - x.square()).square() * 100.0).sum()
}

/// Newton iterates from `start` until the step is below `tol` (at most
/// `max_iter` steps): every point visited, the start first.
pub fn newton(start: [f64; 2], tol: f64, max_iter: usize) -> Vec<[f64; 2]> {
    let mut p = start;
    let mut path = vec![p];
    for _ in 0..max_iter {
        let x = Tensor::from_vec(p.to_vec(), &[2]);
        let (_, g) = value_and_grad(rosenbrock, &x);
        let h = hessian(rosenbrock, &x);
        // Solve H d = g for the 2x2 case by Cramer's rule.
        let (a, b, c, d) = (
            h.get(&[0, 0]),
            h.get(&[0, 1]),
            h.get(&[1, 0]),
            h.get(&[1, 1]),
        );
        let det = a * d - b * c;
        let (g0, g1) = (g.get(&[0]), g.get(&[1]));
        let step = [(d * g0 - b * g1) / det, (a * g1 - c * g0) / det];
        p = [p[0] - step[0], p[1] - step[1]];
        path.push(p);
        if step[0].hypot(step[1]) < tol {
            break;
        }
    }
    path
}

#[allow(dead_code)]
fn main() {
    cli::parse(
        "newton",
        "Newton's method on the 2-d Rosenbrock function, derivatives from the tape",
        &[],
    );
    println!("Newton's method on Rosenbrock from (-1.2, 1); gradient and Hessian from the tape\n");
    let path = newton([-1.2, 1.0], 1e-14, 25);
    for (k, p) in path.iter().enumerate() {
        let (f, _) = value_and_grad(rosenbrock, &Tensor::from_vec(p.to_vec(), &[2]));
        println!(
            "iterate {k:>2}: ({:+.15}, {:+.15})  f = {f:.3e}",
            p[0], p[1]
        );
    }
    let last = path[path.len() - 1];
    println!("({:.15}, {:.15})", last[0], last[1]);
}
