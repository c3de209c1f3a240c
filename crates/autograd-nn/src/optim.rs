//! Optimizers, learning-rate schedules and gradient clipping. The update
//! rules are PyTorch's documented ones, with the same parameter names.

use autograd_core::{Parameter, Real};
use indexmap::IndexMap;

use autograd_core::Tensor;

use crate::module::{LoadError, Module, ParamGrads};
pub use crate::optim_state::OptimizerState;

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

/// Parameters of at least this many elements have their Adam update split
/// between the engine's threads: the update runs ~4.6 ns per element on one
/// thread (3% of a 60 ms T4 step for 421 697 parameters), so 2^15 elements
/// take ~150 us, against ~1 us to hand a part to a helper (up to ~60 us if
/// the helper has gone to sleep).
const SPLIT_PARAMETER: usize = 1 << 15;

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
        // `wide`: eight lanes where the CPU has AVX2 (square root and
        // division included), the same bits as the plain loop. The inner
        // closure is `move` so it holds the constants themselves: through
        // references the compiler must reload them after every store, and
        // the loop stays scalar.
        let update = |p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]| {
            autograd_core::simd::wide(
                #[inline(always)]
                move || {
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
                },
            )
        };
        let threads = autograd_core::num_threads();
        for_each_param(model, grads, |name, p, g| {
            let m = state(ms, name, p.len());
            let v = state(vs, name, p.len());
            if threads == 1 || p.len() < SPLIT_PARAMETER {
                return update(p, g, m, v);
            }
            // Each element's update reads only its own p, g, m and v, so
            // chunks on other threads give the same bits.
            let per = p.len().div_ceil(threads);
            let (pc, gc) = (p.chunks_mut(per), g.chunks(per));
            let parts = pc.zip(gc).zip(m.chunks_mut(per).zip(v.chunks_mut(per)));
            autograd_core::for_each_part(parts, |((p, g), (m, v))| update(p, g, m, v));
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
