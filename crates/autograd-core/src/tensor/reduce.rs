//! Reductions: their tensor forms, recording and VJPs (the kernels are in
//! `fold.rs`).

use super::algebra::Algebra;
use super::elementwise::zip_broadcast;
use super::fold::{fold_axes, split3, sum_into};
use super::pool;
use super::shape::{Shape, broadcasts_to, fmt_shape, norm_axes, norm_axis, numel, reduced_shape};
use super::tape::{Axes, Op, TensorVar};
use super::value::Tensor;
use crate::Real;

pub(crate) fn is_max_better<T: Real>(acc: T, v: T) -> bool {
    v > acc || v.is_nan()
}

impl<T: Real> Tensor<T> {
    /// Sum of all elements, as a 0-d tensor.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 2.0, 3.0], &[3]);
    /// assert_eq!(t.sum().item(), 6.0);
    /// ```
    pub fn sum(&self) -> Self {
        let mut acc = T::ZERO;
        for &v in self.data() {
            acc += v;
        }
        Tensor::scalar(acc)
    }

    /// Sum over `axes` (negative counts from the end; empty means all),
    /// keeping them as length 1 if `keepdim`.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.sum_axes(&[0], false).to_vec(), vec![4.0, 6.0]);
    /// assert_eq!(t.sum_axes(&[-1], true).shape(), &[2, 1]);
    /// ```
    #[track_caller]
    pub fn sum_axes(&self, axes: &[isize], keepdim: bool) -> Self {
        let axes = norm_axes("sum_axes", axes, self.shape());
        self.sum_resolved(&axes, keepdim)
    }

    pub(crate) fn sum_resolved(&self, axes: &[usize], keepdim: bool) -> Self {
        let kept = fold_axes(self, axes, T::ZERO, |a, v| a + v);
        if keepdim {
            kept
        } else {
            kept.into_shape(&reduced_shape(self.shape(), axes, false))
        }
    }

