//! Statements (`Tape::statement`): a whole expression recorded as one node,
//! its partials carried through the expression in forward mode. Checked
//! against the operation-by-operation tape for every operation, against
//! finite differences, and for its errors and edge cases.

use autograd_core::{Scalar, Tape, Var, gradcheck, scalar::Local};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Every operation a `Local` has, written once for both `Var` and `Local`
/// (their methods share names).
macro_rules! every_op {
    ($x:expr, $y:expr) => {{
        let (x, y) = ($x, $y);
        let c = 0.75;
        let p = x * y + (x - y) / (y * y + c) - (-x) + 2.0 * x - 3.0 / (y * y + 1.0) + (c - x);
        let r = (x * x + c).ln() + (y * y + c).sqrt() + (x * c).exp() + (x * x).ln_1p();
        let s = p.powi(3) + r.powi(2) + (x * x + c).pow_scalar(c) + (x * 0.3).tan();
        let t = x.sin() * y.cos() + y.tanh() + x.abs() + x.max(y) + x.min(y) - p / 4.0;
        s + t * r
    }};
}

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn statement_gradients_equal_the_operation_by_operation_tape_for_every_operation() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut tape = Tape::new();
    for _ in 0..300 {
        let (a, b) = (rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0));
        let (x, y) = (tape.var(a), tape.var(b));
        let by_op = every_op!(x, y);
        let before = tape.len();
        let fused = tape.statement([x, y], |[x, y]| every_op!(x, y));
        assert_eq!(tape.len() - before, 1);
        assert!(rel_err(fused.value(), by_op.value()) < 1e-14);
        let (g1, g2) = (by_op.backward(), fused.backward());
        for v in [x, y] {
            let e = rel_err(g1[v], g2[v]);
            assert!(
                e < 1e-12,
                "a={a} b={b}: by op {} vs statement {} (rel {e:e})",
                g1[v],
                g2[v]
            );
        }
        tape.clear();
    }
}

#[test]
fn x_to_the_y_in_a_statement() {
    let tape = Tape::new();
    let (x, y) = (tape.var(1.7), tape.var(-0.4));
    let by_op = x.powf(y).backward();
    let g = tape.statement([x, y], |[x, y]| x.pow(y)).backward();
    assert!(rel_err(g[x], by_op[x]) < 1e-15 && rel_err(g[y], by_op[y]) < 1e-15);
}

/// The S1 term written once over `Scalar`.
fn rosenbrock<S: Scalar>(a: S, b: S) -> S {
    let d = b - a * a;
    let e = a * -1.0 + 1.0;
    d * d * 100.0 + e * e
}

#[test]
fn statements_pass_gradcheck_with_one_two_three_and_five_inputs() {
    let mut rng = StdRng::seed_from_u64(9);
    for _ in 0..20 {
        let x: Vec<f64> = (0..5).map(|_| rng.random_range(-1.5..1.5)).collect();
        gradcheck(
            |tape, v| {
                let one = tape.statement([v[0]], |[a]| (a * a + 1.0).ln() * a.sin());
                let two = tape.statement([v[1], v[2]], |[a, b]| rosenbrock(a, b));
                let three = tape.statement([v[2], v[3], one], |[a, b, c]| {
                    (a * b).tanh() * c + a / (c * c + 2.0)
                });
                let five = tape.statement([v[0], v[1], v[2], v[3], v[4]], |[a, b, c, d, e]| {
                    (a * b - c).exp() / (d * d + 1.0) + e * a
                });
                two + three * five
            },
            &x,
        )
        .unwrap();
    }
}

#[test]
fn more_than_two_inputs_record_a_chain_of_n_minus_one_nodes() {
    let tape = Tape::new();
    let v = tape.vars(&[1.0, 2.0, 3.0, 4.0]);
    let before = tape.len();
    let y = tape.statement([v[0], v[1], v[2], v[3]], |[a, b, c, d]| a * b * c * d);
    assert_eq!(tape.len() - before, 3);
    assert_eq!(y.value(), 24.0);
    let g = y.backward();
    assert_eq!(g.wrt_all(&v), vec![24.0, 12.0, 8.0, 6.0]);
}

#[test]
fn one_input_twice_and_no_inputs() {
    let tape = Tape::new();
    let x = tape.var(3.0);
    let y = tape.statement([x, x], |[a, b]| a * b);
    assert_eq!(y.backward()[x], 6.0);
    let before = tape.len();
    let c = tape.statement([], |[]| Local::<f64, 0>::constant(2.5));
    assert_eq!((c.value(), tape.len() - before), (2.5, 1));
    assert_eq!((c * x).backward()[x], 2.5);
}

#[test]
fn a_statement_on_an_f32_tape() {
    let tape = Tape::<f32>::default();
    let (x, y) = (tape.var(0.5), tape.var(2.0));
    let z = tape.statement([x, y], |[x, y]| 1.0 - x * y + 2.0 / y + x.exp() * 3.0);
    let g = z.backward();
    assert!((g[x] - (-2.0 + 0.5f32.exp() * 3.0)).abs() < 1e-6);
    assert!((g[y] - (-0.5 - 0.5)).abs() < 1e-6);
}

