//! Max pooling over `[N, C, H, W]` (PyTorch's `max_pool2d`) as one node:
//! each output is the largest input of its window (padding never wins; NaN
//! wins as in `max_axes`), and the VJP sends each output's adjoint to its
//! window's maximal inputs, split evenly between ties (where windows
//! overlap, an input collects from every window it is the maximum of).
//!
//! The kernels walk each window where it lies in the input; the unfolded
//! `[N, C·kh·kw, OH·OW]` matrix of the unfold + max composition is never
//! built. Planes (one item's channel) go to threads, each written by one.
//! The general rule, for `grad_graph`, is that composition's rule (unfold
//! with -∞ padding, ties counted, fold), equal to the kernels to rounding.

use std::mem::MaybeUninit;

use smallvec::{SmallVec, smallvec};

use crate::Real;
use crate::tensor::conv::{Geometry, Window2d};
use crate::tensor::elementwise::zip_broadcast;
use crate::tensor::pool;
use crate::tensor::prim::{Apply, Primitive};
use crate::tensor::shape::Shape;
use crate::tensor::{Tensor, TensorVar};

/// Inputs from which planes are shared between threads: 4x below the
/// one-pass elementwise ops' `crate::parallel::SPLIT_ELEMENTS`, since each
/// input costs several compares and selects forward and backward. T5's
/// pooling (65 536 inputs) splits: measured in docs/performance.md.
pub(crate) const SPLIT_INPUTS: usize = 1 << 15;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct MaxPool2d {
    pub(crate) kernel: (usize, usize),
    pub(crate) opts: Window2d,
}

/// For every output row (or column), the kernel taps that land inside the
/// input, as a range (taps of one output position are evenly spaced, so
/// the live ones are contiguous).
fn live_taps(out: usize, len: usize, k: usize, s: usize, p: usize, d: usize) -> Vec<(usize, usize)> {
    (0..out)
        .map(|o| {
            let start = o * s;
            // Tap t reads start + t*d - p: live when p <= start + t*d < len + p.
            let lo = p.saturating_sub(start).div_ceil(d).min(k);
            let hi = (len + p).saturating_sub(start).div_ceil(d).clamp(lo, k);
            (lo, hi)
        })
        .collect()
}

impl MaxPool2d {
    fn geometry(&self, x: &[usize]) -> Geometry {
        Geometry::new("max_pool2d", x, self.kernel, self.opts)
    }

}

impl Windows {
    /// Every window's live taps, for the planes of `g`.
    pub(crate) fn new(g: &Geometry) -> Windows {
        let Window2d {
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = g.opts;
        Windows {
            rows: live_taps(g.oh, g.h, g.kh, sh, ph, dh),
            cols: live_taps(g.ow, g.w, g.kw, sw, pw, dw),
            g: *g,
        }
    }
}

/// The live taps of every window of a plane (computed once per call, not
/// per plane).
pub(crate) struct Windows {
    rows: Vec<(usize, usize)>,
    cols: Vec<(usize, usize)>,
    pub(crate) g: Geometry,
}

impl Windows {
    /// True when the windows tile the input without overlap or gaps
    /// between them (stride = kernel, no padding, no dilation), the usual
    /// pooling: each input is in at most one window.
    pub(crate) fn tiled(&self) -> bool {
        let o = self.g.opts;
        o.stride == (self.g.kh, self.g.kw) && o.padding == (0, 0) && o.dilation == (1, 1)
    }

