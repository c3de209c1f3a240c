//! Which rows each rank trains on: PyTorch's `DistributedSampler`.

use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::DistError;

/// Splits a data set of `len` rows among `world` ranks for one epoch: every
/// rank draws the same seeded permutation of the rows (so no rank needs to
/// tell another anything), pads it by repeating its start until it divides
/// evenly (or drops the tail with [`DistributedSampler::drop_last`]), and
/// keeps every `world`-th row starting at its rank.
///
/// Because the split is strided, batch `k` of size `b` on every rank
/// together is exactly batch `k` of size `world * b` that one process
/// would take from the same permutation: data-parallel training on `w`
/// ranks with batch `b` is one-process training with batch `w * b`, which
/// is how the `ddp_digits` example checks itself. Call
/// [`DistributedSampler::set_epoch`] before each epoch, as with PyTorch,
/// or every epoch sees the same order.
///
/// ```
/// use autograd_dist::DistributedSampler;
/// let one = DistributedSampler::new(10, 0, 1, 7).unwrap();
/// let r0 = DistributedSampler::new(10, 0, 2, 7).unwrap();
/// let r1 = DistributedSampler::new(10, 1, 2, 7).unwrap();
/// // Batch 0 of 2 rows on each rank = batch 0 of 4 rows in one process.
/// let mut both = [r0.batches(2)[0].clone(), r1.batches(2)[0].clone()].concat();
/// let mut single = one.batches(4)[0].clone();
/// both.sort();
/// single.sort();
/// assert_eq!(both, single);
/// ```
#[derive(Clone, Debug)]
pub struct DistributedSampler {
    len: usize,
    rank: usize,
    world: usize,
    seed: u64,
    epoch: u64,
    shuffle: bool,
    drop_last: bool,
}

impl DistributedSampler {
    /// A shuffling sampler over `len` rows for `rank` of `world`. Refused
    /// for an empty data set, a world of 0 or a rank outside it.
    ///
    /// ```
    /// use autograd_dist::DistributedSampler;
    /// assert_eq!(DistributedSampler::new(10, 0, 3, 0).unwrap().num_samples(), 4);
    /// let err = DistributedSampler::new(10, 3, 3, 0).unwrap_err();
    /// assert!(err.to_string().contains("rank 3"), "{err}");
    /// ```
    pub fn new(len: usize, rank: usize, world: usize, seed: u64) -> Result<Self, DistError> {
        let bad = |why: String| Err(DistError::Config(format!("DistributedSampler: {why}")));
        if world == 0 {
            return bad("the world size is 0".into());
        }
        if rank >= world {
            return bad(format!("rank {rank} is outside a world of {world}"));
        }
        if len == 0 {
            return bad("the data set is empty".into());
        }
        Ok(DistributedSampler {
            len,
            rank,
            world,
            seed,
            epoch: 0,
            shuffle: true,
            drop_last: false,
        })
    }

    /// Shuffles each epoch (the default) or keeps the rows in order.
    ///
    /// ```
    /// let s = autograd_dist::DistributedSampler::new(6, 1, 2, 0).unwrap().shuffle(false);
    /// assert_eq!(s.indices(), vec![1, 3, 5]);
    /// ```
    pub fn shuffle(mut self, on: bool) -> Self {
        self.shuffle = on;
        self
    }

    /// Drops the rows that do not divide evenly among the ranks instead of
    /// padding with repeated rows (PyTorch's `drop_last`).
    ///
    /// ```
    /// let s = autograd_dist::DistributedSampler::new(7, 0, 2, 0).unwrap().shuffle(false);
    /// assert_eq!(s.clone().indices(), vec![0, 2, 4, 6]); // padded: row 0 again on rank 1
    /// assert_eq!(s.drop_last(true).indices(), vec![0, 2, 4]);
    /// ```
    pub fn drop_last(mut self, on: bool) -> Self {
        self.drop_last = on;
        self
    }

    /// Selects the epoch, which seeds the permutation together with the
    /// seed: every rank must set the same epoch.
    ///
    /// ```
    /// let mut s = autograd_dist::DistributedSampler::new(100, 0, 1, 0).unwrap();
    /// let first = s.indices();
    /// s.set_epoch(1);
    /// assert_ne!(s.indices(), first);
    /// ```
    pub fn set_epoch(&mut self, epoch: u64) {
        self.epoch = epoch;
    }

    /// Rows per rank per epoch.
    ///
    /// ```
    /// let s = autograd_dist::DistributedSampler::new(1500, 1, 2, 0).unwrap();
    /// assert_eq!(s.num_samples(), 750);
    /// ```
    pub fn num_samples(&self) -> usize {
        if self.drop_last {
            self.len / self.world
        } else {
            self.len.div_ceil(self.world)
        }
    }

