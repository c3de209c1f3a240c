//! Values of the elementwise primitives against references computed in
//! float64 with Python's `math` module (the formulas PyTorch documents), in
//! both element types, and their errors.

use autograd_core::tensor::Gelu;
use autograd_core::{Tensor, TensorTape};

#[track_caller]
fn close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
}

#[test]
fn new_primitives_match_reference_values_in_f64_and_f32() {
    let x = Tensor::from_vec(vec![-1.0_f64, 0.5, 3.0], &[3]);
    let exact = [-0.15865525393145707, 0.34573123063700656, 2.99595030590511];
    let tanh = [-0.15880800939172324, 0.34571400982514394, 2.996362607918227];
    close(&x.gelu(Gelu::Exact).to_vec(), &exact, 1e-15);
    close(&x.gelu(Gelu::Tanh).to_vec(), &tanh, 1e-15);
    let x32 = x.cast::<f32>();
    let as64 = |t: Tensor<f32>| t.to_vec().into_iter().map(f64::from).collect::<Vec<_>>();
    close(&as64(x32.gelu(Gelu::Exact)), &exact, 1e-6);
    close(&as64(x32.gelu(Gelu::Tanh)), &tanh, 1e-6);

    let one = |v: f64| Tensor::from_vec(vec![v], &[1]);
    close(&one(0.5).erf().to_vec(), &[0.5204998778130465], 1e-16);
    // Accurate where ln(1 + x) and e^x - 1 would lose every digit.
    assert_eq!(one(1e-10).log1p().item(), 9.999999999500001e-11);
    assert_eq!(one(1e-10).expm1().item(), 1.00000000005e-10);
    close(
        &one(0.3).softplus(2.0).to_vec(),
        &[0.5187439752429428],
        1e-15,
    );
    // No overflow either way, exact where softplus is linear or vanishes.
    let wide = Tensor::from_vec(vec![-800.0_f64, 800.0], &[2]);
    assert_eq!(wide.softplus(1.0).to_vec(), vec![0.0, 800.0]);
    assert_eq!(wide.cast::<f32>().softplus(1.0).to_vec(), vec![0.0, 800.0]);
    assert_eq!(one(-1.0).atan2(&one(-1.0)).item(), -2.356194490192345);
    // Integer powers by multiplication: exact.
    assert_eq!(one(3.0).powf(3.0).item(), 27.0);
    assert_eq!(one(4.0).powf(-1.0).item(), 0.25);
}

#[test]
fn one_node_each_and_gradients_through_the_tape() {
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::from_vec(vec![-1.0_f64, 0.5, 3.0], &[3]));
    let y = x.gelu(Gelu::Tanh);
    assert_eq!(
        tape.len(),
        2,
        "GELU records one node, not the formula's eight"
    );
    let g = y.sum().backward()[x].to_vec();
    // Central differences of the reference formula.
    let f = |v: f64| {
        0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v * v * v)).tanh())
    };
    let h = 1e-6;
    let fd: Vec<f64> = [-1.0, 0.5, 3.0]
        .iter()
        .map(|&v| (f(v + h) - f(v - h)) / (2.0 * h))
        .collect();
    close(&g, &fd, 1e-8);
}

#[test]
fn bad_arguments_are_named() {
    let t = Tensor::from_vec(vec![1.0_f64, 2.0], &[2]);
    let e = std::panic::catch_unwind(|| t.softplus(0.0)).unwrap_err();
    let msg = e.downcast_ref::<String>().unwrap();
    assert_eq!(msg, "softplus: beta must be positive and finite, got 0");
    let tape = TensorTape::new();
    let (a, b) = (tape.leaf(t.clone()), tape.leaf(Tensor::<f64>::zeros(&[3])));
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.atan2(b))).unwrap_err();
    let msg = e.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("atan2: shapes [2] and [3] do not broadcast"),
        "{msg}"
    );
    assert_eq!(tape.len(), 2, "nothing recorded by the refused op");
    // NaN flows through like any other value.
    let nan = Tensor::from_vec(vec![f64::NAN], &[1]);
    assert!(nan.gelu(Gelu::Exact).item().is_nan());
    assert!(nan.erf().item().is_nan());
}

