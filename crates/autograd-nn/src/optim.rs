//! Optimizers, learning-rate schedules and gradient clipping. The update
//! rules are PyTorch's documented ones, with the same parameter names.

use autograd_core::{Parameter, Real};
use indexmap::IndexMap;

use autograd_core::Tensor;

use crate::module::{LoadError, Module, ParamGrads};
use crate::weights::WeightsError;

/// Updates a model's parameters from their gradients.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Forward, Linear, Module, Optimizer, Sgd};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut model = Linear::<f64>::new(2, 1, &mut rng);
/// let mut opt = Sgd::new(0.1);
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]);
/// let mut last = f64::INFINITY;
/// for _ in 0..20 {
///     let tape = TensorTape::new();
///     let loss = model.forward(tape.constant(x.clone())).square().sum();
///     let grads = model.gradients(&loss.backward());
///     assert!(loss.item() <= last);
///     last = loss.item();
///     opt.step(&mut model, &grads);
/// }
/// assert!(last < 1e-3);
/// ```
pub trait Optimizer<T: Real = f32> {
    /// One update of every trainable parameter that has a gradient in
    /// `grads`: a name map ([`Module::gradients`]) or a `Vec` in the
    /// model's parameter order (what [`TensorTape::grad_into`] fills; see
    /// [`GradSource`]).
    ///
    /// [`TensorTape::grad_into`]: autograd_core::TensorTape::grad_into
    fn step(&mut self, model: &mut dyn Module<T>, grads: &dyn GradSource<T>);
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (schedules call this).
    fn set_lr(&mut self, lr: f64);
    /// The number of steps taken (saved in the state, so a schedule driven
    /// by it resumes where it stopped: `opt.set_lr(s.lr(opt.steps()))`).
    fn steps(&self) -> usize;
    /// Everything the next steps depend on: hyperparameters, the step
    /// count, per-parameter buffers (PyTorch's `optimizer.state_dict()`).
    /// Save it with [`OptimizerState::save`] beside the weights; loading
    /// both resumes training bit for bit.
    fn state_dict(&self) -> OptimizerState<T>;
    /// Restores a state from [`Optimizer::state_dict`] (hyperparameters
    /// included, as PyTorch does). Refused, with nothing changed, for
    /// another optimizer's state or a missing value.
    fn load_state_dict(&mut self, state: &OptimizerState<T>) -> Result<(), LoadError>;
}

/// Where an optimizer finds each parameter's gradient: by name in a
/// [`ParamGrads`] map, or by position in a `Vec` holding one gradient per
/// parameter in [`Module::visit_parameters`] order (the `inputs` order a
/// replay loop gives [`TensorTape::grad_into`], so no map is rebuilt per
/// step).
///
/// [`TensorTape::grad_into`]: autograd_core::TensorTape::grad_into
///
/// ```
/// use autograd_core::{Parameter, Tensor, TensorTape};
/// use autograd_nn::{Forward, Linear, Module, Optimizer, Sgd};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut model = Linear::<f64>::new(2, 1, &mut rng);
/// let mut opt = Sgd::new(0.1);
/// let tape = TensorTape::new();
/// let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2]));
/// let loss = model.forward(x).square().sum();
/// let mut params = Vec::new();
/// model.visit_parameters("", &mut |_, p| params.push(p.var(&tape)));
/// let mut grads = Vec::new();
/// let before = loss.item();
/// for _ in 0..5 {
///     tape.grad_into(loss, &params, &mut grads);
///     opt.step(&mut model, &grads);
///     let values: Vec<_> = params.iter().zip([&model.weight, model.bias.as_ref().unwrap()])
///         .map(|(v, p)| (*v, p.value().clone())).collect();
///     tape.replay(&values).unwrap();
/// }
/// assert!(loss.item() < 0.1 * before);
/// ```
pub trait GradSource<T: Real> {
    /// The gradient of the `index`-th parameter (in visiting order), named
    /// `name`, if there is one.
    fn gradient(&self, index: usize, name: &str) -> Option<&Tensor<T>>;
    /// How many gradients a positional source holds (`None` for a map).
    fn positional_len(&self) -> Option<usize> {
        None
    }
}

