//! The [`Module`] trait, named parameters and [`Sequential`].

use std::fmt;

use autograd_core::{Parameter, Real, Tensor, TensorGradients, TensorVar};
use indexmap::IndexMap;

/// Parameter gradients by name, as an optimizer consumes them (and as
/// gradient clipping edits them).
pub type ParamGrads<T = f32> = IndexMap<String, Tensor<T>>;

/// A layer or a model: a forward pass recorded on the input's tape, and
/// named parameters.
///
/// Parameters live outside any tape (in [`Parameter`]s); each forward pass
/// makes them leaves of the input's recording, so a training step is: record
/// a forward pass, sweep, collect [`Module::gradients`], let an optimizer
/// update the parameters.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Linear, Module};
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = Linear::<f32>::new(3, 2, &mut rng);
/// let tape = TensorTape::new();
/// let x = tape.constant(Tensor::ones(&[4, 3]));
/// let loss = layer.forward(x).square().mean();
/// let grads = layer.gradients(&loss.backward());
/// assert_eq!(grads.keys().collect::<Vec<_>>(), ["weight", "bias"]);
/// assert_eq!(grads["weight"].shape(), &[2, 3]);
/// ```
pub trait Module<T: Real = f32> {
    /// Records the forward pass of `x` on its tape.
    fn forward<'t>(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T>;

    /// Calls `f` with each parameter's full name (`prefix` + its own dotted
    /// name, as PyTorch's `named_parameters`), in a fixed order.
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>));

    /// As [`Module::visit_parameters`], mutably (optimizers, loading).
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>));

    /// Switches training behaviour (dropout) on or off. Layers without any
    /// ignore it.
    fn set_training(&mut self, _training: bool) {}

    /// Training mode (PyTorch's `model.train()`).
    fn train(&mut self) {
        self.set_training(true)
    }

    /// Evaluation mode (PyTorch's `model.eval()`).
    fn eval(&mut self) {
        self.set_training(false)
    }

    /// The parameters' values by name: PyTorch's `state_dict`.
    fn state_dict(&self) -> IndexMap<String, Tensor<T>> {
        let mut out = IndexMap::new();
        self.visit_parameters("", &mut |name, p| {
            out.insert(name.to_string(), p.value().clone());
        });
        out
    }

    /// Replaces every parameter's value from `state` (names and shapes must
    /// match exactly; nothing changes unless all do).
    fn load_state_dict(&mut self, state: &IndexMap<String, Tensor<T>>) -> Result<(), LoadError> {
        let mut problems = Vec::new();
        let mut seen = 0;
        self.visit_parameters("", &mut |name, p| match state.get(name) {
            None => problems.push(format!("missing {name}")),
            Some(t) if t.shape() != p.value().shape() => problems.push(format!(
                "{name}: shape {:?} in the state, {:?} in the model",
                t.shape(),
                p.value().shape()
            )),
            Some(_) => seen += 1,
        });
        if seen != state.len() {
            let mut known = Vec::new();
            self.visit_parameters("", &mut |name, _| known.push(name.to_string()));
            for name in state.keys().filter(|k| !known.contains(k)) {
                problems.push(format!("unexpected {name}"));
            }
        }
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }
        self.visit_parameters_mut("", &mut |name, p| {
            let value = state[name].clone();
            p.update(|v| *v = value);
        });
        Ok(())
    }

    /// The number of trainable values.
    fn num_parameters(&self) -> usize {
        let mut n = 0;
        self.visit_parameters("", &mut |_, p| n += p.value().numel());
        n
    }

    /// Each parameter's gradient from `grads`, by name; a parameter the
    /// loss does not depend on gets zeros.
    fn gradients(&self, grads: &TensorGradients<T>) -> ParamGrads<T> {
        let mut out = IndexMap::new();
        self.visit_parameters("", &mut |name, p| {
            let g = p
                .grad(grads)
                .cloned()
                .unwrap_or_else(|| Tensor::zeros(p.value().shape()));
            out.insert(name.to_string(), g);
        });
        out
    }
}

/// Joins a prefix and a name with a dot (`"0" + "weight"` is `"0.weight"`,
/// `"" + "weight"` is `"weight"`): the helper a hand-written
/// [`Module::visit_parameters`] calls for each child, so names come out as
/// PyTorch's `named_parameters` spells them.
///
/// ```
/// use autograd_nn::join;
/// assert_eq!(join("", "emb"), "emb");
/// assert_eq!(join("blocks.0", "ln1"), "blocks.0.ln1");
/// ```
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A state dict that does not fit the model: every mismatch, listed.
///
/// ```
/// use autograd_nn::{Linear, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut a = Linear::<f32>::new(2, 3, &mut rng);
/// let b = Linear::<f32>::new(2, 4, &mut rng);
/// let err = a.load_state_dict(&b.state_dict()).unwrap_err();
/// assert!(err.to_string().contains("weight: shape [4, 2] in the state, [3, 2] in the model"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// One line per mismatch.
    pub problems: Vec<String>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "state dict does not fit the model: {}",
            self.problems.join("; ")
        )
    }
}

impl std::error::Error for LoadError {}

/// Modules applied in order; parameters are named by position (`0.weight`,
/// `2.bias`), as in PyTorch's `nn.Sequential`.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Linear, Module, Relu, Sequential};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = Sequential::<f32>::new()
///     .push(Linear::new(4, 8, &mut rng))
///     .push(Relu)
///     .push(Linear::new(8, 2, &mut rng));
/// let names: Vec<String> = model.state_dict().keys().cloned().collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// let tape = TensorTape::new();
/// assert_eq!(model.forward(tape.constant(Tensor::ones(&[5, 4]))).shape().as_slice(), &[5, 2]);
/// ```
pub struct Sequential<T: Real = f32> {
    layers: Vec<Box<dyn Module<T>>>,
}

impl<T: Real> Default for Sequential<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> Sequential<T> {
    /// No layers yet.
    ///
    /// ```
    /// assert!(autograd_nn::Sequential::<f32>::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// Appends a layer.
    ///
    /// ```
    /// let s = autograd_nn::Sequential::<f32>::new().push(autograd_nn::Relu);
    /// assert_eq!(s.len(), 1);
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub fn push(mut self, layer: impl Module<T> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// The number of layers.
    ///
    /// ```
    /// assert_eq!(autograd_nn::Sequential::<f32>::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True without layers.
    ///
    /// ```
    /// assert!(autograd_nn::Sequential::<f64>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl<T: Real> Module<T> for Sequential<T> {
    fn forward<'t>(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        self.layers.iter().fold(x, |h, layer| layer.forward(h))
    }

    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_parameters(&join(prefix, &i.to_string()), f);
        }
    }

    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_parameters_mut(&join(prefix, &i.to_string()), f);
        }
    }

    fn set_training(&mut self, training: bool) {
        for layer in &mut self.layers {
            layer.set_training(training);
        }
    }
}
