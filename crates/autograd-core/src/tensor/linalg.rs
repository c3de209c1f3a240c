//! Matrix products: 2-d, batched (leading axes broadcast) and
//! matrix-vector, on the `gemm` crate's kernels. Forward, recording and VJP
//! side by side.
//!
//! One primitive, `mm(a, b, ta, tb)` = op(a) @ op(b) where op transposes the
//! last two axes when its flag is set, serves every case: the VJP of a
//! product is two more products with other flags, so no transpose is ever
//! copied (see docs/performance.md for why `gemm` was chosen).

use std::any::TypeId;
use std::mem::MaybeUninit;

use super::algebra::Algebra;
use super::pool;
use super::shape::{Shape, broadcast_strides, fmt_shape, numel, strides, try_broadcast};
use super::tape::{Op, TensorVar};
use super::value::Tensor;
use crate::Real;
use crate::parallel::SPLIT_WORK;

/// The shapes of a product: batch shape, m, k, n.
#[track_caller]
fn mm_shapes(
    op: &str,
    a: &[usize],
    b: &[usize],
    ta: bool,
    tb: bool,
) -> (Shape, usize, usize, usize) {
    let sym = |t: bool| if t { "^T" } else { "" };
    if a.len() < 2 || b.len() < 2 {
        panic!(
            "{op}: {}{} @ {}{}: both operands need at least 2 dimensions here",
            fmt_shape(a),
            sym(ta),
            fmt_shape(b),
            sym(tb)
        );
    }
    let (ar, ac) = (a[a.len() - 2], a[a.len() - 1]);
    let (br, bc) = (b[b.len() - 2], b[b.len() - 1]);
    let (m, ka) = if ta { (ac, ar) } else { (ar, ac) };
    let (kb, n) = if tb { (bc, br) } else { (br, bc) };
    if ka != kb {
        panic!(
            "{op}: {}{} @ {}{}: inner dimensions {ka} and {kb} differ",
            fmt_shape(a),
            sym(ta),
            fmt_shape(b),
            sym(tb)
        );
    }
    let (ba, bb) = (&a[..a.len() - 2], &b[..b.len() - 2]);
    let batch = match try_broadcast(ba, bb) {
        Ok(batch) => batch,
        Err(_) => panic!(
            "{op}: {} @ {}: batch dimensions {} and {} do not broadcast",
            fmt_shape(a),
            fmt_shape(b),
            fmt_shape(ba),
            fmt_shape(bb)
        ),
    };
    (batch, m, ka, n)
}

/// One matrix product `dst = op(a) @ op(b)` into a fresh `m x n` block.
/// `a` and `b` are the operands' storage starting at their matrices.
// The arguments are gemm's own: three buffers, three sizes, two flags.
#[allow(clippy::too_many_arguments)]
fn gemm_into<T: Real>(
    dst: &mut [MaybeUninit<T>],
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
) {
    // Row and column strides of op(a) (m x k) and op(b) (k x n), in elements.
    let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
    let (b_rs, b_cs) = if tb { (1, k) } else { (n, 1) };
    assert!(
        a.len() >= m * k && b.len() >= k * n,
        "gemm_into: operand storage too short"
    );
    strided_into(dst, a, b, m, k, n, [a_rs, a_cs, b_rs, b_cs], true);
}

/// `dst` (m x n, contiguous) = op(a) @ op(b), where op(a) is m x k at
/// strides `[a_rs, a_cs]` into `a` and op(b) is k x n at `[b_rs, b_cs]`
/// into `b`, on this thread: for kernels that multiply strided views (one
/// attention head inside a packed projection) without copying them out.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_strided<T: Real>(
    dst: &mut [T],
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
    strides: [usize; 4],
) {
    // SAFETY: `MaybeUninit<T>` has T's layout, and `strided_into` writes
    // only initialised values through the view, so `dst` stays initialised.
    let dst = unsafe { &mut *(dst as *mut [T] as *mut [MaybeUninit<T>]) };
    matmul_strided_uninit(dst, a, b, m, k, n, strides);
}

/// [`matmul_strided`] into an uninitialised block, every element of which
/// it writes (zeros when k = 0): for kernels whose output starts
/// uninitialised.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_strided_uninit<T: Real>(
    dst: &mut [MaybeUninit<T>],
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
    strides: [usize; 4],
) {
    strided_into(dst, a, b, m, k, n, strides, false);
}

/// Whether `gemm` has kernels for `T` (f32 and f64).
fn gemm_supports<T: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<f32>() || TypeId::of::<T>() == TypeId::of::<f64>()
}

