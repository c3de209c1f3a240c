//! Indexing: index_select, gather, scatter_add, one_hot. An embedding lookup
//! is `index_select` on axis 0. Forward, recording and VJP side by side; the
//! VJP of each selection is the matching scatter, and the other way round.

use std::sync::Arc;

use super::algebra::Algebra;
use super::shape::{Shape, fmt_shape, norm_axis, numel, strides};
use super::tape::{Op, TensorVar};
use super::value::Tensor;
use crate::Real;

#[track_caller]
fn check_indices(op: &str, idx: &[usize], axis: usize, shape: &[usize]) {
    if let Some(&bad) = idx.iter().find(|&&i| i >= shape[axis]) {
        panic!(
            "{op}: index {bad} is out of range for axis {axis} of length {} (shape {})",
            shape[axis],
            fmt_shape(shape)
        );
    }
}

/// Checks a gather/scatter index tensor against the data's shape.
#[track_caller]
fn check_index_tensor(op: &str, index: &Tensor<usize>, axis: usize, shape: &[usize]) {
    let is = index.shape();
    let fits = is.len() == shape.len()
        && is
            .iter()
            .zip(shape)
            .enumerate()
            .all(|(d, (&i, &s))| d == axis || i <= s);
    if !fits {
        panic!(
            "{op}: index shape {} does not fit data shape {} along axes other than {axis}",
            fmt_shape(is),
            fmt_shape(shape)
        );
    }
    check_indices(op, index.data(), axis, shape);
}

/// Calls `f(position in index, offset in data)` for every element of
/// `index`, where the offset replaces the coordinate along `axis` by the
/// index value.
fn for_each_indexed(
    index: &Tensor<usize>,
    axis: usize,
    data_shape: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    let is = index.shape();
    let ds = strides(data_shape);
    let n = numel(is);
    if n == 0 {
        return;
    }
    let nd = is.len();
    let mut coord: Shape = smallvec::smallvec![0; nd];
    for (p, &iv) in index.data().iter().enumerate() {
        let off: usize = (0..nd)
            .map(|d| {
                if d == axis {
                    iv * ds[d]
                } else {
                    coord[d] * ds[d]
                }
            })
            .sum();
        f(p, off);
        let mut d = nd;
        while d > 0 {
            d -= 1;
            coord[d] += 1;
            if coord[d] < is[d] {
                break;
            }
            coord[d] = 0;
        }
    }
}

impl<T: Copy> Tensor<T> {
    /// The entries at `indices` along `axis`, in that order (repeats allowed).
    /// An embedding lookup is `table.index_select(0, &ids)`; it works on
    /// labels (`Tensor<usize>`) too, for batching.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let table = Tensor::from_vec(vec![0.0_f32, 0.0, 1.0, 1.0, 2.0, 2.0], &[3, 2]);
    /// assert_eq!(table.index_select(0, &[2, 0, 2]).to_vec(), vec![2.0, 2.0, 0.0, 0.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Self {
        let ax = norm_axis("index_select", axis, self.shape());
        check_indices("index_select", indices, ax, self.shape());
        self.index_select_resolved(ax, indices)
    }

    pub(crate) fn index_select_resolved(&self, axis: usize, idx: &[usize]) -> Self {
        let shape = self.shape();
        let (outer, len, inner) = (
            numel(&shape[..axis]),
            shape[axis],
            numel(&shape[axis + 1..]),
        );
        let d = self.data();
        let mut out = Vec::with_capacity(outer * idx.len() * inner);
        for o in 0..outer {
            for &i in idx {
                let s = (o * len + i) * inner;
                out.extend_from_slice(&d[s..s + inner]);
            }
        }
        let mut out_shape = Shape::from_slice(shape);
        out_shape[axis] = idx.len();
        Tensor::from_parts(out_shape, out)
    }
}

