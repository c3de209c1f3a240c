//! Convolution and pooling layers, an LSTM cell and layer, and multi-head
//! self-attention, all from tensor primitives (no derivative code), with
//! PyTorch's parameter names and initialisation.

use autograd_core::{Parameter, Real, Tensor, TensorVar, Window2d as Window};
use rand::Rng;

use crate::Module;
use crate::init;
use crate::module::{Forward, join};

/// 2-d convolution over `[N, C, H, W]` inputs, PyTorch's `nn.Conv2d`:
/// weight `[out, in, kh, kw]`, bias `[out]`, PyTorch's default
/// initialisation; stride 1, no padding, dilation 1 unless the builders say
/// otherwise. The input's channel count is checked, naming the layer.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Conv2d, Forward, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let conv = Conv2d::<f32>::new(3, 8, (3, 3), &mut rng).padding(1);
/// let tape = TensorTape::new();
/// let y = conv.forward(tape.constant(Tensor::zeros(&[2, 3, 16, 16])));
/// assert_eq!(y.shape().as_slice(), &[2, 8, 16, 16]);
/// assert_eq!(conv.state_dict().keys().collect::<Vec<_>>(), ["weight", "bias"]);
/// ```
#[derive(Clone, Debug, Module)]
pub struct Conv2d<T: Real = f32> {
    /// `[out, in, kh, kw]`.
    pub weight: Parameter<T>,
    /// `[out]`, if the layer has one.
    pub bias: Option<Parameter<T>>,
    /// Stride, padding, dilation.
    #[module(skip)]
    pub window: Window,
    /// Channel groups (1: every output sees every input channel).
    #[module(skip)]
    pub groups: usize,
}

impl<T: Real> Conv2d<T> {
    /// `inputs` to `outputs` channels with a `kernel` (height, width)
    /// window, with bias, uniform on `±1/sqrt(in * kh * kw)` as PyTorch.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let c = autograd_nn::Conv2d::<f32>::new(1, 4, (5, 5), &mut rng);
    /// assert_eq!(c.weight.value().shape(), &[4, 1, 5, 5]);
    /// ```
    pub fn new<R: Rng + ?Sized>(
        inputs: usize,
        outputs: usize,
        kernel: (usize, usize),
        rng: &mut R,
    ) -> Self {
        Self::grouped(inputs, outputs, kernel, 1, rng)
    }

    /// A grouped convolution (PyTorch's `groups`): weight
    /// `[outputs, inputs / groups, kh, kw]`, each group of outputs seeing
    /// its group of inputs; `groups == inputs == outputs` is depthwise.
    /// Panics naming the sizes if `groups` does not divide both.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let c = autograd_nn::Conv2d::<f32>::grouped(8, 16, (3, 3), 4, &mut rng);
    /// assert_eq!(c.weight.value().shape(), &[16, 2, 3, 3]);
    /// ```
    #[track_caller]
    pub fn grouped<R: Rng + ?Sized>(
        inputs: usize,
        outputs: usize,
        kernel: (usize, usize),
        groups: usize,
        rng: &mut R,
    ) -> Self {
        if groups == 0 || !inputs.is_multiple_of(groups) || !outputs.is_multiple_of(groups) {
            panic!(
                "Conv2d: {groups} groups must divide both {inputs} input and {outputs} output channels"
            );
        }
        let fan_in = inputs / groups * kernel.0 * kernel.1;
        Conv2d {
            weight: Parameter::new(init::torch_default(
                &[outputs, inputs / groups, kernel.0, kernel.1],
                fan_in,
                rng,
            )),
            bias: Some(Parameter::new(init::torch_default(&[outputs], fan_in, rng))),
            window: Window::default(),
            groups,
        }
    }

    /// The step between windows, both axes.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(autograd_nn::Conv2d::<f32>::new(1, 1, (3, 3), &mut rng).stride(2).window.stride, (2, 2));
    /// ```
    pub fn stride(mut self, s: usize) -> Self {
        self.window = self.window.stride(s);
        self
    }