/// The plain triple loop, for a `Real` type `gemm` has no kernel for:
/// `put(i * n + j, sum over l of a[i, l] b[l, j])`.
fn plain_product<T: Real>(
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
    strides: [usize; 4],
    mut put: impl FnMut(usize, T),
) {
    let [a_rs, a_cs, b_rs, b_cs] = strides;
    for i in 0..m {
        for j in 0..n {
            let mut acc = T::ZERO;
            for l in 0..k {
                acc += a[i * a_rs + l * a_cs] * b[l * b_rs + j * b_cs];
            }
            put(i * n + j, acc);
        }
    }
}

/// `dst += op(a) @ op(b)`, strided as [`matmul_strided`], on this thread:
/// for kernels that sum products over a batch into one block (a
/// convolution's weight gradient) without a temporary per product.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_strided_add<T: Real>(
    dst: &mut [T],
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
    strides: [usize; 4],
) {
    assert_eq!(dst.len(), m * n, "matmul: output buffer of the wrong size");
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    if !gemm_supports::<T>() {
        plain_product(a, b, m, k, n, strides, |i, acc| dst[i] += acc);
        return;
    }
    // SAFETY: `MaybeUninit<T>` has T's layout; `dst` is initialised (it is
    // a `&mut [T]`), which `read_dst = true` requires, and gemm writes only
    // initialised values back.
    let dst = unsafe { &mut *(dst as *mut [T] as *mut [MaybeUninit<T>]) };
    gemm_rows(dst, a, b, k, n, strides, true);
}

/// Writes every element of `dst` (m x n): the product, zeros when k = 0.
/// Large products split by rows between threads when `split`.
#[allow(clippy::too_many_arguments)]
fn strided_into<T: Real>(
    dst: &mut [MaybeUninit<T>],
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
    strides: [usize; 4],
    split: bool,
) {
    assert_eq!(dst.len(), m * n, "matmul: output buffer of the wrong size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for d in dst.iter_mut() {
            d.write(T::ZERO);
        }
        return;
    }
    let a_rs = strides[0];
    if !gemm_supports::<T>() {
        plain_product(a, b, m, k, n, strides, |i, acc| {
            dst[i].write(acc);
        });
        return;
    }
    if !split {
        gemm_rows(dst, a, b, k, n, strides, false);
        return;
    }
    // Large products split by rows of the result, one block per thread
    // (crate::parallel); row `r0` of op(a) starts `r0 * a_rs` into `a`.
    crate::parallel::for_chunks(m * n * k, SPLIT_WORK, dst, n, |r0, d| {
        gemm_rows(d, &a[r0 * a_rs..], b, k, n, strides, false);
    });
}

