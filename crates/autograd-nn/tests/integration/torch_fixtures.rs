//! autograd-nn's layers against PyTorch on the same weights (float64): the
//! output, the input's gradient, every parameter's gradient of
//! `sum(output * w)` and the buffers after the forward pass. The numbers
//! come from `tools/nn_fixtures.py` (committed output, so no PyTorch here).

use autograd_core::{Tensor, TensorTape, TensorVar};
use autograd_nn::*;
use indexmap::IndexMap;
use rand::SeedableRng;
use rand::rngs::StdRng;

const FIXTURE: &[u8] = include_bytes!("../fixtures/torch_layers.safetensors");

fn fixture() -> IndexMap<String, Tensor<f64>> {
    from_safetensors_bytes(FIXTURE).unwrap()
}

/// The entries `<case>.<part>.*`, keyed by what follows.
fn part(
    all: &IndexMap<String, Tensor<f64>>,
    case: &str,
    part: &str,
) -> IndexMap<String, Tensor<f64>> {
    let prefix = format!("{case}.{part}.");
    all.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
        .collect()
}

fn close(case: &str, what: &str, ours: &Tensor<f64>, torch: &Tensor<f64>) {
    assert_eq!(ours.shape(), torch.shape(), "{case} {what}: shapes");
    for (i, (a, b)) in ours.data().iter().zip(torch.data()).enumerate() {
        let err = (a - b).abs() / b.abs().max(1.0);
        assert!(err < 1e-10, "{case} {what}[{i}]: ours {a}, PyTorch {b}");
    }
}

/// Loads `case`'s weights into `layer`, runs it as PyTorch did, compares.
fn check(case: &str, layer: &mut dyn Layer<f64>, training: bool) {
    load(case, layer, training);
    compare(case, layer, |x| layer.forward(x));
}

/// Puts `case`'s weights (and buffers) into `layer` and sets its mode.
fn load(case: &str, layer: &mut dyn Module<f64>, training: bool) {
    let state = part(&fixture(), case, "param");
    assert!(!state.is_empty(), "{case}: no such case in the fixture");
    layer
        .load_state_dict(&state)
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    layer.set_training(training);
}

/// Runs `forward` on `case`'s input and compares the output, the input's
/// and the parameters' gradients and the buffers after it with PyTorch's.
fn compare(
    case: &str,
    layer: &dyn Module<f64>,
    forward: impl for<'t> Fn(TensorVar<'t, f64>) -> TensorVar<'t, f64>,
) {
    let all = fixture();
    let tape = TensorTape::new();
    let x = tape.leaf(all[&format!("{case}.x")].clone());
    let y = forward(x);
    close(case, "output", &y.value(), &all[&format!("{case}.y")]);
    let loss = y
        .mul(tape.constant(all[&format!("{case}.w")].clone()))
        .sum();
    let grads = loss.backward();
    close(
        case,
        "input gradient",
        &grads[x],
        &all[&format!("{case}.dx")],
    );
    let ours = layer.gradients(&grads);
    let torch = part(&all, case, "grad");
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        torch.keys().collect::<Vec<_>>(),
        "{case}: parameter names"
    );
    for (name, g) in &torch {
        close(case, &format!("gradient of {name}"), &ours[name], g);
    }
    let after = part(&all, case, "after");
    let mut buffers = IndexMap::new();
    layer.visit_buffers("", &mut |name, b| {
        buffers.insert(name.to_string(), b.clone());
    });
    assert_eq!(
        buffers.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{case}: buffer names"
    );
    for (name, b) in &after {
        close(
            case,
            &format!("buffer {name} after the step"),
            &buffers[name],
            b,
        );
    }
}

#[test]
fn batch_norm_matches_pytorch_in_training_and_evaluation() {
    check("batchnorm2d_train", &mut BatchNorm2d::new(3), true);
    check("batchnorm2d_eval", &mut BatchNorm2d::new(3), false);
    check("batchnorm1d_rows", &mut BatchNorm1d::new(5), true);
    let mut bn = BatchNorm1d::new(4);
    bn.momentum = 0.3;
    check("batchnorm1d_seq", &mut bn, true);
}

#[test]
fn group_norm_layer_norm_and_convolutions_match_pytorch() {
    let mut rng = StdRng::seed_from_u64(0);
    check("groupnorm", &mut GroupNorm::new(2, 6), true);
    check("layernorm", &mut LayerNorm::new(5), true);
    check(
        "conv1d",
        &mut Conv1d::new(3, 4, 3, &mut rng)
            .stride(2)
            .padding(1)
            .dilation(2),
        true,
    );
    check(
        "conv2d",
        &mut Conv2d::new(2, 3, (3, 2), &mut rng).stride(2).padding(1),
        true,
    );
}

#[test]
fn recurrent_layers_and_attention_match_pytorch() {
    let mut rng = StdRng::seed_from_u64(0);
    check("gru", &mut Gru::new(3, 4, &mut rng), true);
    check("grucell", &mut GruCell::new(3, 4, &mut rng), true);
    check("lstm", &mut Lstm::new(3, 4, &mut rng), true);
    check(
        "attention",
        &mut MultiHeadAttention::new(6, 2, true, &mut rng),
        true,
    );
}

/// The comparison can fail: a wrong momentum leaves other running
/// statistics than PyTorch's.
#[test]
fn a_different_momentum_is_caught() {
    let result = std::panic::catch_unwind(|| {
        let mut bn = BatchNorm1d::new(4);
        bn.momentum = 0.1; // PyTorch used 0.3
        check("batchnorm1d_seq", &mut bn, true);
    });
    let err = result.unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("buffer running_mean after the step"), "{msg}");
}

/// Attention with a key padding mask (a typed second input) against
/// PyTorch's `key_padding_mask`, and the masked path without padding
/// against the fused one.
#[test]
fn attention_with_a_padding_mask_matches_pytorch() {
    let all = fixture();
    let case = "attention_padded";
    let mut rng = StdRng::seed_from_u64(0);
    let mut attn = MultiHeadAttention::<f64>::new(6, 2, true, &mut rng);
    load(case, &mut attn, true);
    let mask_values = &all[&format!("{case}.mask")];
    let mask = Tensor::from_vec(
        mask_values.data().iter().map(|&v| v != 0.0).collect(),
        mask_values.shape(),
    );
    compare(case, &attn, |x| attn.forward((x, &mask)));
    // No padding: the recorded path equals the fused primitive.
    let none = Tensor::from_vec(vec![false; 8], &[2, 4]);
    let tape = TensorTape::new();
    let x = tape.constant(all[&format!("{case}.x")].clone());
    let fused = attn.forward(x).value();
    let masked = attn.forward((x, &none)).value();
    close("attention", "masked path without padding", &masked, &fused);
}
