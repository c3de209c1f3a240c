//! Shape operations: reshape, permute, narrow/pad, concat and the
//! conveniences built from them (transpose, squeeze, unsqueeze, flatten,
//! stack, split, chunk). Forward, recording and VJP side by side.

use smallvec::SmallVec;

use super::algebra::Algebra;
use super::shape::{Shape, fmt_shape, norm_axis, norm_axis_n, numel, strides};
use super::tape::{Axes, Op, TensorVar};
use super::value::{Builder, Tensor};
use crate::Real;

#[track_caller]
fn check_reshape(from: &[usize], to: &[usize]) {
    if numel(from) != numel(to) {
        panic!(
            "reshape: shape {} ({} elements) cannot become {} ({} elements)",
            fmt_shape(from),
            numel(from),
            fmt_shape(to),
            numel(to)
        );
    }
}

#[track_caller]
fn check_perm(op: &str, perm: &[isize], shape: &[usize]) -> Axes {
    if perm.len() != shape.len() {
        panic!(
            "{op}: {perm:?} does not order the {} axes of shape {}",
            shape.len(),
            fmt_shape(shape)
        );
    }
    let p: Axes = perm.iter().map(|&a| norm_axis(op, a, shape)).collect();
    let mut seen = vec![false; p.len()];
    for &a in &p {
        if std::mem::replace(&mut seen[a], true) {
            panic!(
                "{op}: {perm:?} names axis {a} twice (shape {})",
                fmt_shape(shape)
            );
        }
    }
    p
}

#[track_caller]
fn check_narrow(shape: &[usize], axis: usize, start: usize, len: usize) {
    if start.checked_add(len).is_none_or(|end| end > shape[axis]) {
        panic!(
            "narrow: start {start} + length {len} exceeds length {} of axis {axis} in shape {}",
            shape[axis],
            fmt_shape(shape)
        );
    }
}

/// The shape with `shape[axis]` replaced.
fn with_len(shape: &[usize], axis: usize, len: usize) -> Shape {
    let mut s = Shape::from_slice(shape);
    s[axis] = len;
    s
}

/// The shape `concat` gives, checking that the parts agree off `axis`.
#[track_caller]
fn concat_shape(shapes: &[&[usize]], axis: isize) -> (usize, Shape) {
    let Some(first) = shapes.first() else {
        panic!("concat: no tensors to concatenate");
    };
    let ax = norm_axis("concat", axis, first);
    let mut total = 0;
    for (k, s) in shapes.iter().enumerate() {
        let agrees = s.len() == first.len()
            && s.iter()
                .zip(first.iter())
                .enumerate()
                .all(|(d, (a, b))| d == ax || a == b);
        if !agrees {
            panic!(
                "concat: tensor {k} has shape {} but tensor 0 has {}; they may differ only along axis {ax}",
                fmt_shape(s),
                fmt_shape(first)
            );
        }
        total += s[ax];
    }
    (ax, with_len(first, ax, total))
}

impl<T: Copy> Tensor<T> {
    /// The same elements under another shape with as many elements (no
    /// copy). Panics naming both shapes otherwise.
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::zeros(&[2, 6]);
    /// assert_eq!(t.reshape(&[3, 4]).shape(), &[3, 4]);
    /// ```
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Self {
        check_reshape(self.shape(), shape);
        self.with_shape(Shape::from_slice(shape))
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]`.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1, 2, 3, 4, 5, 6_usize], &[2, 3]);
    /// assert_eq!(t.permute(&[1, 0]).to_vec(), vec![1, 4, 2, 5, 3, 6]);
    /// ```
    #[track_caller]
    pub fn permute(&self, perm: &[isize]) -> Self {
        let p = check_perm("permute", perm, self.shape());
        self.permute_resolved(&p)
    }

