//! Learning-rate schedules (pure functions of the step) and gradient
//! clipping.

use autograd_core::Real;

use crate::module::ParamGrads;

/// A learning rate as a function of the step (or epoch) count, from 0.
/// A schedule keeps no state of its own: driven by
/// [`Optimizer::steps`](crate::Optimizer::steps), which the optimizer's state saves, it resumes
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
