//! The helper threads: a fixed team that waits for work by spinning for a
//! while before it sleeps, so that handing a part of a kernel to a helper
//! costs a cache line's round trip rather than two wake-ups.
//!
//! Why not rayon's pool, which the engine used before: the calling thread
//! is not one of rayon's workers, so after its own part it slept on a latch
//! until the helper's part was done, and the helper, idle between kernels,
//! had gone to sleep too. On the project's virtual machine each parallel
//! region then cost 65-110 µs even for no work (docs/performance.md,
//! "Threads that spin"), and a T4 step has ~90 of them. Here the helpers
//! spin for [`SPIN`] after their last part (what OpenMP runtimes do by
//! default) and the caller spins while it waits for them.
//!
//! One region runs at a time: a caller that finds the team busy (another
//! thread's region, or a part that itself splits) runs every part itself.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long an idle helper spins before it sleeps. The gaps between a T4
/// step's parallel regions average ~0.4 ms; a sleeping helper costs 20-60 µs
/// to wake on the project's machine.
const SPIN: Duration = Duration::from_millis(1);

/// A part's code, its lifetime erased (see [`Team::run`]).
#[derive(Clone, Copy)]
struct Job(*const (dyn Fn(usize) + Sync + 'static));

// SAFETY: the pointee is `Sync`, so calling it from another thread is
// sound; `Team::run` keeps it alive for as long as a helper may call it.
unsafe impl Send for Job {}

/// The region the helpers are asked to join.
#[derive(Clone, Copy)]
struct Slot {
    epoch: u64,
    parts: usize,
    job: Option<Job>,
}

struct Shared {
    /// Raised (after `slot` is written) to start a region.
    epoch: AtomicU64,
    slot: Mutex<Slot>,
    /// Helpers' parts of the current region not finished yet.
    pending: AtomicUsize,
    /// Per helper: asleep, or about to sleep (then it must be unparked).
    parked: Vec<AtomicBool>,
    stop: AtomicBool,
    /// The first panic of a helper's part, re-raised on the calling thread.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

/// `threads - 1` helper threads; the calling thread is the team's first.
pub(crate) struct Team {
    shared: Arc<Shared>,
    helpers: Vec<(Thread, JoinHandle<()>)>,
    busy: Mutex<()>,
}

impl Team {
    /// Starts `helpers` threads (none if it cannot).
    pub(crate) fn new(helpers: usize) -> Team {
        let shared = Arc::new(Shared {
            epoch: AtomicU64::new(0),
            slot: Mutex::new(Slot {
                epoch: 0,
                parts: 0,
                job: None,
            }),
            pending: AtomicUsize::new(0),
            parked: (0..helpers).map(|_| AtomicBool::new(false)).collect(),
            stop: AtomicBool::new(false),
            panic: Mutex::new(None),
        });
        let mut started = Vec::new();
        for i in 0..helpers {
            let sh = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("autograd-helper-{i}"))
                .spawn(move || helper(&sh, i));
            match spawned {
                Ok(h) => started.push((h.thread().clone(), h)),
                Err(_) => break,
            }
        }
        Team {
            shared,
            helpers: started,
            busy: Mutex::new(()),
        }
    }

    /// How many parts a region can run at once.
    pub(crate) fn width(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Calls `f(i)` for every `i < parts` (at most [`Team::width`]): part 0
    /// on the calling thread, part `i` on helper `i - 1`. Returns when all
    /// are done; a panic in any part is raised here after the others end.
    pub(crate) fn run(&self, parts: usize, f: &(dyn Fn(usize) + Sync)) {
        let _busy = match self.busy.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return (0..parts).for_each(f),
        };
        let parts = parts.min(self.width());
        if parts <= 1 {
            return (0..parts).for_each(f);
        }
        let sh = &*self.shared;
        let short: *const (dyn Fn(usize) + Sync + '_) = f;
        // SAFETY: only the lifetime changes (same fat pointer). Helpers call
        // the job only between seeing this region's epoch and counting their
        // part done in `pending`, and this function does not return, or
        // unwind, before `pending` is back to 0 (`wait_for_helpers`), so `f` is
        // alive whenever it is called. The next region overwrites the slot
        // only after that too.
        let job = Job(unsafe {
            std::mem::transmute::<
                *const (dyn Fn(usize) + Sync + '_),
                *const (dyn Fn(usize) + Sync + 'static),
            >(short)
        });
        sh.pending.store(parts - 1, SeqCst);
        let epoch = {
            let mut slot = sh.slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.epoch += 1;
            slot.parts = parts;
            slot.job = Some(job);
            slot.epoch
        };
        sh.epoch.store(epoch, SeqCst);
        for (i, (thread, _)) in self.helpers[..parts - 1].iter().enumerate() {
            // Pairs with the helper's store of `parked` and re-read of
            // `epoch` (both SeqCst): it sees the new epoch or we see it
            // parked, and an unpark before its park is not lost.
            if sh.parked[i].load(SeqCst) {
                thread.unpark();
            }
        }
        // Part 0's panic is caught too: nothing leaves `run` before the wait.
        let mine = catch_unwind(AssertUnwindSafe(|| f(0)));
        wait_for_helpers(sh);
        let theirs = sh.panic.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(p) = mine.err().or(theirs) {
            resume_unwind(p);
        }
    }
}

/// Waits (spinning, then yielding) until the helpers' parts are done.
fn wait_for_helpers(sh: &Shared) {
    let start = Instant::now();
    let mut spins = 0u32;
    while sh.pending.load(Acquire) != 0 {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) && start.elapsed() > SPIN {
            // A helper was descheduled: give it the core.
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.stop.store(true, SeqCst);
        for (thread, _) in &self.helpers {
            thread.unpark();
        }
        for (_, handle) in self.helpers.drain(..) {
            let _ = handle.join();
        }
    }
}

/// Helper `i`'s loop: wait for a region, run part `i + 1` if it has one.
fn helper(sh: &Shared, i: usize) {
    let mut seen = 0u64;
    loop {
        let mut idle = Instant::now();
        let mut spins = 0u32;
        while sh.epoch.load(Acquire) == seen {
            if sh.stop.load(Relaxed) {
                return;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) || idle.elapsed() < SPIN {
                std::hint::spin_loop();
                continue;
            }
            sh.parked[i].store(true, SeqCst);
            if sh.epoch.load(SeqCst) == seen && !sh.stop.load(SeqCst) {
                std::thread::park();
            }
            sh.parked[i].store(false, SeqCst);
            idle = Instant::now();
        }
        let slot = *sh.slot.lock().unwrap_or_else(|p| p.into_inner());
        seen = slot.epoch;
        let (Some(job), true) = (slot.job, i + 1 < slot.parts) else {
            continue;
        };
        // SAFETY: this region is not finished before `pending` counts this
        // part done (below), and `Team::run` keeps the job alive until then.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*job.0)(i + 1) }));
        if let Err(p) = result {
            sh.panic
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(p);
        }
        sh.pending.fetch_sub(1, Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_and_panics_reach_the_caller() {
        let team = Team::new(2);
        for parts in 1..=4 {
            let hits: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..200 {
                team.run(parts, &|i| {
                    hits[i].fetch_add(1, Relaxed);
                });
            }
            let want = |i: usize| if i < parts.min(3) { 200 } else { 0 };
            for (i, h) in hits.iter().enumerate() {
                assert_eq!(h.load(Relaxed), want(i), "{parts} parts, part {i}");
            }
        }
        // A helper's panic is raised on the caller, and the team still works.
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.run(3, &|i| assert_ne!(i, 2, "part two fails"));
        }));
        let msg = r.expect_err("the panic comes back");
        let msg = msg
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("");
        assert!(msg.contains("part two fails"), "{msg}");
        let n = AtomicUsize::new(0);
        team.run(3, &|_| {
            n.fetch_add(1, Relaxed);
        });
        assert_eq!(n.load(Relaxed), 3);
        // Helpers that went to sleep wake for the next region.
        std::thread::sleep(SPIN * 3);
        team.run(3, &|_| {
            n.fetch_add(1, Relaxed);
        });
        assert_eq!(n.load(Relaxed), 6);
    }
}
