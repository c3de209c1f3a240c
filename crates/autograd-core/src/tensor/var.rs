//! [`TensorVar`], the handle a recording is made through, and
//! [`TensorGradients`], what a sweep gives back.

use std::fmt;
use std::ops::Index;
use std::time::Instant;

use super::prim::Arg;
use super::shape::{Shape, fmt_shape};
use super::spare::SPARE_MAX;
use super::sweep::scalar_seed;
use super::tape::{Op, TensorTape};
use super::tools::{Anomaly, PROFILE};
use super::value::Tensor;
use crate::Real;

/// A recorded tensor variable: a small `Copy` handle to a node on a
/// [`TensorTape`].
///
/// Its methods record operations and return new variables; binary
/// operations broadcast like numpy's. `a + b`, `a * 2.0`, `1.0 - a` work too.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// let tape = TensorTape::new();
/// let x = tape.leaf(Tensor::from_vec(vec![1.0_f32, 2.0, 3.0], &[3]));
/// let y = (x * x + 1.0).sum();
/// assert_eq!(y.item(), 17.0);
/// assert_eq!(y.backward()[x].to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
#[derive(Clone, Copy)]
pub struct TensorVar<'t, T: Real = f32> {
    pub(crate) tape: &'t TensorTape<T>,
    pub(crate) index: u32,
}

impl<T: Real> fmt::Debug for TensorVar<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.tape.with_node(self.index, |n| {
            write!(
                f,
                "TensorVar {{ index: {}, op: {}, shape: {} }}",
                self.index,
                n.op.name(),
                fmt_shape(n.value.shape())
            )
        })
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// The tape this variable is recorded on.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f32>::zeros(&[1]));
    /// assert!(std::ptr::eq(x.tape(), &tape));
    /// ```
    pub fn tape(&self) -> &'t TensorTape<T> {
        self.tape
    }

    /// The node's position on the tape.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// assert_eq!(tape.leaf(Tensor::<f32>::zeros(&[1])).index(), 0);
    /// ```
    pub fn index(&self) -> usize {
        self.index as usize
    }

    /// The value (a cheap shared copy).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f32, 2.0], &[2]));
    /// assert_eq!(x.scale(2.0).value().to_vec(), vec![2.0, 4.0]);
    /// ```
    pub fn value(self) -> Tensor<T> {
        self.tape.with_node(self.index, |n| n.value.clone())
    }

    /// The shape.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// assert_eq!(tape.leaf(Tensor::<f32>::zeros(&[2, 3])).shape().as_slice(), &[2, 3]);
    /// ```
    pub fn shape(self) -> Shape {
        self.tape
            .with_node(self.index, |n| Shape::from_slice(n.value.shape()))
    }

    /// The single value of a one-element variable (a loss).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// assert_eq!(tape.leaf(Tensor::scalar(1.5_f32)).item(), 1.5);
    /// ```
    #[track_caller]
    pub fn item(self) -> T {
        self.tape.with_node(self.index, |n| n.value.item())
    }

    /// True when gradients flow into this variable (a leaf, or computed from
    /// one).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f32>::ones(&[1]));
    /// assert!(x.exp().requires_grad());
    /// assert!(!x.detach().exp().requires_grad());
    /// ```
    pub fn requires_grad(self) -> bool {
        self.tape.with_node(self.index, |n| n.requires_grad)
    }

    /// The same value as a constant: gradients stop here.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// // d/dx [x * stop(x)] = stop(x) = 3, not 2x = 6.
    /// assert_eq!(x.mul(x.detach()).sum().backward()[x].item(), 3.0);
    /// ```
    pub fn detach(self) -> Self {
        self.tape.constant(self.value())
    }

    /// Gradients of this scalar (one-element) variable with respect to every
    /// leaf of its tape.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let g = x.square().mean().backward();
    /// assert_eq!(g[x].to_vec(), vec![1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn backward(self) -> TensorGradients<T> {
        match self.try_backward() {
            Ok(g) => g,
            Err(anomaly) => panic!("{anomaly}"),
        }
    }

    /// As [`TensorVar::backward`], but with anomaly detection on, the first
    /// NaN or infinity of the recording or of this sweep is an `Err` (see
    /// [`TensorTape::set_anomaly_detection`]). Without it, always `Ok`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// tape.set_anomaly_detection(true);
    /// let x = tape.leaf(Tensor::from_vec(vec![2.0_f64], &[1]));
    /// assert!(x.ln().sum().try_backward().is_ok());
    /// ```
    #[track_caller]
    pub fn try_backward(self) -> Result<TensorGradients<T>, Box<Anomaly>> {
        let seed = scalar_seed("backward", self);
        if let Some(a) = self.tape.anomaly() {
            return Err(Box::new(a));
        }
        let g = self.tape.vjp(self, &seed);
        match self.tape.anomaly() {
            Some(a) => Err(Box::new(a)),
            None => Ok(g),
        }
    }

    #[track_caller]
    pub(crate) fn check_same_tape(self, op: &str, other: Self) {
        if !std::ptr::eq(self.tape, other.tape) {
            panic!(
                "{op}: the variables belong to different tapes (recordings #{} and #{})",
                self.tape.id(),
                other.tape.id()
            );
        }
    }

    /// Records a one-input operation whose value is `f(x)`.
    #[track_caller]
    pub(crate) fn record_unary(self, op: Op<T>, f: impl FnOnce(&Tensor<T>) -> Tensor<T>) -> Self {
        self.tape.record_unary(op, self.index, f)
    }

    /// Records a two-input operation whose value is `f(a, b)`.
    #[track_caller]
    pub(crate) fn record_binary(
        self,
        other: Self,
        name: &str,
        op: Op<T>,
        same: Option<u8>,
        f: impl FnOnce(&Tensor<T>, &Tensor<T>) -> Tensor<T>,
    ) -> Self {
        self.check_same_tape(name, other);
        let start = (self.tape.flags.get() & PROFILE != 0).then(Instant::now);
        let value = {
            let mut inner = self.tape.inner.borrow_mut();
            let inner = &mut *inner;
            let (a, b) = (
                &inner.nodes[self.index as usize].value,
                &inner.nodes[other.index as usize].value,
            );
            // Equal shapes (`same`): the output may be a recycled value,
            // written by replay's kernel (`spare.rs`).
            let n = a.numel();
            let spare = match (&op, same, self.tape.flags.get()) {
                (Op::Binary(_), Some(0b11), 0) if n < SPARE_MAX => inner.spare.take(n),
                _ => None,
            };
            match (spare, &op) {
                (Some(mut out), Op::Binary(bop)) => {
                    let d = out.reuse_like(a);
                    bop.zip_into(Arg::Full(a.data()), Arg::Full(b.data()), d);
                    out
                }
                _ => f(a, b),
            }
        };
        if let Some(start) = start {
            // The value's time; `record` counts the call.
            self.tape.tools.borrow_mut().row(op.name()).forward += start.elapsed();
        }
        self.tape.record_shaped(op, &[self, other], value, same)
    }

    /// Records an operation of several inputs whose value is computed.
    #[track_caller]
    pub(crate) fn record_nary(
        self,
        inputs: &[Self],
        name: &str,
        op: Op<T>,
        value: Tensor<T>,
    ) -> Self {
        for &x in inputs {
            self.check_same_tape(name, x);
        }
        self.tape.record(op, inputs, value)
    }
}

