//! Two-input elementwise primitives: one file each, registered below.

use super::{Arg, Binary, binary_vjp_into, zip_into};
use crate::Real;
use crate::tensor::pointwise::Pointwise;
use crate::tensor::value::Tensor;

/// The registry: `file::Type` per line. It declares the module and gives
/// the primitive a variant of [`BinaryOp`], whose dispatch calls the
/// primitive's own code.
macro_rules! registry {
    ($( $file:ident :: $Ty:ident ,)*) => {
        $( pub(crate) mod $file; )*
        $( pub(crate) use $file::$Ty; )*

        /// A recorded two-input elementwise primitive.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum BinaryOp {
            $( $Ty($Ty), )*
        }

        $(
            impl From<$Ty> for BinaryOp {
                fn from(op: $Ty) -> Self {
                    BinaryOp::$Ty(op)
                }
            }
        )*

        impl BinaryOp {
            /// The primitive's name.
            pub(crate) fn name(&self) -> &'static str {
                match self {
                    // The same name for every element type.
                    $( BinaryOp::$Ty(_) => <$Ty as Binary<f64>>::NAME, )*
                }
            }

            /// The value on whole tensors, broadcasting.
            #[track_caller]
            pub(crate) fn value_tensor<T: Real>(&self, a: &Tensor<T>, b: &Tensor<T>) -> Tensor<T> {
                match *self {
                    $( BinaryOp::$Ty(op) => a.binary(b, op), )*
                }
            }

            /// The value into an existing buffer (replay), simple broadcasts.
            pub(crate) fn zip_into<T: Real>(&self, a: Arg<'_, T>, b: Arg<'_, T>, out: &mut [T]) {
                match *self {
                    $( BinaryOp::$Ty(op) => zip_into(op, a, b, out), )*
                }
            }

            /// Input `k`'s VJP element by element into `out` (the sweep).
            pub(crate) fn vjp_into<T: Real>(
                &self,
                k: usize,
                g: &[T],
                a: Arg<'_, T>,
                b: Arg<'_, T>,
                y: &[T],
                out: &mut [T],
            ) {
                match *self {
                    $( BinaryOp::$Ty(op) => binary_vjp_into(op, k, g, a, b, y, out), )*
                }
            }

            /// Both inputs' VJPs (those `need`ed) on tensors or recorded
            /// variables, in the output's shape.
            pub(crate) fn vjp<T: Real, E: Pointwise<T>>(
                &self,
                g: &E,
                a: &E,
                b: &E,
                y: &E,
                need: &[bool],
            ) -> [Option<E>; 2] {
                match *self {
                    $( BinaryOp::$Ty(op) => [
                        need[0].then(|| Binary::<T>::vjp_a(op, g, a, b, y)),
                        need[1].then(|| Binary::<T>::vjp_b(op, g, a, b, y)),
                    ], )*
                }
            }
        }
    };
}

registry! {
    add::Add,
    sub::Sub,
    mul::Mul,
    div::Div,
    pow::Pow,
    maximum::Maximum,
    minimum::Minimum,
    atan2::Atan2,
}

#[cfg(test)]
impl BinaryOp {
    /// Every primitive, for tests that cover them all.
    pub(crate) fn examples() -> Vec<Self> {
        vec![
            Add.into(),
            Sub.into(),
            Mul.into(),
            Div.into(),
            Pow.into(),
            Maximum {}.into(),
            Minimum {}.into(),
            Atan2.into(),
        ]
    }
}
