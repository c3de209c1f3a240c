//! `#[derive(Module)]`: names as PyTorch spells them, every kind of field,
//! and what the derived visitors feed (state dicts, training mode, freezing,
//! optimizers).

use autograd_core::{Parameter, Real, Tensor, TensorTape, TensorVar};
use autograd_nn::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[derive(Module)]
struct Head<T: Real> {
    proj: Linear<T>,
    #[module(rename = "scale_")]
    scale: Parameter<T>,
}

#[derive(Module)]
struct Net<T: Real> {
    embed: Embedding<T>,
    blocks: Vec<LayerNorm<T>>,
    head: Head<T>,
    extra: Option<Linear<T>>,
    pair: [Linear<T>; 2],
    boxed: Box<Linear<T>>,
    drop: Dropout,
    #[module(buffer)]
    running: Tensor<T>,
    #[module(buffer)]
    absent: Option<Tensor<T>>,
    #[module(training)]
    training: bool,
    #[module(skip)]
    width: usize,
}

fn net(rng: &mut StdRng) -> Net<f64> {
    Net {
        embed: Embedding::new(5, 3, rng),
        blocks: vec![LayerNorm::new(3), LayerNorm::new(3)],
        head: Head {
            proj: Linear::new(3, 2, rng),
            scale: Parameter::new(Tensor::ones(&[2])),
        },
        extra: None,
        pair: [Linear::new(3, 3, rng), Linear::no_bias(3, 3, rng)],
        boxed: Box::new(Linear::new(3, 1, rng)),
        drop: Dropout::new(0.5, 0),
        running: Tensor::zeros(&[3]),
        absent: None,
        training: true,
        width: 3,
    }
}

#[test]
fn fields_are_named_as_pytorch_names_them() {
    let mut rng = StdRng::seed_from_u64(0);
    let n = net(&mut rng);
    let names: Vec<String> = n.state_dict().into_keys().collect();
    assert_eq!(
        names,
        [
            "embed.weight",
            "blocks.0.weight",
            "blocks.0.bias",
            "blocks.1.weight",
            "blocks.1.bias",
            "head.proj.weight",
            "head.proj.bias",
            "head.scale_",
            "pair.0.weight",
            "pair.0.bias",
            "pair.1.weight",
            "boxed.weight",
            "boxed.bias",
            "running",
        ]
    );
    assert_eq!(n.width, 3);
    assert_eq!(n.num_parameters(), 15 + 12 + 6 + 2 + 2 + 12 + 9 + 3 + 1);
}

#[test]
fn a_prefix_reaches_every_nested_name() {
    let mut rng = StdRng::seed_from_u64(0);
    let n = net(&mut rng);
    let mut names = Vec::new();
    n.visit_parameters("model", &mut |name, _| names.push(name.to_string()));
    assert_eq!(names[0], "model.embed.weight");
    assert_eq!(names[5], "model.head.proj.weight");
    let mut buffers = Vec::new();
    n.visit_buffers("model", &mut |name, _| buffers.push(name.to_string()));
    assert_eq!(buffers, ["model.running"]);
}

#[test]
fn train_and_eval_reach_fields_and_flags() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut n = net(&mut rng);
    n.eval();
    assert!(!n.training);
    let tape = TensorTape::new();
    let x = tape.constant(Tensor::<f64>::ones(&[100]));
    // Dropout in evaluation mode is the identity.
    assert_eq!(n.drop.forward(x).value().to_vec(), vec![1.0; 100]);
    n.train();
    assert!(n.training);
    assert!(n.drop.forward(x).value().data().contains(&0.0));
}

#[test]
fn state_dicts_round_trip_parameters_and_buffers() {
    let mut rng = StdRng::seed_from_u64(0);
    let a = net(&mut rng);
    let mut b = net(&mut rng);
    let mut state = a.state_dict();
    state["running"] = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]);
    b.load_state_dict(&state).unwrap();
    assert_eq!(b.state_dict(), state);
    assert_eq!(b.running.to_vec(), vec![1.0, 2.0, 3.0]);
    // A missing buffer is named, and nothing changes.
    let mut partial = a.state_dict();
    partial.shift_remove("running");
    partial["boxed.bias"] = Tensor::zeros(&[2]);
    let before = b.state_dict();
    let err = b.load_state_dict(&partial).unwrap_err().to_string();
    assert!(err.contains("missing running"), "{err}");
    assert!(
        err.contains("boxed.bias: shape [2] in the state, [1] in the model"),
        "{err}"
    );
    assert_eq!(b.state_dict(), before);
}

