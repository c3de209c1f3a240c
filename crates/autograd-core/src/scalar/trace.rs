//! Seeing the tape: the operation record of a traced tape, the Wengert list,
//! a Graphviz DOT export, and a step-by-step reverse sweep.

use std::fmt::{self, Write as _};

use super::gradients::Gradients;
use super::tape::{Node, Tape, Var};
use crate::Real;

/// The operation that produced a node, as a traced tape records it.
/// Constants that took part are kept (as `f64`) so the row can be printed.
///
/// ```
/// use autograd_core::{scalar::Op, Tape};
/// let tape = Tape::traced();
/// let x = tape.var(2.0);
/// let _ = x * 3.0;
/// assert_eq!(tape.rows(None)[1].op, Some(Op::MulConst(3.0)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// An independent variable ([`Tape::var`]).
    Input,
    /// A constant leaf ([`Tape::constant`]).
    Constant,
    /// x + y
    Add,
    /// x - y
    Sub,
    /// x * y
    Mul,
    /// x / y
    Div,
    /// -x
    Neg,
    /// x + c
    AddConst(f64),
    /// x - c
    SubConst(f64),
    /// c - x
    ConstSub(f64),
    /// x * c
    MulConst(f64),
    /// x / c
    DivConst(f64),
    /// c / x
    ConstDiv(f64),
    /// e^x
    Exp,
    /// ln x
    Ln,
    /// ln(1 + x)
    Ln1p,
    /// sqrt x
    Sqrt,
    /// x^n
    Powi(i32),
    /// x^c
    PowConst(f64),
    /// x^y
    Pow,
    /// sin x
    Sin,
    /// cos x
    Cos,
    /// tan x
    Tan,
    /// tanh x
    Tanh,
    /// |x|
    Abs,
    /// max(x, y)
    Max,
    /// min(x, y)
    Min,
    /// max(x, c)
    MaxConst(f64),
    /// min(x, c)
    MinConst(f64),
    /// A primitive added with [`Tape::custom_unary`] or [`Tape::custom_binary`].
    Custom(&'static str),
}

impl Op {
    /// Short name of the operation (`"mul"`, `"exp"`, ...).
    ///
    /// ```
    /// assert_eq!(autograd_core::scalar::Op::Mul.name(), "mul");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input => "input",
            Op::Constant => "const",
            Op::Add | Op::AddConst(_) => "add",
            Op::Sub | Op::SubConst(_) | Op::ConstSub(_) => "sub",
            Op::Mul | Op::MulConst(_) => "mul",
            Op::Div | Op::DivConst(_) | Op::ConstDiv(_) => "div",
            Op::Neg => "neg",
            Op::Exp => "exp",
            Op::Ln => "ln",
            Op::Ln1p => "ln_1p",
            Op::Sqrt => "sqrt",
            Op::Powi(_) => "powi",
            Op::PowConst(_) | Op::Pow => "powf",
            Op::Sin => "sin",
            Op::Cos => "cos",
            Op::Tan => "tan",
            Op::Tanh => "tanh",
            Op::Abs => "abs",
            Op::Max | Op::MaxConst(_) => "max",
            Op::Min | Op::MinConst(_) => "min",
            Op::Custom(name) => name,
        }
    }

    /// The expression this node computes, given how to print its parents.
    fn expression(&self, a: &str, b: &str, value: &str) -> String {
        match *self {
            Op::Input => "input".to_string(),
            Op::Constant => format!("const {value}"),
            Op::Add => format!("{a} + {b}"),
            Op::Sub => format!("{a} - {b}"),
            Op::Mul => format!("{a} * {b}"),
            Op::Div => format!("{a} / {b}"),
            Op::Neg => format!("-{a}"),
            Op::AddConst(c) => format!("{a} + {c}"),
            Op::SubConst(c) => format!("{a} - {c}"),
            Op::ConstSub(c) => format!("{c} - {a}"),
            Op::MulConst(c) => format!("{a} * {c}"),
            Op::DivConst(c) => format!("{a} / {c}"),
            Op::ConstDiv(c) => format!("{c} / {a}"),
            Op::Powi(n) => format!("{a}^{n}"),
            Op::PowConst(c) => format!("{a}^{c}"),
            Op::Pow => format!("{a}^{b}"),
            Op::Max | Op::Min => format!("{}({a}, {b})", self.name()),
            Op::MaxConst(c) | Op::MinConst(c) => format!("{}({a}, {c})", self.name()),
            Op::Custom(name) if b.is_empty() => format!("{name}({a})"),
            Op::Custom(name) => format!("{name}({a}, {b})"),
            _ => format!("{}({a})", self.name()),
        }
    }
}

