//! Every scalar primitive (and composite) against central finite
//! differences, at random points across its domain, plus the edges of each
//! domain and the documented subgradients at kinks.

use autograd_core::{GradCheck, Tape, Var, gradcheck, scalar};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const POINTS: usize = 60;

fn check_unary(name: &str, f: impl for<'t> Fn(Var<'t>) -> Var<'t>, lo: f64, hi: f64, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..POINTS {
        let x = rng.random_range(lo..hi);
        if let Err(e) = gradcheck(|_, v| f(v[0]), &[x]) {
            panic!("{name}: {e}");
        }
    }
}

fn check_binary(
    name: &str,
    f: impl for<'t> Fn(Var<'t>, Var<'t>) -> Var<'t>,
    a: (f64, f64),
    b: (f64, f64),
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..POINTS {
        let x = [rng.random_range(a.0..a.1), rng.random_range(b.0..b.1)];
        if let Err(e) = gradcheck(|_, v| f(v[0], v[1]), &x) {
            panic!("{name}: {e}");
        }
    }
}

#[test]
fn unary_primitives_match_finite_differences() {
    check_unary("exp", |x| x.exp(), -5.0, 5.0, 1);
    check_unary("ln", |x| x.ln(), 1e-2, 50.0, 2);
    check_unary("ln_1p", |x| x.ln_1p(), -0.9, 20.0, 3);
    check_unary("sqrt", |x| x.sqrt(), 1e-2, 50.0, 4);
    check_unary("sin", |x| x.sin(), -10.0, 10.0, 5);
    check_unary("cos", |x| x.cos(), -10.0, 10.0, 6);
    check_unary("tan", |x| x.tan(), -1.4, 1.4, 7);
    check_unary("tanh", |x| x.tanh(), -6.0, 6.0, 8);
    check_unary("abs (negative side)", |x| x.abs(), -5.0, -1e-3, 9);
    check_unary("abs (positive side)", |x| x.abs(), 1e-3, 5.0, 10);
    check_unary("neg", |x| -x, -5.0, 5.0, 11);
    for n in -3i32..=4 {
        check_unary("powi", move |x| x.powi(n), 0.2, 3.0, (n + 15) as u64);
        check_unary(
            "powi (negative base)",
            move |x| x.powi(n),
            -3.0,
            -0.2,
            (n + 25) as u64,
        );
    }
    check_unary("powf(const)", |x| x.powf(2.7), 0.05, 4.0, 30);
    check_unary(
        "powf(const, negative exponent)",
        |x| x.powf(-1.3),
        0.05,
        4.0,
        31,
    );
}

#[test]
fn arithmetic_with_plain_numbers_matches_finite_differences() {
    check_unary("x + c", |x| x + 1.7, -5.0, 5.0, 40);
    check_unary("c + x", |x| 1.7 + x, -5.0, 5.0, 41);
    check_unary("x - c", |x| x - 1.7, -5.0, 5.0, 42);
    check_unary("c - x", |x| 1.7 - x, -5.0, 5.0, 43);
    check_unary("x * c", |x| x * -2.3, -5.0, 5.0, 44);
    check_unary("c * x", |x| -2.3 * x, -5.0, 5.0, 45);
    check_unary("x / c", |x| x / 0.37, -5.0, 5.0, 46);
    check_unary("c / x", |x| 0.37 / x, 0.1, 5.0, 47);
    check_unary("max(x, c)", |x| x.max(0.5), -5.0, 5.0, 48);
    check_unary("min(x, c)", |x| x.min(0.5), -5.0, 5.0, 49);
    check_unary(
        "x += c etc.",
        |x| {
            let mut y = x;
            y += 2.0;
            y *= x;
            y -= 0.5;
            y /= 3.0;
            y
        },
        -5.0,
        5.0,
        50,
    );
}

