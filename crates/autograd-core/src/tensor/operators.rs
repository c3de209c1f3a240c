//! `+ - * /` and unary `-` for tensors and variables, with numbers on
//! either side. Each forwards to the named method, so broadcasting, errors
//! and gradients are the method's.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::tape::TensorVar;
use super::value::Tensor;
use crate::Real;

macro_rules! tensor_binary {
    ($tr:ident, $m:ident, $scalar:expr, $rscalar:expr) => {
        impl<T: Real> $tr<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$m(self, rhs)
            }
        }
        impl<T: Real> $tr<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$m(&self, &rhs)
            }
        }
        impl<T: Real> $tr<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$m(&self, rhs)
            }
        }
        impl<T: Real> $tr<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $m(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$m(self, &rhs)
            }
        }
        impl<T: Real> $tr<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $m(self, c: T) -> Tensor<T> {
                let f: fn(&Tensor<T>, T) -> Tensor<T> = $scalar;
                f(self, c)
            }
        }
        impl<T: Real> $tr<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $m(self, c: T) -> Tensor<T> {
                let f: fn(&Tensor<T>, T) -> Tensor<T> = $scalar;
                f(&self, c)
            }
        }
        impl<'t, T: Real> $tr<TensorVar<'t, T>> for TensorVar<'t, T> {
            type Output = TensorVar<'t, T>;
            #[track_caller]
            fn $m(self, rhs: TensorVar<'t, T>) -> TensorVar<'t, T> {
                TensorVar::$m(self, rhs)
            }
        }
        impl<'t, T: Real> $tr<T> for TensorVar<'t, T> {
            type Output = TensorVar<'t, T>;
            fn $m(self, c: T) -> TensorVar<'t, T> {
                let f: fn(TensorVar<'t, T>, T) -> TensorVar<'t, T> = $rscalar;
                f(self, c)
            }
        }
    };
}

tensor_binary!(Add, add, |a, c| a.add_scalar(c), |a, c| a.add_scalar(c));
tensor_binary!(Sub, sub, |a, c| a.add_scalar(-c), |a, c| a.add_scalar(-c));
tensor_binary!(Mul, mul, |a, c| a.scale(c), |a, c| a.scale(c));
tensor_binary!(Div, div, |a, c| a.scale(T::ONE / c), |a, c| a
    .scale(T::ONE / c));

// Numbers on the left need one impl per concrete float type.
macro_rules! scalar_left {
    ($t:ty) => {
        impl Add<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn add(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.add_scalar(self)
            }
        }
        impl Add<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn add(self, rhs: Tensor<$t>) -> Tensor<$t> {
                rhs.add_scalar(self)
            }
        }
        impl Sub<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn sub(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.neg().add_scalar(self)
            }
        }
        impl Sub<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn sub(self, rhs: Tensor<$t>) -> Tensor<$t> {
                rhs.neg().add_scalar(self)
            }
        }
        impl Mul<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn mul(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.scale(self)
            }
        }
        impl Mul<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn mul(self, rhs: Tensor<$t>) -> Tensor<$t> {
                rhs.scale(self)
            }
        }
        impl Div<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn div(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.map(|x| self / x)
            }
        }
        impl Div<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn div(self, rhs: Tensor<$t>) -> Tensor<$t> {
                rhs.map(|x| self / x)
            }
        }
        impl<'t> Add<TensorVar<'t, $t>> for $t {
            type Output = TensorVar<'t, $t>;
            fn add(self, rhs: TensorVar<'t, $t>) -> TensorVar<'t, $t> {
                rhs.add_scalar(self)
            }
        }
        impl<'t> Sub<TensorVar<'t, $t>> for $t {
            type Output = TensorVar<'t, $t>;
            fn sub(self, rhs: TensorVar<'t, $t>) -> TensorVar<'t, $t> {
                rhs.neg().add_scalar(self)
            }
        }
        impl<'t> Mul<TensorVar<'t, $t>> for $t {
            type Output = TensorVar<'t, $t>;
            fn mul(self, rhs: TensorVar<'t, $t>) -> TensorVar<'t, $t> {
                rhs.scale(self)
            }
        }
        impl<'t> Div<TensorVar<'t, $t>> for $t {
            type Output = TensorVar<'t, $t>;
            fn div(self, rhs: TensorVar<'t, $t>) -> TensorVar<'t, $t> {
                rhs.powf(-1.0).scale(self)
            }
        }
    };
}
scalar_left!(f32);
scalar_left!(f64);

impl<T: Real> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(self)
    }
}

impl<T: Real> Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        Tensor::neg(&self)
    }
}

impl<'t, T: Real> Neg for TensorVar<'t, T> {
    type Output = TensorVar<'t, T>;
    fn neg(self) -> TensorVar<'t, T> {
        TensorVar::neg(self)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Tensor, TensorTape};

    #[test]
    fn numbers_on_either_side() {
        let a = Tensor::from_vec(vec![1.0_f64, 2.0], &[2]);
        assert_eq!((2.0 * &a - 1.0).to_vec(), vec![1.0, 3.0]);
        assert_eq!((1.0 - &a).to_vec(), vec![0.0, -1.0]);
        assert_eq!((2.0 / &a).to_vec(), vec![2.0, 1.0]);
        assert_eq!((-(&a / 2.0)).to_vec(), vec![-0.5, -1.0]);
        let tape = TensorTape::new();
        let x = tape.leaf(a);
        let y = 3.0 - x * 2.0 + 1.0 / x;
        assert_eq!(y.value().to_vec(), vec![2.0, -0.5]);
        let g = y.sum().backward();
        assert_eq!(g[x].to_vec(), vec![-3.0, -2.25]);
    }
}
