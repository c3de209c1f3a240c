//! The reduction kernels: folds over one contiguous block of axes, split
//! between threads by output elements, eight floats wide where the CPU has
//! AVX2. Every output element folds its inputs in axis order wherever it
//! runs, so the sums, maxima and the rest do not depend on the split.

use super::shape::{Shape, numel};
use super::value::Tensor;
use crate::Real;

/// Views `shape` around the block of axes `a..b` as `[outer, len, inner]`.
pub(crate) fn split3(shape: &[usize], a: usize, b: usize) -> (usize, usize, usize) {
    (numel(&shape[..a]), numel(&shape[a..b]), numel(&shape[b..]))
}

/// Folds over a contiguous block of axes `a..b`, keeping them as length 1.
fn fold_block<T: Copy + Sync, R: Copy + Send>(
    x: &Tensor<T>,
    a: usize,
    b: usize,
    init: R,
    f: impl Fn(R, T) -> R + Sync,
) -> Tensor<R> {
    let (outer, _, inner) = split3(x.shape(), a, b);
    let mut out = vec![init; outer * inner];
    fold_block_into(x, a, b, f, &mut out);
    let mut shape = Shape::from_slice(x.shape());
    for s in &mut shape[a..b] {
        *s = 1;
    }
    Tensor::from_parts(shape, out)
}

/// [`fold_block`] into `out`, which holds the initial values.
fn fold_block_into<T: Copy + Sync, R: Copy + Send>(
    x: &Tensor<T>,
    a: usize,
    b: usize,
    f: impl Fn(R, T) -> R + Sync,
    out: &mut [R],
) {
    let (outer, len, inner) = split3(x.shape(), a, b);
    let d = x.data();
    debug_assert_eq!(out.len(), outer * inner);
    // A large fold is split between threads by output elements: by rows
    // of `out` when there are several, else by columns (a bias gradient's
    // sum over all rows). Each output element folds its inputs in the same
    // order wherever it runs, so the result does not depend on the split.
    let unit = if outer > 1 { inner } else { 1 };
    let min = crate::parallel::SPLIT_ELEMENTS;
    let dims = (outer, len, inner);
    crate::parallel::for_chunks(d.len(), min, out, unit, |first, part| {
        // The same loops as wide as the CPU allows (the crate is built for
        // baseline x86-64); each lane adds what the scalar loop would, so
        // the bits are the same.
        let f = &f;
        crate::simd::wide(
            #[inline(always)]
            move || fold_part(d, dims, f, first, part),
        )
    });
}

/// Output elements `first..first + part.len()` of [`fold_block_into`].
#[inline(always)]
fn fold_part<T: Copy, R: Copy>(
    d: &[T],
    (outer, len, inner): (usize, usize, usize),
    f: &impl Fn(R, T) -> R,
    first: usize,
    part: &mut [R],
) {
    if inner == 1 {
        // Runs of `len` contiguous inputs, one per output element.
        for (j, r) in part.iter_mut().enumerate() {
            let o = first + j;
            for &v in &d[o * len..(o + 1) * len] {
                *r = f(*r, v);
            }
        }
    } else if outer > 1 {
        for (j, row) in part.chunks_mut(inner).enumerate() {
            let o = first + j;
            for l in 0..len {
                let src = &d[(o * len + l) * inner..(o * len + l + 1) * inner];
                for (r, &v) in row.iter_mut().zip(src) {
                    *r = f(*r, v);
                }
            }
        }
    } else {
        for l in 0..len {
            let src = &d[l * inner + first..l * inner + first + part.len()];
            for (r, &v) in part.iter_mut().zip(src) {
                *r = f(*r, v);
            }
        }
    }
}

/// A sum over `axes` into `out`'s buffer, for replay, when the axes are one
/// contiguous block: then `fold_axes` is this one `fold_block`, so the
/// order of the additions, and the result, are the same. False otherwise.
pub(crate) fn sum_into<T: Real>(x: &Tensor<T>, axes: &[usize], out: &mut [T]) -> bool {
    let Some((&first, _)) = axes.split_first() else {
        return false;
    };
    if axes.iter().enumerate().any(|(i, &a)| a != first + i) {
        return false;
    }
    out.fill(T::ZERO);
    fold_block_into(x, first, first + axes.len(), |a, v| a + v, out);
    true
}

/// Folds over sorted `axes` (one contiguous block at a time), keeping them.
pub(crate) fn fold_axes<T: Real>(
    x: &Tensor<T>,
    axes: &[usize],
    init: T,
    f: impl Fn(T, T) -> T + Copy + Sync,
) -> Tensor<T> {
    let mut cur = x.clone();
    let mut i = axes.len();
    // Highest block first, so the lower axes keep their positions.
    while i > 0 {
        let end = axes[i - 1] + 1;
        let mut start = axes[i - 1];
        i -= 1;
        while i > 0 && axes[i - 1] + 1 == start {
            start -= 1;
            i -= 1;
        }
        cur = fold_block(&cur, start, end, init, f);
    }
    cur
}