    /// Zeros added on both sides of both axes.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(autograd_nn::Conv2d::<f32>::new(1, 1, (3, 3), &mut rng).padding(1).window.padding, (1, 1));
    /// ```
    pub fn padding(mut self, p: usize) -> Self {
        self.window = self.window.padding(p);
        self
    }

    /// Spacing between kernel taps, both axes.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(autograd_nn::Conv2d::<f32>::new(1, 1, (3, 3), &mut rng).dilation(2).window.dilation, (2, 2));
    /// ```
    pub fn dilation(mut self, d: usize) -> Self {
        self.window = self.window.dilation(d);
        self
    }

    /// Without bias (PyTorch's `bias=False`).
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert!(autograd_nn::Conv2d::<f32>::new(1, 1, (3, 3), &mut rng).no_bias().bias.is_none());
    /// ```
    pub fn no_bias(mut self) -> Self {
        self.bias = None;
        self
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for Conv2d<T> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let w = self.weight.value().shape();
        let shape = x.shape();
        let inputs = w[1] * self.groups;
        if shape.len() != 4 || shape[1] != inputs {
            panic!(
                "Conv2d({}, {}, kernel ({}, {})){}: input must be [N, {}, H, W], got shape {:?}",
                inputs,
                w[0],
                w[2],
                w[3],
                crate::module::location(),
                inputs,
                shape.as_slice()
            );
        }
        let tape = x.tape();
        x.conv2d_groups(
            self.weight.var(tape),
            self.bias.as_ref().map(|b| b.var(tape)),
            self.window,
            self.groups,
        )
    }
}

/// Max pooling over `kernel`-sized windows of `[N, C, H, W]` inputs.
///
/// ```
/// use autograd_core::{Window2d as Window, Tensor, TensorTape};
/// use autograd_nn::{Forward, MaxPool2d};
/// let pool = MaxPool2d { kernel: (2, 2), window: Window::default().stride(2) };
/// let tape = TensorTape::new();
/// let y = pool.forward(tape.constant(Tensor::<f32>::zeros(&[1, 3, 8, 8])));
/// assert_eq!(y.shape().as_slice(), &[1, 3, 4, 4]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MaxPool2d {
    /// Window size.
    pub kernel: (usize, usize),
    /// Stride and padding (padding counts as -inf).
    pub window: Window,
}

/// Average pooling over `kernel`-sized windows (padding counts as zeros).
///
/// ```
/// use autograd_core::{Window2d as Window, Tensor, TensorTape};
/// use autograd_nn::{AvgPool2d, Forward};
/// let pool = AvgPool2d { kernel: (2, 2), window: Window::default().stride(2) };
/// let tape = TensorTape::new();
/// let y = pool.forward(tape.constant(Tensor::<f32>::ones(&[1, 1, 4, 4])));
/// assert_eq!(y.value().to_vec(), vec![1.0; 4]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AvgPool2d {
    /// Window size.
    pub kernel: (usize, usize),
    /// Stride and padding.
    pub window: Window,
}

/// PyTorch's constructor for a pooling layer (stride = kernel, no padding)
/// and the builders for the rest, the same for both kinds.
macro_rules! pool_builders {
    ($ty:ident, $pads:literal, $example:literal) => {
        impl $ty {
            /// Square `kernel`-sized windows with stride = kernel and no
            /// padding, as PyTorch's constructor (its `stride` defaults to the
            /// kernel size).
            ///
            /// ```
            /// use autograd_core::{Tensor, TensorTape};
            #[doc = concat!("use autograd_nn::{", stringify!($ty), ", Forward};")]
            #[doc = concat!("let pool = ", stringify!($ty), "::new(2);")]
            /// let tape = TensorTape::new();
            /// let y = pool.forward(tape.constant(Tensor::<f32>::ones(&[1, 3, 8, 8])));
            /// assert_eq!(y.shape().as_slice(), &[1, 3, 4, 4]);
            #[doc = $example]
            /// ```
            pub fn new(kernel: usize) -> Self {
                $ty {
                    kernel: (kernel, kernel),
                    window: Window::default().stride(kernel),
                }
            }

            /// The step between windows along both axes.
            pub fn stride(mut self, s: usize) -> Self {
                self.window = self.window.stride(s);
                self
            }

            #[doc = concat!("Padding on both sides of both axes (it counts as ", $pads, ").")]
            pub fn padding(mut self, p: usize) -> Self {
                self.window = self.window.padding(p);
                self
            }
        }
    };
}

