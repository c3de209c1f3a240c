//! Each layer's parameter gradients (from the tape, through Module and
//! Parameter) against finite differences of its output, and each loss
//! against finite differences of its inputs.

use autograd_core::{Tensor, TensorTape, tensor_gradcheck};
use autograd_nn::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Checks `d/dθ sum(forward(x) * w)` for every parameter θ of `module`, w a
/// fixed random weighting, against central differences.
fn check_module(name: &str, module: &mut dyn Layer<f64>, x: &Tensor<f64>) {
    let mut rng = StdRng::seed_from_u64(99);
    let loss_at = |m: &dyn Layer<f64>, w: Option<&Tensor<f64>>| {
        let tape = TensorTape::new();
        let y = m.forward(tape.constant(x.clone()));
        let w = w.cloned().unwrap_or_else(|| Tensor::ones(&y.shape()));
        let loss = y.mul(tape.constant(w)).sum();
        (loss.item(), m.gradients(&loss.backward()))
    };
    let shape = {
        let tape = TensorTape::new();
        module.forward(tape.constant(x.clone())).shape()
    };
    let w = Tensor::<f64>::rand_uniform(&shape, 0.5, 1.5, &mut rng);
    let (_, analytic) = loss_at(module, Some(&w));
    assert!(!analytic.is_empty(), "{name} has parameters");
    for (pname, g) in &analytic {
        for k in 0..g.numel() {
            let h = 1e-5;
            let bump = |m: &mut dyn Layer<f64>, delta: f64| {
                m.visit_parameters_mut("", &mut |n, p| {
                    if n == pname {
                        p.update(|v| v.data_mut()[k] += delta);
                    }
                });
            };
            bump(module, h);
            let up = loss_at(module, Some(&w)).0;
            bump(module, -2.0 * h);
            let down = loss_at(module, Some(&w)).0;
            bump(module, h);
            let numeric = (up - down) / (2.0 * h);
            let a = g.data()[k];
            let err = (a - numeric).abs() / a.abs().max(numeric.abs()).max(1e-3);
            assert!(
                err < 1e-6,
                "{name}: {pname}[{k}] tape {a} vs numeric {numeric}"
            );
        }
    }
}

#[test]
fn layers_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::<f64>::rand_uniform(&[5, 4], -1.0, 1.0, &mut rng);
    check_module("Linear", &mut Linear::new(4, 3, &mut rng), &x);
    check_module(
        "Linear without bias",
        &mut Linear::no_bias(4, 3, &mut rng),
        &x,
    );
    check_module(
        "mlp relu",
        &mut mlp(&[4, 6, 6, 2], Activation::Relu, &mut rng),
        &x,
    );
    check_module(
        "mlp tanh",
        &mut mlp(&[4, 6, 2], Activation::Tanh, &mut rng),
        &x,
    );
    check_module(
        "mlp sigmoid",
        &mut mlp(&[4, 3, 2], Activation::Sigmoid, &mut rng),
        &x,
    );
    check_module(
        "mlp gelu",
        &mut mlp(&[4, 3, 2], Activation::Gelu, &mut rng),
        &x,
    );
    let mut ln = LayerNorm::new(4);
    ln.weight = autograd_core::Parameter::new(Tensor::rand_uniform(&[4], 0.5, 1.5, &mut rng));
    ln.bias = autograd_core::Parameter::new(Tensor::rand_uniform(&[4], -0.5, 0.5, &mut rng));
    check_module("LayerNorm", &mut ln, &x);
    let ids = Tensor::from_vec(vec![0.0, 3.0, 3.0, 1.0], &[2, 2]);
    check_module("Embedding", &mut Embedding::new(5, 3, &mut rng), &ids);
    // A Dropout in training mode is a fixed random mask per call; with the
    // same seed each evaluation sees the same mask only once, so check it in
    // evaluation mode inside a model, where it must be the identity.
    let mut with_dropout = Sequential::new()
        .push(Linear::new(4, 3, &mut rng))
        .push(Dropout::new(0.5, 3));
    with_dropout.eval();
    check_module("Linear + Dropout(eval)", &mut with_dropout, &x);
}

