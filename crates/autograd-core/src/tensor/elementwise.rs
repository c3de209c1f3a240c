//! Elementwise operations: each forward kernel, its recording on the tape and
//! its vector-Jacobian product, side by side.
//!
//! The VJPs are written with the same tensor operations as the forward pass
//! (through [`Algebra`]), so that the backward pass can itself be recorded
//! for higher derivatives. Gradients come out in the broadcast shape of the
//! output; summing them back to each input's shape happens in one place, the
//! sweep (`tape::accumulate`), not here.

// `a.add(b)`, `a.mul(b)` name the operations as PyTorch and candle do; the
// operator traits are implemented too (operators.rs) and forward here.
#![allow(clippy::should_implement_trait)]

use super::algebra::Algebra;
use super::pool;
use super::shape::{
    broadcast_shapes, broadcast_strides, broadcasts_simply, numel, same_shape, Shape,
};
use super::tape::{Op, TensorVar};
use super::value::Tensor;
use crate::Real;

/// Applies `f` pairwise under numpy broadcasting. The innermost dimension is
/// a tight loop (contiguous or constant on each side, so it vectorises); the
/// outer dimensions advance an odometer.
#[track_caller]
pub(crate) fn zip_broadcast<A: Copy, B: Copy, R: Copy>(
    op: &str,
    a: &Tensor<A>,
    b: &Tensor<B>,
    f: impl Fn(A, B) -> R,
) -> Tensor<R> {
    let (ad, bd) = (a.data(), b.data());
    if same_shape(a.shape(), b.shape()) {
        let out = ad.iter().zip(bd).map(|(&x, &y)| f(x, y));
        return Tensor::from_iter_like(a, out);
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape());
    let n = numel(&shape);
    if bd.len() == 1 && n == ad.len() {
        let y = bd[0];
        return Tensor::from_exact_iter(shape, ad.iter().map(|&x| f(x, y)));
    }
    if ad.len() == 1 && n == bd.len() {
        let x = ad[0];
        return Tensor::from_exact_iter(shape, bd.iter().map(|&y| f(x, y)));
    }
    let mut out = Vec::with_capacity(n);
    if n > 0 {
        let sa = broadcast_strides(a.shape(), &shape);
        let sb = broadcast_strides(b.shape(), &shape);
        let nd = shape.len();
        let inner = shape[nd - 1];
        let (ia, ib) = (sa[nd - 1], sb[nd - 1]);
        let mut idx: Shape = smallvec::smallvec![0; nd];
        let (mut oa, mut ob) = (0usize, 0usize);
        loop {
            match (ia, ib) {
                (1, 1) => out.extend(
                    ad[oa..oa + inner]
                        .iter()
                        .zip(&bd[ob..ob + inner])
                        .map(|(&x, &y)| f(x, y)),
                ),
                (1, 0) => {
                    let y = bd[ob];
                    out.extend(ad[oa..oa + inner].iter().map(|&x| f(x, y)));
                }
                (0, 1) => {
                    let x = ad[oa];
                    out.extend(bd[ob..ob + inner].iter().map(|&y| f(x, y)));
                }
                _ => out.extend((0..inner).map(|j| f(ad[oa + j * ia], bd[ob + j * ib]))),
            }
            // Advance the odometer over the outer dimensions.
            let mut d = nd - 1;
            loop {
                if d == 0 {
                    return Tensor::from_parts(shape, out);
                }
                d -= 1;
                idx[d] += 1;
                oa += sa[d];
                ob += sb[d];
                if idx[d] < shape[d] {
                    break;
                }
                oa -= sa[d] * shape[d];
                ob -= sb[d] * shape[d];
                idx[d] = 0;
            }
        }
    }
    Tensor::from_parts(shape, out)
}

