//! The reverse sweeps: on plain tensors (`grad`, `vjp`, `grad_into`), which
//! records nothing and reuses buffers, and on recorded variables
//! (`grad_graph`), which runs the same VJP rules through [`Algebra`] so the
//! backward pass can be differentiated again.

use std::time::Instant;

use smallvec::SmallVec;

use super::algebra::Algebra;
use super::prim::{Apply, Arg, BinaryOp};
use super::shape::{Shape, fmt_shape, same_shape};
use super::tape::{Node, Op, TensorTape};
use super::tools::{ANOMALY, PROFILE};
use super::value::Tensor;
use super::var::TensorVar;
use super::{conv, custom, elementwise as ew, index, linalg, pool, reduce, shape_ops, softmax};
use crate::Real;

#[inline(always)]
fn two<V>(g: [Option<V>; 2], emit: &mut impl FnMut(usize, V)) {
    let [a, b] = g;
    if let Some(a) = a {
        emit(0, a);
    }
    if let Some(b) = b {
        emit(1, b);
    }
}

#[inline(always)]
fn one<V>(g: V, emit: &mut impl FnMut(usize, V)) {
    emit(0, g)
}

/// A one-input VJP without a new buffer where possible: into the adjoint's
/// own buffer when nobody shares it (the common case in a chain), else into
/// a spare buffer of the right size, which then replaces `g`; a new buffer
/// only when neither exists. For elementwise primitives (`x` is the input's
/// value, `y` the output's) and one-input statements (`y` is the partial).
#[inline(always)]
fn vjp_reusing<T: Real>(
    rule: impl Fn(Option<&[T]>, &mut [T]),
    g: &mut Tensor<T>,
    spare: &mut Vec<Tensor<T>>,
) {
    if let Some(d) = g.data_if_unique() {
        return rule(None, d);
    }
    let mut out = match spare.iter().rposition(|s| s.numel() == g.numel()) {
        Some(k) => spare.swap_remove(k),
        None => Tensor::zeros(g.shape()),
    };
    rule(Some(g.data()), pool::unique(&mut out));
    *g = out.into_shape(g.shape());
}

/// A binary primitive's VJPs into buffers from the pool, for the
/// broadcasts its kernels cover (`Arg`); `None` (nothing taken) otherwise.
fn binary_vjp_pooled<T: Real>(
    op: &BinaryOp,
    x: &[&Tensor<T>],
    y: &Tensor<T>,
    g: &Tensor<T>,
    need: &[bool],
    pool: &mut Vec<Tensor<T>>,
) -> Option<[Option<Tensor<T>>; 2]> {
    let out = g.shape();
    let (a, b) = (Arg::of(x[0], out)?, Arg::of(x[1], out)?);
    let mut grads = [None, None];
    for (k, slot) in grads.iter_mut().enumerate() {
        if need[k] {
            let mut d = pool::take(pool, out);
            op.vjp_into(k, g.data(), a, b, y.data(), pool::unique(&mut d));
            *slot = Some(d);
        }
    }
    Some(grads)
}

