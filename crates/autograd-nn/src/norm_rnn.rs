//! Batch and group normalisation, 1-d convolution and the GRU, from tensor
//! primitives (no derivative code), with PyTorch's parameter and buffer
//! names, defaults and initialisation. `crates/autograd-nn/tests/integration/torch_fixtures.rs` compares
//! each with PyTorch's outputs and gradients on fixed weights.

use std::cell::RefCell;

use autograd_core::{Parameter, Real, Tensor, TensorTape, TensorVar, Window2d as Window};
use rand::Rng;

use crate::Module;
use crate::init;
use crate::module::{Forward, join};

/// Batch normalisation over the channel axis 1 (PyTorch's `nn.BatchNorm1d`
/// for `D = 1`, inputs `[N, C]` or `[N, C, L]`; `nn.BatchNorm2d` for
/// `D = 2`, inputs `[N, C, H, W]`). Training normalises by the batch's
/// mean and (population) variance per channel and updates the running
/// statistics, `r = (1 - momentum) r + momentum s` with the unbiased
/// variance; evaluation normalises by the running statistics. The running
/// statistics are buffers (`running_mean`, `running_var`,
/// `num_batches_tracked`): saved and loaded with the state dict, never
/// trained.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{BatchNorm2d, Forward, Module};
/// let mut bn = BatchNorm2d::<f64>::new(3);
/// let tape = TensorTape::new();
/// let x = Tensor::from_vec((0..24).map(|v| v as f64).collect(), &[2, 3, 2, 2]);
/// let y = bn.forward(tape.constant(x.clone())).value();
/// assert!(y.mean_axes(&[0, 2, 3], false).data().iter().all(|m| m.abs() < 1e-12));
/// let names: Vec<String> = bn.state_dict().into_keys().collect();
/// assert_eq!(names, ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]);
/// bn.eval(); // now the running statistics normalise
/// let z = bn.forward(tape.constant(x)).value();
/// assert!(z.mean().item() > 1.0);
/// ```
#[derive(Debug)]
pub struct BatchNorm<T: Real = f32, const D: usize = 2> {
    /// Scale `[C]`, initially ones.
    pub weight: Parameter<T>,
    /// Shift `[C]`, initially zeros.
    pub bias: Parameter<T>,
    running_mean: RefCell<Tensor<T>>,
    running_var: RefCell<Tensor<T>>,
    num_batches_tracked: RefCell<Tensor<T>>,
    /// Weight of a new batch in the running statistics (0.1).
    pub momentum: f64,
    /// Added to the variance (1e-5).
    pub eps: f64,
    training: bool,
}

/// [`BatchNorm`] over `[N, C]` or `[N, C, L]` inputs.
pub type BatchNorm1d<T = f32> = BatchNorm<T, 1>;
/// [`BatchNorm`] over `[N, C, H, W]` inputs.
pub type BatchNorm2d<T = f32> = BatchNorm<T, 2>;

impl<T: Real, const D: usize> BatchNorm<T, D> {
    /// `channels` features with PyTorch's defaults (momentum 0.1, eps
    /// 1e-5, affine, running statistics 0 and 1), in training mode.
    ///
    /// ```
    /// let bn = autograd_nn::BatchNorm1d::<f32>::new(8);
    /// assert_eq!(bn.running_var().to_vec(), vec![1.0; 8]);
    /// ```
    pub fn new(channels: usize) -> Self {
        BatchNorm {
            weight: Parameter::new(Tensor::ones(&[channels])),
            bias: Parameter::new(Tensor::zeros(&[channels])),
            running_mean: RefCell::new(Tensor::zeros(&[channels])),
            running_var: RefCell::new(Tensor::ones(&[channels])),
            num_batches_tracked: RefCell::new(Tensor::zeros(&[])),
            momentum: 0.1,
            eps: 1e-5,
            training: true,
        }
    }

    /// The running mean `[C]`.
    ///
    /// ```
    /// assert_eq!(autograd_nn::BatchNorm2d::<f32>::new(2).running_mean().to_vec(), vec![0.0; 2]);
    /// ```
    pub fn running_mean(&self) -> Tensor<T> {
        self.running_mean.borrow().clone()
    }

    /// The running (unbiased) variance `[C]`.
    ///
    /// ```
    /// assert_eq!(autograd_nn::BatchNorm2d::<f32>::new(2).running_var().to_vec(), vec![1.0; 2]);
    /// ```
    pub fn running_var(&self) -> Tensor<T> {
        self.running_var.borrow().clone()
    }