/// The fused layer_norm against the same formula written with nine tensor
/// operations: values, gradients, and second derivatives (grad_graph on
/// both), and a replay with new inputs.
#[test]
fn layer_norm_equals_its_formula_to_second_order() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let x0 = Tensor::<f64>::rand_normal(&[3, 2, 5], 0.0, 2.0, &mut rng);
    let w0 = Tensor::<f64>::rand_uniform(&[2, 5], 0.5, 1.5, &mut rng);
    let b0 = Tensor::<f64>::rand_uniform(&[2, 5], -1.0, 1.0, &mut rng);
    let v0 = Tensor::<f64>::rand_normal(&[3, 2, 5], 0.0, 1.0, &mut rng);
    let run = |fused: bool| {
        let tape = TensorTape::new();
        let (x, w, b) = (
            tape.leaf(x0.clone()),
            tape.leaf(w0.clone()),
            tape.leaf(b0.clone()),
        );
        let y = if fused {
            x.layer_norm(&[2, 5], Some(w), Some(b), 1e-5)
        } else {
            let mean = x.mean_axes(&[-2, -1], true);
            let c = x - mean;
            let var = c.square().mean_axes(&[-2, -1], true);
            c / (var + 1e-5).sqrt() * w + b
        };
        // A loss that is not linear in y, so second derivatives matter.
        let loss = (y * y.sin()).sum();
        let [gx, gw] = tape.grad_graph(loss, &[x, w]).try_into().unwrap();
        let v = tape.constant(v0.clone());
        let [hx] = tape
            .grad((gx * v).sum() + gw.sum(), &[x])
            .try_into()
            .unwrap();
        (y.value(), gx.value(), hx)
    };
    let (a, b) = (run(true), run(false));
    assert!(a.0.max_abs_diff(&b.0) < 1e-12, "values");
    assert!(a.1.max_abs_diff(&b.1) < 1e-12, "gradients");
    assert!(
        a.2.max_abs_diff(&b.2) < 1e-10,
        "second derivatives: {}",
        a.2.max_abs_diff(&b.2)
    );

    // Replay recomputes the fused node (and a cumsum) for new inputs.
    let tape = TensorTape::new();
    let x = tape.leaf(x0.clone());
    let y = x.layer_norm(&[5], None, None, 1e-5).cumsum(1).sum();
    let _ = y.backward();
    let x1 = x0.scale(3.0).add_scalar(1.0);
    tape.replay(&[(x, x1.clone())]).unwrap();
    let fresh = TensorTape::new();
    let xf = fresh.leaf(x1);
    let yf = xf.layer_norm(&[5], None, None, 1e-5).cumsum(1).sum();
    assert_eq!(y.item(), yf.item());
    assert_eq!(y.backward()[x], yf.backward()[xf]);
}

/// A window from its (height, width) stride, padding and dilation.
fn window(
    stride: (usize, usize),
    padding: (usize, usize),
    dilation: (usize, usize),
) -> autograd_core::Window2d {
    autograd_core::Window2d {
        stride,
        padding,
        dilation,
    }
}

/// Output rows of a window over `h` input rows with a kernel `k` rows tall.
fn out_rows(h: usize, k: usize, o: autograd_core::Window2d) -> usize {
    (h + 2 * o.padding.0 - o.dilation.0 * (k - 1) - 1) / o.stride.0 + 1
}

/// A fused primitive against its formula in separate operations: `f` builds
/// the output from leaves made of `inputs` (`fused` says which way), and the
/// two are compared on the value, every input's gradient of `sum(y sin y)`
/// through the sweep's kernel and through the general rule (anomaly mode
/// sends the sweep there) and as recorded by `grad_graph`, and the
/// derivative of the first input's recorded gradient along a fixed
/// direction (second order). NaNs must stand in the same places.
fn fused_matches_formula<F>(what: &str, inputs: &[Tensor<f64>], f: F)
where
    F: for<'t> Fn(&[autograd_core::TensorVar<'t, f64>], bool) -> autograd_core::TensorVar<'t, f64>,
{
    use rand::SeedableRng;
    let dir = Tensor::<f64>::rand_normal(
        inputs[0].shape(),
        0.0,
        1.0,
        &mut rand::rngs::StdRng::seed_from_u64(99),
    );
    let run = |fused: bool, anomaly: bool| {
        let tape = TensorTape::new();
        tape.set_anomaly_detection(anomaly);
        let x: Vec<_> = inputs.iter().map(|t| tape.leaf(t.clone())).collect();
        let y = f(&x, fused);
        let loss = (y * y.sin()).sum();
        let mut out = vec![y.value()];
        out.extend(tape.grad(loss, &x));
        let rec = tape.grad_graph(loss, &x);
        out.extend(rec.iter().map(|g| g.value()));
        out.push(
            tape.grad((rec[0] * tape.constant(dir.clone())).sum(), &x[..1])
                .remove(0),
        );
        out
    };
    let want = run(false, false);
    for anomaly in [false, true] {
        for (i, (got, want)) in run(true, anomaly).iter().zip(&want).enumerate() {
            let w = want.to_vec();
            assert!(
                w.iter().any(|v| v.is_finite()),
                "{what}: output {i} is all NaN, which compares nothing"
            );
            let scale = w
                .iter()
                .filter(|v| v.is_finite())
                .fold(1.0_f64, |m, v| m.max(v.abs()));
            let tol = 1e-11 * scale;
            for (g, w) in got.to_vec().iter().zip(w) {
                assert!(
                    (g.is_nan() && w.is_nan()) || (g - w).abs() <= tol,
                    "{what}: output {i} (0 value, then gradients, recorded gradients, second order) differs: {g} vs {w}"
                );
            }
        }
    }
}

