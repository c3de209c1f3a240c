//! Threads for large kernels: one pool in which the calling thread is one
//! of the workers.
//!
//! With `n` threads the engine keeps `n - 1` helper threads. A kernel large
//! enough to split (a matrix product above [`SPLIT_WORK`] multiply-adds)
//! runs part 0 on the calling thread and the other parts on the helpers,
//! then waits for them. So `n` threads never means `n + 1` busy threads on
//! `n` cores, and small products (most of a tape's operations) never touch
//! another thread at all: no wake-ups, no context switches.
//!
//! The number comes from [`set_num_threads`], else the environment variable
//! `AUTOGRAD_NUM_THREADS`, else `RAYON_NUM_THREADS`, else the number of
//! cores.

use std::sync::{Arc, Mutex, OnceLock};

use crate::team::Team;

/// Multiply-adds below which a matrix product stays on the calling thread.
/// Chosen when handing a part to a helper cost a wake-up (20-60 us warm, up
/// to ~1.4 ms asleep, on the project's virtual machine; docs/performance.md,
/// "Threads"); a product of 2^23 multiply-adds takes ~300 us on one thread.
/// With the spinning team (`team.rs`) a hand-off costs ~1 us; the
/// thresholds have not been re-tuned for that.
pub(crate) const SPLIT_WORK: usize = 1 << 23;

/// Elements below which an elementwise pass or a sum stays on the calling
/// thread: 2^17 f32 values are 512 KiB, ~30-100 us of work.
pub(crate) const SPLIT_ELEMENTS: usize = 1 << 17;

struct Pool {
    threads: usize,
    team: Option<Arc<Team>>,
}

fn pool() -> &'static Mutex<Pool> {
    static POOL: OnceLock<Mutex<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let from_env = ["AUTOGRAD_NUM_THREADS", "RAYON_NUM_THREADS"]
            .iter()
            .find_map(|v| std::env::var(v).ok()?.trim().parse::<usize>().ok())
            .filter(|&n| n > 0);
        let threads =
            from_env.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Mutex::new(Pool {
            threads,
            team: None,
        })
    })
}

/// The number of threads large kernels use (the calling thread included).
///
/// ```
/// autograd_core::set_num_threads(2);
/// assert_eq!(autograd_core::num_threads(), 2);
/// ```
pub fn num_threads() -> usize {
    pool().lock().unwrap_or_else(|e| e.into_inner()).threads
}

/// Sets the number of threads large kernels use, the calling thread
/// included (PyTorch's `torch.set_num_threads`); 1 keeps everything on the
/// calling thread. May be called at any time; helper threads are started
/// when first needed.
///
/// ```
/// autograd_core::set_num_threads(1);
/// assert_eq!(autograd_core::num_threads(), 1);
/// ```
///
/// # Panics
/// If `n` is 0.
#[track_caller]
pub fn set_num_threads(n: usize) {
    assert!(n > 0, "set_num_threads: needs at least one thread, got 0");
    let mut p = pool().lock().unwrap_or_else(|e| e.into_inner());
    if p.threads != n {
        p.threads = n;
        p.team = None;
    }
}

/// The helpers' team when there is more than one thread.
fn team() -> Option<Arc<Team>> {
    let mut p = pool().lock().unwrap_or_else(|e| e.into_inner());
    if p.threads > 1 && p.team.is_none() {
        p.team = Some(Arc::new(Team::new(p.threads - 1)));
    }
    p.team.clone()
}

/// Runs `parts` on the team, each taken once: part `k` by team member
/// `k % width`, so any number of parts shares the threads.
fn run_parts<P: Send>(team: &Team, parts: Vec<P>, f: &(impl Fn(usize, P) + Sync)) {
    let width = team.width().min(parts.len());
    let slots: Vec<Mutex<Option<P>>> = parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
    team.run(width, &|member| {
        for (k, slot) in slots.iter().enumerate().skip(member).step_by(width) {
            let part = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(part) = part {
                f(k, part);
            }
        }
    });
}

