//! Loss functions, as compositions of tensor primitives (no derivative
//! code). Each takes a [`Reduction`]; the cross-entropies go through
//! `log_softmax`/`softplus` forms that stay finite for large logits.

use autograd_core::{Real, Tensor, TensorVar};

/// How per-element losses become the result (autograd-core's, shared with
/// its fused `cross_entropy`).
///
/// ```
/// assert_eq!(autograd_nn::Reduction::default(), autograd_nn::Reduction::Mean);
/// ```
pub use autograd_core::Reduction;

/// The options of the fused cross-entropy, named rather than positional
/// (PyTorch's keyword arguments): `ignore_index`, `label_smoothing`,
/// `reduction`. Targets are a variable of class ids (so a replay can change
/// them); [`TokenIds`](crate::TokenIds) gives one from integers.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{CrossEntropy, Reduction, TokenIds};
/// let tape = TensorTape::new();
/// let logits = tape.leaf(Tensor::from_vec(vec![2.0_f64, 0.0, 0.0, 2.0, 1.0, 1.0], &[3, 2]));
/// let targets = TokenIds::new(&tape, &Tensor::from_vec(vec![0_usize, 1, 9], &[3]));
/// let options = CrossEntropy::new().ignore_index(9).label_smoothing(0.1).reduction(Reduction::Mean);
/// let loss = logits.cross_entropy(targets.var(), options);
/// assert!(loss.item() > 0.0 && loss.item() < 0.3);
/// ```
pub use autograd_core::CrossEntropy;

fn reduce<'t, T: Real>(l: TensorVar<'t, T>, r: Reduction) -> TensorVar<'t, T> {
    match r {
        Reduction::Mean => l.mean(),
        Reduction::Sum => l.sum(),
        Reduction::None => l,
    }
}

#[track_caller]
fn same_shape<T: Real>(op: &str, a: TensorVar<'_, T>, b: TensorVar<'_, T>) {
    let (sa, sb) = (a.shape(), b.shape());
    if sa != sb {
        panic!(
            "{op}: prediction shape {:?} differs from target shape {:?}",
            sa.as_slice(),
            sb.as_slice()
        );
    }
}

/// Mean squared error `(pred - target)²`.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{mse_loss, Reduction};
/// let tape = TensorTape::new();
/// let p = tape.leaf(Tensor::from_vec(vec![1.0_f64, 3.0], &[2]));
/// let t = tape.constant(Tensor::from_vec(vec![0.0, 1.0], &[2]));
/// assert_eq!(mse_loss(p, t, Reduction::Mean).item(), 2.5);
/// ```
#[track_caller]
pub fn mse_loss<'t, T: Real>(
    pred: TensorVar<'t, T>,
    target: TensorVar<'t, T>,
    r: Reduction,
) -> TensorVar<'t, T> {
    same_shape("mse_loss", pred, target);
    reduce((pred - target).square(), r)
}

/// Mean absolute error `|pred - target|`.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{l1_loss, Reduction};
/// let tape = TensorTape::new();
/// let p = tape.leaf(Tensor::from_vec(vec![1.0_f64, 3.0], &[2]));
/// let t = tape.constant(Tensor::from_vec(vec![0.0, 1.0], &[2]));
/// assert_eq!(l1_loss(p, t, Reduction::Sum).item(), 3.0);
/// ```
#[track_caller]
pub fn l1_loss<'t, T: Real>(
    pred: TensorVar<'t, T>,
    target: TensorVar<'t, T>,
    r: Reduction,
) -> TensorVar<'t, T> {
    same_shape("l1_loss", pred, target);
    reduce((pred - target).abs(), r)
}

/// Huber loss: `d²/2` for `|d| <= delta`, `delta (|d| - delta/2)` beyond.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{huber_loss, Reduction};
/// let tape = TensorTape::new();
/// let p = tape.leaf(Tensor::from_vec(vec![0.5_f64, 3.0], &[2]));
/// let t = tape.constant(Tensor::from_vec(vec![0.0, 0.0], &[2]));
/// assert_eq!(huber_loss(p, t, 1.0, Reduction::None).value().to_vec(), vec![0.125, 2.5]);
/// ```
#[track_caller]
pub fn huber_loss<'t, T: Real>(
    pred: TensorVar<'t, T>,
    target: TensorVar<'t, T>,
    delta: f64,
    r: Reduction,
) -> TensorVar<'t, T> {
    same_shape("huber_loss", pred, target);
    if delta <= 0.0 || delta.is_nan() {
        panic!("huber_loss: delta must be positive, got {delta}");
    }
    let d = T::from_f64(delta);
    let a = (pred - target).abs();
    // min(|x|, delta) makes both branches one expression:
    // q (|x| - q/2) with q = min(|x|, delta).
    let q = a.clamp(T::ZERO, d);
    reduce(q * (a - q * T::HALF), r)
}

/// Binary cross-entropy on logits, stable for any logit:
/// `max(x, 0) - x y + ln(1 + e^-|x|)`.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{binary_cross_entropy_with_logits, Reduction};
/// let tape = TensorTape::new();
/// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64, 1000.0, -1000.0], &[3]));
/// let y = tape.constant(Tensor::from_vec(vec![1.0, 1.0, 1.0], &[3]));
/// let l = binary_cross_entropy_with_logits(x, y, Reduction::None).value();
/// assert!((l.get(&[0]) - 2.0_f64.ln()).abs() < 1e-15);
/// assert_eq!((l.get(&[1]), l.get(&[2])), (0.0, 1000.0));
/// ```
#[track_caller]
pub fn binary_cross_entropy_with_logits<'t, T: Real>(
    logits: TensorVar<'t, T>,
    target: TensorVar<'t, T>,
    r: Reduction,
) -> TensorVar<'t, T> {
    same_shape("binary_cross_entropy_with_logits", logits, target);
    let softplus_neg_abs = ((-logits.abs()).exp() + T::ONE).ln();
    reduce(logits.relu() - logits * target + softplus_neg_abs, r)
}

