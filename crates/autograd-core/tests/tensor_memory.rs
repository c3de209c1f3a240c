//! What a node saves for its backward is freed by `clear` (or dropping the
//! tape): a training loop of 10^4 steps has flat memory. Measured with a
//! global allocator that tracks live bytes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

use autograd_core::{Tensor, TensorTape};
use rand::SeedableRng;
use rand::rngs::StdRng;

struct Tracking;

static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    // Only the test's own thread is counted: the test harness's main thread
    // prints and allocates at times of its own, which made the count flaky.
    static TRACKED: Cell<bool> = const { Cell::new(false) };
}

fn tracked() -> bool {
    TRACKED.try_with(Cell::get).unwrap_or(false)
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if tracked() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if tracked() {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if tracked() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

// Everything is measured from one test on one thread.
#[test]
fn saved_values_are_freed_and_training_memory_is_flat() {
    TRACKED.with(|t| t.set(true));
    dropping_or_clearing_a_tape_frees_saved_values();
    ten_thousand_training_steps_have_flat_memory();
    ten_thousand_replayed_steps_have_flat_memory_and_the_pool_is_freed();
}

fn ten_thousand_training_steps_have_flat_memory() {
    let mut rng = StdRng::seed_from_u64(3);
    let x = Tensor::<f32>::rand_uniform(&[16, 8], -1.0, 1.0, &mut rng);
    let labels = Tensor::from_vec((0..16).map(|i| i % 4).collect(), &[16, 1]);
    let mut params = [
        Tensor::<f32>::rand_uniform(&[12, 8], -0.3, 0.3, &mut rng),
        Tensor::<f32>::zeros(&[12]),
        Tensor::<f32>::rand_uniform(&[4, 12], -0.3, 0.3, &mut rng),
        Tensor::<f32>::zeros(&[4]),
    ];
    let mut tape = TensorTape::new();
    // Both vectors are allocated up front so they do not grow mid-measurement.
    let mut live_at = Vec::with_capacity(2);
    let mut losses = Vec::with_capacity(10);
    for step in 0..10_000 {
        let grads: Vec<Tensor<f32>> = {
            let v: Vec<_> = params.iter().map(|p| tape.leaf(p.clone())).collect();
            let h = tape
                .constant(x.clone())
                .matmul_transposed(v[0])
                .add(v[1])
                .tanh();
            let logits = h.matmul_transposed(v[2]).add(v[3]);
            let loss = logits.log_softmax(-1).gather(1, &labels).mean().neg();
            if step % 1000 == 0 {
                losses.push(loss.item());
            }
            let mut g = loss.backward();
            v.iter().map(|&p| g.take(p).unwrap()).collect()
        };
        tape.clear();
        for (p, g) in params.iter_mut().zip(&grads) {
            for (w, &d) in p.data_mut().iter_mut().zip(g.data()) {
                *w -= 0.1 * d;
            }
        }
        drop(grads);
        if step == 100 || step == 9_999 {
            live_at.push(LIVE.load(Ordering::Relaxed));
        }
    }
    assert!(
        losses.last().unwrap() < &(losses[0] * 0.5),
        "the model learns: {losses:?}"
    );
    assert_eq!(
        live_at[0], live_at[1],
        "live bytes after step 100 and after step 9999 must be equal"
    );
}

fn dropping_or_clearing_a_tape_frees_saved_values() {
    let base = LIVE.load(Ordering::Relaxed);
    let mut tape = TensorTape::<f64>::new();
    {
        let x = tape.leaf(Tensor::ones(&[1000]));
        let _ = x.exp().sin().sum().backward();
    }
    let recorded = LIVE.load(Ordering::Relaxed);
    assert!(
        recorded - base > 3 * 8000,
        "three 1000-element values are held"
    );
    tape.clear();
    // The three values are kept for the next recording to write into (and
    // the bins' lists: a few hundred bytes).
    let cleared = LIVE.load(Ordering::Relaxed);
    assert!(
        cleared - base > 3 * 8000 && cleared <= recorded + 1000,
        "after clear {} bytes remain, {} recorded",
        cleared - base,
        recorded - base
    );
    tape.release_buffers();
    let released = LIVE.load(Ordering::Relaxed);
    // Only the node list's capacity remains.
    assert!(
        released - base < 2000,
        "after release_buffers {} bytes remain",
        released - base
    );
    drop(tape);
    assert!(LIVE.load(Ordering::Relaxed) <= base);
}

fn ten_thousand_replayed_steps_have_flat_memory_and_the_pool_is_freed() {
    let base = LIVE.load(Ordering::Relaxed);
    let mut rng = StdRng::seed_from_u64(6);
    let x = Tensor::<f32>::rand_uniform(&[16, 8], -1.0, 1.0, &mut rng);
    let onehot = Tensor::<f32>::one_hot(
        &Tensor::from_vec((0..16).map(|i| i % 4).collect(), &[16]),
        4,
    );
    let tape = TensorTape::new();
    let mut inputs: Vec<_> = [
        Tensor::<f32>::rand_uniform(&[12, 8], -0.3, 0.3, &mut rng),
        Tensor::<f32>::zeros(&[12]),
        Tensor::<f32>::rand_uniform(&[4, 12], -0.3, 0.3, &mut rng),
        Tensor::<f32>::zeros(&[4]),
    ]
    .into_iter()
    .map(|p| (tape.leaf(p.clone()), p))
    .collect();
    let v: Vec<_> = inputs.iter().map(|(v, _)| *v).collect();
    let h = tape.constant(x).matmul_transposed(v[0]).add(v[1]).tanh();
    let logits = h.matmul_transposed(v[2]).add(v[3]);
    let loss = logits
        .log_softmax(-1)
        .mul(tape.constant(onehot))
        .sum_axes(&[1], false)
        .mean()
        .neg();
    let mut grads = Vec::with_capacity(4);
    let mut live_at = Vec::with_capacity(2);
    let first = loss.item();
    for step in 0..10_000 {
        tape.replay(&inputs).unwrap();
        tape.grad_into(loss, &v, &mut grads);
        for ((_, p), g) in inputs.iter_mut().zip(&grads) {
            for (w, &d) in p.data_mut().iter_mut().zip(g.data()) {
                *w -= 0.1 * d;
            }
        }
        if step == 100 || step == 9_999 {
            live_at.push(LIVE.load(Ordering::Relaxed));
        }
    }
    assert!(
        loss.item() < first * 0.5,
        "the model learns: {first} -> {}",
        loss.item()
    );
    assert_eq!(
        live_at[0], live_at[1],
        "live bytes after replayed step 100 and after step 9999 must be equal"
    );
    let before = LIVE.load(Ordering::Relaxed);
    tape.release_buffers();
    let freed = before - LIVE.load(Ordering::Relaxed);
    assert!(
        freed > 0,
        "release_buffers frees the pooled gradient buffers"
    );
    drop((grads, inputs, v, live_at));
    drop(tape);
    assert!(
        LIVE.load(Ordering::Relaxed) <= base,
        "everything is freed with the tape"
    );
}
