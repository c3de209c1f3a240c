//! Forward mode: dual numbers that carry one directional derivative
//! alongside each value, for Jacobian-vector products and for contrast with
//! the tape's reverse mode. No tape: each operation applies the chain rule
//! as it runs.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::Real;

/// A value and its derivative along one direction: `value + tangent ε` with
/// `ε² = 0`. Arithmetic and the functions below propagate the tangent by
/// the chain rule.
///
/// ```
/// use autograd_core::forward::Dual;
/// // d/dx [x sin x] at x = 2, seeding dx = 1:
/// let x = Dual::new(2.0_f64, 1.0);
/// let y = x * x.sin();
/// assert_eq!(y.value, 2.0 * 2.0_f64.sin());
/// assert!((y.tangent - (2.0_f64.sin() + 2.0 * 2.0_f64.cos())).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Dual<T: Real = f64> {
    /// The value.
    pub value: T,
    /// The derivative along the seeded direction.
    pub tangent: T,
}

impl<T: Real> Dual<T> {
    /// A dual with a given tangent.
    ///
    /// ```
    /// let x = autograd_core::forward::Dual::new(1.0_f64, 1.0);
    /// assert_eq!((x.value, x.tangent), (1.0, 1.0));
    /// ```
    pub fn new(value: T, tangent: T) -> Self {
        Dual { value, tangent }
    }

    /// A constant (tangent 0).
    ///
    /// ```
    /// assert_eq!(autograd_core::forward::Dual::constant(3.0_f64).tangent, 0.0);
    /// ```
    pub fn constant(value: T) -> Self {
        Dual::new(value, T::ZERO)
    }

    /// Applies a function with derivative `d` at this value.
    fn chain(self, value: T, d: T) -> Self {
        Dual::new(value, d * self.tangent)
    }

    /// e^x.
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(0.0_f64, 1.0).exp();
    /// assert_eq!((y.value, y.tangent), (1.0, 1.0));
    /// ```
    pub fn exp(self) -> Self {
        let e = self.value.exp();
        self.chain(e, e)
    }

    /// ln x.
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(2.0_f64, 1.0).ln();
    /// assert_eq!(y.tangent, 0.5);
    /// ```
    pub fn ln(self) -> Self {
        self.chain(self.value.ln(), T::ONE / self.value)
    }

    /// √x.
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(4.0_f64, 1.0).sqrt();
    /// assert_eq!((y.value, y.tangent), (2.0, 0.25));
    /// ```
    pub fn sqrt(self) -> Self {
        let s = self.value.sqrt();
        self.chain(s, T::HALF / s)
    }

    /// sin x.
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(0.0_f64, 1.0).sin();
    /// assert_eq!(y.tangent, 1.0);
    /// ```
    pub fn sin(self) -> Self {
        self.chain(self.value.sin(), self.value.cos())
    }

    /// cos x.
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(0.0_f64, 1.0).cos();
    /// assert_eq!(y.tangent, 0.0);
    /// ```
    pub fn cos(self) -> Self {
        self.chain(self.value.cos(), -self.value.sin())
    }

    /// tanh x.
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(0.0_f64, 1.0).tanh();
    /// assert_eq!(y.tangent, 1.0);
    /// ```
    pub fn tanh(self) -> Self {
        let t = self.value.tanh();
        self.chain(t, T::ONE - t * t)
    }

    /// The logistic sigmoid.
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(0.0_f64, 1.0).sigmoid();
    /// assert_eq!((y.value, y.tangent), (0.5, 0.25));
    /// ```
    pub fn sigmoid(self) -> Self {
        let s = crate::tensor::sigmoid_scalar(self.value);
        self.chain(s, s * (T::ONE - s))
    }

    /// x^n for an integer n.
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(3.0_f64, 1.0).powi(2);
    /// assert_eq!((y.value, y.tangent), (9.0, 6.0));
    /// ```
    pub fn powi(self, n: i32) -> Self {
        self.chain(self.value.powi(n), T::from_i32(n) * self.value.powi(n - 1))
    }

    /// x^p for a real p.
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(4.0_f64, 1.0).powf(0.5);
    /// assert_eq!(y.tangent, 0.25);
    /// ```
    pub fn powf(self, p: T) -> Self {
        self.chain(self.value.powf(p), p * self.value.powf(p - T::ONE))
    }

    /// |x| (derivative 0 at 0, as the tape's).
    ///
    /// ```
    /// let y = autograd_core::forward::Dual::new(-2.0_f64, 1.0).abs();
    /// assert_eq!(y.tangent, -1.0);
    /// ```
    pub fn abs(self) -> Self {
        let s = if self.value > T::ZERO {
            T::ONE
        } else if self.value < T::ZERO {
            -T::ONE
        } else {
            T::ZERO
        };
        self.chain(self.value.abs(), s)
    }
}