/// Elementwise arithmetic and functions on plain tensors (no tape). Binary
/// operations broadcast by numpy's rules and panic, at the caller's line,
/// naming the operation and both shapes when they cannot.
impl<T: Real> Tensor<T> {
    /// `self + other`, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0], &[2, 1]);
    /// let b = Tensor::from_vec(vec![10.0_f32, 20.0, 30.0], &[3]);
    /// assert_eq!(a.add(&b).shape(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn add(&self, other: &Self) -> Self {
        zip_broadcast("add", self, other, |a, b| a + b)
    }

    /// `self - other`, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![5.0_f32, 7.0], &[2]);
    /// assert_eq!(a.sub(&Tensor::scalar(1.0)).to_vec(), vec![4.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn sub(&self, other: &Self) -> Self {
        zip_broadcast("sub", self, other, |a, b| a - b)
    }

    /// `self * other` elementwise, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![2.0_f32, 3.0], &[2]);
    /// assert_eq!(a.mul(&a).to_vec(), vec![4.0, 9.0]);
    /// ```
    #[track_caller]
    pub fn mul(&self, other: &Self) -> Self {
        zip_broadcast("mul", self, other, |a, b| a * b)
    }

    /// `self / other` elementwise, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![2.0_f32, 3.0], &[2]);
    /// assert_eq!(a.div(&Tensor::scalar(2.0)).to_vec(), vec![1.0, 1.5]);
    /// ```
    #[track_caller]
    pub fn div(&self, other: &Self) -> Self {
        zip_broadcast("div", self, other, |a, b| a / b)
    }

    /// `self ^ exponent` elementwise with a tensor exponent, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![2.0_f64, 3.0], &[2]);
    /// assert_eq!(a.pow(&Tensor::from_vec(vec![3.0, 2.0], &[2])).to_vec(), vec![8.0, 9.0]);
    /// ```
    #[track_caller]
    pub fn pow(&self, exponent: &Self) -> Self {
        zip_broadcast("pow", self, exponent, |a, b| a.powf(b))
    }

    /// The larger of each pair, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 5.0], &[2]);
    /// assert_eq!(a.maximum(&Tensor::scalar(2.0)).to_vec(), vec![2.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn maximum(&self, other: &Self) -> Self {
        zip_broadcast("maximum", self, other, |a, b| if b > a { b } else { a })
    }

    /// The smaller of each pair, broadcasting.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 5.0], &[2]);
    /// assert_eq!(a.minimum(&Tensor::scalar(2.0)).to_vec(), vec![1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn minimum(&self, other: &Self) -> Self {
        zip_broadcast("minimum", self, other, |a, b| if b < a { b } else { a })
    }

    /// `-self`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1.0_f32, -2.0], &[2]);
    /// assert_eq!(a.neg().to_vec(), vec![-1.0, 2.0]);
    /// ```
    pub fn neg(&self) -> Self {
        self.map(|x| -x)
    }

    /// `self + c` for a number `c`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1.0_f32, -2.0], &[2]);
    /// assert_eq!(a.add_scalar(1.0).to_vec(), vec![2.0, -1.0]);
    /// ```
    pub fn add_scalar(&self, c: T) -> Self {
        self.map(|x| x + c)
    }

    /// `self * c` for a number `c`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1.0_f32, -2.0], &[2]);
    /// assert_eq!(a.scale(3.0).to_vec(), vec![3.0, -6.0]);
    /// ```
    pub fn scale(&self, c: T) -> Self {
        self.map(|x| x * c)
    }

    /// `self ^ p` for a number `p`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![4.0_f32, 9.0], &[2]);
    /// assert_eq!(a.powf(0.5).to_vec(), vec![2.0, 3.0]);
    /// ```
    pub fn powf(&self, p: T) -> Self {
        if p == T::TWO {
            self.map(|x| x * x)
        } else {
            self.map(|x| x.powf(p))
        }
    }

    /// `self * self`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![-3.0_f32], &[1]);
    /// assert_eq!(a.square().to_vec(), vec![9.0]);
    /// ```
    pub fn square(&self) -> Self {
        self.map(|x| x * x)
    }

    /// e^x elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f64], &[1]);
    /// assert_eq!(a.exp().to_vec(), vec![1.0]);
    /// ```
    pub fn exp(&self) -> Self {
        self.map(T::exp)
    }

    /// Natural logarithm elementwise (NaN below 0, -inf at 0, as `f64::ln`).
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1.0_f64], &[1]);
    /// assert_eq!(a.ln().to_vec(), vec![0.0]);
    /// ```
    pub fn ln(&self) -> Self {
        self.map(T::ln)
    }

    /// Square root elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![16.0_f32], &[1]);
    /// assert_eq!(a.sqrt().to_vec(), vec![4.0]);
    /// ```
    pub fn sqrt(&self) -> Self {
        self.map(T::sqrt)
    }

    /// Hyperbolic tangent elementwise (for f32 through [`Real::tanh_fast`],
    /// within 4.5e-7 of the exact value).
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f32], &[1]);
    /// assert_eq!(a.tanh().to_vec(), vec![0.0]);
    /// ```
    pub fn tanh(&self) -> Self {
        // `tanh_fast` vectorises (f32: within 4.5e-7 of the exact value).
        self.map(T::tanh_fast)
    }

    /// The logistic function 1 / (1 + e^-x), computed without overflow.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f32, -1000.0], &[2]);
    /// assert_eq!(a.sigmoid().to_vec(), vec![0.5, 0.0]);
    /// ```
    pub fn sigmoid(&self) -> Self {
        self.map(sigmoid)
    }

    /// Sine elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f32], &[1]);
    /// assert_eq!(a.sin().to_vec(), vec![0.0]);
    /// ```
    pub fn sin(&self) -> Self {
        self.map(T::sin)
    }

    /// Cosine elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![0.0_f32], &[1]);
    /// assert_eq!(a.cos().to_vec(), vec![1.0]);
    /// ```
    pub fn cos(&self) -> Self {
        self.map(T::cos)
    }

    /// Absolute value elementwise.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![-2.0_f32], &[1]);
    /// assert_eq!(a.abs().to_vec(), vec![2.0]);
    /// ```
    pub fn abs(&self) -> Self {
        self.map(T::abs)
    }

    /// max(x, 0) elementwise (NaN stays NaN).
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![-2.0_f32, 3.0], &[2]);
    /// assert_eq!(a.relu().to_vec(), vec![0.0, 3.0]);
    /// ```
    pub fn relu(&self) -> Self {
        self.map(|x| if x < T::ZERO { T::ZERO } else { x })
    }

    /// Each element limited to `[low, high]`. Panics if `low > high`.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![-2.0_f32, 0.5, 3.0], &[3]);
    /// assert_eq!(a.clamp(-1.0, 1.0).to_vec(), vec![-1.0, 0.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn clamp(&self, low: T, high: T) -> Self {
        check_clamp(low, high);
        self.map(|x| {
            if x < low {
                low
            } else if x > high {
                high
            } else {
                x
            }
        })
    }

    /// Mask of `self > other` (broadcasting); no gradient flows through masks.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 3.0], &[2]);
    /// assert_eq!(a.gt(&Tensor::scalar(2.0)).to_vec(), vec![false, true]);
    /// ```
    #[track_caller]
    pub fn gt(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("gt", self, other, |a, b| a > b)
    }

    /// Mask of `self >= other`.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0], &[2]);
    /// assert_eq!(a.ge(&Tensor::scalar(2.0)).to_vec(), vec![false, true]);
    /// ```
    #[track_caller]
    pub fn ge(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("ge", self, other, |a, b| a >= b)
    }

    /// Mask of `self < other`.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0], &[2]);
    /// assert_eq!(a.lt(&Tensor::scalar(2.0)).to_vec(), vec![true, false]);
    /// ```
    #[track_caller]
    pub fn lt(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("lt", self, other, |a, b| a < b)
    }

    /// Mask of `self <= other`.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 3.0], &[2]);
    /// assert_eq!(a.le(&Tensor::scalar(2.0)).to_vec(), vec![true, false]);
    /// ```
    #[track_caller]
    pub fn le(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("le", self, other, |a, b| a <= b)
    }

    /// Mask of `self == other` (exact equality).
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f32, 2.0], &[2]);
    /// assert_eq!(a.eq_elem(&Tensor::scalar(2.0)).to_vec(), vec![false, true]);
    /// ```
    #[track_caller]
    pub fn eq_elem(&self, other: &Self) -> Tensor<bool> {
        zip_broadcast("eq_elem", self, other, |a, b| a == b)
    }

    /// [`Tensor::add_assign_same`] taking `other` by value: when `self` is
    /// shared but `other` is not, the sum goes into `other`'s buffer and
    /// replaces `self`, so no buffer is allocated. A left-over `other` that
    /// nobody else holds goes to `spare` (while it has room) for reuse.
    pub(crate) fn add_assign_owned(&mut self, mut other: Self, spare: &mut Vec<Self>) {
        if self.is_shared() {
            if let Some(data) = other.data_if_unique() {
                for (a, &b) in data.iter_mut().zip(self.data()) {
                    *a += b;
                }
                *self = other;
                return;
            }
        }
        self.add_assign_same(&other);
        if spare.len() < spare.capacity() && !other.is_shared() {
            spare.push(other);
        }
    }

    /// Adds `other` (same shape) into `self`: in place when `self` owns
    /// its data, else into a new buffer in one pass (copying first and then
    /// adding would read everything twice). The sweep's accumulation.
    pub(crate) fn add_assign_same(&mut self, other: &Self) {
        debug_assert_eq!(self.shape(), other.shape());
        match self.data_if_unique() {
            Some(data) => {
                for (a, &b) in data.iter_mut().zip(other.data()) {
                    *a += b;
                }
            }
            None => *self = Tensor::add(self, other),
        }
    }
}