pool_builders!(
    MaxPool2d,
    "-inf",
    "assert_eq!(MaxPool2d::new(3).stride(1).padding(1).window.stride, (1, 1));"
);
pool_builders!(
    AvgPool2d,
    "zeros",
    "assert_eq!(y.value().to_vec(), vec![1.0; 48]);"
);

impl<'t, T: Real> Forward<TensorVar<'t, T>> for MaxPool2d {
    type Output = TensorVar<'t, T>;
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        x.max_pool2d(self.kernel, self.window)
    }
}

impl<T: Real> Module<T> for MaxPool2d {
    fn visit_parameters(&self, _: &str, _: &mut dyn FnMut(&str, &Parameter<T>)) {}
    fn visit_parameters_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Parameter<T>)) {}
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for AvgPool2d {
    type Output = TensorVar<'t, T>;
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        x.avg_pool2d(self.kernel, self.window)
    }
}

impl<T: Real> Module<T> for AvgPool2d {
    fn visit_parameters(&self, _: &str, _: &mut dyn FnMut(&str, &Parameter<T>)) {}
    fn visit_parameters_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Parameter<T>)) {}
}

/// One LSTM step, PyTorch's `nn.LSTMCell`: gates `i, f, g, o` from
/// `x W_ihᵀ + b_ih + h W_hhᵀ + b_hh`, then `c' = f c + i g`,
/// `h' = o tanh(c')`. Weights `[4H, in]` and `[4H, H]`, all initialised
/// uniform on `±1/sqrt(H)`.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::LstmCell;
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let cell = LstmCell::<f64>::new(3, 5, &mut rng);
/// let tape = TensorTape::new();
/// let (h, c) = cell.zero_state(&tape, 2);
/// let (h, c) = cell.step(tape.constant(Tensor::ones(&[2, 3])), h, c);
/// assert_eq!((h.shape().as_slice(), c.shape().as_slice()), (&[2, 5][..], &[2, 5][..]));
/// ```
#[derive(Clone, Debug)]
pub struct LstmCell<T: Real = f32> {
    /// `[4H, in]`.
    pub weight_ih: Parameter<T>,
    /// `[4H, H]`.
    pub weight_hh: Parameter<T>,
    /// `[4H]`.
    pub bias_ih: Parameter<T>,
    /// `[4H]`.
    pub bias_hh: Parameter<T>,
    hidden: usize,
}

impl<T: Real> LstmCell<T> {
    /// A cell from `inputs` features to `hidden` units.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let cell = autograd_nn::LstmCell::<f32>::new(10, 20, &mut rng);
    /// assert_eq!(cell.weight_ih.value().shape(), &[80, 10]);
    /// ```
    pub fn new<R: Rng + ?Sized>(inputs: usize, hidden: usize, rng: &mut R) -> Self {
        let a = 1.0 / (hidden as f64).sqrt();
        let mut u = |shape: &[usize]| Parameter::new(init::uniform(shape, -a, a, rng));
        LstmCell {
            weight_ih: u(&[4 * hidden, inputs]),
            weight_hh: u(&[4 * hidden, hidden]),
            bias_ih: u(&[4 * hidden]),
            bias_hh: u(&[4 * hidden]),
            hidden,
        }
    }