/// A tuple struct, non-generic: fields are named by position and the
/// element type comes from the fields.
#[derive(Module)]
struct Pair(Linear, Relu, Linear);

impl<'t> Forward<TensorVar<'t>> for Pair {
    type Output = TensorVar<'t>;
    fn forward(&self, x: TensorVar<'t>) -> TensorVar<'t> {
        self.2.forward(self.1.forward(self.0.forward(x)))
    }
}

#[test]
fn tuple_structs_are_named_by_position_and_compose_in_sequential() {
    let mut rng = StdRng::seed_from_u64(1);
    let pair = Pair(
        Linear::new(2, 4, &mut rng),
        Relu,
        Linear::new(4, 1, &mut rng),
    );
    let names: Vec<String> = pair.state_dict().into_keys().collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    // A derived module with a tensor forward is a Layer.
    let seq = Sequential::new().push(pair).push(Tanh);
    let names: Vec<String> = seq.state_dict().into_keys().collect();
    assert_eq!(names[0], "0.0.weight");
    let tape = TensorTape::new();
    let y = seq.forward(tape.constant(Tensor::ones(&[3, 2])));
    assert_eq!(y.shape().as_slice(), &[3, 1]);
}

#[derive(Module)]
#[module(real = f64)]
struct Explicit {
    w: Parameter<f64>,
}

#[test]
fn the_element_type_can_be_named() {
    let e = Explicit {
        w: Parameter::new(Tensor::ones(&[2])),
    };
    assert_eq!(e.num_parameters(), 2);
}

/// A custom model trained end to end through the derive: the optimizer sees
/// every field's parameters, a frozen field is left alone.
#[test]
fn an_optimizer_trains_derived_fields_and_skips_frozen_ones() {
    let mut rng = StdRng::seed_from_u64(2);
    let mut model = Pair(
        Linear::<f32>::new(2, 8, &mut rng),
        Relu,
        Linear::new(8, 1, &mut rng),
    );
    model.0.freeze();
    let frozen = model.0.weight.value().clone();
    let x = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]);
    let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 2.0], &[4, 1]);
    let mut opt = Sgd::new(0.05);
    let mut losses = Vec::new();
    for _ in 0..50 {
        let tape = TensorTape::new();
        let out = model.forward(tape.constant(x.clone()));
        let loss = mse_loss(out, tape.constant(y.clone()), Reduction::Mean);
        losses.push(loss.item());
        let grads = model.gradients(&loss.backward());
        assert_eq!(grads.keys().collect::<Vec<_>>(), ["2.weight", "2.bias"]);
        opt.step(&mut model, &grads);
    }
    assert_eq!(model.0.weight.value(), &frozen);
    assert!(losses[49] < 0.5 * losses[0], "{losses:?}");
    model.unfreeze();
    let tape = TensorTape::new();
    let loss = model.forward(tape.constant(x)).sum();
    assert_eq!(model.gradients(&loss.backward()).len(), 4);
}

#[test]
fn no_grad_records_no_backward_rules_and_gives_the_same_values() {
    let mut rng = StdRng::seed_from_u64(3);
    let model = mlp::<f64, _>(&[3, 5, 2], Activation::Tanh, &mut rng);
    let x = Tensor::rand_uniform(&[4, 3], -1.0, 1.0, &mut rng);
    let tape = TensorTape::new();
    let with = model.forward(tape.constant(x.clone()));
    let without = tape.no_grad(|| model.forward(tape.constant(x.clone())));
    assert_eq!(with.value(), without.value());
    assert!(with.requires_grad());
    assert!(!without.requires_grad());
    // Parameters made leaves before no_grad are not reused inside it, and
    // the binding made inside it does not leak out.
    let grads = with.sum().backward();
    assert!(
        model
            .gradients(&grads)
            .values()
            .any(|g| g.sum().item() != 0.0)
    );
    let after = model.forward(tape.constant(x));
    assert!(after.requires_grad());
}

#[test]
fn token_ids_are_a_typed_replayable_input() {
    let mut rng = StdRng::seed_from_u64(4);
    let emb = Embedding::<f32>::new(6, 2, &mut rng);
    let tape = TensorTape::new();
    let ids = TokenIds::new(&tape, &Tensor::from_vec(vec![0_usize, 1], &[2]));
    let out = emb.forward(ids).sum();
    let first = out.item();
    tape.replay(&[ids.replay_with(&Tensor::from_vec(vec![4, 5], &[2]))])
        .unwrap();
    let w = emb.weight.value();
    let expected: f32 = (0..2).map(|j| w.get(&[4, j]) + w.get(&[5, j])).sum();
    assert_eq!(out.item(), expected);
    assert_ne!(out.item(), first);
}
