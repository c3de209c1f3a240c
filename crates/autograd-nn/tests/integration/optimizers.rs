//! Optimizers against steps computed by hand from PyTorch's documented
//! update rules, on a parameter whose gradient is known at every step.

use autograd_core::{Parameter, Tensor, TensorTape, TensorVar};
use autograd_nn::*;

/// One parameter vector; the "loss" is sum(c * p²) / 2, so the gradient is
/// c * p: it changes with p, which exercises the optimizers' state.
struct Quadratic {
    p: Parameter<f64>,
}

impl<'t> Forward<TensorVar<'t, f64>> for Quadratic {
    type Output = TensorVar<'t, f64>;
    fn forward(&self, x: TensorVar<'t, f64>) -> TensorVar<'t, f64> {
        let p = self.p.var(x.tape());
        p.square().mul(x).scale(0.5).sum()
    }
}

impl Module<f64> for Quadratic {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<f64>)) {
        let _ = prefix;
        f("p", &self.p);
    }
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<f64>)) {
        let _ = prefix;
        f("p", &mut self.p);
    }
}

const C: [f64; 3] = [1.0, 2.0, 0.5];
const P0: [f64; 3] = [1.0, -2.0, 3.0];

/// Runs `steps` optimizer steps; returns the parameter after each.
fn run(opt: &mut dyn Optimizer<f64>, steps: usize) -> Vec<Vec<f64>> {
    let mut m = Quadratic {
        p: Parameter::new(Tensor::from_vec(P0.to_vec(), &[3])),
    };
    let mut out = Vec::new();
    for _ in 0..steps {
        let grads = {
            let tape = TensorTape::new();
            let loss = m.forward(tape.constant(Tensor::from_vec(C.to_vec(), &[3])));
            m.gradients(&loss.backward())
        };
        opt.step(&mut m, &grads);
        out.push(m.p.value().to_vec());
    }
    out
}

fn close(a: &[Vec<f64>], b: &[Vec<f64>]) {
    for (step, (x, y)) in a.iter().zip(b).enumerate() {
        for (u, v) in x.iter().zip(y) {
            assert!((u - v).abs() < 1e-12, "step {}: {x:?} vs {y:?}", step + 1);
        }
    }
}

/// The same rules written out per element, as in PyTorch's documentation.
fn by_hand(steps: usize, mut rule: impl FnMut(usize, usize, f64, f64) -> f64) -> Vec<Vec<f64>> {
    let mut p = P0.to_vec();
    let mut out = Vec::new();
    for t in 1..=steps {
        for i in 0..3 {
            let g = C[i] * p[i];
            p[i] = rule(t, i, p[i], g);
        }
        out.push(p.clone());
    }
    out
}

#[test]
fn sgd_plain_momentum_nesterov_and_decay() {
    close(
        &run(&mut Sgd::new(0.1), 5),
        &by_hand(5, |_, _, p, g| p - 0.1 * g),
    );

    let mut buf = [0.0; 3];
    let want = by_hand(5, |t, i, p, g| {
        let d = g + 0.01 * p;
        buf[i] = if t == 1 {
            d
        } else {
            0.9 * buf[i] + (1.0 - 0.2) * d
        };
        p - 0.1 * buf[i]
    });
    let mut opt = Sgd::new(0.1)
        .momentum(0.9)
        .dampening(0.2)
        .weight_decay(0.01);
    close(&run(&mut opt, 5), &want);

    let mut buf = [0.0; 3];
    let want = by_hand(5, |t, i, p, g| {
        buf[i] = if t == 1 { g } else { 0.9 * buf[i] + g };
        p - 0.1 * (g + 0.9 * buf[i])
    });
    close(
        &run(&mut Sgd::new(0.1).momentum(0.9).nesterov(true), 5),
        &want,
    );
}

