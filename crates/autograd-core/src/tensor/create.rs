//! Making tensors: zeros, ones, ranges, the identity, random values, casts
//! and comparisons of whole tensors.

use rand::Rng;

use super::shape::{Shape, fmt_shape, numel};
use super::value::Tensor;
use crate::Real;

impl<T: Real> Tensor<T> {
    /// Zeros.
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f64>::zeros(&[2, 3]);
    /// assert_eq!(t.to_vec(), vec![0.0; 6]);
    /// ```
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::ZERO)
    }

    /// Ones.
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::ones(&[3]);
    /// assert_eq!(t.to_vec(), vec![1.0; 3]);
    /// ```
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::ONE)
    }

    /// `0, 1, ..., n-1` as a 1-d tensor.
    ///
    /// ```
    /// assert_eq!(autograd_core::Tensor::<f32>::arange(4).to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
    /// ```
    pub fn arange(n: usize) -> Self {
        Self::from_parts(
            Shape::from_slice(&[n]),
            (0..n).map(|i| T::from_f64(i as f64)).collect(),
        )
    }

    /// `start, start + step, ...` up to but excluding `end`, like
    /// `torch.arange(start, end, step)`. Panics if `step` is 0 or not finite.
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f64>::arange_step(1.0, 2.0, 0.25);
    /// assert_eq!(t.to_vec(), vec![1.0, 1.25, 1.5, 1.75]);
    /// ```
    #[track_caller]
    pub fn arange_step(start: f64, end: f64, step: f64) -> Self {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            panic!(
                "arange_step: start {start}, end {end}, step {step}: step must be finite and non-zero, bounds finite"
            );
        }
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        Self::from_parts(
            Shape::from_slice(&[n]),
            (0..n)
                .map(|i| T::from_f64(start + i as f64 * step))
                .collect(),
        )
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive.
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::linspace(0.0, 1.0, 5);
    /// assert_eq!(t.to_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    /// ```
    pub fn linspace(start: f64, end: f64, steps: usize) -> Self {
        let data = (0..steps)
            .map(|i| {
                if steps == 1 {
                    T::from_f64(start)
                } else {
                    T::from_f64(start + (end - start) * i as f64 / (steps - 1) as f64)
                }
            })
            .collect();
        Self::from_parts(Shape::from_slice(&[steps]), data)
    }

    /// The `n` by `n` identity matrix.
    ///
    /// ```
    /// let t = autograd_core::Tensor::<f32>::eye(2);
    /// assert_eq!(t.to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    pub fn eye(n: usize) -> Self {
        let mut data = vec![T::ZERO; n * n];
        for i in 0..n {
            data[i * n + i] = T::ONE;
        }
        Self::from_parts(Shape::from_slice(&[n, n]), data)
    }

    /// Independent uniform samples from `[low, high)`.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let t = autograd_core::Tensor::<f32>::rand_uniform(&[100], -1.0, 1.0, &mut rng);
    /// assert!(t.data().iter().all(|&x| (-1.0..1.0).contains(&x)));
    /// ```
    pub fn rand_uniform<R: Rng + ?Sized>(
        shape: &[usize],
        low: f64,
        high: f64,
        rng: &mut R,
    ) -> Self {
        let data = (0..numel(shape))
            .map(|_| T::from_f64(low + (high - low) * rng.random::<f64>()))
            .collect();
        Self::from_parts(Shape::from_slice(shape), data)
    }

    /// Independent normal samples with the given mean and standard deviation
    /// (Box–Muller on the generator's uniform draws).
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let t = autograd_core::Tensor::<f64>::rand_normal(&[10_000], 2.0, 0.5, &mut rng);
    /// let mean = t.data().iter().sum::<f64>() / 10_000.0;
    /// assert!((mean - 2.0).abs() < 0.02);
    /// ```
    pub fn rand_normal<R: Rng + ?Sized>(shape: &[usize], mean: f64, std: f64, rng: &mut R) -> Self {
        let n = numel(shape);
        let mut data = Vec::with_capacity(n);
        while data.len() < n {
            // 1 - u keeps the logarithm's argument in (0, 1].
            let u1 = 1.0 - rng.random::<f64>();
            let u2 = rng.random::<f64>();
            let r = (-2.0 * u1.ln()).sqrt();
            let t = std::f64::consts::TAU * u2;
            data.push(T::from_f64(mean + std * r * t.cos()));
            if data.len() < n {
                data.push(T::from_f64(mean + std * r * t.sin()));
            }
        }
        Self::from_parts(Shape::from_slice(shape), data)
    }

    /// Standard normal samples (`torch.randn`).
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    /// assert_eq!(autograd_core::Tensor::<f32>::randn(&[3, 4], &mut rng).shape(), &[3, 4]);
    /// ```
    pub fn randn<R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Self {
        Self::rand_normal(shape, 0.0, 1.0, rng)
    }

    /// The same values in another float type.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![0.5_f64], &[1]).cast::<f32>();
    /// assert_eq!(t.to_vec(), vec![0.5_f32]);
    /// ```
    pub fn cast<U: Real>(&self) -> Tensor<U> {
        self.map(|x| U::from_f64(x.to_f64()))
    }

    /// True when shapes match and `|a - b| <= atol + rtol * |b|` everywhere
    /// (NaN equals nothing).
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f64, 2.0], &[2]);
    /// assert!(a.allclose(&(&a + 1e-9), 1e-6, 0.0));
    /// ```
    pub fn allclose(&self, other: &Self, rtol: f64, atol: f64) -> bool {
        self.shape() == other.shape()
            && self.data().iter().zip(other.data().iter()).all(|(&a, &b)| {
                let (a, b) = (a.to_f64(), b.to_f64());
                (a - b).abs() <= atol + rtol * b.abs()
            })
    }

    /// The largest absolute difference between two tensors of the same shape.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0_f64, 2.0], &[2]);
    /// let b = Tensor::from_vec(vec![1.5_f64, 2.0], &[2]);
    /// assert_eq!(a.max_abs_diff(&b), 0.5);
    /// ```
    #[track_caller]
    pub fn max_abs_diff(&self, other: &Self) -> f64 {
        if self.shape() != other.shape() {
            panic!(
                "max_abs_diff: shapes {} and {} differ",
                fmt_shape(self.shape()),
                fmt_shape(other.shape())
            );
        }
        self.data()
            .iter()
            .zip(other.data().iter())
            .map(|(&a, &b)| (a.to_f64() - b.to_f64()).abs())
            .fold(0.0, f64::max)
    }
}
