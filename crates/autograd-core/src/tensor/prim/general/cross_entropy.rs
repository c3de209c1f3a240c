//! Cross-entropy of logits `[..., classes]` against class ids, fused: the
//! log-softmax, the pick of each row's target, label smoothing, ignored rows
//! and the reduction are one node (PyTorch's `F.cross_entropy` with
//! `ignore_index`, `label_smoothing` and `reduction`).
//!
//! Per row with target t: `lse - x[t]`, or with smoothing ε
//! `(1 - ε)(lse - x[t]) + ε (lse - mean(x))`, lse = ln Σ e^x. Rows whose
//! target is `ignore_index` count for nothing, and the mean is over the
//! other rows (NaN when there are none, as in PyTorch). VJP:
//! `w (softmax(x) - q)`, q = (1 - ε) onehot(t) + ε / classes, w the row's
//! weight (the adjoint; / count for the mean; 0 for an ignored row). The
//! targets are an input of the node (whole numbers in a float tensor), so
//! replay with new targets uses them; they get no gradient.

use smallvec::{smallvec, SmallVec};

use crate::tensor::pointwise::Pointwise;
use crate::tensor::pool;
use crate::tensor::prim::{Apply, Primitive};
use crate::tensor::shape::fmt_shape;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

/// How per-row losses become the result.
///
/// ```
/// assert_eq!(autograd_core::Reduction::default(), autograd_core::Reduction::Mean);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean over the rows that count (PyTorch's default).
    #[default]
    Mean,
    /// The sum.
    Sum,
    /// No reduction: one loss per row, shape `logits.shape[..-1]`.
    None,
}

/// The options of [`TensorVar::cross_entropy`], PyTorch's keyword
/// arguments as a builder.
///
/// ```
/// use autograd_core::{CrossEntropy, Reduction};
/// let o = CrossEntropy::new().ignore_index(0).label_smoothing(0.1).reduction(Reduction::Sum);
/// assert_eq!((o.ignore_index, o.reduction), (Some(0), Reduction::Sum));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CrossEntropy {
    /// Rows whose target is this id count for nothing (padding).
    pub ignore_index: Option<usize>,
    /// ε in [0, 1]: the target distribution is (1 - ε) one-hot + ε uniform.
    pub label_smoothing: f64,
    /// Mean (default), sum or none.
    pub reduction: Reduction,
}

