//! A per-thread pool of tensor buffers, so that a training loop that
//! re-records the same computation each step stops allocating: the tape
//! returns its values when it is cleared, and the sweep returns gradients
//! once they have been used; new tensors of the same length take them back.
//!
//! Only `f32` and `f64` buffers of at least `MIN_BYTES` are pooled, by
//! exact length: small ones are served faster by the system allocator's own
//! free lists than by any pool (measured on T3: a pool for every size made
//! it 8% slower), while large ones otherwise cost fresh pages on every step
//! (measured on T2: the step went from 84% to 91% of its time in the matrix
//! kernel). The pool holds at most `MAX_BYTES` per thread and element type
//! (beyond that, buffers are freed as usual), so memory stays bounded.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;

/// Buffers smaller than this are left to the system allocator.
const MIN_BYTES: usize = 64 << 10;
/// At most this many bytes are kept per element type and thread.
const MAX_BYTES: usize = 64 << 20;
/// At most this many distinct lengths are kept.
const MAX_LENGTHS: usize = 64;

struct Pool<T> {
    /// (length, free buffers of that length).
    buckets: Vec<(usize, Vec<Arc<[T]>>)>,
    bytes: usize,
}

impl<T> Pool<T> {
    const fn new() -> Self {
        Pool {
            buckets: Vec::new(),
            bytes: 0,
        }
    }

    fn take(&mut self, n: usize) -> Option<Arc<[T]>> {
        let (_, free) = self.buckets.iter_mut().find(|(len, _)| *len == n)?;
        let a = free.pop()?;
        self.bytes -= n * std::mem::size_of::<T>();
        Some(a)
    }

    fn give(&mut self, a: Arc<[T]>) {
        let n = a.len();
        let size = n * std::mem::size_of::<T>();
        if n == 0 || self.bytes + size > MAX_BYTES {
            return;
        }
        match self.buckets.iter().position(|(len, _)| *len == n) {
            Some(k) => self.buckets[k].1.push(a),
            None if self.buckets.len() < MAX_LENGTHS => self.buckets.push((n, vec![a])),
            None => return,
        }
        self.bytes += size;
    }
}

thread_local! {
    static F32: RefCell<Pool<f32>> = const { RefCell::new(Pool::new()) };
    static F64: RefCell<Pool<f64>> = const { RefCell::new(Pool::new()) };
}

/// True for buffers large enough to pool.
#[inline(always)]
pub(crate) fn worth_pooling<T>(n: usize) -> bool {
    n * std::mem::size_of::<T>() >= MIN_BYTES
}

/// A free buffer of exactly `n` elements, if the pool has one; its contents
/// are stale and must be overwritten.
#[inline(never)]
pub(crate) fn take<T: Copy + 'static>(n: usize) -> Option<Arc<[T]>> {
    if !worth_pooling::<T>(n) {
        return None;
    }
    // The pools are concrete; `Any` moves a buffer from the concrete to the
    // generic type through a local slot, with no allocation.
    let id = std::any::TypeId::of::<T>();
    if id == std::any::TypeId::of::<f32>() {
        let mut slot: Option<Arc<[f32]>> = F32.with(|p| p.borrow_mut().take(n));
        return (&mut slot as &mut dyn Any)
            .downcast_mut::<Option<Arc<[T]>>>()?
            .take();
    }
    if id == std::any::TypeId::of::<f64>() {
        let mut slot: Option<Arc<[f64]>> = F64.with(|p| p.borrow_mut().take(n));
        return (&mut slot as &mut dyn Any)
            .downcast_mut::<Option<Arc<[T]>>>()?
            .take();
    }
    None
}

/// Returns a buffer to the pool if nothing else shares it.
#[inline(never)]
pub(crate) fn give<T: Copy + 'static>(mut a: Arc<[T]>) {
    if !worth_pooling::<T>(a.len()) || Arc::get_mut(&mut a).is_none() {
        return;
    }
    let mut slot = Some(a);
    let generic: &mut dyn Any = &mut slot;
    if let Some(s) = generic.downcast_mut::<Option<Arc<[f32]>>>() {
        if let Some(a) = s.take() {
            F32.with(|p| p.borrow_mut().give(a));
        }
    } else if let Some(s) = generic.downcast_mut::<Option<Arc<[f64]>>>() {
        if let Some(a) = s.take() {
            F64.with(|p| p.borrow_mut().give(a));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_by_length_and_shared_ones_stay_out() {
        let n = MIN_BYTES / 4;
        let a: Arc<[f32]> = Arc::from(vec![1.0_f32; n]);
        let ptr = Arc::as_ptr(&a) as *const f32;
        give(a);
        assert!(take::<f32>(n + 1).is_none(), "exact lengths only");
        let b = take::<f32>(n).expect("pooled");
        assert_eq!(Arc::as_ptr(&b) as *const f32, ptr, "the same buffer");
        let shared = b.clone();
        give(b);
        assert!(take::<f32>(n).is_none(), "a shared buffer is not pooled");
        drop(shared);
        assert!(take::<usize>(n).is_none());
        give::<f64>(Arc::from(vec![0.0_f64; n]));
        assert!(take::<f64>(n).is_some());
        give::<f64>(Arc::from(vec![0.0_f64; 3]));
        assert!(
            take::<f64>(3).is_none(),
            "small buffers are left to the allocator"
        );
    }
}