/// The fused self-attention, with and without a key padding mask, causal
/// or not, against the same computation in separate tensor operations
/// (split heads, scores, an additive `-inf` mask `[B, 1, T, T]`, softmax,
/// merge), to second order; replay; and a query left with no key is NaN.
#[test]
fn self_attention_equals_its_formula_to_second_order() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    let (b, t, h, d) = (3, 5, 3, 4);
    let e = h * d;
    let x0 = Tensor::<f64>::rand_normal(&[b, t, 3 * e], 0.0, 1.0, &mut rng);
    // Row 0 pads its last two keys, row 1 none, row 2 two in the middle.
    let pad = [
        [false, false, false, true, true],
        [false; 5],
        [false, true, true, false, true],
    ];
    let mask = Tensor::from_vec(pad.concat(), &[b, t]);
    for padded in [false, true] {
        for causal in [true, false] {
            fused_matches_formula("self_attention", std::slice::from_ref(&x0), |x, fused| {
                let x = x[0];
                if fused {
                    return if padded {
                        x.self_attention_padded(h, causal, &mask)
                    } else {
                        x.self_attention(h, causal)
                    };
                }
                let parts = x.chunk(3, 2);
                let [q, k, v] =
                    [0, 1, 2].map(|i| parts[i].reshape(&[b, t, h, d]).permute(&[0, 2, 1, 3]));
                let s = q.matmul_transposed(k).scale(1.0 / (d as f64).sqrt());
                let bias: Vec<f64> = (0..b * t * t)
                    .map(|n| {
                        let (bn, i, j) = (n / (t * t), n / t % t, n % t);
                        if (padded && pad[bn][j]) || (causal && j > i) {
                            f64::NEG_INFINITY
                        } else {
                            0.0
                        }
                    })
                    .collect();
                (s + x.tape().constant(Tensor::from_vec(bias, &[b, 1, t, t])))
                    .softmax(-1)
                    .matmul(v)
                    .permute(&[0, 2, 1, 3])
                    .reshape(&[b, t, e])
            });
        }
    }
    // A query left with no key (row 2's first, causal, its first key
    // padded) is NaN, as in PyTorch; the other rows are not touched.
    let mut flags = pad.concat();
    flags[2 * t] = true;
    let y = x0.self_attention_padded(h, true, &Tensor::from_vec(flags, &[b, t]));
    let first = y.narrow(0, 2, 1).narrow(1, 0, 1).to_vec();
    assert!(first.iter().all(|v| v.is_nan()), "{first:?}");
    assert!(y.narrow(0, 0, 2).to_vec().iter().all(|v| v.is_finite()));
    let v0 = Tensor::<f64>::rand_normal(&[b, t, 3 * e], 0.0, 1.0, &mut rng);
    // Replay recomputes the node for a new input.
    let tape = TensorTape::new();
    let x = tape.leaf(x0.clone());
    let y = x.self_attention(h, true).square().sum();
    let _ = y.backward();
    tape.replay(&[(x, v0.clone())]).unwrap();
    let fresh = TensorTape::new();
    let xf = fresh.leaf(v0.clone());
    let yf = xf.self_attention(h, true).square().sum();
    assert_eq!(y.item(), yf.item());
    assert_eq!(y.backward()[x], yf.backward()[xf]);
}

