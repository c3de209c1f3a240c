//! Record once, replay many: gradients after a replay equal those of a fresh
//! recording; a changed branch or shape is refused.

use autograd_core::{Tensor, TensorTape, TensorVar};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::common;
use common::allocations;

fn model<'t>(
    tape: &'t TensorTape<f64>,
    x: &Tensor<f64>,
    w1: TensorVar<'t, f64>,
    w2: TensorVar<'t, f64>,
) -> (TensorVar<'t, f64>, TensorVar<'t, f64>) {
    let xv = tape.constant(x.clone());
    let labels = Tensor::from_vec(vec![0_usize, 2, 1, 1], &[4, 1]);
    let h = xv.matmul_transposed(w1).relu().scale(0.5).add_scalar(0.1);
    let logits = h
        .matmul_transposed(w2)
        .max_axes(&[], true)
        .mul(h.sum_axes(&[1], true))
        .add(h.matmul_transposed(w2))
        // a bias row, broadcast along the batch (replayed in place)
        .add(tape.constant(Tensor::from_vec(vec![0.1, -0.2, 0.3], &[3])));
    let loss = logits.log_softmax(-1).gather(1, &labels).mean().neg() + logits.tanh().abs().mean();
    (xv, loss)
}

#[test]
fn replayed_gradients_equal_a_fresh_recording() {
    let mut rng = StdRng::seed_from_u64(1);
    let mk = |rng: &mut StdRng, s: &[usize]| Tensor::<f64>::rand_uniform(s, -1.0, 1.0, rng);
    let (x0, w10, w20) = (
        mk(&mut rng, &[4, 5]),
        mk(&mut rng, &[6, 5]),
        mk(&mut rng, &[3, 6]),
    );
    let tape = TensorTape::new();
    let (w1, w2) = (tape.leaf(w10), tape.leaf(w20));
    let (xv, loss) = model(&tape, &x0, w1, w2);
    let _ = tape.grad(loss, &[w1, w2]);
    for step in 0..5 {
        let (x, a, b) = (
            mk(&mut rng, &[4, 5]),
            mk(&mut rng, &[6, 5]),
            mk(&mut rng, &[3, 6]),
        );
        tape.replay(&[(xv, x.clone()), (w1, a.clone()), (w2, b.clone())])
            .unwrap();
        let replayed = tape.grad(loss, &[w1, w2]);
        let fresh_tape = TensorTape::new();
        let (f1, f2) = (fresh_tape.leaf(a), fresh_tape.leaf(b));
        let (_, fresh_loss) = model(&fresh_tape, &x, f1, f2);
        assert_eq!(loss.item(), fresh_loss.item(), "step {step}");
        let fresh = fresh_tape.grad(fresh_loss, &[f1, f2]);
        assert_eq!(replayed, fresh, "step {step}: bit-identical gradients");
    }
}

#[test]
fn a_changed_branch_is_refused_with_the_line_to_re_record() {
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::from_vec(vec![-2.0_f64, -0.5], &[2]));
    let y = if x.guard_lt(0.0) { x.square() } else { x.exp() };
    let _ = y.sum().backward();
    tape.replay(&[(x, Tensor::from_vec(vec![-1.0, -3.0], &[2]))])
        .unwrap();
    assert_eq!(y.value().to_vec(), vec![1.0, 9.0]);
    let e = tape
        .replay(&[(x, Tensor::from_vec(vec![-1.0, 3.0], &[2]))])
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("tests/integration/replay.rs"), "{msg}");
    assert!(msg.contains("re-record"), "{msg}");
    let e = tape.replay(&[(x, Tensor::zeros(&[3]))]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "replay: input node 0 was recorded with shape [2] but is given shape [3]; re-record for new shapes"
    );
    let e = tape.replay(&[(y, Tensor::zeros(&[2]))]).unwrap_err();
    assert!(e.to_string().contains("is computed, not an input"));
}

