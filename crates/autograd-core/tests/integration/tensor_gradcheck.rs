//! Every differentiable tensor primitive against finite differences, on
//! random inputs and random shapes, broadcasting included. Each check also
//! compares the recorded backward (grad_graph) with the ordinary one.

// `&[x.clone()]` reads as "the inputs are x" in every check below.
#![allow(clippy::cloned_ref_to_slice_refs)]

use autograd_core::tensor::Gelu;
use autograd_core::{CrossEntropy, Reduction, Tensor, TensorVar, tensor_gradcheck};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TRIALS: usize = 12;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

use crate::common;
use common::{broadcastable, random_shape as shape};

fn uniform(r: &mut StdRng, s: &[usize], lo: f64, hi: f64) -> Tensor<f64> {
    Tensor::rand_uniform(s, lo, hi, r)
}

/// Values away from 0 and from each other, for ops with kinks at 0 or ties.
fn spread(r: &mut StdRng, s: &[usize]) -> Tensor<f64> {
    let n: usize = s.iter().product();
    let mut v: Vec<f64> = (0..n)
        .map(|i| (i as f64 - n as f64 / 2.0) * 0.37 + 0.11)
        .collect();
    for i in (1..n).rev() {
        v.swap(i, r.random_range(0..=i));
    }
    Tensor::from_vec(v, s)
}