impl<T: Real> GradSource<T> for ParamGrads<T> {
    fn gradient(&self, _: usize, name: &str) -> Option<&Tensor<T>> {
        self.get(name)
    }
}

impl<T: Real> GradSource<T> for Vec<Tensor<T>> {
    fn gradient(&self, index: usize, _: &str) -> Option<&Tensor<T>> {
        self.get(index)
    }
    fn positional_len(&self) -> Option<usize> {
        Some(self.len())
    }
}

/// Applies `f(name, value, grad)` to each trainable parameter with a
/// gradient.
#[track_caller]
fn for_each_param<T: Real>(
    model: &mut dyn Module<T>,
    grads: &dyn GradSource<T>,
    mut f: impl FnMut(&str, &mut [T], &[T]),
) {
    if let Some(n) = grads.positional_len() {
        let count = model.num_parameter_tensors();
        assert_eq!(
            n, count,
            "optimizer: {n} gradients given by position, the model has {count} parameters"
        );
    }
    let mut index = 0;
    model.visit_parameters_mut("", &mut |name, p: &mut Parameter<T>| {
        let g = grads.gradient(index, name);
        index += 1;
        let Some(g) = g else { return };
        if !p.requires_grad() {
            return;
        }
        assert_eq!(
            g.shape(),
            p.value().shape(),
            "optimizer: gradient of {name} has shape {:?}, the parameter {:?}",
            g.shape(),
            p.value().shape()
        );
        p.update(|v| f(name, v.data_mut(), g.data()));
    });
}

/// An optimizer's state (see [`Optimizer::state_dict`]): its kind, its
/// numbers (hyperparameters and the step count) and its per-parameter
/// buffers, named as PyTorch names them (`exp_avg.<param>`,
/// `exp_avg_sq.<param>`, `momentum_buffer.<param>`, `square_avg.<param>`).
///
/// ```
/// use autograd_nn::{Adam, Optimizer};
/// let opt = Adam::<f32>::new(1e-3);
/// let state = opt.state_dict();
/// assert_eq!(state.kind, "adam");
/// assert_eq!(state.scalars["lr"], 1e-3);
/// let back = autograd_nn::OptimizerState::from_bytes(&state.to_bytes().unwrap()).unwrap();
/// assert_eq!(back, state);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T: Real = f32> {
    /// `sgd`, `adam`, `adamw` or `rmsprop`.
    pub kind: String,
    /// Hyperparameters and counters by name.
    pub scalars: IndexMap<String, f64>,
    /// Per-parameter buffers by name.
    pub tensors: IndexMap<String, Tensor<T>>,
}

impl<T: Real> OptimizerState<T> {
    /// The state as a safetensors file's bytes: the buffers as tensors, the
    /// kind and numbers in its metadata (numbers printed so they read back
    /// exactly).
    ///
    /// ```
    /// let state = autograd_nn::Optimizer::<f64>::state_dict(&autograd_nn::Sgd::new(0.1));
    /// assert!(state.to_bytes().unwrap().len() > 8);
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>, WeightsError> {
        let mut meta = std::collections::HashMap::new();
        meta.insert("kind".to_string(), self.kind.clone());
        for (k, v) in &self.scalars {
            meta.insert(format!("scalar.{k}"), format!("{v:?}"));
        }
        // The order of the numbers, which a JSON map would not keep.
        let order: Vec<&str> = self.scalars.keys().map(String::as_str).collect();
        meta.insert("scalars".to_string(), order.join(","));
        crate::weights::to_safetensors_bytes_with(&self.tensors, Some(meta))
    }

