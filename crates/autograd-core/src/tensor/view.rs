//! The tensor tape as a web page (see `crate::html`): op-level nodes with
//! their shapes, values and adjoints summarised.

use super::tape::{TensorTape, TensorVar};
use super::value::Tensor;
use crate::Real;
use crate::html::{BackStep, View, ViewNode};

/// A tensor in a few characters: the number for one element, the elements
/// for up to six, else the shape with the mean and range.
fn brief<T: Real>(t: &Tensor<T>) -> String {
    let num = |v: T| {
        let v = v.to_f64();
        if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
            format!("{v:.3e}")
        } else {
            let s = format!("{v:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    };
    let shape = format!("{:?}", t.shape());
    match t.numel() {
        1 if t.ndim() == 0 => num(t.data()[0]),
        n if n <= 6 => format!(
            "{shape} [{}]",
            t.data()
                .iter()
                .map(|&v| num(v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => {
            let s = super::tools::Summary::of(t);
            let f = |v: f64| num(T::from_f64(v));
            format!("{shape} mean {} in [{}, {}]", f(s.mean), f(s.min), f(s.max))
        }
    }
}

impl<T: Real> TensorTape<T> {
    /// The tape as one self-contained web page, as
    /// [`Tape::to_html`](crate::Tape::to_html) draws the scalar tape: one
    /// box per operation (its name, its inputs, the shape and a summary of
    /// its value), the Wengert table beside the graph, and controls that
    /// step through the forward pass and then the reverse sweep from
    /// `output` (a one-element tensor), one operation at a time in the
    /// order the sweep takes them, each passing its adjoint (shown
    /// summarised) to its inputs through its vector-Jacobian product.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let w = tape.leaf(Tensor::from_vec(vec![1.0_f64, -2.0, 0.5, 3.0], &[2, 2]));
    /// let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[2, 1]));
    /// let loss = w.matmul(x).tanh().sum();
    /// let page = tape.to_html(loss);
    /// assert!(page.contains(r#""expr":"matmul(v0, v1)""#));
    /// assert!(page.contains("[2, 1]"));
    /// ```
    #[track_caller]
    pub fn to_html(&self, output: TensorVar<'_, T>) -> String {
        self.check_var("to_html", output);
        let n = output.index as usize + 1;
        let vars: Vec<TensorVar<'_, T>> = (0..n as u32)
            .map(|index| TensorVar { tape: self, index })
            .collect();
        let grads = self.grad(output, &vars);
        let inner = self.inner.borrow();
        let nodes = &inner.nodes[..n];
        // Which nodes the sweep visits: the output, and any input that needs
        // a gradient of a node it visits (descending order: consumers first).
        let mut reached = vec![false; n];
        reached[n - 1] = true;
        for i in (0..n).rev() {
            if reached[i] && nodes[i].requires_grad {
                for &p in nodes[i].parents.get(&inner.more_parents) {
                    reached[p as usize] |= nodes[p as usize].requires_grad;
                }
            }
        }
        let label = |i: usize| format!("v{i}");
        let view_nodes: Vec<ViewNode> = (0..n)
            .map(|i| {
                let node = &nodes[i];
                let parents = node.parents.get(&inner.more_parents);
                let name = node.op.name();
                let expr = if parents.is_empty() {
                    name.to_string()
                } else {
                    let args: Vec<String> = parents.iter().map(|&p| label(p as usize)).collect();
                    format!("{name}({})", args.join(", "))
                };
                let needs = reached[i] && node.requires_grad;
                ViewNode {
                    label: label(i),
                    expr,
                    value: brief(&node.value),
                    adjoint: if needs {
                        brief(&grads[i])
                    } else {
                        String::new()
                    },
                    parents: parents
                        .iter()
                        .map(|&p| (p as usize, "VJP".to_string()))
                        .collect(),
                }
            })
            .collect();
        let backward = (0..n)
            .rev()
            .filter(|&i| reached[i] && nodes[i].requires_grad)
            .map(|i| {
                let parents = nodes[i].parents.get(&inner.more_parents);
                let adjoint = brief(&grads[i]);
                let text = if parents.is_empty() {
                    format!("v{i} ({}) has its gradient: {adjoint}", nodes[i].op.name())
                } else {
                    let to: Vec<String> = parents
                        .iter()
                        .filter(|&&p| nodes[p as usize].requires_grad)
                        .map(|&p| label(p as usize))
                        .collect();
                    format!(
                        "v{i} = {}: its adjoint {adjoint} goes through the VJP of {} to {}",
                        view_nodes[i].expr,
                        nodes[i].op.name(),
                        if to.is_empty() {
                            "no input that needs it".to_string()
                        } else {
                            to.join(", ")
                        }
                    )
                };
                BackStep {
                    node: i,
                    parent: None,
                    text,
                    adjoint_after: adjoint,
                }
            })
            .collect();
        let seed = brief(&Tensor::<T>::ones(nodes[n - 1].value.shape()));
        drop(inner);
        View {
            title: format!("The tensor tape of v{}: {n} operations", n - 1),
            nodes: view_nodes,
            output: n - 1,
            seed,
            backward,
        }
        .to_html()
    }
}
