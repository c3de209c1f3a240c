//! One-input elementwise primitives: one file each, registered below.

use super::{Unary, map_into, unary_vjp_into};
use crate::Real;
use crate::tensor::pointwise::Pointwise;
use crate::tensor::value::Tensor;

/// The registry: `file::Type` (with `<T>` when it holds a number) per line.
/// It declares the module and gives the primitive a variant of
/// [`UnaryOp`], whose dispatch calls the primitive's own code.
macro_rules! registry {
    ($( $file:ident :: $Ty:ident $(<$P:ident>)? ,)*) => {
        $( pub(crate) mod $file; )*
        $( pub(crate) use $file::$Ty; )*

        /// A recorded one-input elementwise primitive.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub(crate) enum UnaryOp<T: Real> {
            $( $Ty($Ty $(<$P>)?), )*
        }

        $(
            impl<T: Real> From<$Ty $(<$P>)?> for UnaryOp<T> {
                fn from(op: $Ty $(<$P>)?) -> Self {
                    UnaryOp::$Ty(op)
                }
            }
        )*

        impl<T: Real> UnaryOp<T> {
            /// The primitive's name.
            pub(crate) fn name(&self) -> &'static str {
                match self {
                    $( UnaryOp::$Ty(_) => <$Ty $(<$P>)? as Unary<T>>::NAME, )*
                }
            }

            /// The value on a whole tensor.
            pub(crate) fn value_tensor(&self, x: &Tensor<T>) -> Tensor<T> {
                match *self {
                    $( UnaryOp::$Ty(op) => x.unary(op), )*
                }
            }

            /// The value into an existing buffer (replay).
            pub(crate) fn map_into(&self, x: &[T], out: &mut [T]) {
                match *self {
                    $( UnaryOp::$Ty(op) => map_into(op, x, out), )*
                }
            }

            /// The VJP element by element into `out` (the sweep).
            pub(crate) fn vjp_into(
                &self,
                g: Option<&[T]>,
                x: &Tensor<T>,
                y: &Tensor<T>,
                out: &mut [T],
            ) {
                match *self {
                    $( UnaryOp::$Ty(op) => unary_vjp_into(op, g, x, y, out), )*
                }
            }

            /// The VJP on tensors or recorded variables.
            pub(crate) fn vjp<E: Pointwise<T>>(&self, g: &E, x: &E, y: &E) -> E {
                match *self {
                    $( UnaryOp::$Ty(op) => op.vjp(g, x, y), )*
                }
            }
        }
    };
}

registry! {
    neg::Neg,
    add_scalar::AddScalar<T>,
    scale::Scale<T>,
    powf::Powf<T>,
    exp::Exp,
    ln::Ln,
    sqrt::Sqrt,
    tanh::Tanh,
    sigmoid::Sigmoid,
    sin::Sin,
    cos::Cos,
    abs::Abs,
    relu::Relu,
    clamp::Clamp<T>,
    erf::Erf,
    log1p::Log1p,
    expm1::Expm1,
    softplus::Softplus<T>,
    gelu::Gelu,
}

#[cfg(test)]
impl<T: Real> UnaryOp<T> {
    /// One instance of every primitive, for tests that cover them all.
    pub(crate) fn examples() -> Vec<Self> {
        vec![
            Neg.into(),
            AddScalar(T::from_f64(0.7)).into(),
            Scale(T::from_f64(-1.3)).into(),
            Powf(T::from_f64(2.0)).into(),
            Powf(T::from_f64(3.0)).into(),
            Powf(T::from_f64(2.5)).into(),
            Exp.into(),
            Ln.into(),
            Sqrt.into(),
            Tanh.into(),
            Sigmoid.into(),
            Sin.into(),
            Cos.into(),
            Abs.into(),
            Relu.into(),
            Clamp(T::from_f64(0.5), T::from_f64(2.0)).into(),
            Erf.into(),
            Log1p.into(),
            Expm1.into(),
            Softplus(T::from_f64(1.0)).into(),
            Softplus(T::from_f64(2.5)).into(),
            Gelu::Exact.into(),
            Gelu::Tanh.into(),
        ]
    }
}
