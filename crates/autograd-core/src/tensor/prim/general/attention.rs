//! Multi-head self-attention on a packed q/k/v projection, as one node:
//! `qkv` `[B, T, 3E]` (queries, keys, values side by side, each `H` heads
//! of width `D = E / H`, the layout of PyTorch's `in_proj`) gives
//! `[B, T, E]`, the heads' outputs side by side, ready for the output
//! projection. Per batch row and head, with Q, K, V the head's `[T, D]`
//! slices:
//!
//! - S = s Q Kᵀ (s = 1/√D by default), with the causal mask keeping only
//!   j ≤ i and the key padding mask (if given, `[B, T]`, `true` = padding)
//!   dropping padded keys j; P = softmax(S) along each row over the kept
//!   keys (a row with none is NaN, as in PyTorch); O = P V.
//! - VJP, with G the head's slice of the adjoint: dV = Pᵀ G, dP = G Vᵀ,
//!   dS = P ∘ (dP - rowsum(dP ∘ P)), dQ = s dS K, dK = s dSᵀ Q.
//!
//! The kernels multiply each head where it lies in the packed tensor (the
//! matrix kernel takes strides), so no head is copied out, no permutation
//! is materialised and no mask tensor exists (the padding mask is read as
//! the `[B, T]` flags it is); P is recomputed in the
//! backward pass (T x T per head) rather than kept. The general rule, for
//! `grad_graph` and higher derivatives, is the same formula in tensor
//! operations on permuted copies; it agrees with the kernels to rounding
//! (crates/autograd-core/tests/integration/tensor_primitives.rs), not bit for bit, because the products are
//! blocked differently.

use std::sync::Arc;

use smallvec::{smallvec, SmallVec};

use crate::tensor::linalg::matmul_strided;
use crate::tensor::pool;
use crate::tensor::prim::{Apply, Primitive};
use crate::tensor::shape::{fmt_shape, Shape};
use crate::tensor::{Tensor, TensorVar};
use crate::parallel::SPLIT_WORK;
use crate::simd::{lane_sum, lane_sum2, wide};
use crate::Real;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Attention<T> {
    pub(crate) heads: usize,
    pub(crate) causal: bool,
    pub(crate) scale: T,
    /// Key padding flags, `[B, T]` row-major, `true` = padding.
    pub(crate) padding: Option<Arc<[bool]>>,
}

/// Batch, sequence, width and head width.
#[derive(Clone, Copy)]
struct Dims {
    b: usize,
    t: usize,
    e: usize,
    d: usize,
}

impl<T: Real> Attention<T> {
    /// Checks the input's shape at the caller's line.
    #[track_caller]
    fn check(shape: &[usize], heads: usize, causal: bool, padding: Option<&Tensor<bool>>) -> Self {
        if shape.len() != 3 || shape[2] == 0 || !shape[2].is_multiple_of(3) {
            panic!(
                "self_attention: expects a packed q/k/v projection [B, T, 3E], got shape {}",
                fmt_shape(shape)
            );
        }
        let e = shape[2] / 3;
        if heads == 0 || !e.is_multiple_of(heads) {
            panic!(
                "self_attention: {heads} heads do not divide the width {e} of input {}",
                fmt_shape(shape)
            );
        }
        if let Some(m) = padding
            && m.shape() != [shape[0], shape[1]] {
                panic!(
                    "self_attention: the key padding mask must be [B, T] = [{}, {}], got shape {}",
                    shape[0],
                    shape[1],
                    fmt_shape(m.shape())
                );
            }
        Attention {
            heads,
            causal,
            scale: T::ONE / T::from_f64((e / heads) as f64).sqrt(),
            padding: padding.map(|m| Arc::from(m.data())),
        }
    }

    fn dims(&self, shape: &[usize]) -> Dims {
        let e = shape[2] / 3;
        Dims {
            b: shape[0],
            t: shape[1],
            e,
            d: e / self.heads,
        }
    }

    /// Whether query `i` of batch row `b` may attend to key `j`.
    fn kept(&self, b: usize, t: usize, i: usize, j: usize) -> bool {
        let later = self.causal && j > i;
        let padded = self.padding.as_ref().is_some_and(|m| m[b * t + j]);
        !later && !padded
    }