/// `dst` (rows x n, row-major) = op(a) @ op(b) on this thread, where op(a)
/// is rows x k with strides `[a_rs, a_cs]` into `a` and op(b) is k x n with
/// strides `[b_rs, b_cs]` into `b`. T is f32 or f64. With `add`, the
/// product is added to `dst`, which must then be initialised.
fn gemm_rows<T: Real>(
    dst: &mut [MaybeUninit<T>],
    a: &[T],
    b: &[T],
    k: usize,
    n: usize,
    strides: [usize; 4],
    add: bool,
) {
    let [a_rs, a_cs, b_rs, b_cs] = strides;
    let rows = dst.len() / n;
    // The largest offsets gemm reads: checked here, relied on below.
    assert!(
        a.len() > (rows - 1) * a_rs + (k - 1) * a_cs && b.len() > (k - 1) * b_rs + (n - 1) * b_cs,
        "gemm_rows: operand storage too short"
    );
    // SAFETY: `gemm` reads op(a) at `a + i*a_rs + l*a_cs` for i < rows,
    // l < k, and op(b) at `b + l*b_rs + j*b_cs` for l < k, j < n: the
    // largest of these offsets are below a.len() and b.len() (asserted
    // above; rows, k, n >= 1 because dst is non-empty and the caller
    // returned early for k == 0). It writes dst at `i*n + j` < rows*n =
    // dst.len(); with `read_dst = false` dst's old contents are never read,
    // and with `add` (`read_dst = true`) the caller guarantees they are
    // initialised (`matmul_strided_add` takes a `&mut [T]`). `dst` is a unique `&mut` borrow (for a split product, a disjoint
    // chunk of the result), so it aliases neither input. T is f32 or f64
    // (the caller checked), types gemm implements; `MaybeUninit<T>` has T's
    // layout, and with `read_dst = false` gemm writes every element of the
    // rows x n block, so `dst` is fully initialised afterwards (what
    // `mm_kernel_into`'s callers rely on). Strides fit in isize because the
    // slices exist.
    unsafe {
        gemm::gemm(
            rows,
            n,
            k,
            dst.as_mut_ptr() as *mut T,
            1,
            n as isize,
            add,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            // dst = alpha dst + beta (a @ b); alpha is ignored without `add`.
            if add { T::ONE } else { T::ZERO },
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

impl<T: Real> Tensor<T> {
    /// Matrix product with numpy's rules: 2-d @ 2-d; a 1-d operand is a
    /// row (left) or column (right) vector whose axis is dropped from the
    /// result; axes before the last two are batch axes and broadcast.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// let v = Tensor::from_vec(vec![1.0_f32, 1.0], &[2]);
    /// assert_eq!(a.matmul(&v).to_vec(), vec![3.0, 7.0]);
    /// assert_eq!(a.matmul(&a).to_vec(), vec![7.0, 10.0, 15.0, 22.0]);
    /// ```
    #[track_caller]
    pub fn matmul(&self, other: &Self) -> Self {
        let (a2, b2, out) = vector_promotion("matmul", self.shape(), other.shape());
        self.reshape(&a2)
            .mm_checked("matmul", &other.reshape(&b2), false, false)
            .reshape(&out)
    }

    /// `self @ otherᵀ` (last two axes of `other` swapped) without copying the
    /// transpose: `x.matmul_transposed(&w)` is a linear layer with PyTorch's
    /// `[out, in]` weight layout.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let x = Tensor::from_vec(vec![1.0_f32, 2.0], &[1, 2]);
    /// let w = Tensor::from_vec(vec![1.0_f32, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]);
    /// assert_eq!(x.matmul_transposed(&w).to_vec(), vec![1.0, 2.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn matmul_transposed(&self, other: &Self) -> Self {
        self.mm_checked("matmul_transposed", other, false, true)
    }

    #[track_caller]
    fn mm_checked(&self, op: &str, other: &Self, ta: bool, tb: bool) -> Self {
        let (batch, m, k, n) = mm_shapes(op, self.shape(), other.shape(), ta, tb);
        let mut out_shape = batch.clone();
        out_shape.extend([m, n]);
        // SAFETY: `mm_kernel_into` writes every element of `out` (see its
        // comment).
        unsafe {
            Tensor::from_uninit(out_shape, |out| {
                self.mm_kernel_into(other, &batch, m, k, n, ta, tb, out)
            })
        }
    }

    pub(crate) fn mm_ex(&self, other: &Self, ta: bool, tb: bool) -> Self {
        self.mm_checked("matmul", other, ta, tb)
    }

    /// `self @ other` (with transposes) into `out`'s own buffer, for replay:
    /// false (and nothing written) when `out` has another shape than the
    /// product, or another tensor shares its buffer.
    pub(crate) fn mm_into(&self, other: &Self, ta: bool, tb: bool, out: &mut Self) -> bool {
        if self.ndim() < 2 || other.ndim() < 2 {
            return false;
        }
        let (batch, m, k, n) = mm_shapes("matmul", self.shape(), other.shape(), ta, tb);
        let mut shape = batch.clone();
        shape.extend([m, n]);
        if !super::shape::same_shape(&shape, out.shape()) {
            return false;
        }
        match out.data_if_unique() {
            Some(d) => {
                // SAFETY: `MaybeUninit<T>` has `T`'s layout, and the kernel
                // writes only initialised values through the view, so `d`
                // stays initialised.
                let d = unsafe { &mut *(d as *mut [T] as *mut [MaybeUninit<T>]) };
                self.mm_kernel_into(other, &batch, m, k, n, ta, tb, d);
                true
            }
            None => false,
        }
    }

    /// The product into `out` (`batch + [m, n]` elements), writing every
    /// element: one `gemm_into` per matrix, or one for the folded batch, and
    /// `gemm_into` writes all of its block.
    #[allow(clippy::too_many_arguments)]
    fn mm_kernel_into(
        &self,
        other: &Self,
        batch: &[usize],
        m: usize,
        k: usize,
        n: usize,
        ta: bool,
        tb: bool,
        out: &mut [MaybeUninit<T>],
    ) {
        let nb = numel(batch);
        let (ad, bd) = (self.data(), other.data());
        let a_batch = &self.shape()[..self.ndim() - 2];
        let b_batch = &other.shape()[..other.ndim() - 2];
        if numel(b_batch) == 1 && !ta && nb > 0 {
            // The batch of `a` folds into its rows: one large product.
            gemm_into(out, ad, bd, nb * m, k, n, false, tb);
            return;
        }
        // Batch strides, in matrices, with 0 along broadcast axes.
        let sa = broadcast_strides(a_batch, batch);
        let sb = broadcast_strides(b_batch, batch);
        let bst = strides(batch);
        if m * n == 0 {
            return;
        }
        // The batch's matrices split between threads (crate::parallel),
        // each product on one thread: attention's are small.
        let out = &mut out[..nb * m * n];
        crate::parallel::for_chunks(nb * m * n * k, SPLIT_WORK, out, m * n, |first, part| {
            for (j, dst) in part.chunks_mut(m * n).enumerate() {
                let bi = first + j;
                let (mut oa, mut ob) = (0, 0);
                for d in 0..batch.len() {
                    let i = (bi / bst[d]) % batch[d];
                    oa += i * sa[d];
                    ob += i * sb[d];
                }
                gemm_into(dst, &ad[oa * m * k..], &bd[ob * k * n..], m, k, n, ta, tb);
            }
        });
    }
}

/// numpy's promotion of 1-d operands: shapes to multiply as matrices, and
/// the result's shape.
#[track_caller]
fn vector_promotion(op: &str, a: &[usize], b: &[usize]) -> (Shape, Shape, Shape) {
    if a.is_empty() || b.is_empty() {
        panic!(
            "{op}: {} @ {}: both operands need at least 1 dimension",
            fmt_shape(a),
            fmt_shape(b)
        );
    }
    let a2: Shape = if a.len() == 1 {
        smallvec::smallvec![1, a[0]]
    } else {
        Shape::from_slice(a)
    };
    let b2: Shape = if b.len() == 1 {
        smallvec::smallvec![b[0], 1]
    } else {
        Shape::from_slice(b)
    };
    let (ka, kb) = (a2[a2.len() - 1], b2[b2.len() - 2]);
    if ka != kb {
        panic!(
            "{op}: {} @ {}: inner dimensions {ka} and {kb} differ",
            fmt_shape(a),
            fmt_shape(b)
        );
    }
    let (batch, m, _, n) = mm_shapes(op, &a2, &b2, false, false);
    let mut out = batch;
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    (a2, b2, out)
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Matrix product with numpy's rules (see [`Tensor::matmul`]), recorded.
    /// VJP: `dA = G Bᵀ`, `dB = Aᵀ G`, as products with transpose flags.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[2, 2]));
    /// let v = tape.constant(Tensor::from_vec(vec![1.0, -1.0], &[2]));
    /// let g = a.matmul(v).sum().backward();
    /// assert_eq!(g[a].to_vec(), vec![1.0, -1.0, 1.0, -1.0]);
    /// ```
    #[track_caller]
    pub fn matmul(self, other: Self) -> Self {
        let (a2, b2, out) = vector_promotion("matmul", &self.shape(), &other.shape());
        let a = if a2.as_slice() == self.shape().as_slice() {
            self
        } else {
            self.reshape(&a2)
        };
        let b = if b2.as_slice() == other.shape().as_slice() {
            other
        } else {
            other.reshape(&b2)
        };
        let c = a.mm_record("matmul", b, false, false);
        if c.shape() == out { c } else { c.reshape(&out) }
    }

    /// `self @ otherᵀ` without a transpose copy, recorded (see
    /// [`Tensor::matmul_transposed`]).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.constant(Tensor::from_vec(vec![1.0_f64, 2.0], &[1, 2]));
    /// let w = tape.leaf(Tensor::from_vec(vec![0.5, 0.5, 1.0, -1.0], &[2, 2]));
    /// let g = x.matmul_transposed(w).sum().backward();
    /// assert_eq!(g[w].to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn matmul_transposed(self, other: Self) -> Self {
        self.mm_record("matmul_transposed", other, false, true)
    }

    #[track_caller]
    pub(crate) fn mm_ex(self, other: Self, ta: bool, tb: bool) -> Self {
        self.mm_record("matmul", other, ta, tb)
    }

    #[track_caller]
    fn mm_record(self, name: &str, other: Self, ta: bool, tb: bool) -> Self {
        self.check_same_tape(name, other);
        // Shapes checked before recording, so a mismatch names this call.
        mm_shapes(name, &self.shape(), &other.shape(), ta, tb);
        self.record_binary(other, name, Op::MatMul { ta, tb }, None, |a, b| {
            a.mm_checked(name, b, ta, tb)
        })
    }
}

/// C = op(A) op(B): each input's gradient is again a product. The product
/// that gives input `k`'s, as (left, right, transpose left, transpose
/// right); the general rule and the pooled one both take it from here.
fn grad_product<'v, V>(
    k: usize,
    a: &'v V,
    b: &'v V,
    g: &'v V,
    ta: bool,
    tb: bool,
) -> (&'v V, &'v V, bool, bool) {
    match (k, ta, tb) {
        (0, false, false) => (g, b, false, true),
        (0, false, true) => (g, b, false, false),
        (0, true, false) => (b, g, false, true),
        (0, true, true) => (b, g, true, true),
        (_, false, false) => (a, g, true, false),
        (_, false, true) => (g, a, true, false),
        (_, true, false) => (a, g, false, false),
        (_, true, true) => (g, a, true, true),
    }
}

