//! Solutions to the exercises of docs/10-exercises.md.

use autograd::nn::{Forward, Linear, Module, Optimizer, Reduction, Sgd, mse_loss};
use autograd::tensor::hvp;
use autograd::{Algebra, CustomOp, Real, Tensor, TensorTape, TensorVar, tensor_gradcheck};
use rand::SeedableRng;
use rand::rngs::StdRng;

// ---- Exercise 1: hypot as a primitive -------------------------------------

struct Hypot;

impl<T: Real> CustomOp<T> for Hypot {
    fn name(&self) -> &str {
        "hypot"
    }

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        // Elementwise with broadcasting: reuse the tensor ops for the shapes.
        x[0].mul(x[0]).add(&x[1].mul(x[1])).sqrt()
    }

    fn vjp<V: Algebra<T>>(&self, x: &[&V], h: &V, grad: &V) -> Vec<Option<V>> {
        // d h / d x = x / h, d h / d y = y / h. At h = 0 both are 0/0; like
        // torch.hypot we return 0 there (a subgradient: any unit vector's
        // components would do, 0 is the symmetric choice). Where h = 0 we
        // divide by 1 instead (then x = y = 0 makes the result 0); the bump
        // is a constant, so h's own dependence on x and y, which second
        // derivatives need, is kept.
        let bump = h.lift(
            h.value()
                .map(|v| if v == T::ZERO { T::ONE } else { T::ZERO }),
        );
        let g_over_h = grad.div(&h.add(&bump));
        vec![Some(g_over_h.mul(x[0])), Some(g_over_h.mul(x[1]))]
    }
}

#[test]
fn exercise_1_hypot_passes_the_gradient_check_with_broadcasting() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::<f64>::rand_uniform(&[3, 4], 0.2, 2.0, &mut rng);
    let y = Tensor::<f64>::rand_uniform(&[4], -2.0, -0.2, &mut rng);
    let err = tensor_gradcheck(
        |_, v| TensorVar::custom(Hypot, &[v[0], v[1]]).sum(),
        &[x, y],
    )
    .expect("hypot's VJP agrees with finite differences");
    assert!(err < 1e-6);
}

#[test]
fn exercise_1_hypot_has_second_derivatives_too() {
    // d²/dx² hypot(x, y) = y² / h³.
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::scalar(3.0_f64));
    let y = tape.leaf(Tensor::scalar(4.0_f64));
    let h = TensorVar::custom(Hypot, &[x, y]);
    let [dx] = tape.grad_graph(h, &[x]).try_into().unwrap();
    assert!((dx.item() - 0.6).abs() < 1e-15);
    let [dxx] = tape.grad_graph(dx, &[x]).try_into().unwrap();
    assert!((dxx.item() - 16.0 / 125.0).abs() < 1e-15);
}

#[test]
fn exercise_1_hypot_at_the_origin_has_gradient_zero() {
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::scalar(0.0_f64));
    let y = tape.leaf(Tensor::scalar(0.0_f64));
    let g = TensorVar::custom(Hypot, &[x, y]).backward();
    assert_eq!((g[x].item(), g[y].item()), (0.0, 0.0));
}

// ---- Exercise 2: momentum by hand ------------------------------------------

#[test]
fn exercise_2_hand_written_momentum_matches_the_library() {
    let (lr, mu) = (0.05, 0.9);
    let mut rng = StdRng::seed_from_u64(2);
    let x = Tensor::<f64>::rand_uniform(&[16, 3], -1.0, 1.0, &mut rng);
    let true_w = Tensor::from_vec(vec![1.5, -2.0, 0.5], &[1, 3]);
    let y = x.matmul_transposed(&true_w).add_scalar(0.3);

    let mut model = Linear::<f64>::new(3, 1, &mut rng);
    let state = model.state_dict();
    let (mut w, mut b) = (state["weight"].to_vec(), state["bias"].to_vec());
    let (mut vw, mut vb) = (vec![0.0; 3], vec![0.0; 1]);
    let mut opt = Sgd::new(lr).momentum(mu);
    let mut first_velocity = None;

    for step in 0..150 {
        // The library.
        let tape = TensorTape::new();
        let loss = mse_loss(
            model.forward(tape.constant(x.clone())),
            tape.constant(y.clone()),
            Reduction::Mean,
        );
        let grads = model.gradients(&loss.backward());
        opt.step(&mut model, &grads);

        // By hand: gradients from the tape, the update in plain loops.
        let tape = TensorTape::new();
        let wv = tape.leaf(Tensor::from_vec(w.clone(), &[1, 3]));
        let bv = tape.leaf(Tensor::from_vec(b.clone(), &[1]));
        let pred = tape.constant(x.clone()).matmul_transposed(wv).add(bv);
        let loss = mse_loss(pred, tape.constant(y.clone()), Reduction::Mean);
        let g = loss.backward();
        for (p, (v, gi)) in w.iter_mut().zip(vw.iter_mut().zip(g[wv].to_vec())) {
            *v = mu * *v + gi; // PyTorch's convention: v starts at g, no (1 - mu)
            *p -= lr * *v;
        }
        for (p, (v, gi)) in b.iter_mut().zip(vb.iter_mut().zip(g[bv].to_vec())) {
            *v = mu * *v + gi;
            *p -= lr * *v;
        }
        if step == 0 {
            first_velocity = Some((vw.clone(), g[wv].to_vec()));
        }
    }
    let (v1, g1) = first_velocity.unwrap();
    assert_eq!(v1, g1, "after one step the velocity is the gradient");
    let state = model.state_dict();
    for (a, e) in state["weight"]
        .to_vec()
        .iter()
        .zip(&w)
        .chain(state["bias"].to_vec().iter().zip(&b))
    {
        assert!((a - e).abs() < 1e-12, "library {a} vs hand {e}");
    }
    // And it learned the line.
    assert!(
        (w[0] - 1.5).abs() < 0.1 && (b[0] - 0.3).abs() < 0.1,
        "w {w:?} b {b:?}"
    );
}

