//! Layers. None contains derivative code: each forward pass is recorded from
//! tensor primitives, and the tape differentiates it.

use std::cell::RefCell;

use autograd_core::{Parameter, Real, Tensor, TensorTape, TensorVar};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::Module;
use crate::init;
use crate::module::{Forward, Sequential};

/// `y = x Wᵀ + b` with PyTorch's layout: weight `[out, in]`, bias `[out]`.
/// Inputs may have any leading axes (`[..., in]`).
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Forward, Linear, Module};
/// let layer = Linear::from_parts(
///     Tensor::from_vec(vec![1.0_f64, 0.0, 0.0, 2.0], &[2, 2]),
///     Some(Tensor::from_vec(vec![0.5, -0.5], &[2])),
/// );
/// let tape = TensorTape::new();
/// let y = layer.forward(tape.constant(Tensor::from_vec(vec![3.0, 4.0], &[1, 2])));
/// assert_eq!(y.value().to_vec(), vec![3.5, 7.5]);
/// ```
#[derive(Clone, Debug, Module)]
pub struct Linear<T: Real = f32> {
    /// `[out, in]`.
    pub weight: Parameter<T>,
    /// `[out]`, if the layer has one.
    pub bias: Option<Parameter<T>>,
}

impl<T: Real> Linear<T> {
    /// A layer with bias, initialised as PyTorch's `nn.Linear`: uniform on
    /// `±1/sqrt(in)`.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let l = autograd_nn::Linear::<f32>::new(64, 128, &mut rng);
    /// assert_eq!(l.weight.value().shape(), &[128, 64]);
    /// ```
    pub fn new<R: Rng + ?Sized>(inputs: usize, outputs: usize, rng: &mut R) -> Self {
        let weight = init::torch_default(&[outputs, inputs], inputs, rng);
        let bias = init::torch_default(&[outputs], inputs, rng);
        Self::from_parts(weight, Some(bias))
    }

    /// A layer without bias, initialised as [`Linear::new`].
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert!(autograd_nn::Linear::<f32>::no_bias(2, 2, &mut rng).bias.is_none());
    /// ```
    pub fn no_bias<R: Rng + ?Sized>(inputs: usize, outputs: usize, rng: &mut R) -> Self {
        Self::from_parts(init::torch_default(&[outputs, inputs], inputs, rng), None)
    }

