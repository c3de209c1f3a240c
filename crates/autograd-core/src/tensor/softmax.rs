//! The softmax family: logsumexp, softmax and log-softmax along an axis,
//! each computed around the line's maximum so it neither overflows nor
//! underflows; forward kernels, recording, VJPs and the sweep's pooled VJP.

use super::algebra::Algebra;
use super::elementwise::zip_broadcast;
use super::fold::split3;
use super::pointwise::Pointwise;
use super::pool;
use super::reduce::{check_nonempty_reduction, is_max_better};
use super::shape::{Shape, norm_axes, norm_axis, reduced_shape};
use super::tape::{Axes, Op, TensorVar};
use super::value::Tensor;
use crate::Real;

/// Softmax (or log-softmax) along `ax` into `out`, one pass per line along
/// the axis and no temporaries. The arithmetic is, element by element, the
/// composite it replaces (`m` = the line's maximum, NaN-propagating; shift
/// by `m` where finite, else 0; `s` = the sum of `e^(x - shift)` in axis
/// order; softmax `e^(x - shift) / s`, log-softmax `x - (ln s + shift)`),
/// so results did not change when it was fused. Recording and replay both
/// call it.
pub(crate) fn softmax_into<T: Real>(x: &Tensor<T>, ax: usize, log: bool, out: &mut [T]) {
    let (outer, len, inner) = split3(x.shape(), ax, ax + 1);
    let d = x.data();
    debug_assert_eq!(out.len(), d.len());
    for o in 0..outer {
        for i in 0..inner {
            let at = |l: usize| (o * len + l) * inner + i;
            let mut m = -T::INFINITY;
            for l in 0..len {
                let v = d[at(l)];
                if is_max_better(m, v) {
                    m = v;
                }
            }
            let shift = if m.is_finite() { m } else { T::ZERO };
            let mut s = T::ZERO;
            for l in 0..len {
                s += (d[at(l)] - shift).exp();
            }
            if log {
                let lse = s.ln() + shift;
                for l in 0..len {
                    out[at(l)] = d[at(l)] - lse;
                }
            } else {
                for l in 0..len {
                    out[at(l)] = (d[at(l)] - shift).exp() / s;
                }
            }
        }
    }
}

impl<T: Real> Tensor<T> {
    /// ln(sum(exp(x))) over `axes`, computed around the maximum so it
    /// neither overflows nor underflows.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1000.0_f64, 1000.0], &[2]);
    /// assert_eq!(t.logsumexp(&[0], false).item(), 1000.0 + 2.0_f64.ln());
    /// ```
    #[track_caller]
    pub fn logsumexp(&self, axes: &[isize], keepdim: bool) -> Self {
        let axes = norm_axes("logsumexp", axes, self.shape());
        self.logsumexp_resolved(&axes, keepdim)
    }

    #[track_caller]
    pub(crate) fn logsumexp_resolved(&self, axes: &[usize], keepdim: bool) -> Self {
        let m = self.extremum_resolved("logsumexp", axes, true, true);
        // A row of -inf has max -inf; shifting by 0 there keeps exp finite.
        let shift = m.map(|v| if v.is_finite() { v } else { T::ZERO });
        let s = zip_broadcast("logsumexp", self, &shift, |x, m| (x - m).exp());
        let lse = s.sum_resolved(axes, true).ln().add(&shift);
        if keepdim {
            lse
        } else {
            lse.into_shape(&reduced_shape(self.shape(), axes, false))
        }
    }

    /// exp(x) / sum(exp(x)) along `axis`, shifted by the maximum for
    /// stability.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![0.0_f64, 0.0, 1000.0, 1000.0], &[2, 2]);
    /// assert_eq!(t.softmax(-1).to_vec(), vec![0.5; 4]);
    /// ```
    #[track_caller]
    pub fn softmax(&self, axis: isize) -> Self {
        let ax = norm_axis("softmax", axis, self.shape());
        self.softmax_resolved(ax)
    }

    pub(crate) fn softmax_resolved(&self, ax: usize) -> Self {
        self.fused_softmax("softmax", ax, false)
    }

    /// Softmax or log-softmax into a new tensor (see [`softmax_into`]).
    #[track_caller]
    fn fused_softmax(&self, op: &str, ax: usize, log: bool) -> Self {
        check_nonempty_reduction(op, self.shape(), &[ax]);
        let mut out = Tensor::filled(Shape::from_slice(self.shape()), T::ZERO);
        softmax_into(self, ax, log, out.data_mut());
        out
    }

    /// x - logsumexp(x) along `axis`: log-probabilities, stable for large
    /// inputs.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![0.0_f64, 0.0], &[2]);
    /// assert_eq!(t.log_softmax(0).to_vec(), vec![-(2.0_f64.ln()); 2]);
    /// ```
    #[track_caller]
    pub fn log_softmax(&self, axis: isize) -> Self {
        let ax = norm_axis("log_softmax", axis, self.shape());
        self.log_softmax_resolved(ax)
    }

