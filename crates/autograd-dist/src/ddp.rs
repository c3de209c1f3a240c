//! The trainer's side of data parallelism: one model per rank, gradients
//! averaged in buckets that go on the wire while the reverse sweep runs.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

use autograd_core::{Real, Tensor, TensorVar};
use autograd_nn::{Module, Optimizer, OptimizerState, ParamGrads};
use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::request::{LocalScope, Request};
use mpi::traits::*;

use crate::{BucketPlan, DistError, World, describe};

/// Where the time of [`Ddp::backward`] went, summed over the steps so far.
///
/// ```no_run
/// # let world = autograd_dist::World::init().unwrap();
/// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
/// # let mut model = autograd_nn::mlp::<f32, _>(&[2, 2], autograd_nn::Activation::Relu, &mut rng);
/// let ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap();
/// let s = ddp.stats();
/// println!("{} steps, {:.3} s waiting for the allreduce", s.steps, s.wait_seconds);
/// ```
#[derive(Clone, Debug, Default)]
pub struct DdpStats {
    /// Calls of [`Ddp::backward`].
    pub steps: usize,
    /// Buckets per step.
    pub buckets: usize,
    /// Gradient values exchanged per step.
    pub values: usize,
    /// Buckets whose allreduce started before the sweep ended, summed over
    /// the steps (the overlap).
    pub started_during_sweep: usize,
    /// Seconds in the reverse sweep (including copying gradients into the
    /// buckets and starting their exchange).
    pub sweep_seconds: f64,
    /// Seconds waiting, after the sweep, for the exchanges to complete.
    pub wait_seconds: f64,
}

/// Data-parallel training of one model: PyTorch's
/// `DistributedDataParallel`. [`Ddp::new`] checks that every rank holds the
/// same model and gives all of them rank 0's weights; [`Ddp::backward`]
/// replaces `loss.backward()`: it runs the reverse sweep and, as each
/// bucket of gradients is complete ([`BucketPlan`]), starts a non-blocking
/// allreduce of it, so the exchange overlaps the rest of the sweep; then
/// it waits for all buckets and returns the gradients averaged over the
/// ranks. Every rank then applies the same update to the same weights, so
/// the weights stay bit-identical ([`Ddp::check_in_sync`] verifies).
///
/// Every rank must call the same collectives in the same order: construct,
/// `backward` once per step, `sync_optimizer`, `save`, `load` and
/// `check_in_sync` on all ranks alike.
///
/// ```no_run
/// use autograd_core::{Tensor, TensorTape};
/// use autograd_nn::{cross_entropy, mlp, Activation, Forward, Optimizer, Reduction, Sgd};
/// use rand::SeedableRng;
/// let world = autograd_dist::World::init().unwrap();
/// let mut rng = rand::rngs::StdRng::seed_from_u64(world.rank() as u64); // differs per rank...
/// let mut model = mlp::<f32, _>(&[4, 8, 3], Activation::Relu, &mut rng);
/// let mut ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap(); // ...until here
/// let mut opt = Sgd::new(0.1);
/// for _ in 0..10 {
///     let tape = TensorTape::new();
///     let x = tape.constant(Tensor::ones(&[2, 4])); // this rank's share of the batch
///     let loss = cross_entropy(model.forward(x), &Tensor::from_vec(vec![0, 2], &[2]), 0.0, Reduction::Mean);
///     let grads = ddp.backward(&model, loss);
///     opt.step(&mut model, &grads);
/// }
/// ddp.check_in_sync(&model).unwrap();
/// ```
pub struct Ddp<'w, T: Real + Equivalence = f32> {
    world: &'w World,
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    /// Values per trainable parameter (the shapes' products).
    sizes: Vec<usize>,
    plan: BucketPlan,
    send: Vec<Vec<T>>,
    recv: Vec<Vec<T>>,
    stats: DdpStats,
}

