//! 2-d convolution and pooling (NCHW) through one primitive pair: `unfold`
//! (im2col) and its adjoint `fold` (col2im). A convolution is an unfold and
//! a matrix product; pooling is an unfold and a max or mean. Their gradients
//! come from those primitives' VJPs, with no convolution-specific rule.

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
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    opts: Window2d,
}

impl Geometry {
    #[track_caller]
    fn new(op: &str, input: &[usize], kernel: (usize, usize), opts: Window2d) -> Self {
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
        let d = self.data();
        let sw = g.opts.stride.1;
        g.for_each_row(|row, span| {
            if let Some((src, lo, hi)) = span {
                let dst = &mut out[row + lo..row + hi];
                if sw == 1 {
                    dst.copy_from_slice(&d[src..src + (hi - lo)]);
                } else {
                    for (t, o) in dst.iter_mut().enumerate() {
                        *o = d[src + t * sw];
                    }
                }
            }
        });
        Tensor::from_parts(shape, out)
    }

    /// col2im: the adjoint of unfold, summing overlapping windows back.
    pub(crate) fn fold_geom(&self, g: &Geometry) -> Self {
        let shape = g.input_shape();
        let mut out = vec![T::ZERO; shape.iter().product()];
        let d = self.data();
        let sw = g.opts.stride.1;
        g.for_each_row(|row, span| {
            if let Some((src, lo, hi)) = span {
                let from = &d[row + lo..row + hi];
                if sw == 1 {
                    for (o, &v) in out[src..src + (hi - lo)].iter_mut().zip(from) {
                        *o += v;
                    }
                } else {
                    for (t, &v) in from.iter().enumerate() {
                        out[src + t * sw] += v;
                    }
                }
            }
        });
        Tensor::from_parts(shape, out)
    }

    /// 2-d convolution (cross-correlation, as in PyTorch) of an
    /// `[N, C, H, W]` input with `[O, C, kh, kw]` weights and an optional
    /// `[O]` bias, giving `[N, O, OH, OW]`.
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor};
    /// let x = Tensor::<f32>::ones(&[1, 1, 4, 4]);
    /// let w = Tensor::<f32>::ones(&[2, 1, 3, 3]);
    /// let y = x.conv2d(&w, None, Window2d::default().padding(1));
    /// assert_eq!(y.shape(), &[1, 2, 4, 4]);
    /// assert_eq!(y.get(&[0, 0, 0, 0]), 4.0); // a corner sees 4 inputs
    /// ```
    #[track_caller]
    pub fn conv2d(&self, weight: &Self, bias: Option<&Self>, opts: Window2d) -> Self {
        let (o, ck, g) = conv_geometry(self.shape(), weight.shape(), bias.map(|b| b.shape()), opts);
        let cols = self.unfold_geom(&g, T::ZERO);
        let y = weight
            .reshape(&[o, ck])
            .matmul(&cols)
            .reshape(&[g.n, o, g.oh, g.ow]);
        match bias {
            Some(b) => y.add(&b.reshape(&[o, 1, 1])),
            None => y,
        }
    }

    /// Max pooling over `kernel`-sized windows (padding counts as -inf).
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor};
    /// let x = Tensor::<f32>::arange(16).reshape(&[1, 1, 4, 4]);
    /// let y = x.max_pool2d((2, 2), Window2d::default().stride(2));
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// ```
    #[track_caller]
    pub fn max_pool2d(&self, kernel: (usize, usize), opts: Window2d) -> Self {
        let g = pool_geometry("max_pool2d", self.shape(), kernel, opts);
        self.unfold_geom(&g, -T::INFINITY)
            .reshape(&[g.n, g.c, g.kh * g.kw, g.oh * g.ow])
            .max_axes(&[2], false)
            .reshape(&[g.n, g.c, g.oh, g.ow])
    }

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
        let g = pool_geometry("avg_pool2d", self.shape(), kernel, opts);
        self.unfold_geom(&g, T::ZERO)
            .reshape(&[g.n, g.c, g.kh * g.kw, g.oh * g.ow])
            .mean_axes(&[2], false)
            .reshape(&[g.n, g.c, g.oh, g.ow])
    }
}

/// Checks a convolution's shapes; returns (out channels, C*kh*kw, geometry).
#[track_caller]
fn conv_geometry(
    x: &[usize],
    w: &[usize],
    bias: Option<&[usize]>,
    opts: Window2d,
) -> (usize, usize, Geometry) {
    if w.len() != 4 {
        panic!(
            "conv2d: weight must be 4-d [O, C, kh, kw], got shape {}",
            fmt_shape(w)
        );
    }
    if x.len() == 4 && x[1] != w[1] {
        panic!(
            "conv2d: input {} has {} channels but weight {} expects {}",
            fmt_shape(x),
            x[1],
            fmt_shape(w),
            w[1]
        );
    }
    if let Some(b) = bias {
        if b != [w[0]] {
            panic!(
                "conv2d: bias must have shape [{}], got {}",
                w[0],
                fmt_shape(b)
            );
        }
    }
    let g = Geometry::new("conv2d", x, (w[2], w[3]), opts);
    (w[0], w[1] * w[2] * w[3], g)
}

#[track_caller]
fn pool_geometry(op: &str, x: &[usize], kernel: (usize, usize), opts: Window2d) -> Geometry {
    let g = Geometry::new(op, x, kernel, opts);
    if 2 * opts.padding.0 > kernel.0 || 2 * opts.padding.1 > kernel.1 {
        panic!(
            "{op}: padding {:?} must be at most half the kernel {kernel:?} (every window must hold an input)",
            opts.padding
        );
    }
    g
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

    /// 2-d convolution, recorded as unfold + matmul (+ bias): see
    /// [`Tensor::conv2d`].
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.constant(Tensor::<f64>::ones(&[1, 1, 3, 3]));
    /// let w = tape.leaf(Tensor::<f64>::ones(&[1, 1, 2, 2]));
    /// let g = x.conv2d(w, None, Window2d::default()).sum().backward();
    /// assert_eq!(g[w].to_vec(), vec![4.0; 4]); // each tap sees 4 windows of ones
    /// ```
    #[track_caller]
    pub fn conv2d(self, weight: Self, bias: Option<Self>, opts: Window2d) -> Self {
        let bias_shape = bias.map(|b| b.shape());
        let (o, ck, g) = conv_geometry(&self.shape(), &weight.shape(), bias_shape.as_deref(), opts);
        let y = weight
            .reshape(&[o, ck])
            .matmul(self.unfold_geom(g, T::ZERO))
            .reshape(&[g.n, o, g.oh, g.ow]);
        match bias {
            Some(b) => y.add(b.reshape(&[o, 1, 1])),
            None => y,
        }
    }

    /// Max pooling, recorded as unfold + max: the gradient goes to each
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
        let g = pool_geometry("max_pool2d", &self.shape(), kernel, opts);
        self.unfold_geom(g, -T::INFINITY)
            .reshape(&[g.n, g.c, g.kh * g.kw, g.oh * g.ow])
            .max_axes(&[2], false)
            .reshape(&[g.n, g.c, g.oh, g.ow])
    }

    /// Average pooling, recorded as unfold + mean.
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
        let g = pool_geometry("avg_pool2d", &self.shape(), kernel, opts);
        self.unfold_geom(g, T::ZERO)
            .reshape(&[g.n, g.c, g.kh * g.kw, g.oh * g.ow])
            .mean_axes(&[2], false)
            .reshape(&[g.n, g.c, g.oh, g.ow])
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