    /// Calls `f(output index in the plane, the window's live taps)` for
    /// every window of one plane.
    #[inline(always)]
    pub(crate) fn for_each(&self, mut f: impl FnMut(usize, Taps)) {
        let g = &self.g;
        let Window2d {
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = g.opts;
        for (oi, &r) in self.rows.iter().enumerate() {
            for (oj, &c) in self.cols.iter().enumerate() {
                // The first live tap's input row and column (live taps are
                // inside the input, so these do not underflow).
                let taps = Taps {
                    rows: r.1 - r.0,
                    cols: c.1 - c.0,
                    first: (oi * sh + r.0 * dh - ph) * g.w + oj * sw + c.0 * dw - pw,
                    step: (dh * g.w, dw),
                };
                f(oi * g.ow + oj, taps);
            }
        }
    }
}

/// One window's live taps: `rows x cols` input offsets from `first`,
/// `step` apart.
#[derive(Clone, Copy)]
pub(crate) struct Taps {
    rows: usize,
    cols: usize,
    first: usize,
    step: (usize, usize),
}

impl Taps {
    #[inline(always)]
    pub(crate) fn each(self, mut f: impl FnMut(usize)) {
        for a in 0..self.rows {
            let base = self.first + a * self.step.0;
            for b in 0..self.cols {
                f(base + b * self.step.1);
            }
        }
    }
}

/// One plane's maxima into `o`.
fn forward_plane<T: Real>(windows: &Windows, xp: &[T], o: &mut [MaybeUninit<T>]) {
    if windows.tiled() {
        // Windows side by side: each input row feeds one output row, a run
        // of `kw` inputs per output.
        let g = &windows.g;
        for (oi, orow) in o.chunks_mut(g.ow).enumerate() {
            for m in orow.iter_mut() {
                m.write(-T::INFINITY);
            }
            // SAFETY: every element of the row was just written;
            // `MaybeUninit<T>` has T's layout.
            let orow = unsafe { &mut *(orow as *mut [MaybeUninit<T>] as *mut [T]) };
            let mut nan = false;
            for ki in 0..g.kh {
                let row = &xp[(oi * g.kh + ki) * g.w..][..g.ow * g.kw];
                for (m, win) in orow.iter_mut().zip(row.chunks_exact(g.kw)) {
                    // Selects, not branches: which input wins is data, and
                    // a mispredicted branch per input cost more than the
                    // rest of the loop.
                    for &v in win {
                        *m = if v > *m { v } else { *m };
                        nan |= v.is_nan();
                    }
                }
            }
            if nan {
                // Rare: put back the NaNs the selects skipped (NaN wins, as
                // in `max_axes`).
                for (oj, m) in orow.iter_mut().enumerate() {
                    for ki in 0..g.kh {
                        let start = (oi * g.kh + ki) * g.w + oj * g.kw;
                        if xp[start..start + g.kw].iter().any(|v| v.is_nan()) {
                            *m = T::from_f64(f64::NAN);
                        }
                    }
                }
            }
        }
        return;
    }
    windows.for_each(|i, taps| {
        let mut m = -T::INFINITY;
        taps.each(|t| {
            let v = xp[t];
            // As `max_axes`: NaN wins and stays.
            if v > m || v.is_nan() {
                m = v;
            }
        });
        o[i].write(m);
    });
}

/// One plane's input gradient added into `dxp` (zeros); `hits` is scratch
/// of at least `ow` entries.
fn backward_plane<T: Real>(
    windows: &Windows,
    xp: &[T],
    yp: &[T],
    gp: &[T],
    dxp: &mut [T],
    hits: &mut [T],
) {
    if windows.tiled() {
        // Windows side by side (see `forward_plane`): count each window's
        // maxima row by row, then hand out the shares the same way.
        let g = &windows.g;
        let hits = &mut hits[..g.ow];
        for (oi, (yrow, grow)) in yp.chunks(g.ow).zip(gp.chunks(g.ow)).enumerate() {
            hits.fill(T::ZERO);
            for ki in 0..g.kh {
                let row = &xp[(oi * g.kh + ki) * g.w..][..g.ow * g.kw];
                for ((h, win), &y) in hits.iter_mut().zip(row.chunks_exact(g.kw)).zip(yrow) {
                    for &v in win {
                        *h += if v == y { T::ONE } else { T::ZERO };
                    }
                }
            }
            // The share of each maximum; NaN for a NaN maximum (no input
            // equals it: the general rule's 0/0), which every input of the
            // window then gets.
            for (h, &gv) in hits.iter_mut().zip(grow) {
                *h = gv * inverse_count(*h);
            }
            for ki in 0..g.kh {
                let start = (oi * g.kh + ki) * g.w;
                let row = &xp[start..][..g.ow * g.kw];
                let drow = &mut dxp[start..][..g.ow * g.kw];
                for (((d, win), &y), &share) in drow
                    .chunks_exact_mut(g.kw)
                    .zip(row.chunks_exact(g.kw))
                    .zip(yrow)
                    .zip(hits.iter())
                {
                    for (dv, &v) in d.iter_mut().zip(win) {
                        *dv = if v == y || share.is_nan() { share } else { T::ZERO };
                    }
                }
            }
        }
        return;
    }
    windows.for_each(|i, taps| {
        let y = yp[i];
        let mut hits = 0usize;
        taps.each(|t| hits += usize::from(xp[t] == y));
        if hits == 0 {
            // A NaN maximum: the general rule's 0/0.
            let nan = gp[i] * T::from_f64(f64::NAN);
            taps.each(|t| dxp[t] += nan);
        } else {
            let share = gp[i] * (T::ONE / T::from_f64(hits as f64));
            // Adding 0 to the others keeps the loop free of branches.
            taps.each(|t| dxp[t] += if xp[t] == y { share } else { T::ZERO });
        }
    });
}

/// 1 / the number of a window's maxima, as the general rule's share
/// (`hits / sum(hits)`): NaN when none equals the maximum (a NaN), where
/// `1 / 0` would give infinity and the window's inputs 0 instead of NaN.
#[inline(always)]
fn inverse_count<T: Real>(count: T) -> T {
    if count == T::ZERO {
        T::from_f64(f64::NAN)
    } else {
        T::ONE / count
    }
}

impl<T: Real> Primitive<T> for MaxPool2d {
    const NAME: &'static str = "max_pool2d";

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let g = self.geometry(x[0].shape());
        let (plane, l) = (g.h * g.w, g.oh * g.ow);
        if g.n * g.c * l == 0 || plane == 0 {
            return Tensor::zeros(&[g.n, g.c, g.oh, g.ow]);
        }
        let xd = x[0].data();
        let work = x[0].numel();
        let windows = Windows::new(&g);
        let fill = |out: &mut [MaybeUninit<T>]| {
            crate::parallel::for_chunks(work, SPLIT_INPUTS, out, l, |p0, part| {
                for (j, o) in part.chunks_mut(l).enumerate() {
                    let xp = &xd[(p0 + j) * plane..(p0 + j + 1) * plane];
                    forward_plane(&windows, xp, o);
                }
            })
        };
        // SAFETY: every element is written. `for_chunks` hands over the
        // whole buffer in planes of l = oh x ow; `forward_plane` writes all
        // of a plane: tiled, row by row (`chunks_mut(ow)`, each row filled
        // first); otherwise `Windows::for_each` visits oi x ow + oj for
        // every oi < oh and oj < ow (its row and column lists have oh and ow
        // entries) and each visit writes its element.
        unsafe { Tensor::from_uninit(Shape::from_slice(&[g.n, g.c, g.oh, g.ow]), fill) }
    }

