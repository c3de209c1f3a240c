//! The [`Module`] trait, named parameters and [`Sequential`].

use std::fmt;

use autograd_core::{Parameter, Real, Tensor, TensorGradients, TensorVar};
use indexmap::IndexMap;

/// Parameter gradients by name, as an optimizer consumes them (and as
/// gradient clipping edits them).
pub type ParamGrads<T = f32> = IndexMap<String, Tensor<T>>;

/// A layer or a model as a set of named parameters (and buffers): what
/// optimizers update, what `state_dict` saves, what `train()`/`eval()`
/// switch. The forward pass is a separate trait, [`Forward`], so a model
/// can take any input (token ids, several tensors) and give any output.
///
/// Write `#[derive(Module)]` on a struct (see [`derive@crate::Module`]) and its
/// fields are visited under their names, as PyTorch names them. By hand,
/// implement the two parameter visitors, calling each child with
/// [`join`]`(prefix, "child")`:
///
/// ```
/// use autograd_core::{Parameter, Tensor, TensorTape, TensorVar};
/// use autograd_nn::{join, Forward, Linear, Module};
/// use rand::SeedableRng;
///
/// struct TwoLayers {
///     first: Linear,
///     second: Linear,
/// }
///
/// impl Module for TwoLayers {
///     fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter)) {
///         self.first.visit_parameters(&join(prefix, "first"), f);
///         self.second.visit_parameters(&join(prefix, "second"), f);
///     }
///     fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter)) {
///         self.first.visit_parameters_mut(&join(prefix, "first"), f);
///         self.second.visit_parameters_mut(&join(prefix, "second"), f);
///     }
/// }
///
/// impl<'t> Forward<TensorVar<'t>> for TwoLayers {
///     type Output = TensorVar<'t>;
///     fn forward(&self, x: TensorVar<'t>) -> TensorVar<'t> {
///         self.second.forward(self.first.forward(x).tanh())
///     }
/// }
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = TwoLayers { first: Linear::new(3, 4, &mut rng), second: Linear::new(4, 2, &mut rng) };
/// let tape = TensorTape::new();
/// let loss = model.forward(tape.constant(Tensor::ones(&[5, 3]))).square().mean();
/// let grads = model.gradients(&loss.backward());
/// assert_eq!(grads.keys().collect::<Vec<_>>(), ["first.weight", "first.bias", "second.weight", "second.bias"]);
/// assert_eq!(grads["second.weight"].shape(), &[2, 4]);
/// ```
pub trait Module<T: Real = f32> {
    /// Calls `f` with each parameter's full name (`prefix` + its own dotted
    /// name, as PyTorch's `named_parameters`), in a fixed order.
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>));

    /// As [`Module::visit_parameters`], mutably (optimizers, loading).
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>));

    /// Calls `f` with each buffer: state that is saved and loaded with the
    /// parameters but not trained (BatchNorm's running statistics). None by
    /// default.
    fn visit_buffers(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor<T>)) {}

    /// As [`Module::visit_buffers`], mutably (loading).
    fn visit_buffers_mut(&mut self, _prefix: &str, _f: &mut dyn FnMut(&str, &mut Tensor<T>)) {}

    /// Switches training behaviour (dropout, batch statistics) on or off.
    /// Layers without any ignore it.
    fn set_training(&mut self, _training: bool) {}

    /// Training mode (PyTorch's `model.train()`).
    fn train(&mut self) {
        self.set_training(true)
    }

    /// Evaluation mode (PyTorch's `model.eval()`).
    fn eval(&mut self) {
        self.set_training(false)
    }

    /// The parameters' and buffers' values by name: PyTorch's `state_dict`
    /// (parameters first, then buffers, each in visiting order).
    fn state_dict(&self) -> IndexMap<String, Tensor<T>> {
        let mut out = IndexMap::new();
        self.visit_parameters("", &mut |name, p| {
            out.insert(name.to_string(), p.value().clone());
        });
        self.visit_buffers("", &mut |name, b| {
            out.insert(name.to_string(), b.clone());
        });
        out
    }

    /// Replaces every parameter's and buffer's value from `state` (names
    /// and shapes must match exactly; nothing changes unless all do).
    fn load_state_dict(&mut self, state: &IndexMap<String, Tensor<T>>) -> Result<(), LoadError> {
        let mut problems = Vec::new();
        let mut known = Vec::new();
        let mut check = |name: &str, shape: &[usize]| {
            known.push(name.to_string());
            match state.get(name) {
                None => problems.push(format!("missing {name}")),
                Some(t) if t.shape() != shape => problems.push(format!(
                    "{name}: shape {:?} in the state, {shape:?} in the model",
                    t.shape(),
                )),
                Some(_) => {}
            }
        };
        self.visit_parameters("", &mut |name, p| check(name, p.value().shape()));
        self.visit_buffers("", &mut |name, b| check(name, b.shape()));
        for name in state.keys().filter(|k| !known.contains(k)) {
            problems.push(format!("unexpected {name}"));
        }
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }
        self.visit_parameters_mut("", &mut |name, p| {
            let value = state[name].clone();
            p.update(|v| *v = value);
        });
        self.visit_buffers_mut("", &mut |name, b| *b = state[name].clone());
        Ok(())
    }

    /// The number of parameter values (trainable or frozen).
    fn num_parameters(&self) -> usize {
        let mut n = 0;
        self.visit_parameters("", &mut |_, p| n += p.value().numel());
        n
    }

    /// The number of parameter tensors (what [`Module::visit_parameters`]
    /// visits): the length of a positional gradient list.
    fn num_parameter_tensors(&self) -> usize {
        let mut n = 0;
        self.visit_parameters("", &mut |_, _| n += 1);
        n
    }

    /// Freezes every parameter (PyTorch's `requires_grad_(False)` on each):
    /// they enter recordings as constants, get no gradient, and optimizers
    /// skip them. Freeze a pretrained body, then unfreeze a head.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use autograd_nn::{mlp, Activation, Forward, Module};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut model = mlp::<f32, _>(&[3, 4, 2], Activation::Relu, &mut rng);
    /// model.freeze();
    /// model.visit_parameters_mut("", &mut |name, p| {
    ///     if name.starts_with("2.") {
    ///         p.set_requires_grad(true); // train the last layer only
    ///     }
    /// });
    /// let tape = TensorTape::new();
    /// let loss = model.forward(tape.constant(Tensor::ones(&[1, 3]))).sum();
    /// let grads = model.gradients(&loss.backward());
    /// assert_eq!(grads.keys().collect::<Vec<_>>(), ["2.weight", "2.bias"]);
    /// ```
    fn freeze(&mut self) {
        self.visit_parameters_mut("", &mut |_, p| p.set_requires_grad(false));
    }

    /// Unfreezes every parameter (see [`Module::freeze`]).
    fn unfreeze(&mut self) {
        self.visit_parameters_mut("", &mut |_, p| p.set_requires_grad(true));
    }

    /// Each trainable parameter's gradient from `grads`, by name; a
    /// parameter the loss does not depend on gets zeros, a frozen one is
    /// left out (so optimizers skip it).
    fn gradients(&self, grads: &TensorGradients<T>) -> ParamGrads<T> {
        let mut out = IndexMap::new();
        self.visit_parameters("", &mut |name, p| {
            if !p.requires_grad() {
                return;
            }
            let g = p
                .grad(grads)
                .cloned()
                .unwrap_or_else(|| Tensor::zeros(p.value().shape()));
            out.insert(name.to_string(), g);
        });
        out
    }
}

