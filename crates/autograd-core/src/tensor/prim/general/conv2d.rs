//! 2-d convolution (cross-correlation, NCHW, PyTorch's `conv2d`) with
//! stride, padding, dilation and groups, and an optional bias, as one node.
//!
//! For batch item b and group q (channels `q·C/G..`, outputs `q·O/G..`),
//! with X_b the item's im2col matrix `[C/G·kh·kw, OH·OW]` and W_q the
//! group's weights as `[O/G, C/G·kh·kw]`:
//!
//! - Y_bq = W_q X_bq (+ bias per output channel);
//! - VJP, with G_bq the adjoint's `[O/G, OH·OW]` block: dW_q = Σ_b G_bq
//!   X_bqᵀ, dX_bq = col2im(W_qᵀ G_bq), d bias = Σ over b and positions.
//!
//! The kernels unfold one item and group at a time into a scratch matrix
//! that stays in cache, multiply, and (backward) fold straight into the
//! input's gradient: the `[N, C·kh·kw, OH·OW]` matrix the unfold + matmul
//! composition builds, and the `[N, O, C·kh·kw]` per-item weight gradients
//! its batched product makes before summing, never exist. Items go to
//! threads (`crate::parallel`); the weight gradient sums fixed runs of
//! items, then the runs in order, so the bits do not depend on the thread
//! count. The general rule, for `grad_graph` and higher derivatives, is the
//! same formula in recorded operations (unfold, batched products, fold,
//! sums); it agrees with the kernels to rounding, not bit for bit
//! (crates/autograd-core/tests/integration/tensor_primitives.rs).

use std::mem::MaybeUninit;

use smallvec::{SmallVec, smallvec};

use crate::Real;
use crate::parallel::SPLIT_WORK;
use crate::tensor::conv::{Geometry, Window2d};
use crate::tensor::linalg::{matmul_strided, matmul_strided_add, matmul_strided_uninit};
use crate::tensor::pool;
use crate::tensor::prim::{Apply, Primitive};
use crate::tensor::shape::{Shape, fmt_shape};
use crate::tensor::{Tensor, TensorVar};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Conv2d {
    pub(crate) opts: Window2d,
    pub(crate) groups: usize,
}

/// Sizes of one convolution, from its inputs' shapes.
#[derive(Clone, Copy)]
struct Dims {
    /// Per item and group: `[C/G, H, W]` in, kernel, output size (n = 1).
    g: Geometry,
    n: usize,
    groups: usize,
    /// Output channels in all, and per group.
    o: usize,
    og: usize,
    /// Rows of an item's and group's im2col matrix: C/G·kh·kw.
    ck: usize,
    /// Output positions: OH·OW.
    l: usize,
}

impl Dims {
    fn item_in(&self) -> usize {
        self.groups * self.g.c * self.g.h * self.g.w
    }
    fn group_in(&self) -> usize {
        self.g.c * self.g.h * self.g.w
    }
    /// Multiply-adds of one product (forward, or one half of the VJP).
    fn work(&self) -> usize {
        self.n * self.o * self.ck * self.l
    }
}

impl Conv2d {
    /// Checks the shapes at the caller's line.
    #[track_caller]
    fn check(
        x: &[usize],
        w: &[usize],
        bias: Option<&[usize]>,
        opts: Window2d,
        groups: usize,
    ) -> Self {
        if w.len() != 4 {
            panic!(
                "conv2d: weight must be 4-d [O, C/groups, kh, kw], got shape {}",
                fmt_shape(w)
            );
        }
        if groups == 0 {
            panic!("conv2d: groups must be positive, got {groups}");
        }
        if !w[0].is_multiple_of(groups) {
            panic!(
                "conv2d: {groups} groups do not divide the {} output channels of weight {}",
                w[0],
                fmt_shape(w)
            );
        }
        if x.len() == 4 && x[1] != w[1] * groups {
            let grouped = if groups > 1 {
                format!(" in {groups} groups")
            } else {
                String::new()
            };
            panic!(
                "conv2d: input {} has {} channels but weight {}{grouped} expects {}",
                fmt_shape(x),
                x[1],
                fmt_shape(w),
                w[1] * groups
            );
        }
        if let Some(b) = bias
            && b != [w[0]] {
                panic!(
                    "conv2d: bias must have shape [{}], got {}",
                    w[0],
                    fmt_shape(b)
                );
            }
        // Checks the input's rank and that there are output positions.
        Geometry::new("conv2d", x, (w[2], w[3]), opts);
        Conv2d { opts, groups }
    }