    #[track_caller]
    pub(crate) fn log_softmax_resolved(&self, ax: usize) -> Self {
        self.fused_softmax("log_softmax", ax, true)
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Stable ln(sum(exp(x))) over `axes`. VJP: g exp(x - y).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64, 0.0], &[2]));
    /// assert_eq!(x.logsumexp(&[0], false).backward()[x].to_vec(), vec![0.5, 0.5]);
    /// ```
    #[track_caller]
    pub fn logsumexp(self, axes: &[isize], keepdim: bool) -> Self {
        let axes = norm_axes("logsumexp", axes, &self.shape());
        let value = self
            .tape
            .with_node(self.index, |n| n.value.logsumexp_resolved(&axes, keepdim));
        self.tape.record(
            Op::LogSumExp {
                axes: Axes::from(&axes[..]),
                keepdim,
            },
            &[self],
            value,
        )
    }

    /// Softmax along `axis`. VJP: y (g - sum(g y)).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let p = x.softmax(0);
    /// // The probabilities sum to 1 whatever x is: the gradient of their sum is 0.
    /// assert!(p.sum().backward()[x].data().iter().all(|g| g.abs() < 1e-15));
    /// ```
    #[track_caller]
    pub fn softmax(self, axis: isize) -> Self {
        let ax = norm_axis("softmax", axis, &self.shape());
        self.record_unary(Op::Softmax(ax), |x| x.softmax_resolved(ax))
    }

    /// Log-softmax along `axis`. VJP: g - exp(y) sum(g).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64, 0.0], &[1, 2]));
    /// let picked = x.log_softmax(-1).narrow(1, 0, 1).sum();
    /// assert_eq!(picked.backward()[x].to_vec(), vec![0.5, -0.5]);
    /// ```
    #[track_caller]
    pub fn log_softmax(self, axis: isize) -> Self {
        let ax = norm_axis("log_softmax", axis, &self.shape());
        self.record_unary(Op::LogSoftmax(ax), |x| x.log_softmax_resolved(ax))
    }
}

// ---------------------------------------------------------------------------
// Vector-Jacobian products.

pub(crate) fn logsumexp_vjp<T: Real, V: Algebra<T>>(
    x: &V,
    y: &V,
    g: &V,
    axes: &[usize],
    keepdim: bool,
) -> V {
    let kept = reduced_shape(&x.shape(), axes, true);
    let (g, y) = if keepdim {
        (g.clone(), y.clone())
    } else {
        (g.reshape(&kept), y.reshape(&kept))
    };
    g.mul(&x.sub(&y).exp())
}

// Each rule is two parts: a sum along the axis (`softmax`: of g y;
// `log_softmax`: of g) and an elementwise formula of g, y and that sum,
// written once over `Pointwise`. The general rule runs the formula on
// tensors with the sum from `sum_axes`; the sweep's pooled rule runs it on
// numbers, line by line, with the sum accumulated in the same order (from
// zero, along the axis), so the two agree bit for bit (pool.rs).

/// What is summed along the axis, from one element of g and y.
#[inline(always)]
fn summand<T: Real, E: Pointwise<T>>(log: bool, g: &E, y: &E) -> E {
    if log { g.clone() } else { g.mul(y) }
}

/// The gradient from g, y and the line's sum `s`.
#[inline(always)]
fn formula<T: Real, E: Pointwise<T>>(log: bool, g: &E, y: &E, s: &E) -> E {
    if log {
        // g - e^y Σg
        g.sub(&y.exp().mul(s))
    } else {
        // g y - y Σ(g y)
        g.mul(y).sub(&y.mul(s))
    }
}

fn rule<T: Real, V: Algebra<T>>(log: bool, y: &V, g: &V, axis: usize) -> V {
    let s = summand(log, g, y).sum_axes(&[axis], true);
    formula(log, g, y, &s)
}

pub(crate) fn softmax_vjp<T: Real, V: Algebra<T>>(y: &V, g: &V, axis: usize) -> V {
    rule(false, y, g, axis)
}

pub(crate) fn log_softmax_vjp<T: Real, V: Algebra<T>>(y: &V, g: &V, axis: usize) -> V {
    rule(true, y, g, axis)
}

/// [`softmax_vjp`] (`log` false) or [`log_softmax_vjp`] (`log` true) in one
/// pass per line along `axis` into a pooled buffer, when `g` has the
/// output's shape: the same summand and formula on numbers.
pub(crate) fn softmax_vjp_pooled<T: Real>(
    y: &Tensor<T>,
    g: &Tensor<T>,
    axis: usize,
    log: bool,
    pool: &mut Vec<Tensor<T>>,
) -> Option<Tensor<T>> {
    if !super::shape::same_shape(y.shape(), g.shape()) {
        return None;
    }
    let (outer, len, inner) = split3(y.shape(), axis, axis + 1);
    let mut out = pool::take(pool, y.shape());
    let (d, yd, gd) = (pool::unique(&mut out), y.data(), g.data());
    for o in 0..outer {
        for i in 0..inner {
            let at = |l: usize| (o * len + l) * inner + i;
            let mut s = T::ZERO;
            for l in 0..len {
                s += summand(log, &gd[at(l)], &yd[at(l)]);
            }
            for l in 0..len {
                d[at(l)] = formula(log, &gd[at(l)], &yd[at(l)], &s);
            }
        }
    }
    Some(out)
}