    pub(crate) fn permute_resolved(&self, perm: &[usize]) -> Self {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return self.clone();
        }
        let shape = self.shape();
        let st = strides(shape);
        let out_shape: Shape = perm.iter().map(|&p| shape[p]).collect();
        let src_st: Shape = perm.iter().map(|&p| st[p]).collect();
        let n = numel(&out_shape);
        let d = self.data();
        let mut out = Builder::new(&out_shape);
        if n > 0 {
            let nd = out_shape.len();
            let inner = out_shape[nd - 1];
            let is = src_st[nd - 1];
            let mut idx: Shape = smallvec::smallvec![0; nd];
            let mut off = 0;
            'outer: loop {
                out.extend((0..inner).map(|j| d[off + j * is]));
                let mut k = nd - 1;
                loop {
                    if k == 0 {
                        break 'outer;
                    }
                    k -= 1;
                    idx[k] += 1;
                    off += src_st[k];
                    if idx[k] < out_shape[k] {
                        break;
                    }
                    off -= src_st[k] * out_shape[k];
                    idx[k] = 0;
                }
            }
        }
        out.finish()
    }

    /// Swaps two axes.
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::zeros(&[2, 3, 4]);
    /// assert_eq!(t.transpose(0, -1).shape(), &[4, 3, 2]);
    /// ```
    #[track_caller]
    pub fn transpose(&self, a: isize, b: isize) -> Self {
        self.permute(&swap_perm("transpose", self.shape(), a, b))
    }

    /// The matrix transpose of a 2-d tensor (`.T` in numpy).
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1, 2, 3, 4, 5, 6_usize], &[3, 2]);
    /// assert_eq!(t.t().shape(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn t(&self) -> Self {
        check_2d("t", self.shape());
        self.permute(&[1, 0])
    }

    /// Inserts a length-1 axis at `axis` (which may be `ndim`).
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::zeros(&[3]);
    /// assert_eq!(t.unsqueeze(0).shape(), &[1, 3]);
    /// assert_eq!(t.unsqueeze(-1).shape(), &[3, 1]);
    /// ```
    #[track_caller]
    pub fn unsqueeze(&self, axis: isize) -> Self {
        self.with_shape(unsqueezed(self.shape(), axis))
    }

    /// Removes `axis`, which must have length 1.
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::zeros(&[3, 1]);
    /// assert_eq!(t.squeeze(1).shape(), &[3]);
    /// ```
    #[track_caller]
    pub fn squeeze(&self, axis: isize) -> Self {
        self.with_shape(squeezed(self.shape(), axis))
    }

    /// Merges all axes after the first into one: `[n, ...] -> [n, rest]`.
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::zeros(&[2, 3, 4]);
    /// assert_eq!(t.flatten().shape(), &[2, 12]);
    /// ```
    #[track_caller]
    pub fn flatten(&self) -> Self {
        self.with_shape(flattened(self.shape()))
    }

    /// `len` entries from `start` along `axis` (a copy).
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1, 2, 3, 4, 5, 6_usize], &[2, 3]);
    /// assert_eq!(t.narrow(1, 1, 2).to_vec(), vec![2, 3, 5, 6]);
    /// ```
    #[track_caller]
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Self {
        let ax = norm_axis("narrow", axis, self.shape());
        check_narrow(self.shape(), ax, start, len);
        self.narrow_resolved(ax, start, len)
    }

    pub(crate) fn narrow_resolved(&self, axis: usize, start: usize, len: usize) -> Self {
        let shape = self.shape();
        let (outer, full, inner) = (
            numel(&shape[..axis]),
            shape[axis],
            numel(&shape[axis + 1..]),
        );
        let d = self.data();
        let mut out = Builder::new(&with_len(shape, axis, len));
        for o in 0..outer {
            let base = (o * full + start) * inner;
            out.extend(d[base..base + len * inner].iter().copied());
        }
        out.finish()
    }

    /// Splits along `axis` into pieces of `size` (the last may be shorter).
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::zeros(&[5, 2]);
    /// let parts = t.split(2, 0);
    /// assert_eq!(parts.iter().map(|p| p.shape()[0]).collect::<Vec<_>>(), vec![2, 2, 1]);
    /// ```
    #[track_caller]
    pub fn split(&self, size: usize, axis: isize) -> Vec<Self> {
        let ax = norm_axis("split", axis, self.shape());
        split_ranges("split", self.shape()[ax], size)
            .into_iter()
            .map(|(s, l)| self.narrow_resolved(ax, s, l))
            .collect()
    }

    /// Splits along `axis` into `chunks` pieces of near-equal size
    /// (`torch.chunk`: pieces of ceil(n / chunks), so fewer may result).
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::zeros(&[6]);
    /// assert_eq!(t.chunk(3, 0).len(), 3);
    /// ```
    #[track_caller]
    pub fn chunk(&self, chunks: usize, axis: isize) -> Vec<Self> {
        let ax = norm_axis("chunk", axis, self.shape());
        self.split(chunk_size(chunks, self.shape()[ax]), ax as isize)
    }

    /// Joins tensors along an existing axis; all other lengths must agree.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1, 2_usize], &[1, 2]);
    /// let b = Tensor::from_vec(vec![3, 4, 5, 6_usize], &[2, 2]);
    /// assert_eq!(Tensor::concat(&[&a, &b], 0).to_vec(), vec![1, 2, 3, 4, 5, 6]);
    /// ```
    #[track_caller]
    pub fn concat(parts: &[&Self], axis: isize) -> Self {
        let shapes: Vec<&[usize]> = parts.iter().map(|p| p.shape()).collect();
        let (ax, out_shape) = concat_shape(&shapes, axis);
        let outer = numel(&out_shape[..ax]);
        let mut out = Builder::new(&out_shape);
        for o in 0..outer {
            for p in parts {
                let block = p.shape()[ax] * numel(&p.shape()[ax + 1..]);
                out.extend(p.data()[o * block..(o + 1) * block].iter().copied());
            }
        }
        out.finish()
    }

    /// Joins tensors of one shape along a new axis.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::<f32>::zeros(&[3]);
    /// assert_eq!(Tensor::stack(&[&a, &a], 0).shape(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn stack(parts: &[&Self], axis: isize) -> Self {
        let Some(first) = parts.first() else {
            panic!("stack: no tensors to stack");
        };
        let up: Vec<Self> = parts.iter().map(|p| p.unsqueeze(axis)).collect();
        check_same_shapes("stack", parts.iter().map(|p| p.shape()), first.shape());
        Self::concat(&up.iter().collect::<Vec<_>>(), axis)
    }
}