impl<T: Real> Tensor<T> {
    /// Zeros of length `size` along `axis`, with slice `k` of `self` added
    /// at `idx[k]` (repeats accumulate): the adjoint of `index_select`.
    pub(crate) fn index_add_into_resolved(&self, axis: usize, idx: &[usize], size: usize) -> Self {
        let shape = self.shape();
        let (outer, inner) = (numel(&shape[..axis]), numel(&shape[axis + 1..]));
        let mut out = vec![T::ZERO; outer * size * inner];
        let d = self.data();
        for o in 0..outer {
            for (k, &i) in idx.iter().enumerate() {
                let src = &d[(o * idx.len() + k) * inner..(o * idx.len() + k + 1) * inner];
                let dst = &mut out[(o * size + i) * inner..(o * size + i + 1) * inner];
                for (a, &b) in dst.iter_mut().zip(src) {
                    *a += b;
                }
            }
        }
        let mut out_shape = Shape::from_slice(shape);
        out_shape[axis] = size;
        Tensor::from_parts(out_shape, out)
    }

    /// `out[i][j] = self[index[i][j]][j]` for axis 0 (and likewise for other
    /// axes), as `torch.gather`: the result has the index's shape.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let logp = Tensor::from_vec(vec![0.1_f32, 0.9, 0.8, 0.2], &[2, 2]);
    /// let target = Tensor::from_vec(vec![1_usize, 0], &[2, 1]);
    /// assert_eq!(logp.gather(1, &target).to_vec(), vec![0.9, 0.8]);
    /// ```
    #[track_caller]
    pub fn gather(&self, axis: isize, index: &Tensor<usize>) -> Self {
        let ax = norm_axis("gather", axis, self.shape());
        check_index_tensor("gather", index, ax, self.shape());
        self.gather_resolved(ax, index)
    }

    pub(crate) fn gather_resolved(&self, axis: usize, index: &Tensor<usize>) -> Self {
        let d = self.data();
        let mut out = Vec::with_capacity(index.numel());
        for_each_indexed(index, axis, self.shape(), |_, off| out.push(d[off]));
        Tensor::from_parts(Shape::from_slice(index.shape()), out)
    }

    pub(crate) fn scatter_add_into_resolved(
        &self,
        axis: usize,
        index: &Tensor<usize>,
        shape: &[usize],
    ) -> Self {
        let mut out = vec![T::ZERO; numel(shape)];
        let d = self.data();
        for_each_indexed(index, axis, shape, |p, off| out[off] += d[p]);
        Tensor::from_parts(Shape::from_slice(shape), out)
    }

    /// `self` with `src[i][j]` added at `[index[i][j]][j]` for axis 0 (and
    /// likewise for other axes), as `torch.scatter_add`; `src` has the
    /// index's shape.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let base = Tensor::<f32>::zeros(&[3]);
    /// let index = Tensor::from_vec(vec![0_usize, 2, 0], &[3]);
    /// let src = Tensor::from_vec(vec![1.0_f32, 2.0, 3.0], &[3]);
    /// assert_eq!(base.scatter_add(0, &index, &src).to_vec(), vec![4.0, 0.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn scatter_add(&self, axis: isize, index: &Tensor<usize>, src: &Self) -> Self {
        let ax = norm_axis("scatter_add", axis, self.shape());
        check_scatter("scatter_add", index, src.shape());
        check_index_tensor("scatter_add", index, ax, self.shape());
        self.add(&src.scatter_add_into_resolved(ax, index, self.shape()))
    }

    /// One row per class index: `out[..., c] = 1` where `c = indices[...]`.
    /// Panics if an index is not below `classes`.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let y = Tensor::from_vec(vec![2_usize, 0], &[2]);
    /// assert_eq!(Tensor::<f32>::one_hot(&y, 3).to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn one_hot(indices: &Tensor<usize>, classes: usize) -> Self {
        if let Some(&bad) = indices.data().iter().find(|&&c| c >= classes) {
            panic!(
                "one_hot: class index {bad} is out of range for {classes} classes (indices of shape {})",
                fmt_shape(indices.shape())
            );
        }
        let mut out = vec![T::ZERO; indices.numel() * classes];
        for (r, &c) in indices.data().iter().enumerate() {
            out[r * classes + c] = T::ONE;
        }
        let mut shape = Shape::from_slice(indices.shape());
        shape.push(classes);
        Tensor::from_parts(shape, out)
    }
}