// ---- Exercise 3: a Hessian-vector product by hand ----------------------------

fn data() -> (Tensor<f64>, Tensor<f64>) {
    let mut rng = StdRng::seed_from_u64(3);
    let x = Tensor::<f64>::rand_uniform(&[20, 4], -1.0, 1.0, &mut rng);
    let labels: Vec<f64> = (0..20)
        .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 })
        .collect();
    (x, Tensor::from_vec(labels, &[20, 1]))
}

/// f(w) = sum_i ln(1 + exp(-y_i x_i . w)), w of shape [4, 1].
fn logistic<'t>(w: TensorVar<'t, f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> TensorVar<'t, f64> {
    let tape = w.tape();
    let margins = tape
        .constant(x.clone())
        .matmul(w)
        .mul(tape.constant(y.clone()));
    margins.neg().exp().add_scalar(1.0).ln().sum()
}

fn gradient_at(w: &Tensor<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> Vec<f64> {
    let tape = TensorTape::new();
    let wv = tape.leaf(w.clone());
    logistic(wv, x, y).backward()[wv].to_vec()
}

#[test]
fn exercise_3_hvp_by_hand_three_ways() {
    let (x, y) = data();
    let w = Tensor::from_vec(vec![0.3, -0.2, 0.5, 0.1], &[4, 1]);
    let v = Tensor::from_vec(vec![1.0, -1.0, 0.5, 2.0], &[4, 1]);

    // By hand: record the gradient, dot with v, sweep again.
    let tape = TensorTape::new();
    let wv = tape.leaf(w.clone());
    let [g] = tape
        .grad_graph(logistic(wv, &x, &y), &[wv])
        .try_into()
        .unwrap();
    let gv = g.mul(tape.constant(v.clone())).sum();
    let hv = gv.backward()[wv].to_vec();

    // 1. The library's hvp.
    let lib = hvp(|w| logistic(w, &x, &y), &w, &v).to_vec();
    for (a, b) in hv.iter().zip(&lib) {
        assert!((a - b).abs() < 1e-14);
    }

    // 2. The closed form H = Xᵀ diag(s (1 - s)) X, s = sigmoid(margin).
    let m = x.matmul(&w).mul(&y).to_vec();
    let xs = x.to_vec();
    let vs = v.to_vec();
    let mut closed = [0.0; 4];
    for i in 0..20 {
        let s = 1.0 / (1.0 + (-m[i]).exp());
        let xv: f64 = (0..4).map(|k| xs[4 * i + k] * vs[k]).sum();
        for j in 0..4 {
            closed[j] += s * (1.0 - s) * xs[4 * i + j] * xv; // y_i^2 = 1
        }
    }
    for (a, b) in hv.iter().zip(&closed) {
        assert!((a - b).abs() < 1e-13, "{a} vs {b}");
    }

    // 3. Central differences of the gradient along v.
    let eps = 1e-5;
    let plus = gradient_at(&w.add(&v.scale(eps)), &x, &y);
    let minus = gradient_at(&w.sub(&v.scale(eps)), &x, &y);
    for j in 0..4 {
        let fd = (plus[j] - minus[j]) / (2.0 * eps);
        assert!((hv[j] - fd).abs() < 1e-7, "{} vs {fd}", hv[j]);
    }
}