    fn vjp<V: Apply<T>>(&self, x: &[&V], y: &V, g: &V, need: &[bool]) -> SmallVec<[Option<V>; 3]> {
        if !need[0] {
            return smallvec![None];
        }
        let gm = self.geometry(&x[0].shape());
        let (n, c, k, l) = (gm.n, gm.c, gm.kh * gm.kw, gm.oh * gm.ow);
        let cols = x[0]
            .value()
            .unfold_geom(&gm, -T::INFINITY)
            .with_shape(smallvec![n, c, k, l]);
        let yk = y.value().with_shape(smallvec![n, c, 1, l]);
        let hits = zip_broadcast("max_pool2d", &cols, &yk, |a, b| {
            if a == b { T::ONE } else { T::ZERO }
        });
        let share = hits.div(&hits.sum_resolved(&[2], true));
        let dx = g
            .reshape(&[n, c, 1, l])
            .mul(&g.lift(share))
            .reshape(&[n, c * k, l])
            .fold2d(&gm);
        smallvec![Some(dx)]
    }

    fn vjp_pooled(
        &self,
        x: &[&Tensor<T>],
        y: &Tensor<T>,
        g: &Tensor<T>,
        need: &[bool],
        pool: &mut Vec<Tensor<T>>,
    ) -> Option<SmallVec<[Option<Tensor<T>>; 3]>> {
        if !need[0] {
            return Some(smallvec![None]);
        }
        let gm = self.geometry(x[0].shape());
        let (plane, l) = (gm.h * gm.w, gm.oh * gm.ow);
        let mut dx = pool::take(pool, x[0].shape());
        let out = pool::unique(&mut dx);
        out.fill(T::ZERO);
        if plane > 0 {
            let (xd, yd, gd) = (x[0].data(), y.data(), g.data());
            let windows = Windows::new(&gm);
            crate::parallel::for_chunks(out.len(), SPLIT_INPUTS, out, plane, |p0, part| {
                let mut hits = vec![T::ZERO; gm.ow];
                for (j, dxp) in part.chunks_mut(plane).enumerate() {
                    let p = p0 + j;
                    let xp = &xd[p * plane..(p + 1) * plane];
                    let (yp, gp) = (&yd[p * l..(p + 1) * l], &gd[p * l..(p + 1) * l]);
                    backward_plane(&windows, xp, yp, gp, dxp, &mut hits);
                }
            });
        }
        Some(smallvec![Some(dx)])
    }
}

impl<T: Real> Tensor<T> {
    /// Max pooling over `kernel`-sized windows (padding never wins).
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor};
    /// let x = Tensor::<f32>::arange(16).reshape(&[1, 1, 4, 4]);
    /// let y = x.max_pool2d((2, 2), Window2d::default().stride(2));
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// ```
    #[track_caller]
    pub fn max_pool2d(&self, kernel: (usize, usize), opts: Window2d) -> Self {
        Geometry::pool("max_pool2d", self.shape(), kernel, opts);
        MaxPool2d { kernel, opts }.forward(&[self])
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Max pooling, recorded as one node: the gradient goes to each
    /// window's maximum (split evenly between ties).
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::arange(4).reshape(&[1, 1, 2, 2]));
    /// let g = x.max_pool2d((2, 2), Window2d::default()).sum().backward();
    /// assert_eq!(g[x].to_vec(), vec![0.0, 0.0, 0.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn max_pool2d(self, kernel: (usize, usize), opts: Window2d) -> Self {
        Geometry::pool("max_pool2d", &self.shape(), kernel, opts);
        self.general(&[], MaxPool2d { kernel, opts })
    }
}