#[test]
fn binary_primitives_match_finite_differences() {
    check_binary("add", |x, y| x + y, (-5.0, 5.0), (-5.0, 5.0), 60);
    check_binary("sub", |x, y| x - y, (-5.0, 5.0), (-5.0, 5.0), 61);
    check_binary("mul", |x, y| x * y, (-5.0, 5.0), (-5.0, 5.0), 62);
    check_binary("div", |x, y| x / y, (-5.0, 5.0), (0.2, 5.0), 63);
    check_binary(
        "div (negative divisor)",
        |x, y| x / y,
        (-5.0, 5.0),
        (-5.0, -0.2),
        64,
    );
    check_binary("powf", |x, y| x.powf(y), (0.05, 4.0), (-3.0, 3.0), 65);
    check_binary("max", |x, y| x.max(y), (-5.0, 5.0), (-5.0, 5.0), 66);
    check_binary("min", |x, y| x.min(y), (-5.0, 5.0), (-5.0, 5.0), 67);
    check_binary(
        "x * x and x / x style reuse",
        |x, y| x * x + y / y * x,
        (-5.0, 5.0),
        (0.5, 5.0),
        68,
    );
    check_binary(
        "compound assignment",
        |x, y| {
            let mut z = x;
            z += y;
            z *= y;
            z -= x;
            z /= y;
            z
        },
        (-5.0, 5.0),
        (0.5, 5.0),
        69,
    );
}

#[test]
fn composites_match_finite_differences() {
    check_unary("sigmoid", |x| x.sigmoid(), -30.0, 30.0, 70);
    check_unary("softplus", |x| x.softplus(), -30.0, 30.0, 71);
    check_unary("relu (positive)", |x| x.relu(), 1e-3, 5.0, 72);
    check_unary("relu (negative)", |x| x.relu(), -5.0, -1e-3, 73);
    check_unary("square", |x| x.square(), -5.0, 5.0, 74);
    let mut rng = StdRng::seed_from_u64(75);
    for _ in 0..POINTS {
        let n = rng.random_range(1..9);
        let x: Vec<f64> = (0..n).map(|_| rng.random_range(-20.0..20.0)).collect();
        gradcheck(|_, v| scalar::logsumexp(v), &x).unwrap_or_else(|e| panic!("logsumexp: {e}"));
        gradcheck(|_, v| scalar::sum(v), &x).unwrap_or_else(|e| panic!("sum: {e}"));
    }
}

#[test]
fn domain_edges() {
    // ln and sqrt near 0: the step must stay inside the domain.
    for &x in &[1e-8, 1e-6, 1e-4] {
        GradCheck::new()
            .step(1e-3 * x)
            .run(|_, v| v[0].ln(), &[x])
            .unwrap();
        GradCheck::new()
            .step(1e-3 * x)
            .run(|_, v| v[0].sqrt(), &[x])
            .unwrap();
    }
    // At 0 exactly: sqrt has an infinite derivative, ln an infinite value.
    let tape = Tape::new();
    let z = tape.var(0.0);
    assert_eq!(z.sqrt().backward()[z], f64::INFINITY);
    assert_eq!(z.ln().value(), f64::NEG_INFINITY);
    // powf with a negative base and an integer exponent: the base derivative
    // is exact, the exponent derivative is NaN (not a real function of y).
    for &(x, y) in &[(-2.0, 3.0), (-1.5, 2.0), (-0.5, -1.0)] {
        GradCheck::new()
            .run(move |t, v| v[0].powf(t.constant(y)), &[x])
            .unwrap_or_else(|e| panic!("powf base at ({x}, {y}): {e}"));
        let tape = Tape::new();
        let (b, e) = (tape.var(x), tape.var(y));
        let g = b.powf(e).backward();
        assert_eq!(g[b], y * x.powf(y - 1.0));
        assert!(g[e].is_nan());
    }
    // powf at base 0: d/dy = 0 (the limit for y > 0), d/dx = 0 for y > 1.
    let tape = Tape::new();
    let (b, e) = (tape.var(0.0), tape.var(2.5));
    let g = b.powf(e).backward();
    assert_eq!((g[b], g[e]), (0.0, 0.0));
    // powi(0) has derivative 0 even at 0 (no 0 * inf).
    let x = tape.var(0.0);
    assert_eq!(x.powi(0).backward()[x], 0.0);
    assert_eq!(x.powf(0.0).backward()[x], 0.0);
    // tan near its pole: large but finite and correct.
    GradCheck::new()
        .step(1e-9)
        .run(|_, v| v[0].tan(), &[1.57])
        .unwrap();
    // sigmoid and softplus far out: no overflow, no NaN.
    for &x in &[-800.0, -40.0, 40.0, 800.0] {
        let tape = Tape::new();
        let v = tape.var(x);
        let (s, sp) = (v.sigmoid(), v.softplus());
        let (gs, gsp) = (s.backward()[v], sp.backward()[v]);
        assert!(s.value().is_finite() && sp.value().is_finite(), "{x}");
        assert!(gs.is_finite() && gsp.is_finite(), "{x}: {gs} {gsp}");
        let exact = 1.0 / (1.0 + (-x).exp());
        assert!((gsp - exact).abs() < 1e-15, "softplus' at {x}");
        assert!(
            (gs - exact * (1.0 - exact)).abs() < 1e-15,
            "sigmoid' at {x}"
        );
    }
    // logsumexp of huge and of all -inf inputs.
    let xs = tape.vars(&[1e308, 1e308]);
    assert!(scalar::logsumexp(&xs).value().is_finite());
    let xs = tape.vars(&[f64::NEG_INFINITY, f64::NEG_INFINITY]);
    assert_eq!(scalar::logsumexp(&xs).value(), f64::NEG_INFINITY);
}

