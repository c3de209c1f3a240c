//! Statement-level recording: a whole expression becomes one tape node.
//!
//! The tape normally records one node per operation: `sin(x) * exp(-x²/2)`
//! is five nodes, and the reverse sweep visits each. [`Tape::statement`]
//! instead evaluates the expression on [`Local`] numbers, which carry the
//! gradient of every intermediate with respect to the statement's few inputs
//! (forward mode, one lane per input), and records only the result with its
//! partials: one node for one or two inputs. This is what the C++ tapes
//! Adept and CoDiPack do with expression templates ("statement-level
//! preaccumulation"); Rust cannot overload assignment, so here the statement
//! is a closure. Inside it, reverse mode becomes forward mode over N lanes;
//! for the small N of one statement that costs a few multiplications per
//! operation, while every node the tape does not hold saves a store while
//! recording and a visit in the sweep (docs/performance.md, S2).
//!
//! Each operation of [`Local`] takes its value and local partials from the
//! same table the tape's primitives read, so a statement differentiates by
//! exactly the rules the operation-by-operation tape uses, and only the
//! order of the floating-point products differs. (One exception, for
//! `f32` only: `tanh` is the tensor tape's vectorisable form; see
//! [`Local::tanh`].)

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::ops::local;
use super::tape::{Tape, Var};
use super::trace::Op;
use crate::Real;

/// A number inside a [`Tape::statement`]: a value and its partial
/// derivatives with respect to the statement's `N` inputs.
///
/// Write the statement's expression with operators and the methods below,
/// or over [`crate::Scalar`] (for `f64`), so that the same function also runs
/// on plain numbers and on tape variables.
///
/// ```
/// use autograd_core::Tape;
/// let tape = Tape::new();
/// let (x, y) = (tape.var(2.0), tape.var(3.0));
/// let z = tape.statement([x, y], |[x, y]| {
///     let p = x * y + x.sin(); // a Local<f64, 2>
///     assert_eq!(p.partials()[1], 2.0); // d/dy so far
///     p
/// });
/// assert_eq!(tape.len(), 3); // two leaves and one node for the statement
/// let g = z.backward();
/// assert_eq!((g[x], g[y]), (3.0 + 2.0_f64.cos(), 2.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Local<T: Real, const N: usize> {
    value: T,
    partials: [T; N],
}

impl<T: Real, const N: usize> Local<T, N> {
    /// A number that does not depend on the inputs (partials 0).
    ///
    /// ```
    /// use autograd_core::scalar::Local;
    /// let c = Local::<f64, 2>::constant(1.5);
    /// assert_eq!((c.value(), c.partials()), (1.5, [0.0, 0.0]));
    /// ```
    pub fn constant(value: T) -> Self {
        Local {
            value,
            partials: [T::ZERO; N],
        }
    }

    /// The statement's input number `i`: partial 1 in lane `i`.
    pub(crate) fn input(value: T, i: usize) -> Self {
        let mut partials = [T::ZERO; N];
        partials[i] = T::ONE;
        Local { value, partials }
    }

    /// The value.
    ///
    /// ```
    /// use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f32, 1>::constant(2.0).value(), 2.0);
    /// ```
    pub fn value(&self) -> T {
        self.value
    }

    /// d(self)/d(input i) for each of the statement's inputs.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(3.0);
    /// tape.statement([x], |[x]| {
    ///     assert_eq!((x * x).partials(), [6.0]);
    ///     x
    /// });
    /// ```
    pub fn partials(&self) -> [T; N] {
        self.partials
    }

    /// A unary primitive: its value and derivative from the tape's table.
    #[inline(always)]
    fn apply1(self, op: Op) -> Self {
        let (value, [d, _]) = local(op, self.value, T::ZERO);
        Local {
            value,
            partials: self.partials.map(|p| p * d),
        }
    }

    /// A binary primitive: its value and partials from the tape's table.
    #[inline(always)]
    fn apply2(self, y: Self, op: Op) -> Self {
        let (value, [da, db]) = local(op, self.value, y.value);
        let mut partials = self.partials;
        for (p, q) in partials.iter_mut().zip(y.partials) {
            *p = *p * da + q * db;
        }
        Local { value, partials }
    }

