//! Keeping freed tensor memory in the process, so a training step reuses
//! the pages of the last one instead of faulting in fresh ones.
//!
//! Every recorded operation allocates its value, and the sweep its
//! gradients; a step of a small transformer frees and allocates hundreds of
//! megabytes. With glibc's defaults, blocks above a threshold that adapts
//! between 128 KiB and 32 MiB are separate `mmap`s, unmapped when freed,
//! and free memory at the top of the heap is returned to the system beyond
//! a trim threshold: so each step faults its buffers in again (zeroed page
//! by page by the kernel, and with a second thread each unmap also flushes
//! that thread's TLB). On the T4 workload that was 14 000 page faults and
//! ~40% of a step (docs/performance.md, "Memory").
//!
//! So when the first [`TensorTape`](crate::TensorTape) is made, on Linux
//! with glibc, the engine asks malloc to serve blocks up to 32 MiB from the
//! heap and to keep up to 1 GiB of free heap: freed tensors then go back to
//! malloc's free lists and the next step's allocations of the same sizes
//! reuse them. The process's resident memory stays at its peak instead of
//! falling between steps. `AUTOGRAD_MALLOC_TUNING=0` in the environment
//! leaves malloc's defaults alone (for a program that tunes malloc itself
//! or uses another allocator).

/// Applies the tuning once per process (a no-op after the first call, and
/// on other platforms).
pub(crate) fn tune_once() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var("AUTOGRAD_MALLOC_TUNING").is_ok_and(|v| v.trim() == "0") {
                return;
            }
            glibc::keep_freed_memory();
        });
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::ffi::c_int;

    // From glibc's <malloc.h>.
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    /// glibc's largest allowed mmap threshold on 64-bit targets
    /// (`DEFAULT_MMAP_THRESHOLD_MAX`); a larger value is refused.
    const MMAP_THRESHOLD: c_int = 32 << 20;
    const TRIM_THRESHOLD: c_int = 1 << 30;

    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }

    pub(super) fn keep_freed_memory() {
        // SAFETY: `mallopt` is glibc's (this module exists only for
        // target_env = "gnu"), declared with its C signature
        // `int mallopt(int, int)`. It has no memory-safety preconditions:
        // it takes malloc's own lock, validates `param` and `value`
        // (returning 0 for values it refuses, changing nothing), and only
        // changes how later allocations and frees are served; blocks
        // already allocated stay valid whichever way they were obtained.
        // Both parameters are documented ones with in-range values.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
}
