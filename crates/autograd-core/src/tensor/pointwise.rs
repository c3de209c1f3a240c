//! The arithmetic elementwise primitives write their VJPs in.
//!
//! A primitive's VJP is written once, over [`Pointwise`], and runs on three
//! kinds of value: on one number (`T` itself), which is how the sweep
//! computes a gradient element by element into a buffer it already has; on
//! plain tensors; and on recorded variables, which is how
//! [`TensorTape::grad_graph`](super::TensorTape::grad_graph) records the
//! backward pass for higher derivatives. Each operation rounds the same way
//! on a number as on a tensor element, so the first two agree bit for bit.

use super::tape::TensorVar;
use super::value::Tensor;
use crate::Real;

/// Operations that act element by element: on one number, on a plain
/// [`Tensor`] (broadcasting like numpy) or on a recorded [`TensorVar`].
///
/// The `detached_*` and [`Pointwise::keep_where`] methods compute masks
/// and signs from values; no gradient flows through those.
///
/// ```
/// use autograd_core::{Pointwise, Tensor, TensorTape};
///
/// // d/dx tanh(x) = 1 - tanh(x)^2, written once for every kind of value.
/// fn dtanh<T: autograd_core::Real, E: Pointwise<T>>(y: &E) -> E {
///     y.mul(y).neg().add_scalar(T::ONE)
/// }
/// let y = 0.5_f64.tanh();
/// assert_eq!(dtanh(&y), 1.0 - y * y);
/// assert_eq!(dtanh(&Tensor::scalar(y)).item(), 1.0 - y * y);
/// let tape = TensorTape::new();
/// assert_eq!(dtanh(&tape.leaf(Tensor::scalar(y))).item(), 1.0 - y * y);
/// ```
pub trait Pointwise<T: Real>: Clone {
    /// `self + o`.
    fn add(&self, o: &Self) -> Self;
    /// `self - o`.
    fn sub(&self, o: &Self) -> Self;
    /// `self * o`.
    fn mul(&self, o: &Self) -> Self;
    /// `self / o`.
    fn div(&self, o: &Self) -> Self;
    /// `self ^ o`.
    fn pow(&self, o: &Self) -> Self;
    /// `-self`.
    fn neg(&self) -> Self;
    /// `self + c`.
    fn add_scalar(&self, c: T) -> Self;
    /// `self * c`.
    fn scale(&self, c: T) -> Self;
    /// `self ^ p` (by multiplication for small integer `p`).
    fn powf(&self, p: T) -> Self;
    /// e^self.
    fn exp(&self) -> Self;
    /// ln(self).
    fn ln(&self) -> Self;
    /// sqrt(self).
    fn sqrt(&self) -> Self;
    /// sin(self).
    fn sin(&self) -> Self;
    /// cos(self).
    fn cos(&self) -> Self;
    /// tanh(self) (for `f32` the vectorising [`Real::tanh_fast`]).
    fn tanh(&self) -> Self;
    /// 1 / (1 + e^-self).
    fn sigmoid(&self) -> Self;
    /// erf(self).
    fn erf(&self) -> Self;
    /// `f` of each value, as a constant.
    fn detached_map(&self, f: impl Fn(T) -> T) -> Self;
    /// `f` of each pair of values (broadcasting), as a constant.
    fn detached_zip(&self, o: &Self, f: impl Fn(T, T) -> T) -> Self;
    /// `self` where `keep(cond)` holds, else 0 (not `self * 0`: an infinite
    /// gradient stays out of the masked places, as in PyTorch).
    fn keep_where(&self, cond: &Self, keep: impl Fn(T) -> bool) -> Self;
}

/// `x ^ p` without libm for the integer powers layers use (squares, cubes,
/// reciprocals); `powf` otherwise.
#[inline(always)]
pub(crate) fn powf_scalar<T: Real>(x: T, p: T) -> T {
    if p == T::TWO {
        x * x
    } else if p == T::ONE + T::TWO {
        x * x * x
    } else if p == -T::ONE {
        T::ONE / x
    } else {
        x.powf(p)
    }
}

/// The logistic function, with two branches so that e^x never overflows.
#[inline(always)]
pub(crate) fn sigmoid_scalar<T: Real>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

impl<T: Real> Pointwise<T> for T {
    #[inline(always)]
    fn add(&self, o: &Self) -> Self {
        *self + *o
    }
    #[inline(always)]
    fn sub(&self, o: &Self) -> Self {
        *self - *o
    }
    #[inline(always)]
    fn mul(&self, o: &Self) -> Self {
        *self * *o
    }
    #[inline(always)]
    fn div(&self, o: &Self) -> Self {
        *self / *o
    }
    #[inline(always)]
    fn pow(&self, o: &Self) -> Self {
        Real::powf(*self, *o)
    }
    #[inline(always)]
    fn neg(&self) -> Self {
        -*self
    }
    #[inline(always)]
    fn add_scalar(&self, c: T) -> Self {
        *self + c
    }
    #[inline(always)]
    fn scale(&self, c: T) -> Self {
        *self * c
    }
    #[inline(always)]
    fn powf(&self, p: T) -> Self {
        powf_scalar(*self, p)
    }
    #[inline(always)]
    fn exp(&self) -> Self {
        Real::exp(*self)
    }
    #[inline(always)]
    fn ln(&self) -> Self {
        Real::ln(*self)
    }
    #[inline(always)]
    fn sqrt(&self) -> Self {
        Real::sqrt(*self)
    }
    #[inline(always)]
    fn sin(&self) -> Self {
        Real::sin(*self)
    }
    #[inline(always)]
    fn cos(&self) -> Self {
        Real::cos(*self)
    }
    #[inline(always)]
    fn tanh(&self) -> Self {
        Real::tanh_fast(*self)
    }
    #[inline(always)]
    fn sigmoid(&self) -> Self {
        sigmoid_scalar(*self)
    }
    #[inline(always)]
    fn erf(&self) -> Self {
        Real::erf(*self)
    }
    #[inline(always)]
    fn detached_map(&self, f: impl Fn(T) -> T) -> Self {
        f(*self)
    }
    #[inline(always)]
    fn detached_zip(&self, o: &Self, f: impl Fn(T, T) -> T) -> Self {
        f(*self, *o)
    }
    #[inline(always)]
    fn keep_where(&self, cond: &Self, keep: impl Fn(T) -> bool) -> Self {
        if keep(*cond) { *self } else { T::ZERO }
    }
}