/// The forward pass of a layer or model for one kind of input. Most layers
/// implement `Forward<TensorVar<'t, T>>` (a tensor in, a tensor out: what
/// [`Sequential`] chains); a model may take token ids, several tensors
/// (a tuple) or a struct of its own, and return anything.
///
/// ```
/// use autograd_core::{Tensor, TensorTape, TensorVar};
/// use autograd_nn::{Forward, Linear};
/// use rand::SeedableRng;
///
/// /// Two inputs: a gated sum.
/// struct Gate(Linear);
/// impl<'t> Forward<(TensorVar<'t>, TensorVar<'t>)> for Gate {
///     type Output = TensorVar<'t>;
///     fn forward(&self, (a, b): (TensorVar<'t>, TensorVar<'t>)) -> TensorVar<'t> {
///         let g = self.0.forward(a).sigmoid();
///         g.mul(a).add(g.neg().add_scalar(1.0).mul(b))
///     }
/// }
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let gate = Gate(Linear::new(2, 2, &mut rng));
/// let tape = TensorTape::new();
/// let y = gate.forward((tape.constant(Tensor::ones(&[1, 2])), tape.constant(Tensor::zeros(&[1, 2]))));
/// assert_eq!(y.shape().as_slice(), &[1, 2]);
/// ```
pub trait Forward<I> {
    /// What the forward pass gives.
    type Output;
    /// Records the forward pass of `input` (on its tape).
    fn forward(&self, input: I) -> Self::Output;
}

