//! Record once, replay many, on the scalar tape. A traced tape keeps every
//! node's operation and value; replay runs that list again for new input
//! values, rewriting the values and the partials in place (no allocation), and
//! the next sweep gives the new gradient. Comparisons the code branched on
//! (`guard_*`) are recorded and checked, so a replay that would take another
//! branch is refused instead of giving a wrong gradient.

use std::panic::Location;

use super::ops::local;
use super::tape::{Tape, Var};
use super::trace::Op;
use crate::{Real, ReplayError};

/// A recorded comparison `x < c` (or `x > c`): which node, how many nodes
/// existed when it was made (so replay checks it at the same point), and
/// where in the source it was made.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Guard {
    node: u32,
    pub(super) after: u32,
    greater: bool,
    c: f64,
    outcome: bool,
    at: &'static Location<'static>,
}

#[inline]
fn compare<T: Real>(x: T, greater: bool, c: T) -> bool {
    if greater { x > c } else { x < c }
}

impl<'t, T: Real> Var<'t, T> {
    /// `self < c`, recorded on a traced tape so that [`Tape::replay`]
    /// refuses new inputs for which the answer changes. Use it where code
    /// branches on a value; on an untraced tape it is a plain comparison.
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::traced();
    /// let x = tape.var(-3.0);
    /// let y = if x.guard_lt(0.0) { -x } else { x };   // |x|
    /// assert_eq!(y.backward()[x], -1.0);
    /// tape.replay(&[(x, -5.0)]).unwrap();           // same branch: fine
    /// assert_eq!(y.value(), 5.0);
    /// assert!(tape.replay(&[(x, 5.0)]).is_err());   // other branch: re-record
    /// ```
    #[track_caller]
    pub fn guard_lt(self, c: T) -> bool {
        self.guard(false, c)
    }

    /// `self > c`, recorded like [`Var::guard_lt`].
    ///
    /// ```
    /// let tape = autograd_core::Tape::traced();
    /// assert!(tape.var(1.0).guard_gt(0.5));
    /// ```
    #[track_caller]
    pub fn guard_gt(self, c: T) -> bool {
        self.guard(true, c)
    }

    #[track_caller]
    fn guard(self, greater: bool, c: T) -> bool {
        let outcome = compare(self.value(), greater, c);
        self.tape.record_guard(Guard {
            node: self.index,
            after: 0,
            greater,
            c: c.to_f64(),
            outcome,
            at: Location::caller(),
        });
        outcome
    }
}

impl<T: Real> Tape<T> {
    /// Recomputes every value and local partial of a traced tape for new
    /// values of some leaves, in recording order, without re-recording and
    /// without allocating; sweep afterwards as usual ([`Tape::gradient_into`]
    /// reuses its buffer). Values read through [`Var::value`] are the
    /// replayed ones. The gradients are bit for bit those a fresh recording
    /// of the same code would give.
    ///
    /// Refused before anything changes for an untraced tape, a new value for
    /// a computed node, or a tape with a custom primitive. Refused when a
    /// comparison recorded with [`Var::guard_lt`]/[`Var::guard_gt`] comes out
    /// differently: the code would take another branch, so re-record. (Values
    /// recomputed before that point are kept.) Functions built in (sigmoid,
    /// softplus) guard their own branches.
    ///
    /// ```
    /// use autograd_core::{Gradients, Tape};
    /// let tape = Tape::traced();
    /// let (x, y) = (tape.var(0.5), tape.var(4.2));
    /// let f = x * y + x.sin();
    /// let mut g = Gradients::new();
    /// for (a, b) in [(1.0, 2.0), (-0.3, 0.7)] {
    ///     tape.replay(&[(x, a), (y, b)]).unwrap();
    ///     tape.gradient_into(f, &mut g);
    ///     assert_eq!(f.value(), a * b + a.sin());
    ///     assert_eq!(g[x], b + a.cos());
    /// }
    /// ```
    #[track_caller]
    pub fn replay(&self, inputs: &[(Var<'_, T>, T)]) -> Result<(), ReplayError> {
        for (v, _) in inputs {
            self.check_own(*v, "replay");
        }
        self.replay_inner(inputs)
    }

    fn replay_inner(&self, inputs: &[(Var<'_, T>, T)]) -> Result<(), ReplayError> {
        let inner = self.inner_mut();
        let Some(trace) = inner.trace.as_mut() else {
            return Err(ReplayError::NotTraced);
        };
        if let Some(node) = trace.first_custom {
            return Err(ReplayError::NotReplayable {
                node: node as usize,
                op: trace.ops[node as usize].name(),
            });
        }
        for (v, _) in inputs {
            if !matches!(trace.ops[v.index as usize], Op::Input | Op::Constant) {
                return Err(ReplayError::NotAnInput {
                    node: v.index as usize,
                });
            }
        }
        for (v, value) in inputs {
            trace.values[v.index as usize] = *value;
        }
        trace.replayed = true;
        // Slices, not the Vecs: their pointers stay in registers instead of
        // being reloaded every node (S1/replay 5.3 -> 4.7 ms).
        let (ops, values, guards) = (&trace.ops[..], &mut trace.values[..], &trace.guards[..]);
        let nodes = &mut inner.nodes[..];
        // Guards made once node i existed are checked right after node i,
        // before any later node could depend on the branch they chose.
        let mut next_guard = 0;
        let mut check_at = guards.first().map_or(usize::MAX, |g| g.after as usize);
        for (i, (node, &op)) in nodes.iter_mut().zip(ops).enumerate() {
            // Leaves too: `local` returns a leaf's own value (both parent
            // slots point at it) with zero partials, so no branch is needed.
            let [p, q] = node.parents;
            let (v, partials) = local(op, values[p as usize], values[q as usize]);
            values[i] = v;
            node.partials = partials;
            while check_at == i + 1 {
                let g = &guards[next_guard];
                if compare(values[g.node as usize], g.greater, T::from_f64(g.c)) != g.outcome {
                    return Err(ReplayError::BranchChanged {
                        node: g.node as usize,
                        location: g.at,
                    });
                }
                next_guard += 1;
                check_at = guards
                    .get(next_guard)
                    .map_or(usize::MAX, |g| g.after as usize);
            }
        }
        Ok(())
    }
}
