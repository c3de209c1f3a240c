//! The ranks of an `mpirun` job and the few collectives training needs,
//! each with a deadline.

use std::time::{Duration, Instant};

use mpi::datatype::Equivalence;
use mpi::request::{LocalScope, Request, Scope};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;

use crate::DistError;

/// The processes of this job (MPI's world communicator). Made once per
/// process by [`World::init`]; MPI is finalised when it is dropped.
///
/// Every collective here waits at most [`World::timeout`] (default 120 s,
/// or `AUTOGRAD_DIST_TIMEOUT` seconds from the environment). A collective
/// that has not completed by then means a peer has stopped taking part
/// (stuck, or dead and not yet noticed by `mpirun`): the rank prints which
/// collective it was waiting on, since when, and aborts the whole job
/// (`MPI_Abort`), so no rank hangs. A rank that exits or panics is noticed
/// by `mpirun` itself, which stops the others.
///
/// Unless `AUTOGRAD_NUM_THREADS` or `RAYON_NUM_THREADS` says otherwise,
/// [`World::init`] sets the engine's thread count to the machine's cores
/// divided by the ranks on the machine ([`World::local_size`]).
///
/// ```no_run
/// // Under `mpirun -np 2`: each rank prints its place in the world.
/// let world = autograd_dist::World::init().unwrap();
/// println!("rank {} of {}", world.rank(), world.size());
/// ```
pub struct World {
    // Dropped last (fields drop in order): finalises MPI.
    comm: SimpleCommunicator,
    timeout: Duration,
    _universe: mpi::environment::Universe,
}

/// The engine threads for one of `local` ranks on this machine: the cores
/// this process may run on, if `mpirun` bound it to fewer than the
/// machine's (the binding is its share already; OpenMPI binds to a core by
/// default for up to two ranks), else the machine's cores over `local`.
fn threads_per_rank(local: usize) -> usize {
    let allowed = std::thread::available_parallelism().map_or(1, |n| n.get());
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| count_cpus(s.trim()));
    match online {
        Some(all) if allowed < all => allowed,
        _ => (allowed / local.max(1)).max(1),
    }
}