    /// Reads [`OptimizerState::to_bytes`]'s output; a malformed file or a
    /// missing or unreadable number is an error naming it.
    ///
    /// ```
    /// assert!(autograd_nn::OptimizerState::<f32>::from_bytes(b"not a file").is_err());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WeightsError> {
        let (tensors, meta) = crate::weights::from_safetensors_bytes_with(bytes)?;
        let missing = |what: &str| {
            WeightsError::Format(format!("optimizer state: no {what} in the metadata"))
        };
        let meta = meta.ok_or_else(|| {
            WeightsError::Format(
                "optimizer state: the file has no metadata (a weights file, not an optimizer's?)"
                    .to_string(),
            )
        })?;
        let kind = meta.get("kind").ok_or_else(|| missing("kind"))?.clone();
        let mut scalars = IndexMap::new();
        let order = meta.get("scalars").ok_or_else(|| missing("scalars"))?;
        for k in order.split(',').filter(|k| !k.is_empty()) {
            let text = meta
                .get(&format!("scalar.{k}"))
                .ok_or_else(|| missing(&format!("scalar.{k}")))?;
            let v: f64 = text.parse().map_err(|_| {
                WeightsError::Format(format!(
                    "optimizer state: scalar.{k} = {text:?} is not a number"
                ))
            })?;
            scalars.insert(k.to_string(), v);
        }
        Ok(OptimizerState {
            kind,
            scalars,
            tensors,
        })
    }

    /// Writes [`OptimizerState::to_bytes`] to `path`.
    ///
    /// ```no_run
    /// let state = autograd_nn::Optimizer::<f32>::state_dict(&autograd_nn::Adam::new(1e-3));
    /// state.save("target/optimizer.safetensors").unwrap();
    /// ```
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), WeightsError> {
        std::fs::write(path, self.to_bytes()?).map_err(WeightsError::Io)
    }

    /// Reads a file written by [`OptimizerState::save`].
    ///
    /// ```no_run
    /// let state = autograd_nn::OptimizerState::<f32>::load("target/optimizer.safetensors").unwrap();
    /// ```
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self, WeightsError> {
        Self::from_bytes(&std::fs::read(path).map_err(WeightsError::Io)?)
    }

    fn new(kind: &str, scalars: &[(&str, f64)]) -> Self {
        OptimizerState {
            kind: kind.to_string(),
            scalars: scalars.iter().map(|&(k, v)| (k.to_string(), v)).collect(),
            tensors: IndexMap::new(),
        }
    }

    /// Adds each buffer of `map` as `<prefix>.<param>`.
    fn with_buffers(mut self, prefix: &str, map: &IndexMap<String, Vec<T>>) -> Self {
        for (name, v) in map {
            self.tensors.insert(
                format!("{prefix}.{name}"),
                Tensor::from_vec(v.clone(), &[v.len()]),
            );
        }
        self
    }

    /// Checks the kind and that every number in `names` is present;
    /// returns them in that order.
    fn expect(&self, kinds: &[&str], names: &[&str]) -> Result<Vec<f64>, LoadError> {
        let mut problems = Vec::new();
        if !kinds.contains(&self.kind.as_str()) {
            problems.push(format!(
                "the state is {}'s, this optimizer is {}",
                self.kind,
                kinds.join("/")
            ));
        }
        let values = names
            .iter()
            .map(|n| {
                self.scalars.get(*n).copied().unwrap_or_else(|| {
                    problems.push(format!("missing {n}"));
                    f64::NAN
                })
            })
            .collect();
        for name in self.tensors.keys() {
            if !name
                .split_once('.')
                .is_some_and(|(p, _)| BUFFERS.contains(&p))
            {
                problems.push(format!("unexpected buffer {name}"));
            }
        }
        if problems.is_empty() {
            Ok(values)
        } else {
            Err(LoadError { problems })
        }
    }

    /// The buffers named `<prefix>.<param>`, by parameter.
    fn buffers(&self, prefix: &str) -> IndexMap<String, Vec<T>> {
        self.tensors
            .iter()
            .filter_map(|(k, t)| {
                let name = k.strip_prefix(prefix)?.strip_prefix('.')?;
                Some((name.to_string(), t.to_vec()))
            })
            .collect()
    }
}

/// The buffer kinds an optimizer state may hold.
const BUFFERS: [&str; 4] = ["momentum_buffer", "exp_avg", "exp_avg_sq", "square_avg"];

fn state<'a, T: Real>(
    map: &'a mut IndexMap<String, Vec<T>>,
    name: &str,
    len: usize,
) -> &'a mut Vec<T> {
    map.entry(name.to_string())
        .or_insert_with(|| vec![T::ZERO; len])
}

