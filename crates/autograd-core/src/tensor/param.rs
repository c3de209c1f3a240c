//! Trainable parameters: values that live outside any tape and enter each
//! recording as a leaf.

use std::cell::Cell;
use std::fmt;

use super::tape::{TensorGradients, TensorTape, TensorVar};
use super::value::Tensor;
use crate::Real;

/// A trainable tensor. It lives outside any tape; [`Parameter::var`] makes
/// it a leaf of the current recording (once per recording: later calls
/// return the same variable), and [`Parameter::grad`] finds its gradient in
/// that recording's [`TensorGradients`]. Optimizers write the value.
///
/// ```
/// use autograd_core::{Parameter, Tensor, TensorTape};
/// let mut w = Parameter::new(Tensor::from_vec(vec![1.0_f64, -2.0], &[2]));
/// let tape = TensorTape::new();
/// let loss = w.var(&tape).square().sum();
/// let grads = loss.backward();
/// let g = w.grad(&grads).unwrap().clone();
/// assert_eq!(g.to_vec(), vec![2.0, -4.0]);
/// drop(grads);
/// w.update(|value| *value = value.sub(&g.scale(0.5)));
/// assert_eq!(w.value().to_vec(), vec![0.0, 0.0]);
/// ```
pub struct Parameter<T: Real = f32> {
    value: Tensor<T>,
    /// The recording (tape id) and node this parameter is a leaf of, if any.
    binding: Cell<Option<(u64, u32)>>,
    /// Frozen: enters recordings as a constant (no gradient).
    frozen: bool,
}

impl<T: Real> Clone for Parameter<T> {
    fn clone(&self) -> Self {
        Parameter {
            value: self.value.clone(),
            binding: Cell::new(None),
            frozen: self.frozen,
        }
    }
}

impl<T: Real> fmt::Debug for Parameter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Parameter({:?})", self.value)
    }
}

impl<T: Real> Parameter<T> {
    /// A parameter with an initial value.
    ///
    /// ```
    /// let p = autograd_core::Parameter::new(autograd_core::Tensor::<f32>::zeros(&[3]));
    /// assert_eq!(p.value().shape(), &[3]);
    /// ```
    pub fn new(value: Tensor<T>) -> Self {
        Parameter {
            value,
            binding: Cell::new(None),
            frozen: false,
        }
    }

    /// Freezes (`false`) or unfreezes (`true`) the parameter, PyTorch's
    /// `requires_grad_`: a frozen parameter enters recordings as a constant,
    /// so no gradient is computed for it, [`Parameter::grad`] gives `None`
    /// and optimizers leave it alone. Fine-tuning freezes a pretrained body.
    ///
    /// ```
    /// use autograd_core::{Parameter, Tensor, TensorTape};
    /// let mut w = Parameter::new(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// w.set_requires_grad(false);
    /// let tape = TensorTape::new();
    /// let grads = w.var(&tape).square().sum().backward();
    /// assert!(w.grad(&grads).is_none());
    /// assert!(!w.requires_grad());
    /// ```
    pub fn set_requires_grad(&mut self, on: bool) {
        self.frozen = !on;
        self.binding.set(None);
    }

    /// False when frozen (see [`Parameter::set_requires_grad`]).
    ///
    /// ```
    /// assert!(autograd_core::Parameter::new(autograd_core::Tensor::<f32>::zeros(&[1])).requires_grad());
    /// ```
    pub fn requires_grad(&self) -> bool {
        !self.frozen
    }

    /// The current value.
    ///
    /// ```
    /// let p = autograd_core::Parameter::new(autograd_core::Tensor::scalar(1.5_f32));
    /// assert_eq!(p.value().item(), 1.5);
    /// ```
    pub fn value(&self) -> &Tensor<T> {
        &self.value
    }

    /// Changes the value (an optimizer step, loading weights). The tape
    /// binding is forgotten: the next [`Parameter::var`] makes a new leaf.
    ///
    /// ```
    /// use autograd_core::{Parameter, Tensor};
    /// let mut p = Parameter::new(Tensor::<f32>::ones(&[2]));
    /// p.update(|v| v.data_mut()[0] = 5.0);
    /// assert_eq!(p.value().to_vec(), vec![5.0, 1.0]);
    /// ```
    pub fn update<R>(&mut self, f: impl FnOnce(&mut Tensor<T>) -> R) -> R {
        self.binding.set(None);
        f(&mut self.value)
    }

    /// This parameter as a leaf of `tape`'s current recording, created on
    /// first use and reused after (so a layer applied twice shares one leaf
    /// and its gradient sums both uses).
    ///
    /// ```
    /// use autograd_core::{Parameter, Tensor, TensorTape};
    /// let w = Parameter::new(Tensor::from_vec(vec![3.0_f64], &[1]));
    /// let tape = TensorTape::new();
    /// let (a, b) = (w.var(&tape), w.var(&tape));
    /// assert_eq!(a.index(), b.index());
    /// let grads = a.mul(b).sum().backward();
    /// assert_eq!(w.grad(&grads).unwrap().item(), 6.0);
    /// ```
    pub fn var<'t>(&self, tape: &'t TensorTape<T>) -> TensorVar<'t, T> {
        if self.frozen || !tape.is_grad_enabled() {
            // Not bound: a later recording with gradients on makes a leaf.
            return tape.constant(self.value.clone());
        }
        let id = tape.id();
        if let Some((bound, index)) = self.binding.get()
            && bound == id
            && (index as usize) < tape.len()
        {
            return TensorVar { tape, index };
        }
        let v = tape.leaf(self.value.clone());
        self.binding.set(Some((id, v.index)));
        v
    }

    /// The leaf this parameter is on `tape`'s current recording, if
    /// [`Parameter::var`] made one there (and no update since): what a
    /// caller hands to [`TensorTape::grad_with`] to get the parameter's
    /// gradient as soon as the sweep completes it.
    ///
    /// ```
    /// use autograd_core::{Parameter, Tensor, TensorTape};
    /// let w = Parameter::new(Tensor::scalar(2.0_f64));
    /// let tape = TensorTape::new();
    /// assert!(w.leaf(&tape).is_none());
    /// let v = w.var(&tape);
    /// assert_eq!(w.leaf(&tape).map(|l| l.index()), Some(v.index()));
    /// ```
    pub fn leaf<'t>(&self, tape: &'t TensorTape<T>) -> Option<TensorVar<'t, T>> {
        let (bound, index) = self.binding.get()?;
        (!self.frozen && bound == tape.id() && (index as usize) < tape.len())
            .then_some(TensorVar { tape, index })
    }

    /// This parameter's gradient in `grads`, if `grads` come from the
    /// recording it was last made a leaf of and the output depends on it.
    ///
    /// ```
    /// use autograd_core::{Parameter, Tensor, TensorTape};
    /// let w = Parameter::new(Tensor::scalar(2.0_f64));
    /// let tape = TensorTape::new();
    /// let other = TensorTape::new();
    /// let grads = other.leaf(Tensor::scalar(1.0)).exp().backward();
    /// assert!(w.grad(&grads).is_none()); // never used on that tape
    /// let grads = w.var(&tape).square().backward();
    /// assert_eq!(w.grad(&grads).unwrap().item(), 4.0);
    /// ```
    pub fn grad<'g>(&self, grads: &'g TensorGradients<T>) -> Option<&'g Tensor<T>> {
        if self.frozen {
            return None;
        }
        let (id, index) = self.binding.get()?;
        grads.get_by_index(id, index)
    }
}