impl<'w, T: Real + Equivalence> Ddp<'w, T> {
    /// Checks that every rank's model has the same parameters and buffers
    /// (names, shapes, frozen or not: [`describe`]), refusing with both
    /// descriptions otherwise, then copies rank 0's parameters and buffers
    /// to every rank.
    ///
    /// ```no_run
    /// # let world = autograd_dist::World::init().unwrap();
    /// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// // A rank that built a wider hidden layer is refused on every rank:
    /// let width = if world.rank() == 1 { 16 } else { 8 };
    /// let mut model = autograd_nn::mlp::<f32, _>(&[4, width, 3], autograd_nn::Activation::Relu, &mut rng);
    /// match autograd_dist::Ddp::new(&world, &mut model) {
    ///     Ok(_) => println!("same model everywhere"),
    ///     Err(e) => eprintln!("{e}"), // names rank 1 and shows both models
    /// }
    /// ```
    pub fn new(world: &'w World, model: &mut dyn Module<T>) -> Result<Self, DistError> {
        let mine = describe(model);
        let all = world.all_gather_bytes(mine.join("\n").as_bytes());
        let lines = |b: &[u8]| -> Vec<String> {
            String::from_utf8_lossy(b)
                .split('\n')
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        if let Some(other) = (1..all.len()).find(|&r| all[r] != all[0]) {
            return Err(DistError::ModelMismatch {
                rank: world.rank(),
                other,
                root: lines(&all[0]),
                theirs: lines(&all[other]),
            });
        }
        // Rank 0's values everywhere: parameters, then buffers, in one
        // broadcast.
        let mut flat: Vec<T> = Vec::new();
        model.visit_parameters("", &mut |_, p| flat.extend_from_slice(p.value().data()));
        model.visit_buffers("", &mut |_, b| flat.extend_from_slice(b.data()));
        world.broadcast_values(&mut flat);
        let mut at = 0;
        model.visit_parameters_mut("", &mut |_, p| {
            p.update(|v| {
                let n = v.numel();
                v.data_mut().copy_from_slice(&flat[at..at + n]);
                at += n;
            })
        });
        model.visit_buffers_mut("", &mut |_, b| {
            let n = b.numel();
            b.data_mut().copy_from_slice(&flat[at..at + n]);
            at += n;
        });
        let (mut names, mut shapes) = (Vec::new(), Vec::new());
        model.visit_parameters("", &mut |name, p| {
            if p.requires_grad() {
                names.push(name.to_string());
                shapes.push(p.value().shape().to_vec());
            }
        });
        let sizes = shapes.iter().map(|s| s.iter().product()).collect();
        let mut ddp = Ddp {
            world,
            names,
            shapes,
            sizes,
            plan: BucketPlan::new(&[], 1),
            send: Vec::new(),
            recv: Vec::new(),
            stats: DdpStats::default(),
        };
        ddp.set_plan(1 << 20, 25 << 20);
        Ok(ddp)
    }

    /// Buckets of other sizes (bytes; PyTorch's `bucket_cap_mb`): smaller
    /// buckets start exchanging earlier in the sweep but make more calls.
    /// Every rank must use the same caps.
    ///
    /// ```no_run
    /// # let world = autograd_dist::World::init().unwrap();
    /// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// # let mut model = autograd_nn::mlp::<f32, _>(&[64, 128, 10], autograd_nn::Activation::Relu, &mut rng);
    /// let ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap().bucket_bytes(4096, 16384);
    /// assert!(ddp.plan().buckets().len() > 1);
    /// ```
    pub fn bucket_bytes(mut self, first: usize, rest: usize) -> Self {
        self.set_plan(first, rest);
        self
    }

    /// How the gradients are grouped (see [`BucketPlan`]).
    ///
    /// ```no_run
    /// # let world = autograd_dist::World::init().unwrap();
    /// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// # let mut model = autograd_nn::mlp::<f32, _>(&[4, 3], autograd_nn::Activation::Relu, &mut rng);
    /// let ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap();
    /// assert_eq!(ddp.plan().buckets(), &[vec![1, 0]]); // bias first: reverse order
    /// ```
    pub fn plan(&self) -> &BucketPlan {
        &self.plan
    }

    /// Time and overlap so far (see [`DdpStats`]).
    ///
    /// ```no_run
    /// # let world = autograd_dist::World::init().unwrap();
    /// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// # let mut model = autograd_nn::mlp::<f32, _>(&[4, 3], autograd_nn::Activation::Relu, &mut rng);
    /// let ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap();
    /// assert_eq!(ddp.stats().steps, 0);
    /// ```
    pub fn stats(&self) -> &DdpStats {
        &self.stats
    }

    fn set_plan(&mut self, first: usize, rest: usize) {
        let sizes = &self.sizes;
        self.plan = BucketPlan::with_caps(sizes, std::mem::size_of::<T>(), first, rest);
        let lens = (0..self.plan.buckets().len()).map(|b| self.plan.bucket_len(b));
        self.send = lens.clone().map(|n| vec![T::ZERO; n]).collect();
        self.recv = lens.map(|n| vec![T::ZERO; n]).collect();
        self.stats.buckets = self.send.len();
        self.stats.values = sizes.iter().sum();
    }

    /// The reverse sweep from `loss` (this rank's loss on its share of the
    /// batch) with the gradients averaged over all ranks: what
    /// `model.gradients(&loss.backward())` gives in one process, for the
    /// whole batch when each rank's loss is a mean over an equal share.
    /// Parameters the loss does not use get zeros (on every rank, so the
    /// exchange stays in step); frozen ones are left out.
    ///
    /// Panics if the model's trainable parameters are not those
    /// [`Ddp::new`] saw (a parameter frozen or unfrozen since).
    ///
    /// ```no_run
    /// # use autograd_core::{Tensor, TensorTape};
    /// # use autograd_nn::Forward;
    /// # let world = autograd_dist::World::init().unwrap();
    /// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// # let mut model = autograd_nn::mlp::<f32, _>(&[4, 3], autograd_nn::Activation::Relu, &mut rng);
    /// let mut ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap();
    /// let tape = TensorTape::new();
    /// let loss = model.forward(tape.constant(Tensor::ones(&[1, 4]))).sum();
    /// let grads = ddp.backward(&model, loss);
    /// assert_eq!(grads["0.weight"].shape(), &[3, 4]);
    /// ```
    pub fn backward(&mut self, model: &dyn Module<T>, loss: TensorVar<'_, T>) -> ParamGrads<T> {
        let tape = loss.tape();
        let (mut vars, mut var_param, mut unused) = (Vec::new(), Vec::new(), Vec::new());
        let mut k = 0;
        model.visit_parameters("", &mut |name, p| {
            if !p.requires_grad() {
                return;
            }
            assert!(
                self.names.get(k).map(String::as_str) == Some(name),
                "Ddp::backward: parameter {k} is {name:?}, but the model given to Ddp::new had {:?} \
                 there (trainable parameters: {})",
                self.names.get(k),
                self.names.len()
            );
            match p.leaf(tape) {
                Some(v) => {
                    vars.push(v);
                    var_param.push(k);
                }
                None => unused.push(k),
            }
            k += 1;
        });
        assert_eq!(
            k,
            self.names.len(),
            "Ddp::backward: the model has {k} trainable parameters, Ddp::new saw {}",
            self.names.len()
        );
        let (world, plan, sizes) = (self.world, &self.plan, &self.sizes);
        let start = Instant::now();
        let (mut sweep_end, mut started_during_sweep) = (start, 0);
        let (send, recv) = (&mut self.send, &mut self.recv);
        mpi::request::scope(|scope| {
            let mut ex = Exchange {
                world,
                scope,
                send: send.iter_mut().map(|b| Some(&mut b[..])).collect(),
                recv: recv.iter_mut().map(|b| Some(&mut b[..])).collect(),
                missing: plan.buckets().iter().map(Vec::len).collect(),
                next: 0,
                pending: VecDeque::new(),
                since: start,
            };
            for &p in &unused {
                let zeros = vec![T::ZERO; sizes[p]];
                ex.deliver(plan, p, &zeros);
            }
            tape.grad_with(loss, &vars, |k, g| ex.deliver(plan, var_param[k], g.data()));
            sweep_end = Instant::now();
            started_during_sweep = ex.next;
            ex.finish();
        });
        let scale = T::from_f64(1.0 / world.size() as f64);
        let mut grads = ParamGrads::new();
        for (p, name) in self.names.iter().enumerate() {
            let (b, off) = plan.location(p);
            let data = self.recv[b][off..off + sizes[p]]
                .iter()
                .map(|&v| v * scale)
                .collect();
            grads.insert(name.clone(), Tensor::from_vec(data, &self.shapes[p]));
        }
        let s = &mut self.stats;
        s.steps += 1;
        // The last bucket to fill is only complete when the sweep ends.
        s.started_during_sweep += started_during_sweep.saturating_sub(1);
        s.sweep_seconds += (sweep_end - start).as_secs_f64();
        s.wait_seconds += sweep_end.elapsed().as_secs_f64();
        grads
    }

    /// Rank 0's optimizer state (step count, hyperparameters, moment
    /// buffers) on every rank, through its [`Optimizer::state_dict`]: call
    /// after creating or loading an optimizer, so every rank's next update
    /// is the same.
    ///
    /// ```no_run
    /// # let world = autograd_dist::World::init().unwrap();
    /// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// # let mut model = autograd_nn::mlp::<f32, _>(&[4, 3], autograd_nn::Activation::Relu, &mut rng);
    /// let ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap();
    /// let mut opt = autograd_nn::AdamW::new(1e-3);
    /// ddp.sync_optimizer(&mut opt).unwrap();
    /// ```
    pub fn sync_optimizer(&self, opt: &mut dyn Optimizer<T>) -> Result<(), DistError> {
        let mut bytes = if self.world.rank() == 0 {
            opt.state_dict()
                .to_bytes()
                .map_err(|e| DistError::Checkpoint(format!("optimizer state of rank 0: {e}")))?
        } else {
            Vec::new()
        };
        self.world.broadcast_bytes(&mut bytes);
        let state = OptimizerState::<T>::from_bytes(&bytes)
            .map_err(|e| DistError::Checkpoint(format!("optimizer state from rank 0: {e}")))?;
        opt.load_state_dict(&state)
            .map_err(|e| DistError::Checkpoint(format!("optimizer state from rank 0: {e}")))
    }

    /// Verifies that every rank's parameters and buffers are bit-identical
    /// to rank 0's (a hash of their bits, compared across ranks); the ranks
    /// that differ are named otherwise.
    ///
    /// ```no_run
    /// # let world = autograd_dist::World::init().unwrap();
    /// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// # let mut model = autograd_nn::mlp::<f32, _>(&[4, 3], autograd_nn::Activation::Relu, &mut rng);
    /// let ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap();
    /// ddp.check_in_sync(&model).unwrap(); // Ddp::new made them equal
    /// ```
    pub fn check_in_sync(&self, model: &dyn Module<T>) -> Result<(), DistError> {
        let hash = fingerprint(model);
        let all = self.world.all_gather_bytes(&hash.to_le_bytes());
        let ranks: Vec<usize> = (1..all.len()).filter(|&r| all[r] != all[0]).collect();
        if ranks.is_empty() {
            Ok(())
        } else {
            Err(DistError::OutOfSync { ranks })
        }
    }

    /// Writes the model (`weights.safetensors`, parameters and buffers) and
    /// the optimizer state (`optimizer.safetensors`) into `dir`, from rank
    /// 0 only, and returns on every rank once they are written (or with
    /// rank 0's error on every rank).
    ///
    /// ```no_run
    /// # let world = autograd_dist::World::init().unwrap();
    /// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// # let mut model = autograd_nn::mlp::<f32, _>(&[4, 3], autograd_nn::Activation::Relu, &mut rng);
    /// # let opt = autograd_nn::Sgd::new(0.1);
    /// let ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap();
    /// ddp.save(&model, &opt, "target/checkpoint").unwrap();
    /// ```
    pub fn save(
        &self,
        model: &dyn Module<T>,
        opt: &dyn Optimizer<T>,
        dir: impl AsRef<Path>,
    ) -> Result<(), DistError> {
        let mut status = Vec::new();
        if self.world.rank() == 0 {
            let dir = dir.as_ref();
            let write = || -> Result<(), String> {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let w = dir.join("weights.safetensors");
                autograd_nn::save_safetensors(&model.state_dict(), &w)
                    .map_err(|e| format!("{}: {e}", w.display()))?;
                let o = dir.join("optimizer.safetensors");
                opt.state_dict()
                    .save(&o)
                    .map_err(|e| format!("{}: {e}", o.display()))
            };
            if let Err(e) = write() {
                status = e.into_bytes();
            }
        }
        self.world.broadcast_bytes(&mut status);
        match status.is_empty() {
            true => Ok(()),
            false => Err(DistError::Checkpoint(format!(
                "rank 0 could not save: {}",
                String::from_utf8_lossy(&status)
            ))),
        }
    }

    /// Reads a checkpoint written by [`Ddp::save`] on rank 0 (the only rank
    /// that needs the files) and loads it into every rank's model and
    /// optimizer. A missing or damaged file is refused on every rank with
    /// rank 0's reason, and nothing is changed.
    ///
    /// ```no_run
    /// # let world = autograd_dist::World::init().unwrap();
    /// # let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// # let mut model = autograd_nn::mlp::<f32, _>(&[4, 3], autograd_nn::Activation::Relu, &mut rng);
    /// # let mut opt = autograd_nn::Sgd::new(0.1);
    /// let ddp = autograd_dist::Ddp::new(&world, &mut model).unwrap();
    /// ddp.load(&mut model, &mut opt, "target/checkpoint").unwrap();
    /// ```
    pub fn load(
        &self,
        model: &mut dyn Module<T>,
        opt: &mut dyn Optimizer<T>,
        dir: impl AsRef<Path>,
    ) -> Result<(), DistError> {
        let dir = dir.as_ref();
        let read = |name: &str| -> Vec<u8> {
            // Rank 0 reads; an empty message after a marker byte carries an
            // error to the others. b'F' = file follows, b'E' = error text.
            if self.world.rank() != 0 {
                return Vec::new();
            }
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(mut b) => {
                    b.insert(0, b'F');
                    b
                }
                Err(e) => format!("E{}: {e}", path.display()).into_bytes(),
            }
        };
        let (mut weights, mut optim) = (read("weights.safetensors"), read("optimizer.safetensors"));
        self.world.broadcast_bytes(&mut weights);
        self.world.broadcast_bytes(&mut optim);
        let body = |b: &[u8], name: &str| -> Result<Vec<u8>, DistError> {
            match b.split_first() {
                Some((b'F', rest)) => Ok(rest.to_vec()),
                Some((_, msg)) => Err(DistError::Checkpoint(format!(
                    "rank 0 could not read {}",
                    String::from_utf8_lossy(msg)
                ))),
                None => Err(DistError::Checkpoint(format!("{name}: nothing received"))),
            }
        };
        let bad = |what: String| DistError::Checkpoint(what);
        let weights = body(&weights, "weights.safetensors")?;
        let optim = body(&optim, "optimizer.safetensors")?;
        let state = autograd_nn::from_safetensors_bytes::<T>(&weights).map_err(|e| {
            bad(format!(
                "{}: {e}",
                dir.join("weights.safetensors").display()
            ))
        })?;
        let opt_state = OptimizerState::<T>::from_bytes(&optim).map_err(|e| {
            bad(format!(
                "{}: {e}",
                dir.join("optimizer.safetensors").display()
            ))
        })?;
        // Both parsed before either is applied: nothing changes on error.
        model
            .load_state_dict(&state)
            .map_err(|e| bad(format!("weights: {e}")))?;
        opt.load_state_dict(&opt_state)
            .map_err(|e| bad(format!("optimizer: {e}")))
    }
}