    #[track_caller]
    fn check(&self, shape: &[usize]) {
        let c = self.weight.value().numel();
        let ranks: &[usize] = if D == 1 { &[2, 3] } else { &[4] };
        if !ranks.contains(&shape.len()) || shape[1] != c {
            let want = if D == 1 {
                "[N, C] or [N, C, L]"
            } else {
                "[N, C, H, W]"
            };
            let at = crate::module::location();
            panic!(
                "BatchNorm{D}d({c}){at}: input must be {want} with C = {c}, got shape {shape:?}"
            );
        }
    }
}

/// `[C]` as `[1, C, 1, ...]` for an input of `rank` axes.
fn per_channel<'t, T: Real>(v: TensorVar<'t, T>, rank: usize) -> TensorVar<'t, T> {
    let mut shape = vec![1; rank];
    shape[1] = v.shape()[0];
    v.reshape(&shape)
}

impl<'t, T: Real, const D: usize> Forward<TensorVar<'t, T>> for BatchNorm<T, D> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let shape = x.shape();
        self.check(&shape);
        let tape = x.tape();
        let rank = shape.len();
        let eps = T::from_f64(self.eps);
        let normalised = if self.training {
            let axes: Vec<isize> = (0..rank as isize).filter(|&a| a != 1).collect();
            let n = shape.iter().product::<usize>() / shape[1];
            if n < 2 {
                panic!(
                    "BatchNorm{D}d: training needs more than one value per channel, got shape {:?}",
                    shape.as_slice()
                );
            }
            let mean = x.mean_axes(&axes, true);
            let var = x.var_axes(&axes, 0, true);
            // The running statistics are values, outside the recording.
            let m = T::from_f64(self.momentum);
            let keep = T::from_f64(1.0 - self.momentum);
            let unbiased = T::from_f64(n as f64 / (n - 1) as f64);
            let c = [shape[1]];
            let batch_mean = mean.value().reshape(&c);
            let batch_var = var.value().reshape(&c).scale(unbiased);
            let mut rm = self.running_mean.borrow_mut();
            *rm = rm.scale(keep).add(&batch_mean.scale(m));
            let mut rv = self.running_var.borrow_mut();
            *rv = rv.scale(keep).add(&batch_var.scale(m));
            let mut count = self.num_batches_tracked.borrow_mut();
            *count = count.add_scalar(T::ONE);
            (x - mean) / var.add_scalar(eps).sqrt()
        } else {
            let mean = per_channel(tape.constant(self.running_mean()), rank);
            let var = per_channel(tape.constant(self.running_var()), rank);
            (x - mean) / var.add_scalar(eps).sqrt()
        };
        let w = per_channel(self.weight.var(tape), rank);
        let b = per_channel(self.bias.var(tape), rank);
        normalised * w + b
    }
}