    /// A layer with given values. Panics unless the weight is 2-d and the
    /// bias matches its rows.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let l = autograd_nn::Linear::from_parts(Tensor::<f32>::zeros(&[3, 2]), None);
    /// assert_eq!(l.weight.value().shape(), &[3, 2]);
    /// ```
    #[track_caller]
    pub fn from_parts(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Self {
        if weight.ndim() != 2 {
            panic!(
                "Linear: the weight must be [out, in], got shape {:?}",
                weight.shape()
            );
        }
        if let Some(b) = &bias
            && b.shape() != [weight.shape()[0]]
        {
            panic!(
                "Linear: the bias must have shape [{}], got {:?}",
                weight.shape()[0],
                b.shape()
            );
        }
        Linear {
            weight: Parameter::new(weight),
            bias: bias.map(Parameter::new),
        }
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for Linear<T> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        let (w, shape) = (self.weight.value().shape(), x.shape());
        if shape.last() != Some(&w[1]) {
            panic!(
                "Linear({} -> {}){}: the input's last axis must have {} features, got shape {:?}",
                w[1],
                w[0],
                crate::module::location(),
                w[1],
                shape.as_slice()
            );
        }
        // One node: the bias is added by the matrix kernel (`linear`).
        let tape = x.tape();
        x.linear(
            self.weight.var(tape),
            self.bias.as_ref().map(|b| b.var(tape)),
        )
    }
}

macro_rules! activation {
    ($(#[$doc:meta])* $name:ident, |$x:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;

        impl<'t, T: Real> Forward<TensorVar<'t, T>> for $name {
            type Output = TensorVar<'t, T>;
            fn forward(&self, $x: TensorVar<'t, T>) -> TensorVar<'t, T> {
                $body
            }
        }

        impl<T: Real> Module<T> for $name {
            fn visit_parameters(&self, _: &str, _: &mut dyn FnMut(&str, &Parameter<T>)) {}
            fn visit_parameters_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Parameter<T>)) {}
        }
    };
}

activation!(
    /// max(x, 0).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use autograd_nn::{Forward, Module, Relu};
    /// let tape = TensorTape::new();
    /// let y = Relu.forward(tape.constant(Tensor::from_vec(vec![-1.0_f32, 2.0], &[2])));
    /// assert_eq!(y.value().to_vec(), vec![0.0, 2.0]);
    /// ```
    Relu,
    |x| x.relu()
);
activation!(
    /// tanh(x).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use autograd_nn::{Forward, Module, Tanh};
    /// let tape = TensorTape::new();
    /// assert_eq!(Tanh.forward(tape.constant(Tensor::<f64>::zeros(&[1]))).item(), 0.0);
    /// ```
    Tanh,
    |x| x.tanh()
);
activation!(
    /// The logistic sigmoid.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use autograd_nn::{Forward, Module, Sigmoid};
    /// let tape = TensorTape::new();
    /// assert_eq!(Sigmoid.forward(tape.constant(Tensor::<f64>::zeros(&[1]))).item(), 0.5);
    /// ```
    Sigmoid,
    |x| x.sigmoid()
);
activation!(
    /// GELU in its tanh form, PyTorch's `nn.GELU(approximate="tanh")`:
    /// `0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use autograd_nn::{Forward, Gelu, Module};
    /// let tape = TensorTape::new();
    /// let y = Gelu.forward(tape.constant(Tensor::from_vec(vec![0.0_f64, 1.0], &[2])));
    /// assert!((y.value().get(&[1]) - 0.8411919906).abs() < 1e-9);
    /// ```
    Gelu,
    // One fused node (autograd-core's `gelu` primitive), not the formula's
    // eight.
    |x| x.gelu(autograd_core::tensor::Gelu::Tanh)
);
activation!(
    /// `[n, ...] -> [n, rest]`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use autograd_nn::{Flatten, Forward, Module};
    /// let tape = TensorTape::new();
    /// let y = Flatten.forward(tape.constant(Tensor::<f32>::zeros(&[2, 3, 4])));
    /// assert_eq!(y.shape().as_slice(), &[2, 12]);
    /// ```
    Flatten,
    |x| x.flatten()
);

/// The activation between the layers of an [`mlp`].
///
/// ```
/// let a = autograd_nn::Activation::Relu;
/// assert_ne!(a, autograd_nn::Activation::Tanh);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// [`Relu`].
    Relu,
    /// [`Tanh`].
    Tanh,
    /// [`Sigmoid`].
    Sigmoid,
    /// [`Gelu`].
    Gelu,
}

/// A multi-layer perceptron: [`Linear`] layers of the given widths with
/// `activation` between them (not after the last), as an [`Sequential`]
/// whose parameter names match PyTorch's (`0.weight`, `2.weight`, ...).
///
/// ```
/// use autograd_nn::{mlp, Activation, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = mlp::<f32, _>(&[64, 128, 128, 10], Activation::Relu, &mut rng);
/// assert_eq!(model.num_parameters(), 64 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10);
/// assert!(model.state_dict().contains_key("4.bias"));
/// ```
#[track_caller]
pub fn mlp<T: Real, R: Rng + ?Sized>(
    widths: &[usize],
    activation: Activation,
    rng: &mut R,
) -> Sequential<T> {
    if widths.len() < 2 {
        panic!("mlp: needs at least an input and an output width, got {widths:?}");
    }
    let mut s = Sequential::new();
    for (i, w) in widths.windows(2).enumerate() {
        s = s.push(Linear::new(w[0], w[1], rng));
        if i + 2 < widths.len() {
            s = match activation {
                Activation::Relu => s.push(Relu),
                Activation::Tanh => s.push(Tanh),
                Activation::Sigmoid => s.push(Sigmoid),
                Activation::Gelu => s.push(Gelu),
            };
        }
    }
    s
}