/// Per-node operation and value, kept only by a traced tape, and the
/// comparisons (`guard_*`) that steered the recorded code: together the plan
/// that [`Tape::replay`] runs again.
pub(crate) struct Trace<T> {
    pub(crate) ops: Vec<Op>,
    pub(crate) values: Vec<T>,
    pub(crate) guards: Vec<super::replay::Guard>,
    /// The first custom primitive, which replay cannot recompute.
    pub(crate) first_custom: Option<u32>,
    /// Set by a replay: values in `Var` handles may be stale since.
    pub(crate) replayed: bool,
}

impl<T: Real> Trace<T> {
    pub(crate) fn new() -> Self {
        Trace {
            ops: Vec::new(),
            values: Vec::new(),
            guards: Vec::new(),
            first_custom: None,
            replayed: false,
        }
    }

    /// A new node's value and partials from the trace's current values of
    /// its parents, for recording after a replay.
    pub(crate) fn recompute(
        &self,
        op: Op,
        parents: [u32; 2],
        index: usize,
        value: T,
        partials: [T; 2],
    ) -> (T, [T; 2]) {
        if matches!(op, Op::Input | Op::Constant | Op::Custom(_)) {
            return (value, partials);
        }
        let arg = |p: u32| {
            if p as usize == index {
                T::ZERO // a unary op's unused slot points at the node itself
            } else {
                self.values[p as usize]
            }
        };
        super::ops::local(op, arg(parents[0]), arg(parents[1]))
    }

    #[inline]
    pub(crate) fn push(&mut self, op: Op, value: T) {
        if let Op::Custom(_) = op
            && self.first_custom.is_none()
        {
            self.first_custom = Some(self.ops.len() as u32);
        }
        self.ops.push(op);
        self.values.push(value);
    }

    pub(crate) fn clear(&mut self) {
        self.ops.clear();
        self.values.clear();
        self.guards.clear();
        self.first_custom = None;
        self.replayed = false;
    }
}

/// One row of a tape, for printing and inspection; see [`Tape::rows`].
///
/// ```
/// use autograd_core::Tape;
/// let tape = Tape::traced();
/// let x = tape.var(2.0).named("x");
/// let _ = x.exp();
/// let row = &tape.rows(None)[1];
/// assert_eq!((row.index, row.parents.clone()), (1, vec![0]));
/// assert_eq!(row.value, Some(2.0_f64.exp()));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Row<T> {
    /// Node index.
    pub index: usize,
    /// The name given with [`Var::named`], if any.
    pub name: Option<String>,
    /// Operation (`None` on an untraced tape).
    pub op: Option<Op>,
    /// Parent node indices (0, 1 or 2 of them).
    pub parents: Vec<usize>,
    /// Value (`None` on an untraced tape).
    pub value: Option<T>,
    /// Local partial derivative with respect to each parent.
    pub partials: Vec<T>,
    /// Adjoint d(output)/d(this node), when gradients were given.
    pub adjoint: Option<T>,
}

/// The real parents of node `me` (dummy slots point at the node itself).
fn parent_list<T: Real>(me: usize, node: &Node<T>) -> (Vec<usize>, Vec<T>) {
    let mut parents = Vec::new();
    let mut partials = Vec::new();
    for k in 0..2 {
        if node.parents[k] as usize != me {
            parents.push(node.parents[k] as usize);
            partials.push(node.partials[k]);
        }
    }
    (parents, partials)
}

