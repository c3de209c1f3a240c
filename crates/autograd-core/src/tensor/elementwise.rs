//! Broadcasting, comparisons and masks, and `where_cond`.
//!
//! The differentiable elementwise primitives (add, mul, tanh, ...) are one
//! file each under `prim/`; this file holds what they share (numpy
//! broadcasting, [`zip_broadcast`]), the comparisons that make masks (no
//! gradient flows through a mask), the sweep's in-place accumulation, and
//! `where_cond`, whose mask is a tensor of its own.

use super::algebra::Algebra;
use super::shape::{Shape, broadcast_shapes, broadcast_strides, numel, same_shape};
use super::tape::{Op, TensorVar};
use super::value::{Builder, Tensor};
use crate::Real;

/// [`zip_broadcast`] for outputs of at least `crate::parallel::SPLIT_ELEMENTS`
/// elements, shared between threads by rows of the innermost dimension (or
/// by elements when the shapes are equal); `None` when the output is
/// smaller or its rows too short (under 16 elements) to pay for finding
/// each row's inputs, and the caller runs [`zip_broadcast`]. Each element
/// is `f` of the same pair either way, so the bits are the same.
#[track_caller]
pub(crate) fn zip_broadcast_split<T: Real>(
    op: &str,
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T + Sync,
) -> Option<Tensor<T>> {
    use crate::parallel::{SPLIT_ELEMENTS, for_chunks};
    let (ad, bd) = (a.data(), b.data());
    let same = same_shape(a.shape(), b.shape());
    let shape = if same {
        Shape::from_slice(a.shape())
    } else {
        broadcast_shapes(op, a.shape(), b.shape())
    };
    let n = numel(&shape);
    let nd = shape.len();
    if n < SPLIT_ELEMENTS {
        return None;
    }
    if same {
        // SAFETY: every element of `out` is written: each part writes all
        // of its elements.
        return Some(unsafe {
            Tensor::from_uninit(shape, |out| {
                for_chunks(n, SPLIT_ELEMENTS, out, 1, |s, part| {
                    let (xa, xb) = (&ad[s..s + part.len()], &bd[s..s + part.len()]);
                    for ((o, &x), &y) in part.iter_mut().zip(xa).zip(xb) {
                        o.write(f(x, y));
                    }
                })
            })
        });
    }
    let inner = shape[nd - 1];
    if inner < 16 {
        return None;
    }
    let sa = broadcast_strides(a.shape(), &shape);
    let sb = broadcast_strides(b.shape(), &shape);
    let (ia, ib) = (sa[nd - 1], sb[nd - 1]);
    // SAFETY: every element of `out` is written: each row of each part is
    // written whole by one of the arms below.
    Some(unsafe {
        Tensor::from_uninit(shape.clone(), |out| {
            for_chunks(n, SPLIT_ELEMENTS, out, inner, |r0, part| {
                for (k, row) in part.chunks_mut(inner).enumerate() {
                    // The row's inputs: its outer index, digit by digit.
                    let (mut oa, mut ob, mut rest) = (0, 0, r0 + k);
                    for d in (0..nd - 1).rev() {
                        let i = rest % shape[d];
                        rest /= shape[d];
                        oa += i * sa[d];
                        ob += i * sb[d];
                    }
                    match (ia, ib) {
                        (1, 1) => {
                            let it = ad[oa..oa + inner].iter().zip(&bd[ob..ob + inner]);
                            for (o, (&x, &y)) in row.iter_mut().zip(it) {
                                o.write(f(x, y));
                            }
                        }
                        (1, 0) => {
                            let y = bd[ob];
                            for (o, &x) in row.iter_mut().zip(&ad[oa..oa + inner]) {
                                o.write(f(x, y));
                            }
                        }
                        (0, 1) => {
                            let x = ad[oa];
                            for (o, &y) in row.iter_mut().zip(&bd[ob..ob + inner]) {
                                o.write(f(x, y));
                            }
                        }
                        _ => {
                            for (j, o) in row.iter_mut().enumerate() {
                                o.write(f(ad[oa + j * ia], bd[ob + j * ib]));
                            }
                        }
                    }
                }
            })
        })
    })
}