    /// e^x.
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(0.0).exp().value(), 1.0);
    /// ```
    #[inline]
    pub fn exp(self) -> Self {
        self.apply1(Op::Exp)
    }

    /// Natural logarithm.
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(1.0).ln().value(), 0.0);
    /// ```
    #[inline]
    pub fn ln(self) -> Self {
        self.apply1(Op::Ln)
    }

    /// ln(1 + x).
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(0.0).ln_1p().value(), 0.0);
    /// ```
    #[inline]
    pub fn ln_1p(self) -> Self {
        self.apply1(Op::Ln1p)
    }

    /// Square root.
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(9.0).sqrt().value(), 3.0);
    /// ```
    #[inline]
    pub fn sqrt(self) -> Self {
        self.apply1(Op::Sqrt)
    }

    /// x^n for an integer n.
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(2.0).powi(3).value(), 8.0);
    /// ```
    #[inline]
    pub fn powi(self, n: i32) -> Self {
        self.apply1(Op::Powi(n))
    }

    /// x^c for a constant exponent.
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(4.0).pow_scalar(0.5).value(), 2.0);
    /// ```
    #[inline]
    pub fn pow_scalar(self, c: T) -> Self {
        self.apply1(Op::PowConst(c.to_f64()))
    }

    /// x^y with both differentiable.
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// let (x, y) = (Local::<f64, 1>::constant(2.0), Local::constant(3.0));
    /// assert_eq!(x.pow(y).value(), 8.0);
    /// ```
    #[inline]
    pub fn pow(self, y: Self) -> Self {
        self.apply2(y, Op::Pow)
    }

    /// sin x.
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(0.0).sin().value(), 0.0);
    /// ```
    #[inline]
    pub fn sin(self) -> Self {
        self.apply1(Op::Sin)
    }

    /// cos x.
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(0.0).cos().value(), 1.0);
    /// ```
    #[inline]
    pub fn cos(self) -> Self {
        self.apply1(Op::Cos)
    }

    /// tan x.
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(0.0).tan().value(), 0.0);
    /// ```
    #[inline]
    pub fn tan(self) -> Self {
        self.apply1(Op::Tan)
    }

    /// tanh x, computed with [`Real::tanh_fast`]: the exact `tanh` for
    /// `f64`; for `f32` the rational form the tensor tape uses (within
    /// 4.5e-7), so that an elementwise [`crate::TensorTape::statement`]
    /// computes what the tensor op `tanh` does, and its loops vectorise
    /// (with libm's `tanhf`, the `gelu/statement` bench took 10.3 ms
    /// instead of 4.5).
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(0.0).tanh().value(), 0.0);
    /// ```
    #[inline]
    pub fn tanh(self) -> Self {
        // d tanh = 1 - tanh², as the table's rule.
        let t = self.value.tanh_fast();
        let d = T::ONE - t * t;
        Local {
            value: t,
            partials: self.partials.map(|p| p * d),
        }
    }

    /// |x| (derivative 0 at 0, as [`Var::abs`]).
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// assert_eq!(Local::<f64, 1>::constant(-2.0).abs().value(), 2.0);
    /// ```
    #[inline]
    pub fn abs(self) -> Self {
        self.apply1(Op::Abs)
    }

    /// The larger of two numbers (each gets 1/2 at a tie, as [`Var::max`]).
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// let (a, b) = (Local::<f64, 1>::constant(1.0), Local::constant(2.0));
    /// assert_eq!(a.max(b).value(), 2.0);
    /// ```
    #[inline]
    pub fn max(self, y: Self) -> Self {
        self.apply2(y, Op::Max)
    }

    /// The smaller of two numbers (each gets 1/2 at a tie, as [`Var::min`]).
    ///
    /// ```
    /// # use autograd_core::scalar::Local;
    /// let (a, b) = (Local::<f64, 1>::constant(1.0), Local::constant(2.0));
    /// assert_eq!(a.min(b).value(), 1.0);
    /// ```
    #[inline]
    pub fn min(self, y: Self) -> Self {
        self.apply2(y, Op::Min)
    }
}

macro_rules! local_binary {
    ($tr:ident, $method:ident, $op:ident, $const_op:ident, $rconst_op:ident) => {
        impl<T: Real, const N: usize> $tr for Local<T, N> {
            type Output = Self;
            #[inline]
            fn $method(self, y: Self) -> Self {
                self.apply2(y, Op::$op)
            }
        }
        impl<T: Real, const N: usize> $tr<T> for Local<T, N> {
            type Output = Self;
            #[inline]
            fn $method(self, c: T) -> Self {
                self.apply1(Op::$const_op(c.to_f64()))
            }
        }
        impl<const N: usize> $tr<Local<f64, N>> for f64 {
            type Output = Local<f64, N>;
            #[inline]
            fn $method(self, x: Local<f64, N>) -> Local<f64, N> {
                local_rconst!(x, self, $op, $rconst_op)
            }
        }
        impl<const N: usize> $tr<Local<f32, N>> for f32 {
            type Output = Local<f32, N>;
            #[inline]
            fn $method(self, x: Local<f32, N>) -> Local<f32, N> {
                local_rconst!(x, self, $op, $rconst_op)
            }
        }
    };
}