/// Stochastic gradient descent with optional momentum (PyTorch's form:
/// `b = μ b + (1 - dampening) g`, first step `b = g`), Nesterov momentum and
/// L2 weight decay (`g += wd p`).
///
/// ```
/// use autograd_nn::Sgd;
/// let opt = Sgd::new(0.1).momentum(0.9).nesterov(true).weight_decay(1e-4);
/// assert_eq!(autograd_nn::Optimizer::<f32>::lr(&opt), 0.1);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<T: Real = f32> {
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    buffers: IndexMap<String, Vec<T>>,
    steps: usize,
}

impl<T: Real> Sgd<T> {
    /// Plain SGD: `p -= lr g`.
    ///
    /// ```
    /// let _ = autograd_nn::Sgd::<f32>::new(0.05);
    /// ```
    pub fn new(lr: f64) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            buffers: IndexMap::new(),
            steps: 0,
        }
    }
    /// Momentum factor μ.
    ///
    /// ```
    /// let _ = autograd_nn::Sgd::<f32>::new(0.05).momentum(0.9);
    /// ```
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }
    /// Dampening of the momentum update.
    ///
    /// ```
    /// let _ = autograd_nn::Sgd::<f32>::new(0.05).momentum(0.9).dampening(0.1);
    /// ```
    pub fn dampening(mut self, d: f64) -> Self {
        self.dampening = d;
        self
    }
    /// Nesterov momentum: step along `g + μ b`.
    ///
    /// ```
    /// let _ = autograd_nn::Sgd::<f32>::new(0.05).momentum(0.9).nesterov(true);
    /// ```
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }
    /// L2 penalty added to the gradient.
    ///
    /// ```
    /// let _ = autograd_nn::Sgd::<f32>::new(0.05).weight_decay(5e-4);
    /// ```
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &dyn GradSource<T>) {
        let (lr, mu, damp, wd) = (
            T::from_f64(self.lr),
            T::from_f64(self.momentum),
            T::from_f64(1.0 - self.dampening),
            T::from_f64(self.weight_decay),
        );
        self.steps += 1;
        let (use_momentum, nesterov) = (self.momentum != 0.0, self.nesterov);
        let buffers = &mut self.buffers;
        for_each_param(model, grads, |name, p, g| {
            // Zipped slices, one loop per case: LLVM vectorises these (an
            // indexed loop with the flags tested inside ran scalar, 16-20 µs
            // of T1's step; docs/performance.md, "Training: T1"). The
            // arithmetic and its order are the same in both forms.
            if !use_momentum {
                for (p, &g) in p.iter_mut().zip(g) {
                    let d = g + wd * *p;
                    *p -= lr * d;
                }
                return;
            }
            let fresh = !buffers.contains_key(name);
            let b = state(buffers, name, p.len());
            for ((p, &g), b) in p.iter_mut().zip(g).zip(b.iter_mut()) {
                let d = g + wd * *p;
                *b = if fresh { d } else { mu * *b + damp * d };
                let d = if nesterov { d + mu * *b } else { *b };
                *p -= lr * d;
            }
        });
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn steps(&self) -> usize {
        self.steps
    }
    fn state_dict(&self) -> OptimizerState<T> {
        let b = |x: bool| if x { 1.0 } else { 0.0 };
        OptimizerState::new(
            "sgd",
            &[
                ("step", self.steps as f64),
                ("lr", self.lr),
                ("momentum", self.momentum),
                ("dampening", self.dampening),
                ("nesterov", b(self.nesterov)),
                ("weight_decay", self.weight_decay),
            ],
        )
        .with_buffers("momentum_buffer", &self.buffers)
    }
    fn load_state_dict(&mut self, state: &OptimizerState<T>) -> Result<(), LoadError> {
        let v = state.expect(
            &["sgd"],
            &[
                "step",
                "lr",
                "momentum",
                "dampening",
                "nesterov",
                "weight_decay",
            ],
        )?;
        self.steps = v[0] as usize;
        (self.lr, self.momentum, self.dampening) = (v[1], v[2], v[3]);
        (self.nesterov, self.weight_decay) = (v[4] != 0.0, v[5]);
        self.buffers = state.buffers("momentum_buffer");
        Ok(())
    }
}