    /// Zero `(h, c)` for a batch.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let cell = autograd_nn::LstmCell::<f32>::new(2, 3, &mut rng);
    /// let tape = autograd_core::TensorTape::new();
    /// assert_eq!(cell.zero_state(&tape, 4).0.shape().as_slice(), &[4, 3]);
    /// ```
    pub fn zero_state<'t>(
        &self,
        tape: &'t autograd_core::TensorTape<T>,
        batch: usize,
    ) -> (TensorVar<'t, T>, TensorVar<'t, T>) {
        let z = tape.constant(Tensor::zeros(&[batch, self.hidden]));
        (z, z)
    }

    /// One step: `(x [B, in], h [B, H], c [B, H]) -> (h', c')`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let cell = autograd_nn::LstmCell::<f32>::new(1, 2, &mut rng);
    /// let tape = TensorTape::new();
    /// let (h, c) = cell.zero_state(&tape, 1);
    /// let (h, _) = cell.step(tape.constant(Tensor::ones(&[1, 1])), h, c);
    /// assert!(h.value().data().iter().all(|v| v.abs() < 1.0));
    /// ```
    pub fn step<'t>(
        &self,
        x: TensorVar<'t, T>,
        h: TensorVar<'t, T>,
        c: TensorVar<'t, T>,
    ) -> (TensorVar<'t, T>, TensorVar<'t, T>) {
        let tape = x.tape();
        let gates = x
            .matmul_transposed(self.weight_ih.var(tape))
            .add(self.bias_ih.var(tape))
            .add(h.matmul_transposed(self.weight_hh.var(tape)))
            .add(self.bias_hh.var(tape));
        let g4 = gates.chunk(4, 1);
        let (i, f, g, o) = (
            g4[0].sigmoid(),
            g4[1].sigmoid(),
            g4[2].tanh(),
            g4[3].sigmoid(),
        );
        let c2 = f * c + i * g;
        (o * c2.tanh(), c2)
    }

    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Parameter<T>), suffix: &str) {
        f(
            &join(prefix, &format!("weight_ih{suffix}")),
            &self.weight_ih,
        );
        f(
            &join(prefix, &format!("weight_hh{suffix}")),
            &self.weight_hh,
        );
        f(&join(prefix, &format!("bias_ih{suffix}")), &self.bias_ih);
        f(&join(prefix, &format!("bias_hh{suffix}")), &self.bias_hh);
    }

    fn visit_mut(
        &mut self,
        prefix: &str,
        f: &mut dyn FnMut(&str, &mut Parameter<T>),
        suffix: &str,
    ) {
        f(
            &join(prefix, &format!("weight_ih{suffix}")),
            &mut self.weight_ih,
        );
        f(
            &join(prefix, &format!("weight_hh{suffix}")),
            &mut self.weight_hh,
        );
        f(
            &join(prefix, &format!("bias_ih{suffix}")),
            &mut self.bias_ih,
        );
        f(
            &join(prefix, &format!("bias_hh{suffix}")),
            &mut self.bias_hh,
        );
    }
}

/// An LSTM over a sequence `[T, B, in]` (PyTorch's `nn.LSTM`, one layer,
/// `batch_first=False`), giving every step's `h` as `[T, B, H]`. Parameter
/// names are PyTorch's (`weight_ih_l0`, ...).
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Forward, Lstm, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let lstm = Lstm::<f32>::new(4, 6, &mut rng);
/// let tape = TensorTape::new();
/// let out = lstm.forward(tape.constant(Tensor::zeros(&[7, 2, 4])));
/// assert_eq!(out.shape().as_slice(), &[7, 2, 6]);
/// assert!(lstm.state_dict().contains_key("weight_hh_l0"));
/// ```
#[derive(Clone, Debug)]
pub struct Lstm<T: Real = f32> {
    /// The cell applied at every step.
    pub cell: LstmCell<T>,
}

impl<T: Real> Lstm<T> {
    /// A one-layer LSTM.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let _ = autograd_nn::Lstm::<f32>::new(3, 8, &mut rng);
    /// ```
    pub fn new<R: Rng + ?Sized>(inputs: usize, hidden: usize, rng: &mut R) -> Self {
        Lstm {
            cell: LstmCell::new(inputs, hidden, rng),
        }
    }

