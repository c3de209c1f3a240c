//! The scalar primitives. Each one computes its value and its local partial
//! derivatives side by side, and records both; the reverse sweep multiplies
//! adjoints by those partials and nothing else.
//!
//! Conventions at points where a function is not differentiable (documented
//! subgradients, chosen to match PyTorch and JAX):
//! - `abs` at 0: derivative 0.
//! - `max`/`min` at a tie: each argument gets 1/2, so `max(a,b) + min(a,b)`
//!   still has derivative 1 in each argument.
//! - `powi(0)` and `powf(0)`: derivative 0 everywhere (also at 0).
//! - `powf` (variable exponent) at base 0: d/d(exponent) = 0 (the limit for a
//!   positive exponent); at a negative base it is NaN, because `x^y` is not a
//!   real function of `y` there. d/d(base) is finite for any base.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::tape::Var;
use super::trace::Op;
use crate::Real;

/// Every primitive's value and local partial derivatives, side by side: the
/// one table that recording ([`Var`]'s methods below) and replay
/// ([`super::Tape::replay`]) both read, so the two cannot disagree. `b` is the
/// second argument of a binary operation and is ignored by unary ones.
/// Constants carried by the operation are stored as `f64` for printing;
/// `f32 -> f64 -> f32` is exact, so no value changes on the way.
#[inline(always)]
pub(crate) fn local<T: Real>(op: Op, a: T, b: T) -> (T, [T; 2]) {
    let k = T::from_f64;
    let z = T::ZERO;
    match op {
        Op::Input | Op::Constant => (a, [z, z]),
        Op::Add => (a + b, [T::ONE, T::ONE]),
        Op::Sub => (a - b, [T::ONE, -T::ONE]),
        Op::Mul => (a * b, [b, a]),
        Op::Div => {
            let q = a / b;
            (q, [T::ONE / b, -q / b])
        }
        Op::Neg => (-a, [-T::ONE, z]),
        Op::AddConst(c) => (a + k(c), [T::ONE, z]),
        Op::SubConst(c) => (a - k(c), [T::ONE, z]),
        Op::ConstSub(c) => (k(c) - a, [-T::ONE, z]),
        Op::MulConst(c) => (a * k(c), [k(c), z]),
        Op::DivConst(c) => (a / k(c), [T::ONE / k(c), z]),
        Op::ConstDiv(c) => {
            let q = k(c) / a;
            (q, [-q / a, z])
        }
        Op::Exp => {
            let e = a.exp();
            (e, [e, z])
        }
        Op::Ln => (a.ln(), [T::ONE / a, z]),
        Op::Ln1p => (a.ln_1p(), [T::ONE / (T::ONE + a), z]),
        Op::Sqrt => {
            let s = a.sqrt();
            (s, [T::HALF / s, z])
        }
        Op::Powi(n) => {
            let d = match n {
                0 => z,
                1 => T::ONE,
                2 => T::TWO * a,
                _ => T::from_i32(n) * a.powi(n - 1),
            };
            (a.powi(n), [d, z])
        }
        Op::PowConst(c) => {
            let c = k(c);
            let d = if c == z { z } else { c * a.powf(c - T::ONE) };
            (a.powf(c), [d, z])
        }
        Op::Pow => {
            let p = a.powf(b);
            let da = if b == z { z } else { b * a.powf(b - T::ONE) };
            let db = if a == z { z } else { p * a.ln() };
            (p, [da, db])
        }
        Op::Sin => (a.sin(), [a.cos(), z]),
        Op::Cos => (a.cos(), [-a.sin(), z]),
        Op::Tan => {
            let t = a.tan();
            (t, [T::ONE + t * t, z])
        }
        Op::Tanh => {
            let t = a.tanh();
            (t, [T::ONE - t * t, z])
        }
        Op::Abs => {
            let d = if a > z {
                T::ONE
            } else if a < z {
                -T::ONE
            } else if a == z {
                z
            } else {
                a // NaN stays NaN
            };
            (a.abs(), [d, z])
        }
        Op::Max | Op::Min => {
            let (v, da, db) = pick(a, b, matches!(op, Op::Max));
            (v, [da, db])
        }
        Op::MaxConst(c) | Op::MinConst(c) => {
            let (v, d, _) = pick(a, k(c), matches!(op, Op::MaxConst(_)));
            (v, [d, z])
        }
        // A custom primitive's value and partials come from its caller;
        // replay refuses tapes that hold one before reaching here.
        Op::Custom(name) => unreachable!("custom primitive {name} has no entry in the table"),
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// Records a unary primitive, its value and partial from [`local`].
    #[inline(always)]
    fn apply1(self, op: Op) -> Self {
        let (v, [d, _]) = local(op, self.value, T::ZERO);
        self.unary(v, d, op)
    }

    /// Records a binary primitive, its value and partials from [`local`].
    #[inline(always)]
    #[track_caller]
    fn apply2(self, y: Self, op: Op) -> Self {
        let (v, [da, db]) = local(op, self.value, y.value);
        self.binary(y, v, da, db, op)
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// e^x. d/dx = e^x.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(1.0);
    /// assert_eq!(x.exp().backward()[x], 1.0_f64.exp());
    /// ```
    #[inline]
    pub fn exp(self) -> Self {
        self.apply1(Op::Exp)
    }

    /// Natural logarithm. d/dx = 1/x (NaN value for x < 0, -inf at 0).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(4.0);
    /// assert_eq!(x.ln().backward()[x], 0.25);
    /// ```
    #[inline]
    pub fn ln(self) -> Self {
        self.apply1(Op::Ln)
    }

    /// ln(1 + x), accurate for small x. d/dx = 1/(1 + x).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(1.0);
    /// assert_eq!(x.ln_1p().backward()[x], 0.5);
    /// ```
    #[inline]
    pub fn ln_1p(self) -> Self {
        self.apply1(Op::Ln1p)
    }

    /// Square root. d/dx = 1/(2 sqrt(x)) (infinite at 0).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(4.0);
    /// assert_eq!(x.sqrt().backward()[x], 0.25);
    /// ```
    #[inline]
    pub fn sqrt(self) -> Self {
        self.apply1(Op::Sqrt)
    }

    /// x^n for an integer n. d/dx = n x^(n-1).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(2.0);
    /// assert_eq!(x.powi(3).backward()[x], 12.0);
    /// ```
    #[inline]
    pub fn powi(self, n: i32) -> Self {
        self.apply1(Op::Powi(n))
    }

    /// x^e where the exponent is a plain number or another variable (both
    /// base and exponent differentiable). d/dx = e x^(e-1), d/de = x^e ln x.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let (x, e) = (tape.var(2.0), tape.var(3.0));
    /// let g = x.powf(e).backward();
    /// assert_eq!(g[x], 12.0);
    /// assert!((g[e] - 8.0 * 2.0_f64.ln()).abs() < 1e-15);
    /// assert_eq!(x.powf(0.5).value(), 2.0_f64.sqrt());
    /// ```
    #[inline]
    #[track_caller]
    pub fn powf(self, exponent: impl Exponent<'t, T>) -> Self {
        exponent.raise(self)
    }

    /// Sine. d/dx = cos x.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(0.0);
    /// assert_eq!(x.sin().backward()[x], 1.0);
    /// ```
    #[inline]
    pub fn sin(self) -> Self {
        self.apply1(Op::Sin)
    }

    /// Cosine. d/dx = -sin x.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(0.0);
    /// assert_eq!(x.cos().backward()[x], 0.0);
    /// ```
    #[inline]
    pub fn cos(self) -> Self {
        self.apply1(Op::Cos)
    }

    /// Tangent. d/dx = 1 + tan^2 x.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(0.0);
    /// assert_eq!(x.tan().backward()[x], 1.0);
    /// ```
    #[inline]
    pub fn tan(self) -> Self {
        self.apply1(Op::Tan)
    }

    /// Hyperbolic tangent. d/dx = 1 - tanh^2 x.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(0.0);
    /// assert_eq!(x.tanh().backward()[x], 1.0);
    /// ```
    #[inline]
    pub fn tanh(self) -> Self {
        self.apply1(Op::Tanh)
    }

    /// Absolute value. d/dx = sign(x), and 0 at x = 0.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(-3.0);
    /// assert_eq!(x.abs().backward()[x], -1.0);
    /// ```
    #[inline]
    pub fn abs(self) -> Self {
        self.apply1(Op::Abs)
    }

    /// The larger of two values (a variable or a plain number). The larger
    /// argument gets derivative 1; at a tie each gets 1/2. NaN in either
    /// argument gives NaN (unlike `f64::max`, which drops it).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let (a, b) = (tape.var(1.0), tape.var(2.0));
    /// let g = a.max(b).backward();
    /// assert_eq!((g[a], g[b]), (0.0, 1.0));
    /// assert_eq!(a.max(5.0).value(), 5.0);
    /// ```
    #[inline]
    #[track_caller]
    pub fn max(self, other: impl Operand<'t, T>) -> Self {
        other.extremum(self, true)
    }

    /// The smaller of two values; the mirror image of [`Var::max`].
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let (a, b) = (tape.var(1.0), tape.var(1.0));
    /// let g = a.min(b).backward();
    /// assert_eq!((g[a], g[b]), (0.5, 0.5));
    /// ```
    #[inline]
    #[track_caller]
    pub fn min(self, other: impl Operand<'t, T>) -> Self {
        other.extremum(self, false)
    }
}

/// Picks between `a` and `b` for max (`want_max`) or min, with the partials
/// (da, db) described on [`Var::max`].
#[inline(always)]
fn pick<T: Real>(a: T, b: T, want_max: bool) -> (T, T, T) {
    let a_wins = if want_max { a > b } else { a < b };
    let b_wins = if want_max { b > a } else { b < a };
    if a_wins {
        (a, T::ONE, T::ZERO)
    } else if b_wins {
        (b, T::ZERO, T::ONE)
    } else if a == b {
        (a, T::HALF, T::HALF)
    } else {
        let nan = if a.is_nan() { a } else { b };
        (nan, nan, nan)
    }
}

/// What may stand as the exponent of [`Var::powf`]: a variable or a plain
/// number. Sealed; implemented for `Var`, `f32` and `f64`.
///
/// ```
/// let tape = autograd_core::Tape::new();
/// let (x, e) = (tape.var(4.0), tape.var(0.5));
/// assert_eq!(x.powf(e).value(), x.powf(0.5).value());
/// ```
pub trait Exponent<'t, T: Real>: sealed::Sealed {
    /// base ^ self, recorded on the base's tape.
    fn raise(self, base: Var<'t, T>) -> Var<'t, T>;
}

/// What may stand as the second argument of [`Var::max`] and [`Var::min`]:
/// a variable or a plain number. Sealed; implemented for `Var`, `f32`, `f64`.
///
/// ```
/// let tape = autograd_core::Tape::new();
/// let (x, y) = (tape.var(1.0), tape.var(3.0));
/// assert_eq!(x.max(y).value(), x.max(3.0).value());
/// ```
pub trait Operand<'t, T: Real>: sealed::Sealed {
    /// max (or min) of `a` and self, recorded on `a`'s tape.
    fn extremum(self, a: Var<'t, T>, want_max: bool) -> Var<'t, T>;
}

mod sealed {
    pub trait Sealed {}
    impl<T: crate::Real> Sealed for super::Var<'_, T> {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl<'t, T: Real> Exponent<'t, T> for Var<'t, T> {
    #[inline]
    #[track_caller]
    fn raise(self, base: Var<'t, T>) -> Var<'t, T> {
        base.apply2(self, Op::Pow)
    }
}

impl<'t, T: Real> Operand<'t, T> for Var<'t, T> {
    #[inline]
    #[track_caller]
    fn extremum(self, a: Var<'t, T>, want_max: bool) -> Var<'t, T> {
        a.apply2(self, if want_max { Op::Max } else { Op::Min })
    }
}

/// Arithmetic between a variable and a plain number. Generic code (`T: Real`)
/// calls these methods; the operators for `f32` and `f64` forward to them.
impl<'t, T: Real> Var<'t, T> {
    /// x + c. d/dx = 1.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert_eq!(tape.var(1.0).add_scalar(2.0).value(), 3.0);
    /// ```
    #[inline]
    pub fn add_scalar(self, c: T) -> Self {
        self.apply1(Op::AddConst(c.to_f64()))
    }

    /// x - c. d/dx = 1.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert_eq!(tape.var(1.0).sub_scalar(2.0).value(), -1.0);
    /// ```
    #[inline]
    pub fn sub_scalar(self, c: T) -> Self {
        self.apply1(Op::SubConst(c.to_f64()))
    }

    /// c - x. d/dx = -1.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert_eq!(tape.var(1.0).rsub_scalar(2.0).value(), 1.0);
    /// ```
    #[inline]
    pub fn rsub_scalar(self, c: T) -> Self {
        self.apply1(Op::ConstSub(c.to_f64()))
    }

    /// x * c. d/dx = c.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert_eq!(tape.var(1.5).mul_scalar(2.0).value(), 3.0);
    /// ```
    #[inline]
    pub fn mul_scalar(self, c: T) -> Self {
        self.apply1(Op::MulConst(c.to_f64()))
    }

    /// x / c. d/dx = 1/c.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert_eq!(tape.var(3.0).div_scalar(2.0).value(), 1.5);
    /// ```
    #[inline]
    pub fn div_scalar(self, c: T) -> Self {
        self.apply1(Op::DivConst(c.to_f64()))
    }

    /// c / x. d/dx = -c/x^2.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(2.0);
    /// assert_eq!(x.rdiv_scalar(1.0).backward()[x], -0.25);
    /// ```
    #[inline]
    pub fn rdiv_scalar(self, c: T) -> Self {
        self.apply1(Op::ConstDiv(c.to_f64()))
    }

    /// x^c for a plain number c. d/dx = c x^(c-1).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(4.0);
    /// assert_eq!(x.pow_scalar(0.5).backward()[x], 0.25);
    /// ```
    #[inline]
    pub fn pow_scalar(self, c: T) -> Self {
        self.apply1(Op::PowConst(c.to_f64()))
    }

    /// max(x, c) for a plain number c (see [`Var::max`] for ties and NaN).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert_eq!(tape.var(1.0).max_scalar(0.0).value(), 1.0);
    /// ```
    #[inline]
    pub fn max_scalar(self, c: T) -> Self {
        self.apply1(Op::MaxConst(c.to_f64()))
    }

    /// min(x, c) for a plain number c (see [`Var::max`] for ties and NaN).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// assert_eq!(tape.var(1.0).min_scalar(0.0).value(), 0.0);
    /// ```
    #[inline]
    pub fn min_scalar(self, c: T) -> Self {
        self.apply1(Op::MinConst(c.to_f64()))
    }
}

macro_rules! scalar_ops {
    ($t:ident) => {
        impl<'t> Exponent<'t, $t> for $t {
            #[inline]
            fn raise(self, base: Var<'t, $t>) -> Var<'t, $t> {
                base.pow_scalar(self)
            }
        }

        impl<'t> Operand<'t, $t> for $t {
            #[inline]
            fn extremum(self, a: Var<'t, $t>, want_max: bool) -> Var<'t, $t> {
                if want_max {
                    a.max_scalar(self)
                } else {
                    a.min_scalar(self)
                }
            }
        }

        impl<'t> Add<$t> for Var<'t, $t> {
            type Output = Var<'t, $t>;
            #[inline]
            fn add(self, c: $t) -> Self::Output {
                self.add_scalar(c)
            }
        }
        impl<'t> Add<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[inline]
            fn add(self, x: Var<'t, $t>) -> Self::Output {
                x.add_scalar(self)
            }
        }
        impl<'t> Sub<$t> for Var<'t, $t> {
            type Output = Var<'t, $t>;
            #[inline]
            fn sub(self, c: $t) -> Self::Output {
                self.sub_scalar(c)
            }
        }
        impl<'t> Sub<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[inline]
            fn sub(self, x: Var<'t, $t>) -> Self::Output {
                x.rsub_scalar(self)
            }
        }
        impl<'t> Mul<$t> for Var<'t, $t> {
            type Output = Var<'t, $t>;
            #[inline]
            fn mul(self, c: $t) -> Self::Output {
                self.mul_scalar(c)
            }
        }
        impl<'t> Mul<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[inline]
            fn mul(self, x: Var<'t, $t>) -> Self::Output {
                x.mul_scalar(self)
            }
        }
        impl<'t> Div<$t> for Var<'t, $t> {
            type Output = Var<'t, $t>;
            #[inline]
            fn div(self, c: $t) -> Self::Output {
                self.div_scalar(c)
            }
        }
        impl<'t> Div<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[inline]
            fn div(self, x: Var<'t, $t>) -> Self::Output {
                x.rdiv_scalar(self)
            }
        }
        impl<'t> AddAssign<$t> for Var<'t, $t> {
            #[inline]
            fn add_assign(&mut self, c: $t) {
                *self = self.add_scalar(c);
            }
        }
        impl<'t> SubAssign<$t> for Var<'t, $t> {
            #[inline]
            fn sub_assign(&mut self, c: $t) {
                *self = self.sub_scalar(c);
            }
        }
        impl<'t> MulAssign<$t> for Var<'t, $t> {
            #[inline]
            fn mul_assign(&mut self, c: $t) {
                *self = self.mul_scalar(c);
            }
        }
        impl<'t> DivAssign<$t> for Var<'t, $t> {
            #[inline]
            fn div_assign(&mut self, c: $t) {
                *self = self.div_scalar(c);
            }
        }
    };
}

scalar_ops!(f32);
scalar_ops!(f64);

impl<'t, T: Real> Add for Var<'t, T> {
    type Output = Self;
    /// x + y. Partials 1, 1.
    #[inline]
    #[track_caller]
    fn add(self, y: Self) -> Self {
        self.apply2(y, Op::Add)
    }
}

impl<'t, T: Real> Sub for Var<'t, T> {
    type Output = Self;
    /// x - y. Partials 1, -1.
    #[inline]
    #[track_caller]
    fn sub(self, y: Self) -> Self {
        self.apply2(y, Op::Sub)
    }
}

impl<'t, T: Real> Mul for Var<'t, T> {
    type Output = Self;
    /// x * y. Partials y, x.
    #[inline]
    #[track_caller]
    fn mul(self, y: Self) -> Self {
        self.apply2(y, Op::Mul)
    }
}

impl<'t, T: Real> Div for Var<'t, T> {
    type Output = Self;
    /// x / y. Partials 1/y, -x/y^2.
    #[inline]
    #[track_caller]
    fn div(self, y: Self) -> Self {
        self.apply2(y, Op::Div)
    }
}

impl<'t, T: Real> Neg for Var<'t, T> {
    type Output = Self;
    /// -x. Partial -1.
    #[inline]
    fn neg(self) -> Self {
        self.apply1(Op::Neg)
    }
}

impl<'t, T: Real> AddAssign for Var<'t, T> {
    #[inline]
    #[track_caller]
    fn add_assign(&mut self, y: Self) {
        *self = *self + y;
    }
}

impl<'t, T: Real> SubAssign for Var<'t, T> {
    #[inline]
    #[track_caller]
    fn sub_assign(&mut self, y: Self) {
        *self = *self - y;
    }
}

impl<'t, T: Real> MulAssign for Var<'t, T> {
    #[inline]
    #[track_caller]
    fn mul_assign(&mut self, y: Self) {
        *self = *self * y;
    }
}

impl<'t, T: Real> DivAssign for Var<'t, T> {
    #[inline]
    #[track_caller]
    fn div_assign(&mut self, y: Self) {
        *self = *self / y;
    }
}
