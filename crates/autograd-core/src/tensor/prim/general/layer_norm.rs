//! Layer normalisation over the last axes, with optional elementwise weight
//! and bias (PyTorch's `layer_norm(x, normalized_shape, weight, bias, eps)`),
//! as one node instead of the nine operations of its formula.
//!
//! y = (x - μ) / √(σ² + ε) · w + b, with μ and σ² (biased) over the
//! normalised axes. With x̂ = (x - μ)·r, r = 1/√(σ² + ε) and gw = g·w:
//! - d/db = g and d/dw = g x̂ (summed back over the leading axes by the
//!   sweep);
//! - d/dx = r (gw - mean(gw) - x̂ mean(gw x̂)), means over the normalised
//!   axes.
//!
//! The VJP recomputes μ and r from x (nothing is saved beyond the node's
//! inputs and output), written over `Algebra`, so `grad_graph` records it
//! and second derivatives come out right. The sweep's kernel runs the same
//! formulas ([`rstd`], [`dx`]) on numbers: each row's statistics, then the
//! input's gradient row by row, then the weight and bias gradients column
//! by column, each column summing its rows in the order the general rule's
//! sum does; no temporaries of x's size but the result. Sums along a row run
//! in sixteen fixed lanes ([`lane_sum`]) inside [`wide`], so they vectorise:
//! the same bits on every CPU, equal to the general rule's in-order sums to
//! rounding. Rows (and columns) are shared between threads for large inputs
//! without changing a bit.

use smallvec::{smallvec, SmallVec};

use crate::tensor::pointwise::Pointwise;
use crate::tensor::pool;
use crate::tensor::prim::{Apply, Primitive};
use crate::tensor::shape::fmt_shape;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;
use crate::parallel::SPLIT_ELEMENTS;
use crate::simd::{lane_sum, lane_sum2, wide};

/// r = 1/√(mean of squares + ε), from the sum of squared deviations.
fn rstd<T: Real, E: Pointwise<T>>(sum_sq: &E, inv_n: T, eps: T) -> E {
    sum_sq.scale(inv_n).add_scalar(eps).sqrt().powf(-T::ONE)
}

/// d/dx = r (gw - mean(gw) - x̂ mean(gw x̂)).
fn dx<T: Real, E: Pointwise<T>>(gw: &E, m1: &E, xhat: &E, m2: &E, r: &E) -> E {
    gw.sub(m1).sub(&xhat.mul(m2)).mul(r)
}