/// Adam (Kingma & Ba) with bias correction; `weight_decay` is the L2 form
/// added to the gradient. [`AdamW`] decouples it.
///
/// ```
/// let opt = autograd_nn::Adam::<f32>::new(1e-3).betas(0.9, 0.999).eps(1e-8);
/// assert_eq!(autograd_nn::Optimizer::lr(&opt), 1e-3);
/// ```
#[derive(Clone, Debug)]
pub struct Adam<T: Real = f32> {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    t: i32,
    m: IndexMap<String, Vec<T>>,
    v: IndexMap<String, Vec<T>>,
}

impl<T: Real> Adam<T> {
    /// Adam with β = (0.9, 0.999), ε = 1e-8, no weight decay.
    ///
    /// ```
    /// let _ = autograd_nn::Adam::<f32>::new(1e-3);
    /// ```
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            t: 0,
            m: IndexMap::new(),
            v: IndexMap::new(),
        }
    }
    /// The two moment decay rates.
    ///
    /// ```
    /// let _ = autograd_nn::Adam::<f32>::new(1e-3).betas(0.8, 0.99);
    /// ```
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
    /// The denominator's ε.
    ///
    /// ```
    /// let _ = autograd_nn::Adam::<f32>::new(1e-3).eps(1e-6);
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// L2 weight decay (added to the gradient).
    ///
    /// ```
    /// let _ = autograd_nn::Adam::<f32>::new(1e-3).weight_decay(1e-2);
    /// ```
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl<T: Real> Optimizer<T> for Adam<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &dyn GradSource<T>) {
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let bc1 = 1.0 - b1.powi(self.t);
        let bc2 = 1.0 - b2.powi(self.t);
        let (lr, eps, wd, decoupled) = (self.lr, self.eps, self.weight_decay, self.decoupled);
        let (ms, vs) = (&mut self.m, &mut self.v);
        let c = |x: f64| T::from_f64(x);
        // PyTorch's arithmetic: denom = √v / √(1 - β₂ᵗ) + ε, then
        // p -= (lr / (1 - β₁ᵗ)) m / denom. Constants are hoisted and the
        // loop runs over zipped slices, so it vectorises (sqrt and division
        // included).
        let (b1, nb1, b2, nb2) = (c(b1), c(1.0 - b1), c(b2), c(1.0 - b2));
        let (step, sqrt_bc2, eps) = (c(lr / bc1), c(bc2.sqrt()), c(eps));
        let (decay, l2) = (c(lr * wd), c(wd));
        for_each_param(model, grads, |name, p, g| {
            let m = state(ms, name, p.len());
            let v = state(vs, name, p.len());
            let moments = m.iter_mut().zip(v.iter_mut());
            for ((p, &g), (m, v)) in p.iter_mut().zip(g).zip(moments) {
                let g = if decoupled {
                    *p -= decay * *p;
                    g
                } else {
                    g + l2 * *p
                };
                *m = b1 * *m + nb1 * g;
                *v = b2 * *v + nb2 * g * g;
                *p -= step * *m / (v.sqrt() / sqrt_bc2 + eps);
            }
        });
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn steps(&self) -> usize {
        self.t as usize
    }
    fn state_dict(&self) -> OptimizerState<T> {
        OptimizerState::new(
            if self.decoupled { "adamw" } else { "adam" },
            &[
                ("step", self.t as f64),
                ("lr", self.lr),
                ("beta1", self.beta1),
                ("beta2", self.beta2),
                ("eps", self.eps),
                ("weight_decay", self.weight_decay),
            ],
        )
        .with_buffers("exp_avg", &self.m)
        .with_buffers("exp_avg_sq", &self.v)
    }
    fn load_state_dict(&mut self, state: &OptimizerState<T>) -> Result<(), LoadError> {
        let kind = if self.decoupled { "adamw" } else { "adam" };
        let v = state.expect(
            &[kind],
            &["step", "lr", "beta1", "beta2", "eps", "weight_decay"],
        )?;
        self.t = v[0] as i32;
        (self.lr, self.beta1, self.beta2, self.eps, self.weight_decay) =
            (v[1], v[2], v[3], v[4], v[5]);
        self.m = state.buffers("exp_avg");
        self.v = state.buffers("exp_avg_sq");
        Ok(())
    }
}

/// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay,
/// `p -= lr wd p` before the Adam step. PyTorch's default decay is 0.01.
///
/// ```
/// let opt = autograd_nn::AdamW::<f32>::new(1e-3).weight_decay(0.1);
/// assert_eq!(autograd_nn::Optimizer::lr(&opt), 1e-3);
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<T: Real = f32>(Adam<T>);

impl<T: Real> AdamW<T> {
    /// AdamW with PyTorch's defaults: β = (0.9, 0.999), ε = 1e-8, weight
    /// decay 0.01.
    ///
    /// ```
    /// let opt = autograd_nn::AdamW::<f64>::new(3e-4);
    /// assert_eq!(autograd_nn::Optimizer::state_dict(&opt).scalars["weight_decay"], 0.01);
    /// ```
    pub fn new(lr: f64) -> Self {
        let mut a = Adam::new(lr).weight_decay(0.01);
        a.decoupled = true;
        AdamW(a)
    }
    /// The decoupled weight decay (`p -= lr wd p` each step).
    ///
    /// ```
    /// let _ = autograd_nn::AdamW::<f32>::new(1e-3).weight_decay(0.1);
    /// ```
    pub fn weight_decay(self, wd: f64) -> Self {
        AdamW(self.0.weight_decay(wd))
    }
    /// The denominator's ε.
    ///
    /// ```
    /// let _ = autograd_nn::AdamW::<f32>::new(1e-3).eps(1e-6);
    /// ```
    pub fn eps(self, eps: f64) -> Self {
        AdamW(self.0.eps(eps))
    }
    /// The two moment decay rates.
    ///
    /// ```
    /// let _ = autograd_nn::AdamW::<f32>::new(1e-3).betas(0.9, 0.95);
    /// ```
    pub fn betas(self, beta1: f64, beta2: f64) -> Self {
        AdamW(self.0.betas(beta1, beta2))
    }
}

impl<T: Real> Optimizer<T> for AdamW<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &dyn GradSource<T>) {
        self.0.step(model, grads)
    }
    fn lr(&self) -> f64 {
        self.0.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.0.lr = lr;
    }
    fn steps(&self) -> usize {
        self.0.steps()
    }
    fn state_dict(&self) -> OptimizerState<T> {
        self.0.state_dict()
    }
    fn load_state_dict(&mut self, state: &OptimizerState<T>) -> Result<(), LoadError> {
        self.0.load_state_dict(state)
    }
}

/// RMSprop: `v = α v + (1-α) g²`, `p -= lr g / (sqrt(v) + ε)`, with
/// optional momentum on that step (PyTorch's form).
///
/// ```
/// let opt = autograd_nn::RmsProp::<f32>::new(1e-2).alpha(0.9).momentum(0.5);
/// assert_eq!(autograd_nn::Optimizer::lr(&opt), 1e-2);
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp<T: Real = f32> {
    lr: f64,
    alpha: f64,
    eps: f64,
    momentum: f64,
    weight_decay: f64,
    v: IndexMap<String, Vec<T>>,
    buf: IndexMap<String, Vec<T>>,
    steps: usize,
}

