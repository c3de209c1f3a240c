//! Derivatives of functions of one tensor, built on the tape: gradients,
//! Jacobians (reverse mode, row by row), Hessian-vector products and
//! Hessians (reverse over reverse, through [`TensorTape::grad_graph`]).

use super::shape::fmt_shape;
use super::tape::{TensorTape, TensorVar};
use super::value::Tensor;
use crate::Real;

/// A function of one tensor variable, as the helpers here take it: a
/// closure `|x| ...` that records on `x`'s tape, written in the call. A
/// closure stored in a `let` first goes through [`tensor_fn`]: Rust infers
/// a closure's lifetimes where it is written, and only there can it learn
/// that the closure works for every tape.
///
/// ```
/// use autograd_core::tensor::{hessian, tensor_fn, value_and_grad, TensorFn};
/// use autograd_core::Tensor;
/// fn takes<F: TensorFn<f64>>(_: F) {}
/// takes(|x| x.exp().sum());
/// let f = tensor_fn(|x| x.square().mul(x).sum()); // x³, reusable
/// let x = Tensor::from_vec(vec![1.0_f64, 2.0], &[2]);
/// assert_eq!(value_and_grad(&f, &x).0, 9.0);
/// assert_eq!(hessian(&f, &x).to_vec(), vec![6.0, 0.0, 0.0, 12.0]);
/// ```
pub trait TensorFn<T: Real>: for<'t> Fn(TensorVar<'t, T>) -> TensorVar<'t, T> {}
impl<T: Real, F: for<'t> Fn(TensorVar<'t, T>) -> TensorVar<'t, T>> TensorFn<T> for F {}

/// Gives a closure back unchanged, typed as a [`TensorFn`]: store a
/// function of a tensor in a `let` and pass it (by reference) to several
/// helpers.
///
/// ```
/// use autograd_core::tensor::{jacobian, tensor_fn};
/// use autograd_core::Tensor;
/// let double = tensor_fn(|x| x.scale(2.0));
/// let j = jacobian(&double, &Tensor::from_vec(vec![1.0_f64, 1.0], &[2]));
/// assert_eq!(j.to_vec(), vec![2.0, 0.0, 0.0, 2.0]);
/// ```
pub fn tensor_fn<T: Real, F>(f: F) -> F
where
    F: for<'t> Fn(TensorVar<'t, T>) -> TensorVar<'t, T>,
{
    f
}

#[track_caller]
fn scalar_output<T: Real>(op: &str, y: TensorVar<'_, T>) {
    let shape = y.shape();
    if shape.iter().product::<usize>() != 1 {
        panic!(
            "{op}: the function must return one value (a loss), got shape {}",
            fmt_shape(&shape)
        );
    }
}

/// The value and gradient of a scalar function at `x`.
///
/// ```
/// use autograd_core::{tensor::value_and_grad, Tensor};
/// let (v, g) = value_and_grad(|x| x.square().sum(), &Tensor::from_vec(vec![1.0_f64, -2.0], &[2]));
/// assert_eq!((v, g.to_vec()), (5.0, vec![2.0, -4.0]));
/// ```
#[track_caller]
pub fn value_and_grad<T: Real>(f: impl TensorFn<T>, x: &Tensor<T>) -> (T, Tensor<T>) {
    let tape = TensorTape::new();
    let xv = tape.leaf(x.clone());
    let y = f(xv);
    scalar_output("value_and_grad", y);
    let g = tape.grad(y, &[xv]).remove(0);
    (y.item(), g)
}

