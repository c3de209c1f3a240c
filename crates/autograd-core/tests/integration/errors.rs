//! Bad input: clear errors that name the operation and the values, and no
//! corrupted state afterwards.

use std::panic::{AssertUnwindSafe, catch_unwind};

use autograd_core::{GradientError, Gradients, Tape, scalar};

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn mixing_two_tapes_is_a_clear_error() {
    let (t1, t2) = (Tape::new(), Tape::new());
    let (x, y) = (t1.var(1.0), t2.var(2.0));
    for (name, f) in [
        (
            "mul",
            Box::new(|| {
                let _ = x * y;
            }) as Box<dyn Fn()>,
        ),
        (
            "add",
            Box::new(|| {
                let _ = x + y;
            }),
        ),
        (
            "sub",
            Box::new(|| {
                let _ = x - y;
            }),
        ),
        (
            "div",
            Box::new(|| {
                let _ = x / y;
            }),
        ),
        (
            "max",
            Box::new(|| {
                let _ = x.max(y);
            }),
        ),
        (
            "powf",
            Box::new(|| {
                let _ = x.powf(y);
            }),
        ),
    ] {
        let msg = panic_message(f);
        assert!(msg.starts_with(name), "{name}: {msg}");
        assert!(msg.contains("two different tapes"), "{msg}");
    }
    // Nothing was recorded by the failed operations.
    assert_eq!((t1.len(), t2.len()), (1, 1));
    // The tapes still work.
    assert_eq!((x * x).backward()[x], 2.0);
    let msg = panic_message(|| {
        let _ = t1.gradient(y);
    });
    assert!(msg.contains("gradient seed"), "{msg}");
    let msg = panic_message(|| {
        let _ = t1.custom_unary("twice", y, 4.0, 2.0);
    });
    assert!(msg.starts_with("twice"), "{msg}");
}

#[test]
fn gradient_of_a_variable_not_on_the_tape_is_a_clear_error() {
    let (t1, t2) = (Tape::new(), Tape::new());
    let x = t1.var(1.0);
    let other = t2.var(3.0);
    let g = x.exp().backward();
    let err = g.get(other).unwrap_err();
    assert!(matches!(
        err,
        GradientError::ForeignVariable { index: 0, .. }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("gradient of v0") && msg.contains("different tape"),
        "{msg}"
    );
    let msg = panic_message(|| {
        let _ = g[other];
    });
    assert!(msg.contains("different tape"), "{msg}");

    // Recorded after the sweep.
    let late = t1.var(2.0);
    let err = g.get(late).unwrap_err();
    assert_eq!(
        err,
        GradientError::RecordedAfterSweep {
            index: 2,
            covered: 2
        }
    );
    assert!(
        err.to_string().contains("recorded after these gradients"),
        "{err}"
    );
    let msg = panic_message(|| {
        let _ = g.wrt(late);
    });
    assert!(msg.contains("v2"), "{msg}");

    // An empty gradient buffer covers nothing.
    let empty = Gradients::new();
    assert!(empty.get(x).is_err());
}

#[test]
fn gradients_from_before_clear_do_not_answer_for_new_variables() {
    let mut tape = Tape::new();
    let g = {
        let x = tape.var(1.0);
        (x * 3.0).backward()
    };
    tape.clear();
    let x = tape.var(5.0);
    // Same index as the old x, but a new recording: refused.
    assert!(matches!(
        g.get(x),
        Err(GradientError::ForeignVariable { .. })
    ));
}

#[test]
fn nan_and_infinity_propagate_without_panics() {
    let tape = Tape::new();
    let nan = tape.var(f64::NAN);
    let inf = tape.var(f64::INFINITY);
    let x = tape.var(2.0);
    let y = nan * x + inf.exp() + x.max(nan) + nan.abs() + nan.sigmoid() + nan.relu();
    assert!(y.value().is_nan());
    let g = y.backward();
    assert!(g[x].is_nan());
    assert!(g[nan].is_nan());
    // A NaN that the output does not depend on leaves its gradient alone.
    let tape = Tape::new();
    let x = tape.var(0.0);
    let _unused = x.sqrt() * f64::NAN;
    let y = x * 2.0;
    assert_eq!(y.backward()[x], 2.0);
    // Infinite intermediate values.
    let tape = Tape::new();
    let x = tape.var(1000.0);
    let y = x.exp();
    assert_eq!(y.value(), f64::INFINITY);
    assert_eq!(y.backward()[x], f64::INFINITY);
    let y = 1.0 / x.exp();
    assert_eq!(y.value(), 0.0);
    // d(1/u)/du = -0/inf = -0 here, so the sweep skips the exp node and the
    // gradient is the true limit 0 rather than -0 * inf = NaN.
    assert_eq!(y.backward()[x], 0.0);
    // Division by zero.
    let z = tape.var(0.0);
    let q = x / z;
    assert_eq!(q.value(), f64::INFINITY);
    let g = q.backward();
    assert_eq!(g[x], f64::INFINITY);
    assert!(g[z].is_nan() || g[z].is_infinite());
    // Gradcheck reports a non-finite gradient instead of passing.
    let err = autograd_core::gradcheck(|_, v| v[0].sqrt(), &[0.0]).unwrap_err();
    assert!(err.error.is_nan());
}

#[test]
fn empty_slices_are_clear_errors() {
    let msg = panic_message(|| {
        let _ = scalar::sum::<f64>(&[]);
    });
    assert!(msg.starts_with("sum: empty slice"), "{msg}");
    let msg = panic_message(|| {
        let _ = scalar::logsumexp::<f64>(&[]);
    });
    assert!(msg.starts_with("logsumexp: empty slice"), "{msg}");
}

#[test]
fn tracing_cannot_be_turned_on_half_way() {
    let mut tape = Tape::new();
    let _ = tape.var(1.0);
    assert!(!tape.set_traced(true), "earlier nodes have no trace");
    assert!(!tape.is_traced());
    tape.clear();
    assert!(tape.set_traced(true));
    let x = tape.var(1.0);
    assert!(tape.to_string().contains("input"));
    let _ = x;
}