/// The convolution primitive against the same computation in separate
/// operations (unfold, a batched product, a bias broadcast): values,
/// gradients through the sweep's kernel and through the general rule
/// (anomaly mode), second derivatives and replay; grouped and not, with
/// stride, padding and dilation, and a batch long enough that the weight
/// gradient is summed in several runs.
#[test]
fn conv2d_equals_unfold_and_product_to_second_order() {
    use autograd_core::Window2d;
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    // (batch, channels, outputs, image, kernel, window, groups)
    #[rustfmt::skip]
    let cases = [
        (2, 4, 6, (7, 5), (3, 3), window((1, 1), (1, 1), (1, 1)), 1),
        (3, 4, 6, (8, 9), (2, 3), window((2, 2), (0, 0), (1, 1)), 2),
        (2, 3, 3, (6, 6), (3, 2), window((1, 2), (2, 0), (2, 1)), 3),
        // Long enough that the weight gradient is summed in several runs.
        (40, 8, 16, (10, 10), (3, 3), window((1, 1), (1, 1), (1, 1)), 1),
        // Stride 1 and outputs as wide as inputs: rows unfold as one run.
        (2, 2, 4, (6, 7), (3, 3), window((1, 1), (2, 2), (2, 2)), 2),
        (1, 2, 2, (3, 1), (5, 5), window((1, 1), (2, 2), (1, 1)), 1),
        (2, 3, 2, (4, 5), (1, 3), window((1, 1), (0, 1), (1, 1)), 1),
    ];
    for (n, c, o, (h, w), k, opts, groups) in cases {
        let x0 = Tensor::<f64>::rand_normal(&[n, c, h, w], 0.0, 1.0, &mut rng);
        let w0 = Tensor::<f64>::rand_normal(&[o, c / groups, k.0, k.1], 0.0, 1.0, &mut rng);
        let b0 = Tensor::<f64>::rand_normal(&[o], 0.0, 1.0, &mut rng);
        fused_matches_formula("conv2d", &[x0, w0, b0], |v, fused| {
            let (x, wt, b) = (v[0], v[1], v[2]);
            if fused {
                return x.conv2d_groups(wt, Some(b), opts, groups);
            }
            // Group q of the unfolded rows times group q of the weights.
            let cols = x.unfold2d(k, opts, 0.0);
            let l = cols.shape()[2];
            let (ck, og) = (c / groups * k.0 * k.1, o / groups);
            let y = wt
                .reshape(&[groups, og, ck])
                .matmul(cols.reshape(&[n, groups, ck, l]))
                .reshape(&[n, o, l]);
            let oh = out_rows(h, k.0, opts);
            (y + b.reshape(&[o, 1])).reshape(&[n, o, oh, l / oh])
        });
    }
    // Replay recomputes the node for a new input.
    let (x0, x1) = (
        Tensor::<f64>::rand_normal(&[2, 3, 5, 5], 0.0, 1.0, &mut rng),
        Tensor::<f64>::rand_normal(&[2, 3, 5, 5], 0.0, 1.0, &mut rng),
    );
    let w0 = Tensor::<f64>::rand_normal(&[4, 3, 3, 3], 0.0, 1.0, &mut rng);
    let opts = Window2d::default().padding(1);
    let tape = TensorTape::new();
    let (x, w) = (tape.leaf(x0), tape.leaf(w0.clone()));
    let y = x.conv2d(w, None, opts).square().sum();
    let _ = y.backward();
    tape.replay(&[(x, x1.clone())]).unwrap();
    let fresh = TensorTape::new();
    let (xf, wf) = (fresh.leaf(x1), fresh.leaf(w0));
    let yf = xf.conv2d(wf, None, opts).square().sum();
    assert_eq!(y.item(), yf.item());
    let (g, gf) = (y.backward(), yf.backward());
    assert_eq!((&g[x], &g[w]), (&gf[xf], &gf[wf]));
}