#[track_caller]
fn check<F>(name: &str, f: F, inputs: &[Tensor<f64>])
where
    F: for<'t> Fn(&'t autograd_core::TensorTape<f64>, &[TensorVar<'t, f64>]) -> TensorVar<'t, f64>,
{
    let shapes: Vec<_> = inputs.iter().map(|t| t.shape().to_vec()).collect();
    if let Err(e) = tensor_gradcheck(f, inputs) {
        panic!("{name} on shapes {shapes:?}: {e}");
    }
}

#[test]
fn binary_elementwise_ops_with_broadcasting() {
    let mut r = rng(1);
    for _ in 0..TRIALS {
        let s = shape(&mut r, 3);
        let b = broadcastable(&mut r, &s);
        // Either side may be the smaller one.
        let (sa, sb) = if r.random_bool(0.5) {
            (s.clone(), b)
        } else {
            (b, s.clone())
        };
        let x = uniform(&mut r, &sa, -2.0, 2.0);
        let y = uniform(&mut r, &sb, 0.5, 2.0);
        check("add", |_, v| v[0].add(v[1]), &[x.clone(), y.clone()]);
        check("sub", |_, v| v[0].sub(v[1]), &[x.clone(), y.clone()]);
        check("mul", |_, v| v[0].mul(v[1]), &[x.clone(), y.clone()]);
        check("div", |_, v| v[0].div(v[1]), &[x.clone(), y.clone()]);
        let base = uniform(&mut r, &sa, 0.5, 2.0);
        check("pow", |_, v| v[0].pow(v[1]), &[base, x.clone()]);
        let (p, q) = (spread(&mut r, &sa), spread(&mut r, &sb).add_scalar(0.05));
        check(
            "maximum",
            |_, v| v[0].maximum(v[1]),
            &[p.clone(), q.clone()],
        );
        check("minimum", |_, v| v[0].minimum(v[1]), &[p, q]);
        // Away from the origin, where atan2 has its singularity.
        let (ya, xb) = (
            uniform(&mut r, &sa, 0.3, 2.0),
            uniform(&mut r, &sb, -2.0, 2.0),
        );
        check("atan2", |_, v| v[0].atan2(v[1]), &[ya.clone(), xb.clone()]);
        check("atan2", |_, v| v[1].atan2(v[0]), &[ya.neg(), xb]);
    }
}

#[test]
fn unary_elementwise_ops() {
    let mut r = rng(2);
    for _ in 0..TRIALS {
        let s = shape(&mut r, 3);
        let x = uniform(&mut r, &s, -2.0, 2.0);
        let pos = uniform(&mut r, &s, 0.2, 3.0);
        let away = spread(&mut r, &s);
        check("neg", |_, v| v[0].neg(), &[x.clone()]);
        check("exp", |_, v| v[0].exp(), &[x.clone()]);
        check("ln", |_, v| v[0].ln(), &[pos.clone()]);
        check("sqrt", |_, v| v[0].sqrt(), &[pos.clone()]);
        check("tanh", |_, v| v[0].tanh(), &[x.clone()]);
        check("sigmoid", |_, v| v[0].sigmoid(), &[x.clone()]);
        check("sin", |_, v| v[0].sin(), &[x.clone()]);
        check("cos", |_, v| v[0].cos(), &[x.clone()]);
        check("abs", |_, v| v[0].abs(), &[away.clone()]);
        check("relu", |_, v| v[0].relu(), &[away.clone()]);
        check("clamp", |_, v| v[0].clamp(-0.8, 1.3), &[away.clone()]);
        check("add_scalar", |_, v| v[0].add_scalar(0.7), &[x.clone()]);
        check("scale", |_, v| v[0].scale(-1.3), &[x.clone()]);
        check("powf", |_, v| v[0].powf(2.5), &[pos.clone()]);
        check("square", |_, v| v[0].square(), &[x.clone()]);
        check("cube", |_, v| v[0].powf(3.0), &[x.clone()]);
        check("reciprocal", |_, v| v[0].powf(-1.0), &[pos.clone()]);
        check("erf", |_, v| v[0].erf(), &[x.clone()]);
        check("log1p", |_, v| v[0].log1p(), &[pos.add_scalar(-0.9)]);
        check("expm1", |_, v| v[0].expm1(), &[x.clone()]);
        check("softplus", |_, v| v[0].softplus(1.0), &[x.scale(5.0)]);
        check("softplus", |_, v| v[0].softplus(3.0), &[x.clone()]);
        check("gelu", |_, v| v[0].gelu(Gelu::Exact), &[x.scale(2.0)]);
        check("gelu", |_, v| v[0].gelu(Gelu::Tanh), &[x.scale(2.0)]);
        check(
            "operators",
            |_, v| 1.0 - v[0] * 2.0 + 3.0 / (v[0] * v[0] + 1.0),
            &[x.clone()],
        );
        let mask = x.gt(&Tensor::scalar(0.0));
        let y = uniform(&mut r, &s, -1.0, 1.0);
        check(
            "where_cond",
            move |_, v| TensorVar::where_cond(&mask, v[0], v[1]),
            &[x.clone(), y],
        );
    }
}

#[test]
fn reductions_over_random_axes() {
    let mut r = rng(3);
    for _ in 0..TRIALS {
        let s = shape(&mut r, 4);
        let x = uniform(&mut r, &s, -2.0, 2.0);
        let away = spread(&mut r, &s);
        let nax = r.random_range(0..=s.len());
        let mut axes: Vec<isize> = (0..s.len() as isize).collect();
        for i in (1..axes.len()).rev() {
            axes.swap(i, r.random_range(0..=i));
        }
        axes.truncate(nax);
        // Negative spelling for half of them.
        let axes: Vec<isize> = axes
            .into_iter()
            .map(|a| {
                if r.random_bool(0.5) {
                    a - s.len() as isize
                } else {
                    a
                }
            })
            .collect();
        let keep = r.random_bool(0.5);
        if !s.is_empty() {
            // Either spelling of the axis, counted from the front or the back.
            let axis = r.random_range(0..s.len()) as isize;
            let axis = if r.random_bool(0.5) {
                axis - s.len() as isize
            } else {
                axis
            };
            check("cumsum", move |_, v| v[0].cumsum(axis), &[x.clone()]);
            // Over the last k axes, with and without weight and bias.
            let k = r.random_range(1..=s.len());
            let norm = s[s.len() - k..].to_vec();
            let w = uniform(&mut r, &norm, 0.5, 1.5);
            let b = uniform(&mut r, &norm, -1.0, 1.0);
            let n = norm.clone();
            check(
                "layer_norm",
                move |_, v| v[0].layer_norm(&n, Some(v[1]), Some(v[2]), 1e-5),
                &[x.clone(), w.clone(), b],
            );
            let n = norm.clone();
            check(
                "layer_norm (weight only)",
                move |_, v| v[0].layer_norm(&n, Some(v[1]), None, 1e-3),
                &[x.clone(), w],
            );
            check(
                "layer_norm (no affine)",
                move |_, v| v[0].layer_norm(&norm, None, None, 1e-5),
                &[x.clone()],
            );
        }
        let ax = axes.clone();
        check("sum", |_, v| v[0].sum(), &[x.clone()]);
        check(
            "sum_axes",
            move |_, v| v[0].sum_axes(&ax, keep),
            &[x.clone()],
        );
        let ax = axes.clone();
        check(
            "mean_axes",
            move |_, v| v[0].mean_axes(&ax, keep),
            &[x.clone()],
        );
        let ax = axes.clone();
        check(
            "max_axes",
            move |_, v| v[0].max_axes(&ax, keep),
            &[away.clone()],
        );
        let ax = axes.clone();
        check(
            "min_axes",
            move |_, v| v[0].min_axes(&ax, keep),
            &[away.clone()],
        );
        let ax = axes.clone();
        check(
            "logsumexp",
            move |_, v| v[0].logsumexp(&ax, keep),
            &[x.clone()],
        );
        let ax = axes.clone();
        let n: usize = if axes.is_empty() {
            s.iter().product()
        } else {
            axes.iter()
                .map(|&a| s[a.rem_euclid(s.len() as isize) as usize])
                .product()
        };
        if n > 1 {
            check(
                "var_axes",
                move |_, v| v[0].var_axes(&ax, 1, keep),
                &[x.clone()],
            );
            let ax = axes.clone();
            check(
                "std_axes",
                move |_, v| v[0].std_axes(&ax, 0, keep),
                &[away.clone()],
            );
        }
        let axis = r.random_range(0..2 * s.len() as i64) as isize - s.len() as isize;
        check("softmax", move |_, v| v[0].softmax(axis), &[x.clone()]);
        check(
            "log_softmax",
            move |_, v| v[0].log_softmax(axis),
            &[x.clone()],
        );
        let b = broadcastable(&mut r, &s);
        let small = uniform(&mut r, &b, -1.0, 1.0);
        let target = s.clone();
        check(
            "broadcast_to",
            move |_, v| v[0].broadcast_to(&target),
            &[small],
        );
        check("sum_to", move |_, v| v[0].sum_to(&b), &[x.clone()]);
    }
}

#[test]
fn shape_operations() {
    let mut r = rng(4);
    for _ in 0..TRIALS {
        let s = shape(&mut r, 4);
        let x = uniform(&mut r, &s, -2.0, 2.0);
        let n: usize = s.iter().product();
        check("reshape", move |_, v| v[0].reshape(&[n]), &[x.clone()]);
        let mut perm: Vec<isize> = (0..s.len() as isize).collect();
        for i in (1..perm.len()).rev() {
            perm.swap(i, r.random_range(0..=i));
        }
        let p = perm.clone();
        // Multiply by a non-uniform constant so a wrong permutation shows.
        let w = uniform(
            &mut r,
            &perm.iter().map(|&a| s[a as usize]).collect::<Vec<_>>(),
            0.5,
            1.5,
        );
        check(
            "permute",
            move |t, v| v[0].permute(&p).mul(t.constant(w.clone())),
            &[x.clone()],
        );
        let axis = r.random_range(0..s.len());
        let len = s[axis];
        let start = r.random_range(0..len);
        let l = r.random_range(1..=len - start);
        check(
            "narrow",
            move |_, v| v[0].narrow(axis as isize, start, l),
            &[x.clone()],
        );
        check(
            "unsqueeze/squeeze",
            |_, v| v[0].unsqueeze(0).exp().squeeze(0),
            &[x.clone()],
        );
        check("flatten", |_, v| v[0].flatten().tanh(), &[x.clone()]);
        check(
            "transpose",
            |_, v| v[0].transpose(0, -1).sin(),
            &[x.clone()],
        );
        let mut s2 = s.clone();
        s2[axis] = r.random_range(1..=3);
        let y = uniform(&mut r, &s2, -1.0, 1.0);
        check(
            "concat",
            move |_, v| TensorVar::concat(&[v[0], v[1], v[0]], axis as isize).sin(),
            &[x.clone(), y],
        );
        check(
            "stack",
            |_, v| TensorVar::stack(&[v[0], v[0].exp()], -1).cos(),
            &[x.clone()],
        );
        check(
            "split",
            move |_, v| {
                let parts = v[0].split(2, axis as isize);
                let mut acc = parts[0].sum();
                for (k, p) in parts.iter().enumerate().skip(1) {
                    acc = acc.add(p.sum().scale(k as f64 + 1.0));
                }
                acc
            },
            &[x.clone()],
        );
        check(
            "chunk",
            move |_, v| {
                let parts = v[0].chunk(2, axis as isize);
                parts[parts.len() - 1].exp().sum()
            },
            &[x.clone()],
        );
    }
}

#[test]
fn matrix_products() {
    let mut r = rng(5);
    for _ in 0..TRIALS {
        let (m, k, n) = (
            r.random_range(1..5),
            r.random_range(1..5),
            r.random_range(1..5),
        );
        let a = uniform(&mut r, &[m, k], -1.0, 1.0);
        let b = uniform(&mut r, &[k, n], -1.0, 1.0);
        check(
            "matmul 2-d",
            |_, v| v[0].matmul(v[1]),
            &[a.clone(), b.clone()],
        );
        let bt = uniform(&mut r, &[n, k], -1.0, 1.0);
        check(
            "matmul_transposed",
            |_, v| v[0].matmul_transposed(v[1]),
            &[a.clone(), bt],
        );
        let vk = uniform(&mut r, &[k], -1.0, 1.0);
        check(
            "matrix-vector",
            |_, v| v[0].matmul(v[1]),
            &[a.clone(), vk.clone()],
        );
        let vm = uniform(&mut r, &[m], -1.0, 1.0);
        check("vector-matrix", |_, v| v[0].matmul(v[1]), &[vm, a.clone()]);
        check("vector-vector", |_, v| v[0].matmul(v[1]), &[vk.clone(), vk]);
        // Batched, with leading axes that broadcast.
        let bb = r.random_range(1..4);
        let a3 = uniform(&mut r, &[bb, 1, m, k], -1.0, 1.0);
        let b3 = uniform(&mut r, &[2, k, n], -1.0, 1.0);
        check(
            "batched matmul",
            |_, v| v[0].matmul(v[1]),
            &[a3.clone(), b3],
        );
        check(
            "batched @ 2-d",
            |_, v| v[0].matmul(v[1]),
            &[a3.clone(), b.clone()],
        );
        // A linear layer on a batch: the matrix's gradient folds the batch
        // into the rows of one product.
        let w = uniform(&mut r, &[n, k], -1.0, 1.0);
        check(
            "batched @ 2-d transposed",
            |_, v| v[0].matmul_transposed(v[1]),
            &[a3, w],
        );
        let a2 = uniform(&mut r, &[m, k], -1.0, 1.0);
        let b4 = uniform(&mut r, &[3, k, n], -1.0, 1.0);
        check("2-d @ batched", |_, v| v[0].matmul(v[1]), &[a2, b4]);
    }
}

#[test]
fn linear() {
    let mut r = rng(23);
    for _ in 0..TRIALS {
        let (i, o) = (r.random_range(1..5), r.random_range(1..5));
        let w = uniform(&mut r, &[o, i], -1.0, 1.0);
        let b = uniform(&mut r, &[o], -1.0, 1.0);
        // 1-d, 2-d and batched inputs: the weight's gradient folds the
        // leading axes into one product, the bias's sums over them.
        let lead: Vec<usize> = (0..r.random_range(0..3))
            .map(|_| r.random_range(1..4))
            .collect();
        let shape: Vec<usize> = lead.iter().copied().chain([i]).collect();
        let x = uniform(&mut r, &shape, -1.0, 1.0);
        check(
            "linear with bias",
            |_, v| v[0].linear(v[1], Some(v[2])),
            &[x.clone(), w.clone(), b],
        );
        check("linear", |_, v| v[0].linear(v[1], None), &[x, w]);
    }
}

#[test]
fn self_attention() {
    let mut r = rng(17);
    for _ in 0..TRIALS {
        let (b, t, h, d) = (
            r.random_range(1..3),
            r.random_range(1..5),
            r.random_range(1..3),
            r.random_range(1..4),
        );
        let qkv = uniform(&mut r, &[b, t, 3 * h * d], -1.5, 1.5);
        // Random key padding, the first key always kept (so no query,
        // causal or not, is left without one).
        let pad: Vec<bool> = (0..b * t)
            .map(|i| i % t > 0 && r.random_bool(0.4))
            .collect();
        let pad = Tensor::from_vec(pad, &[b, t]);
        for causal in [true, false] {
            check(
                "self_attention",
                move |_, v| v[0].self_attention(h, causal),
                &[qkv.clone()],
            );
            let pad = pad.clone();
            check(
                "self_attention_padded",
                move |_, v| v[0].self_attention_padded(h, causal, &pad),
                &[qkv.clone()],
            );
        }
    }
}

#[test]
fn indexing() {
    let mut r = rng(6);
    for _ in 0..TRIALS {
        let s = shape(&mut r, 3);
        let x = uniform(&mut r, &s, -2.0, 2.0);
        let axis = r.random_range(0..s.len());
        let idx: Vec<usize> = (0..r.random_range(1..6))
            .map(|_| r.random_range(0..s[axis]))
            .collect();
        let i2 = idx.clone();
        check(
            "index_select",
            move |_, v| v[0].index_select(axis as isize, &i2).sin(),
            &[x.clone()],
        );
        // Cross-entropy over the last axis, every reduction, with and
        // without smoothing and an ignored id.
        let classes = s[s.len() - 1];
        let rows: usize = s[..s.len() - 1].iter().product();
        let t: Vec<f64> = (0..rows)
            .map(|_| r.random_range(0..classes) as f64)
            .collect();
        let t = Tensor::from_vec(t, &s[..s.len() - 1]);
        for red in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            let options = CrossEntropy::new().reduction(red).label_smoothing(0.2);
            let (t1, t2) = (t.clone(), t.clone());
            check(
                "cross_entropy",
                move |tape, v| v[0].cross_entropy(tape.constant(t1.clone()), options),
                &[x.clone()],
            );
            // Ignoring id 0 where some row keeps its loss (with every row
            // ignored the mean is NaN, as in PyTorch).
            if t.data().iter().all(|&v| v == 0.0) {
                continue;
            }
            let options = options.ignore_index(0).label_smoothing(0.0);
            check(
                "cross_entropy (ignore_index)",
                move |tape, v| v[0].cross_entropy(tape.constant(t2.clone()), options),
                &[x.clone()],
            );
        }
        // Rows of x at ids held in a variable of random shape (repeats add).
        let ishape = shape(&mut r, 2);
        let n: usize = ishape.iter().product();
        let ids: Vec<f64> = (0..n).map(|_| r.random_range(0..s[0]) as f64).collect();
        let ids = Tensor::from_vec(ids, &ishape);
        check(
            "embedding",
            move |tape, v| v[0].embedding(tape.constant(ids.clone())).sin(),
            &[x.clone()],
        );
        let mut is = s.clone();
        is[axis] = r.random_range(1..5);
        let n: usize = is.iter().product();
        let index = Tensor::from_vec((0..n).map(|_| r.random_range(0..s[axis])).collect(), &is);
        let i2 = index.clone();
        check(
            "gather",
            move |_, v| v[0].gather(axis as isize, &i2).exp(),
            &[x.clone()],
        );
        let src = uniform(&mut r, &is, -1.0, 1.0);
        let i2 = index.clone();
        check(
            "scatter_add",
            move |_, v| v[0].scatter_add(axis as isize, &i2, v[1]).sin(),
            &[x.clone(), src],
        );
    }
}