    fn dims(&self, x: &[usize], w: &[usize]) -> Dims {
        let mut g = Geometry::new("conv2d", x, (w[2], w[3]), self.opts);
        let n = g.n;
        g.n = 1;
        g.c = w[1];
        Dims {
            g,
            n,
            groups: self.groups,
            o: w[0],
            og: w[0] / self.groups,
            ck: w[1] * w[2] * w[3],
            l: g.oh * g.ow,
        }
    }

}

/// Multiply-adds of weight gradient summed in one run of items before the
/// runs are added up: fixed, so the sum's order (and its bits) does not
/// depend on how many threads share the runs.
const RUN_WORK: usize = 1 << 20;

/// One thread's share of the backward pass: `len` items from `first`, their
/// part of the input's gradient (empty if not needed) and one `[O, ck]`
/// partial weight gradient (empty if not needed).
struct Run<'a, T> {
    first: usize,
    len: usize,
    dx: &'a mut [T],
    dw: &'a mut [T],
}

/// Receives a group's block: its rows of the item's output, the group's
/// weights and its unfolded input.
type PutBlock<'a, T> = dyn FnMut(std::ops::Range<usize>, &[T], &[T]) + 'a;

/// Writes every element of `out` (`n x o x l`, uninitialised on entry):
/// each group's block of each item is one product into its own rows; with
/// a bias, the item's bias rows are written first and the products added.
fn forward_into<T: Real>(dm: Dims, x: &[T], w: &[T], bias: Option<&[T]>, out: &mut [MaybeUninit<T>]) {
    let Dims { o, og, ck, l, .. } = dm;
    crate::parallel::for_chunks(dm.work(), SPLIT_WORK, out, o * l, |b0, part| {
        let mut cols = vec![T::ZERO; ck * l];
        for (j, ob) in part.chunks_mut(o * l).enumerate() {
            let xb = &x[(b0 + j) * dm.item_in()..];
            // Group q's block: Y_q = W_q X_q, W_q's rows ck apart, X_q's l.
            let mut groups = |put: &mut PutBlock<'_, T>| {
                for q in 0..dm.groups {
                    dm.g.unfold_into(&xb[q * dm.group_in()..], &mut cols, T::ZERO);
                    put(q * og * l..(q + 1) * og * l, &w[q * og * ck..], &cols);
                }
            };
            let strides = [ck, 1, l, 1];
            match bias {
                Some(bias) => {
                    for (row, &bv) in ob.chunks_mut(l).zip(bias) {
                        for v in row {
                            v.write(bv);
                        }
                    }
                    // SAFETY: the loop above wrote every element of `ob`:
                    // its o x l elements are o rows of l (`chunks_mut(l)`)
                    // zipped with the o biases; `MaybeUninit<T>` has T's
                    // layout.
                    let ob = unsafe { &mut *(ob as *mut [MaybeUninit<T>] as *mut [T]) };
                    groups(&mut |rows, wq, cols| {
                        matmul_strided_add(&mut ob[rows], wq, cols, og, ck, l, strides)
                    });
                }
                // The groups' blocks tile the item's o x l elements.
                None => groups(&mut |rows, wq, cols| {
                    matmul_strided_uninit(&mut ob[rows], wq, cols, og, ck, l, strides)
                }),
            }
        }
    });
}

fn backward_run<T: Real>(dm: Dims, x: &[T], w: &[T], g: &[T], run: &mut Run<'_, T>) {
    let Dims { o, og, ck, l, .. } = dm;
    let mut cols = vec![T::ZERO; ck * l];
    run.dw.fill(T::ZERO);
    for j in 0..run.len {
        let b = run.first + j;
        for q in 0..dm.groups {
            let xs = &x[b * dm.item_in() + q * dm.group_in()..];
            let gs = &g[(b * o + q * og) * l..(b * o + (q + 1) * og) * l];
            if !run.dw.is_empty() {
                dm.g.unfold_into(xs, &mut cols, T::ZERO);
                // dW_q += G Xᵀ: Xᵀ reads X's rows as columns.
                let dw = &mut run.dw[q * og * ck..(q + 1) * og * ck];
                matmul_strided_add(dw, gs, &cols, og, l, ck, [l, 1, 1, l]);
            }
            if !run.dx.is_empty() {
                // dX = col2im(W_qᵀ G): W_qᵀ reads W_q's rows as columns.
                matmul_strided(&mut cols, &w[q * og * ck..], gs, ck, og, l, [1, ck, l, 1]);
                let start = j * dm.item_in() + q * dm.group_in();
                let dx = &mut run.dx[start..start + dm.group_in()];
                dx.fill(T::ZERO);
                dm.g.fold_add_from_scratch(&mut cols, dx);
            }
        }
    }
}

