//! A flat profile of a traced scalar tape: where its recorded work goes, by
//! operation kind.
//!
//! The tensor tape times each operation as it runs ([`TensorTape::set_profiling`]).
//! That cannot work here: a scalar operation takes about 5 ns, and reading
//! the clock around it takes longer, so live per-op timing would mostly
//! measure the clock. Instead the profile re-runs the tape's recorded work
//! kind by kind, many times over, with one clock read per batch: the forward
//! work of each node (its value and local partials, from the same table
//! recording and replay use) and its step of the reverse sweep.
//!
//! [`TensorTape::set_profiling`]: crate::TensorTape::set_profiling

use std::hint::black_box;
use std::time::{Duration, Instant};

use super::ops::local;
use super::tape::{Node, Tape};
use super::trace::Op;
use crate::Real;
use crate::replay::ReplayError;
use crate::tensor::{Profile, ProfileRow};

/// Each timed batch repeats its work until it has run this long.
const BATCH: Duration = Duration::from_micros(200);

/// The time of one run of `f`: repeated until a batch lasts [`BATCH`], the
/// best of three batches (the least disturbed by the rest of the machine).
fn time_per_run(mut f: impl FnMut()) -> Duration {
    let mut reps = 1u32;
    let mut best = Duration::MAX;
    let mut batches = 0;
    while batches < 3 {
        let start = Instant::now();
        for _ in 0..reps {
            f();
        }
        let elapsed = start.elapsed();
        if elapsed < BATCH && reps < 1 << 24 {
            reps *= 2;
            continue;
        }
        best = best.min(elapsed / reps);
        batches += 1;
    }
    best
}

impl<T: Real> Tape<T> {
    /// A flat profile of the recorded work of a traced tape, one row per
    /// operation kind, largest total first: `forward` is the time to compute
    /// the values and local partials of that kind's nodes (what each
    /// primitive does when it is recorded or replayed; appending the 24-byte
    /// node is the same for every kind and is left out), `backward` the
    /// time of their steps in the reverse sweep. Measured now, by re-running
    /// each kind's nodes over the recorded values in batches of at least
    /// 200 µs (best of three), because one scalar operation takes less time
    /// than one clock read. Print it for a table.
    ///
    /// Refused for an untraced tape ([`ReplayError::NotTraced`]) and for a
    /// tape holding a custom primitive, whose work only its caller knows
    /// ([`ReplayError::NotReplayable`]).
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::traced();
    /// let x = tape.var(0.5);
    /// let mut y = x;
    /// for _ in 0..100 {
    ///     y = (y * 0.9).sin() + x.exp();
    /// }
    /// let profile = tape.profile().unwrap();
    /// let exp = profile.rows.iter().find(|r| r.op == "exp").unwrap();
    /// assert_eq!((exp.forward_calls, exp.backward_calls), (100, 100));
    /// assert!(profile.to_string().starts_with("op"));
    /// assert!(Tape::<f64>::new().profile().is_err());
    /// ```
    pub fn profile(&self) -> Result<Profile, ReplayError> {
        let inner = self.inner();
        let trace = inner.trace.as_ref().ok_or(ReplayError::NotTraced)?;
        if let Some(node) = trace.first_custom {
            return Err(ReplayError::NotReplayable {
                node: node as usize,
                op: trace.ops[node as usize].name(),
            });
        }
        let (nodes, ops, values) = (&inner.nodes[..], &trace.ops[..], &trace.values[..]);
        // Node indices by kind, in tape order.
        let mut kinds: Vec<(&'static str, Vec<u32>)> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            if matches!(op, Op::Input | Op::Constant) {
                continue;
            }
            let name = op.name();
            match kinds.iter_mut().find(|(k, _)| *k == name) {
                Some((_, idx)) => idx.push(i as u32),
                None => kinds.push((name, vec![i as u32])),
            }
        }
        // Adjoints for the sweep steps: zeros stay zeros, so repeated runs
        // neither overflow nor reach subnormals.
        let mut adj = vec![T::ZERO; nodes.len()];
        let mut rows: Vec<ProfileRow> = kinds
            .iter()
            .map(|(name, idx)| {
                let forward = time_per_run(|| {
                    let mut sink = T::ZERO;
                    for &i in idx {
                        let [p, q] = nodes[i as usize].parents;
                        let (v, [a, b]) =
                            local(ops[i as usize], values[p as usize], values[q as usize]);
                        sink += v + a + b;
                    }
                    black_box(sink);
                });
                let backward = time_per_run(|| {
                    for &i in idx.iter().rev() {
                        let Node {
                            parents: [p, q],
                            partials: [a, b],
                        } = nodes[i as usize];
                        let g = adj[i as usize];
                        adj[p as usize] += g * a;
                        adj[q as usize] += g * b;
                    }
                    black_box(&mut adj);
                });
                ProfileRow {
                    op: name,
                    forward_calls: idx.len(),
                    forward,
                    backward_calls: idx.len(),
                    backward,
                }
            })
            .collect();
        rows.sort_by(|a, b| b.total().cmp(&a.total()).then(a.op.cmp(b.op)));
        Ok(Profile { rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_count_each_kind_and_come_sorted_by_time() {
        // Timing itself is not asserted (that is the benches' job): the
        // counts per kind, the order, and that every kind got measured.
        let tape = Tape::traced();
        let x = tape.var(0.3);
        let mut y = x;
        for _ in 0..2000 {
            y = y.sin() + x * 2.0;
        }
        let _ = y.exp();
        let p = tape.profile().unwrap();
        let calls: Vec<_> = {
            let mut c: Vec<_> = p
                .rows
                .iter()
                .map(|r| (r.op, r.forward_calls, r.backward_calls))
                .collect();
            c.sort();
            c
        };
        assert_eq!(
            calls,
            vec![
                ("add", 2000, 2000),
                ("exp", 1, 1),
                ("mul", 2000, 2000),
                ("sin", 2000, 2000)
            ]
        );
        assert!(
            p.rows.windows(2).all(|w| w[0].total() >= w[1].total()),
            "{p}"
        );
        assert!(
            p.rows
                .iter()
                .all(|r| r.forward > Duration::ZERO && r.backward > Duration::ZERO),
            "{p}"
        );
    }

    #[test]
    fn custom_primitives_are_refused() {
        let tape = Tape::<f64>::traced();
        let x = tape.var(1.0);
        let _ = tape.custom_unary("twice", x, 2.0, 2.0);
        assert!(matches!(
            tape.profile(),
            Err(ReplayError::NotReplayable { op: "twice", .. })
        ));
    }
}
