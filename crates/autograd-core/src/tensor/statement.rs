//! Elementwise statements on the tensor tape: a whole elementwise
//! expression of `N` tensors recorded as one node.
//!
//! The scalar tape's [`crate::Tape::statement`] runs an expression on
//! [`Local`] numbers (a value and its partials with respect to the
//! statement's inputs) and records one node. Applied to every element of
//! broadcast tensors, the same idea fuses a chain of elementwise operations
//! (an activation written out, `y + 0.001 * tanh(y)`) into one node whose
//! VJP is `g * ∂f/∂x_k` for each input, the partials having been computed
//! alongside the value. The node keeps the closure, so a replay recomputes
//! it; what it cannot do is differentiate its own VJP
//! ([`TensorTape::grad_graph`] refuses it), since the partials are numbers,
//! not a recording.

use std::sync::Arc;

use super::shape::{Shape, broadcast_shapes, broadcast_strides, same_shape};
use super::tape::{Op, TensorTape, TensorVar};
use super::value::Tensor;
use crate::Real;
use crate::scalar::Local;

/// A statement's expression with its arity erased, as the node keeps it.
pub(crate) trait Elementwise<T: Real>: Send + Sync {
    /// The value (in the broadcast shape `out`) and one tensor of partials
    /// per input, each in the shape `out`.
    fn eval(&self, x: &[&Tensor<T>], out: &[usize]) -> (Tensor<T>, Vec<Tensor<T>>);
}

struct Expr<F, const N: usize>(F);

impl<T: Real, F, const N: usize> Elementwise<T> for Expr<F, N>
where
    F: Fn([Local<T, N>; N]) -> Local<T, N> + Send + Sync,
{
    fn eval(&self, x: &[&Tensor<T>], out: &[usize]) -> (Tensor<T>, Vec<Tensor<T>>) {
        let n: usize = out.iter().product();
        let mut value = vec![T::ZERO; n];
        let mut partials: [Vec<T>; N] = std::array::from_fn(|_| vec![T::ZERO; n]);
        let mut emit = |i: usize, y: Local<T, N>| {
            value[i] = y.value();
            for (p, d) in partials.iter_mut().zip(y.partials()) {
                p[i] = d;
            }
        };
        if x.iter().all(|t| same_shape(t.shape(), out)) {
            let data: [&[T]; N] = std::array::from_fn(|k| &x[k].data()[..n]);
            // One index into N inputs and N + 1 outputs: no iterator zips them.
            #[allow(clippy::needless_range_loop)]
            for i in 0..n {
                emit(
                    i,
                    (self.0)(std::array::from_fn(|k| Local::input(data[k][i], k))),
                );
            }
        } else {
            // Each input read through broadcast strides: an odometer over
            // the output's index, one offset per input moved along with it.
            let strides: Vec<Shape> = x
                .iter()
                .map(|t| broadcast_strides(t.shape(), out))
                .collect();
            let mut index: Shape = Shape::from_elem(0, out.len());
            let mut offset = [0usize; N];
            for i in 0..n {
                emit(
                    i,
                    (self.0)(std::array::from_fn(|k| {
                        Local::input(x[k].data()[offset[k]], k)
                    })),
                );
                for d in (0..out.len()).rev() {
                    index[d] += 1;
                    for k in 0..N {
                        offset[k] += strides[k][d];
                    }
                    if index[d] < out[d] {
                        break;
                    }
                    for k in 0..N {
                        offset[k] -= strides[k][d] * out[d];
                    }
                    index[d] = 0;
                }
            }
        }
        let shape = Shape::from_slice(out);
        let partials = partials
            .into_iter()
            .map(|p| Tensor::from_parts(shape.clone(), p))
            .collect();
        (Tensor::from_parts(shape, value), partials)
    }
}

/// What a statement node keeps: the expression (for replay) and the
/// partials its VJP multiplies by.
#[derive(Clone)]
pub(crate) struct StatementNode<T: Real> {
    pub(crate) expr: Arc<dyn Elementwise<T>>,
    pub(crate) partials: Vec<Tensor<T>>,
}

impl<T: Real> TensorTape<T> {
    /// Whether any node is a statement (gradcheck skips the recorded
    /// backward then).
    pub(crate) fn holds_statement(&self) -> bool {
        self.inner
            .borrow()
            .nodes
            .iter()
            .any(|n| matches!(n.op, Op::Statement(_)))
    }

    /// Records an elementwise expression of `N` tensors as one node: `f`
    /// runs on every element (inputs broadcast together by numpy's rules)
    /// with [`Local`] numbers, which carry the partials with respect to the
    /// `N` inputs alongside the value, and the node keeps those partials
    /// for its VJP (`g * ∂f/∂x_k`, summed back to each input's shape). The
    /// tensor version of [`crate::Tape::statement`]: a chain of elementwise
    /// operations becomes one node instead of one per operation, and needs
    /// no derivative code.
    ///
    /// `f` is kept on the tape, so [`TensorTape::replay`] recomputes the
    /// node; it must be `'static` (`move` what it captures).
    /// [`TensorTape::grad_graph`] (derivatives of derivatives) refuses a
    /// statement: its partials are numbers, not a recording.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    ///
    /// let tape = TensorTape::<f64>::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-1.0, 0.0, 2.0], &[3]));
    /// let b = tape.leaf(Tensor::from_vec(vec![0.5], &[1]));
    /// // swish(x) + b, one node
    /// let y = tape.statement([x, b], |[x, b]| x / ((-x).exp() + 1.0) + b);
    /// assert_eq!(tape.len(), 3); // two leaves, one node
    /// let by_op = x * x.sigmoid() + b;
    /// let (g, h) = (tape.grad(y.sum(), &[x, b]), tape.grad(by_op.sum(), &[x, b]));
    /// for (a, b) in g[0].to_vec().into_iter().zip(h[0].to_vec()) {
    ///     assert!((a - b).abs() < 1e-15);
    /// }
    /// assert_eq!(g[1].to_vec(), vec![3.0]); // broadcast: summed back to [1]
    /// ```
    ///
    /// # Panics
    /// If the inputs do not broadcast together (the message names both
    /// shapes), come from another tape, or `N` is 0.
    #[track_caller]
    pub fn statement<'t, const N: usize, F>(
        &'t self,
        inputs: [TensorVar<'t, T>; N],
        f: F,
    ) -> TensorVar<'t, T>
    where
        F: Fn([Local<T, N>; N]) -> Local<T, N> + Send + Sync + 'static,
    {
        let Some(&first) = inputs.first() else {
            panic!("statement: needs at least one input tensor");
        };
        for &x in &inputs[1..] {
            first.check_same_tape("statement", x);
        }
        let values: [Tensor<T>; N] =
            std::array::from_fn(|k| self.with_node(inputs[k].index, |n| n.value.clone()));
        let mut out = Shape::from_slice(values[0].shape());
        for v in &values[1..] {
            out = broadcast_shapes("statement", &out, v.shape());
        }
        let expr: Arc<dyn Elementwise<T>> = Arc::new(Expr(f));
        let refs: [&Tensor<T>; N] = std::array::from_fn(|k| &values[k]);
        let (value, partials) = expr.eval(&refs, &out);
        let node = StatementNode { expr, partials };
        // The inputs' tapes were checked above.
        self.record(Op::Statement(Box::new(node)), &inputs, value)
    }
}