impl<T: Real, const D: usize> Module<T> for BatchNorm<T, D> {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
        f(&join(prefix, "weight"), &self.weight);
        f(&join(prefix, "bias"), &self.bias);
    }
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>)) {
        f(&join(prefix, "weight"), &mut self.weight);
        f(&join(prefix, "bias"), &mut self.bias);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor<T>)) {
        f(&join(prefix, "running_mean"), &self.running_mean.borrow());
        f(&join(prefix, "running_var"), &self.running_var.borrow());
        f(
            &join(prefix, "num_batches_tracked"),
            &self.num_batches_tracked.borrow(),
        );
    }
    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor<T>)) {
        f(&join(prefix, "running_mean"), self.running_mean.get_mut());
        f(&join(prefix, "running_var"), self.running_var.get_mut());
        f(
            &join(prefix, "num_batches_tracked"),
            self.num_batches_tracked.get_mut(),
        );
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// Group normalisation (PyTorch's `nn.GroupNorm`): the channels of
/// `[N, C, ...]` split into `groups` groups, each normalised over its
/// channels and all positions, per sample (population variance plus
/// `eps`), then scaled and shifted per channel. The same in training and
/// evaluation.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Forward, GroupNorm, Module};
/// let gn = GroupNorm::<f64>::new(2, 4);
/// let tape = TensorTape::new();
/// let x = Tensor::from_vec((0..16).map(|v| (v * v) as f64).collect(), &[1, 4, 2, 2]);
/// let y = gn.forward(tape.constant(x)).value();
/// // Each group of 2 channels x 4 positions has mean 0.
/// assert!(y.reshape(&[2, 8]).mean_axes(&[1], false).data().iter().all(|m| m.abs() < 1e-12));
/// assert_eq!(gn.state_dict().keys().collect::<Vec<_>>(), ["weight", "bias"]);
/// ```
#[derive(Clone, Debug, Module)]
pub struct GroupNorm<T: Real = f32> {
    /// Scale `[C]`, initially ones.
    pub weight: Parameter<T>,
    /// Shift `[C]`, initially zeros.
    pub bias: Parameter<T>,
    /// The number of groups (divides C).
    #[module(skip)]
    pub groups: usize,
    /// Added to the variance (1e-5).
    #[module(skip)]
    pub eps: f64,
}

impl<T: Real> GroupNorm<T> {
    /// `channels` in `groups` groups (which must divide them).
    ///
    /// ```
    /// assert_eq!(autograd_nn::GroupNorm::<f32>::new(4, 8).groups, 4);
    /// ```
    #[track_caller]
    pub fn new(groups: usize, channels: usize) -> Self {
        if groups == 0 || !channels.is_multiple_of(groups) {
            panic!("GroupNorm: {groups} groups must divide {channels} channels");
        }
        GroupNorm {
            weight: Parameter::new(Tensor::ones(&[channels])),
            bias: Parameter::new(Tensor::zeros(&[channels])),
            groups,
            eps: 1e-5,
        }
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for GroupNorm<T> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let shape = x.shape();
        let c = self.weight.value().numel();
        if shape.len() < 2 || shape[1] != c {
            panic!(
                "GroupNorm({}, {c}){}: input must be [N, {c}, ...], got shape {:?}",
                self.groups,
                crate::module::location(),
                shape.as_slice()
            );
        }
        let tape = x.tape();
        let per_group = shape.iter().product::<usize>() / shape[0] / self.groups;
        let grouped = x.reshape(&[shape[0], self.groups, per_group]);
        let normalised = grouped
            .layer_norm(&[grouped.shape()[2]], None, None, T::from_f64(self.eps))
            .reshape(&shape);
        let rank = shape.len();
        normalised * per_channel(self.weight.var(tape), rank)
            + per_channel(self.bias.var(tape), rank)
    }
}

/// 1-d convolution over `[N, C, L]` inputs (PyTorch's `nn.Conv1d`): weight
/// `[out, in, k]`, bias `[out]`, PyTorch's default initialisation. Recorded
/// as a 2-d convolution over a height of one.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Conv1d, Forward, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let conv = Conv1d::<f32>::new(3, 8, 5, &mut rng).padding(2);
/// let tape = TensorTape::new();
/// let y = conv.forward(tape.constant(Tensor::zeros(&[2, 3, 20])));
/// assert_eq!(y.shape().as_slice(), &[2, 8, 20]);
/// assert_eq!(conv.weight.value().shape(), &[8, 3, 5]);
/// ```
#[derive(Clone, Debug, Module)]
pub struct Conv1d<T: Real = f32> {
    /// `[out, in, k]`.
    pub weight: Parameter<T>,
    /// `[out]`, if the layer has one.
    pub bias: Option<Parameter<T>>,
    /// Step between windows (1).
    #[module(skip)]
    pub stride: usize,
    /// Zeros added on both ends (0).
    #[module(skip)]
    pub padding: usize,
    /// Spacing between kernel taps (1).
    #[module(skip)]
    pub dilation: usize,
}

impl<T: Real> Conv1d<T> {
    /// `inputs` to `outputs` channels with kernel size `kernel`, stride 1,
    /// no padding, with bias; uniform on `±1/sqrt(in * k)` as PyTorch.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert!(autograd_nn::Conv1d::<f32>::new(1, 2, 3, &mut rng).bias.is_some());
    /// ```
    pub fn new<R: Rng + ?Sized>(inputs: usize, outputs: usize, kernel: usize, rng: &mut R) -> Self {
        let fan_in = inputs * kernel;
        Conv1d {
            weight: Parameter::new(init::torch_default(&[outputs, inputs, kernel], fan_in, rng)),
            bias: Some(Parameter::new(init::torch_default(&[outputs], fan_in, rng))),
            stride: 1,
            padding: 0,
            dilation: 1,
        }
    }

    /// The step between windows.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(autograd_nn::Conv1d::<f32>::new(1, 1, 3, &mut rng).stride(2).stride, 2);
    /// ```
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = s;
        self
    }

    /// Zeros added on both ends.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(autograd_nn::Conv1d::<f32>::new(1, 1, 3, &mut rng).padding(1).padding, 1);
    /// ```
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = p;
        self
    }

    /// Spacing between kernel taps.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(autograd_nn::Conv1d::<f32>::new(1, 1, 3, &mut rng).dilation(2).dilation, 2);
    /// ```
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = d;
        self
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for Conv1d<T> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let shape = x.shape();
        let w = self.weight.value().shape().to_vec();
        if shape.len() != 3 || shape[1] != w[1] {
            panic!(
                "Conv1d({}, {}, {}){}: input must be [N, {}, L], got shape {:?}",
                w[1],
                w[0],
                w[2],
                crate::module::location(),
                w[1],
                shape.as_slice()
            );
        }
        let tape = x.tape();
        let window = Window {
            stride: (1, self.stride),
            padding: (0, self.padding),
            dilation: (1, self.dilation),
        };
        x.unsqueeze(2)
            .conv2d(
                self.weight.var(tape).reshape(&[w[0], w[1], 1, w[2]]),
                self.bias.as_ref().map(|b| b.var(tape)),
                window,
            )
            .squeeze(2)
    }
}