/// A module whose forward pass takes one tensor and gives one, for any tape:
/// what [`Sequential`] holds. Every such [`Module`] + [`Forward`] is one.
///
/// ```
/// use autograd_nn::{Layer, Linear, Relu};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layers: Vec<Box<dyn Layer<f32>>> = vec![Box::new(Linear::new(2, 3, &mut rng)), Box::new(Relu)];
/// assert_eq!(layers.len(), 2);
/// ```
pub trait Layer<T: Real = f32>:
    Module<T> + for<'t> Forward<TensorVar<'t, T>, Output = TensorVar<'t, T>>
{
}

impl<T: Real, L> Layer<T> for L where
    L: Module<T> + for<'t> Forward<TensorVar<'t, T>, Output = TensorVar<'t, T>>
{
}

/// A buffer field of a derived [`Module`] (`#[module(buffer)]`): a
/// `Tensor`, or an `Option` of one. Not for use by hand.
///
/// ```
/// use autograd_core::Tensor;
/// use autograd_nn::BufferField;
/// let mut seen = Vec::new();
/// BufferField::<f32>::visit(&Some(Tensor::<f32>::zeros(&[2])), "running_mean", &mut |n, _| seen.push(n.to_string()));
/// assert_eq!(seen, ["running_mean"]);
/// ```
pub trait BufferField<T: Real> {
    /// Calls `f` with the buffer under `name`.
    fn visit(&self, name: &str, f: &mut dyn FnMut(&str, &Tensor<T>));
    /// As [`BufferField::visit`], mutably.
    fn visit_mut(&mut self, name: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>));
}

impl<T: Real> BufferField<T> for Tensor<T> {
    fn visit(&self, name: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
        f(name, self)
    }
    fn visit_mut(&mut self, name: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
        f(name, self)
    }
}

impl<T: Real> BufferField<T> for Option<Tensor<T>> {
    fn visit(&self, name: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
        if let Some(t) = self {
            f(name, t)
        }
    }
    fn visit_mut(&mut self, name: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
        if let Some(t) = self {
            f(name, t)
        }
    }
}

/// The body of a `Module` implementation that passes every method on to
/// a child: `$shared` and `$mutable` reach it from `$this` (the receiver).
macro_rules! delegate_module {
    ($this:ident => $shared:expr, $mutable:expr) => {
        fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
            let $this = self;
            $shared.visit_parameters(prefix, f)
        }
        fn visit_parameters_mut(
            &mut self,
            prefix: &str,
            f: &mut dyn FnMut(&str, &mut Parameter<T>),
        ) {
            let $this = self;
            $mutable.visit_parameters_mut(prefix, f)
        }
        fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
            let $this = self;
            $shared.visit_buffers(prefix, f)
        }
        fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
            let $this = self;
            $mutable.visit_buffers_mut(prefix, f)
        }
        fn set_training(&mut self, training: bool) {
            let $this = self;
            $mutable.set_training(training)
        }
    };
}

/// A parameter is a module of one parameter, named by the prefix alone (so
/// a derived struct's `weight: Parameter` field is named `weight`).
impl<T: Real> Module<T> for Parameter<T> {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
        f(prefix, self)
    }
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>)) {
        f(prefix, self)
    }
}

/// Items named by position (`blocks.0.weight`), as PyTorch's `ModuleList`.
impl<T: Real, M: Module<T>> Module<T> for Vec<M> {
    delegate_module!(m => m.as_slice(), m.as_mut_slice());
}

/// As `Vec`: items named by position.
impl<T: Real, M: Module<T>, const N: usize> Module<T> for [M; N] {
    delegate_module!(m => m.as_slice(), m.as_mut_slice());
}