/// The vector-Jacobian product of one node: the gradients of its inputs
/// given the adjoint `g` of its output, in the output's broadcast shape.
/// Each arm calls the rule that sits beside the op's forward code.
fn vjp<T: Real, V: Apply<T>>(
    op: &Op<T>,
    x: &[&V],
    y: &V,
    g: &V,
    need: &[bool],
    emit: &mut impl FnMut(usize, V),
) {
    match op {
        Op::Leaf | Op::Constant | Op::Guard(_) => {}
        Op::Unary(u) => one(u.vjp(g, x[0], y), emit),
        Op::Binary(b) => two(b.vjp(g, x[0], x[1], y, need), emit),
        Op::General(p) => {
            for (k, gk) in p.vjp(x, y, g, need).into_iter().enumerate() {
                if let Some(gk) = gk {
                    emit(k, gk);
                }
            }
        }
        Op::Where(mask) => two(ew::where_vjp(mask, g, need), emit),
        Op::Sum { axes, keepdim } => one(reduce::sum_vjp(x[0], g, axes, *keepdim), emit),
        Op::Extremum { axes, keepdim, .. } => {
            one(reduce::extremum_vjp(x[0], y, g, axes, *keepdim), emit)
        }
        Op::LogSumExp { axes, keepdim } => {
            one(softmax::logsumexp_vjp(x[0], y, g, axes, *keepdim), emit)
        }
        Op::Softmax(axis) => one(softmax::softmax_vjp(y, g, *axis), emit),
        Op::LogSoftmax(axis) => one(softmax::log_softmax_vjp(y, g, *axis), emit),
        Op::SumTo => one(g.broadcast_to(&x[0].shape()), emit),
        Op::BroadcastTo => one(g.sum_to(&x[0].shape()), emit),
        Op::Reshape => one(g.reshape(&x[0].shape()), emit),
        Op::Permute(perm) => one(shape_ops::permute_vjp(g, perm), emit),
        Op::Narrow { axis, start } => one(g.pad(*axis, *start, x[0].shape()[*axis]), emit),
        Op::Pad { axis, start } => one(g.narrow(*axis, *start, x[0].shape()[*axis]), emit),
        Op::Concat(axis) => {
            for (k, gk) in shape_ops::concat_vjp(x, g, *axis, need)
                .into_iter()
                .enumerate()
            {
                if let Some(gk) = gk {
                    emit(k, gk);
                }
            }
        }
        Op::MatMul { ta, tb } => two(linalg::mm_vjp(x, g, *ta, *tb, need), emit),
        Op::IndexSelect { axis, idx } => {
            one(g.index_add_into(*axis, idx, x[0].shape()[*axis]), emit)
        }
        Op::IndexAdd { axis, idx } => one(g.index_select(*axis, idx), emit),
        Op::Gather { axis, index } => one(g.scatter_add_into(*axis, index, &x[0].shape()), emit),
        Op::ScatterAdd { axis, index } => one(index::scatter_vjp(g, *axis, index), emit),
        Op::Unfold(geom, _) => one(conv::unfold_vjp(g, geom), emit),
        Op::Fold(geom) => one(conv::fold_vjp(g, geom), emit),
        Op::Custom(c) => custom::custom_vjp(&*c.0, x, y, g, emit),
        // The partials are in the output's shape; `accumulate` sums each
        // product back to its input's shape.
        Op::Statement(s) => {
            for (k, p) in s.partials.iter().enumerate() {
                if need[k] {
                    emit(k, g.mul(&g.lift(p.clone())));
                }
            }
        }
        Op::Checkpoint(seg) => {
            for (k, gk) in V::checkpoint_vjp(&*seg.0, x, g).into_iter().enumerate() {
                emit(k, gk);
            }
        }
    }
}

/// Adds a gradient into a node's adjoint. This is the one place where a
/// gradient in an operation's broadcast shape is summed back to the shape of
/// the input it belongs to.
fn accumulate<T: Real, V: Algebra<T>>(
    slot: &mut Option<V>,
    grad: V,
    shape: &[usize],
    add_in_place: impl FnOnce(&mut V, V),
) {
    let grad = if !grad.has_shape(shape) {
        grad.sum_to(shape)
    } else {
        grad
    };
    match slot {
        None => *slot = Some(grad),
        Some(acc) => add_in_place(acc, grad),
    }
}

/// [`accumulate`] on plain tensors in the sweep: a gradient in a broadcast
/// shape is summed back into a pooled buffer where `sum_to_pooled` covers
/// the axes, and a buffer left over by the addition goes back to the pool.
#[inline(always)]
fn accumulate_pooled<T: Real>(
    slot: &mut Option<Tensor<T>>,
    grad: Tensor<T>,
    shape: Option<&[usize]>,
    pool: &mut Vec<Tensor<T>>,
) {
    // `None`: the input is known to have the gradient's shape (the node's
    // `same_shape` bit), so its header is not read.
    let grad = match shape {
        Some(shape) if !same_shape(grad.shape(), shape) => {
            match reduce::sum_to_pooled(&grad, shape, pool) {
                Some(summed) => {
                    pool::give(pool, grad);
                    summed
                }
                None => grad.sum_to(shape),
            }
        }
        _ => grad,
    };
    match slot {
        None => *slot = Some(grad),
        Some(acc) => acc.add_assign_owned(grad, pool),
    }
}

