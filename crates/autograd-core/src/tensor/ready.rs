//! Gradients handed out as the reverse sweep completes them: what lets a
//! data-parallel trainer start exchanging the last layer's gradients while
//! the sweep is still working on the first layer's.

use super::tape::TensorTape;
use super::value::Tensor;
use super::var::TensorVar;
use crate::Real;

impl<T: Real> TensorTape<T> {
    /// [`TensorTape::grad`], calling `ready(k, gradient)` the moment the
    /// gradient of `inputs[k]` is complete. A variable's adjoint is complete
    /// when the reverse sweep reaches it (every use of it comes later on the
    /// tape), so for a network whose parameters enter the tape layer by layer
    /// the last layer's gradients are ready first, long before the sweep
    /// ends. Each `k` is reported exactly once: inputs the output does not
    /// depend on get zeros after the sweep. Returns the gradients, bit for
    /// bit those of `grad`.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let w1 = tape.leaf(Tensor::from_vec(vec![0.5_f64, -1.0], &[2]));
    /// let h = w1.tanh();
    /// let w2 = tape.leaf(Tensor::from_vec(vec![2.0_f64, 3.0], &[2]));
    /// let unused = tape.leaf(Tensor::scalar(1.0_f64));
    /// let loss = (h * w2).sum();
    /// let mut order = Vec::new();
    /// let grads = tape.grad_with(loss, &[w1, w2, unused], |k, g| order.push((k, g.to_vec())));
    /// // w2 is used last, so its gradient is complete first.
    /// assert_eq!(order.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [1, 0, 2]);
    /// assert_eq!(order[2].1, vec![0.0]);
    /// assert_eq!(grads, tape.grad(loss, &[w1, w2, unused]));
    /// ```
    #[track_caller]
    pub fn grad_with(
        &self,
        output: TensorVar<'_, T>,
        inputs: &[TensorVar<'_, T>],
        mut ready: impl FnMut(usize, &Tensor<T>),
    ) -> Vec<Tensor<T>> {
        self.check_var("grad_with", output);
        for &x in inputs {
            self.check_var("grad_with", x);
        }
        let seed = super::sweep::scalar_seed("grad_with", output);
        // (node, position in `inputs`), sorted by node: an input listed
        // twice is reported under both positions.
        let mut wanted: Vec<(u32, usize)> = inputs
            .iter()
            .enumerate()
            .map(|(k, x)| (x.index, k))
            .collect();
        wanted.sort_unstable();
        let mut reported = vec![false; inputs.len()];
        let mut kept = Vec::new();
        self.sweep(
            output.index,
            seed,
            |i, _| {
                wanted
                    .binary_search_by_key(&(i as u32), |&(n, _)| n)
                    .is_ok()
            },
            &mut kept,
            |i, g| {
                let first = wanted.partition_point(|&(n, _)| n < i);
                for &(_, k) in wanted[first..].iter().take_while(|&&(n, _)| n == i) {
                    reported[k] = true;
                    ready(k, g);
                }
            },
        );
        inputs
            .iter()
            .enumerate()
            .map(
                |(k, x)| match kept.binary_search_by_key(&x.index, |(i, _)| *i) {
                    Ok(j) => kept[j].1.clone().expect("kept adjoint"),
                    Err(_) => {
                        let zeros = Tensor::zeros(&x.shape());
                        if !reported[k] {
                            ready(k, &zeros);
                        }
                        zeros
                    }
                },
            )
            .collect()
    }
}
