//! What every rank must agree on before training: the model's description,
//! and how its gradients are grouped into buckets for the allreduce.

use autograd_core::Real;
use autograd_nn::Module;

/// One line per parameter and buffer, in visiting order:
/// `name [shape] parameter|frozen|buffer`. Ranks compare these at start, so
/// a rank built with another width or another layer order is refused
/// before any gradient is exchanged.
///
/// ```
/// use autograd_nn::{mlp, Activation};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = mlp::<f32, _>(&[4, 3, 2], Activation::Relu, &mut rng);
/// assert_eq!(autograd_dist::describe(&model), [
///     "0.weight [3, 4] parameter",
///     "0.bias [3] parameter",
///     "2.weight [2, 3] parameter",
///     "2.bias [2] parameter",
/// ]);
/// ```
pub fn describe<T: Real>(model: &dyn Module<T>) -> Vec<String> {
    let mut out = Vec::new();
    model.visit_parameters("", &mut |name, p| {
        let kind = if p.requires_grad() {
            "parameter"
        } else {
            "frozen"
        };
        out.push(format!("{name} {:?} {kind}", p.value().shape()));
    });
    model.visit_buffers("", &mut |name, b| {
        out.push(format!("{name} {:?} buffer", b.shape()));
    });
    out
}

/// The first line where two descriptions ([`describe`]) differ, as
/// `line N: "..." vs "..."`, or `None` when they are equal.
///
/// ```
/// let a = vec!["w [2] parameter".to_string()];
/// let b = vec!["w [3] parameter".to_string()];
/// assert_eq!(
///     autograd_dist::first_difference(&a, &b).unwrap(),
///     r#"line 1: "w [2] parameter" vs "w [3] parameter""#
/// );
/// assert_eq!(autograd_dist::first_difference(&a, &a), None);
/// ```
pub fn first_difference(a: &[String], b: &[String]) -> Option<String> {
    let missing = "(nothing)".to_string();
    (0..a.len().max(b.len())).find_map(|i| {
        let (x, y) = (a.get(i).unwrap_or(&missing), b.get(i).unwrap_or(&missing));
        (x != y).then(|| format!("line {}: {x:?} vs {y:?}", i + 1))
    })
}

/// Where each trainable parameter's gradient goes for the allreduce:
/// parameters grouped, in reverse visiting order, into buckets of at most
/// `bucket_bytes` (the first bucket at most `first_bucket_bytes`; a
/// parameter larger than the cap gets a bucket of its own). Reverse order
/// because the reverse sweep completes the last layer's gradients first,
/// so the first bucket can be on the wire while the sweep goes on; a small
/// first bucket starts that early. PyTorch's DDP does the same (1 MiB,
/// then 25 MiB), and these are the defaults of [`BucketPlan::new`].
///
/// ```
/// use autograd_dist::BucketPlan;
/// // Four parameters of 100, 300, 50 and 10 values (f32: 4 bytes each).
/// let plan = BucketPlan::with_caps(&[100, 300, 50, 10], 4, 400, 1600);
/// // Reverse order: 10 and 50 (240 bytes) fill the first bucket's 400
/// // bytes as far as they go; 300 and 100 fit in the next 1600.
/// assert_eq!(plan.buckets(), &[vec![3, 2], vec![1, 0]]);
/// assert_eq!(plan.location(1), (1, 0));
/// assert_eq!(plan.location(0), (1, 300));
/// assert_eq!(plan.bucket_len(1), 400);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BucketPlan {
    buckets: Vec<Vec<usize>>,
    /// Per parameter: (bucket, offset in values).
    location: Vec<(usize, usize)>,
    lens: Vec<usize>,
}

impl BucketPlan {
    /// The plan for parameters of `sizes` values of `elem_bytes` bytes each,
    /// with PyTorch's caps (1 MiB first, 25 MiB after).
    ///
    /// ```
    /// // T1's 64-128-128-10 MLP in f32: 26 122 values, one bucket.
    /// let plan = autograd_dist::BucketPlan::new(&[8192, 128, 16384, 128, 1280, 10], 4);
    /// assert_eq!(plan.buckets().len(), 1);
    /// ```
    pub fn new(sizes: &[usize], elem_bytes: usize) -> Self {
        Self::with_caps(sizes, elem_bytes, 1 << 20, 25 << 20)
    }

    /// The plan with other caps (bytes).
    ///
    /// ```
    /// // A cap below every parameter's size: one bucket per parameter.
    /// let plan = autograd_dist::BucketPlan::with_caps(&[4, 4, 4], 8, 8, 8);
    /// assert_eq!(plan.buckets(), &[vec![2], vec![1], vec![0]]);
    /// ```
    pub fn with_caps(
        sizes: &[usize],
        elem_bytes: usize,
        first_bucket_bytes: usize,
        bucket_bytes: usize,
    ) -> Self {
        let mut buckets: Vec<Vec<usize>> = Vec::new();
        let mut lens: Vec<usize> = Vec::new();
        let mut location = vec![(0, 0); sizes.len()];
        for p in (0..sizes.len()).rev() {
            let cap = if buckets.len() <= 1 {
                first_bucket_bytes
            } else {
                bucket_bytes
            };
            let fits = match lens.last() {
                Some(&len) => (len + sizes[p]) * elem_bytes <= cap,
                None => false,
            };
            if !fits {
                buckets.push(Vec::new());
                lens.push(0);
            }
            let b = buckets.len() - 1;
            location[p] = (b, lens[b]);
            buckets[b].push(p);
            lens[b] += sizes[p];
        }
        BucketPlan {
            buckets,
            location,
            lens,
        }
    }

    /// The parameters (visiting-order positions) in each bucket, in the
    /// order the buckets are reduced.
    pub fn buckets(&self) -> &[Vec<usize>] {
        &self.buckets
    }

    /// Parameter `p`'s bucket and its offset (in values) inside it.
    pub fn location(&self, p: usize) -> (usize, usize) {
        self.location[p]
    }

    /// The number of values in bucket `b`.
    pub fn bucket_len(&self, b: usize) -> usize {
        self.lens[b]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_lands_once_and_buckets_respect_their_caps() {
        let sizes = [5, 70, 3, 3, 200, 1, 40, 40, 9];
        let plan = BucketPlan::with_caps(&sizes, 4, 100, 240);
        let mut seen: Vec<usize> = plan.buckets().concat();
        seen.sort();
        assert_eq!(seen, (0..sizes.len()).collect::<Vec<_>>());
        for (b, members) in plan.buckets().iter().enumerate() {
            let cap = if b == 0 { 100 } else { 240 };
            let bytes: usize = members.iter().map(|&p| sizes[p] * 4).sum();
            assert!(
                bytes <= cap || members.len() == 1,
                "bucket {b}: {bytes} bytes"
            );
            let mut offset = 0;
            for &p in members {
                assert_eq!(plan.location(p), (b, offset));
                offset += sizes[p];
            }
            assert_eq!(plan.bucket_len(b), offset);
            // Reverse visiting order inside and across buckets.
            assert!(members.windows(2).all(|w| w[0] > w[1]));
        }
    }

    #[test]
    fn descriptions_name_the_first_difference() {
        let a = vec!["a [1] parameter".to_string(), "b [2] parameter".to_string()];
        let b = vec!["a [1] parameter".to_string()];
        assert_eq!(
            first_difference(&a, &b).unwrap(),
            r#"line 2: "b [2] parameter" vs "(nothing)""#
        );
    }
}