impl Tensor<bool> {
    /// Chooses elementwise: `on_true` where the mask holds, else `on_false`
    /// (all three broadcast together), like `torch.where`.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0_f32, 2.0], &[2]);
    /// let m = x.gt(&Tensor::scalar(0.0));
    /// assert_eq!(m.where_cond(&x, &Tensor::scalar(0.0)).to_vec(), vec![0.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn where_cond<T: Real>(&self, on_true: &Tensor<T>, on_false: &Tensor<T>) -> Tensor<T> {
        let a = zip_broadcast(
            "where_cond",
            self,
            on_true,
            |m, a| if m { a } else { T::ZERO },
        );
        let b = zip_broadcast(
            "where_cond",
            self,
            on_false,
            |m, b| if m { T::ZERO } else { b },
        );
        a.add(&b)
    }

    /// The mask as 0/1 numbers.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let m = Tensor::from_vec(vec![true, false], &[2]);
    /// assert_eq!(m.to_real::<f32>().to_vec(), vec![1.0, 0.0]);
    /// ```
    pub fn to_real<T: Real>(&self) -> Tensor<T> {
        self.map(|m| if m { T::ONE } else { T::ZERO })
    }

    /// Elementwise not.
    ///
    /// ```
    /// let m = autograd_core::Tensor::from_vec(vec![true, false], &[2]);
    /// assert_eq!(m.not().to_vec(), vec![false, true]);
    /// ```
    pub fn not(&self) -> Self {
        self.map(|m| !m)
    }
}