/// A batch of matrices times one matrix (a linear layer on `[B, T, in]`):
/// the matrix's gradient is the sum over the batch of one product per
/// batch matrix, `B` products with `K = T` and a `[B, ..]` stack to sum
/// afterwards. With the batch folded into the rows it is one product with
/// `K = B·T` and no stack. The 2-d shapes `a` and the adjoint fold to, or
/// `None` when the product is not of that kind.
fn folded_rows(a: &[usize], b: &[usize], ta: bool, n: usize) -> Option<([usize; 2], [usize; 2])> {
    if ta || a.len() <= 2 || b.len() != 2 {
        return None;
    }
    let k = a[a.len() - 1];
    let rows = numel(&a[..a.len() - 1]);
    Some(([rows, k], [rows, n]))
}

/// The number of columns of `op(b)`.
fn product_columns(b: &[usize], tb: bool) -> usize {
    if tb { b[b.len() - 2] } else { b[b.len() - 1] }
}

pub(crate) fn mm_vjp<T: Real, V: Algebra<T>>(
    x: &[&V],
    g: &V,
    ta: bool,
    tb: bool,
    need: &[bool],
) -> [Option<V>; 2] {
    // The matrix's gradient of a batch times a matrix, from the folded
    // operands (decided once, for both gradients).
    let folded = need[1]
        .then(|| {
            let (a, b) = (x[0].shape(), x[1].shape());
            folded_rows(&a, &b, ta, product_columns(&b, tb))
        })
        .flatten();
    [0, 1].map(|k| {
        need[k].then(|| {
            if let (1, Some((a2, g2))) = (k, folded) {
                let (a2, g2) = (x[0].reshape(&a2), g.reshape(&g2));
                let (l, r, tl, tr) = grad_product(1, &a2, x[1], &g2, false, tb);
                return l.mm(r, tl, tr);
            }
            let (l, r, tl, tr) = grad_product(k, x[0], x[1], g, ta, tb);
            l.mm(r, tl, tr)
        })
    })
}

