//! Gradient checking: the tape's gradient against central finite differences.

use std::fmt;

use crate::{Tape, Var};

/// Settings for a gradient check; [`gradcheck`] uses the defaults.
///
/// The numerical derivative of input `i` is a central difference with step
/// `h = step * max(1, |x_i|)`, refined by one Richardson extrapolation
/// (`(4 D(h/2) - D(h)) / 3`, error O(h^4)), so it is accurate to about 1e-9
/// relative for smooth functions of moderate size. The check passes when
/// `|tape - numeric| / max(|tape|, |numeric|, floor) <= tolerance` for every
/// input.
///
/// ```
/// use autograd_core::GradCheck;
/// let report = GradCheck::new()
///     .tolerance(1e-8)
///     .run(|_, x| (x[0] * x[1]).sin(), &[0.3, -1.2])
///     .unwrap();
/// assert!(report.max_error < 1e-8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheck {
    step: f64,
    tolerance: f64,
    floor: f64,
}

impl Default for GradCheck {
    fn default() -> Self {
        Self::new()
    }
}

/// What a passing check measured.
///
/// ```
/// let r = autograd_core::gradcheck(|_, x| x[0] * x[0], &[3.0]).unwrap();
/// assert_eq!((r.value, r.analytic[0]), (9.0, 6.0));
/// assert!((r.numeric[0] - 6.0).abs() < 1e-9);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    /// The function's value at the point.
    pub value: f64,
    /// The tape's gradient.
    pub analytic: Vec<f64>,
    /// The finite-difference gradient.
    pub numeric: Vec<f64>,
    /// The largest relative error (with the floor) over the inputs.
    pub max_error: f64,
}

/// A failed gradient check: which input, both values, and the error.
///
/// ```
/// // sqrt has an infinite derivative at 0: the check refuses it.
/// let e = autograd_core::gradcheck(|_, x| x[0].sqrt(), &[0.0]).unwrap_err();
/// assert_eq!(e.input, 0);
/// assert!(e.to_string().starts_with("gradcheck failed for input 0"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckError {
    /// Index of the offending input.
    pub input: usize,
    /// Its value.
    pub x: f64,
    /// The tape's derivative.
    pub analytic: f64,
    /// The finite-difference derivative.
    pub numeric: f64,
    /// Relative error with the floor (NaN if either is not finite).
    pub error: f64,
    /// The tolerance it exceeded.
    pub tolerance: f64,
}

impl fmt::Display for GradCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gradcheck failed for input {} (x[{}] = {:e}): the tape gives {:e}, \
             finite differences give {:e}; relative error {:.3e} > tolerance {:.1e}",
            self.input, self.input, self.x, self.analytic, self.numeric, self.error, self.tolerance
        )
    }
}

impl std::error::Error for GradCheckError {}

impl GradCheck {
    /// Defaults: step 1e-4, tolerance 1e-6, floor 1e-3.
    ///
    /// ```
    /// let c = autograd_core::GradCheck::new();
    /// # let _ = c;
    /// ```
    pub fn new() -> Self {
        GradCheck {
            step: 1e-4,
            tolerance: 1e-6,
            floor: 1e-3,
        }
    }

    /// Relative finite-difference step (`h = step * max(1, |x_i|)`). Make it
    /// smaller than the distance to a singularity (e.g. `ln` near 0).
    ///
    /// ```
    /// let c = autograd_core::GradCheck::new().step(1e-9);
    /// # let _ = c;
    /// ```
    pub fn step(mut self, step: f64) -> Self {
        self.step = step;
        self
    }

    /// Largest relative error accepted.
    ///
    /// ```
    /// let c = autograd_core::GradCheck::new().tolerance(1e-4);
    /// # let _ = c;
    /// ```
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Magnitude below which errors count as absolute rather than relative.
    ///
    /// ```
    /// let c = autograd_core::GradCheck::new().floor(1.0);
    /// # let _ = c;
    /// ```
    pub fn floor(mut self, floor: f64) -> Self {
        self.floor = floor;
        self
    }

    /// Checks `f` at `x`. `f` gets the tape and one variable per input and
    /// returns the scalar output.
    ///
    /// ```
    /// use autograd_core::GradCheck;
    /// // A function whose tape gradient is wrong: `c` is the value of `x`
    /// // taken off the tape, so d/dx misses one factor.
    /// let err = GradCheck::new()
    ///     .run(|tape, x| tape.constant(x[0].value()) * x[0], &[3.0])
    ///     .unwrap_err();
    /// assert_eq!(err.input, 0);
    /// assert_eq!(err.analytic, 3.0);
    /// assert!((err.numeric - 6.0).abs() < 1e-6);
    /// ```
    pub fn run<F>(&self, f: F, x: &[f64]) -> Result<GradCheckReport, GradCheckError>
    where
        F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Var<'t, f64>,
    {
        let mut tape = Tape::new();
        let (value, analytic) = {
            let vars = tape.vars(x);
            let y = f(&tape, &vars);
            (y.value(), y.backward().wrt_all(&vars))
        };
        tape.clear();
        let mut point = x.to_vec();
        let eval = |point: &[f64], tape: &mut Tape<f64>| {
            let v = {
                let vars = tape.vars(point);
                f(tape, &vars).value()
            };
            tape.clear();
            v
        };
        let mut numeric = Vec::with_capacity(x.len());
        let mut max_error: f64 = 0.0;
        for i in 0..x.len() {
            let h = self.step * x[i].abs().max(1.0);
            let mut central = |h: f64| {
                point[i] = x[i] + h;
                let up = eval(&point, &mut tape);
                point[i] = x[i] - h;
                let down = eval(&point, &mut tape);
                point[i] = x[i];
                (up - down) / (2.0 * h)
            };
            let (d1, d2) = (central(h), central(h / 2.0));
            let n = (4.0 * d2 - d1) / 3.0;
            numeric.push(n);
            let a = analytic[i];
            let error = if a.is_finite() && n.is_finite() {
                (a - n).abs() / a.abs().max(n.abs()).max(self.floor)
            } else {
                f64::NAN
            };
            if error.is_nan() || error > self.tolerance {
                return Err(GradCheckError {
                    input: i,
                    x: x[i],
                    analytic: a,
                    numeric: n,
                    error,
                    tolerance: self.tolerance,
                });
            }
            max_error = max_error.max(error);
        }
        Ok(GradCheckReport {
            value,
            analytic,
            numeric,
            max_error,
        })
    }
}

/// [`GradCheck::run`] with the default settings.
///
/// ```
/// use autograd_core::gradcheck;
/// let report = gradcheck(|_, x| x[0].exp() * x[1].tanh(), &[0.4, -0.7]).unwrap();
/// assert_eq!(report.analytic.len(), 2);
/// ```
pub fn gradcheck<F>(f: F, x: &[f64]) -> Result<GradCheckReport, GradCheckError>
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Var<'t, f64>,
{
    GradCheck::new().run(f, x)
}
