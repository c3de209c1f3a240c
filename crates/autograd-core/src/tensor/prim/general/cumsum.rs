//! Cumulative sum along an axis (PyTorch's `cumsum`), and the same from the
//! end of the axis (`reverse`). VJP: the cumulative sum of `g` taken the
//! other way, i.e. the same primitive with `reverse` flipped.

use smallvec::{smallvec, SmallVec};

use crate::tensor::prim::{Apply, Primitive};
use crate::tensor::fold::split3;
use crate::tensor::shape::norm_axis;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cumsum {
    pub(crate) axis: usize,
    pub(crate) reverse: bool,
}

impl<T: Real> Primitive<T> for Cumsum {
    const NAME: &'static str = "cumsum";

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let x = x[0];
        let (outer, len, inner) = split3(x.shape(), self.axis, self.axis + 1);
        let mut out = x.to_vec();
        // Running sums line by line along the axis; `inner` adjacent lines
        // advance together, so the inner loop is contiguous.
        for o in 0..outer {
            let block = &mut out[o * len * inner..(o + 1) * len * inner];
            for step in 1..len {
                // Line `l` gets the running sum so far, from the line before
                // it in the direction of summation.
                let (src, dst) = if self.reverse {
                    let l = len - 1 - step;
                    let (a, b) = block.split_at_mut((l + 1) * inner);
                    (&b[..inner], &mut a[l * inner..])
                } else {
                    let (a, b) = block.split_at_mut(step * inner);
                    (&a[(step - 1) * inner..], &mut b[..inner])
                };
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
        Tensor::from_vec(out, x.shape())
    }

    fn vjp<V: Apply<T>>(&self, _x: &[&V], _y: &V, g: &V, _need: &[bool]) -> SmallVec<[Option<V>; 3]> {
        let back = Cumsum {
            axis: self.axis,
            reverse: !self.reverse,
        };
        smallvec![Some(V::apply(back.into(), &[g]))]
    }
}

impl<T: Real> Tensor<T> {
    /// Cumulative sums along `axis` (negative counts from the end), as
    /// PyTorch's `cumsum`.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f64, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.cumsum(1).to_vec(), vec![1.0, 3.0, 3.0, 7.0]);
    /// assert_eq!(t.cumsum(0).to_vec(), vec![1.0, 2.0, 4.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn cumsum(&self, axis: isize) -> Self {
        let axis = norm_axis("cumsum", axis, self.shape());
        Primitive::forward(&Cumsum { axis, reverse: false }, &[self])
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// Cumulative sums along `axis`, recorded as one node. VJP: the
    /// cumulative sum of the adjoint from the end of the axis.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0, 3.0], &[3]));
    /// let c = x.cumsum(0);
    /// assert_eq!(c.value().to_vec(), vec![1.0, 3.0, 6.0]);
    /// // x[0] appears in all three sums, x[2] in one.
    /// assert_eq!(c.sum().backward()[x].to_vec(), vec![3.0, 2.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn cumsum(self, axis: isize) -> Self {
        let axis = norm_axis("cumsum", axis, &self.shape());
        self.general(&[], Cumsum { axis, reverse: false })
    }
}
