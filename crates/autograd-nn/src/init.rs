//! Parameter initialisation, seeded through `rand` so runs are reproducible.
//! Fan-in and fan-out follow PyTorch: for a weight of shape `[out, in, k...]`
//! fan_in = in * k..., fan_out = out * k....

use autograd_core::{Real, Tensor};
use rand::Rng;

/// (fan_in, fan_out) of a weight shape `[out, in, kernel...]`.
///
/// ```
/// assert_eq!(autograd_nn::init::fans(&[128, 64]), (64, 128));
/// assert_eq!(autograd_nn::init::fans(&[8, 3, 5, 5]), (75, 200));
/// ```
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [out, inp, rest @ ..] => {
            let k: usize = rest.iter().product();
            (inp * k, out * k)
        }
    }
}

/// Uniform on `[low, high)`.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let t = autograd_nn::init::uniform::<f32, _>(&[100], -0.1, 0.1, &mut rng);
/// assert!(t.data().iter().all(|x| x.abs() <= 0.1));
/// ```
pub fn uniform<T: Real, R: Rng + ?Sized>(
    shape: &[usize],
    low: f64,
    high: f64,
    rng: &mut R,
) -> Tensor<T> {
    Tensor::rand_uniform(shape, low, high, rng)
}

/// Normal with mean and standard deviation.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// assert_eq!(autograd_nn::init::normal::<f32, _>(&[3], 0.0, 1.0, &mut rng).shape(), &[3]);
/// ```
pub fn normal<T: Real, R: Rng + ?Sized>(
    shape: &[usize],
    mean: f64,
    std: f64,
    rng: &mut R,
) -> Tensor<T> {
    Tensor::rand_normal(shape, mean, std, rng)
}

/// Glorot/Xavier uniform: bound `gain * sqrt(6 / (fan_in + fan_out))`.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let t = autograd_nn::init::xavier_uniform::<f64, _>(&[10, 20], 1.0, &mut rng);
/// assert!(t.data().iter().all(|x| x.abs() <= (6.0_f64 / 30.0).sqrt()));
/// ```
pub fn xavier_uniform<T: Real, R: Rng + ?Sized>(
    shape: &[usize],
    gain: f64,
    rng: &mut R,
) -> Tensor<T> {
    let (fi, fo) = fans(shape);
    let a = gain * (6.0 / (fi + fo) as f64).sqrt();
    uniform(shape, -a, a, rng)
}

/// Glorot/Xavier normal: std `gain * sqrt(2 / (fan_in + fan_out))`.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// assert_eq!(autograd_nn::init::xavier_normal::<f32, _>(&[4, 4], 1.0, &mut rng).numel(), 16);
/// ```
pub fn xavier_normal<T: Real, R: Rng + ?Sized>(
    shape: &[usize],
    gain: f64,
    rng: &mut R,
) -> Tensor<T> {
    let (fi, fo) = fans(shape);
    normal(shape, 0.0, gain * (2.0 / (fi + fo) as f64).sqrt(), rng)
}

/// Kaiming/He uniform for ReLU layers: bound `sqrt(6 / fan_in)` (gain √2).
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let t = autograd_nn::init::kaiming_uniform::<f64, _>(&[8, 6], &mut rng);
/// assert!(t.data().iter().all(|x| x.abs() <= 1.0));
/// ```
pub fn kaiming_uniform<T: Real, R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Tensor<T> {
    let (fi, _) = fans(shape);
    let a = (6.0 / fi as f64).sqrt();
    uniform(shape, -a, a, rng)
}

/// Kaiming/He normal for ReLU layers: std `sqrt(2 / fan_in)`.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// assert_eq!(autograd_nn::init::kaiming_normal::<f32, _>(&[2, 2], &mut rng).shape(), &[2, 2]);
/// ```
pub fn kaiming_normal<T: Real, R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Tensor<T> {
    let (fi, _) = fans(shape);
    normal(shape, 0.0, (2.0 / fi as f64).sqrt(), rng)
}

/// PyTorch's default for `nn.Linear` and `nn.Conv2d` weights and biases:
/// uniform on `±1/sqrt(fan_in)` (its `kaiming_uniform_(a=√5)` works out to
/// this bound), where `fan_in` is the weight's.
///
/// ```
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let w = autograd_nn::init::torch_default::<f32, _>(&[128, 64], 64, &mut rng);
/// assert!(w.data().iter().all(|x| x.abs() <= 0.125));
/// ```
pub fn torch_default<T: Real, R: Rng + ?Sized>(
    shape: &[usize],
    fan_in: usize,
    rng: &mut R,
) -> Tensor<T> {
    let a = 1.0 / (fan_in as f64).sqrt();
    uniform(shape, -a, a, rng)
}