#[test]
fn convolution_recurrent_and_attention_layers_match_finite_differences() {
    use autograd_core::Window2d as Window;
    let mut rng = StdRng::seed_from_u64(3);
    let img = Tensor::<f64>::rand_uniform(&[2, 2, 6, 5], -1.0, 1.0, &mut rng);
    let mut convnet = Sequential::new()
        .push(Conv2d::new(2, 3, (3, 2), &mut rng).padding(1))
        .push(Relu)
        .push(MaxPool2d {
            kernel: (2, 2),
            window: Window::default().stride(2),
        })
        .push(Conv2d::new(3, 2, (2, 2), &mut rng).dilation(1))
        .push(AvgPool2d {
            kernel: (2, 1),
            window: Window::default(),
        })
        .push(Flatten)
        .push(Linear::new(4, 3, &mut rng));
    check_module("conv net", &mut convnet, &img);
    let img4 = Tensor::<f64>::rand_uniform(&[2, 4, 5, 5], -1.0, 1.0, &mut rng);
    let mut grouped = Conv2d::grouped(4, 6, (3, 3), 2, &mut rng).padding(1);
    check_module("grouped Conv2d", &mut grouped, &img4);
    let seq = Tensor::<f64>::rand_uniform(&[4, 3, 2], -1.0, 1.0, &mut rng);
    check_module("Lstm", &mut Lstm::new(2, 3, &mut rng), &seq);
    let step = Tensor::<f64>::rand_uniform(&[3, 2], -1.0, 1.0, &mut rng);
    check_module("LstmCell", &mut LstmCell::new(2, 4, &mut rng), &step);
    let tokens = Tensor::<f64>::rand_uniform(&[2, 4, 6], -1.0, 1.0, &mut rng);
    let mut attn = MultiHeadAttention::new(6, 2, false, &mut rng);
    // Non-zero biases, so their gradients are checked at a generic point.
    attn.in_proj_bias =
        autograd_core::Parameter::new(Tensor::rand_uniform(&[18], -0.3, 0.3, &mut rng));
    check_module("attention", &mut attn, &tokens);
    check_module(
        "causal attention",
        &mut MultiHeadAttention::new(6, 3, true, &mut rng),
        &tokens,
    );
}

#[test]
fn causal_attention_does_not_look_ahead() {
    let mut rng = StdRng::seed_from_u64(4);
    let attn = MultiHeadAttention::<f64>::new(4, 2, true, &mut rng);
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::rand_uniform(&[1, 5, 4], -1.0, 1.0, &mut rng));
    // The output at position 2 depends on inputs 0..=2 only.
    let y = attn.forward(x).narrow(1, 2, 1).sum();
    let g = y.backward()[x].clone();
    for t in 0..5 {
        let row = g.narrow(1, t, 1);
        let zero = row.data().iter().all(|&v| v == 0.0);
        assert_eq!(zero, t > 2, "position {t}: {row}");
    }
}

#[test]
fn dropout_scales_kept_values_and_zeroes_about_p() {
    let d = Dropout::new(0.3, 11);
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::<f64>::ones(&[10_000]));
    let y = d.forward(x);
    let v = y.value();
    let dropped = v.data().iter().filter(|&&z| z == 0.0).count() as f64 / 10_000.0;
    assert!((dropped - 0.3).abs() < 0.02, "dropped fraction {dropped}");
    let keep = 1.0 / 0.7;
    assert!(
        v.data()
            .iter()
            .all(|&z| z == 0.0 || (z - keep).abs() < 1e-12)
    );
    // The gradient is the same mask.
    let g = y.sum().backward();
    assert_eq!(g[x].to_vec(), v.to_vec());
}

#[test]
fn losses_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(2);
    let p = Tensor::<f64>::rand_uniform(&[4, 3], -2.0, 2.0, &mut rng);
    let t = Tensor::<f64>::rand_uniform(&[4, 3], -2.0, 2.0, &mut rng);
    let probs = Tensor::<f64>::rand_uniform(&[4, 3], 0.05, 0.95, &mut rng);
    let classes = Tensor::from_vec(vec![2_usize, 0, 1, 2], &[4]);
    for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let check = |name: &str, res: Result<f64, autograd_core::TensorGradCheckError>| {
            if let Err(e) = res {
                panic!("{name} ({r:?}): {e}");
            }
        };
        check(
            "mse",
            tensor_gradcheck(|_, v| mse_loss(v[0], v[1], r), &[p.clone(), t.clone()]),
        );
        check(
            "l1",
            tensor_gradcheck(|_, v| l1_loss(v[0], v[1], r), &[p.clone(), t.clone()]),
        );
        check(
            "huber",
            tensor_gradcheck(
                |_, v| huber_loss(v[0], v[1], 0.7, r),
                &[p.clone(), t.clone()],
            ),
        );
        check(
            "bce",
            tensor_gradcheck(
                |_, v| binary_cross_entropy_with_logits(v[0], v[1], r),
                &[p.clone(), probs.clone()],
            ),
        );
        let c = classes.clone();
        check(
            "cross_entropy",
            tensor_gradcheck(
                move |_, v| cross_entropy(v[0], &c, 0.0, r),
                std::slice::from_ref(&p),
            ),
        );
        let c = classes.clone();
        check(
            "smoothed",
            tensor_gradcheck(
                move |_, v| cross_entropy(v[0], &c, 0.1, r),
                std::slice::from_ref(&p),
            ),
        );
        let c = classes.clone();
        check(
            "nll",
            tensor_gradcheck(
                move |_, v| nll_loss(v[0].log_softmax(-1), &c, r),
                std::slice::from_ref(&p),
            ),
        );
    }
}