#[inline]
/// A unary elementwise op's function computed into an existing buffer, for
/// [`TensorTape::replay`](crate::TensorTape::replay). The closures are the
/// ones the methods above use, so a replayed value equals a recorded one
/// bit for bit (tests/replay.rs checks it). False for an op without an
/// in-place kernel here; replay then allocates.
pub(crate) fn unary_into<T: Real>(op: &Op<T>, x: &[T], out: &mut [T]) -> bool {
    fn run<T: Copy>(x: &[T], out: &mut [T], f: impl Fn(T) -> T) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = f(v);
        }
    }
    debug_assert_eq!(x.len(), out.len());
    match *op {
        Op::Neg => run(x, out, |x| -x),
        Op::AddScalar(c) => run(x, out, |x| x + c),
        Op::Scale(c) => run(x, out, |x| x * c),
        Op::Exp => run(x, out, T::exp),
        Op::Ln => run(x, out, T::ln),
        Op::Sqrt => run(x, out, T::sqrt),
        Op::Tanh => run(x, out, T::tanh_fast),
        Op::Sigmoid => run(x, out, sigmoid),
        Op::Sin => run(x, out, T::sin),
        Op::Cos => run(x, out, T::cos),
        Op::Abs => run(x, out, T::abs),
        Op::Relu => run(x, out, |x| if x < T::ZERO { T::ZERO } else { x }),
        _ => return false,
    }
    true
}

