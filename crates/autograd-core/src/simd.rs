//! Loops compiled for the vector unit the CPU has, chosen at run time.
//!
//! The crate is built for baseline x86-64 (SSE2), so a plain loop over
//! floats runs four lanes at most, and square roots and divisions not at
//! all wide unless the compiler may use the instructions. [`wide`] runs a
//! closure inside a function compiled with AVX2 enabled when the CPU has it,
//! so the closure's loops, inlined there, vectorise eight floats wide.
//!
//! Only lane-wise instructions change: the compiler never fuses a multiply
//! and an add on its own, and the target features enabled here do not
//! include FMA, so every lane computes the bits the scalar loop would. The
//! results do not depend on the machine (`wide_equals_plain_bit_for_bit`).

use crate::Real;

/// Runs `f`, compiled for AVX2 when the CPU has it (detected once, then a
/// cached load), plainly otherwise; the result is the same bits either way.
///
/// Two things decide whether the loop really goes wide, and both are
/// needed: the closure must be inlined into the AVX2 function (mark it
/// `#[inline(always)]`; a closure left as its own function keeps the
/// baseline instructions), and it should be `move`, holding its constants
/// by value (through references the compiler reloads them after every
/// store, as the store might have changed them, and keeps the loop scalar).
///
/// ```
/// let (x, mut y) = (vec![4.0_f32; 1000], vec![0.0_f32; 1000]);
/// let (one, x, out) = (1.0_f32, &x, &mut y);
/// autograd_core::simd::wide(
///     #[inline(always)]
///     move || {
///         for (y, &x) in out.iter_mut().zip(x) {
///             *y = x.sqrt() / (x + one);
///         }
///     },
/// );
/// assert_eq!(y[999], 0.4);
/// ```
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `avx2` requires only that the CPU supports AVX2,
            // which was just detected.
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// Partial sums [`lane_sum`] keeps: two AVX2 registers of f32.
const LANES: usize = 16;

/// Σ f(x) over `x`, element `j` added into partial sum `j % 16`, the
/// partial sums then added pairwise in a fixed order. An in-order sum is one
/// chain of dependent additions that the compiler may not reorder; these
/// sixteen chains run in vector registers inside [`wide`] and give the same
/// bits on every CPU (the order does not depend on the vector width).
#[inline(always)]
pub(crate) fn lane_sum<T: Real>(x: &[T], f: impl Fn(T) -> T) -> T {
    lane_sum2(x, x, |v, _| f(v))
}

/// Σ f(a, b) over `a` and `b` side by side, in [`lane_sum`]'s order.
#[inline(always)]
pub(crate) fn lane_sum2<T: Real>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> T {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [T::ZERO; LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (at, bt) = (ac.remainder(), bc.remainder());
    for (ca, cb) in ac.zip(bc) {
        for k in 0..LANES {
            acc[k] += f(ca[k], cb[k]);
        }
    }
    for (k, (&va, &vb)) in at.iter().zip(bt).enumerate() {
        acc[k] += f(va, vb);
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    acc[0]
}

#[cfg(test)]
mod tests {
    use super::{lane_sum, lane_sum2, wide};

    // Division, square root and a multiply-add shape in one loop: the
    // vectorised body must give the scalar loop's bits for every input.
    // (The loop vectorises in optimised builds: `cargo test --release`;
    // the dev profile's opt-level 1 keeps it scalar.)
    #[test]
    fn wide_equals_plain_bit_for_bit() {
        let xs: Vec<f32> = (0..4099).map(|i| (i as f32 - 2000.0) * 0.37).collect();
        let f = |x: f32| (x * x + 1.0).sqrt() / (x.abs() + 0.5) - 3.0 * x;
        let mut wide_out = vec![0.0_f32; xs.len()];
        let (out, xs_in) = (&mut wide_out, &xs);
        wide(
            #[inline(always)]
            move || {
                for (o, &x) in out.iter_mut().zip(xs_in) {
                    *o = f(x);
                }
            },
        );
        let plain: Vec<f32> = xs.iter().map(|&x| f(x)).collect();
        for (i, (a, b)) in wide_out.iter().zip(&plain).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "element {i}: {a} vs {b}");
        }
    }

    // The lanes' order written out plainly: partial sum k holds elements
    // k, k + 16, ... in order, then halves are added (k + 8 into k, ...).
    fn reference(x: &[f32]) -> f32 {
        let mut acc = [0.0_f32; 16];
        for (j, &v) in x.iter().enumerate() {
            acc[j % 16] += v;
        }
        for width in [8, 4, 2, 1] {
            for k in 0..width {
                acc[k] += acc[k + width];
            }
        }
        acc[0]
    }

    #[test]
    fn lane_sums_follow_their_order_wide_or_not() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for n in [0, 1, 7, 16, 17, 128, 1000] {
            // Magnitudes over many binades, so another order rounds
            // differently.
            let x: Vec<f32> = (0..n)
                .map(|_| rng.random_range(-1.0_f32..1.0) * 10f32.powi(rng.random_range(-6..6)))
                .collect();
            let (plain, xr) = (lane_sum(&x, |v| v), &x);
            let in_wide = wide(
                #[inline(always)]
                move || lane_sum(xr, |v| v),
            );
            assert_eq!(plain.to_bits(), reference(&x).to_bits(), "n = {n}");
            assert_eq!(in_wide.to_bits(), plain.to_bits(), "n = {n}");
            let sq = lane_sum2(&x, &x, |a, b| a * b);
            let want: Vec<f32> = x.iter().map(|v| v * v).collect();
            assert_eq!(sq.to_bits(), reference(&want).to_bits(), "n = {n}");
        }
    }
}
