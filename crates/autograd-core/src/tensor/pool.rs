//! The sweep's buffer pool: gradient buffers a tape keeps between sweeps so
//! that a replayed step, swept again and again, stops allocating.
//!
//! A reverse sweep makes one new buffer per VJP (a product's gradient, a bias
//! sum, the loss's temporaries) and drops most of them a few nodes later.
//! Instead, a buffer nobody else holds goes back to the tape's pool when the
//! sweep is done with it, and the VJPs below take their output buffers from
//! the pool. After one sweep the pool holds buffers of every size the next
//! sweep of the same recording needs, so with [`TensorTape::grad_into`]
//! (which hands the caller's previous gradients back to the pool) a replayed
//! training step allocates nothing on this side of the matrix kernel (much
//! as PyTorch's CUDA caching allocator keeps freed blocks for reuse). The
//! pool is bounded ([`POOL_BUFFERS`]) and freed by [`TensorTape::clear`] and
//! [`TensorTape::release_buffers`].
//!
//! The elementwise primitives' VJPs run element by element into such
//! buffers (`prim/`); the pooled VJPs of products, sums and softmaxes live
//! beside the general rules they stand in for (in `linalg.rs` and
//! `reduce.rs`); the test below checks each against the general rule bit for
//! bit.
//!
//! [`TensorTape::grad_into`]: super::TensorTape::grad_into
//! [`TensorTape::release_buffers`]: super::TensorTape::release_buffers
//! [`TensorTape::clear`]: super::TensorTape::clear

use super::linalg::mm_vjp_pooled;
use super::reduce::{sum_to_pooled, sum_vjp_pooled};
use super::shape::numel;
use super::softmax::softmax_vjp_pooled;
use super::tape::Op;
use super::value::Tensor;
use crate::Real;

/// At most this many unshared buffers wait in a tape's pool between sweeps
/// (an MLP step of three layers leaves about a dozen).
pub(crate) const POOL_BUFFERS: usize = 32;

/// Makes room for [`POOL_BUFFERS`] buffers once, so `give` never reallocates.
pub(crate) fn ready<T>(pool: &mut Vec<Tensor<T>>) {
    if pool.capacity() < POOL_BUFFERS {
        pool.reserve_exact(POOL_BUFFERS - pool.len());
    }
}

/// An unshared buffer of `shape`'s element count, from the pool when one
/// fits (its contents are stale: the caller overwrites every element), else
/// new.
pub(crate) fn take<T: Real>(pool: &mut Vec<Tensor<T>>, shape: &[usize]) -> Tensor<T> {
    take_kept(pool, shape).unwrap_or_else(|| Tensor::zeros(shape))
}

/// [`take`]'s buffer from the pool, or `None` when none fits (for callers
/// that can make a fresh one without zero-filling it first).
pub(crate) fn take_kept<T: Real>(pool: &mut Vec<Tensor<T>>, shape: &[usize]) -> Option<Tensor<T>> {
    let n = numel(shape);
    let k = pool.iter().rposition(|t| t.numel() == n)?;
    Some(pool.swap_remove(k).into_shape(shape))
}

/// Keeps `t` for reuse if nobody else holds it and there is room; else
/// drops it.
pub(crate) fn give<T: Copy>(pool: &mut Vec<Tensor<T>>, t: Tensor<T>) {
    if pool.len() < pool.capacity() && !t.is_shared() && t.numel() > 0 {
        pool.push(t);
    }
}

/// The elements of a buffer from [`take`], which nobody else holds.
pub(crate) fn unique<T: Copy>(t: &mut Tensor<T>) -> &mut [T] {
    t.data_if_unique().expect("pool buffers are unshared")
}

