//! Scalar code written once, run on every kind of number the engine has:
//! plain `f64`, the scalar tape's [`Var`] (first derivatives at a few ns per
//! op), forward-mode [`Dual`]s, and 0-d tensors on the [`TensorTape`], where
//! [`TensorTape::grad_graph`] gives derivatives of any order.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::forward::Dual;
use crate::{Tensor, TensorTape, TensorVar, Var};

/// A number that scalar code can be written over once.
///
/// ```
/// use autograd_core::{derivative, Scalar, Tape};
///
/// fn f<S: Scalar>(x: S) -> S {
///     (x * x + 1.0).ln() * x.sin()
/// }
/// let x = 0.7;
/// // Plain value, first derivative on the scalar tape, second derivative on
/// // 0-d tensors: the same code.
/// let value = f(x);
/// let tape = Tape::new();
/// let xv = tape.var(x);
/// let d1 = f(xv).backward()[xv];
/// assert!((derivative(|t| f(t), x, 1) - d1).abs() < 1e-14);
/// let d2 = derivative(|t| f(t), x, 2);
/// assert!(value.is_finite() && d2.is_finite());
/// ```
pub trait Scalar:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
{
    /// e^x.
    fn exp(self) -> Self;
    /// ln x.
    fn ln(self) -> Self;
    /// √x.
    fn sqrt(self) -> Self;
    /// sin x.
    fn sin(self) -> Self;
    /// cos x.
    fn cos(self) -> Self;
    /// tanh x.
    fn tanh(self) -> Self;
    /// x^p.
    fn powf(self, p: f64) -> Self;

    /// The constant `c` as this kind of number (on `self`'s tape, for the
    /// recorded kinds): `x.lift(1.0)` is the `1` of generic code.
    ///
    /// ```
    /// use autograd_core::{Scalar, Tape};
    /// fn one_plus<S: Scalar>(x: S) -> S {
    ///     x.lift(1.0) + x
    /// }
    /// assert_eq!(one_plus(2.0), 3.0);
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// assert_eq!(one_plus(x).backward()[x], 1.0);
    /// ```
    fn lift(self, c: f64) -> Self {
        self * 0.0 + c
    }

    /// `c - x`: generic code cannot write `f64 - S` (Rust would need the
    /// bound on `f64`, which a trait cannot imply); the concrete kinds all
    /// accept `2.0 - x` directly.
    ///
    /// ```
    /// use autograd_core::{derivative, Scalar};
    /// fn f<S: Scalar>(x: S) -> S {
    ///     x.rsub(1.0) * x // (1 - x) x
    /// }
    /// assert_eq!(f(0.25), 0.1875);
    /// assert!((derivative(|x| f(x), 0.25, 1) - 0.5).abs() < 1e-15);
    /// ```
    fn rsub(self, c: f64) -> Self {
        -self + c
    }

    /// `c / x` (see [`Scalar::rsub`]).
    ///
    /// ```
    /// use autograd_core::Scalar;
    /// assert_eq!(4.0_f64.rdiv(2.0), 0.5);
    /// ```
    fn rdiv(self, c: f64) -> Self {
        self.powf(-1.0) * c
    }
}

macro_rules! forward_scalar {
    ($ty:ty, $($lt:lifetime)?) => {
        impl<$($lt)?> Scalar for $ty {
            fn exp(self) -> Self {
                <$ty>::exp(self)
            }
            fn ln(self) -> Self {
                <$ty>::ln(self)
            }
            fn sqrt(self) -> Self {
                <$ty>::sqrt(self)
            }
            fn sin(self) -> Self {
                <$ty>::sin(self)
            }
            fn cos(self) -> Self {
                <$ty>::cos(self)
            }
            fn tanh(self) -> Self {
                <$ty>::tanh(self)
            }
            fn powf(self, p: f64) -> Self {
                <$ty>::powf(self, p)
            }
        }
    };
}

forward_scalar!(f64,);
forward_scalar!(Var<'t, f64>, 't);
forward_scalar!(Dual<f64>,);
forward_scalar!(TensorVar<'t, f64>, 't);

/// The gradient of a scalar function of several variables at `x`, for
/// scalar code written over [`Scalar`] (recorded on 0-d tensors, so
/// [`scalar_hessian`] can go on to second order; the scalar [`Tape`] is
/// faster for first order alone).
///
/// [`Tape`]: crate::Tape
///
/// ```
/// use autograd_core::{scalar_gradient, Scalar};
/// fn rosenbrock<S: Scalar>(v: &[S]) -> S {
///     let (x, y) = (v[0], v[1]);
///     let a = x.rsub(1.0);
///     a * a + (y - x * x) * (y - x * x) * 100.0
/// }
/// assert_eq!(scalar_gradient(|v| rosenbrock(v), &[1.0, 1.0]), vec![0.0, 0.0]);
/// ```
pub fn scalar_gradient<F>(f: F, x: &[f64]) -> Vec<f64>
where
    F: for<'t> Fn(&[TensorVar<'t, f64>]) -> TensorVar<'t, f64>,
{
    let tape = TensorTape::new();
    let xs: Vec<_> = x.iter().map(|&v| tape.leaf(Tensor::scalar(v))).collect();
    let y = f(&xs);
    tape.grad(y, &xs).iter().map(|g| g.item()).collect()
}

/// The Hessian (row `i`, column `j`: ∂²f/∂xᵢ∂xⱼ) of a scalar function of
/// several variables written over [`Scalar`]: reverse mode over the
/// recorded gradient, no tensors in the caller's code.
///
/// ```
/// use autograd_core::{scalar_hessian, Scalar};
/// fn rosenbrock<S: Scalar>(v: &[S]) -> S {
///     let (x, y) = (v[0], v[1]);
///     let a = x.rsub(1.0);
///     a * a + (y - x * x) * (y - x * x) * 100.0
/// }
/// let h = scalar_hessian(|v| rosenbrock(v), &[1.0, 1.0]);
/// assert_eq!(h, vec![vec![802.0, -400.0], vec![-400.0, 200.0]]);
/// ```
pub fn scalar_hessian<F>(f: F, x: &[f64]) -> Vec<Vec<f64>>
where
    F: for<'t> Fn(&[TensorVar<'t, f64>]) -> TensorVar<'t, f64>,
{
    let tape = TensorTape::new();
    let xs: Vec<_> = x.iter().map(|&v| tape.leaf(Tensor::scalar(v))).collect();
    let y = f(&xs);
    let grads = tape.grad_graph(y, &xs);
    grads
        .iter()
        .map(|&g| tape.grad(g, &xs).iter().map(|h| h.item()).collect())
        .collect()
}

/// The `order`-th derivative of a scalar function at `x` (order 0 is the
/// value), by reverse mode over 0-d tensors: each order differentiates the
/// recorded derivative before it.
///
/// ```
/// use autograd_core::{derivative, Scalar};
/// // d^3/dx^3 x^4 = 24 x
/// assert!((derivative(|x| x.powf(4.0), 2.0, 3) - 48.0).abs() < 1e-12);
/// ```
pub fn derivative<F>(f: F, x: f64, order: usize) -> f64
where
    F: for<'t> Fn(TensorVar<'t, f64>) -> TensorVar<'t, f64>,
{
    let tape = TensorTape::new();
    let xv = tape.leaf(Tensor::scalar(x));
    let mut d = f(xv);
    for _ in 0..order {
        d = tape.grad_graph(d, &[xv])[0];
    }
    d.item()
}