#[test]
fn adam_and_adamw() {
    let (lr, b1, b2, eps, wd) = (0.05, 0.8, 0.95, 1e-8, 0.1);
    let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
    let want = by_hand(6, |t, i, p, g| {
        let g = g + wd * p;
        m[i] = b1 * m[i] + (1.0 - b1) * g;
        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
        let mh = m[i] / (1.0 - b1.powi(t as i32));
        let vh = v[i] / (1.0 - b2.powi(t as i32));
        p - lr * mh / (vh.sqrt() + eps)
    });
    let mut opt = Adam::new(lr).betas(b1, b2).eps(eps).weight_decay(wd);
    close(&run(&mut opt, 6), &want);

    let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
    let want = by_hand(6, |t, i, p, g| {
        let p = p - lr * wd * p;
        m[i] = b1 * m[i] + (1.0 - b1) * g;
        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
        let mh = m[i] / (1.0 - b1.powi(t as i32));
        let vh = v[i] / (1.0 - b2.powi(t as i32));
        p - lr * mh / (vh.sqrt() + 1e-8)
    });
    close(
        &run(&mut AdamW::new(lr).weight_decay(wd).betas(b1, b2), 6),
        &want,
    );
}

/// A parameter large enough that Adam's update is split between threads
/// gives the same bits at 1, 2 and 3 threads (3 chunks of unequal length).
#[test]
fn adam_split_between_threads_equals_one_thread_bit_for_bit() {
    let before = autograd_core::num_threads();
    let n = 70_001;
    let c: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 * 0.25).collect();
    let p0: Vec<f64> = (0..n)
        .map(|i| ((i * 37 % 101) as f64 - 50.0) / 10.0)
        .collect();
    let train = |threads: usize, decoupled: bool| {
        autograd_core::set_num_threads(threads);
        let mut m = Quadratic {
            p: Parameter::new(Tensor::from_vec(p0.clone(), &[n])),
        };
        let mut opt: Box<dyn Optimizer<f64>> = if decoupled {
            Box::new(AdamW::new(0.05).weight_decay(0.1))
        } else {
            Box::new(Adam::new(0.05).weight_decay(0.1))
        };
        for _ in 0..3 {
            let grads = {
                let tape = TensorTape::new();
                let loss = m.forward(tape.constant(Tensor::from_vec(c.clone(), &[n])));
                m.gradients(&loss.backward())
            };
            opt.step(&mut m, &grads);
        }
        let bits: Vec<u64> = m.p.value().data().iter().map(|v| v.to_bits()).collect();
        bits
    };
    for decoupled in [false, true] {
        let one = train(1, decoupled);
        assert_eq!(train(2, decoupled), one, "2 threads, decoupled {decoupled}");
        assert_eq!(train(3, decoupled), one, "3 threads, decoupled {decoupled}");
        assert_ne!(one, train(1, !decoupled), "the two rules differ");
    }
    autograd_core::set_num_threads(before);
}

#[test]
fn rmsprop_with_and_without_momentum() {
    let mut v = [0.0; 3];
    let want = by_hand(5, |_, i, p, g| {
        v[i] = 0.9 * v[i] + 0.1 * g * g;
        p - 0.01 * g / (v[i].sqrt() + 1e-8)
    });
    close(&run(&mut RmsProp::new(0.01).alpha(0.9), 5), &want);

    let (mut v, mut b) = ([0.0; 3], [0.0; 3]);
    let want = by_hand(5, |_, i, p, g| {
        v[i] = 0.99 * v[i] + 0.01 * g * g;
        b[i] = 0.5 * b[i] + g / (v[i].sqrt() + 1e-8);
        p - 0.01 * b[i]
    });
    close(&run(&mut RmsProp::new(0.01).momentum(0.5), 5), &want);
}

