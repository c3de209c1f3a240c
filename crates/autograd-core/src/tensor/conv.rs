//! Windows over `[N, C, H, W]` tensors: the primitive pair `unfold` (im2col)
//! and its adjoint `fold` (col2im), and pooling as an unfold and a max or
//! mean, whose gradients come from those primitives' VJPs. The convolution
//! itself is one primitive (`prim/general/conv2d.rs`) built on the same
//! row kernels ([`Geometry::unfold_into`], [`Geometry::fold_add_into`]).

use super::algebra::Algebra;
use super::shape::{Shape, fmt_shape};
use super::tape::{Op, TensorVar};
use super::value::Tensor;
use crate::Real;

/// Stride, zero padding and dilation of a 2-d convolution or pooling
/// window, per axis (height, width). The default is stride 1, no padding,
/// dilation 1.
///
/// ```
/// use autograd_core::Window2d;
/// let c = Window2d::default().stride(2).padding(1);
/// assert_eq!((c.stride, c.padding, c.dilation), ((2, 2), (1, 1), (1, 1)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window2d {
    /// Step between windows.
    pub stride: (usize, usize),
    /// Padding added on both sides.
    pub padding: (usize, usize),
    /// Spacing between kernel taps.
    pub dilation: (usize, usize),
}

impl Default for Window2d {
    fn default() -> Self {
        Window2d {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
        }
    }
}

impl Window2d {
    /// The same stride along both axes.
    ///
    /// ```
    /// assert_eq!(autograd_core::Window2d::default().stride(3).stride, (3, 3));
    /// ```
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = (s, s);
        self
    }

    /// The same padding along both axes.
    ///
    /// ```
    /// assert_eq!(autograd_core::Window2d::default().padding(2).padding, (2, 2));
    /// ```
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = (p, p);
        self
    }

    /// The same dilation along both axes.
    ///
    /// ```
    /// assert_eq!(autograd_core::Window2d::default().dilation(2).dilation, (2, 2));
    /// ```
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = (d, d);
        self
    }
}

/// Everything the unfold/fold kernels need: input and kernel sizes and the
/// window settings, checked once. Opaque: made by the convolution and
/// pooling methods.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub(crate) n: usize,
    pub(crate) c: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
    pub(crate) opts: Window2d,
}