#[test]
fn every_op_family_replays() {
    use autograd_core::Window2d;
    let mut rng = StdRng::seed_from_u64(2);
    let img0 = Tensor::<f64>::rand_uniform(&[1, 2, 5, 5], -1.0, 1.0, &mut rng);
    let k0 = Tensor::<f64>::rand_uniform(&[3, 2, 2, 2], -1.0, 1.0, &mut rng);
    fn f<'t>(img: TensorVar<'t, f64>, k: TensorVar<'t, f64>) -> TensorVar<'t, f64> {
        let c = img
            .conv2d(k, None, Window2d::default().padding(1))
            .max_pool2d((2, 2), Window2d::default().stride(2));
        let flat = c.flatten();
        let parts = flat.chunk(2, 1);
        let joined = TensorVar::concat(&[parts[1], parts[0]], 1)
            .unsqueeze(0)
            .squeeze(0);
        let idx = Tensor::from_vec(vec![0_usize; joined.shape()[1]], &joined.shape());
        let g = joined.gather(0, &idx).index_select(1, &[0, 2, 2]);
        (g.softmax(-1).sum() + joined.var_axes(&[], 1, false)).sqrt()
    }
    let tape = TensorTape::new();
    let (img, k) = (tape.leaf(img0), tape.leaf(k0));
    let out = f(img, k);
    let _ = out.backward();
    let (img1, k1) = (
        Tensor::<f64>::rand_uniform(&[1, 2, 5, 5], -1.0, 1.0, &mut rng),
        Tensor::<f64>::rand_uniform(&[3, 2, 2, 2], -1.0, 1.0, &mut rng),
    );
    tape.replay(&[(img, img1.clone()), (k, k1.clone())])
        .unwrap();
    let fresh = TensorTape::new();
    let (fi, fk) = (fresh.leaf(img1), fresh.leaf(k1));
    let fo = f(fi, fk);
    assert_eq!(out.item(), fo.item());
    assert_eq!(tape.grad(out, &[img, k]), fresh.grad(fo, &[fi, fk]));
}

/// Allocations in (replay, sweep) of T3's chain with `steps` steps.
fn chain_allocations(steps: usize) -> (usize, usize) {
    let tape = TensorTape::<f32>::new();
    let x = tape.leaf(Tensor::from_vec(
        (0..16).map(|j| j as f32 / 8.0 - 1.0).collect(),
        &[16],
    ));
    let mut y = x;
    for _ in 0..steps {
        y = y + y.tanh() * 0.001;
    }
    let loss = y.sum();
    let _ = loss.backward();
    let new_x = Tensor::from_vec((0..16).map(|j| j as f32 / 16.0).collect(), &[16]);
    let before = allocations();
    tape.replay(&[(x, new_x.clone())]).unwrap();
    let in_replay = allocations() - before;
    let before = allocations();
    let g = loss.backward();
    let in_sweep = allocations() - before;
    drop(g);

    // The replayed values are those of a fresh recording.
    let fresh = TensorTape::<f32>::new();
    let fx = fresh.leaf(new_x);
    let mut fy = fx;
    for _ in 0..steps {
        fy = fy + fy.tanh() * 0.001;
    }
    assert_eq!(loss.item(), fy.sum().item());
    (in_replay, in_sweep)
}

#[test]
fn replaying_an_elementwise_chain_allocates_nothing_per_step() {
    // T3's shape: y = y + 0.001 tanh(y), then a sum. The replay computes
    // every value into its recorded buffer; the sweep computes into the
    // adjoints' own buffers or into buffers it has left over, so it makes
    // the same handful of allocations (seed, the first fan-out before any
    // buffer is spare, the result's bookkeeping) however long the chain.
    let (replay_100, sweep_100) = chain_allocations(100);
    let (replay_200, sweep_200) = chain_allocations(200);
    assert_eq!(
        (replay_100, replay_200),
        (0, 0),
        "allocations in the replay"
    );
    assert_eq!(
        sweep_100, sweep_200,
        "sweep allocations grow with the chain"
    );
    assert!(sweep_100 <= 8, "allocations in the sweep: {sweep_100}");
}

/// T1's model (64-128-128-10, ReLU, softmax cross-entropy against one-hot
/// labels) at batch 32, recorded once; then `steps` training steps of
/// replay, `grad_into` and an in-place SGD update of the caller's
/// parameters. The allocations of each step, and the parameters after.
/// T1-shaped parameters (weights `[out, in]` and biases) and four input
/// batches, the same for every caller.
fn mlp_setup() -> (Vec<Tensor<f32>>, Vec<Tensor<f32>>) {
    let mut rng = StdRng::seed_from_u64(4);
    let sizes = [64, 128, 128, 10];
    let mut params = Vec::new();
    for l in 0..3 {
        params.push(Tensor::rand_uniform(
            &[sizes[l + 1], sizes[l]],
            -0.1,
            0.1,
            &mut rng,
        ));
        params.push(Tensor::rand_uniform(&[sizes[l + 1]], -0.1, 0.1, &mut rng));
    }
    let batches = (0..4)
        .map(|_| Tensor::rand_uniform(&[32, 64], 0.0, 1.0, &mut rng))
        .collect();
    (params, batches)
}

