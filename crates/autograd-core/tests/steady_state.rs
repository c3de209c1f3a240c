//! A training-style loop that re-records the same computation each step
//! reaches a steady state with no allocation per step.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use autograd_core::{Gradients, Tape};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn optimisation_loop_allocates_nothing_after_the_first_steps() {
    // Gradient descent on f(w) = sum_i (sigmoid(w0 * x_i + w1) - y_i)^2.
    let data = [(0.0, 0.1), (1.0, 0.4), (2.0, 0.8), (3.0, 0.9)];
    let mut w = [0.1, -0.2];
    let mut tape = Tape::new();
    let mut grads = Gradients::new();
    let mut per_step = Vec::with_capacity(200);
    for _ in 0..200 {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        {
            let w0 = tape.var(w[0]);
            let w1 = tape.var(w[1]);
            let mut loss = tape.constant(0.0);
            for &(x, y) in &data {
                loss += ((w0 * x + w1).sigmoid() - y).square();
            }
            tape.gradient_into(loss, &mut grads);
            w[0] -= 0.5 * grads[w0];
            w[1] -= 0.5 * grads[w1];
        }
        tape.clear();
        per_step.push(ALLOCATIONS.load(Ordering::Relaxed) - before);
    }
    assert!(per_step[0] > 0, "the first step allocates the tape");
    assert!(
        per_step[10..].iter().all(|&n| n == 0),
        "allocations per step: {per_step:?}"
    );
    assert!(w[0] > 1.0, "and it did learn: {w:?}");
}
