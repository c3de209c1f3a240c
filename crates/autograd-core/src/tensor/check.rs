//! Gradient checking for tensor functions.

use std::fmt;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::tape::{TensorTape, TensorVar};
use super::value::Tensor;

/// A failed tensor gradient check: which input and element, both
/// derivatives and the error.
///
/// ```
/// use autograd_core::{tensor_gradcheck, Tensor};
/// // sqrt's derivative is infinite at 0: the check refuses it.
/// let e = tensor_gradcheck(|_, x| x[0].sqrt(), &[Tensor::from_vec(vec![1.0, 0.0], &[2])]).unwrap_err();
/// assert_eq!((e.input, e.element), (0, 1));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TensorGradCheckError {
    /// Which input tensor.
    pub input: usize,
    /// Flat (row-major) index of the element within it.
    pub element: usize,
    /// The element's value.
    pub x: f64,
    /// The tape's derivative (the ordinary backward).
    pub analytic: f64,
    /// The finite-difference derivative, or the recorded backward's value
    /// when `recorded_backward` is set.
    pub numeric: f64,
    /// Relative error with the floor.
    pub error: f64,
    /// The tolerance it exceeded.
    pub tolerance: f64,
    /// True when it is the recorded backward (`grad_graph`) that disagrees
    /// with the ordinary one, rather than finite differences.
    pub recorded_backward: bool,
}

impl fmt::Display for TensorGradCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.recorded_backward {
            "recorded backward (grad_graph)"
        } else {
            "finite differences"
        };
        write!(
            f,
            "tensor gradcheck failed for input {} element {} (x = {:e}): tape {:e}, {} {:e}, relative error {:e} > {:e}",
            self.input,
            self.element,
            self.x,
            self.analytic,
            what,
            self.numeric,
            self.error,
            self.tolerance
        )
    }
}

impl std::error::Error for TensorGradCheckError {}

/// Checks the tape's gradient of a tensor function against central finite
/// differences (step `1e-4 max(1, |x|)`, one Richardson extrapolation),
/// with relative tolerance 1e-6 and floor 1e-3.
///
/// The output may have any shape: it is reduced to a scalar by a fixed
/// random weighting, so the whole vector-Jacobian product is tested, not
/// just its sum. The recorded backward ([`TensorTape::grad_graph`]) is also
/// checked to agree with the ordinary one (unless `f` records a
/// [`TensorTape::statement`], which has none). Returns the largest error seen.
///
/// ```
/// use autograd_core::{tensor_gradcheck, Tensor};
/// let a = Tensor::from_vec(vec![0.3, -1.2, 0.5, 2.0], &[2, 2]);
/// let b = Tensor::from_vec(vec![1.5, -0.5], &[2]);
/// let err = tensor_gradcheck(|_, x| x[0].mul(x[1]).tanh(), &[a, b]).unwrap();
/// assert!(err < 1e-6);
/// ```
pub fn tensor_gradcheck<F>(f: F, inputs: &[Tensor<f64>]) -> Result<f64, TensorGradCheckError>
where
    F: for<'t> Fn(&'t TensorTape<f64>, &[TensorVar<'t, f64>]) -> TensorVar<'t, f64>,
{
    tensor_gradcheck_with(f, inputs, 1e-4, 1e-6)
}

/// [`tensor_gradcheck`] with a chosen relative step and tolerance.
///
/// ```
/// use autograd_core::{tensor_gradcheck_with, Tensor};
/// let x = Tensor::from_vec(vec![0.5, 1.5], &[2]);
/// assert!(tensor_gradcheck_with(|_, x| x[0].exp(), &[x], 1e-3, 1e-5).is_ok());
/// ```
pub fn tensor_gradcheck_with<F>(
    f: F,
    inputs: &[Tensor<f64>],
    step: f64,
    tolerance: f64,
) -> Result<f64, TensorGradCheckError>
where
    F: for<'t> Fn(&'t TensorTape<f64>, &[TensorVar<'t, f64>]) -> TensorVar<'t, f64>,
{
    const FLOOR: f64 = 1e-3;
    let tape = TensorTape::<f64>::new();
    let vars: Vec<_> = inputs.iter().map(|x| tape.leaf(x.clone())).collect();
    let out = f(&tape, &vars);
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let weights = Tensor::<f64>::rand_uniform(&out.shape(), 0.5, 1.5, &mut rng);
    let loss = out.mul(tape.constant(weights.clone())).sum();
    let analytic = tape.grad(loss, &vars);
    // A statement's gradient is not recorded (grad_graph refuses it), so
    // there is no recorded backward to compare with.
    let recorded: Vec<Tensor<f64>> = if tape.holds_statement() {
        analytic.clone()
    } else {
        tape.grad_graph(loss, &vars)
            .iter()
            .map(|g| g.value())
            .collect()
    };

    let rel = |a: f64, b: f64| {
        let e = (a - b).abs() / a.abs().max(b.abs()).max(FLOOR);
        if e.is_nan() { f64::INFINITY } else { e }
    };
    let mut worst: f64 = 0.0;
    for (i, (a, r)) in analytic.iter().zip(&recorded).enumerate() {
        for (k, (&ga, &gr)) in a.data().iter().zip(r.data()).enumerate() {
            let e = rel(ga, gr);
            if e > 1e-12 && !(ga.is_nan() && gr.is_nan()) {
                return Err(TensorGradCheckError {
                    input: i,
                    element: k,
                    x: inputs[i].data()[k],
                    analytic: ga,
                    numeric: gr,
                    error: e,
                    tolerance: 1e-12,
                    recorded_backward: true,
                });
            }
        }
    }

    let eval = |point: &[Tensor<f64>]| -> f64 {
        let tape = TensorTape::<f64>::new();
        let vars: Vec<_> = point.iter().map(|x| tape.constant(x.clone())).collect();
        f(&tape, &vars).value().mul(&weights).sum().item()
    };
    let mut point = inputs.to_vec();
    for i in 0..inputs.len() {
        for k in 0..inputs[i].numel() {
            let x0 = inputs[i].data()[k];
            let h = step * x0.abs().max(1.0);
            let mut central = |h: f64| {
                point[i].data_mut()[k] = x0 + h;
                let up = eval(&point);
                point[i].data_mut()[k] = x0 - h;
                let down = eval(&point);
                point[i].data_mut()[k] = x0;
                (up - down) / (2.0 * h)
            };
            let (d1, d2) = (central(h), central(h / 2.0));
            let numeric = (4.0 * d2 - d1) / 3.0;
            let ga = analytic[i].data()[k];
            let e = rel(ga, numeric);
            if e > tolerance {
                return Err(TensorGradCheckError {
                    input: i,
                    element: k,
                    x: x0,
                    analytic: ga,
                    numeric,
                    error: e,
                    tolerance,
                    recorded_backward: false,
                });
            }
            worst = worst.max(e);
        }
    }
    Ok(worst)
}