#[test]
#[should_panic(expected = "statement: variables from two different tapes")]
fn inputs_from_another_tape_are_refused() {
    let (t1, t2) = (Tape::new(), Tape::new());
    let (x, y) = (t1.var(1.0), t2.var(2.0));
    let _ = t1.statement([x, y], |[a, b]| a + b);
}

#[test]
fn nan_propagates_without_panicking() {
    let tape = Tape::new();
    let x = tape.var(-1.0);
    let y = tape.statement([x], |[a]| a.ln() * 2.0);
    assert!(y.value().is_nan());
    assert!(y.backward()[x].is_finite()); // d/dx 2 ln x = 2/x, finite; the value is NaN
    let z = tape.statement([x], |[a]| a.sqrt());
    assert!(z.value().is_nan() && z.backward()[x].is_nan());
}

#[test]
fn a_traced_tape_shows_one_row_and_refuses_to_replay() {
    let tape = Tape::traced();
    let x = tape.var(0.5).named("x");
    let y = tape.statement([x], |[a]| a.sin() * a);
    let listing = tape.wengert(None).to_string();
    assert!(listing.contains("statement(x)"), "{listing}");
    let err = tape.replay(&[(x, 0.7)]).unwrap_err().to_string();
    assert!(
        err.contains("statement") && err.contains("custom primitive"),
        "{err}"
    );
    assert_eq!(y.value(), 0.5f64.sin() * 0.5);
}

#[test]
fn s1_by_statements_equals_the_analytic_gradient() {
    let x: Vec<f64> = (0..1000)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect();
    let tape = Tape::new();
    let xs: Vec<Var> = tape.vars(&x);
    let mut s = tape.constant(0.0);
    for i in 0..x.len() - 1 {
        s += tape.statement([xs[i], xs[i + 1]], |[a, b]| rosenbrock(a, b));
    }
    assert!(
        rel_err(
            s.value(),
            (0..x.len() - 1).map(|i| rosenbrock(x[i], x[i + 1])).sum()
        ) < 1e-14
    );
    let g = s.backward().wrt_all(&xs);
    let mut analytic = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        analytic[i] += -400.0 * x[i] * a - 2.0 * (1.0 - x[i]);
        analytic[i + 1] += 200.0 * a;
    }
    for (i, (g, a)) in g.iter().zip(&analytic).enumerate() {
        assert!(rel_err(*g, *a) < 1e-13, "x[{i}]: {g} vs {a}");
    }
}

/// One instruction of a random straight-line program over `Scalar`: an
/// operation on two earlier values, mapping [-2, 2] back into [-2, 2].
fn instr<S: Scalar>(op: u32, a: S, b: S) -> S {
    match op {
        0 => (a + b) * 0.5,
        1 => (a - b) / 2.0,
        2 => a * b * 0.5,
        3 => a.sin(),
        4 => b.cos() + a * 0.0,
        5 => a.tanh() * b.tanh(),
        6 => a.tanh().exp() - 1.0,
        7 => a / (b * b + 1.0),
        8 => (a * a + 1.0).sqrt() - 1.0,
        9 => (a * a + 1.0).ln(),
        _ => (a * a + 1.0).powf(0.75) - 1.0,
    }
}

/// Runs a program on three inputs; returns the last value plus a mix of
/// two others, so that several paths meet at the end. `step` evaluates one
/// instruction (directly, or as a statement of its two operands).
fn program<S: Scalar>(
    prog: &[(u32, usize, usize)],
    x: [S; 3],
    mut step: impl FnMut(u32, S, S) -> S,
) -> S {
    let mut vals = x.to_vec();
    for &(op, a, b) in prog {
        let v = step(op, vals[a], vals[b]);
        vals.push(v);
    }
    let n = vals.len();
    vals[n - 1] + vals[n / 2] * 0.3 - vals[0] * vals[n - 1] * 0.1
}

#[test]
fn random_programs_agree_by_operation_by_instruction_statements_and_as_one_statement() {
    let mut rng = StdRng::seed_from_u64(21);
    let mut tape = Tape::new();
    for case in 0..200 {
        let len = rng.random_range(1..30);
        let prog: Vec<(u32, usize, usize)> = (0..len)
            .map(|k| {
                let avail = 3 + k;
                let mut pick = || avail - 1 - rng.random_range(0..avail.min(4));
                let (a, b) = (pick(), pick());
                (rng.random_range(0..11), a, b)
            })
            .collect();
        let x0: [f64; 3] = std::array::from_fn(|_| rng.random_range(-2.0..2.0));
        let x = [tape.var(x0[0]), tape.var(x0[1]), tape.var(x0[2])];
        let by_op = program(&prog, x, instr).backward().wrt_all(&x);
        let t = &tape;
        let by_instr = program(&prog, x, |op, a, b| {
            t.statement([a, b], |[a, b]| instr(op, a, b))
        })
        .backward()
        .wrt_all(&x);
        let before = tape.len();
        let whole = tape.statement(x, |x| program(&prog, x, instr));
        assert_eq!(tape.len() - before, 2);
        let whole = whole.backward().wrt_all(&x);
        for i in 0..3 {
            for other in [by_instr[i], whole[i]] {
                let e = (by_op[i] - other).abs() / by_op[i].abs().max(1e-3);
                assert!(
                    e < 1e-11,
                    "case {case}, x{i}: {} vs {other} ({prog:?} at {x0:?})",
                    by_op[i]
                );
            }
        }
        tape.clear();
    }
}