/// Splits `data`, a run of units of `unit` elements each (rows of a
/// matrix, matrices of a batch), into at most [`num_threads`] contiguous
/// parts when `work` reaches `min_work` ([`SPLIT_WORK`] multiply-adds for
/// products, [`SPLIT_ELEMENTS`] for elementwise passes), and calls
/// `f(first_unit, part)` for each: part 0 on the calling thread, the others
/// on helpers. Returns when all parts are done. Below the threshold, or with
/// one thread, it is `f(0, data)` on the calling thread.
pub(crate) fn for_chunks<T: Send>(
    work: usize,
    min_work: usize,
    data: &mut [T],
    unit: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let units = data.len().checked_div(unit).unwrap_or(0);
    let team = (work >= min_work && units > 1).then(team).flatten();
    match team {
        Some(team) => {
            let per = units.div_ceil(team.width().min(units));
            let chunks: Vec<&mut [T]> = data.chunks_mut(per * unit).collect();
            run_parts(&team, chunks, &|k, c: &mut [T]| f(k * per, c));
        }
        None => f(0, data),
    }
}

/// Runs `f` on every part, spread over the engine's threads: the first part
/// on the calling thread, the others on the helpers, [`num_threads`] at a
/// time at most; returns when all are done. For kernels outside the engine
/// that split their own data, such as an optimizer's update of a large
/// parameter cut into chunks (each chunk's result is what one thread would
/// compute, so the split never shows in the numbers).
///
/// ```
/// let mut data = vec![1.0_f32; 1000];
/// autograd_core::for_each_part(data.chunks_mut(250), |part| {
///     part.iter_mut().for_each(|x| *x *= 2.0)
/// });
/// assert!(data.iter().all(|&x| x == 2.0));
/// ```
pub fn for_each_part<P: Send>(parts: impl IntoIterator<Item = P>, f: impl Fn(P) + Sync) {
    match team() {
        Some(team) => run_parts(&team, parts.into_iter().collect(), &|_, p| f(p)),
        None => parts.into_iter().for_each(f),
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;
    use rand::{Rng, SeedableRng};

    fn random(shape: &[usize], seed: u64) -> Tensor<f64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|_| rng.random_range(-1.0..1.0)).collect(), shape)
    }

    // A split product computes each row exactly as the whole product does,
    // so two threads give the one-thread result bit for bit: plain,
    // transposed on either side, and batched (split by matrices).
    #[test]
    fn split_products_equal_one_thread_bit_for_bit() {
        let a = random(&[300, 200], 1);
        let b = random(&[200, 150], 2);
        let at = a.transpose(0, 1);
        let bt = b.transpose(0, 1);
        let qa = random(&[80, 64, 32], 3);
        let qb = random(&[80, 32, 64], 4);
        // Each product is above the threshold, so it is split.
        const { assert!(300 * 200 * 150 >= super::SPLIT_WORK && 80 * 64 * 32 * 64 >= super::SPLIT_WORK) };
        let run = || {
            [
                a.matmul(&b),
                a.matmul_transposed(&bt),
                at.mm_ex(&b, true, false),
                qa.matmul(&qb),
            ]
        };
        super::set_num_threads(1);
        let one = run();
        super::set_num_threads(2);
        let two = run();
        super::set_num_threads(3);
        let three = run();
        for ((x, y), z) in one.iter().zip(&two).zip(&three) {
            assert_eq!(x.data(), y.data());
            assert_eq!(x.data(), z.data());
        }
    }

    // Elementwise passes and sums above the threshold split by elements
    // (a bias gradient's column sum by columns): the same bits on any
    // number of threads, forward and through the sweep.
    #[test]
    fn split_elementwise_passes_and_sums_equal_one_thread_bit_for_bit() {
        let x = random(&[600, 300], 5);
        const { assert!(600 * 300 >= super::SPLIT_ELEMENTS) };
        let run = || {
            let tape = crate::TensorTape::new();
            let v = tape.leaf(x.clone());
            let b = tape.leaf(random(&[300], 6));
            let ln = (tape.leaf(random(&[300], 10)), tape.leaf(random(&[300], 11)));
            let y = v.gelu(crate::tensor::Gelu::Tanh).add(b).tanh();
            // Layer norm splits rows (values, input gradient) and columns
            // (weight and bias gradients).
            let y = y.layer_norm(&[300], Some(ln.0), Some(ln.1), 1e-5);
            let cols = y.sum_axes(&[0], false);
            let rows = y.sum_axes(&[1], false);
            let loss = cols.square().sum().add(rows.square().sum());
            let g = loss.backward();
            [
                y.value(),
                cols.value(),
                rows.value(),
                g[v].clone(),
                g[b].clone(),
                g[ln.0].clone(),
                g[ln.1].clone(),
            ]
        };
        super::set_num_threads(1);
        let one = run();
        super::set_num_threads(2);
        let two = run();
        for (x, y) in one.iter().zip(&two) {
            assert_eq!(x.data(), y.data());
        }
    }

    // A convolution splits its items between threads, and its weight
    // gradient sums fixed runs of items; pooling splits planes: the same
    // bits on any number of threads, forward and backward, grouped or not.
    #[test]
    fn split_convolutions_equal_one_thread_bit_for_bit() {
        let x = random(&[16, 16, 16, 16], 7);
        const { assert!(16 * 32 * 16 * 9 * 256 >= super::SPLIT_WORK) };
        let run = |groups: usize| {
            let tape = crate::TensorTape::new();
            let v = tape.leaf(x.clone());
            let w = tape.leaf(random(&[32, 16 / groups, 3, 3], 8));
            let b = tape.leaf(random(&[32], 9));
            let opts = crate::Window2d::default().padding(1);
            let y = v.conv2d_groups(w, Some(b), opts, groups);
            // Pooling splits its planes too (16 x 32 planes of 16 x 16).
            let p = y.max_pool2d((2, 2), crate::Window2d::default().stride(2));
            let a = y.avg_pool2d((3, 3), crate::Window2d::default().padding(1));
            let g = (y.square().sum() + p.sin().sum() + a.cos().sum()).backward();
            [y.value(), g[v].clone(), g[w].clone(), g[b].clone()]
        };
        for groups in [1, 4] {
            super::set_num_threads(1);
            let one = run(groups);
            super::set_num_threads(2);
            let two = run(groups);
            super::set_num_threads(3);
            let three = run(groups);
            for ((x, y), z) in one.iter().zip(&two).zip(&three) {
                assert_eq!(x.data(), y.data());
                assert_eq!(x.data(), z.data());
            }
        }
    }

    // Binary elementwise ops above the threshold are split by rows (by
    // elements for equal shapes): the plain loop's result, bit for bit, for
    // every way the inputs broadcast.
    #[test]
    fn split_binary_ops_equal_the_plain_loop() {
        use crate::tensor::elementwise::{zip_broadcast, zip_broadcast_split};
        let a = random(&[600, 300], 12);
        let row = random(&[300], 13);
        let col = random(&[600, 1], 14);
        let same = random(&[600, 300], 15);
        let (p, q) = (random(&[4, 1, 300], 16), random(&[1, 200, 300], 17));
        let pairs = [
            (&a, &row),
            (&row, &a),
            (&col, &a),
            (&a, &col),
            (&a, &same),
            (&p, &q),
        ];
        for threads in [1, 2] {
            super::set_num_threads(threads);
            for (x, y) in pairs {
                let f = |u: f64, v: f64| u * v + u;
                let split = zip_broadcast_split("test", x, y, f).expect("large enough to split");
                let plain = zip_broadcast("test", x, y, f);
                assert_eq!(split.shape(), plain.shape());
                assert_eq!(split.data(), plain.data());
            }
        }
        assert!(zip_broadcast_split("test", &row, &row, |u: f64, v| u + v).is_none());
    }

    #[test]
    #[should_panic(expected = "set_num_threads: needs at least one thread, got 0")]
    fn zero_threads_is_refused() {
        super::set_num_threads(0);
    }
}
