//! The scalar tape as a web page to step through (the shared page is
//! crate::html; this fills it from a traced tape's rows and sweep steps).

use super::trace::{AdjointUpdate, describe, fmt_num, label};
use super::{Tape, Var};
use crate::Real;

impl<T: Real> Tape<T> {
    /// The tape as one self-contained web page (no network requests: inline
    /// SVG, JavaScript and data) for watching backprop run: the graph laid
    /// out top-down, the Wengert table beside it, and controls (buttons and
    /// the arrow keys) that step through the forward pass, each node's
    /// value appearing in recording order, and then the reverse sweep from
    /// `output`, each adjoint update highlighted on its edge with the local
    /// partial, the contribution and the receiving node's running sum.
    /// Values and operations need a [traced](Tape::traced) tape. Opening
    /// the page with `#selftest` steps through everything and records in
    /// `<body data-selftest>` whether every shown adjoint equals the tape's.
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::traced();
    /// let x = tape.var(0.5).named("x");
    /// let y = tape.var(4.2).named("y");
    /// let f = (x * y + x.sin()).named("f");
    /// let page = tape.to_html(f);
    /// assert!(page.starts_with("<!DOCTYPE html>"));
    /// assert!(page.contains(r#""label":"v4 f","expr":"v2 + v3""#));
    /// // Nothing is fetched: no external scripts, styles or fonts.
    /// assert!(!page.contains(" src=") && !page.contains("<link"));
    /// ```
    #[track_caller]
    pub fn to_html(&self, output: Var<'_, T>) -> String {
        self.check_own(output, "to_html");
        let grads = output.backward();
        let rows = self.rows(Some(&grads));
        let steps: Vec<AdjointUpdate<T>> = self.sweep_steps(output).collect();
        let mut reached = vec![false; rows.len()];
        reached[output.index as usize] = true;
        for s in &steps {
            reached[s.parent] = true;
        }
        let nodes = rows
            .iter()
            .map(|r| crate::html::ViewNode {
                label: label(r),
                expr: describe(&rows, r),
                value: r.value.map(fmt_num).unwrap_or_else(|| "?".to_string()),
                adjoint: match r.adjoint {
                    Some(a) if reached[r.index] => fmt_num(a),
                    _ => String::new(),
                },
                parents: r
                    .parents
                    .iter()
                    .zip(&r.partials)
                    .map(|(&p, &d)| (p, fmt_num(d)))
                    .collect(),
            })
            .collect();
        let backward = steps
            .iter()
            .map(|s| crate::html::BackStep {
                node: s.node,
                parent: Some(s.parent),
                text: s.to_string(),
                adjoint_after: fmt_num(s.parent_adjoint),
            })
            .collect();
        crate::html::View {
            title: format!(
                "The tape of v{}: {} nodes, forward pass and reverse sweep",
                output.index,
                rows.len()
            ),
            nodes,
            output: output.index as usize,
            seed: fmt_num(T::ONE),
            backward,
        }
        .to_html()
    }
}