/// The pooling primitives against unfold and a reduction over each window
/// (max: -∞ padding and `max_axes`; average: zero padding and
/// `mean_axes`): values, gradients through the sweep's kernel and the
/// general rule, second derivatives through the next layer, with
/// overlapping windows, padding, dilation and (max) ties, split evenly
/// either way.
#[test]
fn pooling_equals_unfold_and_reduce() {
    use autograd_core::Window2d;
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    #[rustfmt::skip]
    let cases = [
        ((3, 4, 8, 8), (2, 2), window((2, 2), (0, 0), (1, 1))),
        ((2, 3, 7, 9), (3, 3), window((1, 2), (1, 1), (1, 1))),
        ((2, 2, 9, 8), (3, 2), window((2, 1), (1, 1), (2, 2))),
    ];
    for max in [true, false] {
        for ((n, c, h, w), k, opts) in cases {
            // Integers: many ties inside windows.
            let x0 = Tensor::<f64>::rand_uniform(&[n, c, h, w], 0.0, 4.0, &mut rng).map(f64::floor);
            let what = if max { "max_pool2d" } else { "avg_pool2d" };
            fused_matches_formula(what, &[x0], |x, fused| {
                // Through a smooth function, so second derivatives are not 0.
                let xs = x[0] * x[0].sin();
                match (fused, max) {
                    (true, true) => return xs.max_pool2d(k, opts),
                    (true, false) => return xs.avg_pool2d(k, opts),
                    (false, _) => {}
                }
                let pad = if max { f64::NEG_INFINITY } else { 0.0 };
                let cols = xs.unfold2d(k, opts, pad);
                let l = cols.shape()[2];
                let cols = cols.reshape(&[n, c, k.0 * k.1, l]);
                let m = if max {
                    cols.max_axes(&[2], false)
                } else {
                    cols.mean_axes(&[2], false)
                };
                let oh = out_rows(h, k.0, opts);
                m.reshape(&[n, c, oh, l / oh])
            });
        }
    }
    // NaN wins, as in max_axes, and its gradient is NaN.
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::from_vec(
        vec![1.0, f64::NAN, 3.0, 2.0],
        &[1, 1, 2, 2],
    ));
    let y = x.max_pool2d((2, 2), Window2d::default());
    assert!(y.value().item().is_nan());
    assert!(y.sum().backward()[x].to_vec().iter().all(|v| v.is_nan()));
    // The same through the side-by-side windows' loops (stride = kernel),
    // with a window beside it that has no NaN.
    for k in [(2, 2), (2, 3)] {
        let n = 2 * k.0 * k.1;
        let mut v: Vec<f64> = (0..n).map(|i| i as f64).collect();
        v[1] = f64::NAN;
        let x = tape.leaf(Tensor::from_vec(v, &[1, 1, k.0, 2 * k.1]));
        let y = x.max_pool2d(k, window(k, (0, 0), (1, 1)));
        let g = y.sum().backward()[x].to_vec();
        let nan: Vec<bool> = g.iter().map(|v| v.is_nan()).collect();
        let want: Vec<bool> = (0..n).map(|i| i % (2 * k.1) < k.1).collect();
        assert_eq!(nan, want, "kernel {k:?}: {g:?}");
        assert_eq!(g[n - 1], 1.0, "kernel {k:?}: the other window's maximum");
    }
}