/// Gradients from one sweep of a [`TensorTape`], keyed by variable.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// let tape = TensorTape::new();
/// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
/// let g = x.exp().sum().backward();
/// assert_eq!(g.get(x).unwrap().shape(), &[2]);
/// assert_eq!(g[x].get(&[0]), 1.0_f64.exp());
/// ```
pub struct TensorGradients<T: Real = f32> {
    pub(crate) tape_id: u64,
    /// (node index, gradient), by increasing index.
    pub(crate) grads: Vec<(u32, Option<Tensor<T>>)>,
}

impl<T: Real> fmt::Debug for TensorGradients<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.grads
                    .iter()
                    .filter_map(|(i, g)| g.as_ref().map(|g| (i, g))),
            )
            .finish()
    }
}

impl<T: Real> TensorGradients<T> {
    /// The gradient of a leaf, or `None` if the output does not depend on it
    /// (or it is not a leaf). Panics if the variable is from another
    /// recording.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::scalar(1.0_f32));
    /// let unused = tape.leaf(Tensor::scalar(1.0_f32));
    /// let g = x.exp().backward();
    /// assert!(g.get(x).is_some() && g.get(unused).is_none());
    /// ```
    #[track_caller]
    pub fn get(&self, v: TensorVar<'_, T>) -> Option<&Tensor<T>> {
        if v.tape.id() != self.tape_id {
            panic!(
                "gradients: variable {} is on tape recording #{}, these gradients come from #{}",
                v.index,
                v.tape.id(),
                self.tape_id
            );
        }
        let k = self
            .grads
            .binary_search_by_key(&v.index, |(i, _)| *i)
            .ok()?;
        self.grads[k].1.as_ref()
    }

    /// The gradient of node `index` of recording `tape_id`, if kept.
    pub(crate) fn get_by_index(&self, tape_id: u64, index: u32) -> Option<&Tensor<T>> {
        if tape_id != self.tape_id {
            return None;
        }
        let k = self.grads.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        self.grads[k].1.as_ref()
    }

    /// The gradient of `v` as a tensor of its shape; zeros where the output
    /// does not depend on it.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::scalar(1.0_f32));
    /// let unused = tape.leaf(Tensor::<f32>::ones(&[2]));
    /// assert_eq!(x.exp().backward().wrt(unused).to_vec(), vec![0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn wrt(&self, v: TensorVar<'_, T>) -> Tensor<T> {
        self.get(v)
            .cloned()
            .unwrap_or_else(|| Tensor::zeros(&v.shape()))
    }

    /// Takes the gradient of `v` out (no copy), leaving `None`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::scalar(2.0_f32));
    /// let mut g = x.square().backward();
    /// assert_eq!(g.take(x).unwrap().item(), 4.0);
    /// assert!(g.take(x).is_none());
    /// ```
    #[track_caller]
    pub fn take(&mut self, v: TensorVar<'_, T>) -> Option<Tensor<T>> {
        self.get(v)?;
        let k = self
            .grads
            .binary_search_by_key(&v.index, |(i, _)| *i)
            .ok()?;
        self.grads[k].1.take()
    }
}

impl<T: Real> Index<TensorVar<'_, T>> for TensorGradients<T> {
    type Output = Tensor<T>;
    /// The gradient of a leaf the output depends on; panics otherwise (use
    /// [`TensorGradients::wrt`] for zeros instead).
    #[track_caller]
    fn index(&self, v: TensorVar<'_, T>) -> &Tensor<T> {
        match self.get(v) {
            Some(g) => g,
            None => panic!(
                "gradients: variable {} has no gradient (not a leaf, or the output does not depend on it); wrt() gives zeros",
                v.index
            ),
        }
    }
}