fn mlp_steps(steps: usize, relu: bool) -> (Vec<usize>, Vec<Tensor<f32>>) {
    let (params, batches) = mlp_setup();
    let labels: Vec<_> = (0..4)
        .map(|b| {
            let l = Tensor::from_vec((0..32).map(|i| (i * 7 + b) % 10).collect(), &[32]);
            Tensor::<f32>::one_hot(&l, 10)
        })
        .collect();
    let tape = TensorTape::<f32>::new();
    let vars: Vec<_> = params.iter().map(|p| tape.leaf(p.clone())).collect();
    let x = tape.constant(batches[0].clone());
    let y = tape.constant(labels[0].clone());
    let mut h = x;
    for l in 0..3 {
        h = h.matmul_transposed(vars[2 * l]).add(vars[2 * l + 1]);
        if l < 2 {
            h = if relu { h.relu() } else { h.tanh() };
        }
    }
    let loss = h.log_softmax(-1).mul(y).sum_axes(&[1], false).mean().neg();
    let mut inputs = vec![(x, batches[0].clone()), (y, labels[0].clone())];
    inputs.extend(vars.iter().zip(params).map(|(&v, p)| (v, p)));
    let mut grads = Vec::new();
    let mut counts = Vec::new();
    for step in 0..steps {
        let before = allocations();
        inputs[0].1 = batches[step % 4].clone();
        inputs[1].1 = labels[step % 4].clone();
        tape.replay(&inputs).unwrap();
        tape.grad_into(loss, &vars, &mut grads);
        for ((_, p), g) in inputs[2..].iter_mut().zip(&grads) {
            for (w, &d) in p.data_mut().iter_mut().zip(g.data()) {
                *w -= 0.05 * d;
            }
        }
        counts.push(allocations() - before);
    }
    (counts, inputs[2..].iter().map(|(_, p)| p.clone()).collect())
}

#[test]
fn a_replayed_training_step_allocates_only_inside_the_matrix_kernel() {
    // After the first steps have filled the tape's buffers and the gradient
    // pool, a step (replay, sweep, update) allocates only in `gemm`'s own
    // workspace: eight products (three forward, five backward; the input
    // layer needs no gradient of its data), one or two buffers each (14 on
    // the test machine, every one allocated in `gemm_basic_generic`, seen
    // with a backtrace-printing allocator). The test below shows that
    // without products a step allocates nothing.
    let (counts, _) = mlp_steps(8, true);
    let steady = &counts[2..];
    assert!(
        steady.iter().all(|&c| c == steady[0] && c <= 16),
        "allocations per step: {counts:?}"
    );
}

#[test]
fn replayed_training_steps_equal_re_recorded_ones() {
    // The same eight steps with a fresh recording and `grad` each step.
    let (_, replayed) = mlp_steps(8, false);
    let (mut params, batches) = mlp_setup();
    for step in 0..8 {
        let tape = TensorTape::<f32>::new();
        let vars: Vec<_> = params.iter().map(|p| tape.leaf(p.clone())).collect();
        let l = Tensor::from_vec((0..32).map(|i| (i * 7 + step % 4) % 10).collect(), &[32]);
        let y = tape.constant(Tensor::<f32>::one_hot(&l, 10));
        let mut h = tape.constant(batches[step % 4].clone());
        for l in 0..3 {
            h = h.matmul_transposed(vars[2 * l]).add(vars[2 * l + 1]);
            if l < 2 {
                h = h.tanh();
            }
        }
        let loss = h.log_softmax(-1).mul(y).sum_axes(&[1], false).mean().neg();
        let grads = tape.grad(loss, &vars);
        for (p, g) in params.iter_mut().zip(&grads) {
            for (w, &d) in p.data_mut().iter_mut().zip(g.data()) {
                *w -= 0.05 * d;
            }
        }
    }
    for (a, b) in replayed.iter().zip(&params) {
        let bits = |t: &Tensor<f32>| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b));
    }
}