    /// The head's attention probabilities P (`t x t`, masked entries 0)
    /// for batch row `b`, head `h`.
    fn probabilities(&self, qkv: &[T], dm: Dims, b: usize, h: usize, p: &mut [T]) {
        let (t, e, d) = (dm.t, dm.e, dm.d);
        let q = b * t * 3 * e + h * d;
        // S = Q Kᵀ: Q's rows are 3E apart; Kᵀ reads K's rows as columns.
        matmul_strided(p, &qkv[q..], &qkv[q + e..], t, d, t, [3 * e, 1, 1, 3 * e]);
        let pad = self.padding.as_ref().map(|m| &m[b * t..(b + 1) * t]);
        let (causal, scale) = (self.causal, self.scale);
        wide(
            #[inline(always)]
            move || {
                for (i, row) in p.chunks_mut(t).enumerate() {
                    let live = if causal { i + 1 } else { t };
                    let (row, masked) = row.split_at_mut(live);
                    masked.fill(T::ZERO);
                    let Some(pad) = pad else {
                        softmax_row(row, scale, |_| true);
                        continue;
                    };
                    softmax_row(row, scale, |j| !pad[j]);
                    // A query with no key left: NaN, as PyTorch (0/0 below
                    // would give it too, but only after an exp of -inf - -inf).
                    if !pad[..live].contains(&false) {
                        row.fill(T::from_f64(f64::NAN));
                    }
                }
            },
        )
    }

    /// dqkv (`[B, T, 3E]`, every element written) from qkv and the
    /// adjoint `g` (`[B, T, E]`).
    fn grad_into(&self, qkv: &Tensor<T>, g: &Tensor<T>, out: &mut [T]) {
        let dm = self.dims(qkv.shape());
        let Dims { b: _, t, e, d } = dm;
        let (x, gd) = (qkv.data(), g.data());
        if out.is_empty() {
            return;
        }
        let work = dm.b * self.heads * t * t * d * 5;
        crate::parallel::for_chunks(work, SPLIT_WORK, out, t * 3 * e, |b0, part| {
            let mut p = vec![T::ZERO; t * t];
            let mut dp = vec![T::ZERO; t * t];
            let mut tmp = vec![T::ZERO; t * d];
            for (j, ob) in part.chunks_mut(t * 3 * e).enumerate() {
                let b = b0 + j;
                for h in 0..self.heads {
                    let (q, gh) = (b * t * 3 * e + h * d, b * t * e + h * d);
                    let (k, v) = (q + e, q + 2 * e);
                    self.probabilities(x, dm, b, h, &mut p);
                    let mut put = |col: usize, m: &[T]| {
                        for (i, row) in m.chunks(d).enumerate() {
                            ob[i * 3 * e + col..i * 3 * e + col + d].copy_from_slice(row);
                        }
                    };
                    // dV = Pᵀ G.
                    matmul_strided(&mut tmp, &p, &gd[gh..], t, t, d, [1, t, e, 1]);
                    put(2 * e + h * d, &tmp);
                    // dP = G Vᵀ, then dS = P ∘ (dP - rowsum(dP ∘ P)), scaled.
                    matmul_strided(&mut dp, &gd[gh..], &x[v..], t, d, t, [e, 1, 1, 3 * e]);
                    let (pr, dr, scale) = (&p[..], &mut dp[..], self.scale);
                    wide(
                        #[inline(always)]
                        move || {
                            for (pr, dr) in pr.chunks(t).zip(dr.chunks_mut(t)) {
                                let s = lane_sum2(pr, dr, |pv, dv| pv * dv);
                                for (&pv, dv) in pr.iter().zip(dr.iter_mut()) {
                                    *dv = pv * (*dv - s) * scale;
                                }
                            }
                        },
                    );
                    // dQ = dS K, dK = dSᵀ Q.
                    matmul_strided(&mut tmp, &dp, &x[k..], t, t, d, [t, 1, 3 * e, 1]);
                    put(h * d, &tmp);
                    matmul_strided(&mut tmp, &dp, &x[q..], t, t, d, [1, t, 3 * e, 1]);
                    put(e + h * d, &tmp);
                }
            }
        });
    }
}

/// `row` = softmax(scale · row) over the entries `keep` says, the others 0.
/// Call it inside [`wide`]: the loops run eight lanes wide there (`exp_fast`
/// is written without calls), the sum in [`lane_sum`]'s fixed order, so the
/// bits do not depend on the CPU.
#[inline(always)]
fn softmax_row<T: Real>(row: &mut [T], scale: T, keep: impl Fn(usize) -> bool) {
    for v in row.iter_mut() {
        *v *= scale;
    }
    // The maximum over sixteen lanes, with selects rather than branches so
    // it vectorises: exact in any order (NaN never wins a comparison).
    let mut lanes = [-T::INFINITY; 16];
    let chunks = row.chunks_exact(16);
    let tail = chunks.remainder();
    for (c, chunk) in chunks.enumerate() {
        for k in 0..16 {
            let (v, m) = (chunk[k], lanes[k]);
            lanes[k] = if keep(16 * c + k) && v > m { v } else { m };
        }
    }
    let base = row.len() - tail.len();
    for (k, &v) in tail.iter().enumerate() {
        if keep(base + k) && v > lanes[k] {
            lanes[k] = v;
        }
    }
    let m = lanes.iter().fold(-T::INFINITY, |m, &v| if v > m { v } else { m });
    for (j, v) in row.iter_mut().enumerate() {
        *v = if keep(j) { (*v - m).exp_fast() } else { T::ZERO };
    }
    let sum = lane_sum(row, |v| v);
    for v in row.iter_mut() {
        *v = *v / sum;
    }
}

