//! Printing tensors as PyTorch does: aligned columns, scientific notation
//! when the magnitudes call for it, `...` past 1000 elements, and the shape.

use std::fmt;

use super::shape::{fmt_shape, strides};
use super::value::Tensor;
use crate::Real;

mod sealed {
    pub trait Sealed {}
    impl<T: crate::Real> Sealed for T {}
    impl Sealed for usize {}
    impl Sealed for bool {}
}

/// An element type a tensor can list in `Display`: the [`Real`] types,
/// `usize` (indices) and `bool` (masks). Sealed.
///
/// ```
/// let idx = autograd_core::Tensor::from_vec(vec![3_usize, 1], &[2]);
/// assert_eq!(idx.to_string(), "tensor([3, 1], shape=[2])");
/// ```
pub trait Element: Copy + sealed::Sealed {
    /// The element written with `precision` decimals, in scientific
    /// notation if `sci`.
    fn render(self, precision: usize, sci: bool) -> String;
    /// |x| for non-zero finite numbers (to choose the notation), else None.
    fn magnitude(self) -> Option<f64>;
}

impl<T: Real> Element for T {
    fn render(self, precision: usize, sci: bool) -> String {
        let x = self.to_f64();
        if !x.is_finite() {
            format!("{x}")
        } else if sci {
            format!("{x:.precision$e}")
        } else {
            format!("{x:.precision$}")
        }
    }
    fn magnitude(self) -> Option<f64> {
        let x = self.to_f64();
        (x.is_finite() && x != 0.0).then(|| x.abs())
    }
}

macro_rules! plain_element {
    ($t:ty) => {
        impl Element for $t {
            fn render(self, _: usize, _: bool) -> String {
                format!("{self}")
            }
            fn magnitude(self) -> Option<f64> {
                None
            }
        }
    };
}
plain_element!(usize);
plain_element!(bool);

/// Per dimension, the indices shown: all of them, or the first and last three
/// around an ellipsis once the tensor has more than 1000 elements (PyTorch's
/// summarisation rule).
fn shown(n: usize, summarise: bool) -> Vec<Option<usize>> {
    if summarise && n > 6 {
        (0..3)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((n - 3..n).map(Some))
            .collect()
    } else {
        (0..n).map(Some).collect()
    }
}

fn write_tensor<T: Element>(t: &Tensor<T>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let precision = f.precision().unwrap_or(4);
    let summarise = t.numel() > 1000;
    let mags: Vec<f64> = t.data().iter().filter_map(|x| x.magnitude()).collect();
    let sci = mags
        .iter()
        .any(|&m| m >= 1e8 || m < 10f64.powi(-(precision as i32)));
    let width = t
        .data()
        .iter()
        .map(|x| x.render(precision, sci).len())
        .max()
        .unwrap_or(0);
    let shape = t.shape();
    let st = strides(shape);
    let mut out = String::from("tensor(");
    if shape.is_empty() {
        out.push_str(&t.data()[0].render(precision, sci));
    } else {
        // An explicit stack of (dimension, offset, position in its list) keeps
        // this a loop; the indent lines rows up under their opening bracket.
        // The formatting settings travel along each level of the listing.
        #[allow(clippy::too_many_arguments)]
        fn emit<T: Element>(
            out: &mut String,
            t: &Tensor<T>,
            st: &[usize],
            dim: usize,
            offset: usize,
            summarise: bool,
            precision: usize,
            sci: bool,
            width: usize,
        ) {
            let shape = t.shape();
            out.push('[');
            let idx = shown(shape[dim], summarise);
            for (k, i) in idx.iter().enumerate() {
                if k > 0 {
                    if dim + 1 == shape.len() {
                        out.push_str(", ");
                    } else {
                        out.push(',');
                        for _ in 0..(shape.len() - dim - 1) {
                            out.push('\n');
                        }
                        out.push_str(&" ".repeat("tensor(".len() + dim + 1));
                    }
                }
                match i {
                    None => out.push_str("..."),
                    Some(i) if dim + 1 == shape.len() => {
                        let s = t.data()[offset + i * st[dim]].render(precision, sci);
                        out.push_str(&" ".repeat(width - s.len()));
                        out.push_str(&s);
                    }
                    Some(i) => emit(
                        out,
                        t,
                        st,
                        dim + 1,
                        offset + i * st[dim],
                        summarise,
                        precision,
                        sci,
                        width,
                    ),
                }
            }
            out.push(']');
        }
        emit(&mut out, t, &st, 0, 0, summarise, precision, sci, width);
    }
    out.push_str(&format!(", shape={})", fmt_shape(shape)));
    f.write_str(&out)
}

/// Lists the values as PyTorch does (4 decimals unless `{:.N}` asks
/// otherwise; scientific notation when magnitudes need it; rows aligned;
/// tensors over 1000 elements summarised with `...`) followed by the shape.
///
/// ```
/// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, -2.5, 3.0, 4.0], &[2, 2]);
/// assert_eq!(
///     t.to_string(),
///     "tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]], shape=[2, 2])"
/// );
/// assert!(format!("{t:.1}").starts_with("tensor([[ 1.0, -2.5],"));
/// ```
impl<T: Element> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "tensor([], shape={})", fmt_shape(self.shape()));
        }
        write_tensor(self, f)
    }
}

impl<T: Element> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