    /// Mean of all elements (NaN for an empty tensor, as 0/0).
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 2.0, 3.0], &[3]);
    /// assert_eq!(t.mean().item(), 2.0);
    /// ```
    pub fn mean(&self) -> Self {
        let n = T::from_f64(self.numel() as f64);
        self.sum().scale(T::ONE / n)
    }

    /// Mean over `axes`.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.mean_axes(&[1], false).to_vec(), vec![1.5, 3.5]);
    /// ```
    #[track_caller]
    pub fn mean_axes(&self, axes: &[isize], keepdim: bool) -> Self {
        let axes = norm_axes("mean_axes", axes, self.shape());
        mean_composite(self, &axes, keepdim)
    }

    /// Largest element over `axes` (NaN if any is NaN). Panics on an empty
    /// reduction, which has no maximum.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 5.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.max_axes(&[1], false).to_vec(), vec![5.0, 4.0]);
    /// assert_eq!(t.max_axes(&[], false).item(), 5.0);
    /// ```
    #[track_caller]
    pub fn max_axes(&self, axes: &[isize], keepdim: bool) -> Self {
        let axes = norm_axes("max_axes", axes, self.shape());
        self.extremum_resolved("max_axes", &axes, keepdim, true)
    }

    /// Smallest element over `axes` (NaN if any is NaN).
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 5.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.min_axes(&[0], true).to_vec(), vec![1.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn min_axes(&self, axes: &[isize], keepdim: bool) -> Self {
        let axes = norm_axes("min_axes", axes, self.shape());
        self.extremum_resolved("min_axes", &axes, keepdim, false)
    }

    #[track_caller]
    pub(crate) fn extremum_resolved(
        &self,
        op: &str,
        axes: &[usize],
        keepdim: bool,
        is_max: bool,
    ) -> Self {
        check_nonempty_reduction(op, self.shape(), axes);
        let kept = if is_max {
            fold_axes(self, axes, -T::INFINITY, |a, v| {
                if is_max_better(a, v) { v } else { a }
            })
        } else {
            fold_axes(self, axes, T::INFINITY, |a, v| {
                if v < a || v.is_nan() { v } else { a }
            })
        };
        if keepdim {
            kept
        } else {
            kept.into_shape(&reduced_shape(self.shape(), axes, false))
        }
    }

    /// Index of the largest entry along `axis` (the first, on ties).
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 5.0, 7.0, 4.0], &[2, 2]);
    /// assert_eq!(t.argmax(1, false).to_vec(), vec![1, 0]);
    /// ```
    #[track_caller]
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Tensor<usize> {
        self.arg_extremum("argmax", axis, keepdim, true)
    }

    /// Index of the smallest entry along `axis` (the first, on ties).
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 5.0, 7.0, 4.0], &[2, 2]);
    /// assert_eq!(t.argmin(0, false).to_vec(), vec![0, 1]);
    /// ```
    #[track_caller]
    pub fn argmin(&self, axis: isize, keepdim: bool) -> Tensor<usize> {
        self.arg_extremum("argmin", axis, keepdim, false)
    }

    #[track_caller]
    fn arg_extremum(&self, op: &str, axis: isize, keepdim: bool, is_max: bool) -> Tensor<usize> {
        let ax = norm_axis(op, axis, self.shape());
        check_nonempty_reduction(op, self.shape(), &[ax]);
        let (outer, len, inner) = split3(self.shape(), ax, ax + 1);
        let d = self.data();
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let mut best = 0;
                let mut bv = d[o * len * inner + i];
                for l in 1..len {
                    let v = d[(o * len + l) * inner + i];
                    let better = if is_max { v > bv } else { v < bv };
                    if !bv.is_nan() && (better || v.is_nan()) {
                        best = l;
                        bv = v;
                    }
                }
                out.push(best);
            }
        }
        Tensor::from_parts(reduced_shape(self.shape(), &[ax], keepdim), out)
    }

    /// Variance over `axes` with `correction` (1 for the unbiased sample
    /// variance, PyTorch's default; 0 for the population variance).
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[4]);
    /// assert!((t.var_axes(&[0], 1, false).item() - 5.0 / 3.0).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn var_axes(&self, axes: &[isize], correction: usize, keepdim: bool) -> Self {
        let axes = norm_axes("var_axes", axes, self.shape());
        var_composite(self, &axes, correction, keepdim)
    }

    /// Standard deviation over `axes`: the square root of
    /// [`Tensor::var_axes`].
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f64, 3.0], &[2]);
    /// assert_eq!(t.std_axes(&[0], 0, false).item(), 1.0);
    /// ```
    #[track_caller]
    pub fn std_axes(&self, axes: &[isize], correction: usize, keepdim: bool) -> Self {
        self.var_axes(axes, correction, keepdim).sqrt()
    }

    /// Sums this tensor down to `shape`, which must broadcast to this
    /// tensor's shape: the reverse of [`Tensor::broadcast_to`].
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::ones(&[3, 2]);
    /// assert_eq!(t.sum_to(&[1, 2]).to_vec(), vec![3.0, 3.0]);
    /// assert_eq!(t.sum_to(&[]).item(), 6.0);
    /// ```
    #[track_caller]
    pub fn sum_to(&self, shape: &[usize]) -> Self {
        check_sum_to(self.shape(), shape);
        if self.shape() == shape {
            return self.clone();
        }
        let axes = sum_to_axes(self.shape(), shape);
        self.sum_resolved(&axes, true).into_shape(shape)
    }

    /// Repeats this tensor along broadcast dimensions to `shape` (numpy's
    /// `broadcast_to`, PyTorch's `expand`), copying the elements.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 2.0], &[2]);
    /// assert_eq!(t.broadcast_to(&[2, 2]).to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        check_broadcast_to(self.shape(), shape);
        if self.shape() == shape {
            return self.clone();
        }
        zip_broadcast(
            "broadcast_to",
            self,
            &Tensor::<bool>::full(shape, false),
            |x, _| x,
        )
    }
}

#[track_caller]
pub(crate) fn check_nonempty_reduction(op: &str, shape: &[usize], axes: &[usize]) {
    if let Some(&a) = axes.iter().find(|&&a| shape[a] == 0) {
        panic!(
            "{op}: axis {a} of shape {} is empty, and an empty reduction has no value",
            fmt_shape(shape)
        );
    }
    if shape.is_empty() || numel(shape) > 0 {
        return;
    }
    panic!("{op}: the tensor of shape {} is empty", fmt_shape(shape));
}

#[track_caller]
fn check_sum_to(from: &[usize], to: &[usize]) {
    if !broadcasts_to(to, from) {
        panic!(
            "sum_to: shape {} cannot be summed to {} ({} does not broadcast to {})",
            fmt_shape(from),
            fmt_shape(to),
            fmt_shape(to),
            fmt_shape(from)
        );
    }
}

#[track_caller]
fn check_broadcast_to(from: &[usize], to: &[usize]) {
    if !broadcasts_to(from, to) {
        panic!(
            "broadcast_to: shape {} does not broadcast to {}",
            fmt_shape(from),
            fmt_shape(to)
        );
    }
}

/// The axes of `from` that summing down to `to` reduces (leading extra axes
/// and those where `to` has length 1).
fn sum_to_axes(from: &[usize], to: &[usize]) -> Axes {
    sum_to_axes_iter(from, to).collect()
}

