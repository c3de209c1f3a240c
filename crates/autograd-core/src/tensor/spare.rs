//! Values recycled from one recording to the next.
//!
//! A training loop records the same operations on tensors of the same
//! shapes at every step. When the tape is cleared, each value that nobody
//! else holds goes into a bin by element count instead of back to the
//! allocator, and the next recording's elementwise ops take their outputs
//! from the bins and write them in place, with the kernels replay uses (bit
//! for bit the allocating forms; `prim::tests`). On T3, 3001 small values a
//! step, `malloc` and `free` were a fifth of the instructions.
//!
//! Only values below [`SPARE_MAX`] elements are kept: a larger value's
//! kernel is split between threads, and the allocator keeps large blocks
//! mapped already (`malloc.rs`). What a recording did not take is dropped at
//! the next clear, so the bins never hold more than one recording's values.

use super::value::Tensor;

/// Values of at least this many elements go back to the allocator.
pub(crate) const SPARE_MAX: usize = crate::parallel::SPLIT_ELEMENTS;

/// Unshared values of a cleared recording, by element count.
pub(crate) struct Spare<T> {
    bins: Vec<(usize, Vec<Tensor<T>>)>,
    /// The bin found last, tried first: a run of ops of one size (T3, a
    /// layer's elementwise tail) finds it without a search.
    last: usize,
}

impl<T> Default for Spare<T> {
    fn default() -> Self {
        Spare {
            bins: Vec::new(),
            last: 0,
        }
    }
}

impl<T: Copy> Spare<T> {
    /// An unshared value of `len` elements, if one is kept; its shape is
    /// stale until [`Tensor::reuse_like`] gives it one.
    #[inline]
    pub(crate) fn take(&mut self, len: usize) -> Option<Tensor<T>> {
        let bin = self.find(len)?;
        self.bins[bin].1.pop()
    }

    fn find(&mut self, len: usize) -> Option<usize> {
        if self.bins.get(self.last).is_some_and(|b| b.0 == len) {
            return Some(self.last);
        }
        let i = self.bins.iter().position(|b| b.0 == len)?;
        self.last = i;
        Some(i)
    }

    /// Keeps the recyclable ones of a cleared recording's `values`, and
    /// drops what the bins held before (values the recording did not need).
    pub(crate) fn refill(&mut self, values: impl Iterator<Item = Tensor<T>>) {
        for (_, bin) in &mut self.bins {
            bin.clear();
        }
        for t in values {
            let Some(len) = t.recyclable_len().filter(|&len| len < SPARE_MAX) else {
                continue;
            };
            let i = self.find(len).unwrap_or_else(|| {
                self.bins.push((len, Vec::new()));
                self.bins.len() - 1
            });
            self.bins[i].1.push(t);
        }
        self.bins.retain(|(_, bin)| !bin.is_empty());
        self.last = 0;
    }

    /// How many values are kept (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.bins.iter().map(|(_, b)| b.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Tensor, TensorTape};
    use rand::SeedableRng;

    fn bits(t: &Tensor<f64>) -> Vec<u64> {
        t.data().iter().map(|v| v.to_bits()).collect()
    }

    /// A second recording on a cleared tape writes its elementwise values
    /// into the first one's buffers and gets the same bits; a value the
    /// caller still holds is never taken.
    #[test]
    fn recycled_values_equal_fresh_ones_and_held_values_are_left_alone() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let x = Tensor::<f64>::rand_uniform(&[3, 5], -2.0, 2.0, &mut rng);
        let w = Tensor::<f64>::rand_uniform(&[3, 5], -2.0, 2.0, &mut rng);
        let step = |tape: &TensorTape<f64>| {
            let (v, c) = (tape.leaf(x.clone()), tape.constant(w.clone()));
            let y = (v.tanh() * 0.5 + v * c).exp();
            let g = y.sum().backward();
            (y.value(), g[v].clone())
        };
        let mut tape = TensorTape::new();
        let (y1, g1) = step(&tape);
        let held = bits(&y1);
        tape.clear();
        // tanh, scale, mul, add and the sum's one element (`exp`'s value is
        // held as `y1`, the leaf and the constant by the caller), and the
        // sweep's spare gradient buffers.
        let kept = tape.inner.borrow().spare.len();
        assert!(kept >= 5, "{kept} values kept");
        let (y2, g2) = step(&tape);
        // All five elementwise values came from the bins (`exp`'s from a
        // spare gradient buffer), not the sum's.
        assert_eq!(tape.inner.borrow().spare.len(), kept - 5);
        assert_eq!(bits(&y2), held);
        assert_eq!(bits(&g2), bits(&g1));
        assert_eq!(bits(&y1), held);
        tape.clear();
        assert_eq!(tape.inner.borrow().spare.len(), kept);
    }
}