impl<T: Real> Tape<T> {
    /// The recorded nodes as rows (index, name, op, parents, value, partials,
    /// adjoint). Op and value are known only on a [traced](Tape::traced) tape.
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::traced();
    /// let x = tape.var(3.0);
    /// let y = x * x;
    /// let rows = tape.rows(Some(&y.backward()));
    /// assert_eq!(rows[1].parents, vec![0, 0]);
    /// assert_eq!(rows[1].partials, vec![3.0, 3.0]);
    /// assert_eq!(rows[0].adjoint, Some(6.0));
    /// ```
    pub fn rows(&self, grads: Option<&Gradients<T>>) -> Vec<Row<T>> {
        let inner = self.inner();
        let nodes = &inner.nodes;
        // Later names of the same node win, as they are later calls to `named`.
        let mut names: Vec<Option<String>> = vec![None; nodes.len()];
        for (k, name) in &inner.names {
            names[*k as usize] = Some(name.to_string());
        }
        let adjoint = |i: usize| {
            grads
                .filter(|_| grads_match(self, grads))
                .and_then(|g| g.adjoint(i))
        };
        (0..nodes.len())
            .map(|i| {
                let (parents, partials) = parent_list(i, &nodes[i]);
                Row {
                    index: i,
                    name: names[i].take(),
                    op: inner.trace.as_ref().map(|t| t.ops[i]),
                    parents,
                    value: inner.trace.as_ref().map(|t| t.values[i]),
                    partials,
                    adjoint: adjoint(i),
                }
            })
            .collect()
    }

    /// The tape as a Wengert list: one row per node with its index, the
    /// expression it computes, its value, its local partials and, when
    /// gradients are given, its adjoint. `Display` on a tape prints this
    /// without adjoints.
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::traced();
    /// let x = tape.var(0.5).named("x");
    /// let y = tape.var(4.2).named("y");
    /// let f = x * y + x.sin();
    /// let table = tape.wengert(Some(&f.backward())).to_string();
    /// assert!(table.contains("x * y"));
    /// assert!(table.contains("sin(x)"));
    /// ```
    pub fn wengert<'a>(&'a self, grads: Option<&'a Gradients<T>>) -> Wengert<'a, T> {
        Wengert { tape: self, grads }
    }

    /// The tape as a Graphviz graph (DOT text): one box per node with its
    /// expression, value and (given gradients) adjoint, and an edge from each
    /// parent labelled with the local partial. Render with
    /// `dot -Tsvg tape.dot -o tape.svg`.
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::traced();
    /// let x = tape.var(2.0).named("x");
    /// let y = x.exp();
    /// let dot = tape.to_dot(Some(&y.backward()));
    /// assert!(dot.starts_with("digraph tape {"));
    /// assert!(dot.contains("v0 -> v1"));
    /// ```
    pub fn to_dot(&self, grads: Option<&Gradients<T>>) -> String {
        let rows = self.rows(grads);
        let mut out = String::from(
            // Top-down: a long tape grows down the page, which a reader
            // scrolls, rather than across it, which shrinks to fit.
            "digraph tape {\n  rankdir=TB;\n  node [shape=record, fontname=\"monospace\"];\n",
        );
        for r in &rows {
            let label = label(r);
            let expr = describe(&rows, r);
            let mut fields = vec![format!("{label}"), escape(&expr)];
            if let Some(v) = r.value {
                fields.push(format!("value = {}", fmt_num(v)));
            }
            if let Some(a) = r.adjoint {
                fields.push(format!("adjoint = {}", fmt_num(a)));
            }
            let _ = writeln!(
                out,
                "  v{} [label=\"{{{}}}\"];",
                r.index,
                fields.join(" | ")
            );
        }
        for r in &rows {
            for (p, d) in r.parents.iter().zip(&r.partials) {
                let _ = writeln!(out, "  v{p} -> v{} [label=\"{}\"];", r.index, fmt_num(*d));
            }
        }
        out.push_str("}\n");
        out
    }

    /// The reverse sweep one adjoint update at a time, for watching backprop
    /// happen. Yields exactly the updates [`Tape::gradient`] performs, in the
    /// same order; [`SweepSteps::gradients`] gives the result.
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(3.0);
    /// let y = (x * 2.0).sin();
    /// let mut steps = tape.sweep_steps(y);
    /// let first = steps.next().unwrap();
    /// assert_eq!((first.node, first.parent), (y.index(), y.index() - 1));
    /// assert_eq!(first.partial, 6.0_f64.cos());
    /// for _ in steps.by_ref() {}
    /// assert_eq!(steps.gradients()[x], 2.0 * 6.0_f64.cos());
    /// ```
    #[track_caller]
    pub fn sweep_steps(&self, output: Var<'_, T>) -> SweepSteps<T> {
        self.check_own(output, "sweep_steps");
        let mut nodes = self.inner().nodes.clone();
        let top = output.index as usize;
        let mut adjoints = vec![T::ZERO; nodes.len()];
        adjoints[top] = T::ONE;
        nodes.truncate(top + 1);
        SweepSteps {
            nodes,
            adjoints,
            tape_id: self.id,
            remaining: top + 1,
            edge: 0,
            carry: T::ZERO,
            to_prev: false,
        }
    }
}