impl Geometry {
    #[track_caller]
    pub(crate) fn new(op: &str, input: &[usize], kernel: (usize, usize), opts: Window2d) -> Self {
        if input.len() != 4 {
            panic!(
                "{op}: input must be 4-d [N, C, H, W], got shape {}",
                fmt_shape(input)
            );
        }
        let (kh, kw) = kernel;
        let Window2d {
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = opts;
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 || dh == 0 || dw == 0 {
            panic!(
                "{op}: kernel {kh}x{kw}, stride {sh}x{sw} and dilation {dh}x{dw} must be positive"
            );
        }
        let out = |len: usize, k: usize, s: usize, p: usize, d: usize| {
            let span = d * (k - 1) + 1;
            (len + 2 * p >= span).then(|| (len + 2 * p - span) / s + 1)
        };
        let (h, w) = (input[2], input[3]);
        match (out(h, kh, sh, ph, dh), out(w, kw, sw, pw, dw)) {
            (Some(oh), Some(ow)) => Geometry {
                n: input[0],
                c: input[1],
                h,
                w,
                kh,
                kw,
                oh,
                ow,
                opts,
            },
            _ => panic!(
                "{op}: input {} with kernel {kh}x{kw}, padding {ph}x{pw}, dilation {dh}x{dw} has no output positions",
                fmt_shape(input)
            ),
        }
    }

    fn cols_shape(&self) -> Shape {
        smallvec::smallvec![self.n, self.c * self.kh * self.kw, self.oh * self.ow]
    }

    fn input_shape(&self) -> Shape {
        smallvec::smallvec![self.n, self.c, self.h, self.w]
    }

    /// Calls `f(row, span)` for every row of the unfolded matrix (one
    /// batch item, channel, kernel tap and output row: `ow` entries from
    /// offset `row`). `span` is `Some((src, lo, hi))` when entries `lo..hi`
    /// of the row read the input, entry `lo + t` at input offset
    /// `src + t * stride`; the other entries are padding. Whole rows at a
    /// time, so the copies are plain loops (per entry, with a bounds branch
    /// each, this was a quarter of a T5 step).
    fn for_each_row(&self, mut f: impl FnMut(usize, Option<(usize, usize, usize)>)) {
        let Window2d {
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = self.opts;
        let l = self.oh * self.ow;
        let rows = self.c * self.kh * self.kw;
        for kj in 0..self.kw {
            // Output columns whose input column oj*sw + kj*dw - pw is in
            // 0..w: from lo (the first at or past the left padding) to hi.
            let off = kj * dw;
            let lo = pw.saturating_sub(off).div_ceil(sw);
            let hi = (self.w + pw).saturating_sub(off).div_ceil(sw).min(self.ow);
            for b in 0..self.n {
                for ch in 0..self.c {
                    let in_base = (b * self.c + ch) * self.h * self.w;
                    for ki in 0..self.kh {
                        let row = (ch * self.kh + ki) * self.kw + kj;
                        let col_base = (b * rows + row) * l;
                        for oi in 0..self.oh {
                            let ii = (oi * sh + ki * dh).wrapping_sub(ph);
                            // Below-zero rows wrapped to huge values: out of range too.
                            let span = (ii < self.h && lo < hi)
                                .then(|| (in_base + ii * self.w + lo * sw + off - pw, lo, hi));
                            f(col_base + oi * self.ow, span);
                        }
                    }
                }
            }
        }
    }
}

impl Geometry {
    /// im2col of the `n` items of `x` (`[n, c, h, w]` from its start) into
    /// `cols` (`[n, c*kh*kw, oh*ow]`, every element written once), `pad` in
    /// the padding.
    pub(crate) fn unfold_into<T: Real>(&self, x: &[T], cols: &mut [T], pad: T) {
        if self.flat() {
            let (ow, l) = (self.ow, self.oh * self.ow);
            self.for_each_tap(|t| {
                let r = &mut cols[t.row..t.row + l];
                let (a, b) = (t.live.0 * ow, t.live.1 * ow);
                r[..a].fill(pad);
                r[b..].fill(pad);
                let (t0, t1) = t.copied(a, b, self.h * self.w);
                if t0 < t1 {
                    let src = t.plane + t0.wrapping_add_signed(t.delta);
                    r[t0..t1].copy_from_slice(&x[src..src + (t1 - t0)]);
                }
                t.pad_columns(r, ow, pad);
            });
            return;
        }
        let (sw, ow) = (self.opts.stride.1, self.ow);
        // Every row is visited once: its padding is written here, the rest
        // copied, so nothing is written twice.
        self.for_each_row(|row, span| match span {
            Some((src, lo, hi)) => {
                let r = &mut cols[row..row + ow];
                r[..lo].fill(pad);
                r[hi..].fill(pad);
                let dst = &mut r[lo..hi];
                if sw == 1 {
                    dst.copy_from_slice(&x[src..src + (hi - lo)]);
                } else {
                    for (t, o) in dst.iter_mut().enumerate() {
                        *o = x[src + t * sw];
                    }
                }
            }
            None => cols[row..row + ow].fill(pad),
        });
    }

    /// [`Geometry::fold_add_into`] on a matrix the caller no longer needs:
    /// its padding entries are zeroed first, which lets a stride-1 row of
    /// windows be added back as one run (adding 0 elsewhere).
    pub(crate) fn fold_add_from_scratch<T: Real>(&self, cols: &mut [T], x: &mut [T]) {
        if !self.flat() {
            return self.fold_add_into(cols, x);
        }
        let (ow, l) = (self.ow, self.oh * self.ow);
        self.for_each_tap(|t| {
            let r = &mut cols[t.row..t.row + l];
            let (a, b) = (t.live.0 * ow, t.live.1 * ow);
            t.pad_columns(r, ow, T::ZERO);
            let (t0, t1) = t.copied(a, b, self.h * self.w);
            if t0 < t1 {
                let dst = t.plane + t0.wrapping_add_signed(t.delta);
                for (o, &v) in x[dst..dst + (t1 - t0)].iter_mut().zip(&r[t0..t1]) {
                    *o += v;
                }
            }
        });
    }

    /// True when consecutive output rows read consecutive input rows and
    /// are as wide as them (stride 1, `ow == w`: "same" padding): a kernel
    /// tap's whole matrix row is then one run of its input plane, shifted,
    /// with only the columns that fall off the edges to patch.
    fn flat(&self) -> bool {
        self.opts.stride == (1, 1) && self.ow == self.w
    }

    /// Calls `f` for every row of the unfolded matrix in the flat case (see
    /// [`Geometry::flat`]).
    fn for_each_tap(&self, mut f: impl FnMut(Tap)) {
        let Window2d {
            padding: (ph, pw),
            dilation: (dh, dw),
            ..
        } = self.opts;
        let (l, rows, hw) = (
            self.oh * self.ow,
            self.c * self.kh * self.kw,
            self.h * self.w,
        );
        for b in 0..self.n {
            for ch in 0..self.c {
                for ki in 0..self.kh {
                    // Output rows oi read input row oi + ki*dh - ph: live
                    // when that is in 0..h.
                    let dy = (ki * dh) as isize - ph as isize;
                    let first = (-dy).clamp(0, self.oh as isize) as usize;
                    let end =
                        (self.h as isize - dy).clamp(first as isize, self.oh as isize) as usize;
                    for kj in 0..self.kw {
                        let dx = (kj * dw) as isize - pw as isize;
                        let lo = (-dx).clamp(0, self.ow as isize) as usize;
                        let hi =
                            (self.w as isize - dx).clamp(lo as isize, self.ow as isize) as usize;
                        f(Tap {
                            row: (b * rows + (ch * self.kh + ki) * self.kw + kj) * l,
                            plane: (b * self.c + ch) * hw,
                            live: (first, end),
                            columns: (lo, hi),
                            delta: dy * self.w as isize + dx,
                        });
                    }
                }
            }
        }
    }

    /// col2im: adds `cols` (`[n, c*kh*kw, oh*ow]`) back into `x`
    /// (`[n, c, h, w]` from its start), summing overlapping windows.
    pub(crate) fn fold_add_into<T: Real>(&self, cols: &[T], x: &mut [T]) {
        let sw = self.opts.stride.1;
        self.for_each_row(|row, span| {
            if let Some((src, lo, hi)) = span {
                let from = &cols[row + lo..row + hi];
                if sw == 1 {
                    for (o, &v) in x[src..src + (hi - lo)].iter_mut().zip(from) {
                        *o += v;
                    }
                } else {
                    for (t, &v) in from.iter().enumerate() {
                        x[src + t * sw] += v;
                    }
                }
            }
        });
    }
}

/// One row of the unfolded matrix in the flat case: entry `t` of the row
/// (starting at `row`) reads input `plane + t + delta` for live output rows
/// and columns, and is padding elsewhere.
struct Tap {
    row: usize,
    plane: usize,
    /// Output rows whose input row exists.
    live: (usize, usize),
    /// Output columns whose input column exists.
    columns: (usize, usize),
    delta: isize,
}

impl Tap {
    /// The entries `t0..t1` of the live rows' run `a..b` whose source lies
    /// in the plane of `hw` elements (the others are padding columns).
    fn copied(&self, a: usize, b: usize, hw: usize) -> (usize, usize) {
        let t0 = a.max((-self.delta).max(0) as usize);
        let t1 = b.min((hw as isize - self.delta).max(0) as usize);
        (t0, t1)
    }

    /// Writes `v` into the padding columns of the live rows of `r`.
    fn pad_columns<T: Copy>(&self, r: &mut [T], ow: usize, v: T) {
        let (lo, hi) = self.columns;
        if lo == 0 && hi == ow {
            return;
        }
        for oi in self.live.0..self.live.1 {
            let line = &mut r[oi * ow..(oi + 1) * ow];
            line[..lo].fill(v);
            line[hi..].fill(v);
        }
    }
}

impl<T: Real> Tensor<T> {
    /// im2col: every `kernel`-sized window of an `[N, C, H, W]` input as a
    /// column, giving `[N, C*kh*kw, OH*OW]` (PyTorch's `F.unfold`), with
    /// `pad` in the padding.
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor};
    /// let x = Tensor::<f32>::arange(9).reshape(&[1, 1, 3, 3]);
    /// let cols = x.unfold2d((2, 2), Window2d::default(), 0.0);
    /// assert_eq!(cols.shape(), &[1, 4, 4]);
    /// assert_eq!(cols.narrow(2, 0, 1).to_vec(), vec![0.0, 1.0, 3.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn unfold2d(&self, kernel: (usize, usize), opts: Window2d, pad: T) -> Self {
        let g = Geometry::new("unfold2d", self.shape(), kernel, opts);
        self.unfold_geom(&g, pad)
    }