#[test]
fn losses_equal_their_definitions() {
    let tape = TensorTape::<f64>::new();
    let logits = Tensor::from_vec(vec![1.0, 2.0, 0.5, -1.0, 0.0, 3.0], &[2, 3]);
    let classes = Tensor::from_vec(vec![1_usize, 2], &[2]);
    let x = tape.constant(logits.clone());
    // Cross-entropy with smoothing eps: (1-eps) (-log p_y) + eps mean_c(-log p_c).
    let eps = 0.2;
    let got = cross_entropy(x, &classes, eps, Reduction::None).value();
    for row in 0..2 {
        let z: Vec<f64> = (0..3).map(|c| logits.get(&[row, c])).collect();
        let lse = z.iter().map(|v| v.exp()).sum::<f64>().ln();
        let nll = lse - z[classes.get(&[row])];
        let uniform = z.iter().map(|v| lse - v).sum::<f64>() / 3.0;
        let want = (1.0 - eps) * nll + eps * uniform;
        assert!(
            (got.get(&[row]) - want).abs() < 1e-12,
            "row {row}: {} vs {want}",
            got.get(&[row])
        );
    }
    // BCE with logits equals -[y ln s + (1-y) ln(1-s)] where that is finite.
    let y = Tensor::from_vec(vec![1.0, 0.0, 0.3, 0.9, 0.5, 0.0], &[2, 3]);
    let got = binary_cross_entropy_with_logits(x, tape.constant(y.clone()), Reduction::Sum).item();
    let want: f64 = logits
        .data()
        .iter()
        .zip(y.data())
        .map(|(&z, &t)| {
            let s = 1.0 / (1.0 + (-z).exp());
            -(t * s.ln() + (1.0 - t) * (1.0 - s).ln())
        })
        .sum();
    assert!((got - want).abs() < 1e-12);
    // Large logits stay finite.
    let big = tape.constant(Tensor::from_vec(vec![1e4, -1e4, 0.0], &[1, 3]));
    let l = cross_entropy(big, &Tensor::from_vec(vec![1], &[1]), 0.0, Reduction::Mean);
    assert_eq!(l.item(), 2e4);
    let g = l.backward();
    assert!(g.get(big).is_none(), "constants get no gradient");
}

#[test]
fn bad_targets_are_clear_errors() {
    let tape = TensorTape::<f32>::new();
    let x = tape.constant(Tensor::zeros(&[2, 3]));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cross_entropy(x, &Tensor::from_vec(vec![0, 3], &[2]), 0.0, Reduction::Mean)
    }));
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert_eq!(
        msg,
        "cross_entropy: target class 3 is out of range for 3 classes"
    );
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mse_loss(x, tape.constant(Tensor::zeros(&[3, 2])), Reduction::Mean)
    }));
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert_eq!(
        msg,
        "mse_loss: prediction shape [2, 3] differs from target shape [3, 2]"
    );
}

