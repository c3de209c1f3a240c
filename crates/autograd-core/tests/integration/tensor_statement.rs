//! Elementwise statements on the tensor tape (`TensorTape::statement`): one
//! node for a whole elementwise expression, its partials carried per
//! element in forward mode. Checked against finite differences on random
//! broadcasting shapes, against the same expression recorded operation by
//! operation, through replay, and for its errors.

use autograd_core::{Tensor, TensorTape, TensorVar, tensor_gradcheck};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::common;
use common::{broadcastable, random_shape};

fn shape(r: &mut StdRng) -> Vec<usize> {
    random_shape(r, 3)
}

/// The same two-input expression as tensor operations (one node each).
fn by_op<'t>(a: TensorVar<'t, f64>, b: TensorVar<'t, f64>) -> TensorVar<'t, f64> {
    (a * b).tanh() + (a * a + 1.0).ln() * b.sin() - a / (b * b + 2.0)
}

#[test]
fn statements_pass_gradcheck_on_random_broadcasting_shapes() {
    let mut r = StdRng::seed_from_u64(3);
    for trial in 0..12 {
        let s = shape(&mut r);
        let t = broadcastable(&mut r, &s);
        let (s, t) = if trial % 2 == 0 { (s, t) } else { (t, s) };
        let a = Tensor::<f64>::rand_uniform(&s, -1.5, 1.5, &mut r);
        let b = Tensor::<f64>::rand_uniform(&t, -1.5, 1.5, &mut r);
        let c = Tensor::<f64>::rand_uniform(&[1], 0.5, 1.5, &mut r);
        tensor_gradcheck(
            |tape, v| {
                tape.statement([v[0], v[1]], |[a, b]| {
                    (a * b).tanh() + (a * a + 1.0).ln() * b.sin() - a / (b * b + 2.0)
                })
            },
            &[a.clone(), b.clone()],
        )
        .unwrap_or_else(|e| panic!("{s:?} with {t:?}: {e}"));
        tensor_gradcheck(
            |tape, v| tape.statement([v[0], v[1], v[2]], |[a, b, c]| (a * c).exp() * b + c.sqrt()),
            &[a, b, c],
        )
        .unwrap_or_else(|e| panic!("three inputs, {s:?} with {t:?}: {e}"));
    }
}

#[test]
fn a_statement_equals_the_operation_by_operation_recording() {
    let mut r = StdRng::seed_from_u64(4);
    for _ in 0..10 {
        let s = shape(&mut r);
        let t = broadcastable(&mut r, &s);
        let a0 = Tensor::<f64>::rand_uniform(&s, -2.0, 2.0, &mut r);
        let b0 = Tensor::<f64>::rand_uniform(&t, -2.0, 2.0, &mut r);
        let tape = TensorTape::new();
        let (a, b) = (tape.leaf(a0), tape.leaf(b0));
        let before = tape.len();
        let fused = tape.statement([a, b], |[a, b]| {
            (a * b).tanh() + (a * a + 1.0).ln() * b.sin() - a / (b * b + 2.0)
        });
        assert_eq!(tape.len() - before, 1);
        let reference = by_op(a, b);
        assert_eq!(fused.shape(), reference.shape());
        for (x, y) in fused
            .value()
            .to_vec()
            .iter()
            .zip(reference.value().to_vec())
        {
            assert!((x - y).abs() <= 1e-14 * y.abs().max(1.0));
        }
        let weights = tape.constant(Tensor::rand_uniform(&fused.shape(), 0.5, 1.5, &mut r));
        let g1 = tape.grad((fused * weights).sum(), &[a, b]);
        let g2 = tape.grad((reference * weights).sum(), &[a, b]);
        for (p, q) in g1.iter().zip(&g2) {
            assert_eq!(p.shape(), q.shape());
            for (x, y) in p.to_vec().iter().zip(q.to_vec()) {
                assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "{x} vs {y}");
            }
        }
    }
}

#[test]
fn a_statement_replays_and_equals_a_fresh_recording() {
    fn chain<'t>(tape: &'t TensorTape<f32>, x: TensorVar<'t, f32>) -> TensorVar<'t, f32> {
        let mut y = x;
        for _ in 0..50 {
            y = tape.statement([y], |[y]| y + y.tanh() * 0.001);
        }
        y.sum()
    }
    let tape = TensorTape::<f32>::new();
    let x = tape.leaf(Tensor::from_vec(vec![-1.0, 0.0, 0.5, 1.0], &[4]));
    let loss = chain(&tape, x);
    let _ = loss.backward();
    let new_x = Tensor::from_vec(vec![0.25, -0.5, 2.0, 3.0], &[4]);
    tape.replay(&[(x, new_x.clone())]).unwrap();
    let fresh = TensorTape::<f32>::new();
    let fx = fresh.leaf(new_x);
    let floss = chain(&fresh, fx);
    assert_eq!(loss.item(), floss.item());
    assert_eq!(tape.grad(loss, &[x]), fresh.grad(floss, &[fx]));
}

#[test]
#[should_panic(expected = "statement: shapes [2, 3] and [4] do not broadcast")]
fn shapes_that_do_not_broadcast_are_refused_with_both_shapes() {
    let tape = TensorTape::<f64>::new();
    let a = tape.leaf(Tensor::zeros(&[2, 3]));
    let b = tape.leaf(Tensor::zeros(&[4]));
    let _ = tape.statement([a, b], |[a, b]| a + b);
}

#[test]
#[should_panic(expected = "statement: the variables belong to different tapes")]
fn inputs_from_two_tapes_are_refused() {
    let (t1, t2) = (TensorTape::<f64>::new(), TensorTape::<f64>::new());
    let a = t1.leaf(Tensor::zeros(&[2]));
    let b = t2.leaf(Tensor::zeros(&[2]));
    let _ = t1.statement([a, b], |[a, b]| a * b);
}

#[test]
#[should_panic(expected = "grad_graph: node 1 is a statement")]
fn higher_order_through_a_statement_is_refused() {
    let tape = TensorTape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(vec![0.5], &[1]));
    let y = tape.statement([x], |[x]| x.sin()).sum();
    let _ = tape.grad_graph(y, &[x]);
}

#[test]
fn empty_tensors_and_nan_go_through_without_panicking() {
    let tape = TensorTape::<f64>::new();
    let e = tape.leaf(Tensor::zeros(&[0, 3]));
    let r = tape.leaf(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]));
    let y = tape.statement([e, r], |[e, r]| e * r + 1.0);
    assert_eq!(y.shape().as_slice(), &[0, 3]);
    let g = tape.grad(y.sum(), &[e, r]);
    assert_eq!(g[0].shape(), &[0, 3][..]);
    assert_eq!(g[1].to_vec(), vec![0.0; 3]);

    let x = tape.leaf(Tensor::from_vec(vec![-1.0, 4.0], &[2]));
    let z = tape.statement([x], |[x]| x.sqrt());
    let v = z.value().to_vec();
    assert!(v[0].is_nan() && v[1] == 2.0);
    let g = tape.grad(z.sum(), &[x]);
    assert!(g[0].to_vec()[0].is_nan() && g[0].to_vec()[1] == 0.25);
}