    /// Runs the sequence from state `(h, c)`; returns all `h` as
    /// `[T, B, H]` and the final `(h, c)`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let lstm = autograd_nn::Lstm::<f32>::new(2, 3, &mut rng);
    /// let tape = TensorTape::new();
    /// let (h, c) = lstm.cell.zero_state(&tape, 1);
    /// let (out, (h, _)) = lstm.run(tape.constant(Tensor::zeros(&[5, 1, 2])), h, c);
    /// assert_eq!(out.narrow(0, 4, 1).value().to_vec(), h.value().to_vec());
    /// ```
    #[track_caller]
    pub fn run<'t>(
        &self,
        x: TensorVar<'t, T>,
        mut h: TensorVar<'t, T>,
        mut c: TensorVar<'t, T>,
    ) -> (TensorVar<'t, T>, (TensorVar<'t, T>, TensorVar<'t, T>)) {
        let shape = x.shape();
        if shape.len() != 3 {
            panic!(
                "Lstm: input must be [T, B, in], got shape {:?}",
                shape.as_slice()
            );
        }
        let mut outs = Vec::with_capacity(shape[0]);
        for t in 0..shape[0] {
            let xt = x.narrow(0, t, 1).squeeze(0);
            (h, c) = self.cell.step(xt, h, c);
            outs.push(h);
        }
        (TensorVar::stack(&outs, 0), (h, c))
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for Lstm<T> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let batch = x.shape().get(1).copied().unwrap_or(0);
        let (h, c) = self.cell.zero_state(x.tape(), batch);
        self.run(x, h, c).0
    }
}

impl<T: Real> Module<T> for Lstm<T> {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
        self.cell.visit(prefix, f, "_l0");
    }
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>)) {
        self.cell.visit_mut(prefix, f, "_l0");
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for LstmCell<T> {
    type Output = TensorVar<'t, T>;
    /// One step from a zero state: `[B, in] -> h [B, H]`.
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let (h, c) = self.zero_state(x.tape(), x.shape()[0]);
        self.step(x, h, c).0
    }
}

impl<T: Real> Module<T> for LstmCell<T> {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
        self.visit(prefix, f, "");
    }
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>)) {
        self.visit_mut(prefix, f, "");
    }
}

/// Multi-head self-attention over `[B, T, E]` inputs (PyTorch's
/// `nn.MultiheadAttention` with `batch_first=True`, query = key = value):
/// a joint input projection `[3E, E]`, scaled dot-product attention per
/// head, an output projection. Optionally causal (each position attends to
/// itself and earlier ones).
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Forward, Module, MultiHeadAttention};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let attn = MultiHeadAttention::<f32>::new(16, 4, true, &mut rng);
/// let tape = TensorTape::new();
/// let y = attn.forward(tape.constant(Tensor::zeros(&[2, 5, 16])));
/// assert_eq!(y.shape().as_slice(), &[2, 5, 16]);
/// let names: Vec<String> = attn.state_dict().keys().cloned().collect();
/// assert_eq!(names, ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]);
/// ```
#[derive(Clone, Debug)]
pub struct MultiHeadAttention<T: Real = f32> {
    /// `[3E, E]`: the query, key and value projections stacked.
    pub in_proj_weight: Parameter<T>,
    /// `[3E]`.
    pub in_proj_bias: Parameter<T>,
    /// The output projection.
    pub out_proj: crate::Linear<T>,
    heads: usize,
    causal: bool,
}