impl<T: Real> RmsProp<T> {
    /// α = 0.99, ε = 1e-8, no momentum or decay (PyTorch's defaults).
    ///
    /// ```
    /// let _ = autograd_nn::RmsProp::<f32>::new(1e-2);
    /// ```
    pub fn new(lr: f64) -> Self {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            weight_decay: 0.0,
            v: IndexMap::new(),
            buf: IndexMap::new(),
            steps: 0,
        }
    }
    /// Decay of the squared-gradient average.
    ///
    /// ```
    /// let _ = autograd_nn::RmsProp::<f32>::new(1e-2).alpha(0.9);
    /// ```
    pub fn alpha(mut self, a: f64) -> Self {
        self.alpha = a;
        self
    }
    /// Momentum on the scaled step.
    ///
    /// ```
    /// let _ = autograd_nn::RmsProp::<f32>::new(1e-2).momentum(0.9);
    /// ```
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }
    /// L2 weight decay.
    ///
    /// ```
    /// let _ = autograd_nn::RmsProp::<f32>::new(1e-2).weight_decay(1e-4);
    /// ```
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl<T: Real> Optimizer<T> for RmsProp<T> {
    fn step(&mut self, model: &mut dyn Module<T>, grads: &dyn GradSource<T>) {
        let c = |x: f64| T::from_f64(x);
        let (lr, a, eps, mu, wd) = (
            self.lr,
            self.alpha,
            self.eps,
            self.momentum,
            self.weight_decay,
        );
        self.steps += 1;
        let (vs, bufs) = (&mut self.v, &mut self.buf);
        for_each_param(model, grads, |name, p, g| {
            let v = state(vs, name, p.len());
            let mut b = if mu != 0.0 {
                Some(state(bufs, name, p.len()))
            } else {
                None
            };
            for i in 0..p.len() {
                let gi = g[i] + c(wd) * p[i];
                v[i] = c(a) * v[i] + c(1.0 - a) * gi * gi;
                let step = gi / (v[i].sqrt() + c(eps));
                match b.as_deref_mut() {
                    Some(b) => {
                        b[i] = c(mu) * b[i] + step;
                        p[i] -= c(lr) * b[i];
                    }
                    None => p[i] -= c(lr) * step,
                }
            }
        });
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn steps(&self) -> usize {
        self.steps
    }
    fn state_dict(&self) -> OptimizerState<T> {
        OptimizerState::new(
            "rmsprop",
            &[
                ("step", self.steps as f64),
                ("lr", self.lr),
                ("alpha", self.alpha),
                ("eps", self.eps),
                ("momentum", self.momentum),
                ("weight_decay", self.weight_decay),
            ],
        )
        .with_buffers("square_avg", &self.v)
        .with_buffers("momentum_buffer", &self.buf)
    }
    fn load_state_dict(&mut self, state: &OptimizerState<T>) -> Result<(), LoadError> {
        let v = state.expect(
            &["rmsprop"],
            &["step", "lr", "alpha", "eps", "momentum", "weight_decay"],
        )?;
        self.steps = v[0] as usize;
        (
            self.lr,
            self.alpha,
            self.eps,
            self.momentum,
            self.weight_decay,
        ) = (v[1], v[2], v[3], v[4], v[5]);
        self.v = state.buffers("square_avg");
        self.buf = state.buffers("momentum_buffer");
        Ok(())
    }
}

/// A learning rate as a function of the step (or epoch) count, from 0.
/// A schedule keeps no state of its own: driven by
/// [`Optimizer::steps`], which the optimizer's state saves, it resumes
/// with the optimizer.
///
/// ```
/// use autograd_nn::{LrSchedule, Optimizer, Sgd, StepLr};
/// let s = StepLr { base: 0.1, step_size: 10, gamma: 0.5 };
/// assert_eq!((s.lr(0), s.lr(10), s.lr(25)), (0.1, 0.05, 0.025));
/// let mut opt = Sgd::<f32>::new(s.lr(0));
/// let mut resumed = Sgd::<f32>::new(s.lr(0));
/// let mut state = opt.state_dict();
/// state.scalars["step"] = 12.0; // as if saved after 12 steps
/// resumed.load_state_dict(&state).unwrap();
/// resumed.set_lr(s.lr(resumed.steps()));
/// assert_eq!(resumed.lr(), 0.05);
/// ```
pub trait LrSchedule {
    /// The learning rate at step `t`.
    fn lr(&self, t: usize) -> f64;
}

/// `base * gamma^(t / step_size)` (integer division).
///
/// ```
/// use autograd_nn::{LrSchedule, StepLr};
/// assert_eq!(StepLr { base: 1.0, step_size: 2, gamma: 0.1 }.lr(3), 0.1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLr {
    /// The starting rate.
    pub base: f64,
    /// Steps between decays.
    pub step_size: usize,
    /// Factor per decay.
    pub gamma: f64,
}

impl LrSchedule for StepLr {
    fn lr(&self, t: usize) -> f64 {
        self.base * self.gamma.powi((t / self.step_size.max(1)) as i32)
    }
}

/// `base * gamma^t`.
///
/// ```
/// use autograd_nn::{ExponentialLr, LrSchedule};
/// assert_eq!(ExponentialLr { base: 1.0, gamma: 0.5 }.lr(2), 0.25);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialLr {
    /// The starting rate.
    pub base: f64,
    /// Factor per step.
    pub gamma: f64,
}