/// FNV-1a over the bits of every parameter and buffer value.
fn fingerprint<T: Real>(model: &dyn Module<T>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |data: &[T]| {
        for v in data {
            for byte in v.to_f64().to_bits().to_le_bytes() {
                h = (h ^ byte as u64).wrapping_mul(0x0100_0000_01b3);
            }
        }
    };
    model.visit_parameters("", &mut |_, p| eat(p.value().data()));
    model.visit_buffers("", &mut |_, b| eat(b.data()));
    h
}

/// The buckets of one step: filled as the sweep hands out gradients, each
/// sent (a non-blocking allreduce) once complete and all before it are,
/// so every rank starts them in the same order.
struct Exchange<'a, 's, T: Equivalence> {
    world: &'s World,
    scope: &'s LocalScope<'a>,
    send: Vec<Option<&'a mut [T]>>,
    recv: Vec<Option<&'a mut [T]>>,
    /// Per bucket: gradients still to come.
    missing: Vec<usize>,
    /// The next bucket to start.
    next: usize,
    pending: VecDeque<(usize, Request<'a, [T], &'s LocalScope<'a>>)>,
    since: Instant,
}

impl<'a, T: Real + Equivalence> Exchange<'a, '_, T> {
    fn deliver(&mut self, plan: &BucketPlan, p: usize, grad: &[T]) {
        let (b, off) = plan.location(p);
        let bucket = self.send[b]
            .as_mut()
            .expect("a gradient for a bucket already sent");
        bucket[off..off + grad.len()].copy_from_slice(grad);
        self.missing[b] -= 1;
        while self.next < self.missing.len() && self.missing[self.next] == 0 {
            let b = self.next;
            let (send, recv) = (self.send[b].take(), self.recv[b].take());
            let (send, recv): (&'a [T], &'a mut [T]) = (send.expect("send"), recv.expect("recv"));
            self.next += 1;
            if send.is_empty() {
                // Parameters with no elements: nothing to exchange (and
                // MPI refuses an empty buffer's pointer).
                continue;
            }
            let req = self.world.comm().immediate_all_reduce_into(
                self.scope,
                send,
                recv,
                SystemOperation::sum(),
            );
            self.pending.push_back((b, req));
        }
        self.progress();
    }

    /// Lets MPI move the pending exchanges on (it progresses inside its
    /// calls), collecting the finished ones.
    fn progress(&mut self) {
        while let Some((b, req)) = self.pending.pop_front() {
            match self.world.poll(req, self.since, &|| what(b)) {
                Ok(()) => {}
                Err(req) => {
                    self.pending.push_front((b, req));
                    break;
                }
            }
        }
    }

    fn finish(&mut self) {
        assert_eq!(
            self.next,
            self.missing.len(),
            "Ddp::backward: bucket {} never filled (a gradient was not delivered)",
            self.next
        );
        while let Some((b, req)) = self.pending.pop_front() {
            self.world.wait(req, self.since, &|| what(b));
        }
    }
}

fn what(bucket: usize) -> String {
    format!("the allreduce of gradient bucket {bucket}")
}
