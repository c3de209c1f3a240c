//! Differentiable primitives defined outside the crate: a forward function
//! and a vector-Jacobian product, recorded and swept exactly as the
//! built-in primitives are. The VJP is written once, generic over
//! [`Algebra`], so the new op also works under `grad_graph` (higher order).

use std::sync::Arc;

use super::algebra::Algebra;
use super::tape::{Op, TensorVar};
use super::value::Tensor;
use crate::Real;

/// A user-defined differentiable operation on tensors.
///
/// `forward` computes the output from the inputs' values; `vjp` gives, for
/// an output adjoint `grad`, each input's gradient (`None` for an input that
/// gets none), written with [`Algebra`] operations so that it runs on plain
/// tensors in an ordinary backward and on variables under
/// [`TensorTape::grad_graph`](crate::TensorTape::grad_graph). Gradients may
/// come back in the output's broadcast shape: the sweep sums them to each
/// input's shape.
///
/// A numerically stable softplus, `ln(1 + e^x)`, as a fused primitive:
///
/// ```
/// use autograd_core::{tensor_gradcheck, Algebra, CustomOp, Real, Tensor, TensorTape, TensorVar};
///
/// struct Log1pExp;
///
/// impl<T: Real> CustomOp<T> for Log1pExp {
///     fn name(&self) -> &str {
///         "log1p_exp"
///     }
///     fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
///         // max(x, 0) + ln(1 + e^-|x|): no overflow for large x.
///         x[0].map(|v| if v > T::ZERO { v } else { T::ZERO } + (-v.abs()).exp().ln_1p())
///     }
///     fn vjp<V: Algebra<T>>(&self, x: &[&V], _y: &V, grad: &V) -> Vec<Option<V>> {
///         // d/dx ln(1 + e^x) = sigmoid(x) = 1 / (1 + e^-x)
///         let sig = x[0].neg().exp().add_scalar(T::ONE).powf(-T::ONE);
///         vec![Some(grad.mul(&sig))]
///     }
/// }
///
/// let x = Tensor::from_vec(vec![-800.0_f64, -1.0, 0.0, 2.0, 800.0], &[5]);
/// let tape = TensorTape::new();
/// let y = TensorVar::custom(Log1pExp, &[tape.leaf(x.clone())]);
/// assert_eq!(y.value().get(&[4]), 800.0); // finite where ln(1 + e^x) overflows
/// // Checked like any primitive (away from the far tails, where the
/// // finite differences themselves lose precision):
/// let x = Tensor::from_vec(vec![-3.0_f64, -0.5, 0.0, 1.5, 4.0], &[5]);
/// assert!(tensor_gradcheck(|_, v| TensorVar::custom(Log1pExp, &[v[0]]), &[x]).is_ok());
/// ```
pub trait CustomOp<T: Real>: Send + Sync + 'static {
    /// The name the tape shows for this op.
    fn name(&self) -> &str;
    /// The output from the inputs' values.
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T>;
    /// One gradient per input from the output's adjoint `grad`; `output` is
    /// the forward's result, for ops whose derivative is cheaper from it.
    fn vjp<V: Algebra<T>>(&self, inputs: &[&V], output: &V, grad: &V) -> Vec<Option<V>>;
}

/// The object-safe face of a [`CustomOp`], stored on the tape: the generic
/// VJP instantiated for plain tensors and for variables.
#[doc(hidden)]
pub trait DynCustomOp<T: Real>: Send + Sync {
    fn name(&self) -> &str;
    fn forward_values(&self, x: &[&Tensor<T>]) -> Tensor<T>;
    fn vjp_tensor(&self, x: &[&Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>>;
    fn vjp_var<'t>(
        &self,
        x: &[&TensorVar<'t, T>],
        y: &TensorVar<'t, T>,
        g: &TensorVar<'t, T>,
    ) -> Vec<Option<TensorVar<'t, T>>>;
}

impl<T: Real, O: CustomOp<T>> DynCustomOp<T> for O {
    fn name(&self) -> &str {
        CustomOp::name(self)
    }
    fn forward_values(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        CustomOp::forward(self, x)
    }
    fn vjp_tensor(&self, x: &[&Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Vec<Option<Tensor<T>>> {
        self.vjp(x, y, g)
    }
    fn vjp_var<'t>(
        &self,
        x: &[&TensorVar<'t, T>],
        y: &TensorVar<'t, T>,
        g: &TensorVar<'t, T>,
    ) -> Vec<Option<TensorVar<'t, T>>> {
        self.vjp(x, y, g)
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Applies a user-defined [`CustomOp`] to `inputs` (all on one tape),
    /// recording it like a built-in primitive.
    ///
    /// ```
    /// use autograd_core::{Algebra, CustomOp, Real, Tensor, TensorTape, TensorVar};
    /// struct Double;
    /// impl<T: Real> CustomOp<T> for Double {
    ///     fn name(&self) -> &str { "double" }
    ///     fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> { x[0].scale(T::TWO) }
    ///     fn vjp<V: Algebra<T>>(&self, _: &[&V], _: &V, g: &V) -> Vec<Option<V>> {
    ///         vec![Some(g.scale(T::TWO))]
    ///     }
    /// }
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let y = TensorVar::custom(Double, &[x]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![2.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn custom(op: impl CustomOp<T>, inputs: &[Self]) -> Self {
        let Some(&first) = inputs.first() else {
            panic!("custom op {}: needs at least one input", op.name());
        };
        let values: Vec<Tensor<T>> = inputs.iter().map(|v| v.value()).collect();
        let refs: Vec<&Tensor<T>> = values.iter().collect();
        let value = op.forward(&refs);
        let name = op.name().to_string();
        first.record_nary(inputs, &name, Op::Custom(CustomNode(Arc::new(op))), value)
    }
}

/// A custom op as a tape node holds it.
#[derive(Clone)]
pub(crate) struct CustomNode<T>(pub(crate) Arc<dyn DynCustomOp<T>>);

impl<T: Real> std::fmt::Debug for CustomNode<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Custom({})", self.0.name())
    }
}

/// The VJP of a custom node, on whichever side (values or variables) the
/// sweep runs.
pub(crate) fn custom_vjp<T: Real, V: Algebra<T>>(
    op: &dyn DynCustomOp<T>,
    x: &[&V],
    y: &V,
    g: &V,
    emit: &mut impl FnMut(usize, V),
) {
    for (k, gk) in V::custom_vjp(op, x, y, g).into_iter().enumerate() {
        if let Some(gk) = gk {
            emit(k, gk);
        }
    }
}