impl<T: Real> Primitive<T> for Attention<T> {
    const NAME: &'static str = "self_attention";

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let dm = self.dims(x[0].shape());
        let Dims { b: bn, t, e, d } = dm;
        let data = x[0].data();
        if bn * t * e == 0 {
            return Tensor::zeros(&[bn, t, e]);
        }
        let work = bn * self.heads * t * t * d * 2;
        let fill = |od: &mut [std::mem::MaybeUninit<T>]| {
            crate::parallel::for_chunks(work, SPLIT_WORK, od, t * e, |b0, part| {
                let mut p = vec![T::ZERO; t * t];
                let mut o = vec![T::ZERO; t * d];
                for (j, ob) in part.chunks_mut(t * e).enumerate() {
                    let b = b0 + j;
                    for h in 0..self.heads {
                        self.probabilities(data, dm, b, h, &mut p);
                        // O = P V, into the head's columns of the output.
                        let v = b * t * 3 * e + 2 * e + h * d;
                        matmul_strided(&mut o, &p, &data[v..], t, t, d, [t, 1, 3 * e, 1]);
                        for (i, row) in o.chunks(d).enumerate() {
                            let dst = &mut ob[i * e + h * d..i * e + h * d + d];
                            for (w, &v) in dst.iter_mut().zip(row) {
                                w.write(v);
                            }
                        }
                    }
                }
            });
        };
        // SAFETY: `fill` writes every element. `for_chunks` hands every part
        // of the buffer (b x t x e elements, a whole number of t x e batch
        // rows) to the closure; in each batch row `ob` (t x e), head h
        // writes columns h d .. h d + d of all t rows (`o` is t rows of d),
        // and the heads' columns together are 0 .. heads d = e. A panic
        // frees the buffer unread (`from_uninit`).
        unsafe { Tensor::from_uninit(Shape::from_slice(&[bn, t, e]), fill) }
    }

    fn vjp<V: Apply<T>>(&self, x: &[&V], _y: &V, g: &V, need: &[bool]) -> SmallVec<[Option<V>; 3]> {
        if !need[0] {
            return smallvec![None];
        }
        let Dims { b, t, e, d } = self.dims(&x[0].shape());
        let h = self.heads;
        // [B, T, 3E] -> [B, T, 3, H, D] -> [3, B, H, T, D].
        let parts = x[0].reshape(&[b, t, 3, h, d]).permute(&[2, 0, 3, 1, 4]);
        let part = |i: usize| parts.narrow(0, i, 1).reshape(&[b, h, t, d]);
        let (q, k, v) = (part(0), part(1), part(2));
        let s = q.mm(&k, false, true).scale(self.scale);
        // Softmax with the mask as a factor of 0s and 1s, shifted by the
        // rows' largest live scores (constants: softmax does not depend on
        // the shift, so no gradient is lost).
        let keep = Tensor::from_vec(
            (0..b * t * t)
                .map(|bij| {
                    let (bn, i, j) = (bij / (t * t), bij / t % t, bij % t);
                    if self.kept(bn, t, i, j) { T::ONE } else { T::ZERO }
                })
                .collect(),
            &[b, 1, t, t],
        );
        let sv = s.value();
        let shift: Vec<T> = sv
            .data()
            .chunks(t)
            .enumerate()
            .map(|(r, row)| {
                let (bn, i) = (r / (h * t), r % t);
                (0..t)
                    .filter(|&j| self.kept(bn, t, i, j))
                    .fold(-T::INFINITY, |m, j| if row[j] > m { row[j] } else { m })
            })
            .collect();
        let shift = s.lift(Tensor::from_vec(shift, &[b, h, t, 1]));
        let w = s.sub(&shift).exp().mul(&s.lift(keep));
        let p = w.div(&w.sum_axes(&[3], true));
        let gh = g.reshape(&[b, t, h, d]).permute(&[0, 2, 1, 3]);
        let dv = p.mm(&gh, true, false);
        let dp = gh.mm(&v, false, true);
        let ds = p
            .mul(&dp.sub(&dp.mul(&p).sum_axes(&[3], true)))
            .scale(self.scale);
        let dq = ds.mm(&k, false, false);
        let dk = ds.mm(&q, true, false);
        let slot = |m: V, i: usize| m.reshape(&[1, b, h, t, d]).pad(0, i, 3);
        let all = slot(dq, 0).add(&slot(dk, 1)).add(&slot(dv, 2));
        smallvec![Some(all.permute(&[1, 3, 0, 2, 4]).reshape(&[b, t, 3 * e]))]
    }

    fn vjp_pooled(
        &self,
        x: &[&Tensor<T>],
        _y: &Tensor<T>,
        g: &Tensor<T>,
        need: &[bool],
        pool: &mut Vec<Tensor<T>>,
    ) -> Option<SmallVec<[Option<Tensor<T>>; 3]>> {
        if !need[0] {
            return Some(smallvec![None]);
        }
        let mut out = pool::take(pool, x[0].shape());
        self.grad_into(x[0], g, pool::unique(&mut out));
        Some(smallvec![Some(out)])
    }
}