    pub(crate) fn unfold_geom(&self, g: &Geometry, pad: T) -> Self {
        let shape = g.cols_shape();
        let mut out = vec![pad; shape.iter().product()];
        g.unfold_into(self.data(), &mut out, pad);
        Tensor::from_parts(shape, out)
    }

    /// col2im: the adjoint of unfold, summing overlapping windows back.
    pub(crate) fn fold_geom(&self, g: &Geometry) -> Self {
        let shape = g.input_shape();
        let mut out = vec![T::ZERO; shape.iter().product()];
        g.fold_add_into(self.data(), &mut out);
        Tensor::from_parts(shape, out)
    }
}

impl Geometry {
    /// A pooling window's geometry, checked: every window must hold an
    /// input.
    #[track_caller]
    pub(crate) fn pool(op: &str, x: &[usize], kernel: (usize, usize), opts: Window2d) -> Geometry {
        let g = Geometry::new(op, x, kernel, opts);
        if 2 * opts.padding.0 > kernel.0 || 2 * opts.padding.1 > kernel.1 {
            panic!(
                "{op}: padding {:?} must be at most half the kernel {kernel:?} (every window must hold an input)",
                opts.padding
            );
        }
        g
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// im2col, recorded (see [`Tensor::unfold2d`]). VJP: col2im, which
    /// sums overlapping windows back.
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[1, 1, 3, 3]));
    /// let g = x.unfold2d((2, 2), Window2d::default(), 0.0).sum().backward();
    /// // The centre is in all four 2x2 windows, a corner in one.
    /// assert_eq!(g[x].to_vec(), vec![1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn unfold2d(self, kernel: (usize, usize), opts: Window2d, pad: T) -> Self {
        let g = Geometry::new("unfold2d", &self.shape(), kernel, opts);
        self.unfold_geom(g, pad)
    }

    fn unfold_geom(self, g: Geometry, pad: T) -> Self {
        self.record_unary(Op::Unfold(Box::new(g), pad), |x| x.unfold_geom(&g, pad))
    }

    fn fold_geom(self, g: Geometry) -> Self {
        self.record_unary(Op::Fold(Box::new(g)), |x| x.fold_geom(&g))
    }
}

/// The adjoint of unfold is fold, and the other way round. Padding entries
/// are constants, so they receive no gradient either way.
pub(crate) fn unfold_vjp<T: Real, V: Algebra<T>>(g: &V, geom: &Geometry) -> V {
    g.fold2d(geom)
}

pub(crate) fn fold_vjp<T: Real, V: Algebra<T>>(g: &V, geom: &Geometry) -> V {
    g.unfold2d(geom)
}

impl<T: Real> Tensor<T> {
    pub(crate) fn unfold_resolved(&self, g: &Geometry) -> Self {
        self.unfold_geom(g, T::ZERO)
    }
    pub(crate) fn fold_resolved(&self, g: &Geometry) -> Self {
        self.fold_geom(g)
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    #[track_caller]
    pub(crate) fn unfold_resolved(self, g: &Geometry) -> Self {
        self.unfold_geom(*g, T::ZERO)
    }
    #[track_caller]
    pub(crate) fn fold_resolved(self, g: &Geometry) -> Self {
        self.fold_geom(*g)
    }
}
