//! y = x Wᵀ + b as one node (PyTorch's `F.linear(x, weight, bias)`): `x`
//! `[..., in]`, `W` `[out, in]`, `b` `[out]` (optional), `y` `[..., out]`.
//!
//! Recorded as a product and an add, the bias costs a pass of its own over
//! the output: read the product, add the row, write a new tensor. Here the
//! output starts as the bias rows and the product is added into it by the
//! matrix kernel (which reads its destination anyway when it adds), so the
//! output is written once. The sum differs from the product-then-add only
//! in rounding order (the kernel adds its blocks of the product to the bias
//! one after another).
//!
//! VJP: dx = G W and dW = Gᵀ x, the matrix product's own rule
//! (`linalg::mm_vjp`, which folds a batch of rows into one product for
//! dW), and db = G, which the sweep sums back to `[out]` as it does for a
//! broadcast add.

use smallvec::{smallvec, SmallVec};

use crate::parallel::SPLIT_WORK;
use crate::tensor::linalg::{matmul_strided_add, mm_vjp, mm_vjp_pooled};
use crate::tensor::prim::{Apply, Primitive};
use crate::tensor::shape::{fmt_shape, Shape};
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Linear;

impl<T: Real> Primitive<T> for Linear {
    const NAME: &'static str = "linear";

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let (xs, w) = (x[0], x[1]);
        let Some(b) = x.get(2) else {
            return xs.mm_ex(w, false, true);
        };
        let (out_f, in_f) = (w.shape()[0], w.shape()[1]);
        let mut shape = Shape::from_slice(xs.shape());
        *shape.last_mut().expect("linear: x has at least one axis") = out_f;
        let bd = b.data();
        // SAFETY: the closure writes every element: the buffer has
        // rows x out_f elements (the shape's product), `chunks_mut(out_f)`
        // visits all of them in rows of exactly out_f (out_f > 0 here: an
        // empty row size makes the buffer empty), and each row is zipped
        // with `bd`, which has out_f elements (checked when recorded).
        let mut y = unsafe {
            Tensor::from_uninit(shape, |out| {
                if out_f == 0 {
                    return;
                }
                for row in out.chunks_mut(out_f) {
                    for (o, &v) in row.iter_mut().zip(bd) {
                        o.write(v);
                    }
                }
            })
        };
        let rows = y.numel().checked_div(out_f).unwrap_or(0);
        let xd = xs.data();
        let wd = w.data();
        // Rows split between threads for large products; each row's sum is
        // the same wherever it runs.
        crate::parallel::for_chunks(rows * in_f * out_f, SPLIT_WORK, y.data_mut(), out_f.max(1), |r0, part| {
            let m = part.len() / out_f.max(1);
            // op(W) = Wᵀ: W's rows read as columns.
            matmul_strided_add(part, &xd[r0 * in_f..], wd, m, in_f, out_f, [in_f, 1, 1, in_f]);
        });
        y
    }

    fn vjp<V: Apply<T>>(&self, x: &[&V], _y: &V, g: &V, need: &[bool]) -> SmallVec<[Option<V>; 3]> {
        let [dx, dw] = mm_vjp(&x[..2], g, false, true, &need[..2]);
        let mut out = smallvec![dx, dw];
        if x.len() > 2 {
            out.push(need[2].then(|| g.clone()));
        }
        out
    }

    fn vjp_pooled(
        &self,
        x: &[&Tensor<T>],
        _y: &Tensor<T>,
        g: &Tensor<T>,
        need: &[bool],
        pool: &mut Vec<Tensor<T>>,
    ) -> Option<SmallVec<[Option<Tensor<T>>; 3]>> {
        let [dx, dw] = mm_vjp_pooled(&x[..2], g, false, true, &need[..2], pool)?;
        let mut out = smallvec![dx, dw];
        if x.len() > 2 {
            out.push(need[2].then(|| g.clone()));
        }
        Some(out)
    }
}

/// Checks the shapes at the caller's line, naming them.
#[track_caller]
fn check(x: &[usize], w: &[usize], b: Option<&[usize]>) {
    let bias = b.map_or(String::new(), |b| format!(", bias {}", fmt_shape(b)));
    let what = || format!("x {}, weight {}{bias}", fmt_shape(x), fmt_shape(w));
    if w.len() != 2 {
        panic!("linear: the weight must be [out, in], got {}", what());
    }
    if x.last() != Some(&w[1]) {
        panic!(
            "linear: x's last axis must have the weight's {} input features, got {}",
            w[1],
            what()
        );
    }
    if let Some(b) = b
        && b != [w[0]]
    {
        panic!("linear: the bias must be [{}] (one per output), got {}", w[0], what());
    }
}

impl<T: Real> Tensor<T> {
    /// `self Wᵀ + b` (PyTorch's `F.linear`): `self` `[..., in]`, `weight`
    /// `[out, in]`, `bias` `[out]`; the bias is added by the matrix kernel,
    /// not in a pass of its own. Panics, naming the shapes, when they do
    /// not fit.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let x = Tensor::from_vec(vec![1.0_f32, 2.0], &[1, 2]);
    /// let w = Tensor::from_vec(vec![1.0_f32, 0.0, 1.0, 1.0, 0.0, -1.0], &[3, 2]);
    /// let b = Tensor::from_vec(vec![0.5_f32, 0.5, 0.5], &[3]);
    /// assert_eq!(x.linear(&w, Some(&b)).to_vec(), vec![1.5, 3.5, -1.5]);
    /// ```
    #[track_caller]
    pub fn linear(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Self {
        check(self.shape(), weight.shape(), bias.map(|b| b.shape()));
        if self.ndim() == 1 {
            let row = self.reshape(&[1, self.numel()]);
            return row.linear(weight, bias).reshape(&[weight.shape()[0]]);
        }
        let mut x: SmallVec<[&Tensor<T>; 3]> = smallvec![self, weight];
        x.extend(bias);
        Primitive::forward(&Linear, &x)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// `self Wᵀ + b` recorded as one node (see [`Tensor::linear`]). VJP:
    /// dx = G W, dW = Gᵀ x (one product over all leading axes), db = G
    /// summed over them.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[2, 2]));
    /// let w = tape.leaf(Tensor::from_vec(vec![1.0, -1.0], &[1, 2]));
    /// let b = tape.leaf(Tensor::from_vec(vec![10.0], &[1]));
    /// let y = x.linear(w, Some(b));
    /// assert_eq!(y.value().to_vec(), vec![9.0, 9.0]);
    /// let g = y.sum().backward();
    /// assert_eq!(g[w].to_vec(), vec![4.0, 6.0]); // column sums of x
    /// assert_eq!(g[b].to_vec(), vec![2.0]); // one per row
    /// ```
    #[track_caller]
    pub fn linear(self, weight: Self, bias: Option<Self>) -> Self {
        let (xs, ws) = (self.shape(), weight.shape());
        check(&xs, &ws, bias.map(|b| b.shape()).as_deref());
        if xs.len() == 1 {
            let row = self.reshape(&[1, xs[0]]);
            return row.linear(weight, bias).reshape(&[ws[0]]);
        }
        let mut rest: SmallVec<[Self; 2]> = smallvec![weight];
        rest.extend(bias);
        self.general(&rest, Linear)
    }
}