#[test]
fn a_replayed_step_without_matrix_products_allocates_nothing() {
    // Elementwise layers, a bias row, the loss: no `gemm`, so after the
    // first steps a step allocates nothing at all.
    let mut rng = StdRng::seed_from_u64(5);
    let tape = TensorTape::<f32>::new();
    let mut w = Tensor::rand_uniform(&[10], -1.0, 1.0, &mut rng);
    let mut b = Tensor::rand_uniform(&[10], -1.0, 1.0, &mut rng);
    let (wv, bv) = (tape.leaf(w.clone()), tape.leaf(b.clone()));
    let xs: Vec<_> = (0..3)
        .map(|_| Tensor::rand_uniform(&[32, 10], -1.0, 1.0, &mut rng))
        .collect();
    let x = tape.constant(xs[0].clone());
    let onehot = Tensor::<f32>::one_hot(
        &Tensor::from_vec((0..32).map(|i| i % 10).collect(), &[32]),
        10,
    );
    let y = tape.constant(onehot);
    let logits = (x * wv + bv).tanh() * 3.0 - x.sigmoid();
    let loss = logits
        .log_softmax(-1)
        .mul(y)
        .sum_axes(&[1], false)
        .mean()
        .neg();
    let mut grads = Vec::new();
    let mut counts = Vec::new();
    for step in 0..6 {
        let before = allocations();
        tape.replay(&[(x, xs[step % 3].clone()), (wv, w.clone()), (bv, b.clone())])
            .unwrap();
        tape.grad_into(loss, &[wv, bv], &mut grads);
        for (p, g) in [&mut w, &mut b].into_iter().zip(&grads) {
            for (v, &d) in p.data_mut().iter_mut().zip(g.data()) {
                *v -= 0.1 * d;
            }
        }
        counts.push(allocations() - before);
    }
    assert_eq!(
        &counts[2..],
        &[0, 0, 0, 0],
        "allocations per step: {counts:?}"
    );
}

#[test]
fn grad_into_matches_grad_for_any_inputs_and_any_buffers_handed_in() {
    let tape = TensorTape::<f64>::new();
    let a = tape.leaf(Tensor::from_vec(vec![1.0, -2.0, 3.0], &[3]));
    let b = tape.leaf(Tensor::from_vec(vec![0.5, 0.25], &[2, 1]));
    let unused = tape.leaf(Tensor::<f64>::ones(&[4]));
    let loss = (a * b).tanh().sum();
    let want = tape.grad(loss, &[b, a, unused, a]);
    // Buffers of the wrong count and shapes, and a shared one: all replaced.
    let shared = Tensor::<f64>::ones(&[3]);
    let mut grads = vec![shared.clone(), Tensor::zeros(&[7])];
    for _ in 0..3 {
        tape.grad_into(loss, &[b, a, unused, a], &mut grads);
        assert_eq!(grads, want);
    }
    assert_eq!(
        shared.to_vec(),
        vec![1.0; 3],
        "a buffer the caller still holds is not written"
    );
    assert_eq!(
        grads[2].to_vec(),
        vec![0.0; 4],
        "an input the output does not depend on"
    );
}

#[test]
fn grad_into_refuses_what_grad_refuses() {
    let tape = TensorTape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![1.0, 2.0], &[2]));
    let mut grads = vec![Tensor::zeros(&[2])];
    let (msg, _, _) = common::panic_of(|| tape.grad_into(x.exp(), &[x], &mut grads));
    assert!(msg.contains("grad_into") && msg.contains("[2]"), "{msg}");
    assert_eq!(grads.len(), 1, "the caller's buffers are untouched");
    let other = TensorTape::<f64>::new();
    let y = other.leaf(Tensor::scalar(1.0));
    let (msg, _, _) = common::panic_of(|| tape.grad_into(x.sum(), &[y], &mut grads));
    assert!(msg.contains("grad_into"), "{msg}");
}