/// "v3" or, for a named node, "v3 w".
pub(super) fn label<T>(r: &Row<T>) -> String {
    match &r.name {
        Some(n) => format!("v{} {n}", r.index),
        None => format!("v{}", r.index),
    }
}

fn grads_match<T: Real>(tape: &Tape<T>, grads: Option<&Gradients<T>>) -> bool {
    grads.is_some_and(|g| g.tape_id() == tape.id)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('{', "\\{")
        .replace('}', "\\}")
        .replace('<', "\\<")
        .replace('>', "\\>")
        .replace('|', "\\|")
}

/// Shortest round-trip form for values with few digits (0.5, 4.2), else 6
/// significant digits: readable tables that still show exact inputs exactly.
pub(super) fn fmt_num<T: Real>(x: T) -> String {
    let full = format!("{x}");
    if full.len() <= 10 {
        full
    } else {
        let v = x.to_f64();
        if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-4) {
            format!("{v:.5e}")
        } else {
            let s = format!("{v:.6}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

pub(super) fn describe<T: Real>(rows: &[Row<T>], r: &Row<T>) -> String {
    let name = |i: usize| {
        rows.get(i)
            .and_then(|p| p.name.clone())
            .unwrap_or_else(|| format!("v{i}"))
    };
    let a = r.parents.first().map(|&i| name(i)).unwrap_or_default();
    let b = r.parents.get(1).map(|&i| name(i)).unwrap_or_default();
    let value = r.value.map(fmt_num).unwrap_or_default();
    match r.op {
        Some(op) => op.expression(&a, &b, &value),
        None if r.parents.is_empty() => "leaf".to_string(),
        None => {
            format!(
                "f({})",
                r.parents
                    .iter()
                    .map(|&i| name(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// A tape printed as a Wengert list; see [`Tape::wengert`].
///
/// ```
/// use autograd_core::Tape;
/// let tape = Tape::traced();
/// let x = tape.var(1.0).named("x");
/// let y = x.sin();
/// let g = y.backward();
/// let text = tape.wengert(Some(&g)).to_string();
/// assert!(text.lines().next().unwrap().ends_with("adjoint"));
/// ```
pub struct Wengert<'a, T: Real> {
    tape: &'a Tape<T>,
    grads: Option<&'a Gradients<T>>,
}

impl<T: Real> fmt::Display for Wengert<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = self.tape.rows(self.grads);
        let show_adj = grads_match(self.tape, self.grads);
        let mut table: Vec<[String; 5]> = vec![[
            "node".into(),
            "operation".into(),
            "value".into(),
            "local partials".into(),
            if show_adj {
                "adjoint".into()
            } else {
                String::new()
            },
        ]];
        for r in &rows {
            let label = label(r);
            let expr = describe(&rows, r);
            let partials = r
                .parents
                .iter()
                .zip(&r.partials)
                .map(|(p, d)| format!("d/dv{p} = {}", fmt_num(*d)))
                .collect::<Vec<_>>()
                .join(", ");
            table.push([
                label,
                expr,
                r.value.map(fmt_num).unwrap_or_else(|| "?".into()),
                partials,
                r.adjoint.map(fmt_num).unwrap_or_default(),
            ]);
        }
        let mut widths = [0usize; 5];
        for row in &table {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        for row in &table {
            let mut line = String::new();
            for (k, (w, c)) in widths.iter().zip(row).enumerate() {
                if k > 0 {
                    line.push_str("  ");
                }
                let _ = write!(line, "{c:<w$}");
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        if self.tape.inner().trace.is_none() {
            writeln!(
                f,
                "(untraced tape: build it with Tape::traced() to see operations and values)"
            )?;
        }
        Ok(())
    }
}

impl<T: Real> fmt::Display for Tape<T> {
    /// The Wengert list without adjoints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.wengert(None), f)
    }
}

/// One adjoint update of the reverse sweep:
/// `adjoint[parent] += partial * adjoint[node]`.
///
/// ```
/// use autograd_core::Tape;
/// let tape = Tape::new();
/// let x = tape.var(3.0);
/// let y = x * 2.0;
/// let step = tape.sweep_steps(y).next().unwrap();
/// assert_eq!((step.node, step.parent, step.partial, step.contribution), (1, 0, 2.0, 2.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdjointUpdate<T> {
    /// The node whose adjoint is being passed on.
    pub node: usize,
    /// The parent receiving it.
    pub parent: usize,
    /// d(node)/d(parent), recorded in the forward pass.
    pub partial: T,
    /// The (final) adjoint of `node`.
    pub node_adjoint: T,
    /// `partial * node_adjoint`.
    pub contribution: T,
    /// The parent's adjoint after this update.
    pub parent_adjoint: T,
}

impl<T: Real> fmt::Display for AdjointUpdate<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "adj[v{p}] += d(v{n})/d(v{p}) * adj[v{n}] = {} * {} = {};  adj[v{p}] is now {}",
            fmt_num(self.partial),
            fmt_num(self.node_adjoint),
            fmt_num(self.contribution),
            fmt_num(self.parent_adjoint),
            p = self.parent,
            n = self.node,
        )
    }
}

/// Iterator over the adjoint updates of a reverse sweep; see
/// [`Tape::sweep_steps`].
///
/// ```
/// use autograd_core::Tape;
/// let tape = Tape::new();
/// let x = tape.var(3.0);
/// let y = x.sin() * x;
/// assert_eq!(tape.sweep_steps(y).count(), 3);
/// ```
pub struct SweepSteps<T: Real> {
    nodes: Vec<Node<T>>,
    adjoints: Vec<T>,
    tape_id: u64,
    /// Nodes not yet finished; the current one is `remaining - 1`.
    remaining: usize,
    edge: usize,
    /// Pending contribution to node `remaining - 2`, as in the fast sweep.
    carry: T,
    /// Whether `carry` was set by the current node.
    to_prev: bool,
}

impl<T: Real> SweepSteps<T> {
    /// The adjoints so far (complete once the iterator is exhausted).
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let y = x.exp();
    /// let mut steps = tape.sweep_steps(y);
    /// steps.by_ref().for_each(drop);
    /// assert_eq!(steps.gradients(), tape.gradient(y));
    /// ```
    pub fn gradients(&self) -> Gradients<T> {
        Gradients::from_parts(self.tape_id, self.adjoints.clone())
    }
}

impl<T: Real> Iterator for SweepSteps<T> {
    type Item = AdjointUpdate<T>;

    fn next(&mut self) -> Option<AdjointUpdate<T>> {
        // The same arithmetic, in the same order, as the fast sweep in
        // gradients.rs, including its `carry` register for edges to the node
        // just below; dummy edges (parent = the node itself) are not shown.
        while self.remaining > 0 {
            let i = self.remaining - 1;
            if self.edge == 0 {
                self.adjoints[i] += self.carry;
                self.carry = T::ZERO;
                self.to_prev = false;
            }
            let a = self.adjoints[i];
            if a != T::ZERO {
                while self.edge < 2 {
                    let k = self.edge;
                    self.edge += 1;
                    let p = self.nodes[i].parents[k] as usize;
                    let d = self.nodes[i].partials[k];
                    if p == i {
                        continue;
                    }
                    let parent_adjoint = if p + 1 == i {
                        self.carry = if self.to_prev {
                            self.carry + d * a
                        } else {
                            d * a
                        };
                        self.to_prev = true;
                        self.adjoints[p] + self.carry
                    } else {
                        self.adjoints[p] += d * a;
                        self.adjoints[p]
                    };
                    return Some(AdjointUpdate {
                        node: i,
                        parent: p,
                        partial: d,
                        node_adjoint: a,
                        contribution: d * a,
                        parent_adjoint,
                    });
                }
            }
            self.remaining -= 1;
            self.edge = 0;
        }
        None
    }
}