impl<T: Real> Tensor<T> {
    pub(crate) fn pad_resolved(&self, axis: usize, start: usize, size: usize) -> Self {
        let shape = self.shape();
        let (outer, len, inner) = (
            numel(&shape[..axis]),
            shape[axis],
            numel(&shape[axis + 1..]),
        );
        let mut out = Builder::new(&with_len(shape, axis, size));
        let d = self.data();
        let zeros = |k: usize| (0..k).map(|_| T::ZERO);
        for o in 0..outer {
            out.extend(zeros(start * inner));
            out.extend(d[o * len * inner..(o + 1) * len * inner].iter().copied());
            out.extend(zeros((size - start - len) * inner));
        }
        out.finish()
    }
}

#[track_caller]
fn check_same_shapes<'a>(op: &str, mut shapes: impl Iterator<Item = &'a [usize]>, first: &[usize]) {
    if let Some(s) = shapes.find(|s| *s != first) {
        panic!(
            "{op}: every tensor must have shape {}, found {}",
            fmt_shape(first),
            fmt_shape(s)
        );
    }
}

#[track_caller]
fn check_2d(op: &str, shape: &[usize]) {
    if shape.len() != 2 {
        panic!("{op}: needs a 2-d tensor, got shape {}", fmt_shape(shape));
    }
}

#[track_caller]
fn swap_perm(op: &str, shape: &[usize], a: isize, b: isize) -> Vec<isize> {
    let (a, b) = (norm_axis(op, a, shape), norm_axis(op, b, shape));
    let mut p: Vec<isize> = (0..shape.len() as isize).collect();
    p.swap(a, b);
    p
}

#[track_caller]
fn unsqueezed(shape: &[usize], axis: isize) -> Shape {
    let ax = norm_axis_n("unsqueeze", axis, shape, shape.len() + 1);
    let mut s = Shape::from_slice(shape);
    s.insert(ax, 1);
    s
}