/// Each row's mean and sum of squared deviations from it, for the rows of
/// `n` elements of `x` (`out` has one entry per row), each sum in
/// [`lane_sum`]'s fixed order. Call it inside [`wide`].
#[inline(always)]
fn moments<T: Real>(x: &[T], n: usize, inv_n: T, out: &mut [(T, T)]) {
    for (row, o) in x.chunks_exact(n).zip(out.iter_mut()) {
        let mean = lane_sum(row, |v| v) * inv_n;
        *o = (mean, lane_sum(row, |v| (v - mean) * (v - mean)));
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LayerNorm<T> {
    /// How many trailing axes are normalised.
    pub(crate) axes: usize,
    pub(crate) eps: T,
    pub(crate) weight: bool,
    pub(crate) bias: bool,
}

impl<T: Real> LayerNorm<T> {
    /// Checks the shapes at the caller's line: weight and bias have the
    /// normalised shape, which is x's trailing shape and not empty.
    #[track_caller]
    fn check(
        normalized: &[usize],
        x: &[usize],
        weight: Option<&[usize]>,
        bias: Option<&[usize]>,
        eps: T,
    ) -> Self {
        let k = normalized.len();
        if k == 0 || k > x.len() || x[x.len() - k..] != *normalized {
            panic!(
                "layer_norm: normalized_shape {} must be the input's trailing shape; input has shape {}",
                fmt_shape(normalized),
                fmt_shape(x)
            );
        }
        if normalized.contains(&0) {
            panic!("layer_norm: normalized_shape {} is empty", fmt_shape(normalized));
        }
        for (name, s) in [("weight", weight), ("bias", bias)] {
            if let Some(s) = s.filter(|s| *s != normalized) {
                panic!(
                    "layer_norm: {name} has shape {} but normalized_shape is {}",
                    fmt_shape(s),
                    fmt_shape(normalized)
                );
            }
        }
        if eps < T::ZERO || !eps.is_finite() {
            panic!("layer_norm: eps must be finite and not negative, got {eps}");
        }
        LayerNorm {
            axes: k,
            eps,
            weight: weight.is_some(),
            bias: bias.is_some(),
        }
    }
}

impl<T: Real> Primitive<T> for LayerNorm<T> {
    const NAME: &'static str = "layer_norm";

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let shape = x[0].shape();
        let n: usize = shape[shape.len() - self.axes..].iter().product();
        let w = self.weight.then(|| x[1].data());
        let b = self.bias.then(|| x[1 + usize::from(self.weight)].data());
        let inv_n = T::ONE / T::from_f64(n as f64);
        let mut out = x[0].to_vec();
        if n == 0 {
            return Tensor::from_vec(out, shape);
        }
        // Rows are independent: large inputs are shared between threads,
        // each row computed the same wherever it runs.
        let work = out.len();
        let eps = self.eps;
        crate::parallel::for_chunks(work, SPLIT_ELEMENTS, &mut out, n, |_, part| {
            let mut stats = vec![(T::ZERO, T::ZERO); part.len() / n];
            wide(
                #[inline(always)]
                move || {
                    moments(part, n, inv_n, &mut stats);
                    for (row, &(mean, var)) in part.chunks_exact_mut(n).zip(&stats) {
                        let r = T::ONE / (var * inv_n + eps).sqrt();
                        match (w, b) {
                            (Some(w), Some(b)) => {
                                for ((v, &w), &b) in row.iter_mut().zip(&w[..n]).zip(&b[..n]) {
                                    *v = (*v - mean) * r * w + b;
                                }
                            }
                            _ => {
                                for (j, v) in row.iter_mut().enumerate() {
                                    let mut y = (*v - mean) * r;
                                    if let Some(w) = w {
                                        y *= w[j];
                                    }
                                    if let Some(b) = b {
                                        y += b[j];
                                    }
                                    *v = y;
                                }
                            }
                        }
                    }
                },
            )
        });
        Tensor::from_vec(out, shape)
    }

    fn vjp<V: Apply<T>>(&self, x: &[&V], _y: &V, g: &V, need: &[bool]) -> SmallVec<[Option<V>; 3]> {
        let shape = x[0].shape();
        let nd = shape.len();
        let axes: SmallVec<[usize; 4]> = (nd - self.axes..nd).collect();
        let n: usize = shape[nd - self.axes..].iter().product();
        let inv_n = T::ONE / T::from_f64(n as f64);
        let mean_of = |v: &V| v.sum_axes(&axes, true).scale(inv_n);
        let xc = x[0].sub(&mean_of(x[0]));
        let r = rstd(&xc.mul(&xc).sum_axes(&axes, true), inv_n, self.eps);
        let xhat = xc.mul(&r);
        let gw = if self.weight { g.mul(x[1]) } else { g.clone() };
        let mut out: SmallVec<[Option<V>; 3]> = SmallVec::new();
        out.push(need[0].then(|| {
            let m1 = mean_of(&gw);
            let m2 = mean_of(&gw.mul(&xhat));
            dx(&gw, &m1, &xhat, &m2, &r)
        }));
        if self.weight {
            out.push(need[1].then(|| g.mul(&xhat)));
        }
        if self.bias {
            out.push(need[out.len()].then(|| g.clone()));
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
        let shape = x[0].shape();
        if g.shape() != shape {
            return None;
        }
        let n: usize = shape[shape.len() - self.axes..].iter().product();
        let inv_n = T::ONE / T::from_f64(n as f64);
        let norm = &shape[shape.len() - self.axes..];
        let w = self.weight.then(|| x[1].data());
        let need_w = self.weight && need[1];
        let need_b = self.bias && need[1 + usize::from(self.weight)];
        let mut gx = need[0].then(|| pool::take(pool, shape));
        // Weight and bias gradients start from zero and gain one row at a
        // time, as the sweep's sum over the leading axes would add them.
        let mut gw_sum = need_w.then(|| Tensor::zeros(norm));
        let mut gb_sum = need_b.then(|| Tensor::zeros(norm));
        let (dxd, dwd, dbd) = (
            gx.as_mut().map(pool::unique),
            gw_sum.as_mut().map(pool::unique),
            gb_sum.as_mut().map(pool::unique),
        );
        let (xd, gd) = (x[0].data(), g.data());
        let rows = xd.len().checked_div(n).unwrap_or(0);
        let work = xd.len();
        // Each row's mean and r, once (rows shared between threads).
        let mut stats = vec![(T::ZERO, T::ZERO); rows];
        let eps = self.eps;
        crate::parallel::for_chunks(work, SPLIT_ELEMENTS, &mut stats, 1, |i0, part| {
            let x = &xd[i0 * n..(i0 + part.len()) * n];
            wide(
                #[inline(always)]
                || moments(x, n, inv_n, part),
            );
            for st in part.iter_mut() {
                st.1 = rstd(&st.1, inv_n, eps);
            }
        });
        let stats = &stats[..];
        if let Some(d) = dxd {
            crate::parallel::for_chunks(work, SPLIT_ELEMENTS, d, n, |i0, part| {
                let rows = part.len() / n;
                let (xs, gs) = (&xd[i0 * n..][..rows * n], &gd[i0 * n..][..rows * n]);
                let stats = &stats[i0..i0 + rows];
                wide(
                    #[inline(always)]
                    move || {
                        let rows = part.chunks_exact_mut(n).zip(xs.chunks_exact(n));
                        for ((drow, xr), (gr, &(mean, r))) in rows.zip(gs.chunks_exact(n).zip(stats)) {
                            let xhat = |xv: T| (xv - mean) * r;
                            // gw = g w, into the output row first (it is
                            // read twice: the two means, then d/dx).
                            match w {
                                Some(w) => {
                                    for ((o, &gv), &wv) in drow.iter_mut().zip(gr).zip(&w[..n]) {
                                        *o = gv * wv;
                                    }
                                }
                                None => drow.copy_from_slice(gr),
                            }
                            let m1 = lane_sum(drow, |v| v) * inv_n;
                            let m2 = lane_sum2(drow, xr, |gw, xv| gw * xhat(xv)) * inv_n;
                            for (o, &xv) in drow.iter_mut().zip(xr) {
                                *o = dx(o, &m1, &xhat(xv), &m2, &r);
                            }
                        }
                    },
                )
            });
        }
        // The weight and bias gradients by columns: each column sums its
        // rows in order, as the sweep's sum over the leading axes would, on
        // whichever thread has the column.
        if let Some(d) = dwd {
            crate::parallel::for_chunks(work, SPLIT_ELEMENTS, d, 1, |j0, part| {
                wide(
                    #[inline(always)]
                    move || {
                        for (i, &(mean, r)) in stats.iter().enumerate() {
                            let (xr, gr) = (&xd[i * n + j0..], &gd[i * n + j0..]);
                            for ((o, &xv), &gv) in part.iter_mut().zip(xr).zip(gr) {
                                *o += gv * ((xv - mean) * r);
                            }
                        }
                    },
                )
            });
        }
        if let Some(d) = dbd {
            crate::parallel::for_chunks(work, SPLIT_ELEMENTS, d, 1, |j0, part| {
                wide(
                    #[inline(always)]
                    move || {
                        for i in 0..rows {
                            for (o, &v) in part.iter_mut().zip(&gd[i * n + j0..]) {
                                *o += v;
                            }
                        }
                    },
                )
            });
        }
        let mut out: SmallVec<[Option<Tensor<T>>; 3]> = smallvec![gx];
        if self.weight {
            out.push(gw_sum);
        }
        if self.bias {
            out.push(gb_sum);
        }
        Some(out)
    }
}

impl<T: Real> Tensor<T> {
    /// Layer normalisation over the trailing axes `normalized_shape`, with
    /// optional weight and bias of that shape (PyTorch's `layer_norm`).
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let x = Tensor::from_vec(vec![1.0_f64, 3.0, 10.0, 30.0], &[2, 2]);
    /// let y = x.layer_norm(&[2], None, None, 0.0);
    /// assert_eq!(y.to_vec(), vec![-1.0, 1.0, -1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn layer_norm(
        &self,
        normalized_shape: &[usize],
        weight: Option<&Tensor<T>>,
        bias: Option<&Tensor<T>>,
        eps: T,
    ) -> Self {
        let op = LayerNorm::check(
            normalized_shape,
            self.shape(),
            weight.map(|w| w.shape()),
            bias.map(|b| b.shape()),
            eps,
        );
        let mut inputs = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        op.forward(&inputs)
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Layer normalisation over the trailing axes `normalized_shape`, with
    /// optional weight and bias, recorded as one node. VJP: module docs.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0, 4.0, 8.0], &[2, 2]));
    /// let w = tape.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::from_vec(vec![0.0, 0.5], &[2]));
    /// let y = x.layer_norm(&[2], Some(w), Some(b), 1e-5);
    /// assert_eq!(tape.len(), 4);
    /// let g = y.sum().backward();
    /// assert_eq!(g[b].to_vec(), vec![2.0, 2.0]); // one per row
    /// ```
    #[track_caller]
    pub fn layer_norm(
        self,
        normalized_shape: &[usize],
        weight: Option<Self>,
        bias: Option<Self>,
        eps: T,
    ) -> Self {
        let (ws, bs) = (weight.map(|w| w.shape()), bias.map(|b| b.shape()));
        let op = LayerNorm::check(
            normalized_shape,
            &self.shape(),
            ws.as_deref(),
            bs.as_deref(),
            eps,
        );
        let rest: SmallVec<[Self; 2]> = weight.into_iter().chain(bias).collect();
        self.general(&rest, op)
    }
}
