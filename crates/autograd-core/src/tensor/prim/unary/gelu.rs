//! GELU, x Φ(x), in PyTorch's two forms (`approximate='none'` and `'tanh'`)
//! as one node each: layers record one primitive, not the eight or nine
//! operations of the formula, and no libm `pow` (x³ is x·x·x).
//!
//! - Exact: y = x Φ(x) = x (1 + erf(x/√2)) / 2;
//!   dy/dx = Φ(x) + x φ(x), φ(x) = e^(-x²/2) / √(2π).
//! - Tanh: y = x (1 + tanh u) / 2 with u = √(2/π) (x + 0.044715 x³);
//!   dy/dx = (1 + t)/2 + x (1 - t²) √(2/π) (1 + 3·0.044715 x²) / 2, t = tanh u.

use crate::tensor::pointwise::Pointwise;
use crate::tensor::prim::Unary;
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

/// Which form of GELU (PyTorch's `approximate` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gelu {
    /// x Φ(x) with the exact normal CDF (`approximate='none'`).
    Exact,
    /// The tanh approximation (`approximate='tanh'`, GPT-2's form).
    Tanh,
}

const C: f64 = 0.044_715;

/// √(2/π) (x + C x³), on a number or a tensor.
fn tanh_arg<T: Real, E: Pointwise<T>>(x: &E) -> E {
    let k = T::from_f64((2.0 / std::f64::consts::PI).sqrt());
    x.mul(x).mul(x).scale(T::from_f64(C)).add(x).scale(k)
}

impl<T: Real> Unary<T> for Gelu {
    const NAME: &'static str = "gelu";
    const READS_X: bool = true;
    const READS_Y: bool = false;
    #[inline(always)]
    fn value(self, x: T) -> T {
        match self {
            Gelu::Exact => {
                let phi = (x * T::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erf() + T::ONE;
                x * phi * T::HALF
            }
            Gelu::Tanh => x * (tanh_arg::<T, T>(&x).tanh_fast() + T::ONE) * T::HALF,
        }
    }
    #[inline(always)]
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, _y: &E) -> E {
        let d = match self {
            Gelu::Exact => {
                // Φ(x) + x φ(x)
                let cdf = x
                    .scale(T::from_f64(std::f64::consts::FRAC_1_SQRT_2))
                    .erf()
                    .add_scalar(T::ONE)
                    .scale(T::HALF);
                let inv_sqrt_2pi = T::from_f64(0.5 * std::f64::consts::FRAC_2_SQRT_PI)
                    * T::from_f64(std::f64::consts::FRAC_1_SQRT_2);
                let pdf = x.mul(x).scale(-T::HALF).exp().scale(inv_sqrt_2pi);
                cdf.add(&x.mul(&pdf))
            }
            Gelu::Tanh => {
                let t = tanh_arg::<T, E>(x).tanh();
                let k = T::from_f64((2.0 / std::f64::consts::PI).sqrt());
                let du = x.mul(x).scale(T::from_f64(3.0 * C)).add_scalar(T::ONE).scale(k);
                let sech2 = t.mul(&t).neg().add_scalar(T::ONE);
                let half_x = x.scale(T::HALF);
                t.add_scalar(T::ONE)
                    .scale(T::HALF)
                    .add(&half_x.mul(&sech2).mul(&du))
            }
        };
        g.mul(&d)
    }
}

impl<T: Real> Tensor<T> {
    /// GELU elementwise, exact or with the tanh approximation (PyTorch's
    /// `gelu(x, approximate=...)`).
    ///
    /// ```
    /// use autograd_core::{tensor::Gelu, Tensor};
    /// let a = Tensor::from_vec(vec![0.0_f64, 1.0], &[2]);
    /// let y = a.gelu(Gelu::Exact).to_vec();
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 0.841_344_746_068_542_9).abs() < 1e-15);
    /// assert!((a.gelu(Gelu::Tanh).to_vec()[1] - 0.841_191_990_608_276_8).abs() < 1e-15);
    /// ```
    pub fn gelu(&self, form: Gelu) -> Self {
        self.unary(form)
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// GELU, recorded as one node (exact or tanh form). VJP: the derivative
    /// of the chosen form (module docs).
    ///
    /// ```
    /// use autograd_core::{tensor::Gelu, Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.gelu(Gelu::Exact).sum().backward()[x].item(), 0.5);
    /// assert_eq!(tape.len(), 3);
    /// ```
    #[track_caller]
    pub fn gelu(self, form: Gelu) -> Self {
        self.unary(form)
    }
}
