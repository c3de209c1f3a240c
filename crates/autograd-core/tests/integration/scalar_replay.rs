//! Record once, replay many on the scalar tape: replayed values and
//! gradients equal a fresh recording's bit for bit, for every primitive;
//! branches the code took are checked; what cannot be replayed is refused
//! with a clear error before anything changes.

use crate::common;

use autograd_core::{Gradients, ReplayError, Tape, Var, scalar};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Every primitive once, with no branch on the inputs' values except
/// through the guarded built-ins (sigmoid, softplus).
fn every_op<'t>(x: Var<'t>, y: Var<'t>) -> Var<'t> {
    let c = 0.75;
    let p = x * y + (x - y) / (y * y + c) - (-x);
    let q = p
        .add_scalar(c)
        .sub_scalar(c)
        .rsub_scalar(c)
        .mul_scalar(c)
        .div_scalar(c);
    let r = q.rdiv_scalar(c).exp().ln_1p() + (x * x + c).ln() + (y * y + c).sqrt();
    let s = r.powi(3) + r.powi(2) + r.powi(1) + r.powi(0) + (x * x + c).pow_scalar(c);
    let t = (x * x + c).powf(y) + x.sin() * y.cos() + (x * c).tan() + y.tanh();
    let u = x.abs() + y.relu() + x.max(y) + x.min(y) + x.max_scalar(c) + y.min_scalar(c);
    let v = x.sigmoid() + y.softplus() + x.square();
    s + t + u + v
}

fn record_f64<'t>(tape: &'t Tape, a: f64, b: f64) -> (Var<'t>, Var<'t>, Var<'t>) {
    let x = tape.var(a);
    let y = tape.var(b);
    (x, y, every_op(x, y))
}

#[test]
fn replay_equals_recording_bit_for_bit_for_every_primitive() {
    let mut rng = StdRng::seed_from_u64(11);
    let (a0, b0) = (0.4, 0.9);
    let tape = Tape::traced();
    let (x, y, f) = record_f64(&tape, a0, b0);
    let mut g = Gradients::new();
    let mut replays = 0;
    for _ in 0..200 {
        let (a, b): (f64, f64) = (rng.random_range(0.05..1.5), rng.random_range(0.05..1.5));
        // x, y > 0 keep the branches sigmoid, softplus and relu recorded;
        // max, min and abs are not branches and re-pick on replay.
        tape.replay(&[(x, a), (y, b)]).unwrap();
        replays += 1;
        tape.gradient_into(f, &mut g);
        let fresh = Tape::new();
        let (fx, fy, ff) = record_f64(&fresh, a, b);
        let fg = ff.backward();
        assert_eq!(
            f.value().to_bits(),
            ff.value().to_bits(),
            "value at ({a}, {b})"
        );
        assert_eq!(g[x].to_bits(), fg[fx].to_bits(), "d/dx at ({a}, {b})");
        assert_eq!(g[y].to_bits(), fg[fy].to_bits(), "d/dy at ({a}, {b})");
    }
    assert_eq!(replays, 200);
}

#[test]
fn max_min_and_abs_recompute_their_choice_without_a_guard() {
    // Not control flow: the primitive itself picks, so replay re-picks.
    let tape = Tape::traced();
    let (x, y) = (tape.var(1.0), tape.var(2.0));
    let f = x.max(y) * 3.0 + x.abs() + y.min(0.5);
    tape.replay(&[(x, 5.0), (y, -2.0)]).unwrap();
    let g = f.backward();
    assert_eq!(f.value(), 15.0 + 5.0 - 2.0);
    assert_eq!((g[x], g[y]), (3.0 + 1.0, 1.0));
}

#[test]
fn relu_guards_the_mask_it_reads_off_the_value() {
    // relu is a composite, x times a mask read off the value: a branch.
    let tape = Tape::traced();
    let x = tape.var(2.0);
    let r = x.relu();
    tape.replay(&[(x, 3.0)]).unwrap();
    assert_eq!((r.value(), r.backward()[x]), (3.0, 1.0));
    assert!(matches!(
        tape.replay(&[(x, -1.0)]),
        Err(ReplayError::BranchChanged { .. })
    ));
}