// `c + x` and `c * x` are `x + c` and `x * c`, as on the tape; `c - x` and
// `c / x` have their own entries in the table.
macro_rules! local_rconst {
    ($x:expr, $c:expr, Add, $rop:ident) => {
        $x.apply1(Op::AddConst($c as f64))
    };
    ($x:expr, $c:expr, Mul, $rop:ident) => {
        $x.apply1(Op::MulConst($c as f64))
    };
    ($x:expr, $c:expr, $op:ident, $rop:ident) => {
        $x.apply1(Op::$rop($c as f64))
    };
}

local_binary!(Add, add, Add, AddConst, AddConst);
local_binary!(Sub, sub, Sub, SubConst, ConstSub);
local_binary!(Mul, mul, Mul, MulConst, MulConst);
local_binary!(Div, div, Div, DivConst, ConstDiv);

impl<T: Real, const N: usize> Neg for Local<T, N> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        self.apply1(Op::Neg)
    }
}

impl<const N: usize> crate::Scalar for Local<f64, N> {
    fn exp(self) -> Self {
        Local::exp(self)
    }
    fn ln(self) -> Self {
        Local::ln(self)
    }
    fn sqrt(self) -> Self {
        Local::sqrt(self)
    }
    fn sin(self) -> Self {
        Local::sin(self)
    }
    fn cos(self) -> Self {
        Local::cos(self)
    }
    fn tanh(self) -> Self {
        Local::tanh(self)
    }
    fn powf(self, p: f64) -> Self {
        self.pow_scalar(p)
    }
}

/// The operation name a statement's nodes carry on a traced tape.
pub(crate) const STATEMENT: &str = "statement";

impl<T: Real> Tape<T> {
    /// Records a whole expression of `N` variables as one node (for `N` up
    /// to 2; `N - 1` nodes for more), instead of one node per operation.
    ///
    /// `f` receives the inputs as [`Local`] numbers and computes the
    /// statement's value; each operation inside it carries the partials with
    /// respect to the inputs along, so the tape records only the result and
    /// its `N` partials. Gradients equal the operation-by-operation
    /// recording's up to rounding (the same derivative rules, multiplied in
    /// another order). What is inside a statement has no node: gradients
    /// with respect to its intermediates cannot be asked for, and a traced
    /// tape shows it as one `statement` row that [`Tape::replay`] refuses
    /// (it cannot re-run the closure), as it refuses custom primitives.
    ///
    /// Worth it when a statement has many operations and few inputs: the
    /// S2 workload's term (12 operations, 2 inputs) records 2 nodes instead
    /// of 12 (docs/performance.md).
    ///
    /// ```
    /// use autograd_core::{Scalar, Tape};
    ///
    /// // Written once over `Scalar`: runs on f64, on tape variables and on
    /// // a statement's `Local` numbers.
    /// fn term<S: Scalar>(a: S, b: S) -> S {
    ///     a.sin() * (a * a * -0.5).exp() + (a * b).tanh()
    /// }
    /// let tape = Tape::new();
    /// let (a, b) = (tape.var(0.3), tape.var(-1.2));
    /// let by_op = term(a, b).backward();
    /// let fused = tape.statement([a, b], |[a, b]| term(a, b));
    /// assert_eq!(fused.value(), term(0.3, -1.2));
    /// let g = fused.backward();
    /// assert!((g[a] - by_op[a]).abs() < 1e-15 && (g[b] - by_op[b]).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// If an input belongs to another tape.
    #[inline]
    #[track_caller]
    pub fn statement<'t, const N: usize>(
        &'t self,
        inputs: [Var<'t, T>; N],
        f: impl FnOnce([Local<T, N>; N]) -> Local<T, N>,
    ) -> Var<'t, T> {
        for x in &inputs {
            self.check_own(*x, STATEMENT);
        }
        let mut k = 0;
        let y = f(inputs.map(|x| {
            k += 1;
            Local::input(x.value(), k - 1)
        }));
        let op = Op::Custom(STATEMENT);
        let p = y.partials;
        match N {
            0 => self.constant(y.value),
            1 => self.push1(inputs[0].index, p[0], y.value, op),
            _ => {
                // More than two inputs: a chain of two-parent nodes, each
                // passing the one before on with partial 1.
                let mut node = self.push2(
                    [inputs[0].index, inputs[1].index],
                    [p[0], p[1]],
                    y.value,
                    op,
                );
                for i in 2..N {
                    node = self.push2([node.index, inputs[i].index], [T::ONE, p[i]], y.value, op);
                }
                node
            }
        }
    }
}