impl CrossEntropy {
    /// The defaults: no ignored id, no smoothing, the mean.
    pub fn new() -> Self {
        Self::default()
    }
    /// Rows whose target is `id` count for nothing.
    pub fn ignore_index(mut self, id: usize) -> Self {
        self.ignore_index = Some(id);
        self
    }
    /// Label smoothing ε in [0, 1].
    pub fn label_smoothing(mut self, eps: f64) -> Self {
        self.label_smoothing = eps;
        self
    }
    /// How per-row losses become the result.
    pub fn reduction(mut self, r: Reduction) -> Self {
        self.reduction = r;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CrossEntropyOp<T> {
    ignore: Option<usize>,
    eps: T,
    reduction: Reduction,
}

impl<T: Real> CrossEntropyOp<T> {
    /// Each row's target class, or `None` for an ignored row; panics naming
    /// the first target that is not a class.
    #[track_caller]
    fn targets(&self, t: &Tensor<T>, classes: usize) -> Vec<Option<usize>> {
        t.data()
            .iter()
            .map(|&v| {
                let f = v.to_f64();
                let whole = f >= 0.0 && f.fract() == 0.0 && f.is_finite();
                let id = whole.then_some(f as usize);
                if id.is_some() && id == self.ignore {
                    return None;
                }
                match id.filter(|&c| c < classes) {
                    Some(c) => Some(c),
                    None => panic!(
                        "cross_entropy: target {f} is not a class in 0..{classes} (nor the ignored id)"
                    ),
                }
            })
            .collect()
    }

    /// The weight of each row's loss in the result.
    fn row_weights(&self, targets: &[Option<usize>]) -> Vec<f64> {
        let counted = targets.iter().filter(|t| t.is_some()).count();
        let w = match self.reduction {
            Reduction::Mean => 1.0 / counted as f64,
            Reduction::Sum | Reduction::None => 1.0,
        };
        targets.iter().map(|t| if t.is_some() { w } else { 0.0 }).collect()
    }
}

/// The largest logit of a row (NaN-blind: a NaN row stays NaN through e^x).
#[inline(always)]
fn row_max<T: Real>(row: &[T]) -> T {
    row.iter()
        .fold(T::ZERO - T::INFINITY, |m, &v| if v > m { v } else { m })
}

/// A row's target distribution at class `c`: (1 - ε) one-hot + ε / classes.
#[inline(always)]
fn target_prob<T: Real>(c: usize, t: usize, eps: f64, classes: usize) -> T {
    let one = if c == t { 1.0 - eps } else { 0.0 };
    T::from_f64(one + eps / classes as f64)
}

/// The VJP at one logit, from e = e^(x - max), the row's sum s of e, the
/// target probability q and the row's weight times its adjoint wg:
/// (e / s - q) wg. Written once for numbers and tensors, so the sweep's
/// kernel and the general rule agree bit for bit.
#[inline(always)]
fn grad_formula<T: Real, E: Pointwise<T>>(e: &E, s: &E, q: &E, wg: &E) -> E {
    e.div(s).sub(q).mul(wg)
}

impl<T: Real> Primitive<T> for CrossEntropyOp<T> {
    const NAME: &'static str = "cross_entropy";

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let shape = x[0].shape();
        let classes = shape[shape.len() - 1];
        let targets = self.targets(x[1], classes);
        let eps = self.eps;
        let inv_c = T::ONE / T::from_f64(classes as f64);
        let rows: Vec<T> = x[0]
            .data()
            .chunks(classes)
            .zip(&targets)
            .map(|(row, t)| {
                let Some(t) = *t else { return T::ZERO };
                let m = row.iter().fold(T::ZERO - T::INFINITY, |m, &v| if v > m { v } else { m });
                let mut s = T::ZERO;
                for &v in row {
                    s += (v - m).exp();
                }
                let lse = s.ln() + m;
                let nll = lse - row[t];
                if eps == T::ZERO {
                    return nll;
                }
                let mut mean = T::ZERO;
                for &v in row {
                    mean += v;
                }
                (T::ONE - eps) * nll + eps * (lse - mean * inv_c)
            })
            .collect();
        match self.reduction {
            Reduction::None => Tensor::from_vec(rows, &shape[..shape.len() - 1]),
            r => {
                let mut total = T::ZERO;
                for &l in &rows {
                    total += l;
                }
                if r == Reduction::Mean {
                    let counted = targets.iter().filter(|t| t.is_some()).count();
                    total = total / T::from_f64(counted as f64);
                }
                Tensor::scalar(total)
            }
        }
    }

    fn vjp<V: Apply<T>>(&self, x: &[&V], _y: &V, g: &V, need: &[bool]) -> SmallVec<[Option<V>; 3]> {
        if !need[0] {
            return smallvec![None, None];
        }
        let logits = x[0];
        let shape = logits.shape();
        let (nd, classes) = (shape.len(), shape[shape.len() - 1]);
        let mut kept = shape.clone();
        kept[nd - 1] = 1;
        let values = logits.value();
        let targets = self.targets(&x[1].value(), classes);
        // The rows' maxima as a constant: the softmax does not depend on
        // the shift, so neither does its derivative.
        let maxima: Vec<T> = values.data().chunks(classes).map(row_max).collect();
        let shifted = logits.sub(&logits.lift(Tensor::from_vec(maxima, &kept)));
        let e = shifted.exp();
        let eps = self.eps.to_f64();
        let mut q = vec![T::ZERO; values.numel()];
        for (r, t) in targets.iter().enumerate() {
            if let Some(t) = *t {
                for (c, q) in q[r * classes..(r + 1) * classes].iter_mut().enumerate() {
                    *q = target_prob(c, t, eps, classes);
                }
            }
        }
        let w: Vec<T> = self.row_weights(&targets).into_iter().map(T::from_f64).collect();
        let w = logits.lift(Tensor::from_vec(w, &kept));
        // Each row's weight times its adjoint: small, so one pass over the
        // logits' size is saved.
        let wg = match self.reduction {
            Reduction::None => w.mul(&g.reshape(&kept)),
            _ => w.mul(g),
        };
        let q = logits.lift(Tensor::from_vec(q, &shape));
        let s = e.sum_axes(&[nd - 1], true);
        smallvec![Some(grad_formula(&e, &s, &q, &wg)), None]
    }

    fn vjp_pooled(
        &self,
        x: &[&Tensor<T>],
        _y: &Tensor<T>,
        g: &Tensor<T>,
        need: &[bool],
        pool: &mut Vec<Tensor<T>>,
    ) -> Option<SmallVec<[Option<Tensor<T>>; 3]>> {
        if !need[0] {
            return Some(smallvec![None, None]);
        }
        let logits = x[0];
        let classes = logits.shape()[logits.ndim() - 1];
        let targets = self.targets(x[1], classes);
        let weights = self.row_weights(&targets);
        let (eps, gd) = (self.eps.to_f64(), g.data());
        let mut out = pool::take(pool, logits.shape());
        let d = pool::unique(&mut out);
        let rows = logits.data().chunks(classes).zip(d.chunks_mut(classes));
        for (r, (row, dr)) in rows.enumerate() {
            // The general rule's passes, one row at a time: e^(x - max),
            // their sum from zero along the row, then the formula.
            let m = row_max(row);
            for (o, &v) in dr.iter_mut().zip(row) {
                *o = (v - m).exp();
            }
            let mut s = T::ZERO;
            for &e in dr.iter() {
                s += e;
            }
            let g_r = if self.reduction == Reduction::None { gd[r] } else { gd[0] };
            let wg = T::from_f64(weights[r]) * g_r;
            for (c, o) in dr.iter_mut().enumerate() {
                let q = targets[r].map_or(T::ZERO, |t| target_prob(c, t, eps, classes));
                *o = grad_formula(o, &s, &q, &wg);
            }
        }
        Some(smallvec![Some(out), None])
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Cross-entropy of these logits (`[..., classes]`) against `targets`,
    /// class ids as whole numbers in a variable of shape `[...]`, as one
    /// node (module docs; PyTorch's `F.cross_entropy`). The targets are an
    /// input of the node, so a replay with new targets uses them. Panics,
    /// naming the values, on mismatched shapes, a target that is not a
    /// class (nor the ignored id), or smoothing outside [0, 1].
    ///
    /// ```
    /// use autograd_core::{CrossEntropy, Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// // Two sequences of two tokens, three classes; id 0 is padding.
    /// let logits = tape.leaf(Tensor::from_vec(vec![0.0_f64; 12], &[2, 2, 3]));
    /// let targets = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 0.0, 1.0], &[2, 2]));
    /// let loss = logits.cross_entropy(targets, CrossEntropy::new().ignore_index(0));
    /// assert!((loss.item() - 3.0_f64.ln()).abs() < 1e-15); // uniform logits
    /// let g = loss.backward()[logits].to_vec();
    /// assert_eq!(&g[6..9], &[0.0, 0.0, 0.0]); // the padding row gets nothing
    /// ```
    #[track_caller]
    pub fn cross_entropy(self, targets: Self, options: CrossEntropy) -> Self {
        let (shape, ts) = (self.shape(), targets.shape());
        if shape.is_empty() || shape[shape.len() - 1] == 0 {
            panic!(
                "cross_entropy: expects [..., classes] logits with at least one class, got shape {}",
                fmt_shape(&shape)
            );
        }
        if ts.as_slice() != &shape[..shape.len() - 1] {
            panic!(
                "cross_entropy: targets have shape {} but logits {} need {}",
                fmt_shape(&ts),
                fmt_shape(&shape),
                fmt_shape(&shape[..shape.len() - 1])
            );
        }
        let eps = options.label_smoothing;
        if !(0.0..=1.0).contains(&eps) {
            panic!("cross_entropy: label_smoothing must be in [0, 1], got {eps}");
        }
        let op = CrossEntropyOp {
            ignore: options.ignore_index,
            eps: T::from_f64(eps),
            reduction: options.reduction,
        };
        self.general(&[targets], op)
    }
}
