//! Primitives of any shape (several inputs, reductions inside): one file
//! each, registered below, like the elementwise ones.

use smallvec::SmallVec;

use super::{Apply, Primitive};
use crate::Real;
use crate::tensor::value::Tensor;

/// The registry: `file::Type` (with `<T>` when it holds a number) per line.
macro_rules! registry {
    ($( $file:ident :: $Ty:ident $(<$P:ident>)? ,)*) => {
        $( pub(crate) mod $file; )*
        $( pub(crate) use $file::$Ty; )*

        /// A recorded primitive of any shape.
        #[derive(Clone, Debug, PartialEq)]
        pub(crate) enum GeneralOp<T: Real> {
            $( $Ty($Ty $(<$P>)?), )*
        }

        $(
            impl<T: Real> From<$Ty $(<$P>)?> for GeneralOp<T> {
                fn from(op: $Ty $(<$P>)?) -> Self {
                    GeneralOp::$Ty(op)
                }
            }
        )*

        impl<T: Real> GeneralOp<T> {
            /// The primitive's name.
            pub(crate) fn name(&self) -> &'static str {
                match self {
                    $( GeneralOp::$Ty(_) => <$Ty $(<$P>)? as Primitive<T>>::NAME, )*
                }
            }

            /// The value from the inputs' values (recording and replay).
            pub(crate) fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
                match self {
                    $( GeneralOp::$Ty(op) => op.forward(x), )*
                }
            }

            /// The inputs' gradients into pooled buffers, where the
            /// primitive has a kernel for them.
            pub(crate) fn vjp_pooled(
                &self,
                x: &[&Tensor<T>],
                y: &Tensor<T>,
                g: &Tensor<T>,
                need: &[bool],
                pool: &mut Vec<Tensor<T>>,
            ) -> Option<SmallVec<[Option<Tensor<T>>; 3]>> {
                match self {
                    $( GeneralOp::$Ty(op) => op.vjp_pooled(x, y, g, need, pool), )*
                }
            }

            /// The inputs' gradients (those `need`ed), on tensors or
            /// recorded variables.
            pub(crate) fn vjp<V: Apply<T>>(
                &self,
                x: &[&V],
                y: &V,
                g: &V,
                need: &[bool],
            ) -> SmallVec<[Option<V>; 3]> {
                match self {
                    $( GeneralOp::$Ty(op) => op.vjp(x, y, g, need), )*
                }
            }
        }
    };
}

registry! {
    attention::Attention<T>,
    avg_pool::AvgPool2d,
    conv2d::Conv2d,
    cross_entropy::CrossEntropyOp<T>,
    cumsum::Cumsum,
    embedding::Embedding,
    layer_norm::LayerNorm<T>,
    linear::Linear,
    max_pool::MaxPool2d,
}