/// The number of CPUs in a Linux CPU list such as `0-3,8-11` or `0`.
fn count_cpus(list: &str) -> Option<usize> {
    let mut n = 0;
    for part in list.split(',') {
        n += match part.split_once('-') {
            Some((a, b)) => b.parse::<usize>().ok()? + 1 - a.parse::<usize>().ok()?,
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    Some(n)
}

/// The exit code of a rank that gave up waiting on a collective.
const TIMEOUT_EXIT: i32 = 75;

impl World {
    /// Initialises MPI: every rank of `mpirun -np N program` gets its rank;
    /// a program started without `mpirun` is a world of one. Refused if MPI
    /// was initialised before in this process.
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// assert!(world.rank() < world.size());
    /// ```
    pub fn init() -> Result<World, DistError> {
        let universe = mpi::initialize().ok_or_else(|| {
            DistError::Config("MPI is already initialised in this process".into())
        })?;
        let timeout = std::env::var("AUTOGRAD_DIST_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map_or(Duration::from_secs(120), Duration::from_secs_f64);
        let world = World {
            comm: universe.world(),
            timeout,
            _universe: universe,
        };
        // Ranks on one machine share its cores: without a thread count
        // from the environment, each takes its share, so N ranks never
        // start N x cores busy threads.
        let from_env = ["AUTOGRAD_NUM_THREADS", "RAYON_NUM_THREADS"]
            .iter()
            .any(|v| std::env::var(v).is_ok());
        if !from_env {
            autograd_core::set_num_threads(threads_per_rank(world.local_size()));
        }
        Ok(world)
    }

    /// The number of ranks on this machine (MPI's shared-memory split of
    /// the world), this one included.
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// assert!(world.local_size() <= world.size());
    /// ```
    pub fn local_size(&self) -> usize {
        self.comm.split_shared(0).size() as usize
    }

    /// This process's rank, 0 to `size() - 1`.
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// if world.rank() == 0 { println!("I write the checkpoints"); }
    /// ```
    pub fn rank(&self) -> usize {
        self.comm.rank() as usize
    }

    /// The number of ranks.
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// println!("training on {} processes", world.size());
    /// ```
    pub fn size(&self) -> usize {
        self.comm.size() as usize
    }

    /// How long a collective may wait for the other ranks before the job
    /// is aborted. A rank that is slower than this for a legitimate reason
    /// (a long evaluation on rank 0 only) needs a longer timeout.
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap()
    ///     .timeout(std::time::Duration::from_secs(600));
    /// assert_eq!(world.timeout_duration().as_secs(), 600);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The current timeout (see [`World::timeout`]).
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// println!("collectives give up after {:?}", world.timeout_duration());
    /// ```
    pub fn timeout_duration(&self) -> Duration {
        self.timeout
    }

    /// Waits until every rank has arrived here (with the timeout).
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// world.barrier(); // rank 0 has written the file by now
    /// ```
    pub fn barrier(&self) {
        let req = self.comm.immediate_barrier();
        self.wait(req, Instant::now(), &|| "a barrier".to_string());
    }

    /// Rank 0's `bytes` on every rank (lengths may differ beforehand).
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// let mut msg = if world.rank() == 0 { b"hello".to_vec() } else { Vec::new() };
    /// world.broadcast_bytes(&mut msg);
    /// assert_eq!(msg, b"hello");
    /// ```
    pub fn broadcast_bytes(&self, bytes: &mut Vec<u8>) {
        let mut len = [bytes.len() as u64];
        self.broadcast(&mut len[..], "the length of a broadcast");
        bytes.resize(len[0] as usize, 0);
        // Every rank knows the length now; OpenMPI refuses an empty
        // buffer's pointer (MPI_ERR_ARG), so an empty message ends here.
        if !bytes.is_empty() {
            self.broadcast(&mut bytes[..], "a broadcast of bytes");
        }
    }

    /// Rank 0's `values` on every rank (the same length everywhere).
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// let mut w = vec![world.rank() as f32; 3];
    /// world.broadcast_values(&mut w);
    /// assert_eq!(w, [0.0; 3]);
    /// ```
    pub fn broadcast_values<T: Equivalence>(&self, values: &mut [T]) {
        if values.is_empty() {
            return;
        }
        self.broadcast(values, "a broadcast of values");
    }

    /// Every rank's `bytes`, in rank order.
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// let all = world.all_gather_bytes(format!("rank {}", world.rank()).as_bytes());
    /// assert_eq!(all.len(), world.size());
    /// ```
    pub fn all_gather_bytes(&self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let n = self.size();
        let mut lens = vec![0u64; n];
        self.all_gather(&[bytes.len() as u64][..], &mut lens[..], "lengths");
        // Padded to the longest, so one fixed-size gather does.
        let longest = lens.iter().copied().max().unwrap_or(0) as usize;
        let mut mine = bytes.to_vec();
        mine.resize(longest, 0);
        if longest == 0 {
            return vec![Vec::new(); n];
        }
        let mut all = vec![0u8; longest * n];
        self.all_gather(&mine[..], &mut all[..], "bytes");
        all.chunks(longest)
            .zip(&lens)
            .map(|(c, &l)| c[..l as usize].to_vec())
            .collect()
    }

    /// The sum of every rank's `values`, in place on every rank.
    ///
    /// ```no_run
    /// let world = autograd_dist::World::init().unwrap();
    /// let mut x = [1.0_f64, 2.0];
    /// world.all_reduce_sum(&mut x);
    /// assert_eq!(x[0], world.size() as f64);
    /// ```
    pub fn all_reduce_sum<T: Equivalence + Copy>(&self, values: &mut [T]) {
        if values.is_empty() {
            return;
        }
        let send = values.to_vec();
        mpi::request::scope(|scope| {
            let req = self.comm.immediate_all_reduce_into(
                scope,
                &send[..],
                values,
                mpi::collective::SystemOperation::sum(),
            );
            self.wait(req, Instant::now(), &|| {
                format!("an allreduce of {} values", send.len())
            });
        });
    }

    pub(crate) fn comm(&self) -> &SimpleCommunicator {
        &self.comm
    }

    fn broadcast<T: Equivalence>(&self, values: &mut [T], what: &str) {
        let n = values.len();
        mpi::request::scope(|scope: &LocalScope<'_>| {
            let req = self
                .comm
                .process_at_rank(0)
                .immediate_broadcast_into(scope, values);
            self.wait(req, Instant::now(), &|| format!("{what} ({n} values)"));
        });
    }

    fn all_gather<T: Equivalence>(&self, mine: &[T], all: &mut [T], what: &str) {
        mpi::request::scope(|scope| {
            let req = self.comm.immediate_all_gather_into(scope, mine, all);
            self.wait(req, Instant::now(), &|| format!("an all-gather of {what}"));
        });
    }

    /// Polls `req` until it completes; past the deadline, says what was
    /// being waited on and aborts the job.
    pub(crate) fn wait<'a, D: ?Sized, S: Scope<'a>>(
        &self,
        mut req: Request<'a, D, S>,
        since: Instant,
        what: &dyn Fn() -> String,
    ) {
        loop {
            match req.test() {
                Ok(_) => return,
                Err(r) => req = r,
            }
            if since.elapsed() > self.timeout {
                self.give_up(&what(), since);
            }
            std::thread::yield_now();
        }
    }

    /// Polls once: `Ok` when `req` completed, the request back otherwise
    /// (aborting past the deadline).
    pub(crate) fn poll<'a, D: ?Sized, S: Scope<'a>>(
        &self,
        req: Request<'a, D, S>,
        since: Instant,
        what: &dyn Fn() -> String,
    ) -> Result<(), Request<'a, D, S>> {
        match req.test() {
            Ok(_) => Ok(()),
            Err(r) => {
                if since.elapsed() > self.timeout {
                    self.give_up(&what(), since);
                }
                Err(r)
            }
        }
    }

    fn give_up(&self, what: &str, since: Instant) -> ! {
        eprintln!(
            "autograd-dist: rank {} of {}: {what} did not complete within {:.1} s (waiting since \
             {:.1} s ago): another rank has stopped taking part (stuck or died). Aborting every \
             rank; set AUTOGRAD_DIST_TIMEOUT (seconds) if a rank legitimately takes longer.",
            self.rank(),
            self.size(),
            self.timeout.as_secs_f64(),
            since.elapsed().as_secs_f64(),
        );
        self.comm.abort(TIMEOUT_EXIT)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(super::count_cpus("0-3,8-11"), Some(8));
        assert_eq!(super::count_cpus("0"), Some(1));
        assert_eq!(super::count_cpus("0-1"), Some(2));
        assert_eq!(super::count_cpus("x"), None);
    }
}