/// The Jacobian of `f` at `x`, shape `f(x).shape() ++ x.shape()`, by reverse
/// mode: one recording, then one sweep per output element (seeded with a
/// one-hot vector).
///
/// ```
/// use autograd_core::{tensor::jacobian, Tensor};
/// // f(x) = [x0 * x1, sin x0]
/// let x = Tensor::from_vec(vec![0.5_f64, 3.0], &[2]);
/// let j = jacobian(|x| {
///     let (a, b) = (x.narrow(0, 0, 1), x.narrow(0, 1, 1));
///     autograd_core::TensorVar::concat(&[a.mul(b), a.sin()], 0)
/// }, &x);
/// assert_eq!(j.shape(), &[2, 2]);
/// assert_eq!(j.to_vec(), vec![3.0, 0.5, 0.5_f64.cos(), 0.0]);
/// ```
pub fn jacobian<T: Real>(f: impl TensorFn<T>, x: &Tensor<T>) -> Tensor<T> {
    let tape = TensorTape::new();
    let xv = tape.leaf(x.clone());
    let y = f(xv);
    let out_shape = y.shape();
    let m: usize = out_shape.iter().product();
    let mut rows = Vec::with_capacity(m * x.numel());
    for i in 0..m {
        let mut seed = vec![T::ZERO; m];
        seed[i] = T::ONE;
        let g = tape.vjp(y, &Tensor::from_vec(seed, &out_shape));
        rows.extend_from_slice(g.wrt(xv).data());
    }
    let mut shape = out_shape.to_vec();
    shape.extend_from_slice(x.shape());
    Tensor::from_vec(rows, &shape)
}

/// The Hessian-vector product `H(x) v` of a scalar function, without forming
/// `H`: the gradient is recorded as a function of `x` (reverse mode), and
/// one more sweep differentiates `gradient · v`. Costs a small multiple of
/// one gradient.
///
/// ```
/// use autograd_core::{tensor::hvp, Tensor};
/// // f(x) = sum x^3: H = diag(6 x).
/// let x = Tensor::from_vec(vec![1.0_f64, 2.0], &[2]);
/// let v = Tensor::from_vec(vec![1.0, 1.0], &[2]);
/// assert_eq!(hvp(|x| x.powf(3.0).sum(), &x, &v).to_vec(), vec![6.0, 12.0]);
/// ```
#[track_caller]
pub fn hvp<T: Real>(f: impl TensorFn<T>, x: &Tensor<T>, v: &Tensor<T>) -> Tensor<T> {
    if v.shape() != x.shape() {
        panic!(
            "hvp: the vector has shape {} but x has shape {}",
            fmt_shape(v.shape()),
            fmt_shape(x.shape())
        );
    }
    let tape = TensorTape::new();
    let xv = tape.leaf(x.clone());
    let y = f(xv);
    scalar_output("hvp", y);
    let g = tape.grad_graph(y, &[xv]).remove(0);
    let gv = g.mul(tape.constant(v.clone())).sum();
    tape.grad(gv, &[xv]).remove(0)
}

/// The Hessian of a scalar function at `x`, shape `x.shape() ++ x.shape()`:
/// the gradient recorded once as a function of `x`, then one reverse sweep
/// per gradient entry.
///
/// ```
/// use autograd_core::{tensor::hessian, Tensor};
/// // f(x, y) = x^2 y: H = [[2y, 2x], [2x, 0]].
/// let p = Tensor::from_vec(vec![3.0_f64, 5.0], &[2]);
/// let h = hessian(|v| v.narrow(0, 0, 1).square().mul(v.narrow(0, 1, 1)).sum(), &p);
/// assert_eq!(h.to_vec(), vec![10.0, 6.0, 6.0, 0.0]);
/// ```
#[track_caller]
pub fn hessian<T: Real>(f: impl TensorFn<T>, x: &Tensor<T>) -> Tensor<T> {
    let tape = TensorTape::new();
    let xv = tape.leaf(x.clone());
    let y = f(xv);
    scalar_output("hessian", y);
    let g = tape.grad_graph(y, &[xv]).remove(0).reshape(&[x.numel()]);
    let n = x.numel();
    let mut rows = Vec::with_capacity(n * n);
    for i in 0..n {
        let gi = g.narrow(0, i, 1).sum();
        rows.extend_from_slice(tape.grad(gi, &[xv])[0].data());
    }
    let mut shape = x.shape().to_vec();
    shape.extend_from_slice(x.shape());
    Tensor::from_vec(rows, &shape)
}
