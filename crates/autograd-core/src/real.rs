//! The floating-point element types the tape works in.

use std::fmt::{Debug, Display, LowerExp};
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// A real number type the tape can record: `f64` (the default, and the type
/// gradient checks use) or `f32`.
///
/// Every method is the plain `std` function of the same name, so the tape is
/// monomorphised per type and costs nothing for being generic.
///
/// ```
/// use autograd_core::Real;
/// fn half<T: Real>(x: T) -> T { x * T::HALF }
/// assert_eq!(half(3.0_f64), 1.5);
/// assert_eq!(half(3.0_f32), 1.5);
/// ```
pub trait Real:
    Copy
    + PartialEq
    + PartialOrd
    + Debug
    + Display
    + LowerExp
    + Default
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// 0
    const ZERO: Self;
    /// 1
    const ONE: Self;
    /// 1/2
    const HALF: Self;
    /// 2
    const TWO: Self;
    /// Positive infinity.
    const INFINITY: Self;
    /// Machine epsilon.
    const EPSILON: Self;
    /// Name used in messages (`"f64"`).
    const NAME: &'static str;

    /// Converts (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Converts exactly.
    fn to_f64(self) -> f64;
    /// Converts an `i32` exponent or count.
    fn from_i32(x: i32) -> Self;
    /// e^x
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// ln(1 + x), accurate near 0.
    fn ln_1p(self) -> Self;
    /// e^x - 1, accurate near 0.
    fn exp_m1(self) -> Self;
    /// The error function (the `libm` crate's `erf`/`erff`: `std` has no
    /// stable `erf`).
    ///
    /// ```
    /// use autograd_core::Real;
    /// assert_eq!(0.0_f64.erf(), 0.0);
    /// assert!((1.0_f64.erf() - 0.842_700_792_949_714_9).abs() < 1e-15);
    /// ```
    fn erf(self) -> Self;
    /// The angle of the point (x, y) = (`other`, `self`): `self.atan2(x)`
    /// as in `std`.
    fn atan2(self, other: Self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Integer power.
    fn powi(self, n: i32) -> Self;
    /// Real power.
    fn powf(self, e: Self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Tangent.
    fn tan(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Hyperbolic tangent in a form a loop over a slice can vectorise (no
    /// libm call): for `f64` the exact `tanh`; for `f32` a rational
    /// approximation (Eigen's 13/6 form) whose largest error against the
    /// exact value is 4.5e-7 absolute, measured over all of `[-20, 20]`
    /// (`tests` in this file), about 8 ulp near ±1 and a few ulp elsewhere.
    /// Tensors use it; the scalar tape keeps `tanh`.
    ///
    /// ```
    /// use autograd_core::Real;
    /// assert!((0.5_f32.tanh_fast() - 0.5_f32.tanh()).abs() < 1e-6);
    /// assert_eq!(0.5_f64.tanh_fast(), 0.5_f64.tanh());
    /// ```
    fn tanh_fast(self) -> Self;
    /// e^x in a form a loop over a slice can vectorise (no libm call): for
    /// `f64` the exact `exp`; for `f32` Cephes' `expf` (x = n ln 2 + r, a
    /// degree-5 polynomial for e^r, 2^n put into the exponent bits), within
    /// 1 ulp of the exact value over the range where e^x is a normal `f32`
    /// (0.96 ulp at most, measured over 2 million points: `tests` in this
    /// file); 0 below it, +∞ above it, NaN for NaN. The attention kernel's
    /// softmax uses it.
    ///
    /// ```
    /// use autograd_core::Real;
    /// assert!((1.5_f32.exp_fast() - 1.5_f32.exp()).abs() < 1e-6);
    /// assert_eq!(1.5_f64.exp_fast(), 1.5_f64.exp());
    /// assert_eq!((-200.0_f32).exp_fast(), 0.0);
    /// ```
    fn exp_fast(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// True unless NaN or infinite.
    fn is_finite(self) -> bool;
    /// True for NaN.
    fn is_nan(self) -> bool;
}

macro_rules! impl_real {
    ($t:ident, $erf:path) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const HALF: Self = 0.5;
            const TWO: Self = 2.0;
            const INFINITY: Self = $t::INFINITY;
            const EPSILON: Self = $t::EPSILON;
            const NAME: &'static str = stringify!($t);

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_i32(x: i32) -> Self {
                x as $t
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $t::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $t::ln(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                $t::ln_1p(self)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                $t::exp_m1(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline(always)]
            fn atan2(self, other: Self) -> Self {
                $t::atan2(self, other)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                $t::powi(self, n)
            }
            #[inline(always)]
            fn powf(self, e: Self) -> Self {
                $t::powf(self, e)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                $t::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                $t::cos(self)
            }
            #[inline(always)]
            fn tan(self) -> Self {
                $t::tan(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $t::tanh(self)
            }
            #[inline(always)]
            fn tanh_fast(self) -> Self {
                tanh_fast_impl::$t(self)
            }
            #[inline(always)]
            fn exp_fast(self) -> Self {
                exp_fast_impl::$t(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
        }
    };
}

impl_real!(f32, libm::erff);
impl_real!(f64, libm::erf);

/// The largest `err(x)` over every `step`-th `f32` from `from` to `to`
/// (from -1e-30 it jumps to 1e-30), for the approximations' error tests.
#[cfg(test)]
fn worst_over_floats(from: f32, to: f32, step: u32, err: impl Fn(f32) -> f64) -> f64 {
    let mut worst: f64 = 0.0;
    let mut x = from;
    while x < to {
        worst = worst.max(err(x));
        x = f32::from_bits(if x > 0.0 {
            x.to_bits() + step
        } else if x < -1e-30 {
            x.to_bits() - step
        } else {
            1e-30_f32.to_bits()
        });
    }
    worst
}

mod tanh_fast_impl {
    #[inline(always)]
    pub(super) fn f64(x: f64) -> f64 {
        x.tanh()
    }

    /// Eigen's `generic_fast_tanh_float`: x P(x²) / Q(x²) on x clamped to
    /// ±7.905311, beyond which tanh rounds to ±1 in f32. Plain multiply-adds
    /// (no `mul_add`, which is a libm call without the FMA target feature).
    #[inline(always)]
    pub(super) fn f32(x: f32) -> f32 {
        const CLAMP: f32 = 7.905_311;
        let x = x.clamp(-CLAMP, CLAMP);
        let x2 = x * x;
        let p = x2 * -2.760_768_5e-16 + 2.000_188e-13;
        let p = x2 * p + -8.604_672e-11;
        let p = x2 * p + 5.122_297e-8;
        let p = x2 * p + 1.485_722_4e-5;
        let p = x2 * p + 6.372_619_3e-4;
        let p = x2 * p + 4.893_524_6e-3;
        let q = x2 * 1.198_258_4e-6 + 1.185_347e-4;
        let q = x2 * q + 2.268_434_6e-3;
        let q = x2 * q + 4.893_525e-3;
        x * p / q
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn f32_tanh_is_within_its_documented_error_everywhere() {
            // Every 97th float: about 2 million points across the range.
            let worst = crate::real::worst_over_floats(-20.0, 20.0, 97, |x| {
                (super::f32(x) as f64 - (x as f64).tanh()).abs()
            });
            assert!(worst <= 4.5e-7, "largest error {worst:e}");
            assert!(worst > 1e-7, "the bound is tight, not vacuous: {worst:e}");
            assert_eq!(super::f32(0.0), 0.0);
            assert_eq!(super::f32(30.0), 1.0);
            assert_eq!(super::f32(-30.0), -1.0);
            assert!(super::f32(f32::NAN).is_nan());
        }
    }
}

mod exp_fast_impl {
    #[inline(always)]
    pub(super) fn f64(x: f64) -> f64 {
        x.exp()
    }

    /// Cephes' `expf`. Rounding `x log2(e)` to the nearest integer by adding
    /// and subtracting 1.5 * 2^23 and building 2^n from its bits keep the
    /// loop free of calls (`round` and `mul_add` are libm calls without
    /// SSE4.1 and FMA, which the crate's baseline build lacks).
    #[inline(always)]
    pub(super) fn f32(x: f32) -> f32 {
        // e^x is a normal f32 for x in [LOW, HIGH].
        const LOW: f32 = -87.336_55;
        const HIGH: f32 = 88.376_26;
        const ROUND: f32 = 12_582_912.0;
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        // Not `clamp`: its NaN rule compiles to a scalar branch per lane;
        // these comparisons are false for NaN, which flows on to the end.
        #[allow(clippy::manual_clamp)]
        let c = if x < LOW {
            LOW
        } else if x > HIGH {
            HIGH
        } else {
            x
        };
        let n = (c * std::f32::consts::LOG2_E + ROUND) - ROUND;
        let r = c - n * LN2_HI - n * LN2_LO;
        let p = r * 1.987_569_1e-4 + 1.398_199_9e-3;
        let p = r * p + 8.333_452e-3;
        let p = r * p + 4.166_579_6e-2;
        let p = r * p + 1.666_666_5e-1;
        let p = r * p + 0.5;
        let y = p * (r * r) + r + 1.0;
        // n is an integer in [-126, 127]: 2^n is a normal f32.
        let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
        let e = y * scale;
        if x < LOW {
            0.0
        } else if x > HIGH {
            f32::INFINITY
        } else {
            e
        }
    }

    #[cfg(test)]
    mod tests {
        /// Distance in units in the last place between an f32 and the exact
        /// value (an f64).
        fn ulps(got: f32, exact: f64) -> f64 {
            let e = exact as f32;
            let ulp = (f32::from_bits(e.to_bits() + 1) - e) as f64;
            (got as f64 - exact).abs() / ulp
        }

        #[test]
        fn f32_exp_is_within_one_ulp_where_it_is_normal() {
            // Every 61st float: about 2 million points across the range.
            let worst = crate::real::worst_over_floats(-87.3, 88.3, 61, |x| {
                ulps(super::f32(x), (x as f64).exp())
            });
            assert!(worst <= 1.0, "largest error {worst} ulp");
            assert!(worst > 0.5, "the bound is tight, not vacuous: {worst} ulp");
            assert_eq!(super::f32(0.0), 1.0);
            assert_eq!(super::f32(-100.0), 0.0);
            assert_eq!(super::f32(f32::NEG_INFINITY), 0.0);
            assert_eq!(super::f32(100.0), f32::INFINITY);
            assert!(super::f32(f32::NAN).is_nan());
        }
    }
}