/// The input's gradient into `dx` and the weight's into `dw` (either may be
/// empty: not needed), every element written.
fn backward_into<T: Real>(dm: Dims, x: &[T], w: &[T], g: &[T], dx: &mut [T], dw: &mut [T]) {
    let per_item = dm.o * dm.ck * dm.l;
    let run_len = (RUN_WORK / per_item.max(1)).clamp(1, dm.n.max(1));
    let runs = dm.n.div_ceil(run_len);
    if runs == 0 {
        // No items: the weight gradient is zero (and the input's is empty).
        dw.fill(T::ZERO);
        return;
    }
    let block = dw.len();
    let work = dm.work() * (usize::from(block > 0) + usize::from(!dx.is_empty()));
    // One partial per run; with one run, the result itself.
    let mut partials = if runs > 1 {
        vec![T::ZERO; runs * block]
    } else {
        Vec::new()
    };
    {
        let mut dx_parts = dx.chunks_mut((run_len * dm.item_in()).max(1));
        let mut dw_parts = if runs > 1 {
            partials.chunks_mut(block.max(1))
        } else {
            dw.chunks_mut(block.max(1))
        };
        let mut jobs: Vec<Run<'_, T>> = (0..runs)
            .map(|r| Run {
                first: r * run_len,
                len: run_len.min(dm.n - r * run_len),
                dx: dx_parts.next().unwrap_or_default(),
                dw: dw_parts.next().unwrap_or_default(),
            })
            .collect();
        crate::parallel::for_chunks(work, SPLIT_WORK, &mut jobs, 1, |_, part| {
            for run in part {
                backward_run(dm, x, w, g, run);
            }
        });
    }
    if runs > 1 && block > 0 {
        let mut parts = partials.chunks(block);
        dw.copy_from_slice(parts.next().expect("at least two runs"));
        for p in parts {
            for (d, &v) in dw.iter_mut().zip(p) {
                *d += v;
            }
        }
    }
}

impl<T: Real> Primitive<T> for Conv2d {
    const NAME: &'static str = "conv2d";

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let dm = self.dims(x[0].shape(), x[1].shape());
        let shape = Shape::from_slice(&[dm.n, dm.o, dm.g.oh, dm.g.ow]);
        if shape.iter().product::<usize>() == 0 {
            return Tensor::zeros(&shape);
        }
        let bias = x.get(2).map(|b| b.data());
        // SAFETY: `forward_into` writes every element of the n x o x l
        // buffer: `for_chunks` hands it all over in whole items of o x l,
        // and each item is written by the bias rows and then added to, or
        // without a bias by its groups' products, whose blocks of og x l
        // tile it (groups x og = o), each product writing all of its block
        // (`matmul_strided_uninit`, zeros when ck = 0).
        unsafe {
            Tensor::from_uninit(shape, |out| {
                forward_into(dm, x[0].data(), x[1].data(), bias, out)
            })
        }
    }

    fn vjp<V: Apply<T>>(&self, x: &[&V], _y: &V, g: &V, need: &[bool]) -> SmallVec<[Option<V>; 3]> {
        let (xs, ws) = (x[0].shape(), x[1].shape());
        let dm = self.dims(&xs, &ws);
        let Dims { n, groups, og, ck, l, .. } = dm;
        // The whole batch's geometry, for the recorded unfold and fold.
        let whole = Geometry { n, c: xs[1], ..dm.g };
        let gg = g.reshape(&[n, groups, og, l]);
        let mut out: SmallVec<[Option<V>; 3]> = smallvec![
            need[0].then(|| {
                let wq = x[1].reshape(&[groups, og, ck]);
                wq.mm(&gg, true, false)
                    .reshape(&[n, groups * ck, l])
                    .fold2d(&whole)
            }),
            need[1].then(|| {
                let cols = x[0].unfold2d(&whole).reshape(&[n, groups, ck, l]);
                gg.mm(&cols, false, true)
                    .sum_axes(&[0], false)
                    .reshape(&ws)
            }),
        ];
        if x.len() > 2 {
            out.push(need[2].then(|| g.sum_axes(&[0, 2, 3], false)));
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
        let dm = self.dims(x[0].shape(), x[1].shape());
        let mut dx = need[0].then(|| pool::take(pool, x[0].shape()));
        let mut dw = need[1].then(|| pool::take(pool, x[1].shape()));
        {
            let dxs = dx.as_mut().map_or(&mut [][..], |t| pool::unique(t));
            let dws = dw.as_mut().map_or(&mut [][..], |t| pool::unique(t));
            backward_into(dm, x[0].data(), x[1].data(), g.data(), dxs, dws);
        }
        let mut out: SmallVec<[Option<Tensor<T>>; 3]> = smallvec![dx, dw];
        if x.len() > 2 {
            out.push(need[2].then(|| {
                let mut db = pool::take(pool, &[dm.o]);
                let d = pool::unique(&mut db);
                d.fill(T::ZERO);
                let gd = g.data();
                for b in 0..dm.n {
                    let item = &gd[b * dm.o * dm.l..(b + 1) * dm.o * dm.l];
                    for (s, row) in d.iter_mut().zip(item.chunks(dm.l)) {
                        let mut acc = T::ZERO;
                        for &v in row {
                            acc += v;
                        }
                        *s += acc;
                    }
                }
                db
            }));
        }
        Some(out)
    }
}