/// Ops with more than two inputs keep them in the tape's side list: two such
/// nodes on one tape (4 and 3 inputs, in another order) must each find their
/// own, when recorded, swept, replayed and differentiated twice.
#[test]
fn ops_with_many_inputs_keep_their_inputs_apart() {
    let tape = TensorTape::<f64>::new();
    let v = |k: usize| Tensor::from_vec(vec![k as f64, 10.0 + k as f64], &[2]);
    let [a, b, c, d] = [0, 1, 2, 3].map(|k| tape.leaf(v(k)));
    let y1 = TensorVar::concat(&[a, b, c, d], 0); // [8]
    let y2 = TensorVar::stack(&[d, c, b], 0); // [3, 2]
    let w1 = tape.constant(Tensor::from_vec((1..=8).map(f64::from).collect(), &[8]));
    let w2 = tape.constant(Tensor::from_vec(
        vec![100.0, 200.0, 300.0, 400.0, 500.0, 600.0],
        &[3, 2],
    ));
    let loss = (y1 * w1).sum() + (y2 * w2 * y2).sum();
    let expect = |vals: [&Tensor<f64>; 4]| -> Vec<Vec<f64>> {
        // d/da = w1[0..2]; d/db = w1[2..4] + 2 w2[2] b; d/dc = w1[4..6] + 2 w2[1] c;
        // d/dd = w1[6..8] + 2 w2[0] d.
        let w2r = [[500.0, 600.0], [300.0, 400.0], [100.0, 200.0]];
        (0..4)
            .map(|k| {
                (0..2)
                    .map(|j| {
                        let lin = (2 * k + j + 1) as f64;
                        let quad = if k == 0 {
                            0.0
                        } else {
                            2.0 * w2r[k - 1][j] * vals[k].data()[j]
                        };
                        lin + quad
                    })
                    .collect()
            })
            .collect()
    };
    let grads = |vals: [&Tensor<f64>; 4]| {
        let g = loss.backward();
        let got: Vec<Vec<f64>> = [a, b, c, d].iter().map(|&x| g[x].to_vec()).collect();
        assert_eq!(got, expect(vals));
    };
    let (v0, v1, v2, v3) = (v(0), v(1), v(2), v(3));
    grads([&v0, &v1, &v2, &v3]);
    let n = [5.0, -1.0, 0.5, 2.0].map(|s| Tensor::from_vec(vec![s, -s], &[2]));
    tape.replay(&[
        (a, n[0].clone()),
        (b, n[1].clone()),
        (c, n[2].clone()),
        (d, n[3].clone()),
    ])
    .expect("no branches");
    assert_eq!(
        y1.value().to_vec(),
        vec![5.0, -5.0, -1.0, 1.0, 0.5, -0.5, 2.0, -2.0]
    );
    grads([&n[0], &n[1], &n[2], &n[3]]);
    // The recorded backward reads the same inputs.
    let gg = tape.grad_graph(loss, &[b]);
    assert_eq!(
        gg[0].value().to_vec(),
        expect([&n[0], &n[1], &n[2], &n[3]])[1]
    );
}

/// `grad_with` reports each input once, with its final gradient, before the
/// sweep ends for inputs used early in the sweep; its results are `grad`'s
/// bit for bit. A 3-layer MLP with a shared weight (used twice, so its
/// adjoint is complete only at its first use), an unused leaf, a leaf
/// listed twice and an intermediate variable.
#[test]
fn grad_with_reports_each_gradient_once_when_complete() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let tape = TensorTape::new();
    let w1 = tape.leaf(Tensor::<f64>::rand_uniform(&[4, 3], -1.0, 1.0, &mut rng));
    let x = tape.constant(Tensor::rand_uniform(&[5, 3], -1.0, 1.0, &mut rng));
    let h1 = x.matmul_transposed(w1).tanh();
    let w2 = tape.leaf(Tensor::rand_uniform(&[4, 4], -1.0, 1.0, &mut rng));
    let h2 = h1.matmul_transposed(w2).sigmoid().matmul_transposed(w2);
    let unused = tape.leaf(Tensor::scalar(2.0));
    let w3 = tape.leaf(Tensor::rand_uniform(&[2, 4], -1.0, 1.0, &mut rng));
    let loss = h2.matmul_transposed(w3).square().mean();
    let inputs = [w1, w2, w3, unused, w3, h1];
    let mut seen: Vec<(usize, Vec<f64>)> = Vec::new();
    let got = tape.grad_with(loss, &inputs, |k, g| seen.push((k, g.to_vec())));
    let want = tape.grad(loss, &inputs);
    assert_eq!(got, want);
    let order: Vec<usize> = seen.iter().map(|(k, _)| *k).collect();
    // w3 (both positions) first, then w2 (complete at its first use),
    // then h1, then w1; the unused leaf after the sweep.
    assert_eq!(order, [2, 4, 1, 5, 0, 3]);
    for (k, g) in &seen {
        assert_eq!(
            g,
            &want[*k].to_vec(),
            "input {k} reported before it was complete"
        );
    }
}
