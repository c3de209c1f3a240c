//! Loops compiled for the vector unit the CPU has, chosen at run time.
//!
//! The crate is built for baseline x86-64 (SSE2), so a plain loop over
//! floats runs four lanes at most, and square roots and divisions not at
//! all wide unless the compiler may use the instructions. [`wide`] runs a
//! closure inside a function compiled with AVX-512F (sixteen f32 lanes) or
//! AVX2 (eight) enabled, whichever is the widest the CPU has, so the
//! closure's loops, inlined there, vectorise that wide. [`set_level`] caps
//! the choice (for a comparison, or a CPU that slows its clock for AVX-512);
//! the environment variable `AUTOGRAD_SIMD` (`plain`, `avx2`, `avx512`) sets
//! the cap at start-up.
//!
//! Only lane-wise instructions change. Rust gives the compiler no licence
//! to fuse a multiply and an add into one rounding, so even where AVX-512F
//! brings FMA instructions every lane computes the bits the scalar loop
//! would: the results do not depend on the machine or the level
//! (`every_level_gives_the_same_bits`).

use std::sync::atomic::{AtomicU8, Ordering};

use crate::Real;

/// The widest instructions [`wide`] may compile a closure for.
///
/// ```
/// use autograd_core::simd::{self, Level};
/// assert!(simd::level() <= simd::detected());
/// simd::set_level(Level::Plain);
/// assert_eq!(simd::level(), Level::Plain);
/// simd::set_level(Level::Avx512); // capped at what the CPU has
/// assert_eq!(simd::level(), simd::detected());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The crate's baseline build (SSE2 on x86-64; everything elsewhere).
    Plain = 1,
    /// AVX2: 256-bit vectors.
    Avx2 = 2,
    /// AVX-512F: 512-bit vectors.
    Avx512 = 3,
}

impl Level {
    #[inline(always)]
    fn from_u8(v: u8) -> Level {
        match v {
            3 => Level::Avx512,
            2 => Level::Avx2,
            _ => Level::Plain,
        }
    }
}

/// The widest level this CPU supports (detected once).
///
/// ```
/// let d = autograd_core::simd::detected();
/// assert!(d >= autograd_core::simd::Level::Plain);
/// ```
pub fn detected() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") {
            return Level::Avx2;
        }
    }
    Level::Plain
}

/// The level in use: 0 until first read, then the detected level capped by
/// `AUTOGRAD_SIMD` or [`set_level`].
static LEVEL: AtomicU8 = AtomicU8::new(0);

/// The level [`wide`] compiles for now: the CPU's widest, capped by
/// [`set_level`] or, before any call to it, by `AUTOGRAD_SIMD`.
///
/// ```
/// assert!(autograd_core::simd::level() <= autograd_core::simd::detected());
/// ```
#[inline(always)]
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => first_level(),
        v => Level::from_u8(v),
    }
}

/// [`level`]'s first read: the environment's cap, kept.
#[cold]
#[inline(never)]
fn first_level() -> Level {
    let cap = match std::env::var("AUTOGRAD_SIMD").as_deref().map(str::trim) {
        Ok("plain") => Level::Plain,
        Ok("avx2") => Level::Avx2,
        _ => Level::Avx512,
    };
    let l = cap.min(detected());
    LEVEL.store(l as u8, Ordering::Relaxed);
    l
}

/// Caps the level [`wide`] uses at `max` (the CPU's widest if it has less),
/// for every thread, from the next call on. Results do not change, only
/// speed.
///
/// ```
/// use autograd_core::simd::{self, Level};
/// simd::set_level(Level::Avx2);
/// assert!(simd::level() <= Level::Avx2);
/// ```
pub fn set_level(max: Level) {
    LEVEL.store(max.min(detected()) as u8, Ordering::Relaxed);
}

/// Runs `f`, compiled for the widest vector instructions [`level`] allows
/// (AVX-512F, AVX2), plainly otherwise; the result is the same bits at
/// every level.
///
/// Two things decide whether the loop really goes wide, and both are
/// needed: the closure must be inlined into the wide function (mark it
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
        #[target_feature(enable = "avx512f")]
        fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2")]
        fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        match level() {
            // SAFETY: `avx512` requires only that the CPU supports
            // AVX-512F; `level` never exceeds `detected`, which checked it.
            Level::Avx512 => return unsafe { avx512(f) },
            // SAFETY: as above, for AVX2.
            Level::Avx2 => return unsafe { avx2(f) },
            Level::Plain => {}
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
    use super::{Level, detected, lane_sum, lane_sum2, level, set_level, wide};

    /// The levels this CPU can run, narrowest first.
    pub(crate) fn levels() -> Vec<Level> {
        [Level::Plain, Level::Avx2, Level::Avx512]
            .into_iter()
            .filter(|&l| l <= detected())
            .collect()
    }

    // Division, square root and a multiply-add shape in one loop: the
    // vectorised body must give the scalar loop's bits for every input, at
    // every level the CPU has. (The loop vectorises in optimised builds:
    // `cargo test --release`; the dev profile's opt-level 1 keeps it
    // scalar.) Other tests may run meanwhile at whatever level this one
    // sets: by the claim tested here, that changes none of their results.
    #[test]
    fn every_level_gives_the_same_bits() {
        let xs: Vec<f32> = (0..4099).map(|i| (i as f32 - 2000.0) * 0.37).collect();
        let f = |x: f32| (x * x + 1.0).sqrt() / (x.abs() + 0.5) - 3.0 * x;
        let plain: Vec<f32> = xs.iter().map(|&x| f(x)).collect();
        for l in levels() {
            set_level(l);
            assert_eq!(level(), l);
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
            for (i, (a, b)) in wide_out.iter().zip(&plain).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "{l:?}, element {i}: {a} vs {b}");
            }
        }
        set_level(Level::Avx512);
        assert_eq!(level(), detected());
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
            assert_eq!(plain.to_bits(), reference(&x).to_bits(), "n = {n}");
            for l in levels() {
                set_level(l);
                let in_wide = wide(
                    #[inline(always)]
                    move || lane_sum(xr, |v| v),
                );
                assert_eq!(in_wide.to_bits(), plain.to_bits(), "{l:?}, n = {n}");
            }
            set_level(Level::Avx512);
            let sq = lane_sum2(&x, &x, |a, b| a * b);
            let want: Vec<f32> = x.iter().map(|v| v * v).collect();
            assert_eq!(sq.to_bits(), reference(&want).to_bits(), "n = {n}");
        }
    }
}