/// As `Vec`: items named by position.
impl<T: Real, M: Module<T>> Module<T> for [M] {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
        for (i, m) in self.iter().enumerate() {
            m.visit_parameters(&join(prefix, &i.to_string()), f);
        }
    }
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>)) {
        for (i, m) in self.iter_mut().enumerate() {
            m.visit_parameters_mut(&join(prefix, &i.to_string()), f);
        }
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
        for (i, m) in self.iter().enumerate() {
            m.visit_buffers(&join(prefix, &i.to_string()), f);
        }
    }
    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
        for (i, m) in self.iter_mut().enumerate() {
            m.visit_buffers_mut(&join(prefix, &i.to_string()), f);
        }
    }
    fn set_training(&mut self, training: bool) {
        for m in self {
            m.set_training(training);
        }
    }
}

/// An optional child: visited when present, under the field's own name.
impl<T: Real, M: Module<T>> Module<T> for Option<M> {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
        if let Some(m) = self {
            m.visit_parameters(prefix, f)
        }
    }
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>)) {
        if let Some(m) = self {
            m.visit_parameters_mut(prefix, f)
        }
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
        if let Some(m) = self {
            m.visit_buffers(prefix, f)
        }
    }
    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
        if let Some(m) = self {
            m.visit_buffers_mut(prefix, f)
        }
    }
    fn set_training(&mut self, training: bool) {
        if let Some(m) = self {
            m.set_training(training)
        }
    }
}

/// A boxed child (a `Box<dyn Layer>` among them), visited as the child.
impl<T: Real, M: Module<T> + ?Sized> Module<T> for Box<M> {
    delegate_module!(m => (**m), (**m));
}

/// A boxed layer runs the layer.
impl<I, L: Forward<I> + ?Sized> Forward<I> for Box<L> {
    type Output = L::Output;
    fn forward(&self, input: I) -> L::Output {
        (**self).forward(input)
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

thread_local! {
    /// The names of the modules whose forward pass is running, outermost
    /// first (see [`named_scope`]).
    static SCOPE: std::cell::RefCell<Vec<Scope>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One level of the scope stack: a `Sequential` position costs no
/// allocation (it is pushed on every forward pass of every layer).
enum Scope {
    Position(usize),
    Name(String),
}

/// Runs `f` under `scope` (see [`named_scope`]).
fn in_scope<R>(scope: Scope, f: impl FnOnce() -> R) -> R {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            SCOPE.with(|s| s.borrow_mut().pop());
        }
    }
    SCOPE.with(|s| s.borrow_mut().push(scope));
    let _leave = Leave;
    f()
}

/// Runs `f` (a child's forward pass) under `name`, so an error a layer
/// raises inside says where it sits: `Linear(512 -> 10) at 6: ...`, or
/// `at blocks.1.fc1` for nested scopes. [`Sequential`] names each layer by
/// its position; a hand-written model can name its children the same way.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{named_scope, Forward, Linear};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let fc = Linear::<f32>::new(4, 2, &mut rng);
/// let tape = TensorTape::new();
/// let x = tape.constant(Tensor::zeros(&[3, 5]));
/// let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     named_scope("head", || fc.forward(x));
/// }))
/// .unwrap_err();
/// let msg = err.downcast_ref::<String>().unwrap();
/// assert!(msg.starts_with("Linear(4 -> 2) at head: "), "{msg}");
/// ```
pub fn named_scope<R>(name: &str, f: impl FnOnce() -> R) -> R {
    in_scope(Scope::Name(name.to_string()), f)
}

/// ` at <dotted path>` inside [`named_scope`]s, empty outside: for layers'
/// error messages.
pub(crate) fn location() -> String {
    SCOPE.with(|s| {
        let s = s.borrow();
        if s.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = s
            .iter()
            .map(|p| match p {
                Scope::Position(i) => i.to_string(),
                Scope::Name(n) => n.clone(),
            })
            .collect();
        format!(" at {}", parts.join("."))
    })
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
/// use autograd_nn::{Forward, Linear, Module, Relu, Sequential};
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
    layers: Vec<Box<dyn Layer<T>>>,
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
    pub fn push(mut self, layer: impl Layer<T> + 'static) -> Self {
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

impl<'t, T: Real> Forward<TensorVar<'t, T>> for Sequential<T> {
    type Output = TensorVar<'t, T>;
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        self.layers.iter().enumerate().fold(x, |h, (i, layer)| {
            in_scope(Scope::Position(i), || layer.forward(h))
        })
    }
}

impl<T: Real> Module<T> for Sequential<T> {
    delegate_module!(m => m.layers, m.layers);
}
