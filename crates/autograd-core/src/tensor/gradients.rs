//! The ways to ask the tape for gradients on plain tensors: `vjp`, `grad`,
//! `grad_into` (reusing buffers across replays) and `grad_with` (each
//! gradient handed out the moment the sweep completes it: what lets a
//! data-parallel trainer exchange the last layer's gradients while the
//! sweep works on the first layer's). All run `sweep` (sweep.rs).

use super::pool;
use super::shape::fmt_shape;
use super::sweep::{check_scalar_output, scalar_seed};
use super::tape::{Op, TensorTape};
use super::value::Tensor;
use super::var::{TensorGradients, TensorVar};
use crate::Real;

impl<T: Real> TensorTape<T> {
    /// Gradients of `output` (seeded with `seed`, the output's shape) with
    /// respect to every leaf: a vector-Jacobian product.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let y = x.square();
    /// let g = tape.vjp(y, &Tensor::from_vec(vec![1.0, 10.0], &[2]));
    /// assert_eq!(g[x].to_vec(), vec![2.0, 40.0]);
    /// ```
    #[track_caller]
    pub fn vjp(&self, output: TensorVar<'_, T>, seed: &Tensor<T>) -> TensorGradients<T> {
        self.check_var("vjp", output);
        let shape = output.shape();
        if seed.shape() != shape.as_slice() {
            panic!(
                "vjp: the seed has shape {} but the output has shape {}",
                fmt_shape(seed.shape()),
                fmt_shape(&shape)
            );
        }
        let mut grads = Vec::new();
        self.sweep(
            output.index,
            seed.clone(),
            |_, node| matches!(node.op, Op::Leaf),
            &mut grads,
            |_, _| {},
        );
        TensorGradients {
            tape_id: self.id(),
            grads,
        }
    }

    /// Gradients of a scalar (one-element) `output` with respect to
    /// `inputs`, each with its input's shape; zeros for an input the output
    /// does not depend on.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let a = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let b = tape.leaf(Tensor::scalar(3.0_f64));
    /// let h = a.mul(b); // intermediate variables may be asked for too
    /// let loss = h.sum();
    /// let [ga, gb, gh] = tape.grad(loss, &[a, b, h]).try_into().unwrap();
    /// assert_eq!((ga.to_vec(), gb.item(), gh.to_vec()), (vec![3.0, 3.0], 3.0, vec![1.0, 1.0]));
    /// ```
    #[track_caller]
    pub fn grad(&self, output: TensorVar<'_, T>, inputs: &[TensorVar<'_, T>]) -> Vec<Tensor<T>> {
        self.check_var("grad", output);
        let seed = scalar_seed("grad", output);
        let mut wanted: Vec<u32> = inputs.iter().map(|x| x.index).collect();
        for &x in inputs {
            self.check_var("grad", x);
        }
        wanted.sort_unstable();
        let mut grads = Vec::new();
        self.sweep(
            output.index,
            seed,
            |i, _| wanted.binary_search(&(i as u32)).is_ok(),
            &mut grads,
            |_, _| {},
        );
        inputs
            .iter()
            .map(
                |x| match grads.binary_search_by_key(&x.index, |(i, _)| *i) {
                    Ok(k) => grads[k].1.clone().expect("kept adjoint"),
                    Err(_) => Tensor::zeros(&x.shape()),
                },
            )
            .collect()
    }

    /// [`TensorTape::grad`] into `grads`, reusing its buffers: on return
    /// `grads[k]` is d`output`/d`inputs[k]`. The buffers `grads` held go to
    /// the tape's pool, which the sweep's VJPs draw their outputs from; so a
    /// loop that replays a recording ([`TensorTape::replay`]) and calls this
    /// with the same `grads` each time reaches a steady state in which
    /// neither the replay nor the sweep allocates (the matrix kernel's own
    /// workspace aside). Results are those of `grad`, bit for bit.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let w = tape.leaf(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
    /// let x = tape.constant(Tensor::from_vec(vec![3.0, 4.0], &[2]));
    /// let loss = (w * x).sum();
    /// let mut grads = Vec::new();
    /// for step in 0..3 {
    ///     tape.replay(&[(x, Tensor::from_vec(vec![step as f64, 1.0], &[2]))]).unwrap();
    ///     tape.grad_into(loss, &[w], &mut grads);
    ///     assert_eq!(grads[0].to_vec(), vec![step as f64, 1.0]);
    /// }
    /// ```
    #[track_caller]
    pub fn grad_into(
        &self,
        output: TensorVar<'_, T>,
        inputs: &[TensorVar<'_, T>],
        grads: &mut Vec<Tensor<T>>,
    ) {
        self.check_var("grad_into", output);
        for &x in inputs {
            self.check_var("grad_into", x);
        }
        let shape = output.shape();
        check_scalar_output("grad_into", &shape);
        let seed = {
            let mut pool = self.pool.borrow_mut();
            pool::ready(&mut pool);
            for t in grads.drain(..) {
                pool::give(&mut pool, t);
            }
            let mut seed = pool::take(&mut pool, &shape);
            pool::unique(&mut seed).fill(T::ONE);
            seed
        };
        let mut scratch = self.scratch.borrow_mut();
        let (wanted, kept) = &mut *scratch;
        wanted.clear();
        wanted.extend(inputs.iter().map(|x| x.index));
        wanted.sort_unstable();
        self.sweep(
            output.index,
            seed,
            |i, _| wanted.binary_search(&(i as u32)).is_ok(),
            kept,
            |_, _| {},
        );
        let mut pool = self.pool.borrow_mut();
        for x in inputs {
            grads.push(match kept.binary_search_by_key(&x.index, |(i, _)| *i) {
                // A clone: an input listed twice gets the same gradient.
                Ok(k) => kept[k].1.clone().expect("kept adjoint"),
                Err(_) => {
                    let mut zeros = pool::take(&mut pool, &x.shape());
                    pool::unique(&mut zeros).fill(T::ZERO);
                    zeros
                }
            });
        }
        // Dropping the sweep's references leaves `grads` the only holder.
        kept.clear();
    }

    /// Frees the buffers the tape keeps for reuse: the gradient buffers kept
    /// between sweeps (at most 32; see [`TensorTape::grad_into`]) and the
    /// values of the last cleared recording ([`TensorTape::clear`]). The
    /// recording itself stays.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let x = tape.leaf(Tensor::<f32>::ones(&[1000]));
    /// let _ = (x * x).sum().backward();
    /// tape.release_buffers();
    /// ```
    pub fn release_buffers(&self) {
        *self.pool.borrow_mut() = Vec::new();
        self.inner.borrow_mut().spare = Default::default();
    }

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
        let seed = scalar_seed("grad_with", output);
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