#[test]
fn initialisers_have_their_documented_spread() {
    let mut rng = StdRng::seed_from_u64(6);
    let std = |t: &Tensor<f64>| {
        let n = t.numel() as f64;
        let m = t.data().iter().sum::<f64>() / n;
        (t.data().iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt()
    };
    let shape = [200, 300];
    let (fan_in, fan_out) = (300.0_f64, 200.0_f64);
    let cases: [(&str, Tensor<f64>, f64); 5] = [
        (
            "xavier_uniform",
            init::xavier_uniform(&shape, 1.0, &mut rng),
            (2.0 / (fan_in + fan_out)).sqrt(),
        ),
        (
            "xavier_normal",
            init::xavier_normal(&shape, 1.0, &mut rng),
            (2.0 / (fan_in + fan_out)).sqrt(),
        ),
        (
            "kaiming_uniform",
            init::kaiming_uniform(&shape, &mut rng),
            (2.0 / fan_in).sqrt(),
        ),
        (
            "kaiming_normal",
            init::kaiming_normal(&shape, &mut rng),
            (2.0 / fan_in).sqrt(),
        ),
        (
            "torch_default",
            init::torch_default(&shape, 300, &mut rng),
            (1.0 / (3.0 * fan_in)).sqrt(),
        ),
    ];
    for (name, t, want) in &cases {
        let got = std(t);
        assert!(
            (got / want - 1.0).abs() < 0.02,
            "{name}: std {got} vs {want}"
        );
    }
    // Seeded: the same seed gives the same weights.
    let a: Tensor<f32> = init::kaiming_normal(&[3, 3], &mut StdRng::seed_from_u64(1));
    let b: Tensor<f32> = init::kaiming_normal(&[3, 3], &mut StdRng::seed_from_u64(1));
    assert_eq!(a, b);
}

/// Token ids fed through an `Embedding` are an input of the recording:
/// replaying with new ids gives what a fresh recording gives (it used to
/// keep the first ids' rows and answer Ok).
#[test]
fn replay_with_new_token_ids_looks_up_the_new_rows() {
    use autograd_core::TensorTape;
    use autograd_nn::{Embedding, Forward, Linear, Sequential};
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let model = Sequential::<f64>::new()
        .push(Embedding::new(10, 4, &mut rng))
        .push(Linear::new(4, 2, &mut rng));
    let (first, second) = (
        Tensor::from_vec(vec![1.0, 7.0, 7.0], &[3]),
        Tensor::from_vec(vec![4.0, 0.0, 9.0], &[3]),
    );
    let tape = TensorTape::new();
    let ids = tape.constant(first.clone());
    let loss = model.forward(ids).tanh().sum();
    let _ = loss.backward();
    tape.replay(&[(ids, second.clone())]).unwrap();
    let replayed = (loss.item(), model.gradients(&loss.backward()));

    let fresh_tape = TensorTape::new();
    let fresh = model.forward(fresh_tape.constant(second)).tanh().sum();
    assert_eq!(replayed.0, fresh.item());
    assert_eq!(replayed.1, model.gradients(&fresh.backward()));
    // And not the first ids' value.
    let old_tape = TensorTape::new();
    let old = model.forward(old_tape.constant(first)).tanh().sum();
    assert_ne!(replayed.0, old.item());
}

#[test]
fn normalisation_conv1d_and_gru_layers_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(5);
    let rand_param = |shape: &[usize], rng: &mut StdRng| {
        autograd_core::Parameter::new(Tensor::rand_uniform(shape, 0.5, 1.5, rng))
    };
    // Batch statistics in training mode: the output depends on them, not on
    // the running statistics each evaluation updates.
    let mut bn2 = BatchNorm2d::new(3);
    bn2.weight = rand_param(&[3], &mut rng);
    bn2.bias = rand_param(&[3], &mut rng);
    let img = Tensor::<f64>::rand_uniform(&[2, 3, 4, 3], -1.0, 1.0, &mut rng);
    check_module("BatchNorm2d (training)", &mut bn2, &img);
    bn2.eval();
    check_module("BatchNorm2d (eval)", &mut bn2, &img);
    let mut bn1 = BatchNorm1d::new(4);
    bn1.weight = rand_param(&[4], &mut rng);
    let rows = Tensor::<f64>::rand_uniform(&[6, 4], -1.0, 1.0, &mut rng);
    check_module("BatchNorm1d [N, C]", &mut bn1, &rows);
    let seq = Tensor::<f64>::rand_uniform(&[2, 4, 5], -1.0, 1.0, &mut rng);
    check_module("BatchNorm1d [N, C, L]", &mut bn1, &seq);
    let mut gn = GroupNorm::new(2, 4);
    gn.weight = rand_param(&[4], &mut rng);
    gn.bias = rand_param(&[4], &mut rng);
    check_module("GroupNorm", &mut gn, &seq);
    check_module(
        "Conv1d",
        &mut Conv1d::new(4, 3, 3, &mut rng).padding(1).stride(2),
        &seq,
    );
    check_module(
        "Conv1d dilated, no bias",
        &mut Conv1d {
            bias: None,
            ..Conv1d::new(4, 2, 2, &mut rng).dilation(2)
        },
        &seq,
    );
    let steps = Tensor::<f64>::rand_uniform(&[3, 2, 4], -1.0, 1.0, &mut rng);
    check_module("Gru", &mut Gru::new(4, 3, &mut rng), &steps);
    check_module("GruCell", &mut GruCell::new(4, 3, &mut rng), &rows);
}