/// One GRU step, PyTorch's `nn.GRUCell`: with `x W_ihᵀ + b_ih` and
/// `h W_hhᵀ + b_hh` split into `(r, z, n)` parts,
/// `r = σ(i_r + h_r)`, `z = σ(i_z + h_z)`, `n = tanh(i_n + r ⊙ h_n)`,
/// `h' = (1 - z) ⊙ n + z ⊙ h`. Weights `[3H, in]` and `[3H, H]`, all
/// initialised uniform on `±1/sqrt(H)`.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::GruCell;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let cell = GruCell::<f64>::new(3, 5, &mut rng);
/// let tape = TensorTape::new();
/// let h = cell.zero_state(&tape, 2);
/// let h = cell.step(tape.constant(Tensor::ones(&[2, 3])), h);
/// assert_eq!(h.shape().as_slice(), &[2, 5]);
/// ```
#[derive(Clone, Debug, Module)]
pub struct GruCell<T: Real = f32> {
    /// `[3H, in]`, rows in the order r, z, n.
    pub weight_ih: Parameter<T>,
    /// `[3H, H]`.
    pub weight_hh: Parameter<T>,
    /// `[3H]`.
    pub bias_ih: Parameter<T>,
    /// `[3H]`.
    pub bias_hh: Parameter<T>,
}

impl<T: Real> GruCell<T> {
    /// A cell from `inputs` features to `hidden` units.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let cell = autograd_nn::GruCell::<f32>::new(10, 20, &mut rng);
    /// assert_eq!(cell.weight_ih.value().shape(), &[60, 10]);
    /// ```
    pub fn new<R: Rng + ?Sized>(inputs: usize, hidden: usize, rng: &mut R) -> Self {
        let a = 1.0 / (hidden as f64).sqrt();
        let mut u = |shape: &[usize]| Parameter::new(init::uniform(shape, -a, a, rng));
        GruCell {
            weight_ih: u(&[3 * hidden, inputs]),
            weight_hh: u(&[3 * hidden, hidden]),
            bias_ih: u(&[3 * hidden]),
            bias_hh: u(&[3 * hidden]),
        }
    }

    /// The number of hidden units.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(autograd_nn::GruCell::<f32>::new(2, 7, &mut rng).hidden(), 7);
    /// ```
    pub fn hidden(&self) -> usize {
        self.weight_hh.value().shape()[1]
    }