#[track_caller]
fn check_scatter(op: &str, index: &Tensor<usize>, src: &[usize]) {
    if index.shape() != src {
        panic!(
            "{op}: the source has shape {} but the index has shape {}",
            fmt_shape(src),
            fmt_shape(index.shape())
        );
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Entries at `indices` along `axis`, recorded. VJP: the gradient
    /// slices added back at their indices (repeats accumulate).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let table = tape.leaf(Tensor::<f64>::zeros(&[3, 2]));
    /// let rows = table.index_select(0, &[2, 2, 0]);
    /// assert_eq!(rows.sum().backward()[table].to_vec(), vec![1.0, 1.0, 0.0, 0.0, 2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn index_select(self, axis: isize, indices: &[usize]) -> Self {
        let shape = self.shape();
        let ax = norm_axis("index_select", axis, &shape);
        check_indices("index_select", indices, ax, &shape);
        self.index_select_resolved(ax, &Arc::from(indices))
    }

    #[track_caller]
    pub(crate) fn index_select_resolved(self, axis: usize, idx: &Arc<[usize]>) -> Self {
        self.record_unary(
            Op::IndexSelect {
                axis,
                idx: Arc::clone(idx),
            },
            |x| x.index_select_resolved(axis, idx),
        )
    }

    #[track_caller]
    pub(crate) fn index_add_into_resolved(
        self,
        axis: usize,
        idx: &Arc<[usize]>,
        size: usize,
    ) -> Self {
        self.record_unary(
            Op::IndexAdd {
                axis,
                idx: Arc::clone(idx),
            },
            |x| x.index_add_into_resolved(axis, idx, size),
        )
    }

    /// `torch.gather` along `axis`, recorded. VJP: scatter-add of the
    /// gradient at the same indices.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::zeros(&[2, 3]));
    /// let idx = Tensor::from_vec(vec![2_usize, 0], &[2, 1]);
    /// let g = x.gather(1, &idx).sum().backward();
    /// assert_eq!(g[x].to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn gather(self, axis: isize, index: &Tensor<usize>) -> Self {
        let shape = self.shape();
        let ax = norm_axis("gather", axis, &shape);
        check_index_tensor("gather", index, ax, &shape);
        self.gather_resolved(ax, index)
    }

    #[track_caller]
    pub(crate) fn gather_resolved(self, axis: usize, index: &Tensor<usize>) -> Self {
        self.record_unary(
            Op::Gather {
                axis,
                index: Box::new(index.clone()),
            },
            |x| x.gather_resolved(axis, index),
        )
    }

    #[track_caller]
    pub(crate) fn scatter_add_into_resolved(
        self,
        axis: usize,
        index: &Tensor<usize>,
        shape: &[usize],
    ) -> Self {
        self.record_unary(
            Op::ScatterAdd {
                axis,
                index: Box::new(index.clone()),
            },
            |x| x.scatter_add_into_resolved(axis, index, shape),
        )
    }

    /// `self` plus `src` scattered at `index` along `axis`
    /// (`torch.scatter_add`), recorded. VJP: `g` for `self`, and `g`
    /// gathered at `index` for `src`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let base = tape.leaf(Tensor::<f64>::zeros(&[3]));
    /// let src = tape.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    /// let idx = Tensor::from_vec(vec![2_usize, 2], &[2]);
    /// let out = base.scatter_add(0, &idx, src);
    /// assert_eq!(out.value().to_vec(), vec![0.0, 0.0, 3.0]);
    /// let w = tape.constant(Tensor::from_vec(vec![0.0, 0.0, 5.0], &[3]));
    /// assert_eq!(out.mul(w).sum().backward()[src].to_vec(), vec![5.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn scatter_add(self, axis: isize, index: &Tensor<usize>, src: Self) -> Self {
        self.check_same_tape("scatter_add", src);
        let shape = self.shape();
        let ax = norm_axis("scatter_add", axis, &shape);
        check_scatter("scatter_add", index, &src.shape());
        check_index_tensor("scatter_add", index, ax, &shape);
        self.add(src.scatter_add_into_resolved(ax, index, &shape))
    }
}

/// The adjoint of scattering into zeros is gathering from the gradient.
pub(crate) fn scatter_vjp<T: Real, V: Algebra<T>>(g: &V, axis: usize, index: &Tensor<usize>) -> V {
    g.gather(axis, index)
}