fn sum_to_axes_iter<'a>(from: &'a [usize], to: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
    let off = from.len() - to.len();
    (0..from.len()).filter(move |&d| d < off || (to[d - off] == 1 && from[d] != 1))
}

fn mean_composite<T: Real, V: Algebra<T>>(x: &V, axes: &[usize], keepdim: bool) -> V {
    let shape = x.shape();
    let n: usize = axes.iter().map(|&a| shape[a]).product();
    x.sum_axes(axes, keepdim)
        .scale(T::ONE / T::from_f64(n as f64))
}

fn var_composite<T: Real, V: Algebra<T>>(
    x: &V,
    axes: &[usize],
    correction: usize,
    keepdim: bool,
) -> V {
    let shape = x.shape();
    let n: usize = axes.iter().map(|&a| shape[a]).product();
    let centred = x.sub(&mean_composite(x, axes, true));
    let denom = T::from_f64(n as f64 - correction as f64);
    centred
        .mul(&centred)
        .sum_axes(axes, keepdim)
        .scale(T::ONE / denom)
}

// ---------------------------------------------------------------------------
// Recording.

impl<'t, T: Real> TensorVar<'t, T> {
    /// Sum of all elements as a 0-d variable. VJP: g broadcast back.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[2, 3]));
    /// assert_eq!(x.sum().backward()[x].to_vec(), vec![1.0; 6]);
    /// ```
    #[track_caller]
    pub fn sum(self) -> Self {
        let all: Axes = (0..self.shape().len()).collect();
        self.sum_resolved(&all, false)
    }

    /// Sum over `axes` (negative from the end; empty means all).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[2, 3]));
    /// assert_eq!(x.sum_axes(&[0], false).value().to_vec(), vec![2.0; 3]);
    /// ```
    #[track_caller]
    pub fn sum_axes(self, axes: &[isize], keepdim: bool) -> Self {
        let axes = norm_axes("sum_axes", axes, &self.shape());
        self.sum_resolved(&axes, keepdim)
    }

    #[track_caller]
    pub(crate) fn sum_resolved(self, axes: &[usize], keepdim: bool) -> Self {
        self.record_unary(
            Op::Sum {
                axes: Axes::from(axes),
                keepdim,
            },
            |x| x.sum_resolved(axes, keepdim),
        )
    }

    /// Mean of all elements (a composite of `sum` and `scale`).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[4]));
    /// assert_eq!(x.mean().backward()[x].to_vec(), vec![0.25; 4]);
    /// ```
    #[track_caller]
    pub fn mean(self) -> Self {
        let all: Axes = (0..self.shape().len()).collect();
        mean_composite(&self, &all, false)
    }

    /// Mean over `axes`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[2, 4]));
    /// assert_eq!(x.mean_axes(&[1], true).shape().as_slice(), &[2, 1]);
    /// ```
    #[track_caller]
    pub fn mean_axes(self, axes: &[isize], keepdim: bool) -> Self {
        let axes = norm_axes("mean_axes", axes, &self.shape());
        mean_composite(&self, &axes, keepdim)
    }

