//! Helpers shared by the integration tests.
#![allow(dead_code)]

/// The line of `source` (a test file's text) holding `text`, which must
/// occur there once: tests compare reported source locations against it.
pub fn line_of(source: &str, text: &str) -> u32 {
    let hits: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == text)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "{text} must occur once");
    hits[0] as u32
}

/// A random shape of rank 1..=`max_rank`, each dimension 1..=4.
pub fn random_shape(r: &mut rand::rngs::StdRng, max_rank: usize) -> Vec<usize> {
    use rand::Rng;
    let rank = r.random_range(1..=max_rank);
    (0..rank).map(|_| r.random_range(1..=4)).collect()
}

/// A shape that broadcasts against `s`: a suffix of it with some axes set to 1.
pub fn broadcastable(r: &mut rand::rngs::StdRng, s: &[usize]) -> Vec<usize> {
    use rand::Rng;
    let drop = r.random_range(0..=s.len());
    s[drop..]
        .iter()
        .map(|&n| if r.random_bool(0.4) { 1 } else { n })
        .collect()
}

/// A global allocator that counts allocations (and reallocations) per
/// thread, so that tests running alongside, and the test harness, do not
/// show in a test's count. A test binary installs it with
/// `#[global_allocator] static GLOBAL: common::Counting = common::Counting;`.
pub struct Counting;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count() {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

/// Allocations made by this thread so far.
pub fn allocations() -> usize {
    ALLOCATIONS.with(std::cell::Cell::get)
}

unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

thread_local! {
    static LOCATION: std::cell::RefCell<Option<(String, u32)>> = const { std::cell::RefCell::new(None) };
    static CAPTURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, expecting a panic; returns its message and the file and line it
/// was reported at.
///
/// The panic hook is process-wide and the tests of this binary run on many
/// threads at once, so it is installed once, records the location on the
/// threads that asked (a thread-local flag), and hands every other panic to
/// the default hook: swapping hooks per call would race.
pub fn panic_of(f: impl FnOnce()) -> (String, String, u32) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(std::cell::Cell::get) {
                let loc = info.location().map(|l| (l.file().to_string(), l.line()));
                LOCATION.with(|c| *c.borrow_mut() = loc);
            } else {
                default(info)
            }
        }));
    });
    CAPTURING.with(|c| c.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(false));
    let payload = r.expect_err("expected a panic");
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    let (file, line) = LOCATION.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (msg, file, line)
}