impl LrSchedule for ExponentialLr {
    fn lr(&self, t: usize) -> f64 {
        self.base * self.gamma.powi(t as i32)
    }
}

/// Cosine annealing from `base` to `min` over `period` steps, then `min`.
///
/// ```
/// use autograd_nn::{CosineLr, LrSchedule};
/// let s = CosineLr { base: 1.0, min: 0.0, period: 100 };
/// assert_eq!((s.lr(0), s.lr(50), s.lr(100), s.lr(200)), (1.0, 0.5, 0.0, 0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineLr {
    /// The starting rate.
    pub base: f64,
    /// The final rate.
    pub min: f64,
    /// Steps from `base` to `min`.
    pub period: usize,
}

impl LrSchedule for CosineLr {
    fn lr(&self, t: usize) -> f64 {
        let t = t.min(self.period) as f64;
        let cos = (std::f64::consts::PI * t / self.period.max(1) as f64).cos();
        // Exact end points, so `lr(period)` is `min` and not min + 1e-17.
        if t == 0.0 {
            self.base
        } else if t as usize == self.period {
            self.min
        } else {
            self.min + (self.base - self.min) * 0.5 * (1.0 + cos)
        }
    }
}

/// A linear warm-up from 0 over `warmup` steps into another schedule (which
/// then starts at its own step 0).
///
/// ```
/// use autograd_nn::{ExponentialLr, LrSchedule, Warmup};
/// let s = Warmup { warmup: 4, then: ExponentialLr { base: 1.0, gamma: 0.5 } };
/// assert_eq!((s.lr(0), s.lr(2), s.lr(4), s.lr(5)), (0.25, 0.75, 1.0, 0.5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warmup<S> {
    /// Warm-up steps.
    pub warmup: usize,
    /// The schedule after.
    pub then: S,
}

impl<S: LrSchedule> LrSchedule for Warmup<S> {
    fn lr(&self, t: usize) -> f64 {
        if t < self.warmup {
            self.then.lr(0) * (t + 1) as f64 / self.warmup as f64
        } else {
            self.then.lr(t - self.warmup)
        }
    }
}

/// Clamps every gradient entry to `[-limit, limit]`.
///
/// ```
/// use autograd_core::Tensor;
/// let mut g = autograd_nn::ParamGrads::new();
/// g.insert("w".to_string(), Tensor::from_vec(vec![-3.0_f32, 0.5], &[2]));
/// autograd_nn::clip_grad_value(&mut g, 1.0);
/// assert_eq!(g["w"].to_vec(), vec![-1.0, 0.5]);
/// ```
pub fn clip_grad_value<T: Real>(grads: &mut ParamGrads<T>, limit: f64) {
    let l = T::from_f64(limit.abs());
    for g in grads.values_mut() {
        for x in g.data_mut() {
            *x = if *x > l {
                l
            } else if *x < -l {
                -l
            } else {
                *x
            };
        }
    }
}

/// Scales all gradients together so their global L2 norm is at most
/// `max_norm`; returns the norm before clipping (PyTorch's
/// `clip_grad_norm_`).
///
/// ```
/// use autograd_core::Tensor;
/// let mut g = autograd_nn::ParamGrads::new();
/// g.insert("a".to_string(), Tensor::from_vec(vec![3.0_f64], &[1]));
/// g.insert("b".to_string(), Tensor::from_vec(vec![4.0_f64], &[1]));
/// assert_eq!(autograd_nn::clip_grad_norm(&mut g, 1.0), 5.0);
/// // Scaled by 1 / (5 + 1e-6), as PyTorch does.
/// assert!((g["a"].item() - 0.6).abs() < 1e-6 && (g["b"].item() - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm<T: Real>(grads: &mut ParamGrads<T>, max_norm: f64) -> f64 {
    let total: f64 = grads
        .values()
        .flat_map(|g| g.data().iter())
        .map(|x| x.to_f64() * x.to_f64())
        .sum::<f64>()
        .sqrt();
    if total > max_norm {
        let s = T::from_f64(max_norm / (total + 1e-6));
        for g in grads.values_mut() {
            *g = g.scale(s);
        }
    }
    total
}