impl<T: Real> MultiHeadAttention<T> {
    /// `heads` heads over width `embed` (which they must divide), Xavier
    /// uniform input projection and zero biases, as PyTorch initialises it.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let a = autograd_nn::MultiHeadAttention::<f32>::new(8, 2, false, &mut rng);
    /// assert_eq!(a.in_proj_weight.value().shape(), &[24, 8]);
    /// ```
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(embed: usize, heads: usize, causal: bool, rng: &mut R) -> Self {
        if heads == 0 || !embed.is_multiple_of(heads) {
            panic!("MultiHeadAttention: {heads} heads do not divide width {embed}");
        }
        let mut out_proj = crate::Linear::new(embed, embed, rng);
        out_proj.bias = Some(Parameter::new(Tensor::zeros(&[embed])));
        MultiHeadAttention {
            in_proj_weight: Parameter::new(init::xavier_uniform(&[3 * embed, embed], 1.0, rng)),
            in_proj_bias: Parameter::new(Tensor::zeros(&[3 * embed])),
            out_proj,
            heads,
            causal,
        }
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for MultiHeadAttention<T> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let shape = x.shape();
        let e = self.in_proj_weight.value().shape()[1];
        if shape.len() != 3 || shape[2] != e {
            panic!(
                "MultiHeadAttention: input must be [B, T, {e}], got shape {:?}",
                shape.as_slice()
            );
        }
        let tape = x.tape();
        let qkv = x.linear(
            self.in_proj_weight.var(tape),
            Some(self.in_proj_bias.var(tape)),
        );
        // One node for the heads' scores, mask, softmax and mixing
        // (autograd-core's `self_attention`): no per-head copies, no
        // permutations, no mask tensor.
        let ctx = qkv.self_attention(self.heads, self.causal);
        self.out_proj.forward(ctx)
    }
}

/// Attention with a key padding mask (PyTorch's `key_padding_mask`):
/// `mask` is `[B, T]`, `true` where a key position is padding that no query
/// may attend to (the causal rule still applies if the layer has it). One
/// node, as without a mask (autograd-core's `self_attention_padded`: the
/// flags are read where they lie, no `[B, T, T]` mask tensor is made); a
/// query whose keys are all masked gets NaN, as in PyTorch.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Forward, MultiHeadAttention};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let attn = MultiHeadAttention::<f64>::new(4, 2, false, &mut rng);
/// let tape = TensorTape::new();
/// let x = Tensor::rand_uniform(&[1, 3, 4], -1.0, 1.0, &mut rng);
/// // The last position is padding: changing it changes nothing before it.
/// let mask = Tensor::from_vec(vec![false, false, true], &[1, 3]);
/// let y = attn.forward((tape.constant(x.clone()), &mask)).value();
/// let mut x2 = x.clone();
/// x2.data_mut()[8..].iter_mut().for_each(|v| *v = 5.0);
/// let y2 = attn.forward((tape.constant(x2), &mask)).value();
/// assert_eq!(y.data()[..8], y2.data()[..8]);
/// ```
impl<'t, 'm, T: Real> Forward<(TensorVar<'t, T>, &'m Tensor<bool>)> for MultiHeadAttention<T> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, (x, mask): (TensorVar<'t, T>, &'m Tensor<bool>)) -> TensorVar<'t, T> {
        let shape = x.shape();
        let e = self.in_proj_weight.value().shape()[1];
        if shape.len() != 3 || shape[2] != e || mask.shape() != [shape[0], shape[1]] {
            panic!(
                "MultiHeadAttention{}: input must be [B, T, {e}] and the padding mask [B, T], got shapes {:?} and {:?}",
                crate::module::location(),
                shape.as_slice(),
                mask.shape()
            );
        }
        let tape = x.tape();
        let qkv = x.linear(
            self.in_proj_weight.var(tape),
            Some(self.in_proj_bias.var(tape)),
        );
        let ctx = qkv.self_attention_padded(self.heads, self.causal, mask);
        self.out_proj.forward(ctx)
    }
}

impl<T: Real> Module<T> for MultiHeadAttention<T> {
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &Parameter<T>)) {
        f(&join(prefix, "in_proj_weight"), &self.in_proj_weight);
        f(&join(prefix, "in_proj_bias"), &self.in_proj_bias);
        self.out_proj.visit_parameters(&join(prefix, "out_proj"), f);
    }
    fn visit_parameters_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Parameter<T>)) {
        f(&join(prefix, "in_proj_weight"), &mut self.in_proj_weight);
        f(&join(prefix, "in_proj_bias"), &mut self.in_proj_bias);
        self.out_proj
            .visit_parameters_mut(&join(prefix, "out_proj"), f);
    }
}