    /// A zero `h` for a batch.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let cell = autograd_nn::GruCell::<f32>::new(2, 3, &mut rng);
    /// let tape = autograd_core::TensorTape::new();
    /// assert_eq!(cell.zero_state(&tape, 4).shape().as_slice(), &[4, 3]);
    /// ```
    pub fn zero_state<'t>(&self, tape: &'t TensorTape<T>, batch: usize) -> TensorVar<'t, T> {
        tape.constant(Tensor::zeros(&[batch, self.hidden()]))
    }

    /// One step: `(x [B, in], h [B, H]) -> h'`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let cell = autograd_nn::GruCell::<f32>::new(1, 2, &mut rng);
    /// let tape = TensorTape::new();
    /// let h = cell.step(tape.constant(Tensor::ones(&[1, 1])), cell.zero_state(&tape, 1));
    /// assert!(h.value().data().iter().all(|v| v.abs() < 1.0));
    /// ```
    #[track_caller]
    pub fn step<'t>(&self, x: TensorVar<'t, T>, h: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let tape = x.tape();
        let gi = x
            .matmul_transposed(self.weight_ih.var(tape))
            .add(self.bias_ih.var(tape));
        let gh = h
            .matmul_transposed(self.weight_hh.var(tape))
            .add(self.bias_hh.var(tape));
        let (i, hh) = (gi.chunk(3, 1), gh.chunk(3, 1));
        let r = (i[0] + hh[0]).sigmoid();
        let z = (i[1] + hh[1]).sigmoid();
        let n = (i[2] + r * hh[2]).tanh();
        // (1 - z) n + z h, written as n + z (h - n): one product fewer.
        n + z * (h - n)
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for GruCell<T> {
    type Output = TensorVar<'t, T>;
    /// One step from a zero state: `[B, in] -> h [B, H]`.
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let h = self.zero_state(x.tape(), x.shape()[0]);
        self.step(x, h)
    }
}

/// A GRU over a sequence `[T, B, in]` (PyTorch's `nn.GRU`, one layer,
/// `batch_first=False`), giving every step's `h` as `[T, B, H]`. Parameter
/// names are PyTorch's (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
/// `bias_hh_l0`).
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Forward, Gru, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let gru = Gru::<f32>::new(4, 6, &mut rng);
/// let tape = TensorTape::new();
/// let out = gru.forward(tape.constant(Tensor::zeros(&[7, 2, 4])));
/// assert_eq!(out.shape().as_slice(), &[7, 2, 6]);
/// assert!(gru.state_dict().contains_key("weight_hh_l0"));
/// ```
#[derive(Clone, Debug)]
pub struct Gru<T: Real = f32> {
    /// The cell applied at every step.
    pub cell: GruCell<T>,
}

impl<T: Real> Gru<T> {
    /// A one-layer GRU.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(autograd_nn::Gru::<f32>::new(3, 8, &mut rng).cell.hidden(), 8);
    /// ```
    pub fn new<R: Rng + ?Sized>(inputs: usize, hidden: usize, rng: &mut R) -> Self {
        Gru {
            cell: GruCell::new(inputs, hidden, rng),
        }
    }

    /// Runs the sequence from `h`; returns all `h` as `[T, B, H]` and the
    /// last one.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let gru = autograd_nn::Gru::<f32>::new(2, 3, &mut rng);
    /// let tape = TensorTape::new();
    /// let (out, h) = gru.run(tape.constant(Tensor::ones(&[5, 1, 2])), gru.cell.zero_state(&tape, 1));
    /// assert_eq!(out.narrow(0, 4, 1).value().to_vec(), h.value().to_vec());
    /// ```
    #[track_caller]
    pub fn run<'t>(
        &self,
        x: TensorVar<'t, T>,
        mut h: TensorVar<'t, T>,
    ) -> (TensorVar<'t, T>, TensorVar<'t, T>) {
        let shape = x.shape();
        if shape.len() != 3 {
            panic!(
                "Gru: input must be [T, B, in], got shape {:?}",
                shape.as_slice()
            );
        }
        let mut outs = Vec::with_capacity(shape[0]);
        for t in 0..shape[0] {
            h = self.cell.step(x.narrow(0, t, 1).squeeze(0), h);
            outs.push(h);
        }
        (TensorVar::stack(&outs, 0), h)
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for Gru<T> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let batch = x.shape().get(1).copied().unwrap_or(0);
        let h = self.cell.zero_state(x.tape(), batch);
        self.run(x, h).0
    }
}

/// The cell's names with PyTorch's layer suffix `_l0`.
impl<T: Real> Module<T> for Gru<T> {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
        self.cell
            .visit_parameters(prefix, &mut |name, p| f(&format!("{name}_l0"), p));
    }
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>)) {
        self.cell
            .visit_parameters_mut(prefix, &mut |name, p| f(&format!("{name}_l0"), p));
    }
}