#[test]
fn layer_errors_name_the_layer_and_the_shapes() {
    let message = |f: &dyn Fn()| {
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    let tape = TensorTape::new();
    let x = tape.constant(Tensor::<f64>::zeros(&[2, 5, 4]));
    let bn = BatchNorm2d::<f64>::new(3);
    let m = message(&|| {
        bn.forward(x);
    });
    assert!(
        m.contains("BatchNorm2d(3): input must be [N, C, H, W] with C = 3, got shape [2, 5, 4]"),
        "{m}"
    );
    let one = tape.constant(Tensor::<f64>::zeros(&[1, 3]));
    let bn1 = BatchNorm1d::<f64>::new(3);
    let m = message(&|| {
        bn1.forward(one);
    });
    assert!(m.contains("more than one value per channel"), "{m}");
    let mut rng = StdRng::seed_from_u64(0);
    let conv = Conv1d::<f64>::new(3, 2, 3, &mut rng);
    let m = message(&|| {
        conv.forward(x);
    });
    assert!(
        m.contains("Conv1d(3, 2, 3): input must be [N, 3, L], got shape [2, 5, 4]"),
        "{m}"
    );
    let m = message(&|| {
        Conv2d::<f64>::grouped(4, 6, (3, 3), 4, &mut StdRng::seed_from_u64(0));
    });
    assert!(
        m.contains("Conv2d: 4 groups must divide both 4 input and 6 output channels"),
        "{m}"
    );
    let grouped = Conv2d::<f64>::grouped(4, 6, (3, 3), 2, &mut rng);
    let img = tape.constant(Tensor::<f64>::zeros(&[1, 2, 5, 5]));
    let m = message(&|| {
        grouped.forward(img);
    });
    assert!(
        m.contains("Conv2d(4, 6, kernel (3, 3))")
            && m.contains("input must be [N, 4, H, W], got shape [1, 2, 5, 5]"),
        "{m}"
    );
    let m = message(&|| {
        GroupNorm::<f64>::new(3, 4);
    });
    assert!(
        m.contains("GroupNorm: 3 groups must divide 4 channels"),
        "{m}"
    );
}

#[test]
fn errors_inside_sequential_name_the_layer_and_its_position() {
    let mut rng = StdRng::seed_from_u64(0);
    let inner = Sequential::<f64>::new()
        .push(Linear::new(4, 6, &mut rng))
        .push(Linear::new(5, 2, &mut rng)); // wrong: 6 features arrive
    let model = Sequential::new().push(Relu).push(inner);
    let tape = TensorTape::new();
    let x = tape.constant(Tensor::<f64>::zeros(&[3, 4]));
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        model.forward(x);
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with(
            "Linear(5 -> 2) at 1.1: the input's last axis must have 5 features, got shape [3, 6]"
        ),
        "{msg}"
    );
    // The scope is left even when a layer panics.
    let fc = Linear::<f64>::new(2, 2, &mut rng);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fc.forward(x);
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.starts_with("Linear(2 -> 2): "), "{msg}");
    let mut conv_rng = StdRng::seed_from_u64(1);
    let cnn = Sequential::<f64>::new().push(Conv2d::new(3, 4, (3, 3), &mut conv_rng));
    let img = tape.constant(Tensor::<f64>::zeros(&[1, 2, 8, 8]));
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cnn.forward(img);
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains(
            "Conv2d(3, 4, kernel (3, 3)) at 0: input must be [N, 3, H, W], got shape [1, 2, 8, 8]"
        ),
        "{msg}"
    );
}

#[test]
fn typed_inputs_refuse_what_they_cannot_hold() {
    let message = |f: &dyn Fn()| {
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    // An id f32 cannot hold exactly would look up the wrong row.
    let tape = TensorTape::<f32>::new();
    let m = message(&|| {
        TokenIds::new(&tape, &Tensor::from_vec(vec![3, (1 << 24) + 1], &[2]));
    });
    assert!(
        m.contains("TokenIds: id 16777217 cannot be held exactly"),
        "{m}"
    );
    // A padding mask of the wrong shape names both shapes.
    let mut rng = StdRng::seed_from_u64(0);
    let attn = MultiHeadAttention::<f64>::new(4, 2, false, &mut rng);
    let tape = TensorTape::<f64>::new();
    let x = tape.constant(Tensor::zeros(&[2, 3, 4]));
    let mask = Tensor::from_vec(vec![false; 3], &[1, 3]);
    let m = message(&|| {
        attn.forward((x, &mask));
    });
    assert!(
        m.contains("the padding mask [B, T], got shapes [2, 3, 4] and [1, 3]"),
        "{m}"
    );
}