impl<T: Real> Add for Dual<T> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Dual::new(self.value + o.value, self.tangent + o.tangent)
    }
}

impl<T: Real> Sub for Dual<T> {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Dual::new(self.value - o.value, self.tangent - o.tangent)
    }
}

impl<T: Real> Mul for Dual<T> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        Dual::new(
            self.value * o.value,
            self.tangent * o.value + self.value * o.tangent,
        )
    }
}

impl<T: Real> Div for Dual<T> {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        let q = self.value / o.value;
        Dual::new(q, (self.tangent - q * o.tangent) / o.value)
    }
}

impl<T: Real> Neg for Dual<T> {
    type Output = Self;
    fn neg(self) -> Self {
        Dual::new(-self.value, -self.tangent)
    }
}

macro_rules! with_numbers {
    ($t:ty) => {
        impl Add<$t> for Dual<$t> {
            type Output = Self;
            fn add(self, c: $t) -> Self {
                Dual::new(self.value + c, self.tangent)
            }
        }
        impl Sub<$t> for Dual<$t> {
            type Output = Self;
            fn sub(self, c: $t) -> Self {
                Dual::new(self.value - c, self.tangent)
            }
        }
        impl Mul<$t> for Dual<$t> {
            type Output = Self;
            fn mul(self, c: $t) -> Self {
                Dual::new(self.value * c, self.tangent * c)
            }
        }
        impl Div<$t> for Dual<$t> {
            type Output = Self;
            fn div(self, c: $t) -> Self {
                Dual::new(self.value / c, self.tangent / c)
            }
        }
        impl Add<Dual<$t>> for $t {
            type Output = Dual<$t>;
            fn add(self, d: Dual<$t>) -> Dual<$t> {
                d + self
            }
        }
        impl Sub<Dual<$t>> for $t {
            type Output = Dual<$t>;
            fn sub(self, d: Dual<$t>) -> Dual<$t> {
                Dual::new(self - d.value, -d.tangent)
            }
        }
        impl Mul<Dual<$t>> for $t {
            type Output = Dual<$t>;
            fn mul(self, d: Dual<$t>) -> Dual<$t> {
                d * self
            }
        }
        impl Div<Dual<$t>> for $t {
            type Output = Dual<$t>;
            fn div(self, d: Dual<$t>) -> Dual<$t> {
                Dual::constant(self) / d
            }
        }
    };
}
with_numbers!(f32);
with_numbers!(f64);

/// The Jacobian-vector product of `f` at `x` along `v`: one forward pass
/// with tangents `v`. Returns `(f(x), J v)`.
///
/// ```
/// use autograd_core::forward::{jvp, Dual};
/// // f(x, y) = (x y, x + y): J = [[y, x], [1, 1]]
/// let (y, jv) = jvp(|p: &[Dual<f64>]| vec![p[0] * p[1], p[0] + p[1]], &[2.0, 3.0], &[1.0, 0.0]);
/// assert_eq!((y, jv), (vec![6.0, 5.0], vec![3.0, 1.0]));
/// ```
#[track_caller]
pub fn jvp<T: Real>(f: impl Fn(&[Dual<T>]) -> Vec<Dual<T>>, x: &[T], v: &[T]) -> (Vec<T>, Vec<T>) {
    if x.len() != v.len() {
        panic!(
            "jvp: {} inputs but a direction of length {}",
            x.len(),
            v.len()
        );
    }
    let duals: Vec<Dual<T>> = x.iter().zip(v).map(|(&a, &b)| Dual::new(a, b)).collect();
    let out = f(&duals);
    (
        out.iter().map(|d| d.value).collect(),
        out.iter().map(|d| d.tangent).collect(),
    )
}

/// The gradient of a scalar function by forward mode: one pass per input
/// (seeding each unit direction in turn). Its cost grows with the number of
/// inputs; reverse mode's does not (see docs/performance.md).
///
/// ```
/// use autograd_core::forward::{gradient, Dual};
/// let g = gradient(|p: &[Dual<f64>]| p[0] * p[1] + p[1].sin(), &[0.5, 4.2]);
/// assert_eq!(g[0], 4.2);
/// assert!((g[1] - (0.5 + 4.2_f64.cos())).abs() < 1e-15);
/// ```
pub fn gradient<T: Real>(f: impl Fn(&[Dual<T>]) -> Dual<T>, x: &[T]) -> Vec<T> {
    let mut duals: Vec<Dual<T>> = x.iter().map(|&a| Dual::constant(a)).collect();
    (0..x.len())
        .map(|i| {
            duals[i].tangent = T::ONE;
            let d = f(&duals).tangent;
            duals[i].tangent = T::ZERO;
            d
        })
        .collect()
}