/// [`mm_vjp`] for two matrices, each gradient computed into a buffer from
/// the sweep's pool (see `pool.rs`) by the same kernel call as `mm`; for
/// matrices each product has the shape of the input it is the gradient of.
/// `None`, with nothing taken from the pool, for batched operands other
/// than a batch times a matrix.
pub(crate) fn mm_vjp_pooled<T: Real>(
    x: &[&Tensor<T>],
    g: &Tensor<T>,
    ta: bool,
    tb: bool,
    need: &[bool],
    pool: &mut Vec<Tensor<T>>,
) -> Option<[Option<Tensor<T>>; 2]> {
    // A batch times a matrix runs as the matrices it folds to; the batch's
    // gradient is the same elements in order, given its own shape back.
    let n = product_columns(x[1].shape(), tb);
    let folded = folded_rows(x[0].shape(), x[1].shape(), ta, n)
        .map(|(a2, g2)| (x[0].reshape(&a2), g.reshape(&g2)));
    if folded.is_none() && (x[0].ndim() != 2 || x[1].ndim() != 2 || g.ndim() != 2) {
        return None;
    }
    let (a, g) = match &folded {
        Some((a2, g2)) => (a2, g2),
        None => (x[0], g),
    };
    let (shapes, x) = ([x[0].shape(), x[1].shape()], [a, x[1]]);
    let mut out: [Option<Tensor<T>>; 2] = [None, None];
    for k in 0..2 {
        if !need[k] {
            continue;
        }
        let (l, r, tl, tr) = grad_product(k, x[0], x[1], g, ta, tb);
        // A kept buffer is written over; without one, the product's own
        // fresh output is written once (no zero-fill first).
        let d = match pool::take_kept(pool, x[k].shape()) {
            Some(mut d) => {
                if !l.mm_into(r, tl, tr, &mut d) {
                    pool::give(pool, d);
                    for t in out.into_iter().flatten() {
                        pool::give(pool, t);
                    }
                    return None;
                }
                d
            }
            None => l.mm_ex(r, tl, tr),
        };
        out[k] = Some(d.into_shape(shapes[k]));
    }
    Some(out)
}