impl<T: Real> Tensor<T> {
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
        self.conv2d_groups(weight, bias, opts, 1)
    }

    /// Grouped 2-d convolution (PyTorch's `groups`): the `C` input and `O`
    /// output channels split into `groups` runs, run `q` of the output
    /// seeing only run `q` of the input, through `[O, C / groups, kh, kw]`
    /// weights. `groups == C == O` is a depthwise convolution.
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor};
    /// // Depthwise: each channel convolved with its own 1x1 kernel.
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 2, 1, 2]);
    /// let w = Tensor::<f32>::from_vec(vec![10.0, 100.0], &[2, 1, 1, 1]);
    /// let y = x.conv2d_groups(&w, None, Window2d::default(), 2);
    /// assert_eq!(y.to_vec(), vec![10.0, 20.0, 300.0, 400.0]);
    /// ```
    #[track_caller]
    pub fn conv2d_groups(
        &self,
        weight: &Self,
        bias: Option<&Self>,
        opts: Window2d,
        groups: usize,
    ) -> Self {
        let op = Conv2d::check(
            self.shape(),
            weight.shape(),
            bias.map(|b| b.shape()),
            opts,
            groups,
        );
        let mut inputs = vec![self, weight];
        inputs.extend(bias);
        op.forward(&inputs)
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// 2-d convolution, recorded as one node: see [`Tensor::conv2d`] (VJP:
    /// this module's docs).
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
        self.conv2d_groups(weight, bias, opts, 1)
    }

    /// Grouped 2-d convolution, recorded as one node: see
    /// [`Tensor::conv2d_groups`].
    ///
    /// ```
    /// use autograd_core::{Window2d, Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f64>::ones(&[1, 4, 3, 3]));
    /// let w = tape.leaf(Tensor::<f64>::ones(&[2, 2, 3, 3]));
    /// let y = x.conv2d_groups(w, None, Window2d::default().padding(1), 2);
    /// assert_eq!(y.shape().as_slice(), &[1, 2, 3, 3]);
    /// let g = y.sum().backward();
    /// assert_eq!(g[w].get(&[0, 0, 1, 1]), 9.0); // the centre tap sees every input
    /// ```
    #[track_caller]
    pub fn conv2d_groups(
        self,
        weight: Self,
        bias: Option<Self>,
        opts: Window2d,
        groups: usize,
    ) -> Self {
        let bias_shape = bias.map(|b| b.shape());
        let op = Conv2d::check(
            &self.shape(),
            &weight.shape(),
            bias_shape.as_deref(),
            opts,
            groups,
        );
        let mut rest: SmallVec<[Self; 2]> = smallvec![weight];
        rest.extend(bias);
        self.general(&rest, op)
    }
}