/// The VJP of `op` into pooled buffers, for the ops a training step spends
/// its sweep in; `None` (nothing taken) sends the sweep to the general rule.
pub(crate) fn vjp_pooled<T: Real>(
    op: &Op<T>,
    x: &[&Tensor<T>],
    y: &Tensor<T>,
    g: &Tensor<T>,
    need: &[bool],
    pool: &mut Vec<Tensor<T>>,
) -> Option<[Option<Tensor<T>>; 2]> {
    let one = |t: Option<Tensor<T>>| t.map(|t| [Some(t), None]);
    match op {
        Op::MatMul { ta, tb } => mm_vjp_pooled(x, g, *ta, *tb, need, pool),
        Op::Sum { axes, keepdim: _ } => one(sum_vjp_pooled(x[0], g, axes, pool)),
        Op::BroadcastTo => one(sum_to_pooled(g, x[0].shape(), pool)),
        Op::Softmax(axis) => one(softmax_vjp_pooled(y, g, *axis, false, pool)),
        Op::LogSoftmax(axis) => one(softmax_vjp_pooled(y, g, *axis, true, pool)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::TensorTape;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn bits(t: &Tensor<f32>) -> Vec<u32> {
        t.data().iter().map(|v| v.to_bits()).collect()
    }

    /// Records `f` on fresh leaves, sweeps once with pooling off (anomaly
    /// detection on takes the general rules) and twice with it on (the
    /// second sweep runs on buffers the first left in the pool), and
    /// compares the gradients bit for bit.
    fn same_bits(
        shapes: &[&[usize]],
        f: impl for<'t> Fn(&[crate::tensor::TensorVar<'t, f32>]) -> crate::tensor::TensorVar<'t, f32>,
    ) {
        agree(shapes, f, None)
    }

    /// [`same_bits`] to within `tol` (relative to the largest gradient
    /// element), for kernels whose sums run in another order than the
    /// general rule's.
    fn agree(
        shapes: &[&[usize]],
        f: impl for<'t> Fn(&[crate::tensor::TensorVar<'t, f32>]) -> crate::tensor::TensorVar<'t, f32>,
        tol: Option<f32>,
    ) {
        let mut rng = StdRng::seed_from_u64(7);
        let tape = TensorTape::<f32>::new();
        let xs: Vec<_> = shapes
            .iter()
            .map(|s| tape.leaf(Tensor::rand_normal(s, 0.0, 1.0, &mut rng)))
            .collect();
        let loss = f(&xs);
        tape.set_anomaly_detection(true);
        let general = tape.grad(loss, &xs);
        tape.set_anomaly_detection(false);
        let mut pooled = Vec::new();
        for _ in 0..2 {
            tape.grad_into(loss, &xs, &mut pooled);
            for (p, g) in pooled.iter().zip(&general) {
                assert_eq!(p.shape(), g.shape());
                match tol {
                    None => assert_eq!(bits(p), bits(g)),
                    Some(tol) => {
                        let scale = g.data().iter().fold(1.0_f32, |m, v| m.max(v.abs()));
                        // A NaN difference fails the comparison too.
                        let diff = p.max_abs_diff(g);
                        assert!(
                            diff <= f64::from(tol * scale),
                            "{diff} apart, scale {scale}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn pooled_vjps_equal_the_general_rules_bit_for_bit() {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a: &[usize] = if ta { &[4, 3] } else { &[3, 4] };
            let b: &[usize] = if tb { &[5, 4] } else { &[4, 5] };
            same_bits(&[a, b], |x| {
                let p = match (ta, tb) {
                    (false, false) => x[0].matmul(x[1]),
                    (false, true) => x[0].matmul_transposed(x[1]),
                    _ => x[0].mm_ex(x[1], ta, tb),
                };
                p.tanh().sum()
            });
        }
        // Every elementwise primitive, on equal shapes and on the simple
        // broadcasts its kernels cover (a bias row, one element).
        same_bits(&[&[3, 4], &[3, 4]], |x| x[0].mul(x[1]).tanh().sum());
        for s in [&[3, 4][..], &[4], &[1, 1], &[]] {
            same_bits(&[&[3, 4], s], |x| {
                let (a, b) = (x[0].exp(), x[1].exp());
                let terms = [
                    a.mul(b),
                    b.mul(a),
                    a.div(b),
                    b.div(a),
                    a.pow(b),
                    a.maximum(b),
                    b.minimum(a),
                    a.atan2(b),
                    b.sub(a),
                ];
                terms
                    .into_iter()
                    .fold(x[0], |acc, t| acc.add(t.tanh()))
                    .sum()
            });
        }
        same_bits(&[&[3, 4]], |x| {
            let v = x[0];
            let terms = [
                v.neg(),
                v.add_scalar(0.3),
                v.scale(-1.7),
                v.abs().powf(1.5),
                v.square(),
                v.powf(3.0),
                v.exp(),
                v.abs().add_scalar(0.1).ln(),
                v.abs().sqrt(),
                v.tanh(),
                v.sigmoid(),
                v.sin(),
                v.cos(),
                v.relu(),
                v.clamp(-0.5, 0.5),
                v.erf(),
                v.abs().log1p(),
                v.expm1(),
                v.softplus(2.0),
                v.gelu(crate::tensor::Gelu::Exact),
                v.gelu(crate::tensor::Gelu::Tanh),
            ];
            terms.into_iter().fold(v, |acc, t| acc.mul(t)).sum()
        });
        same_bits(&[&[3, 4], &[3, 4]], |x| x[0].sub(x[1]).tanh().sum());
        // The sweep's own path for add: `g` moved to one input, shared
        // with the other, also when both are the same variable.
        same_bits(&[&[3, 4], &[3, 4]], |x| x[0].add(x[1]).tanh().sum());
        same_bits(&[&[3, 4]], |x| x[0].add(x[0]).tanh().sum());
        // A bias row: the sum back to its shape goes through the pool.
        same_bits(&[&[6, 5], &[5]], |x| x[0].add(x[1]).tanh().sum());
        same_bits(&[&[2, 3, 4]], |x| x[0].sum_axes(&[1], false).tanh().sum());
        same_bits(&[&[2, 3, 4]], |x| x[0].sum_axes(&[1, 2], true).tanh().sum());
        same_bits(&[&[2, 3, 4]], |x| {
            x[0].sum_axes(&[0, 2], false).tanh().sum()
        });
        same_bits(&[&[3]], |x| x[0].broadcast_to(&[4, 3]).tanh().sum());
        for axis in [0, 1, -1] {
            same_bits(&[&[3, 4, 5]], |x| x[0].log_softmax(axis).tanh().sum());
            same_bits(&[&[3, 4, 5]], |x| x[0].softmax(axis).tanh().sum());
        }
        // The fused cross-entropy, every reduction, smoothing and an
        // ignored id (its kernel shares the rule's formula).
        for red in [
            crate::Reduction::Mean,
            crate::Reduction::Sum,
            crate::Reduction::None,
        ] {
            let o = crate::CrossEntropy::new().reduction(red);
            for o in [o, o.label_smoothing(0.1).ignore_index(2)] {
                same_bits(&[&[6, 5]], |x| {
                    let t = Tensor::from_vec(vec![1.0, 2.0, 0.0, 4.0, 2.0, 3.0], &[6]);
                    x[0].cross_entropy(x[0].tape().constant(t), o).tanh().sum()
                });
            }
        }
        // The fused layer norm: with weight and bias (their gradients
        // summed over the rows inside the kernel), weight only, neither,
        // and over two trailing axes. Its kernel sums each row in sixteen
        // lanes (`simd::lane_sum`), the general rule in order: to rounding.
        // Rows of 40 fill the lanes twice and leave a tail.
        let tol = Some(1e-5);
        agree(
            &[&[2, 3, 40], &[40], &[40]],
            |x| {
                x[0].layer_norm(&[40], Some(x[1]), Some(x[2]), 1e-5)
                    .tanh()
                    .sum()
            },
            tol,
        );
        agree(
            &[&[2, 3, 4], &[3, 4]],
            |x| {
                x[0].layer_norm(&[3, 4], Some(x[1]), None, 1e-5)
                    .tanh()
                    .sum()
            },
            tol,
        );
        agree(
            &[&[5, 6]],
            |x| x[0].layer_norm(&[6], None, None, 0.0).tanh().sum(),
            tol,
        );
        // The fused linear layer on a batch, with bias and without: its
        // pooled rule is the matrix product's (the batch folded into rows)
        // plus the adjoint handed to the sweep for the bias.
        same_bits(&[&[2, 3, 4], &[5, 4], &[5]], |x| {
            x[0].linear(x[1], Some(x[2])).tanh().sum()
        });
        same_bits(&[&[6, 4], &[5, 4]], |x| {
            x[0].linear(x[1], None).tanh().sum()
        });
        // The loss of a classifier, as T1 records it.
        same_bits(&[&[8, 10], &[8, 10]], |x| {
            x[0].log_softmax(-1)
                .mul(x[1])
                .sum_axes(&[1], false)
                .mean()
                .neg()
        });
    }

    #[test]
    fn the_pool_hands_out_unshared_buffers_and_stays_bounded() {
        let mut pool: Vec<Tensor<f32>> = Vec::new();
        ready(&mut pool);
        let kept = Tensor::<f32>::zeros(&[3]);
        give(&mut pool, kept.clone()); // shared: not kept
        assert!(pool.is_empty());
        for _ in 0..2 * POOL_BUFFERS {
            give(&mut pool, Tensor::<f32>::zeros(&[2, 3]));
        }
        assert_eq!(pool.len(), POOL_BUFFERS);
        let mut t = take(&mut pool, &[3, 2]);
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(unique(&mut t).len(), 6);
        assert_eq!(take(&mut pool, &[7]).to_vec(), vec![0.0; 7]);
    }
}