/// A node's input values and which of them need a gradient: on the stack
/// for one or two inputs (nearly every op), in vectors for more.
enum Inputs<'a, T> {
    Few([&'a Tensor<T>; 2], [bool; 2], usize),
    Many(Vec<&'a Tensor<T>>, Vec<bool>),
}

impl<'a, T: Real> Inputs<'a, T> {
    #[inline(always)]
    fn of(nodes: &'a [Node<T>], parents: &[u32]) -> Self {
        if parents.len() <= 2 {
            let (a, b) = (parents[0] as usize, parents[parents.len() - 1] as usize);
            let x = [&nodes[a].value, &nodes[b].value];
            Inputs::Few(
                x,
                [nodes[a].requires_grad, nodes[b].requires_grad],
                parents.len(),
            )
        } else {
            let node = |p: &u32| &nodes[*p as usize];
            Inputs::Many(
                parents.iter().map(|p| &node(p).value).collect(),
                parents.iter().map(|p| node(p).requires_grad).collect(),
            )
        }
    }

    #[inline(always)]
    fn values(&self) -> &[&'a Tensor<T>] {
        match self {
            Inputs::Few(x, _, n) => &x[..*n],
            Inputs::Many(x, _) => x,
        }
    }

    #[inline(always)]
    fn need(&self) -> &[bool] {
        match self {
            Inputs::Few(_, need, n) => &need[..*n],
            Inputs::Many(_, need) => need,
        }
    }
}

/// The sweep's two shortest paths, taken with no tool on: an add, whose
/// inputs both get `g` itself (moved to one and shared with the other,
/// rather than two clones and a drop), and a unary elementwise primitive,
/// whose VJP goes into a buffer the sweep has. `Ok` when it took one (`g`
/// is then spent); `g` back, with nothing done, for any other op.
#[inline(always)]
fn sweep_fast<T: Real>(
    node: &Node<T>,
    nodes: &[Node<T>],
    parents: &[u32],
    need: &[bool],
    mut g: Tensor<T>,
    adj: &mut [Option<Tensor<T>>],
    spare: &mut Vec<Tensor<T>>,
) -> Result<(), Tensor<T>> {
    // Gradients of these ops keep the node's shape, so an input with the
    // `same_shape` bit needs no summing back and its header is not read.
    let to = |k: usize, g: Tensor<T>, adj: &mut [Option<Tensor<T>>], spare: &mut Vec<_>| {
        let p = parents[k] as usize;
        let shape = (node.same_shape & (1 << k) == 0).then(|| nodes[p].value.shape());
        accumulate_pooled(&mut adj[p], g, shape, spare)
    };
    match &node.op {
        Op::Binary(BinaryOp::Add(_)) => match (need[0], need[1]) {
            (true, true) => {
                to(1, g.clone(), adj, spare);
                to(0, g, adj, spare);
            }
            (true, false) => to(0, g, adj, spare),
            (false, true) => to(1, g, adj, spare),
            (false, false) => pool::give(spare, g),
        },
        Op::Unary(u) => {
            let (x, y) = (&nodes[parents[0] as usize].value, &node.value);
            vjp_reusing(|g, out| u.vjp_into(g, x, y, out), &mut g, spare);
            to(0, g, adj, spare);
        }
        _ => return Err(g),
    }
    Ok(())
}

/// The gradients of a node's inputs (`None` where not needed): into
/// buffers the sweep already has where the op has a kernel for it (`fast`),
/// else by the general rule. With a tool on the sweep passes `fast` false:
/// the general rules are the reference the kernels are tested against bit
/// for bit (pool.rs).
fn input_grads<T: Real>(
    node: &Node<T>,
    x: &[&Tensor<T>],
    need: &[bool],
    mut g: Tensor<T>,
    fast: bool,
    spare: &mut Vec<Tensor<T>>,
) -> SmallVec<[Option<Tensor<T>>; 2]> {
    match &node.op {
        Op::Statement(st) if fast && st.partials.len() == 1 => {
            // g times the kept partial.
            let p = st.partials[0].data();
            let rule = |g: Option<&[T]>, out: &mut [T]| match g {
                None => out.iter_mut().zip(p).for_each(|(o, &p)| *o *= p),
                Some(g) => out
                    .iter_mut()
                    .zip(g.iter().zip(p))
                    .for_each(|(o, (&g, &p))| *o = g * p),
            };
            vjp_reusing(rule, &mut g, spare);
            smallvec::smallvec![Some(g)]
        }
        op => {
            let y = &node.value;
            let pooled: Option<SmallVec<[Option<Tensor<T>>; 3]>> = match op {
                _ if !fast => None,
                Op::Binary(b) => {
                    binary_vjp_pooled(b, x, y, &g, need, spare).map(|p| p.into_iter().collect())
                }
                Op::General(p) => p.vjp_pooled(x, y, &g, need, spare),
                _ => pool::vjp_pooled(op, x, y, &g, need, spare).map(|p| p.into_iter().collect()),
            };
            let mut gs: SmallVec<[Option<Tensor<T>>; 2]> = smallvec::smallvec![None; x.len()];
            match pooled {
                Some(pg) => gs.iter_mut().zip(pg).for_each(|(s, t)| *s = t),
                None => vjp(op, x, y, &g, need, &mut |k, gk| gs[k] = Some(gk)),
            }
            pool::give(spare, g);
            gs
        }
    }
}

impl<T: Real> TensorTape<T> {
    /// The reverse sweep on plain tensors: records nothing. The adjoints of
    /// nodes for which `keep` holds go to `kept`, in increasing node order;
    /// the others are dropped as soon as they have been propagated, so memory
    /// stays near the forward's. A node's adjoint is complete when the sweep
    /// reaches it (all its consumers come later on the tape), so it is
    /// collected right there.
    ///
    /// `ready` sees each kept adjoint the moment it is complete, in sweep
    /// order (see [`TensorTape::grad_with`]).
    pub(super) fn sweep(
        &self,
        output: u32,
        seed: Tensor<T>,
        keep: impl Fn(usize, &Node<T>) -> bool,
        kept: &mut Vec<(u32, Option<Tensor<T>>)>,
        mut ready: impl FnMut(u32, &Tensor<T>),
    ) {
        let inner = self.inner.borrow();
        let nodes = &inner.nodes[..=output as usize];
        let more = &inner.more_parents[..];
        // The adjoint slots are kept between sweeps: no allocation per sweep.
        let mut adj = self.adjoints.borrow_mut();
        adj.clear();
        adj.resize(nodes.len(), None);
        adj[output as usize] = Some(seed);
        kept.clear();
        // Gradient buffers left over (the smaller term of an accumulation,
        // a spent adjoint, the last sweep's), for the VJPs to write into.
        let mut pool = self.pool.borrow_mut();
        let spare = &mut *pool;
        pool::ready(spare);
        for i in (0..nodes.len()).rev() {
            let node = &nodes[i];
            let wanted = keep(i, node);
            if node.parents.is_empty() || !node.requires_grad {
                if let Some(g) = adj[i].take().filter(|_| wanted) {
                    ready(i as u32, &g);
                    kept.push((i as u32, Some(g)));
                }
                continue;
            }
            let Some(g) = adj[i].take() else { continue };
            if wanted {
                ready(i as u32, &g);
                kept.push((i as u32, Some(g.clone())));
            }
            let parents = node.parents.get(more);
            let inputs = Inputs::of(nodes, parents);
            let (x, need) = (inputs.values(), inputs.need());
            let flags = self.flags.get();
            let g = if flags == 0 {
                match sweep_fast(node, nodes, parents, need, g, &mut adj, spare) {
                    Ok(()) => continue,
                    Err(g) => g,
                }
            } else {
                g
            };
            let start = (flags & PROFILE != 0).then(Instant::now);
            let grads = input_grads(node, x, need, g, flags == 0, spare);
            for (k, gk) in grads.into_iter().enumerate() {
                let Some(gk) = gk else { continue };
                if flags & ANOMALY != 0 {
                    self.observe_backward(i, node, x, k, &gk);
                }
                let p = parents[k] as usize;
                if nodes[p].requires_grad {
                    // The `same_shape` bit spares reading the input's header.
                    let same = k < 8 && node.same_shape & (1 << k) != 0;
                    let shape = (!same).then(|| nodes[p].value.shape());
                    accumulate_pooled(&mut adj[p], gk, shape, spare);
                } else {
                    pool::give(spare, gk);
                }
            }
            if let Some(start) = start {
                self.note_backward_time(node.op.name(), start);
            }
        }
        // Adjoints nobody asked for (of leaves not wanted) are spare too.
        for g in adj.drain(..).flatten() {
            pool::give(spare, g);
        }
        kept.reverse();
    }

    /// Gradients of a scalar `output` with respect to `inputs`, as
    /// variables recorded on this tape (PyTorch's `create_graph=True`): the
    /// backward pass runs the same VJP rules on variables, so the result can
    /// be differentiated again, to any order.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.5_f64], &[1]));
    /// let y = x.tanh().sum();
    /// let [dy] = tape.grad_graph(y, &[x]).try_into().unwrap();
    /// let [d2y] = tape.grad(dy.sum(), &[x]).try_into().unwrap();
    /// let t = 0.5_f64.tanh();
    /// assert!((d2y.item() - (-2.0 * t * (1.0 - t * t))).abs() < 1e-12);
    /// ```
    #[track_caller]
    pub fn grad_graph<'t>(
        &'t self,
        output: TensorVar<'t, T>,
        inputs: &[TensorVar<'t, T>],
    ) -> Vec<TensorVar<'t, T>> {
        self.check_var("grad_graph", output);
        let seed = self.constant(scalar_seed("grad_graph", output));
        let n = output.index as usize + 1;
        let mut keep = vec![false; n];
        for &x in inputs {
            self.check_var("grad_graph", x);
            if let Some(k) = keep.get_mut(x.index as usize) {
                *k = true;
            }
        }
        let mut adj: Vec<Option<TensorVar<'t, T>>> = vec![None; n];
        adj[output.index as usize] = Some(seed);
        for i in (0..n).rev() {
            // Read what the rule needs, then release the tape: the rule
            // records onto it.
            let (op, parents, need) = {
                let inner = self.inner.borrow();
                let node = &inner.nodes[i];
                if node.parents.is_empty() || !node.requires_grad {
                    continue;
                }
                let parents: SmallVec<[u32; 2]> =
                    SmallVec::from_slice(node.parents.get(&inner.more_parents));
                let need: SmallVec<[bool; 2]> = parents
                    .iter()
                    .map(|&p| inner.nodes[p as usize].requires_grad)
                    .collect();
                (node.op.clone(), parents, need)
            };
            let g = if keep[i] { adj[i] } else { adj[i].take() };
            let Some(g) = g else { continue };
            if let Op::Statement(_) = op {
                panic!(
                    "grad_graph: node {i} is a statement (TensorTape::statement), whose partials are \
                     numbers, not a recording, so its gradient cannot be differentiated again; write \
                     that expression with tensor operations to take higher derivatives through it"
                );
            }
            let xs: SmallVec<[TensorVar<'t, T>; 2]> = parents
                .iter()
                .map(|&p| TensorVar {
                    tape: self,
                    index: p,
                })
                .collect();
            let x: SmallVec<[&TensorVar<'t, T>; 2]> = xs.iter().collect();
            let y = TensorVar {
                tape: self,
                index: i as u32,
            };
            vjp(&op, &x, &y, &g, &need, &mut |k, gk: TensorVar<'t, T>| {
                let p = parents[k];
                if need[k] {
                    let shape = self.with_node(p, |n| Shape::from_slice(n.value.shape()));
                    accumulate(&mut adj[p as usize], gk, &shape, |acc, g| *acc = acc.add(g));
                }
            });
        }
        inputs
            .iter()
            .map(|x| match adj.get(x.index as usize).copied().flatten() {
                Some(g) => g,
                None => self.constant(Tensor::zeros(&x.shape())),
            })
            .collect()
    }
}

#[track_caller]
pub(crate) fn scalar_seed<T: Real>(op: &str, output: TensorVar<'_, T>) -> Tensor<T> {
    let shape = output.shape();
    check_scalar_output(op, &shape);
    Tensor::ones(&shape)
}

#[track_caller]
pub(super) fn check_scalar_output(op: &str, shape: &[usize]) {
    if shape.iter().product::<usize>() != 1 {
        panic!(
            "{op}: the output has shape {} ({} elements); gradients need a scalar \
             output, or an explicit seed through vjp",
            fmt_shape(shape),
            shape.iter().product::<usize>()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Where `vjp_reusing` writes: the adjoint's own buffer when unshared,
    /// else a spare of the right size (consumed), else a new buffer; the
    /// result is the same each way.
    #[test]
    fn vjp_reusing_writes_into_the_buffer_it_can_have() {
        let g = Tensor::from_vec(vec![1.0_f32, -2.0, 3.0], &[3]);
        let rule = |g: Option<&[f32]>, out: &mut [f32]| match g {
            None => out.iter_mut().for_each(|o| *o *= 2.0),
            Some(g) => out.iter_mut().zip(g).for_each(|(o, &g)| *o = g * 2.0),
        };
        let want = vec![2.0, -4.0, 6.0];
        let mut own = Tensor::from_vec(g.to_vec(), &[3]);
        let before = own.data().as_ptr();
        vjp_reusing(rule, &mut own, &mut Vec::new());
        assert_eq!((own.to_vec(), own.data().as_ptr()), (want.clone(), before));
        let mut spare = vec![Tensor::<f32>::zeros(&[5]), Tensor::<f32>::zeros(&[3])];
        let spare_ptr = spare[1].data().as_ptr();
        let mut shared = g.clone();
        vjp_reusing(rule, &mut shared, &mut spare);
        assert_eq!(
            (shared.to_vec(), shared.data().as_ptr()),
            (want.clone(), spare_ptr)
        );
        assert_eq!(spare.len(), 1);
        let mut shared = g.clone();
        vjp_reusing(rule, &mut shared, &mut spare);
        assert_eq!((shared.to_vec(), g.to_vec()), (want, vec![1.0, -2.0, 3.0]));
    }

    /// A one-input statement's in-place VJP (the sweep's) gives exactly
    /// what its general rule gives.
    #[test]
    fn statement_in_place_vjp_equals_the_general_rule_bit_for_bit() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let x = Tensor::<f32>::rand_uniform(&[7, 3], -3.0, 3.0, &mut rng);
        let g = Tensor::<f32>::rand_uniform(&[7, 3], -2.0, 2.0, &mut rng);
        let tape = TensorTape::new();
        let v = tape.leaf(x.clone());
        let st = tape.statement([v], |[v]| (v * v).tanh() * v);
        let st_op = tape.inner.borrow().nodes[st.index as usize].op.clone();
        let mut general = None;
        vjp(&st_op, &[&x], &st.value(), &g, &[true], &mut |_, gk| {
            general = Some(gk)
        });
        let swept = tape.vjp(st, &g);
        assert_eq!(general.unwrap(), swept[v]);
    }
}
