//! Property tests on random programs: straight-line code with shared
//! subexpressions (a DAG, not a tree), drawn by a seeded generator. Each
//! program's tape gradient must match finite differences, and the other
//! ways of asking for derivatives must agree with each other.

use autograd_core::{GradCheck, Tape, Var};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One instruction: an operation on two earlier values (inputs or results).
/// Every operation maps values in [-2, 2] back into [-2, 2], so programs of
/// any length stay well-conditioned.
#[derive(Clone, Copy, Debug)]
struct Instr {
    op: u8,
    a: usize,
    b: usize,
}

const OPS: u8 = 14;

fn apply<'t>(op: u8, a: Var<'t>, b: Var<'t>) -> Var<'t> {
    match op {
        0 => (a + b) * 0.5,
        1 => (a - b) / 2.0,
        2 => a * b * 0.5,
        3 => a.sin(),
        4 => b.cos() + a * 0.0,
        5 => a.tanh() * b.tanh(),
        6 => a.tanh().exp() - 1.0,
        7 => a / (1.0 + b * b),
        8 => (1.0 + a * a).sqrt() - 1.0,
        9 => (a.square() + 1.0).ln(),
        10 => a.sigmoid() - b.sigmoid(),
        11 => a.softplus() - 1.0,
        12 => (1.0 + a * a).powf(b / 4.0) - 1.0,
        _ => -a.powi(2) / 2.0 + 1.0,
    }
}

fn random_program(rng: &mut StdRng, inputs: usize) -> Vec<Instr> {
    let len = rng.random_range(1..40);
    (0..len)
        .map(|k| {
            let avail = inputs + k;
            // Favour recent values so that programs are deep, not just wide.
            let pick = |rng: &mut StdRng| {
                if rng.random_bool(0.6) {
                    avail - 1 - rng.random_range(0..avail.min(3))
                } else {
                    rng.random_range(0..avail)
                }
            };
            Instr {
                op: rng.random_range(0..OPS),
                a: pick(rng),
                b: pick(rng),
            }
        })
        .collect()
}

/// Runs the program; returns every value (inputs first).
fn run<'t>(prog: &[Instr], inputs: &[Var<'t>]) -> Vec<Var<'t>> {
    let mut vals = inputs.to_vec();
    for ins in prog {
        let v = apply(ins.op, vals[ins.a], vals[ins.b]);
        vals.push(v);
    }
    vals
}

/// The output: the last value plus a fixed mix of two others, so that
/// several paths meet at the end.
fn output<'t>(vals: &[Var<'t>]) -> Var<'t> {
    let n = vals.len();
    vals[n - 1] + vals[n / 2] * 0.3 - vals[0] * vals[n - 1] * 0.1
}

fn cases() -> impl Iterator<Item = (Vec<Instr>, Vec<f64>)> {
    let mut rng = StdRng::seed_from_u64(0xA11CE);
    (0..300).map(move |_| {
        let inputs = rng.random_range(1..6);
        let prog = random_program(&mut rng, inputs);
        let x = (0..inputs).map(|_| rng.random_range(-2.0..2.0)).collect();
        (prog, x)
    })
}

#[test]
fn random_programs_match_finite_differences() {
    for (k, (prog, x)) in cases().enumerate() {
        GradCheck::new()
            .tolerance(1e-6)
            .run(|_, v| output(&run(&prog, v)), &x)
            .unwrap_or_else(|e| panic!("program {k} {prog:?} at {x:?}: {e}"));
    }
}

#[test]
fn all_ways_of_asking_agree() {
    for (prog, x) in cases().take(100) {
        let tape = Tape::new();
        let xs = tape.vars(&x);
        let vals = run(&prog, &xs);
        let y = output(&vals);
        let z = vals[vals.len() / 2].sin();

        let g = y.backward();
        // Asking again gives the same gradients.
        assert_eq!(g, tape.gradient(y));
        // The step-by-step sweep performs the same updates.
        let mut steps = tape.sweep_steps(y);
        steps.by_ref().for_each(drop);
        assert_eq!(steps.gradients().wrt_all(&xs), g.wrt_all(&xs));
        // A Jacobian row is a gradient.
        let jac = tape.jacobian(&[y, z], &xs);
        assert_eq!(jac[0], g.wrt_all(&xs));
        assert_eq!(jac[1], tape.gradient(z).wrt_all(&xs));
        // The vector-Jacobian product is linear in the seeds.
        let v = tape.vjp(&[(y, 2.5), (z, -0.75)]).wrt_all(&xs);
        for i in 0..xs.len() {
            let expect = 2.5 * jac[0][i] - 0.75 * jac[1][i];
            assert!(
                (v[i] - expect).abs() <= 1e-12 * expect.abs().max(1.0),
                "{} vs {}",
                v[i],
                expect
            );
        }
        // Intermediate adjoints are exposed too: d y / d y = 1.
        assert_eq!(g[y], 1.0);
    }
}

#[test]
fn re_recording_after_clear_gives_identical_gradients() {
    let mut tape = Tape::new();
    let mut first = Vec::new();
    for (prog, x) in cases().take(50) {
        let xs = tape.vars(&x);
        first.push(output(&run(&prog, &xs)).backward().wrt_all(&xs));
        tape.clear();
    }
    for ((prog, x), expect) in cases().take(50).zip(first) {
        let xs = tape.vars(&x);
        assert_eq!(output(&run(&prog, &xs)).backward().wrt_all(&xs), expect);
        tape.clear();
    }
}