#[test]
fn subgradients_at_kinks() {
    let tape = Tape::new();
    let x = tape.var(0.0);
    assert_eq!(x.abs().backward()[x], 0.0, "abs'(0) = 0");
    assert_eq!(x.relu().backward()[x], 0.0, "relu'(0) = 0, as PyTorch");
    let (a, b) = (tape.var(2.0), tape.var(2.0));
    let g = a.max(b).backward();
    assert_eq!((g[a], g[b]), (0.5, 0.5), "max at a tie splits");
    let g = a.min(b).backward();
    assert_eq!((g[a], g[b]), (0.5, 0.5), "min at a tie splits");
    let g = (a.max(b) + a.min(b)).backward();
    assert_eq!((g[a], g[b]), (1.0, 1.0), "max + min = a + b everywhere");
    assert_eq!(a.max(2.0).backward()[a], 0.5);
}

#[test]
fn f32_tape_agrees_with_f64() {
    fn f<'t, T: autograd_core::Real>(x: Var<'t, T>, y: Var<'t, T>) -> Var<'t, T> {
        (x * y).sin() + x.exp().mul_scalar(T::HALF) - (y.square().add_scalar(T::ONE)).ln()
            + x.tanh() / y
    }
    let t64 = Tape::new();
    let (x, y) = (t64.var(0.7), t64.var(-1.3));
    let g64 = f(x, y).backward().wrt_all(&[x, y]);
    let t32 = Tape::<f32>::default();
    let (x, y) = (t32.var(0.7), t32.var(-1.3));
    let g32 = f(x, y).backward().wrt_all(&[x, y]);
    for (a, b) in g64.iter().zip(&g32) {
        assert!(
            (a - *b as f64).abs() < 1e-5 * a.abs().max(1.0),
            "{a} vs {b}"
        );
    }
    assert_eq!(Tape::<f32>::bytes_per_node(), 16);
}

#[test]
fn custom_primitives_are_checked_like_built_in_ones() {
    // log1p_exp(x) = ln(1 + e^x), derivative sigmoid(x): right...
    fn log1p_exp<'t>(x: Var<'t>) -> Var<'t> {
        let v = x.value();
        let value = if v > 0.0 {
            v + (-v).exp().ln_1p()
        } else {
            v.exp().ln_1p()
        };
        x.tape()
            .custom_unary("log1p_exp", x, value, 1.0 / (1.0 + (-v).exp()))
    }
    check_unary("log1p_exp", log1p_exp, -30.0, 30.0, 80);
    // ...and with a wrong derivative the check fails, naming the input.
    let err = gradcheck(
        |t, v| {
            let x = v[1].value();
            t.custom_unary("bad_square", v[1], x * x, x) * v[0]
        },
        &[1.0, 3.0],
    )
    .unwrap_err();
    assert_eq!(err.input, 1);
    assert_eq!(err.analytic, 3.0);
    assert!((err.numeric - 6.0).abs() < 1e-6);
    let msg = err.to_string();
    assert!(
        msg.contains("input 1") && msg.contains("3e0") && msg.contains("relative error"),
        "{msg}"
    );
    // A binary custom op.
    check_binary(
        "hypot",
        |x, y| {
            let h = x.value().hypot(y.value());
            x.tape()
                .custom_binary("hypot", x, y, h, x.value() / h, y.value() / h)
        },
        (0.5, 3.0),
        (-3.0, -0.5),
        81,
    );
}
