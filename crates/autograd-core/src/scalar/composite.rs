//! Functions built from the primitives. None of them contains derivative
//! code: their gradients come from the tape, like those of any user function.
//! Where a branch on the *value* keeps a formula numerically stable, the branch
//! is ordinary control flow, recorded as whichever primitives ran.

use super::tape::Var;
use crate::Real;

impl<'t, T: Real> Var<'t, T> {
    /// The logistic function 1 / (1 + e^-x), stable for large |x|
    /// (written as e^x / (1 + e^x) for negative x, so e^-x never overflows).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(0.0);
    /// let s = x.sigmoid();
    /// assert_eq!(s.value(), 0.5);
    /// assert_eq!(s.backward()[x], 0.25);
    /// ```
    pub fn sigmoid(self) -> Self {
        if !self.guard_lt(T::ZERO) {
            (-self).exp().add_scalar(T::ONE).rdiv_scalar(T::ONE)
        } else {
            let e = self.exp();
            e / e.add_scalar(T::ONE)
        }
    }

    /// ln(1 + e^x), stable for large |x|: x + ln(1 + e^-x) for positive x.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(800.0);
    /// let y = x.softplus();
    /// assert_eq!(y.value(), 800.0);
    /// assert_eq!(y.backward()[x], 1.0);
    /// ```
    pub fn softplus(self) -> Self {
        if self.guard_gt(T::ZERO) {
            self + (-self).exp().ln_1p()
        } else {
            self.exp().ln_1p()
        }
    }

    /// max(x, 0), written as x times a 0/1 mask read off the value. The mask
    /// is a constant, so the derivative is 1 for x > 0 and 0 for x <= 0 (the
    /// subgradient PyTorch uses at 0). Reading the mask is a branch on the
    /// value, so it is guarded: replaying a tape where x changes sign is
    /// refused, not answered with the old mask.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(-2.0);
    /// assert_eq!(x.relu().value(), 0.0);
    /// assert_eq!(x.relu().backward()[x], 0.0);
    /// ```
    pub fn relu(self) -> Self {
        let mask = if self.guard_gt(T::ZERO) {
            T::ONE
        } else {
            T::ZERO
        };
        self.mul_scalar(mask)
    }

    /// x^2 (same as `powi(2)`).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(3.0);
    /// assert_eq!(x.square().backward()[x], 6.0);
    /// ```
    pub fn square(self) -> Self {
        self.powi(2)
    }
}

/// Sum of a non-empty slice of variables, recorded as a chain of additions.
///
/// # Panics
/// If `xs` is empty (there is no tape to put a zero on).
///
/// ```
/// use autograd_core::{scalar, Tape};
/// let tape = Tape::new();
/// let xs = tape.vars(&[1.0, 2.0, 3.0]);
/// let s = scalar::sum(&xs);
/// assert_eq!(s.value(), 6.0);
/// assert_eq!(s.backward().wrt_all(&xs), vec![1.0, 1.0, 1.0]);
/// ```
#[track_caller]
pub fn sum<'t, T: Real>(xs: &[Var<'t, T>]) -> Var<'t, T> {
    let Some((&first, rest)) = xs.split_first() else {
        panic!("sum: empty slice of variables (a sum needs at least one term to know its tape)");
    };
    rest.iter().fold(first, |acc, &x| acc + x)
}

/// ln(sum_i e^(x_i)), computed stably: the largest value m is subtracted
/// first (as a plain number, so it adds nothing to the gradient), giving
/// m + ln(sum_i e^(x_i - m)). Its gradient is the softmax of `xs`.
///
/// # Panics
/// If `xs` is empty.
///
/// ```
/// use autograd_core::{scalar, Tape};
/// let tape = Tape::new();
/// let xs = tape.vars(&[1000.0, 1000.0]);
/// let l = scalar::logsumexp(&xs);
/// assert!((l.value() - (1000.0 + 2.0_f64.ln())).abs() < 1e-12);
/// assert_eq!(l.backward().wrt_all(&xs), vec![0.5, 0.5]);
/// ```
#[track_caller]
pub fn logsumexp<'t, T: Real>(xs: &[Var<'t, T>]) -> Var<'t, T> {
    if xs.is_empty() {
        panic!(
            "logsumexp: empty slice of variables (the log of an empty sum is -inf and has no tape)"
        );
    }
    let mut m = xs[0].value();
    for x in &xs[1..] {
        if x.value() > m {
            m = x.value();
        }
    }
    // An infinite maximum would turn x - m into NaN; the shift is only for
    // stability, so any finite shift is correct.
    if !m.is_finite() {
        m = T::ZERO;
    }
    let terms: Vec<Var<'t, T>> = xs.iter().map(|&x| x.sub_scalar(m).exp()).collect();
    sum(&terms).ln().add_scalar(m)
}