/// Zeroes each element with probability `p` while training and scales the
/// rest by `1/(1-p)`; the identity in evaluation mode. Seeded.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Dropout, Forward, Module};
/// let mut d = Dropout::new(0.5, 7);
/// let tape = TensorTape::new();
/// let y = d.forward(tape.constant(Tensor::<f32>::ones(&[1000])));
/// assert!(y.value().data().iter().all(|&v| v == 0.0 || v == 2.0));
/// Module::<f32>::eval(&mut d);
/// assert_eq!(d.forward(tape.constant(Tensor::<f32>::ones(&[3]))).value().to_vec(), vec![1.0; 3]);
/// ```
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    training: bool,
    rng: RefCell<StdRng>,
}

impl Dropout {
    /// Dropout with probability `p` in `[0, 1)`, its masks drawn from a
    /// generator seeded with `seed`. Starts in training mode.
    ///
    /// ```
    /// let d = autograd_nn::Dropout::new(0.1, 0);
    /// assert_eq!(d.p(), 0.1);
    /// ```
    #[track_caller]
    pub fn new(p: f64, seed: u64) -> Self {
        if !(0.0..1.0).contains(&p) {
            panic!("Dropout: p must be in [0, 1), got {p}");
        }
        Dropout {
            p,
            training: true,
            rng: RefCell::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The drop probability.
    ///
    /// ```
    /// assert_eq!(autograd_nn::Dropout::new(0.25, 0).p(), 0.25);
    /// ```
    pub fn p(&self) -> f64 {
        self.p
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for Dropout {
    type Output = TensorVar<'t, T>;
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        if !self.training || self.p == 0.0 {
            return x;
        }
        let keep = T::from_f64(1.0 / (1.0 - self.p));
        let mut rng = self.rng.borrow_mut();
        let shape = x.shape();
        let mask: Vec<T> = (0..shape.iter().product())
            .map(|_| {
                if rng.random::<f64>() < self.p {
                    T::ZERO
                } else {
                    keep
                }
            })
            .collect();
        x.mul(x.tape().constant(Tensor::from_vec(mask, &shape)))
    }
}

impl<T: Real> Module<T> for Dropout {
    fn visit_parameters(&self, _: &str, _: &mut dyn FnMut(&str, &Parameter<T>)) {}
    fn visit_parameters_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Parameter<T>)) {}
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// A lookup table of `num` vectors of length `dim` (initialised N(0, 1), as
/// PyTorch's). Its gradient reaches only the rows looked up.
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Embedding, Module};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let emb = Embedding::<f64>::new(10, 4, &mut rng);
/// let tape = TensorTape::new();
/// let ids = Tensor::from_vec(vec![3_usize, 3, 7], &[3]);
/// let out = emb.lookup(&tape, &ids);
/// assert_eq!(out.shape().as_slice(), &[3, 4]);
/// let g = emb.gradients(&out.sum().backward());
/// assert_eq!(g["weight"].get(&[3, 0]), 2.0); // row 3 was used twice
/// assert_eq!(g["weight"].get(&[0, 0]), 0.0);
/// ```
#[derive(Clone, Debug, Module)]
pub struct Embedding<T: Real = f32> {
    /// `[num, dim]`.
    pub weight: Parameter<T>,
}

impl<T: Real> Embedding<T> {
    /// `num` random vectors of length `dim`.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert_eq!(autograd_nn::Embedding::<f32>::new(5, 3, &mut rng).weight.value().shape(), &[5, 3]);
    /// ```
    pub fn new<R: Rng + ?Sized>(num: usize, dim: usize, rng: &mut R) -> Self {
        Embedding {
            weight: Parameter::new(init::normal(&[num, dim], 0.0, 1.0, rng)),
        }
    }