#[track_caller]
fn squeezed(shape: &[usize], axis: isize) -> Shape {
    let ax = norm_axis("squeeze", axis, shape);
    if shape[ax] != 1 {
        panic!(
            "squeeze: axis {ax} of shape {} has length {}, not 1",
            fmt_shape(shape),
            shape[ax]
        );
    }
    let mut s = Shape::from_slice(shape);
    s.remove(ax);
    s
}

#[track_caller]
fn flattened(shape: &[usize]) -> Shape {
    if shape.is_empty() {
        panic!("flatten: a 0-d tensor has no axes to flatten");
    }
    smallvec::smallvec![shape[0], numel(&shape[1..])]
}

#[track_caller]
fn split_ranges(op: &str, n: usize, size: usize) -> Vec<(usize, usize)> {
    if size == 0 {
        panic!("{op}: piece size must be positive");
    }
    (0..n).step_by(size).map(|s| (s, size.min(n - s))).collect()
}

#[track_caller]
fn chunk_size(chunks: usize, n: usize) -> usize {
    if chunks == 0 {
        panic!("chunk: the number of chunks must be positive");
    }
    n.div_ceil(chunks).max(1)
}

// ---------------------------------------------------------------------------
// Recording.

impl<'t, T: Real> TensorVar<'t, T> {
    /// Same elements, another shape of the same size. VJP: reshape back.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[2, 3]));
    /// assert_eq!(x.reshape(&[6]).shape().as_slice(), &[6]);
    /// ```
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Self {
        check_reshape(&self.shape(), shape);
        self.record_unary(Op::Reshape, |x| x.with_shape(Shape::from_slice(shape)))
    }

    /// Reorders the axes. VJP: the inverse permutation.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[2, 3, 4]));
    /// assert_eq!(x.permute(&[2, 0, 1]).shape().as_slice(), &[4, 2, 3]);
    /// ```
    #[track_caller]
    pub fn permute(self, perm: &[isize]) -> Self {
        let p = check_perm("permute", perm, &self.shape());
        self.permute_resolved(&p)
    }

    #[track_caller]
    pub(crate) fn permute_resolved(self, perm: &[usize]) -> Self {
        self.record_unary(Op::Permute(Axes::from(perm)), |x| x.permute_resolved(perm))
    }

    /// Swaps two axes.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[2, 3]));
    /// assert_eq!(x.transpose(0, 1).shape().as_slice(), &[3, 2]);
    /// ```
    #[track_caller]
    pub fn transpose(self, a: isize, b: isize) -> Self {
        let p = swap_perm("transpose", &self.shape(), a, b);
        self.permute(&p)
    }

    /// The transpose of a 2-d variable.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[2, 3]));
    /// assert_eq!(x.t().shape().as_slice(), &[3, 2]);
    /// ```
    #[track_caller]
    pub fn t(self) -> Self {
        check_2d("t", &self.shape());
        self.permute(&[1, 0])
    }

    /// Inserts a length-1 axis (a reshape).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[3]));
    /// assert_eq!(x.unsqueeze(0).shape().as_slice(), &[1, 3]);
    /// ```
    #[track_caller]
    pub fn unsqueeze(self, axis: isize) -> Self {
        let s = unsqueezed(&self.shape(), axis);
        self.reshape(&s)
    }

    /// Removes a length-1 axis (a reshape).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[3, 1]));
    /// assert_eq!(x.squeeze(-1).shape().as_slice(), &[3]);
    /// ```
    #[track_caller]
    pub fn squeeze(self, axis: isize) -> Self {
        let s = squeezed(&self.shape(), axis);
        self.reshape(&s)
    }

    /// `[n, ...] -> [n, rest]` (a reshape).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[2, 3, 4]));
    /// assert_eq!(x.flatten().shape().as_slice(), &[2, 12]);
    /// ```
    #[track_caller]
    pub fn flatten(self) -> Self {
        let s = flattened(&self.shape());
        self.reshape(&s)
    }