/// Applies `f` pairwise under numpy broadcasting. The innermost dimension is
/// a tight loop (contiguous or constant on each side, so it vectorises); the
/// outer dimensions advance an odometer.
#[track_caller]
pub(crate) fn zip_broadcast<A: Copy, B: Copy, R: Copy>(
    op: &str,
    a: &Tensor<A>,
    b: &Tensor<B>,
    f: impl Fn(A, B) -> R,
) -> Tensor<R> {
    let (ad, bd) = (a.data(), b.data());
    if same_shape(a.shape(), b.shape()) {
        let out = ad.iter().zip(bd).map(|(&x, &y)| f(x, y));
        return Tensor::from_iter_like(a, out);
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape());
    let n = numel(&shape);
    if bd.len() == 1 && n == ad.len() {
        let y = bd[0];
        return Tensor::from_exact_iter(shape, ad.iter().map(|&x| f(x, y)));
    }
    if ad.len() == 1 && n == bd.len() {
        let x = ad[0];
        return Tensor::from_exact_iter(shape, bd.iter().map(|&y| f(x, y)));
    }
    let mut out = Builder::new(&shape);
    if n > 0 {
        let sa = broadcast_strides(a.shape(), &shape);
        let sb = broadcast_strides(b.shape(), &shape);
        let nd = shape.len();
        let inner = shape[nd - 1];
        let (ia, ib) = (sa[nd - 1], sb[nd - 1]);
        let mut idx: Shape = smallvec::smallvec![0; nd];
        let (mut oa, mut ob) = (0usize, 0usize);
        loop {
            match (ia, ib) {
                (1, 1) => out.extend(
                    ad[oa..oa + inner]
                        .iter()
                        .zip(&bd[ob..ob + inner])
                        .map(|(&x, &y)| f(x, y)),
                ),
                (1, 0) => {
                    let y = bd[ob];
                    out.extend(ad[oa..oa + inner].iter().map(|&x| f(x, y)));
                }
                (0, 1) => {
                    let x = ad[oa];
                    out.extend(bd[ob..ob + inner].iter().map(|&y| f(x, y)));
                }
                _ => out.extend((0..inner).map(|j| f(ad[oa + j * ia], bd[ob + j * ib]))),
            }
            // Advance the odometer over the outer dimensions.
            let mut d = nd - 1;
            loop {
                if d == 0 {
                    return out.finish();
                }
                d -= 1;
                idx[d] += 1;
                oa += sa[d];
                ob += sb[d];
                if idx[d] < shape[d] {
                    break;
                }
                oa -= sa[d] * shape[d];
                ob -= sb[d] * shape[d];
                idx[d] = 0;
            }
        }
    }
    out.finish()
}

/// Comparisons on plain tensors (no tape): they broadcast by numpy's rules
/// and panic, at the caller's line, naming the operation and both shapes
/// when they cannot.
impl<T: Real> Tensor<T> {
    /// Mask of `self > other` (broadcasting); no gradient flows through masks.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 3.0], &[2]);
    /// assert_eq!(a.gt(&Tensor::scalar(2.0)).to_vec(), vec![false, true]);
    /// ```
    #[track_caller]
    pub fn gt(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("gt", self, other, |a, b| a > b)
    }

    /// Mask of `self >= other`.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0], &[2]);
    /// assert_eq!(a.ge(&Tensor::scalar(2.0)).to_vec(), vec![false, true]);
    /// ```
    #[track_caller]
    pub fn ge(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("ge", self, other, |a, b| a >= b)
    }

    /// Mask of `self < other`.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0], &[2]);
    /// assert_eq!(a.lt(&Tensor::scalar(2.0)).to_vec(), vec![true, false]);
    /// ```
    #[track_caller]
    pub fn lt(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("lt", self, other, |a, b| a < b)
    }

    /// Mask of `self <= other`.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 3.0], &[2]);
    /// assert_eq!(a.le(&Tensor::scalar(2.0)).to_vec(), vec![true, false]);
    /// ```
    #[track_caller]
    pub fn le(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("le", self, other, |a, b| a <= b)
    }