#[test]
fn conv2d_refuses_bad_shapes_by_name() {
    use autograd_core::Window2d;
    let msg = |f: &dyn Fn()| {
        let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
        e.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    let x = Tensor::<f64>::zeros(&[2, 4, 5, 5]);
    let o = Window2d::default();
    assert_eq!(
        msg(&|| {
            x.conv2d(&Tensor::zeros(&[3, 3, 3, 3]), None, o);
        }),
        "conv2d: input [2, 4, 5, 5] has 4 channels but weight [3, 3, 3, 3] expects 3"
    );
    assert_eq!(
        msg(&|| {
            x.conv2d_groups(&Tensor::zeros(&[4, 1, 3, 3]), None, o, 2);
        }),
        "conv2d: input [2, 4, 5, 5] has 4 channels but weight [4, 1, 3, 3] in 2 groups expects 2"
    );
    assert_eq!(
        msg(&|| {
            x.conv2d_groups(&Tensor::zeros(&[3, 2, 3, 3]), None, o, 2);
        }),
        "conv2d: 2 groups do not divide the 3 output channels of weight [3, 2, 3, 3]"
    );
    assert_eq!(
        msg(&|| {
            x.conv2d_groups(&Tensor::zeros(&[4, 4, 3, 3]), None, o, 0);
        }),
        "conv2d: groups must be positive, got 0"
    );
    assert_eq!(
        msg(&|| {
            x.conv2d(&Tensor::zeros(&[3, 4, 3, 3]), Some(&Tensor::zeros(&[4])), o);
        }),
        "conv2d: bias must have shape [3], got [4]"
    );
    assert_eq!(
        msg(&|| {
            x.conv2d(&Tensor::zeros(&[3, 4, 7, 3]), None, o);
        }),
        "conv2d: input [2, 4, 5, 5] with kernel 7x3, padding 0x0, dilation 1x1 has no output positions"
    );
    // An empty batch gives an empty output and a zero weight gradient.
    let tape = TensorTape::new();
    let xe = tape.leaf(Tensor::<f64>::zeros(&[0, 4, 5, 5]));
    let w = tape.leaf(Tensor::<f64>::ones(&[3, 4, 3, 3]));
    let y = xe.conv2d(w, None, o);
    assert_eq!(y.shape().as_slice(), &[0, 3, 3, 3]);
    let g = y.sum().backward();
    assert_eq!(g[w].to_vec(), vec![0.0; 108]);
}

#[test]
fn self_attention_refuses_bad_shapes_by_name() {
    let msg = |f: &dyn Fn()| {
        let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
        e.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    assert_eq!(
        msg(&|| {
            Tensor::<f64>::zeros(&[2, 3, 7]).self_attention(1, true);
        }),
        "self_attention: expects a packed q/k/v projection [B, T, 3E], got shape [2, 3, 7]"
    );
    assert_eq!(
        msg(&|| {
            Tensor::<f64>::zeros(&[2, 3, 12]).self_attention(3, true);
        }),
        "self_attention: 3 heads do not divide the width 4 of input [2, 3, 12]"
    );
    assert_eq!(
        msg(&|| {
            let pad = Tensor::from_vec(vec![false; 3], &[1, 3]);
            Tensor::<f64>::zeros(&[2, 3, 12]).self_attention_padded(1, true, &pad);
        }),
        "self_attention: the key padding mask must be [B, T] = [2, 3], got shape [1, 3]"
    );
    assert_eq!(
        msg(&|| {
            Tensor::<f64>::zeros(&[4, 12]).self_attention(1, false);
        }),
        "self_attention: expects a packed q/k/v projection [B, T, 3E], got shape [4, 12]"
    );
    // No positions: an empty result, and an empty gradient.
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::<f64>::zeros(&[2, 0, 6]));
    let y = x.self_attention(2, true);
    assert_eq!(y.shape().as_slice(), &[2, 0, 2]);
    assert_eq!(y.sum().backward()[x].shape(), &[2, 0, 6]);
}

#[test]
fn layer_norm_and_cumsum_refuse_bad_shapes_by_name() {
    let x = Tensor::<f64>::zeros(&[2, 3]);
    let msg = |f: &dyn Fn()| {
        let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
        e.downcast_ref::<String>().cloned().unwrap()
    };
    assert_eq!(
        msg(&|| {
            x.layer_norm(&[2], None, None, 1e-5);
        }),
        "layer_norm: normalized_shape [2] must be the input's trailing shape; input has shape [2, 3]"
    );
    let w = Tensor::<f64>::ones(&[4]);
    assert_eq!(
        msg(&|| {
            x.layer_norm(&[3], Some(&w), None, 1e-5);
        }),
        "layer_norm: weight has shape [4] but normalized_shape is [3]"
    );
    assert_eq!(
        msg(&|| {
            x.layer_norm(&[3], None, None, f64::NAN);
        }),
        "layer_norm: eps must be finite and not negative, got NaN"
    );
    assert!(
        msg(&|| {
            x.cumsum(2);
        })
        .starts_with("cumsum: axis 2")
    );
    // Empty leading axes are fine; an empty normalised shape is not.
    assert_eq!(
        Tensor::<f64>::zeros(&[0, 3])
            .layer_norm(&[3], None, None, 1e-5)
            .shape(),
        &[0, 3]
    );
    assert_eq!(
        msg(&|| {
            Tensor::<f64>::zeros(&[3, 0]).layer_norm(&[0], None, None, 1e-5);
        }),
        "layer_norm: normalized_shape [0] is empty"
    );
}

#[test]
fn embedding_refuses_ids_that_are_not_rows() {
    let table = Tensor::<f64>::zeros(&[3, 2]);
    for (id, want) in [
        (
            3.0,
            "embedding: id 3 is not a whole number in 0..3 (the table has 3 rows)",
        ),
        (
            -1.0,
            "embedding: id -1 is not a whole number in 0..3 (the table has 3 rows)",
        ),
        (
            0.5,
            "embedding: id 0.5 is not a whole number in 0..3 (the table has 3 rows)",
        ),
        (
            f64::NAN,
            "embedding: id NaN is not a whole number in 0..3 (the table has 3 rows)",
        ),
    ] {
        let ids = Tensor::from_vec(vec![0.0, id], &[2]);
        let e = std::panic::catch_unwind(|| table.embedding(&ids)).unwrap_err();
        assert_eq!(e.downcast_ref::<String>().unwrap(), want);
    }
    // No ids: an empty lookup of the right shape.
    let none = Tensor::<f64>::zeros(&[0]);
    assert_eq!(table.embedding(&none).shape(), &[0, 2]);
}

/// The fused cross-entropy against log_softmax + gather written out, on
/// [batch, time, classes] logits: values, gradients and second derivatives;
/// ignored rows; and replay with new targets.
#[test]
fn cross_entropy_equals_its_formula_and_replays_new_targets() {
    use autograd_core::{CrossEntropy, Reduction};
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    let x0 = Tensor::<f64>::rand_normal(&[2, 3, 4], 0.0, 2.0, &mut rng);
    let t0 = Tensor::from_vec(vec![1.0, 3.0, 0.0, 2.0, 2.0, 1.0], &[2, 3]);
    let v0 = Tensor::<f64>::rand_normal(&[2, 3, 4], 0.0, 1.0, &mut rng);
    let eps = 0.1;
    let run = |fused: bool| {
        let tape = TensorTape::new();
        let x = tape.leaf(x0.clone());
        let loss = if fused {
            let t = tape.constant(t0.clone());
            x.cross_entropy(t, CrossEntropy::new().label_smoothing(eps))
        } else {
            let idx = t0.map(|v| v as usize).reshape(&[2, 3, 1]);
            let logp = x.log_softmax(-1);
            let nll = -logp.gather(2, &idx);
            let uniform = -logp.mean_axes(&[-1], true);
            (nll * (1.0 - eps) + uniform * eps).mean()
        };
        let [g] = tape.grad_graph(loss, &[x]).try_into().unwrap();
        let [h] = tape
            .grad((g * tape.constant(v0.clone())).sum(), &[x])
            .try_into()
            .unwrap();
        (loss.item(), g.value(), h)
    };
    let (a, b) = (run(true), run(false));
    assert!((a.0 - b.0).abs() < 1e-14);
    assert!(a.1.max_abs_diff(&b.1) < 1e-14);
    assert!(a.2.max_abs_diff(&b.2) < 1e-12, "{}", a.2.max_abs_diff(&b.2));

    // Ignored rows: the mean is over the others, and they get no gradient.
    let tape = TensorTape::new();
    let x = tape.leaf(x0.clone());
    let t = tape.constant(t0.clone());
    let opts = CrossEntropy::new().ignore_index(2);
    let loss = x.cross_entropy(t, opts);
    let rows = x.cross_entropy(t, opts.reduction(Reduction::None)).value();
    let kept: Vec<f64> = rows.to_vec().into_iter().filter(|&l| l != 0.0).collect();
    assert_eq!(kept.len(), 4);
    assert!((loss.item() - kept.iter().sum::<f64>() / 4.0).abs() < 1e-15);
    let g = loss.backward()[x].clone();
    assert_eq!(g.to_vec()[12..16], [0.0; 4], "row (1, 0) has target 2");

    // Replay with new targets gives what a fresh recording gives.
    let t1 = Tensor::from_vec(vec![0.0, 0.0, 1.0, 3.0, 2.0, 0.0], &[2, 3]);
    tape.replay(&[(t, t1.clone())]).unwrap();
    let fresh = TensorTape::new();
    let xf = fresh.leaf(x0.clone());
    let lf = xf.cross_entropy(fresh.constant(t1), opts);
    assert_eq!(loss.item(), lf.item());
    assert_eq!(loss.backward()[x], lf.backward()[xf]);
}

#[test]
fn cross_entropy_refuses_bad_targets_by_name() {
    use autograd_core::CrossEntropy;
    let tape = TensorTape::<f64>::new();
    let x = tape.leaf(Tensor::zeros(&[2, 3]));
    let msg = |f: &dyn Fn()| {
        let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
        e.downcast_ref::<String>().cloned().unwrap()
    };
    let t = tape.constant(Tensor::from_vec(vec![0.0, 3.0], &[2]));
    assert_eq!(
        msg(&|| {
            x.cross_entropy(t, CrossEntropy::new());
        }),
        "cross_entropy: target 3 is not a class in 0..3 (nor the ignored id)"
    );
    let t = tape.constant(Tensor::from_vec(vec![0.0, 1.0, 2.0], &[3]));
    assert_eq!(
        msg(&|| {
            x.cross_entropy(t, CrossEntropy::new());
        }),
        "cross_entropy: targets have shape [3] but logits [2, 3] need [2]"
    );
    let t = tape.constant(Tensor::from_vec(vec![0.0, 1.0], &[2]));
    assert_eq!(
        msg(&|| {
            x.cross_entropy(t, CrossEntropy::new().label_smoothing(1.5));
        }),
        "cross_entropy: label_smoothing must be in [0, 1], got 1.5"
    );
}

/// conv2d (im2col by rows of windows, then a product) against the
/// definition written as loops, over random strides, paddings and
/// dilations.
#[test]
fn conv2d_equals_the_direct_sum() {
    use autograd_core::Window2d;
    use rand::{Rng, SeedableRng};
    let mut r = rand::rngs::StdRng::seed_from_u64(21);
    for trial in 0..60 {
        let (n, c, o) = (
            r.random_range(1..3),
            r.random_range(1..3),
            r.random_range(1..3),
        );
        let (kh, mut kw) = (r.random_range(1..4), r.random_range(1..4));
        let (mut sh, mut sw) = (r.random_range(1..3), r.random_range(1..4));
        let (ph, mut pw) = (r.random_range(0..3), r.random_range(0..3));
        let (dh, dw) = (r.random_range(1..3), r.random_range(1..3));
        if trial % 3 == 0 {
            // Stride 1, "same" width: the kernels' one-run-per-row path.
            (sh, sw) = (1, 1);
            kw = 2 * r.random_range(0..3) + 1;
            pw = dw * (kw - 1) / 2;
        }
        let h = dh * (kh - 1) + 1 + r.random_range(0..5);
        let w = dw * (kw - 1) + 1 + r.random_range(0..5);
        let x = Tensor::<f64>::rand_normal(&[n, c, h, w], 0.0, 1.0, &mut r);
        let k = Tensor::<f64>::rand_normal(&[o, c, kh, kw], 0.0, 1.0, &mut r);
        let opts = Window2d {
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        };
        let y = x.conv2d(&k, None, opts);
        let (oh, ow) = (y.shape()[2], y.shape()[3]);
        assert_eq!(oh, (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1);
        assert_eq!(ow, (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1);
        for (b, f, i, j) in (0..n).flat_map(|b| {
            (0..o).flat_map(move |f| (0..oh).flat_map(move |i| (0..ow).map(move |j| (b, f, i, j))))
        }) {
            let mut want = 0.0;
            for ch in 0..c {
                for a in 0..kh {
                    for e in 0..kw {
                        let ii = (i * sh + a * dh) as isize - ph as isize;
                        let jj = (j * sw + e * dw) as isize - pw as isize;
                        if (0..h as isize).contains(&ii) && (0..w as isize).contains(&jj) {
                            want +=
                                x.get(&[b, ch, ii as usize, jj as usize]) * k.get(&[f, ch, a, e]);
                        }
                    }
                }
            }
            assert!((y.get(&[b, f, i, j]) - want).abs() < 1e-12);
        }
    }
}

/// The fused linear layer against its two-op formula (product, then the
/// bias added): values and gradients to rounding (the kernel adds the
/// product's blocks to the bias), on a batch large enough to split between
/// threads; and a replay with a new input gives the new product.
#[test]
fn linear_equals_product_plus_bias_and_replays() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(29);
    let x0 = Tensor::<f32>::rand_normal(&[4, 64, 300], 0.0, 1.0, &mut rng);
    let w0 = Tensor::<f32>::rand_normal(&[200, 300], 0.0, 0.1, &mut rng);
    let b0 = Tensor::<f32>::rand_normal(&[200], 0.0, 1.0, &mut rng);
    let run = |fused: bool| {
        let tape = TensorTape::new();
        let (x, w, b) = (
            tape.leaf(x0.clone()),
            tape.leaf(w0.clone()),
            tape.leaf(b0.clone()),
        );
        let y = if fused {
            x.linear(w, Some(b))
        } else {
            x.matmul_transposed(w) + b
        };
        let g = (y * y).sum().backward();
        (y.value(), g[x].clone(), g[w].clone(), g[b].clone())
    };
    let (a, b) = (run(true), run(false));
    let close = |p: &Tensor<f32>, q: &Tensor<f32>, what: &str| {
        let scale = q.data().iter().fold(1.0_f32, |m, v| m.max(v.abs())) as f64;
        let d = p.max_abs_diff(q);
        assert!(d <= 1e-5 * scale, "{what}: {d} apart (scale {scale})");
    };
    close(&a.0, &b.0, "values");
    close(&a.1, &b.1, "x's gradient");
    close(&a.2, &b.2, "weight's gradient");
    close(&a.3, &b.3, "bias's gradient");

    let tape = TensorTape::new();
    let (x, w, b) = (
        tape.leaf(x0.clone()),
        tape.leaf(w0.clone()),
        tape.leaf(b0.clone()),
    );
    let y = x.linear(w, Some(b));
    let x1 = Tensor::<f32>::rand_normal(&[4, 64, 300], 0.0, 1.0, &mut rng);
    tape.replay(&[(x, x1.clone())]).unwrap();
    assert_eq!(y.value().to_vec(), x1.linear(&w0, Some(&b0)).to_vec());
}