    /// The rows for `ids` (any shape), giving `ids.shape() + [dim]`. Panics
    /// naming the id if one is out of range.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let emb = autograd_nn::Embedding::<f32>::new(5, 3, &mut rng);
    /// let tape = TensorTape::new();
    /// let ids = Tensor::from_vec(vec![0_usize, 1, 2, 3], &[2, 2]);
    /// assert_eq!(emb.lookup(&tape, &ids).shape().as_slice(), &[2, 2, 3]);
    /// ```
    #[track_caller]
    pub fn lookup<'t>(&self, tape: &'t TensorTape<T>, ids: &Tensor<usize>) -> TensorVar<'t, T> {
        let dim = self.weight.value().shape()[1];
        let mut shape = ids.shape().to_vec();
        shape.push(dim);
        self.weight
            .var(tape)
            .index_select(0, ids.data())
            .reshape(&shape)
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for Embedding<T> {
    type Output = TensorVar<'t, T>;
    /// Looks up ids given as whole numbers in a float tensor (so an embedding
    /// can sit in a [`Sequential`]); panics on a value that is not one, or
    /// is not below the number of rows. The ids variable is an input of the
    /// recorded lookup (autograd-core's `embedding` primitive), so a replay
    /// with new ids looks up the new rows.
    #[track_caller]
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        self.weight.var(x.tape()).embedding(x)
    }
}

/// Looks up typed token ids (see [`TokenIds`]).
impl<'t, T: Real> Forward<TokenIds<'t, T>> for Embedding<T> {
    type Output = TensorVar<'t, T>;
    #[track_caller]
    fn forward(&self, ids: TokenIds<'t, T>) -> TensorVar<'t, T> {
        self.weight.var(ids.tape()).embedding(ids.var())
    }
}

/// Integer token ids as an input of a recording: the typed input of
/// [`Embedding`] and of token models (a GPT's `forward` takes `TokenIds`,
/// not floats). Held on the tape as whole-number values, so
/// [`TokenIds::replay_with`] gives the pair [`TensorTape::replay`] takes
/// to run the recording again on new ids (index tensors given to
/// `index_select`/`gather` are instead fixed parts of a recording).
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Embedding, Forward, TokenIds};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let emb = Embedding::<f64>::new(10, 4, &mut rng);
/// let tape = TensorTape::new();
/// let ids = TokenIds::new(&tape, &Tensor::from_vec(vec![1_usize, 2, 3], &[3]));
/// let out = emb.forward(ids);
/// assert_eq!(out.shape().as_slice(), &[3, 4]);
/// tape.replay(&[ids.replay_with(&Tensor::from_vec(vec![7, 7, 0], &[3]))]).unwrap();
/// assert_eq!(out.value().get(&[0, 2]), emb.weight.value().get(&[7, 2]));
/// ```
#[derive(Clone, Copy)]
pub struct TokenIds<'t, T: Real = f32> {
    var: TensorVar<'t, T>,
}

impl<'t, T: Real> TokenIds<'t, T> {
    /// Records `ids` (any shape) on `tape`. Panics if an id cannot be held
    /// exactly by `T` (above 2^24 in f32).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::<f32>::new();
    /// let ids = autograd_nn::TokenIds::new(&tape, &Tensor::from_vec(vec![0_usize, 5], &[1, 2]));
    /// assert_eq!(ids.shape(), &[1, 2]);
    /// ```
    #[track_caller]
    pub fn new(tape: &'t TensorTape<T>, ids: &Tensor<usize>) -> Self {
        TokenIds {
            var: tape.constant(Self::as_values(ids)),
        }
    }

    #[track_caller]
    fn as_values(ids: &Tensor<usize>) -> Tensor<T> {
        let values = ids.data().iter().map(|&i| {
            let v = T::from_f64(i as f64);
            if v.to_f64() != i as f64 {
                panic!("TokenIds: id {i} cannot be held exactly by the tape's float type");
            }
            v
        });
        Tensor::from_vec(values.collect(), ids.shape())
    }

