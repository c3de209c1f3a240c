//! Seeing the tape: the Wengert list, the step-through sweep, DOT export.

use autograd_core::Tape;
use autograd_core::scalar::Op;

#[test]
fn wengert_list_of_the_teaching_example() {
    let tape = Tape::traced();
    let x = tape.var(0.5).named("x");
    let y = tape.var(4.2).named("y");
    let f = (x * y + x.sin()).named("f");
    let before = tape.to_string();
    assert_eq!(
        before,
        "node  operation  value     local partials\n\
         v0 x  input      0.5\n\
         v1 y  input      4.2\n\
         v2    x * y      2.1       d/dv0 = 4.2, d/dv1 = 0.5\n\
         v3    sin(x)     0.479426  d/dv0 = 0.877583\n\
         v4 f  v2 + v3    2.579426  d/dv2 = 1, d/dv3 = 1\n"
    );
    let g = f.backward();
    let after = tape.wengert(Some(&g)).to_string();
    let lines: Vec<&str> = after.lines().collect();
    assert!(lines[0].ends_with("adjoint"));
    assert!(lines[1].ends_with("5.077583"), "{}", lines[1]);
    assert!(lines[2].ends_with("0.5"), "{}", lines[2]);

    let rows = tape.rows(Some(&g));
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[2].op, Some(Op::Mul));
    assert_eq!(rows[2].parents, vec![0, 1]);
    assert_eq!(rows[2].partials, vec![4.2, 0.5]);
    assert_eq!(rows[0].adjoint, Some(4.2 + 0.5_f64.cos()));
    assert_eq!(rows[3].value, Some(0.5_f64.sin()));
}

#[test]
fn step_through_shows_every_update_in_sweep_order() {
    let tape = Tape::new();
    let x = tape.var(0.5);
    let y = tape.var(4.2);
    let f = x * y + x.sin();
    let steps: Vec<_> = tape.sweep_steps(f).collect();
    let edges: Vec<(usize, usize)> = steps.iter().map(|s| (s.node, s.parent)).collect();
    assert_eq!(edges, vec![(4, 2), (4, 3), (3, 0), (2, 0), (2, 1)]);
    assert_eq!(steps[2].contribution, 0.5_f64.cos());
    assert_eq!(steps[3].parent_adjoint, 0.5_f64.cos() + 4.2);
    let text = steps[3].to_string();
    assert!(
        text.starts_with("adj[v0] += d(v2)/d(v0) * adj[v2] = 4.2 * 1 = 4.2;"),
        "{text}"
    );
}

#[test]
fn untraced_tapes_still_print_structure() {
    let tape = Tape::new();
    let x = tape.var(2.0).named("x");
    let _ = x.exp();
    let text = tape.to_string();
    assert!(text.contains("f(x)"), "{text}");
    assert!(text.contains("Tape::traced()"), "{text}");
}

#[test]
fn dot_export_lists_nodes_edges_values_and_adjoints() {
    let tape = Tape::traced();
    let x = tape.var(2.0).named("x");
    let y = (x * 3.0).exp();
    let dot = tape.to_dot(Some(&y.backward()));
    assert!(dot.starts_with("digraph tape {"));
    assert!(dot.trim_end().ends_with('}'));
    assert!(dot.contains("v0 [label=\"{v0 x | input | value = 2 | adjoint = "));
    assert!(
        dot.contains("v1 [label=\"{v1 | x * 3 | value = 6 | adjoint = 403.428793}\"];"),
        "{dot}"
    );
    assert!(dot.contains("v0 -> v1 [label=\"3\"];"));
    assert!(dot.contains("v1 -> v2 [label=\"403.428793\"];"));
    // Without gradients: no adjoints. Gradients of another recording are ignored.
    assert!(!tape.to_dot(None).contains("adjoint"));
    let other = Tape::new();
    let z = other.var(1.0);
    assert!(!tape.to_dot(Some(&z.backward())).contains("adjoint"));
}
