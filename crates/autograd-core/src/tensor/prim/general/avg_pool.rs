//! Average pooling over `[N, C, H, W]` (PyTorch's `avg_pool2d` with its
//! default `count_include_pad=True`) as one node: each output is the sum of
//! its window's inputs over the window's size, padding counting as zeros;
//! the VJP hands each input `g / (kh·kw)` from every window it is in.
//!
//! The kernels walk each window where it lies (`max_pool.rs`'s `Windows`),
//! summing the live taps in the order the unfolded matrix holds them; the
//! `[N, C·kh·kw, OH·OW]` matrix of the unfold + mean composition is never
//! built. Planes go to threads. The general rule, for `grad_graph`, is the
//! composition's (the adjoint broadcast over each window, scaled, folded).

use std::mem::MaybeUninit;

use smallvec::{SmallVec, smallvec};

use super::max_pool::{SPLIT_INPUTS, Windows};
use crate::Real;
use crate::tensor::conv::{Geometry, Window2d};
use crate::tensor::pool;
use crate::tensor::prim::{Apply, Primitive};
use crate::tensor::shape::Shape;
use crate::tensor::{Tensor, TensorVar};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AvgPool2d {
    pub(crate) kernel: (usize, usize),
    pub(crate) opts: Window2d,
}

impl AvgPool2d {
    fn geometry(&self, x: &[usize]) -> Geometry {
        Geometry::new("avg_pool2d", x, self.kernel, self.opts)
    }
}

impl<T: Real> Primitive<T> for AvgPool2d {
    const NAME: &'static str = "avg_pool2d";

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let g = self.geometry(x[0].shape());
        let (plane, l) = (g.h * g.w, g.oh * g.ow);
        if g.n * g.c * l == 0 || plane == 0 {
            return Tensor::zeros(&[g.n, g.c, g.oh, g.ow]);
        }
        let inv = T::ONE / T::from_f64((g.kh * g.kw) as f64);
        let xd = x[0].data();
        let windows = Windows::new(&g);
        let fill = |out: &mut [MaybeUninit<T>]| {
            crate::parallel::for_chunks(xd.len(), SPLIT_INPUTS, out, l, |p0, part| {
                for (j, o) in part.chunks_mut(l).enumerate() {
                    let xp = &xd[(p0 + j) * plane..(p0 + j + 1) * plane];
                    windows.for_each(|i, taps| {
                        let mut s = T::ZERO;
                        taps.each(|t| s += xp[t]);
                        o[i].write(s * inv);
                    });
                }
            })
        };
        // SAFETY: every element is written: `for_chunks` hands over the
        // whole buffer in planes of l = oh x ow, and `Windows::for_each`
        // visits oi x ow + oj for every oi < oh and oj < ow (its row and
        // column lists have oh and ow entries), each visit writing its
        // element.
        unsafe { Tensor::from_uninit(Shape::from_slice(&[g.n, g.c, g.oh, g.ow]), fill) }
    }

    fn vjp<V: Apply<T>>(&self, x: &[&V], _y: &V, g: &V, need: &[bool]) -> SmallVec<[Option<V>; 3]> {
        if !need[0] {
            return smallvec![None];
        }
        let gm = self.geometry(&x[0].shape());
        let (n, c, k, l) = (gm.n, gm.c, gm.kh * gm.kw, gm.oh * gm.ow);
        let inv = T::ONE / T::from_f64(k as f64);
        let dx = g
            .reshape(&[n, c, 1, l])
            .broadcast_to(&[n, c, k, l])
            .scale(inv)
            .reshape(&[n, c * k, l])
            .fold2d(&gm);
        smallvec![Some(dx)]
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
        let gm = self.geometry(x[0].shape());
        let (plane, l) = (gm.h * gm.w, gm.oh * gm.ow);
        let inv = T::ONE / T::from_f64((gm.kh * gm.kw) as f64);
        let mut dx = pool::take(pool, x[0].shape());
        let out = pool::unique(&mut dx);
        out.fill(T::ZERO);
        if plane > 0 {
            let gd = g.data();
            let windows = Windows::new(&gm);
            crate::parallel::for_chunks(out.len(), SPLIT_INPUTS, out, plane, |p0, part| {
                for (j, dxp) in part.chunks_mut(plane).enumerate() {
                    let gp = &gd[(p0 + j) * l..(p0 + j + 1) * l];
                    windows.for_each(|i, taps| {
                        let share = gp[i] * inv;
                        taps.each(|t| dxp[t] += share);
                    });
                }
            });
        }
        Some(smallvec![Some(dx)])
    }
}

impl<T: Real> Tensor<T> {
    /// Average pooling over `kernel`-sized windows; padding counts as zeros
    /// in the average (PyTorch's default `count_include_pad=True`).
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor};
    /// let x = Tensor::<f32>::arange(16).reshape(&[1, 1, 4, 4]);
    /// let y = x.avg_pool2d((2, 2), Window2d::default().stride(2));
    /// assert_eq!(y.to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
    /// ```
    #[track_caller]
    pub fn avg_pool2d(&self, kernel: (usize, usize), opts: Window2d) -> Self {
        Geometry::pool("avg_pool2d", self.shape(), kernel, opts);
        AvgPool2d { kernel, opts }.forward(&[self])
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Average pooling, recorded as one node: each input gets its windows'
    /// adjoints over the window size.
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[1, 1, 2, 2]));
    /// let g = x.avg_pool2d((2, 2), Window2d::default()).sum().backward();
    /// assert_eq!(g[x].to_vec(), vec![0.25; 4]);
    /// ```
    #[track_caller]
    pub fn avg_pool2d(self, kernel: (usize, usize), opts: Window2d) -> Self {
        Geometry::pool("avg_pool2d", &self.shape(), kernel, opts);
        self.general(&[], AvgPool2d { kernel, opts })
    }
}