#[test]
fn schedules_drive_the_learning_rate() {
    let sched = Warmup {
        warmup: 2,
        then: CosineLr {
            base: 0.1,
            min: 0.0,
            period: 4,
        },
    };
    let mut opt = Sgd::<f64>::new(0.0);
    let mut seen = Vec::new();
    for t in 0..7 {
        opt.set_lr(sched.lr(t));
        seen.push(Optimizer::<f64>::lr(&opt));
    }
    let want = [
        0.05,
        0.1,
        0.1,
        0.1 * 0.5 * (1.0 + (std::f64::consts::PI / 4.0).cos()),
        0.05,
        0.1 * 0.5 * (1.0 + (3.0 * std::f64::consts::PI / 4.0).cos()),
        0.0,
    ];
    for (a, b) in seen.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{seen:?}");
    }
}

#[test]
fn clipping_by_norm_and_value() {
    let mut g = ParamGrads::new();
    g.insert("a".into(), Tensor::from_vec(vec![3.0_f64, 0.0], &[2]));
    g.insert("b".into(), Tensor::from_vec(vec![0.0_f64, -4.0], &[2]));
    let norm = clip_grad_norm(&mut g, 10.0);
    assert_eq!(norm, 5.0);
    assert_eq!(
        g["a"].to_vec(),
        vec![3.0, 0.0],
        "under the limit: unchanged"
    );
    clip_grad_norm(&mut g, 2.5);
    let after: f64 = g
        .values()
        .flat_map(|t| t.to_vec())
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt();
    assert!((after - 2.5).abs() < 1e-6);
    clip_grad_value(&mut g, 1.0);
    assert_eq!(g["b"].to_vec(), vec![0.0, -1.0]);
}

#[test]
fn state_dicts_round_trip_and_refuse_mismatches() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let a = mlp::<f32, _>(&[3, 4, 2], Activation::Relu, &mut rng);
    let mut b = mlp::<f32, _>(&[3, 4, 2], Activation::Relu, &mut rng);
    assert_ne!(a.state_dict(), b.state_dict());
    b.load_state_dict(&a.state_dict()).unwrap();
    assert_eq!(a.state_dict(), b.state_dict());
    let mut state = a.state_dict();
    state.insert("9.weight".into(), Tensor::zeros(&[1]));
    state.shift_remove("0.bias");
    let before = b.state_dict();
    let err = b.load_state_dict(&state).unwrap_err();
    assert_eq!(
        err.problems,
        vec![
            "missing 0.bias".to_string(),
            "unexpected 9.weight".to_string()
        ]
    );
    assert_eq!(b.state_dict(), before, "a failed load changes nothing");
}

/// Steps `m` `steps` times with `opt`.
fn steps_on(m: &mut Quadratic, opt: &mut dyn Optimizer<f64>, steps: usize) {
    for _ in 0..steps {
        let grads = {
            let tape = TensorTape::new();
            let loss = m.forward(tape.constant(Tensor::from_vec(C.to_vec(), &[3])));
            m.gradients(&loss.backward())
        };
        opt.step(m, &grads);
    }
}