/// A binary elementwise op computed into an existing buffer, when each
/// operand has the output's length or is a single element, or `b` is a row
/// repeated along leading axes (the broadcasts a replay meets most: same
/// shapes, a scalar, a bias). The caller checks shapes, this function
/// only lengths. Same closures as the methods above.
pub(crate) fn binary_into<T: Real>(op: &Op<T>, a: &[T], b: &[T], out: &mut [T]) -> bool {
    fn run<T: Copy>(a: &[T], b: &[T], out: &mut [T], f: impl Fn(T, T) -> T) -> bool {
        let n = out.len();
        match (a.len() == n, b.len() == n) {
            (true, true) => out
                .iter_mut()
                .zip(a.iter().zip(b))
                .for_each(|(o, (&x, &y))| *o = f(x, y)),
            (true, false) if b.len() == 1 => {
                out.iter_mut().zip(a).for_each(|(o, &x)| *o = f(x, b[0]))
            }
            (false, true) if a.len() == 1 => {
                out.iter_mut().zip(b).for_each(|(o, &y)| *o = f(a[0], y))
            }
            // `b` repeated along the leading axes (a bias row); the caller
            // checked that its shape is the output's trailing shape.
            (true, false) if !b.is_empty() && n % b.len() == 0 => {
                for (o, a) in out.chunks_mut(b.len()).zip(a.chunks(b.len())) {
                    o.iter_mut()
                        .zip(a.iter().zip(b))
                        .for_each(|(o, (&x, &y))| *o = f(x, y));
                }
            }
            _ => return false,
        }
        true
    }
    match op {
        Op::Add => run(a, b, out, |a, b| a + b),
        Op::Sub => run(a, b, out, |a, b| a - b),
        Op::Mul => run(a, b, out, |a, b| a * b),
        Op::Div => run(a, b, out, |a, b| a / b),
        Op::Maximum => run(a, b, out, |a, b| if b > a { b } else { a }),
        Op::Minimum => run(a, b, out, |a, b| if b < a { b } else { a }),
        _ => false,
    }
}