impl<T: Real> Tensor<T> {
    /// Multi-head self-attention on a packed projection `[B, T, 3E]`
    /// (queries, keys and values side by side, each `heads` heads wide),
    /// causal or not, scaled by 1/√(E / heads): `[B, T, E]`, the heads'
    /// outputs side by side. What PyTorch's `scaled_dot_product_attention`
    /// computes on the split, permuted heads, without splitting them.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// // One head of width 1 at two positions: q = k = 0, so attention is
    /// // uniform over the allowed positions.
    /// let qkv = Tensor::from_vec(vec![0.0_f64, 0.0, 1.0, 0.0, 0.0, 3.0], &[1, 2, 3]);
    /// assert_eq!(qkv.self_attention(1, true).to_vec(), vec![1.0, 2.0]);
    /// assert_eq!(qkv.self_attention(1, false).to_vec(), vec![2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn self_attention(&self, heads: usize, causal: bool) -> Self {
        Primitive::forward(&Attention::check(self.shape(), heads, causal, None), &[self])
    }

    /// [`Tensor::self_attention`] with a key padding mask (PyTorch's
    /// `key_padding_mask`): `padding` is `[B, T]`, `true` where a key
    /// position is padding that no query attends to. A query left with no
    /// key gets NaN, as in PyTorch.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// // One head of width 1, q = k = 0: uniform over the kept keys.
    /// let qkv = Tensor::from_vec(vec![0.0_f64, 0.0, 1.0, 0.0, 0.0, 3.0], &[1, 2, 3]);
    /// let pad = Tensor::from_vec(vec![false, true], &[1, 2]);
    /// assert_eq!(qkv.self_attention_padded(1, false, &pad).to_vec(), vec![1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn self_attention_padded(&self, heads: usize, causal: bool, padding: &Tensor<bool>) -> Self {
        let op = Attention::check(self.shape(), heads, causal, Some(padding));
        Primitive::forward(&op, &[self])
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// [`Tensor::self_attention`], recorded as one node. VJP: module docs.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let qkv = tape.leaf(Tensor::<f64>::ones(&[2, 5, 12]));
    /// let y = qkv.self_attention(2, true);
    /// assert_eq!(y.shape().as_slice(), &[2, 5, 4]);
    /// assert_eq!(tape.len(), 2);
    /// let g = y.sum().backward();
    /// assert_eq!(g[qkv].shape(), &[2, 5, 12]);
    /// ```
    #[track_caller]
    pub fn self_attention(self, heads: usize, causal: bool) -> Self {
        let op = Attention::check(&self.shape(), heads, causal, None);
        self.general(&[], op)
    }

    /// [`Tensor::self_attention_padded`], recorded as one node: the mask
    /// is read as flags, no `[B, T, T]` tensor is made.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let qkv = tape.leaf(Tensor::<f64>::ones(&[2, 3, 6]));
    /// let pad = Tensor::from_vec(vec![false, false, true, false, true, true], &[2, 3]);
    /// let y = qkv.self_attention_padded(2, false, &pad);
    /// assert_eq!(tape.len(), 2);
    /// // A padded key's value never reaches an output: its gradient is 0.
    /// // (Row 1 keeps key 0 only; values sit at offsets 4 and 5 of a position.)
    /// let g = y.sum().backward()[qkv].to_vec();
    /// assert!([28, 29, 34, 35].iter().all(|&i| g[i] == 0.0));
    /// assert_eq!(g[22], 3.0); // every query of row 1 reads key 0's value
    /// ```
    #[track_caller]
    pub fn self_attention_padded(self, heads: usize, causal: bool, padding: &Tensor<bool>) -> Self {
        let op = Attention::check(&self.shape(), heads, causal, Some(padding));
        self.general(&[], op)
    }
}