    /// Mask of `self == other` (exact equality).
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0], &[2]);
    /// assert_eq!(a.eq_elem(&Tensor::scalar(2.0)).to_vec(), vec![false, true]);
    /// ```
    #[track_caller]
    pub fn eq_elem(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("eq_elem", self, other, |a, b| a == b)
    }

    /// [`Tensor::add_assign_same`] taking `other` by value: when `self` is
    /// shared but `other` is not, the sum goes into `other`'s buffer and
    /// replaces `self`, so no buffer is allocated. A left-over `other` that
    /// nobody else holds goes to `spare` (while it has room) for reuse.
    pub(crate) fn add_assign_owned(&mut self, mut other: Self, spare: &mut Vec<Self>) {
        if self.is_shared()
            && let Some(data) = other.data_if_unique()
        {
            for (a, &b) in data.iter_mut().zip(self.data()) {
                *a += b;
            }
            *self = other;
            return;
        }
        self.add_assign_same(&other);
        if spare.len() < spare.capacity() && !other.is_shared() {
            spare.push(other);
        }
    }

    /// Adds `other` (same shape) into `self`: in place when `self` owns
    /// its data, else into a new buffer in one pass (copying first and then
    /// adding would read everything twice). The sweep's accumulation.
    pub(crate) fn add_assign_same(&mut self, other: &Self) {
        debug_assert_eq!(self.shape(), other.shape());
        match self.data_if_unique() {
            Some(data) => {
                for (a, &b) in data.iter_mut().zip(other.data()) {
                    *a += b;
                }
            }
            None => *self = Tensor::add(self, other),
        }
    }
}

impl Tensor<bool> {
    /// Chooses elementwise: `on_true` where the mask holds, else `on_false`
    /// (all three broadcast together), like `torch.where`.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0_f32, 2.0], &[2]);
    /// let m = x.gt(&Tensor::scalar(0.0));
    /// assert_eq!(m.where_cond(&x, &Tensor::scalar(0.0)).to_vec(), vec![0.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn where_cond<T: Real>(&self, on_true: &Tensor<T>, on_false: &Tensor<T>) -> Tensor<T> {
        let a = zip_broadcast(
            "where_cond",
            self,
            on_true,
            |m, a| if m { a } else { T::ZERO },
        );
        let b = zip_broadcast(
            "where_cond",
            self,
            on_false,
            |m, b| if m { T::ZERO } else { b },
        );
        a.add(&b)
    }

    /// The mask as 0/1 numbers.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let m = Tensor::from_vec(vec![true, false], &[2]);
    /// assert_eq!(m.to_real::<f32>().to_vec(), vec![1.0, 0.0]);
    /// ```
    pub fn to_real<T: Real>(&self) -> Tensor<T> {
        self.map(|m| if m { T::ONE } else { T::ZERO })
    }

    /// Elementwise not.
    ///
    /// ```
    /// let m = autograd_core::Tensor::from_vec(vec![true, false], &[2]);
    /// assert_eq!(m.not().to_vec(), vec![false, true]);
    /// ```
    pub fn not(&self) -> Self {
        self.map(|m| !m)
    }
}

// ---------------------------------------------------------------------------
// Recording on the tape.

impl<'t, T: Real> TensorVar<'t, T> {
    /// `on_true` where `mask` holds, else `on_false`, broadcasting all three;
    /// recorded. The mask is a constant: each side receives the gradient
    /// where it was chosen.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape, TensorVar};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::from_vec(vec![5.0_f64, 6.0], &[2]));
    /// let mask = Tensor::from_vec(vec![true, false], &[2]);
    /// let g = TensorVar::where_cond(&mask, a, b).sum().backward();
    /// assert_eq!((g[a].to_vec(), g[b].to_vec()), (vec![1.0, 0.0], vec![0.0, 1.0]));
    /// ```
    #[track_caller]
    pub fn where_cond(mask: &Tensor<bool>, on_true: Self, on_false: Self) -> Self {
        let value = mask.where_cond(&on_true.value(), &on_false.value());
        on_true.record_nary(
            &[on_true, on_false],
            "where_cond",
            Op::Where(Box::new(mask.clone())),
            value,
        )
    }
}

// ---------------------------------------------------------------------------
// Vector-Jacobian products: where_cond's (the other elementwise primitives
// are in `prim/`).

/// A gradient that only passes where a constant mask (computed from the
/// values, not differentiated) is 1 — or is scaled by a constant factor.
pub(crate) fn masked<T: Real, V: Algebra<T>>(g: &V, factor: Tensor<T>) -> V {
    g.mul(&g.lift(factor))
}

pub(crate) fn where_vjp<T: Real, V: Algebra<T>>(
    mask: &Tensor<bool>,
    g: &V,
    need: &[bool],
) -> [Option<V>; 2] {
    [
        need[0].then(|| masked(g, mask.to_real())),
        need[1].then(|| masked(g, mask.not().to_real())),
    ]
}