    /// This rank's rows for the current epoch, in training order.
    ///
    /// ```
    /// use autograd_dist::DistributedSampler;
    /// let r: Vec<Vec<usize>> = (0..3)
    ///     .map(|k| DistributedSampler::new(9, k, 3, 5).unwrap().indices())
    ///     .collect();
    /// let mut all = r.concat();
    /// all.sort();
    /// assert_eq!(all, (0..9).collect::<Vec<_>>()); // each row on exactly one rank
    /// ```
    pub fn indices(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len).collect();
        if self.shuffle {
            // Mixing the epoch in with a large odd multiplier keeps
            // (seed, epoch) pairs apart that plain addition would merge.
            let key = self.seed ^ self.epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(key));
        }
        let total = self.num_samples() * self.world;
        if total <= self.len {
            order.truncate(total);
        } else {
            let mut k = 0;
            while order.len() < total {
                order.push(order[k]);
                k += 1;
            }
        }
        order
            .into_iter()
            .skip(self.rank)
            .step_by(self.world)
            .collect()
    }

    /// This rank's rows cut into batches of `batch` (the last one shorter
    /// when they do not divide; the same length on every rank, since every
    /// rank has the same number of rows).
    ///
    /// ```
    /// let s = autograd_dist::DistributedSampler::new(10, 0, 2, 0).unwrap();
    /// let sizes: Vec<usize> = s.batches(2).iter().map(|b| b.len()).collect();
    /// assert_eq!(sizes, [2, 2, 1]);
    /// ```
    pub fn batches(&self, batch: usize) -> Vec<Vec<usize>> {
        assert!(
            batch > 0,
            "DistributedSampler::batches: the batch size is 0"
        );
        self.indices()
            .chunks(batch)
            .map(<[usize]>::to_vec)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_partition_one_permutation_and_batches_line_up() {
        for (len, world, batch) in [(1500, 2, 32), (1797, 3, 16), (10, 4, 1), (5, 8, 2)] {
            let single = DistributedSampler::new(len, 0, 1, 11).unwrap();
            let ranks: Vec<_> = (0..world)
                .map(|r| DistributedSampler::new(len, r, world, 11).unwrap())
                .collect();
            let total = ranks[0].num_samples() * world;
            // Padding repeats the permutation's start, and batch k of every
            // rank together is batch k of `world * batch` rows in one process
            // over the padded permutation.
            let mut padded = single.indices();
            let mut k = 0;
            while padded.len() < total {
                padded.push(padded[k]);
                k += 1;
            }
            let per_rank: Vec<_> = ranks.iter().map(|r| r.batches(batch)).collect();
            let big: Vec<_> = padded.chunks(world * batch).collect();
            assert_eq!(per_rank[0].len(), big.len(), "len {len} world {world}");
            for (b, rows) in big.iter().enumerate() {
                let mut got: Vec<usize> = per_rank.iter().flat_map(|r| r[b].clone()).collect();
                let mut want = rows.to_vec();
                got.sort();
                want.sort();
                assert_eq!(got, want, "len {len} world {world} batch {b}");
                let sizes: Vec<usize> = per_rank.iter().map(|r| r[b].len()).collect();
                assert!(sizes.iter().all(|&s| s == sizes[0]), "{sizes:?}");
            }
        }
    }

    #[test]
    fn epochs_and_seeds_change_the_order_and_drop_last_drops() {
        let mut s = DistributedSampler::new(50, 0, 2, 1).unwrap();
        let e0 = s.indices();
        s.set_epoch(1);
        assert_ne!(s.indices(), e0);
        assert_ne!(DistributedSampler::new(50, 0, 2, 2).unwrap().indices(), e0);
        let d = DistributedSampler::new(51, 1, 2, 1)
            .unwrap()
            .drop_last(true);
        assert_eq!(d.indices().len(), 25);
        let mut seen = d.indices();
        seen.extend(
            DistributedSampler::new(51, 0, 2, 1)
                .unwrap()
                .drop_last(true)
                .indices(),
        );
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 50, "no row twice when the tail is dropped");
    }

    #[test]
    #[should_panic(expected = "DistributedSampler::batches: the batch size is 0")]
    fn a_batch_of_zero_rows_is_refused() {
        DistributedSampler::new(4, 0, 1, 0).unwrap().batches(0);
    }

    #[test]
    fn bad_configurations_are_refused_with_the_values() {
        let e = DistributedSampler::new(0, 0, 1, 0).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = DistributedSampler::new(4, 0, 0, 0).unwrap_err().to_string();
        assert!(e.contains("world size is 0"), "{e}");
        let e = DistributedSampler::new(4, 5, 2, 0).unwrap_err().to_string();
        assert!(e.contains("rank 5") && e.contains("world of 2"), "{e}");
    }
}