/// Every optimizer: 6 steps straight equal 3 steps, save (weights and
/// optimizer state through safetensors bytes), load into fresh objects,
/// 3 steps, bit for bit.
#[test]
fn every_optimizer_resumes_bit_identically_from_its_saved_state() {
    type Make = fn() -> Box<dyn Optimizer<f64>>;
    let makers: [(&str, Make); 6] = [
        ("sgd", || Box::new(Sgd::new(0.1))),
        ("sgd momentum", || {
            Box::new(
                Sgd::new(0.1)
                    .momentum(0.9)
                    .nesterov(true)
                    .weight_decay(0.01),
            )
        }),
        ("adam", || Box::new(Adam::new(0.05).weight_decay(0.01))),
        ("adamw", || Box::new(AdamW::new(0.05).betas(0.8, 0.99))),
        ("rmsprop", || Box::new(RmsProp::new(0.01).momentum(0.5))),
        ("rmsprop plain", || Box::new(RmsProp::new(0.01).alpha(0.9))),
    ];
    for (name, make) in makers {
        let fresh = || Quadratic {
            p: Parameter::new(Tensor::from_vec(P0.to_vec(), &[3])),
        };
        let mut straight = fresh();
        steps_on(&mut straight, &mut *make(), 6);

        let mut first = fresh();
        let mut opt = make();
        steps_on(&mut first, &mut *opt, 3);
        let weights = to_safetensors_bytes(&first.state_dict()).unwrap();
        let state = opt.state_dict().to_bytes().unwrap();
        drop((first, opt));

        let mut resumed = fresh();
        resumed
            .load_state_dict(&from_safetensors_bytes(&weights).unwrap())
            .unwrap();
        // Hyperparameters come from the state, as in PyTorch.
        let mut opt = make();
        opt.set_lr(123.0);
        opt.load_state_dict(&OptimizerState::from_bytes(&state).unwrap())
            .unwrap();
        steps_on(&mut resumed, &mut *opt, 3);
        assert_eq!(opt.steps(), 6, "{name}: the step count (schedules) resumes");
        assert_eq!(
            resumed.p.value().to_vec(),
            straight.p.value().to_vec(),
            "{name}"
        );
        // Without the state the same steps differ (the test can fail).
        let mut cold = fresh();
        cold.load_state_dict(&from_safetensors_bytes(&weights).unwrap())
            .unwrap();
        let mut opt = make();
        steps_on(&mut cold, &mut *opt, 3);
        if name != "sgd" {
            assert_ne!(
                cold.p.value().to_vec(),
                straight.p.value().to_vec(),
                "{name}"
            );
        }
    }
}

#[test]
fn a_state_from_another_optimizer_or_a_bad_file_is_refused() {
    let mut adam = Adam::<f64>::new(0.1);
    let err = adam
        .load_state_dict(&Sgd::new(0.5).state_dict())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the state is sgd's, this optimizer is adam"),
        "{err}"
    );
    assert_eq!(adam.lr(), 0.1, "nothing changed");
    let mut state = adam.state_dict();
    state.scalars.shift_remove("beta2");
    let err = adam.load_state_dict(&state).unwrap_err().to_string();
    assert!(err.contains("missing beta2"), "{err}");
    // AdamW's state is not Adam's: the decay differs.
    assert!(adam.load_state_dict(&AdamW::new(0.1).state_dict()).is_err());
    // A weights file (no optimizer metadata) is not an optimizer state.
    let weights = to_safetensors_bytes(
        &Quadratic {
            p: Parameter::new(Tensor::zeros(&[3])),
        }
        .state_dict(),
    )
    .unwrap();
    let err = OptimizerState::<f64>::from_bytes(&weights)
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no metadata"), "{err}");
    assert!(OptimizerState::<f64>::from_bytes(&weights[..10]).is_err());
}

/// Gradients by position (grad_into's Vec) give the same step as by name.
#[test]
fn positional_gradients_step_as_named_ones() {
    let mut a = Quadratic {
        p: Parameter::new(Tensor::from_vec(P0.to_vec(), &[3])),
    };
    let mut b = Quadratic {
        p: Parameter::new(Tensor::from_vec(P0.to_vec(), &[3])),
    };
    let (mut oa, mut ob) = (Adam::new(0.1), Adam::new(0.1));
    for _ in 0..3 {
        let tape = TensorTape::new();
        let loss = a.forward(tape.constant(Tensor::from_vec(C.to_vec(), &[3])));
        let named = a.gradients(&loss.backward());
        oa.step(&mut a, &named);
        let tape = TensorTape::new();
        let loss = b.forward(tape.constant(Tensor::from_vec(C.to_vec(), &[3])));
        let mut grads = Vec::new();
        tape.grad_into(loss, &[b.p.var(&tape)], &mut grads);
        ob.step(&mut b, &grads);
    }
    assert_eq!(a.p.value(), b.p.value());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ob.step(&mut b, &Vec::<Tensor<f64>>::new())
    }));
    let msg = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("0 gradients given by position, the model has 1 parameters"),
        "{msg}"
    );
}