impl<T: Real> Pointwise<T> for Tensor<T> {
    fn add(&self, o: &Self) -> Self {
        Tensor::add(self, o)
    }
    fn sub(&self, o: &Self) -> Self {
        Tensor::sub(self, o)
    }
    fn mul(&self, o: &Self) -> Self {
        Tensor::mul(self, o)
    }
    fn div(&self, o: &Self) -> Self {
        Tensor::div(self, o)
    }
    fn pow(&self, o: &Self) -> Self {
        Tensor::pow(self, o)
    }
    fn neg(&self) -> Self {
        Tensor::neg(self)
    }
    fn add_scalar(&self, c: T) -> Self {
        Tensor::add_scalar(self, c)
    }
    fn scale(&self, c: T) -> Self {
        Tensor::scale(self, c)
    }
    fn powf(&self, p: T) -> Self {
        Tensor::powf(self, p)
    }
    fn exp(&self) -> Self {
        Tensor::exp(self)
    }
    fn ln(&self) -> Self {
        Tensor::ln(self)
    }
    fn sqrt(&self) -> Self {
        Tensor::sqrt(self)
    }
    fn sin(&self) -> Self {
        Tensor::sin(self)
    }
    fn cos(&self) -> Self {
        Tensor::cos(self)
    }
    fn tanh(&self) -> Self {
        Tensor::tanh(self)
    }
    fn sigmoid(&self) -> Self {
        Tensor::sigmoid(self)
    }
    fn erf(&self) -> Self {
        Tensor::erf(self)
    }
    fn detached_map(&self, f: impl Fn(T) -> T) -> Self {
        self.map(f)
    }
    fn detached_zip(&self, o: &Self, f: impl Fn(T, T) -> T) -> Self {
        super::elementwise::zip_broadcast("detached_zip", self, o, f)
    }
    fn keep_where(&self, cond: &Self, keep: impl Fn(T) -> bool) -> Self {
        super::elementwise::zip_broadcast("keep_where", self, cond, |g, c| {
            if keep(c) { g } else { T::ZERO }
        })
    }
}

impl<T: Real> Pointwise<T> for TensorVar<'_, T> {
    fn add(&self, o: &Self) -> Self {
        TensorVar::add(*self, *o)
    }
    fn sub(&self, o: &Self) -> Self {
        TensorVar::sub(*self, *o)
    }
    fn mul(&self, o: &Self) -> Self {
        TensorVar::mul(*self, *o)
    }
    fn div(&self, o: &Self) -> Self {
        TensorVar::div(*self, *o)
    }
    fn pow(&self, o: &Self) -> Self {
        TensorVar::pow(*self, *o)
    }
    fn neg(&self) -> Self {
        TensorVar::neg(*self)
    }
    fn add_scalar(&self, c: T) -> Self {
        TensorVar::add_scalar(*self, c)
    }
    fn scale(&self, c: T) -> Self {
        TensorVar::scale(*self, c)
    }
    fn powf(&self, p: T) -> Self {
        TensorVar::powf(*self, p)
    }
    fn exp(&self) -> Self {
        TensorVar::exp(*self)
    }
    fn ln(&self) -> Self {
        TensorVar::ln(*self)
    }
    fn sqrt(&self) -> Self {
        TensorVar::sqrt(*self)
    }
    fn sin(&self) -> Self {
        TensorVar::sin(*self)
    }
    fn cos(&self) -> Self {
        TensorVar::cos(*self)
    }
    fn tanh(&self) -> Self {
        TensorVar::tanh(*self)
    }
    fn sigmoid(&self) -> Self {
        TensorVar::sigmoid(*self)
    }
    fn erf(&self) -> Self {
        TensorVar::erf(*self)
    }
    fn detached_map(&self, f: impl Fn(T) -> T) -> Self {
        self.tape.constant(self.value().map(f))
    }
    fn detached_zip(&self, o: &Self, f: impl Fn(T, T) -> T) -> Self {
        let v = Pointwise::detached_zip(&self.value(), &o.value(), f);
        self.tape.constant(v)
    }
    fn keep_where(&self, cond: &Self, keep: impl Fn(T) -> bool) -> Self {
        let mask = cond.value().map(|c| if keep(c) { T::ONE } else { T::ZERO });
        TensorVar::mul(*self, self.tape.constant(mask))
    }
}