    /// `len` entries from `start` along `axis`. VJP: zero padding back.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[4]));
    /// assert_eq!(x.narrow(0, 1, 2).sum().backward()[x].to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn narrow(self, axis: isize, start: usize, len: usize) -> Self {
        let shape = self.shape();
        let ax = norm_axis("narrow", axis, &shape);
        check_narrow(&shape, ax, start, len);
        self.narrow_resolved(ax, start, len)
    }

    #[track_caller]
    pub(crate) fn narrow_resolved(self, axis: usize, start: usize, len: usize) -> Self {
        self.record_unary(Op::Narrow { axis, start }, |x| {
            x.narrow_resolved(axis, start, len)
        })
    }

    #[track_caller]
    pub(crate) fn pad_resolved(self, axis: usize, start: usize, size: usize) -> Self {
        self.record_unary(Op::Pad { axis, start }, |x| {
            x.pad_resolved(axis, start, size)
        })
    }

    /// Splits along `axis` into pieces of `size` (narrows).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[5]));
    /// assert_eq!(x.split(2, 0).len(), 3);
    /// ```
    #[track_caller]
    pub fn split(self, size: usize, axis: isize) -> Vec<Self> {
        let shape = self.shape();
        let ax = norm_axis("split", axis, &shape);
        split_ranges("split", shape[ax], size)
            .into_iter()
            .map(|(s, l)| self.narrow_resolved(ax, s, l))
            .collect()
    }

    /// Splits along `axis` into `chunks` near-equal pieces.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[4, 2]));
    /// assert_eq!(x.chunk(2, 0)[1].shape().as_slice(), &[2, 2]);
    /// ```
    #[track_caller]
    pub fn chunk(self, chunks: usize, axis: isize) -> Vec<Self> {
        let shape = self.shape();
        let ax = norm_axis("chunk", axis, &shape);
        self.split(chunk_size(chunks, shape[ax]), ax as isize)
    }

    /// Joins variables along an existing axis. VJP: the matching narrows.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape, TensorVar};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::<f64>::ones(&[1, 2]));
    /// let b = tape.leaf(Tensor::<f64>::ones(&[3, 2]));
    /// let c = TensorVar::concat(&[a, b], 0);
    /// assert_eq!(c.shape().as_slice(), &[4, 2]);
    /// assert_eq!(c.sum().backward()[b].to_vec(), vec![1.0; 6]);
    /// ```
    #[track_caller]
    pub fn concat(parts: &[Self], axis: isize) -> Self {
        let Some(&first) = parts.first() else {
            panic!("concat: no tensors to concatenate");
        };
        let values: Vec<Tensor<T>> = parts.iter().map(|p| p.value()).collect();
        let refs: Vec<&Tensor<T>> = values.iter().collect();
        let value = Tensor::concat(&refs, axis);
        let ax = norm_axis("concat", axis, values[0].shape());
        first.record_nary(parts, "concat", Op::Concat(ax), value)
    }

    /// Joins variables of one shape along a new axis.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape, TensorVar};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::<f64>::ones(&[3]));
    /// assert_eq!(TensorVar::stack(&[a, a], 1).shape().as_slice(), &[3, 2]);
    /// ```
    #[track_caller]
    pub fn stack(parts: &[Self], axis: isize) -> Self {
        let Some(first) = parts.first() else {
            panic!("stack: no tensors to stack");
        };
        let shapes: Vec<Shape> = parts.iter().map(|p| p.shape()).collect();
        check_same_shapes("stack", shapes.iter().map(|s| s.as_slice()), &first.shape());
        let up: Vec<Self> = parts.iter().map(|p| p.unsqueeze(axis)).collect();
        Self::concat(&up, axis)
    }
}

// ---------------------------------------------------------------------------
// Vector-Jacobian products.

pub(crate) fn permute_vjp<T: Real, V: Algebra<T>>(g: &V, perm: &[usize]) -> V {
    let mut inverse = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    g.permute(&inverse)
}

pub(crate) fn concat_vjp<T: Real, V: Algebra<T>>(
    x: &[&V],
    g: &V,
    axis: usize,
    need: &[bool],
) -> SmallVec<[Option<V>; 2]> {
    let mut start = 0;
    x.iter()
        .zip(need)
        .map(|(xi, &needed)| {
            let len = xi.shape()[axis];
            let piece = needed.then(|| g.narrow(axis, start, len));
            start += len;
            piece
        })
        .collect()
}
