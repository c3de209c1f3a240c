//! The backward pass recorded on the tape (grad_graph) can be differentiated
//! again: derivatives of any order from the same VJP rules.

use autograd_core::{Tensor, TensorTape, TensorVar};

#[test]
fn derivatives_of_tanh_up_to_fourth_order() {
    let xs: [f64; 4] = [-1.3, -0.2, 0.4, 1.1];
    let tape = TensorTape::<f64>::new();
    let x = tape.leaf(Tensor::from_vec(xs.to_vec(), &[4]));
    let mut d = x.tanh();
    let mut orders = Vec::new();
    for _ in 0..4 {
        // Elementwise function: the gradient of the sum is the derivative.
        let [next] = tape.grad_graph(d.sum(), &[x]).try_into().unwrap();
        orders.push(next.value());
        d = next;
    }
    for (i, &v) in xs.iter().enumerate() {
        let t: f64 = v.tanh();
        let s = 1.0 - t * t;
        let analytic = [
            s,
            -2.0 * t * s,
            s * (6.0 * t * t - 2.0),
            s * (16.0 * t - 24.0 * t * t * t),
        ];
        for (k, want) in analytic.iter().enumerate() {
            let got = orders[k].get(&[i]);
            assert!(
                (got - want).abs() < 1e-12,
                "order {} at {v}: {got} vs {want}",
                k + 1
            );
        }
    }
}

#[test]
fn hessian_of_rosenbrock_row_by_row() {
    // f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 as a function of one 2-vector.
    let p: [f64; 2] = [-1.2, 1.0];
    let tape = TensorTape::<f64>::new();
    let v = tape.leaf(Tensor::from_vec(p.to_vec(), &[2]));
    let x = v.narrow(0, 0, 1);
    let y = v.narrow(0, 1, 1);
    let f = (1.0 - x).square() + (y - x.square()).square() * 100.0;
    let [g] = tape.grad_graph(f.sum(), &[v]).try_into().unwrap();
    let (px, py) = (p[0], p[1]);
    let grad = [
        -2.0 * (1.0 - px) - 400.0 * px * (py - px * px),
        200.0 * (py - px * px),
    ];
    assert!((g.value().get(&[0]) - grad[0]).abs() < 1e-10);
    assert!((g.value().get(&[1]) - grad[1]).abs() < 1e-10);
    let hessian = [
        [2.0 - 400.0 * (py - px * px) + 800.0 * px * px, -400.0 * px],
        [-400.0 * px, 200.0],
    ];
    for (row, want) in hessian.iter().enumerate() {
        let [h] = tape
            .grad(g.narrow(0, row, 1).sum(), &[v])
            .try_into()
            .unwrap();
        assert!(
            (h.get(&[0]) - want[0]).abs() < 1e-9,
            "H[{row}][0] = {} vs {}",
            h.get(&[0]),
            want[0]
        );
        assert!(
            (h.get(&[1]) - want[1]).abs() < 1e-9,
            "H[{row}][1] = {} vs {}",
            h.get(&[1]),
            want[1]
        );
    }
}

#[test]
fn second_order_through_matmul_softmax_and_broadcasting() {
    // Hessian-vector product of a small softmax regression loss, against
    // finite differences of the (first-order) gradient.
    let w0 = Tensor::from_vec(vec![0.3, -0.2, 0.5, 0.1, -0.4, 0.2], &[2, 3]);
    let dir = Tensor::from_vec(vec![1.0, -0.5, 0.25, 0.5, 1.0, -1.0], &[2, 3]);
    fn loss_of<'t>(tape: &'t TensorTape<f64>, w: TensorVar<'t, f64>) -> TensorVar<'t, f64> {
        let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0, -1.0, 0.5], &[2, 2]));
        let b = tape.constant(Tensor::from_vec(vec![0.1, 0.0, -0.1], &[3]));
        let labels = Tensor::from_vec(vec![2_usize, 0], &[2, 1]);
        x.matmul(w)
            .add(b)
            .log_softmax(-1)
            .gather(1, &labels)
            .mean()
            .neg()
    }
    let grad_at = |w: &Tensor<f64>| {
        let tape = TensorTape::new();
        let wv = tape.leaf(w.clone());
        tape.grad(loss_of(&tape, wv), &[wv]).remove(0)
    };
    let tape = TensorTape::new();
    let w = tape.leaf(w0.clone());
    let [g] = tape.grad_graph(loss_of(&tape, w), &[w]).try_into().unwrap();
    let gv = g.mul(tape.constant(dir.clone())).sum();
    let [hv] = tape.grad(gv, &[w]).try_into().unwrap();
    let h = 1e-5;
    let numeric = grad_at(&(&w0 + &(&dir * h)))
        .sub(&grad_at(&(&w0 - &(&dir * h))))
        .scale(0.5 / h);
    assert!(hv.max_abs_diff(&numeric) < 1e-8, "{hv} vs {numeric}");
}
