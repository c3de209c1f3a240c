//! Shapes, strides, broadcasting and axis arguments: the one place where shape
//! rules are decided, so every operation reports a bad shape the same way.

use smallvec::SmallVec;

/// A tensor's shape: the length of each dimension, outermost first.
///
/// Four dimensions are stored inline, so the shapes of ordinary models never
/// touch the heap.
///
/// ```
/// use autograd_core::Shape;
/// let s: Shape = Shape::from_slice(&[2, 3]);
/// assert_eq!(s.iter().product::<usize>(), 6);
/// ```
pub type Shape = SmallVec<[usize; 4]>;

/// Number of elements of a shape (1 for the 0-d shape `[]`).
#[inline]
pub(crate) fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Shape equality without a `memcmp` call: shapes are a few words long, and
/// this runs several times per recorded operation.
#[inline]
pub(crate) fn same_shape(a: &[usize], b: &[usize]) -> bool {
    // Short shapes compared inline: a slice `==` (or a loop LLVM turns into
    // one) calls `memcmp`, which was 5% of T3's time.
    a.len() == b.len()
        && match a.len() {
            0 => true,
            1 => a[0] == b[0],
            2 => a[0] == b[0] && a[1] == b[1],
            3 => a[0] == b[0] && a[1] == b[1] && a[2] == b[2],
            _ => a == b,
        }
}

/// Row-major strides, in elements.
pub(crate) fn strides(shape: &[usize]) -> Shape {
    let mut s: Shape = SmallVec::from_elem(0, shape.len());
    let mut acc = 1;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc *= shape[d];
    }
    s
}

/// Formats a shape the way numpy and PyTorch users read it: `[2, 3]`.
pub(crate) fn fmt_shape(shape: &[usize]) -> String {
    format!("{shape:?}")
}

/// The numpy broadcast of two shapes: align on the right; each pair of
/// lengths must be equal or contain a 1. `Err` carries the first clash as
/// (axis counted from the end, length in `a`, length in `b`).
pub(crate) fn try_broadcast(a: &[usize], b: &[usize]) -> Result<Shape, (isize, usize, usize)> {
    if a == b {
        return Ok(Shape::from_slice(a));
    }
    let n = a.len().max(b.len());
    let mut out: Shape = SmallVec::from_elem(0, n);
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err((i as isize - n as isize, da, db));
        };
    }
    Ok(out)
}

/// [`try_broadcast`], panicking with the operation and both shapes.
#[track_caller]
pub(crate) fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Shape {
    match try_broadcast(a, b) {
        Ok(s) => s,
        Err((axis, da, db)) => panic!(
            "{op}: shapes {} and {} do not broadcast: dimension {axis} is {da} vs {db}",
            fmt_shape(a),
            fmt_shape(b)
        ),
    }
}

/// Strides that read a tensor of `shape` as if it had the broadcast shape
/// `out`: 0 along every broadcast (or missing) dimension.
pub(crate) fn broadcast_strides(shape: &[usize], out: &[usize]) -> Shape {
    let own = strides(shape);
    let off = out.len() - shape.len();
    let mut s: Shape = SmallVec::from_elem(0, out.len());
    for d in 0..shape.len() {
        s[d + off] = if shape[d] == 1 && out[d + off] != 1 {
            0
        } else {
            own[d]
        };
    }
    s
}

/// True when `from` broadcasts to `to`.
pub(crate) fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1)
}

/// Resolves a possibly negative axis (`-1` is the last) against `ndim`.
#[track_caller]
pub(crate) fn norm_axis(op: &str, axis: isize, shape: &[usize]) -> usize {
    norm_axis_n(op, axis, shape, shape.len())
}

/// As [`norm_axis`] for operations whose valid range differs from the
/// shape's rank (`unsqueeze` may insert at `ndim`).
#[track_caller]
pub(crate) fn norm_axis_n(op: &str, axis: isize, shape: &[usize], n: usize) -> usize {
    let a = if axis < 0 { axis + n as isize } else { axis };
    if a < 0 || a >= n as isize {
        panic!(
            "{op}: axis {axis} is out of range for a {}-d tensor of shape {}",
            shape.len(),
            fmt_shape(shape)
        );
    }
    a as usize
}

/// Resolves a list of axes; sorted, and a repeated axis is an error. An empty
/// list means every axis.
#[track_caller]
pub(crate) fn norm_axes(op: &str, axes: &[isize], shape: &[usize]) -> SmallVec<[usize; 4]> {
    if axes.is_empty() {
        return (0..shape.len()).collect();
    }
    let mut out: SmallVec<[usize; 4]> = axes.iter().map(|&a| norm_axis(op, a, shape)).collect();
    out.sort_unstable();
    for w in out.windows(2) {
        if w[0] == w[1] {
            panic!(
                "{op}: axis {} is given twice in {axes:?} (shape {})",
                w[0],
                fmt_shape(shape)
            );
        }
    }
    out
}

/// The shape left after reducing `axes` (sorted), keeping them as length 1 or
/// dropping them.
pub(crate) fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Shape {
    let mut out = Shape::new();
    for (d, &n) in shape.iter().enumerate() {
        if axes.contains(&d) {
            if keepdim {
                out.push(1);
            }
        } else {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(
            broadcast_shapes("t", &[8, 1, 6, 1], &[7, 1, 5]).as_slice(),
            &[8, 7, 6, 5]
        );
        assert_eq!(broadcast_shapes("t", &[], &[3]).as_slice(), &[3]);
        assert_eq!(
            broadcast_strides(&[3, 1], &[2, 3, 4]).as_slice(),
            &[0, 1, 0]
        );
        assert!(broadcasts_to(&[1, 4], &[3, 4]));
        assert!(!broadcasts_to(&[2, 4], &[3, 4]));
    }

    #[test]
    #[should_panic(
        expected = "add: shapes [2, 3] and [4] do not broadcast: dimension -1 is 3 vs 4"
    )]
    fn broadcast_failure_names_both_shapes() {
        broadcast_shapes("add", &[2, 3], &[4]);
    }

    #[test]
    fn axes_resolve_negative_and_reject_repeats() {
        assert_eq!(norm_axis("t", -1, &[2, 3]), 1);
        assert_eq!(norm_axes("t", &[-1, 0], &[2, 3, 4]).as_slice(), &[0, 2]);
        let r = std::panic::catch_unwind(|| norm_axes("sum", &[1, -2], &[2, 3, 4]));
        assert!(r.is_err());
        let r = std::panic::catch_unwind(|| norm_axis("softmax", 2, &[2, 3]));
        assert!(r.is_err());
    }
}