#[track_caller]
fn class_targets(op: &str, rows: usize, classes: usize, target: &Tensor<usize>) -> Tensor<usize> {
    if target.shape() != [rows] {
        panic!(
            "{op}: targets must have shape [{rows}] (one class per row), got {:?}",
            target.shape()
        );
    }
    if let Some(&bad) = target.data().iter().find(|&&c| c >= classes) {
        panic!("{op}: target class {bad} is out of range for {classes} classes");
    }
    target.reshape(&[rows, 1])
}

#[track_caller]
fn logits_2d(op: &str, shape: &[usize]) -> (usize, usize) {
    match shape {
        [n, c] if *c > 0 => (*n, *c),
        _ => panic!("{op}: expects [batch, classes] scores, got shape {shape:?}"),
    }
}

/// Negative log-likelihood of `target` classes under log-probabilities
/// `log_probs` (`[batch, classes]`): `-log_probs[i, target[i]]`.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{nll_loss, Reduction};
/// let tape = TensorTape::new();
/// let lp = tape.leaf(Tensor::from_vec(vec![-0.1_f64, -2.3, -1.2, -0.4], &[2, 2]));
/// let t = Tensor::from_vec(vec![0_usize, 1], &[2]);
/// assert!((nll_loss(lp, &t, Reduction::Mean).item() - 0.25).abs() < 1e-12);
/// ```
#[track_caller]
pub fn nll_loss<'t, T: Real>(
    log_probs: TensorVar<'t, T>,
    target: &Tensor<usize>,
    r: Reduction,
) -> TensorVar<'t, T> {
    let (n, c) = logits_2d("nll_loss", &log_probs.shape());
    let idx = class_targets("nll_loss", n, c, target);
    reduce(-log_probs.gather(1, &idx).reshape(&[n]), r)
}

/// Softmax cross-entropy of `logits` (`[..., classes]`: `[batch, classes]`,
/// or `[batch, time, classes]` for a sequence model) against class indices
/// of shape `[...]`, with optional label smoothing `eps` (the target is
/// `(1 - eps)` on the class plus `eps / classes` everywhere, as PyTorch's
/// `label_smoothing`). One fused node (autograd-core's
/// [`TensorVar::cross_entropy`], which also takes `ignore_index`), stable
/// for large logits.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{cross_entropy, Reduction};
/// let tape = TensorTape::new();
/// let logits = tape.leaf(Tensor::from_vec(vec![0.0_f64, 0.0, 1000.0, 0.0], &[2, 2]));
/// let t = Tensor::from_vec(vec![0_usize, 0], &[2]);
/// let l = cross_entropy(logits, &t, 0.0, Reduction::None).value();
/// assert!((l.get(&[0]) - 2.0_f64.ln()).abs() < 1e-15);
/// assert_eq!(l.get(&[1]), 0.0);
/// ```
#[track_caller]
pub fn cross_entropy<'t, T: Real>(
    logits: TensorVar<'t, T>,
    target: &Tensor<usize>,
    label_smoothing: f64,
    r: Reduction,
) -> TensorVar<'t, T> {
    let shape = logits.shape();
    let c = match shape.last() {
        Some(&c) if c > 0 => c,
        _ => panic!(
            "cross_entropy: expects [..., classes] scores, got shape {:?}",
            shape.as_slice()
        ),
    };
    let rows = &shape[..shape.len() - 1];
    if target.shape() != rows {
        panic!(
            "cross_entropy: targets must have shape {rows:?} (one class per row), got {:?}",
            target.shape()
        );
    }
    if let Some(&bad) = target.data().iter().find(|&&t| t >= c) {
        panic!("cross_entropy: target class {bad} is out of range for {c} classes");
    }
    let t = logits
        .tape()
        .constant(target.map(|t| T::from_f64(t as f64)));
    let options = CrossEntropy::new()
        .label_smoothing(label_smoothing)
        .reduction(r);
    logits.cross_entropy(t, options)
}

/// The fraction of rows of `logits` (`[batch, classes]`) whose largest
/// entry is at the row's label: classification accuracy (no gradient).
///
/// ```
/// use autograd_core::Tensor;
/// let logits = Tensor::from_vec(vec![0.1_f32, 0.9, 0.8, 0.2, 0.3, 0.7], &[3, 2]);
/// let labels = Tensor::from_vec(vec![1_usize, 0, 0], &[3]);
/// assert!((autograd_nn::accuracy(&logits, &labels) - 2.0 / 3.0).abs() < 1e-12);
/// ```
#[track_caller]
pub fn accuracy<T: Real>(logits: &Tensor<T>, labels: &Tensor<usize>) -> f64 {
    let (n, _) = logits_2d("accuracy", logits.shape());
    if labels.shape() != [n] {
        panic!(
            "accuracy: labels must have shape [{n}], got {:?}",
            labels.shape()
        );
    }
    let pred = logits.argmax(1, false);
    let right = pred
        .data()
        .iter()
        .zip(labels.data())
        .filter(|(p, t)| p == t)
        .count();
    right as f64 / n.max(1) as f64
}