pub(crate) fn sigmoid<T: Real>(x: T) -> T {
    // Two branches so that e^x never overflows.
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

#[track_caller]
fn check_clamp<T: Real>(low: T, high: T) {
    if low > high || low.is_nan() || high.is_nan() {
        panic!("clamp: low {low} must not exceed high {high}");
    }
}

// ---------------------------------------------------------------------------
// Recording on the tape.

macro_rules! record_unary {
    ($( $(#[$doc:meta])* $name:ident => $op:expr ;)*) => {
        impl<'t, T: Real> TensorVar<'t, T> {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $name(self) -> Self {
                    self.record_unary($op, |x| x.$name())
                }
            )*
        }
    };
}

record_unary! {
    /// e^x, recorded. VJP: g * y.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64, 1.0], &[2]));
    /// let g = x.exp().sum().backward();
    /// assert_eq!(g[x].to_vec(), vec![1.0, 1.0_f64.exp()]);
    /// ```
    exp => Op::Exp;
    /// Natural logarithm, recorded. VJP: g / x.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// assert_eq!(x.ln().sum().backward()[x].to_vec(), vec![0.5]);
    /// ```
    ln => Op::Ln;
    /// Square root, recorded. VJP: g / (2 y).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![4.0_f64], &[1]));
    /// assert_eq!(x.sqrt().sum().backward()[x].to_vec(), vec![0.25]);
    /// ```
    sqrt => Op::Sqrt;
    /// Hyperbolic tangent, recorded. VJP: g (1 - y²).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.tanh().sum().backward()[x].to_vec(), vec![1.0]);
    /// ```
    tanh => Op::Tanh;
    /// Logistic sigmoid, recorded. VJP: g y (1 - y).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.sigmoid().sum().backward()[x].to_vec(), vec![0.25]);
    /// ```
    sigmoid => Op::Sigmoid;
    /// Sine, recorded. VJP: g cos x.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.sin().sum().backward()[x].to_vec(), vec![1.0]);
    /// ```
    sin => Op::Sin;
    /// Cosine, recorded. VJP: -g sin x.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![0.0_f64], &[1]));
    /// assert_eq!(x.cos().sum().backward()[x].to_vec(), vec![0.0]);
    /// ```
    cos => Op::Cos;
    /// Absolute value, recorded. VJP: g sign(x), with 0 at x = 0.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-3.0_f64, 0.0, 2.0], &[3]));
    /// assert_eq!(x.abs().sum().backward()[x].to_vec(), vec![-1.0, 0.0, 1.0]);
    /// ```
    abs => Op::Abs;
    /// max(x, 0), recorded. VJP: g where x > 0, else 0 (so relu'(0) = 0).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-1.0_f64, 0.0, 2.0], &[3]));
    /// assert_eq!(x.relu().sum().backward()[x].to_vec(), vec![0.0, 0.0, 1.0]);
    /// ```
    relu => Op::Relu;
    /// `-x`, recorded. VJP: -g.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// assert_eq!(x.neg().sum().backward()[x].to_vec(), vec![-1.0]);
    /// ```
    neg => Op::Neg;
}

macro_rules! record_binary {
    ($( $(#[$doc:meta])* $name:ident => $op:expr ;)*) => {
        impl<'t, T: Real> TensorVar<'t, T> {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $name(self, other: Self) -> Self {
                    // Equal shapes: the output has them too (both `same_shape` bits).
                    let same = self.check_broadcast(stringify!($name), other).then_some(0b11);
                    self.record_binary(other, stringify!($name), $op, same, |a, b| a.$name(b))
                }
            )*
        }
    };
}

record_binary! {
    /// `self + other`, broadcasting, recorded. VJP: (g, g).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::scalar(10.0_f64));
    /// let g = a.add(b).sum().backward();
    /// assert_eq!((g[a].to_vec(), g[b].item()), (vec![1.0, 1.0], 2.0));
    /// ```
    add => Op::Add;
    /// `self - other`, broadcasting, recorded. VJP: (g, -g).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::scalar(10.0_f64));
    /// assert_eq!(a.sub(b).sum().backward()[b].item(), -2.0);
    /// ```
    sub => Op::Sub;
    /// `self * other` elementwise, broadcasting, recorded. VJP: (g b, g a).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::from_vec(vec![3.0_f64, 4.0], &[2]));
    /// assert_eq!(a.mul(b).sum().backward()[a].to_vec(), vec![3.0, 4.0]);
    /// ```
    mul => Op::Mul;
    /// `self / other` elementwise, broadcasting, recorded. VJP: (g / b, -g y / b).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64], &[1]));
    /// let b = tape.leaf(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// let g = a.div(b).sum().backward();
    /// assert_eq!((g[a].item(), g[b].item()), (0.5, -0.25));
    /// ```
    div => Op::Div;
    /// `self ^ other` elementwise, broadcasting, recorded.
    /// VJP: (g e x^(e-1), g y ln x); the second is NaN for x < 0, as in the
    /// scalar tape.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// let e = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// let g = x.pow(e).sum().backward();
    /// assert_eq!(g[x].item(), 12.0);
    /// assert!((g[e].item() - 8.0 * 2.0_f64.ln()).abs() < 1e-12);
    /// ```
    pow => Op::Pow;
    /// The larger of each pair, recorded. The gradient goes to the larger;
    /// ties split it evenly.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 5.0, 2.0], &[3]));
    /// let b = tape.leaf(Tensor::scalar(2.0_f64));
    /// let g = a.maximum(b).sum().backward();
    /// assert_eq!((g[a].to_vec(), g[b].item()), (vec![0.0, 1.0, 0.5], 1.5));
    /// ```
    maximum => Op::Maximum;
    /// The smaller of each pair, recorded; ties split the gradient evenly.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 5.0], &[2]));
    /// let b = tape.leaf(Tensor::scalar(2.0_f64));
    /// assert_eq!(a.minimum(b).sum().backward()[a].to_vec(), vec![1.0, 0.0]);
    /// ```
    minimum => Op::Minimum;
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Panics here, at the caller's line, if the shapes do not broadcast
    /// (rather than inside the kernel).
    #[track_caller]
    fn check_broadcast(self, name: &str, other: Self) -> bool {
        self.check_same_tape(name, other);
        let inner = self.tape.inner.borrow();
        let (a, b) = (
            &inner.nodes[self.index as usize].value,
            &inner.nodes[other.index as usize].value,
        );
        let same = same_shape(a.shape(), b.shape());
        if !same {
            broadcast_shapes(name, a.shape(), b.shape());
        }
        same
    }

    /// `self + c` for a number, recorded. VJP: g.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f32], &[1]));
    /// assert_eq!(x.add_scalar(2.0).value().to_vec(), vec![3.0]);
    /// ```
    #[track_caller]
    pub fn add_scalar(self, c: T) -> Self {
        self.record_unary(Op::AddScalar(c), |x| x.add_scalar(c))
    }

    /// `self * c` for a number, recorded. VJP: c g.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64], &[1]));
    /// assert_eq!(x.scale(3.0).sum().backward()[x].item(), 3.0);
    /// ```
    #[track_caller]
    pub fn scale(self, c: T) -> Self {
        self.record_unary(Op::Scale(c), |x| x.scale(c))
    }

    /// `self ^ p` for a number, recorded. VJP: g p x^(p-1).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// assert_eq!(x.powf(2.0).sum().backward()[x].item(), 6.0);
    /// ```
    #[track_caller]
    pub fn powf(self, p: T) -> Self {
        self.record_unary(Op::Powf(p), |x| x.powf(p))
    }

    /// `self * self`, recorded (as `powf(2)`).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// assert_eq!(x.square().sum().backward()[x].item(), 6.0);
    /// ```
    #[track_caller]
    pub fn square(self) -> Self {
        self.powf(T::TWO)
    }

    /// Each element limited to `[low, high]`, recorded. The gradient passes
    /// where `low <= x <= high` and is 0 outside.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![-2.0_f64, 0.5, 3.0], &[3]));
    /// assert_eq!(x.clamp(-1.0, 1.0).sum().backward()[x].to_vec(), vec![0.0, 1.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn clamp(self, low: T, high: T) -> Self {
        check_clamp(low, high);
        self.record_unary(Op::Clamp(low, high), |x| x.clamp(low, high))
    }

    /// `on_true` where `mask` holds, else `on_false`, broadcasting all three;
    /// recorded. The mask is a constant: each side receives the gradient
    /// where it was chosen.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape, TensorVar};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::from_vec(vec![5.0_f64, 6.0], &[2]));
    /// let mask = Tensor::from_vec(vec![true, false], &[2]);
    /// let g = TensorVar::where_cond(&mask, a, b).sum().backward();
    /// assert_eq!((g[a].to_vec(), g[b].to_vec()), (vec![1.0, 0.0], vec![0.0, 1.0]));
    /// ```
    #[track_caller]
    pub fn where_cond(mask: &Tensor<bool>, on_true: Self, on_false: Self) -> Self {
        let value = mask.where_cond(&on_true.value(), &on_false.value());
        on_true.record_nary(
            &[on_true, on_false],
            "where_cond",
            Op::Where(Box::new(mask.clone())),
            value,
        )
    }
}

// ---------------------------------------------------------------------------
// Vector-Jacobian products. `x` are the inputs, `y` the output, `g` the
// output's adjoint; each returns one gradient per input, in the broadcast
// shape (the sweep sums it back to the input's shape).

pub(crate) fn add_vjp<T: Real, V: Algebra<T>>(g: &V) -> [V; 2] {
    [g.clone(), g.clone()]
}

pub(crate) fn sub_vjp<T: Real, V: Algebra<T>>(g: &V) -> [V; 2] {
    [g.clone(), g.neg()]
}

pub(crate) fn mul_vjp<T: Real, V: Algebra<T>>(x: &[&V], g: &V, need: &[bool]) -> [Option<V>; 2] {
    [need[0].then(|| g.mul(x[1])), need[1].then(|| g.mul(x[0]))]
}

/// [`mul_vjp`] and [`sub_vjp`] into buffers from the sweep's pool (see
/// `pool.rs`), same arithmetic, when each product's other factor has `g`'s
/// shape, its trailing shape (a bias row) or one element.
pub(crate) fn mul_sub_vjp_pooled<T: Real>(
    op: &Op<T>,
    x: &[&Tensor<T>],
    g: &Tensor<T>,
    need: &[bool],
    pool: &mut Vec<Tensor<T>>,
) -> Option<[Option<Tensor<T>>; 2]> {
    let product = |pool: &mut Vec<Tensor<T>>, other: &Tensor<T>| {
        let mut out = pool::take(pool, g.shape());
        let done = binary_into(&Op::Mul, g.data(), other.data(), pool::unique(&mut out));
        debug_assert!(done, "checked by broadcasts_simply");
        out
    };
    match op {
        Op::Mul => {
            let fits = |k: usize, other: &Tensor<T>| {
                !need[k] || broadcasts_simply(g.shape(), other.shape(), g.shape())
            };
            if !fits(0, x[1]) || !fits(1, x[0]) {
                return None;
            }
            Some([
                need[0].then(|| product(pool, x[1])),
                need[1].then(|| product(pool, x[0])),
            ])
        }
        Op::Sub => Some([
            need[0].then(|| g.clone()),
            need[1].then(|| {
                let mut out = pool::take(pool, g.shape());
                unary_into(&Op::Neg, g.data(), pool::unique(&mut out));
                out
            }),
        ]),
        _ => None,
    }
}

pub(crate) fn div_vjp<T: Real, V: Algebra<T>>(
    x: &[&V],
    y: &V,
    g: &V,
    need: &[bool],
) -> [Option<V>; 2] {
    [
        need[0].then(|| g.div(x[1])),
        need[1].then(|| g.mul(y).div(x[1]).neg()),
    ]
}

pub(crate) fn pow_vjp<T: Real, V: Algebra<T>>(
    x: &[&V],
    y: &V,
    g: &V,
    need: &[bool],
) -> [Option<V>; 2] {
    [
        need[0].then(|| g.mul(x[1]).mul(&x[0].pow(&x[1].add_scalar(-T::ONE)))),
        need[1].then(|| g.mul(y).mul(&x[0].ln())),
    ]
}

pub(crate) fn powf_vjp<T: Real, V: Algebra<T>>(x: &V, g: &V, p: T) -> V {
    if p == T::TWO {
        g.mul(x).scale(T::TWO)
    } else {
        g.mul(&x.powf(p - T::ONE)).scale(p)
    }
}

pub(crate) fn exp_vjp<T: Real, V: Algebra<T>>(y: &V, g: &V) -> V {
    g.mul(y)
}

pub(crate) fn ln_vjp<T: Real, V: Algebra<T>>(x: &V, g: &V) -> V {
    g.div(x)
}

pub(crate) fn sqrt_vjp<T: Real, V: Algebra<T>>(y: &V, g: &V) -> V {
    g.div(y).scale(T::HALF)
}

pub(crate) fn sin_vjp<T: Real, V: Algebra<T>>(x: &V, g: &V) -> V {
    g.mul(&x.cos())
}

pub(crate) fn cos_vjp<T: Real, V: Algebra<T>>(x: &V, g: &V) -> V {
    g.mul(&x.sin()).neg()
}

/// A gradient that only passes where a constant mask (computed from the
/// values, not differentiated) is 1 — or is scaled by a constant factor.
pub(crate) fn masked<T: Real, V: Algebra<T>>(g: &V, factor: Tensor<T>) -> V {
    g.mul(&g.lift(factor))
}

pub(crate) fn abs_vjp<T: Real, V: Algebra<T>>(x: &V, g: &V) -> V {
    let sign = x.value().map(|v| {
        if v > T::ZERO {
            T::ONE
        } else if v < T::ZERO {
            -T::ONE
        } else {
            T::ZERO
        }
    });
    masked(g, sign)
}

pub(crate) fn relu_vjp<T: Real, V: Algebra<T>>(x: &V, g: &V) -> V {
    g.relu_backward(x)
}

pub(crate) fn clamp_vjp<T: Real, V: Algebra<T>>(x: &V, g: &V, low: T, high: T) -> V {
    masked(
        g,
        x.value().map(|v| {
            if v >= low && v <= high {
                T::ONE
            } else {
                T::ZERO
            }
        }),
    )
}

/// maximum/minimum: the chosen side gets the gradient, ties split it.
pub(crate) fn extremum_vjp<T: Real, V: Algebra<T>>(
    x: &[&V],
    g: &V,
    need: &[bool],
    is_max: bool,
) -> [Option<V>; 2] {
    let (a, b) = (x[0].value(), x[1].value());
    let share = |first: bool| {
        zip_broadcast("maximum", &a, &b, |p, q| {
            if p == q {
                T::HALF
            } else if (p > q) == (is_max == first) {
                T::ONE
            } else {
                T::ZERO
            }
        })
    };
    [
        need[0].then(|| masked(g, share(true))),
        need[1].then(|| masked(g, share(false))),
    ]
}

pub(crate) fn where_vjp<T: Real, V: Algebra<T>>(
    mask: &Tensor<bool>,
    g: &V,
    need: &[bool],
) -> [Option<V>; 2] {
    [
        need[0].then(|| masked(g, mask.to_real())),
        need[1].then(|| masked(g, mask.not().to_real())),
    ]
}