    /// The ids' variable (whole-number values), for primitives such as
    /// `embedding`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::<f32>::new();
    /// let ids = autograd_nn::TokenIds::new(&tape, &Tensor::from_vec(vec![4_usize], &[1]));
    /// assert_eq!(ids.var().value().to_vec(), vec![4.0]);
    /// ```
    pub fn var(self) -> TensorVar<'t, T> {
        self.var
    }

    /// The tape they are recorded on.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::<f32>::new();
    /// let ids = autograd_nn::TokenIds::new(&tape, &Tensor::from_vec(vec![4_usize], &[1]));
    /// assert_eq!(ids.tape().len(), 1);
    /// ```
    pub fn tape(self) -> &'t TensorTape<T> {
        self.var.tape()
    }

    /// The ids' shape (a model's batch and time axes).
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::<f32>::new();
    /// let ids = autograd_nn::TokenIds::new(&tape, &Tensor::from_vec(vec![1_usize, 2, 3, 4], &[2, 2]));
    /// assert_eq!(ids.shape(), &[2, 2]);
    /// ```
    pub fn shape(self) -> Vec<usize> {
        self.var.shape().to_vec()
    }

    /// The input pair for [`TensorTape::replay`] that puts `new` (the same
    /// shape) in place of these ids.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::<f32>::new();
    /// let ids = autograd_nn::TokenIds::new(&tape, &Tensor::from_vec(vec![4_usize], &[1]));
    /// tape.replay(&[ids.replay_with(&Tensor::from_vec(vec![9], &[1]))]).unwrap();
    /// assert_eq!(ids.var().value().to_vec(), vec![9.0]);
    /// ```
    #[track_caller]
    pub fn replay_with(self, new: &Tensor<usize>) -> (TensorVar<'t, T>, Tensor<T>) {
        (self.var, Self::as_values(new))
    }
}

/// Normalises over the last axis to mean 0 and variance 1 (population
/// variance, plus `eps`), then scales and shifts by learned `[dim]` vectors
/// (PyTorch's `nn.LayerNorm(dim)`).
///
/// ```
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{Forward, LayerNorm, Module};
/// let ln = LayerNorm::<f64>::new(4);
/// let tape = TensorTape::new();
/// let y = ln.forward(tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4])));
/// assert!(y.value().sum().item().abs() < 1e-12);
/// ```
#[derive(Clone, Debug, Module)]
pub struct LayerNorm<T: Real = f32> {
    /// Scale, `[dim]`, initially ones.
    pub weight: Parameter<T>,
    /// Shift, `[dim]`, initially zeros.
    pub bias: Parameter<T>,
    /// Added to the variance (1e-5 by default).
    #[module(skip)]
    pub eps: f64,
}

impl<T: Real> LayerNorm<T> {
    /// Over a last axis of length `dim`.
    ///
    /// ```
    /// assert_eq!(autograd_nn::LayerNorm::<f32>::new(8).eps, 1e-5);
    /// ```
    pub fn new(dim: usize) -> Self {
        LayerNorm {
            weight: Parameter::new(Tensor::ones(&[dim])),
            bias: Parameter::new(Tensor::zeros(&[dim])),
            eps: 1e-5,
        }
    }
}

impl<'t, T: Real> Forward<TensorVar<'t, T>> for LayerNorm<T> {
    type Output = TensorVar<'t, T>;
    fn forward(&self, x: TensorVar<'t, T>) -> TensorVar<'t, T> {
        // One fused node (autograd-core's `layer_norm` primitive).
        let tape = x.tape();
        let (w, b) = (self.weight.var(tape), self.bias.var(tape));
        let dim = w.shape()[0];
        x.layer_norm(&[dim], Some(w), Some(b), T::from_f64(self.eps))
    }
}