#[test]
fn composite_model_gradients() {
    // A two-layer network with cross-entropy: everything at once.
    let mut r = rng(7);
    let x = uniform(&mut r, &[5, 4], -1.0, 1.0);
    let w1 = uniform(&mut r, &[6, 4], -1.0, 1.0);
    let b1 = uniform(&mut r, &[6], -0.5, 0.5);
    let w2 = uniform(&mut r, &[3, 6], -1.0, 1.0);
    let labels = Tensor::from_vec(vec![0_usize, 2, 1, 1, 0], &[5, 1]);
    check(
        "mlp + cross-entropy",
        move |t, v| {
            let x = t.constant(x.clone());
            let h = x.matmul_transposed(v[0]).add(v[1]).tanh();
            let logits = h.matmul_transposed(v[2]);
            logits.log_softmax(-1).gather(1, &labels).mean().neg()
        },
        &[w1, b1, w2],
    );
}

/// A direct 7-loop convolution, the oracle for the primitive's kernels.
fn naive_conv2d(
    x: &Tensor<f64>,
    w: &Tensor<f64>,
    b: &Tensor<f64>,
    o: autograd_core::Window2d,
    groups: usize,
) -> Tensor<f64> {
    let (n, h, wd) = (x.shape()[0], x.shape()[2], x.shape()[3]);
    let (oc, c, kh, kw) = (w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]);
    let oh = (h + 2 * o.padding.0 - o.dilation.0 * (kh - 1) - 1) / o.stride.0 + 1;
    let ow = (wd + 2 * o.padding.1 - o.dilation.1 * (kw - 1) - 1) / o.stride.1 + 1;
    let mut out = vec![0.0; n * oc * oh * ow];
    for bi in 0..n {
        for f in 0..oc {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b.get(&[f]);
                    // Output channel f sees its group's c input channels.
                    let first = f / (oc / groups) * c;
                    for ch in 0..c {
                        for ki in 0..kh {
                            for kj in 0..kw {
                                let ii = (i * o.stride.0 + ki * o.dilation.0) as isize
                                    - o.padding.0 as isize;
                                let jj = (j * o.stride.1 + kj * o.dilation.1) as isize
                                    - o.padding.1 as isize;
                                if ii >= 0 && jj >= 0 && (ii as usize) < h && (jj as usize) < wd {
                                    acc += x.get(&[bi, first + ch, ii as usize, jj as usize])
                                        * w.get(&[f, ch, ki, kj]);
                                }
                            }
                        }
                    }
                    out[((bi * oc + f) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    Tensor::from_vec(out, &[n, oc, oh, ow])
}

#[test]
fn convolution_and_pooling() {
    use autograd_core::Window2d;
    let mut r = rng(8);
    for trial in 0..TRIALS {
        let groups = r.random_range(1..3);
        let (n, c, oc) = (
            r.random_range(1..3),
            groups * r.random_range(1..3),
            groups * r.random_range(1..3),
        );
        let (kh, mut kw) = (r.random_range(1..4), r.random_range(1..4));
        let mut opts = Window2d {
            stride: (r.random_range(1..3), r.random_range(1..3)),
            padding: (r.random_range(0..2), r.random_range(0..2)),
            dilation: (r.random_range(1..3), r.random_range(1..3)),
        };
        if trial % 2 == 0 {
            // Stride 1, "same" width: the kernels' one-run-per-row path.
            kw = 2 * r.random_range(0..2) + 1;
            opts.stride = (1, 1);
            opts.padding.1 = opts.dilation.1 * (kw - 1) / 2;
        }
        let h = opts.dilation.0 * (kh - 1) + 1 + r.random_range(0..4);
        let w = opts.dilation.1 * (kw - 1) + 1 + r.random_range(0..4);
        let x = uniform(&mut r, &[n, c, h, w], -1.0, 1.0);
        let wt = uniform(&mut r, &[oc, c / groups, kh, kw], -1.0, 1.0);
        let b = uniform(&mut r, &[oc], -1.0, 1.0);
        let fast = x.conv2d_groups(&wt, Some(&b), opts, groups);
        let slow = naive_conv2d(&x, &wt, &b, opts, groups);
        assert!(
            fast.max_abs_diff(&slow) < 1e-12,
            "conv2d {opts:?}, {groups} groups, differs from the direct loop"
        );
        // Without a bias the output starts uninitialised and the groups'
        // products must write all of it.
        let unbiased = x.conv2d_groups(&wt, None, opts, groups);
        let zero = Tensor::zeros(&[oc]);
        assert!(
            unbiased.max_abs_diff(&naive_conv2d(&x, &wt, &zero, opts, groups)) < 1e-12,
            "conv2d without bias {opts:?}, {groups} groups, differs from the direct loop"
        );
        check(
            "conv2d",
            move |_, v| v[0].conv2d_groups(v[1], Some(v[2]), opts, groups),
            &[x.clone(), wt.clone(), b],
        );
        check(
            "conv2d (no bias)",
            move |_, v| v[0].conv2d_groups(v[1], None, opts, groups),
            &[x.clone(), wt],
        );
        // Pooling: distinct values so each window's maximum is unique.
        let px = spread(&mut r, &[n, c, h + 2, w + 2]);
        let k = (r.random_range(1..4), r.random_range(1..4));
        let popts =
            Window2d::default()
                .stride(r.random_range(1..3))
                .padding(if k.0 >= 2 && k.1 >= 2 {
                    r.random_range(0..2)
                } else {
                    0
                });
        check(
            "max_pool2d",
            move |_, v| v[0].max_pool2d(k, popts),
            &[px.clone()],
        );
        check("avg_pool2d", move |_, v| v[0].avg_pool2d(k, popts), &[px]);
    }
}

#[test]
fn f32_products_agree_with_f64_on_every_path() {
    // The training examples run f32 through gemm's f32 kernels (threaded for
    // large products); the gradient checks above run f64. Both must agree.
    let mut r = rng(9);
    for &(m, k, n) in &[(3, 5, 2), (32, 64, 128), (256, 130, 70), (1, 300, 1)] {
        for (ta, tb) in [(false, false), (false, true)] {
            let a = uniform(&mut r, &[m, k], -1.0, 1.0);
            let b = if tb {
                uniform(&mut r, &[n, k], -1.0, 1.0)
            } else {
                uniform(&mut r, &[k, n], -1.0, 1.0)
            };
            let want = if tb {
                a.matmul_transposed(&b)
            } else {
                a.matmul(&b)
            };
            let (a32, b32) = (a.cast::<f32>(), b.cast::<f32>());
            let got = if tb {
                a32.matmul_transposed(&b32)
            } else {
                a32.matmul(&b32)
            }
            .cast::<f64>();
            let err = got.max_abs_diff(&want);
            assert!(
                err < 1e-5 * (k as f64).sqrt(),
                "[{m}, {k}] x [{k}, {n}] ta={ta} tb={tb}: {err}"
            );
        }
        // Gradients through the recorded product, f32 against f64.
        let a = uniform(&mut r, &[m, k], -1.0, 1.0);
        let b = uniform(&mut r, &[n, k], -1.0, 1.0);
        let w = uniform(&mut r, &[m, n], -1.0, 1.0);
        let grads = |a: Tensor<f64>, b: Tensor<f64>, w: Tensor<f64>| {
            let tape = autograd_core::TensorTape::<f64>::new();
            let (av, bv) = (tape.leaf(a), tape.leaf(b));
            let l = av.matmul_transposed(bv).mul(tape.constant(w)).sum();
            tape.grad(l, &[av, bv])
        };
        let grads32 = |a: Tensor<f32>, b: Tensor<f32>, w: Tensor<f32>| {
            let tape = autograd_core::TensorTape::<f32>::new();
            let (av, bv) = (tape.leaf(a), tape.leaf(b));
            let l = av.matmul_transposed(bv).mul(tape.constant(w)).sum();
            tape.grad(l, &[av, bv])
        };
        let g64 = grads(a.clone(), b.clone(), w.clone());
        let g32 = grads32(a.cast(), b.cast(), w.cast());
        for (x, y) in g64.iter().zip(&g32) {
            assert!(
                x.max_abs_diff(&y.cast()) < 1e-4,
                "gradients of [{m}, {k}] x [{n}, {k}]^T"
            );
        }
    }
}