#[test]
fn a_changed_branch_is_refused_with_the_line_that_branched() {
    let source = include_str!("scalar_replay.rs");
    let tape = Tape::traced();
    let x = tape.var(-2.0);
    let y = if x.guard_lt(0.0) { x * x } else { x * 3.0 };
    assert_eq!(y.backward()[x], -4.0);
    tape.replay(&[(x, -1.0)]).unwrap();
    assert_eq!((y.value(), y.backward()[x]), (1.0, -2.0));
    let e = tape.replay(&[(x, 1.0)]).unwrap_err();
    let ReplayError::BranchChanged { node, location } = e else {
        panic!("{e:?}")
    };
    assert_eq!(node, x.index());
    assert_eq!(location.file(), file!());
    assert_eq!(
        location.line(),
        common::line_of(
            source,
            "let y = if x.guard_lt(0.0) { x * x } else { x * 3.0 };"
        )
    );
    assert!(e.to_string().contains("re-record"), "{e}");
}

#[test]
fn sigmoid_guards_its_own_branch() {
    let tape = Tape::traced();
    let x = tape.var(0.5);
    let s = x.sigmoid();
    tape.replay(&[(x, 3.0)]).unwrap();
    assert_eq!(s.value(), 1.0 / (1.0 + (-3.0_f64).exp()));
    assert!(matches!(
        tape.replay(&[(x, -3.0)]),
        Err(ReplayError::BranchChanged { .. })
    ));
}

#[test]
fn what_cannot_be_replayed_is_refused_before_anything_changes() {
    let plain = Tape::new();
    let x = plain.var(1.0);
    let _ = x * 2.0;
    assert_eq!(plain.replay(&[(x, 2.0)]), Err(ReplayError::NotTraced));

    let tape = Tape::traced();
    let x = tape.var(1.0);
    let y = x * 2.0;
    assert_eq!(
        tape.replay(&[(y, 2.0)]),
        Err(ReplayError::NotAnInput { node: 1 })
    );
    assert_eq!(y.value(), 2.0, "nothing changed");

    let cube = tape.custom_unary("cube", y, 8.0, 12.0);
    let e = tape.replay(&[(x, 3.0)]).unwrap_err();
    assert_eq!(
        e,
        ReplayError::NotReplayable {
            node: cube.index(),
            op: "cube"
        }
    );
    assert!(e.to_string().contains("cube"), "{e}");
    assert_eq!((x.value(), y.value()), (1.0, 2.0), "nothing changed");
}

#[test]
fn a_variable_of_another_tape_is_refused_at_the_callers_line() {
    let a = Tape::traced();
    let b = Tape::traced();
    let x = a.var(1.0);
    let _ = b.var(1.0) * 2.0;
    let (msg, file, line) = common::panic_of(|| {
        let _ = b.replay(&[(x, 2.0)]);
    });
    assert!(
        msg.starts_with("replay") && msg.contains("two different tapes"),
        "{msg}"
    );
    assert_eq!(file, file!());
    let source = include_str!("scalar_replay.rs");
    assert_eq!(
        line,
        common::line_of(source, "let _ = b.replay(&[(x, 2.0)]);")
    );
}

#[test]
fn f32_tapes_replay_too() {
    let tape = Tape::<f32>::default();
    let mut tape = tape;
    assert!(tape.set_traced(true));
    let x = tape.var(0.5);
    let y = tape.var(2.0);
    let f = scalar::sum(&[x * y, x.exp(), y.ln()]);
    tape.replay(&[(x, 1.5), (y, 3.0)]).unwrap();
    let g = f.backward();
    let fresh = Tape::<f32>::default();
    let (fx, fy) = (fresh.var(1.5), fresh.var(3.0));
    let ff = scalar::sum(&[fx * fy, fx.exp(), fy.ln()]);
    let fg = ff.backward();
    assert_eq!(f.value(), ff.value());
    assert_eq!((g[x], g[y]), (fg[fx], fg[fy]));
}

#[test]
fn gradients_from_before_a_replay_stay_valid_for_the_same_variables() {
    // Replay keeps the tape's variables; only values and partials change.
    let tape = Tape::traced();
    let x = tape.var(2.0);
    let f = x * x;
    let before = f.backward();
    tape.replay(&[(x, 3.0)]).unwrap();
    let after = f.backward();
    assert_eq!((before[x], after[x]), (4.0, 6.0));
}

#[test]
fn recording_after_a_replay_uses_the_replayed_values() {
    // `y` still carries 4.0 in its handle; the node recorded next must be
    // computed from the replayed 9.0.
    let tape = Tape::traced();
    let x = tape.var(2.0);
    let y = x * x;
    tape.replay(&[(x, 3.0)]).unwrap();
    let z = y * 2.0 + x.sin();
    assert_eq!(z.value(), 18.0 + 3.0_f64.sin());
    assert_eq!(z.backward()[x], 12.0 + 3.0_f64.cos());
}