    /// Variance over `axes` with `correction` (a composite).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 3.0], &[2]));
    /// // d/dx mean((x - mean)^2) = 2 (x - mean) / n
    /// assert_eq!(x.var_axes(&[0], 0, false).backward()[x].to_vec(), vec![-1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn var_axes(self, axes: &[isize], correction: usize, keepdim: bool) -> Self {
        let axes = norm_axes("var_axes", axes, &self.shape());
        var_composite(&self, &axes, correction, keepdim)
    }

    /// Standard deviation over `axes` (a composite).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 3.0], &[2]));
    /// assert_eq!(x.std_axes(&[0], 0, false).item(), 1.0);
    /// ```
    #[track_caller]
    pub fn std_axes(self, axes: &[isize], correction: usize, keepdim: bool) -> Self {
        self.var_axes(axes, correction, keepdim).sqrt()
    }

    /// Largest element over `axes`. The gradient goes to the maximal
    /// entries, split evenly between ties.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 3.0, 3.0], &[3]));
    /// assert_eq!(x.max_axes(&[0], false).backward()[x].to_vec(), vec![0.0, 0.5, 0.5]);
    /// ```
    #[track_caller]
    pub fn max_axes(self, axes: &[isize], keepdim: bool) -> Self {
        self.extremum("max_axes", axes, keepdim, true)
    }

    /// Smallest element over `axes`; gradient as for [`TensorVar::max_axes`].
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 3.0], &[2]));
    /// assert_eq!(x.min_axes(&[], false).backward()[x].to_vec(), vec![1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn min_axes(self, axes: &[isize], keepdim: bool) -> Self {
        self.extremum("min_axes", axes, keepdim, false)
    }

    #[track_caller]
    fn extremum(self, op: &str, axes: &[isize], keepdim: bool, is_max: bool) -> Self {
        let axes = norm_axes(op, axes, &self.shape());
        let value = self.tape.with_node(self.index, |n| {
            n.value.extremum_resolved(op, &axes, keepdim, is_max)
        });
        self.tape.record(
            Op::Extremum {
                axes: Axes::from(&axes[..]),
                keepdim,
                is_max,
            },
            &[self],
            value,
        )
    }

    /// Sums down to `shape` (which must broadcast to this one). VJP:
    /// broadcast back.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[3, 2]));
    /// assert_eq!(x.sum_to(&[2]).value().to_vec(), vec![3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn sum_to(self, shape: &[usize]) -> Self {
        check_sum_to(&self.shape(), shape);
        self.record_unary(Op::SumTo, |x| x.sum_to(shape))
    }

    /// Repeats along broadcast dimensions up to `shape` (PyTorch's
    /// `expand`). VJP: sum back down.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[2]));
    /// assert_eq!(x.broadcast_to(&[3, 2]).sum().backward()[x].to_vec(), vec![3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Self {
        check_broadcast_to(&self.shape(), shape);
        self.record_unary(Op::BroadcastTo, |x| x.broadcast_to(shape))
    }
}

// ---------------------------------------------------------------------------
// Vector-Jacobian products.

pub(crate) fn sum_vjp<T: Real, V: Algebra<T>>(x: &V, g: &V, axes: &[usize], keepdim: bool) -> V {
    let shape = x.shape();
    let g = if keepdim {
        g.clone()
    } else {
        g.reshape(&reduced_shape(&shape, axes, true))
    };
    g.broadcast_to(&shape)
}

pub(crate) fn extremum_vjp<T: Real, V: Algebra<T>>(
    x: &V,
    y: &V,
    g: &V,
    axes: &[usize],
    keepdim: bool,
) -> V {
    let kept = reduced_shape(&x.shape(), axes, true);
    let yk = y.value().with_shape(kept.clone());
    let hits = zip_broadcast("max/min", &x.value(), &yk, |a, b| {
        if a == b { T::ONE } else { T::ZERO }
    });
    let share = hits.div(&hits.sum_resolved(axes, true));
    let g = if keepdim { g.clone() } else { g.reshape(&kept) };
    g.mul(&g.lift(share))
}

// ---------------------------------------------------------------------------
// The same VJPs into buffers of the sweep's pool (see `pool.rs`). Each does,
// element by element, the arithmetic of the rule above it (sums from zero in
// axis order), so which path ran never shows in the result; a unit test in
// `pool.rs` compares them bit for bit. `None` (nothing taken from the pool)
// for the cases they do not cover.

/// [`Tensor::sum_to`] into a pooled buffer, when the summed axes are one
/// contiguous block.
pub(crate) fn sum_to_pooled<T: Real>(
    g: &Tensor<T>,
    shape: &[usize],
    pool: &mut Vec<Tensor<T>>,
) -> Option<Tensor<T>> {
    // Inline storage: no allocation for up to four axes.
    let axes: Shape = sum_to_axes_iter(g.shape(), shape).collect();
    let mut out = pool::take(pool, shape);
    if sum_into(g, &axes, pool::unique(&mut out)) {
        Some(out)
    } else {
        pool::give(pool, out);
        None
    }
}

/// [`sum_vjp`]: `g` repeated along the summed axes, when they are one
/// contiguous block (or all of them).
pub(crate) fn sum_vjp_pooled<T: Real>(
    x: &Tensor<T>,
    g: &Tensor<T>,
    axes: &[usize],
    pool: &mut Vec<Tensor<T>>,
) -> Option<Tensor<T>> {
    let shape = x.shape();
    let (&first, _) = axes.split_first()?;
    let contiguous = axes.iter().enumerate().all(|(i, &a)| a == first + i);
    let (outer, len, inner) = split3(shape, first, first + axes.len());
    if !contiguous || g.numel() != outer * inner {
        return None;
    }
    let mut out = pool::take(pool, shape);
    let (d, gd) = (pool::unique(&mut out), g.data());
    for o in 0..outer {
        let src = &gd[o * inner..(o + 1) * inner];
        for l in 0..len {
            d[(o * len + l) * inner..(o * len + l + 1) * inner].copy_from_slice(src);
        }
    }
    Some(out)
}
