//! The reverse sweep and its result.

use std::fmt;
use std::ops::Index;

use super::tape::{Node, Tape, Var};
use crate::Real;

/// The adjoints from one reverse sweep: d(output)/d(v) for every variable `v`
/// recorded before the sweep. A value of its own, independent of the tape,
/// so it can be kept, compared, or computed again from the same tape.
///
/// Look up with `grads[x]` (panics with a clear message on a foreign variable),
/// [`Gradients::wrt`], or [`Gradients::get`] (returns a `Result`).
///
/// ```
/// use autograd_core::Tape;
/// let tape = Tape::new();
/// let (x, y) = (tape.var(2.0), tape.var(5.0));
/// let g = (x * y).backward();
/// assert_eq!(g[x], 5.0);
/// assert_eq!(g.get(y), Ok(2.0));
/// ```
#[derive(Clone, PartialEq)]
pub struct Gradients<T: Real = f64> {
    tape_id: u64,
    /// Nodes on the tape when the sweep ran; later ones are not covered.
    covered: usize,
    /// Adjoints of nodes 0..covered.
    adjoints: Vec<T>,
}

/// Why a gradient could not be looked up.
///
/// ```
/// use autograd_core::{GradientError, Tape};
/// let (a, b) = (Tape::new(), Tape::new());
/// let g = a.var(1.0).exp().backward();
/// let stranger = b.var(1.0);
/// assert!(matches!(g.get(stranger), Err(GradientError::ForeignVariable { .. })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GradientError {
    /// The variable belongs to another tape, or to this tape before a `clear`.
    ForeignVariable {
        /// Index of the variable on its own tape.
        index: usize,
        /// Id of the variable's tape recording.
        var_tape: u64,
        /// Id of the recording the gradients came from.
        grad_tape: u64,
    },
    /// The variable was recorded after the sweep that produced the gradients.
    RecordedAfterSweep {
        /// Index of the variable.
        index: usize,
        /// Nodes the gradients cover (indices 0..covered).
        covered: usize,
    },
}

impl fmt::Display for GradientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GradientError::ForeignVariable {
                index,
                var_tape,
                grad_tape,
            } => write!(
                f,
                "gradient of v{index}: the variable is on tape recording #{var_tape}, \
                 but these gradients come from tape recording #{grad_tape} \
                 (a different tape, or the same tape before clear())"
            ),
            GradientError::RecordedAfterSweep { index, covered } => write!(
                f,
                "gradient of v{index}: the variable was recorded after these gradients were \
                 computed (they cover v0..v{}); run the sweep again",
                covered.saturating_sub(1)
            ),
        }
    }
}

impl std::error::Error for GradientError {}

impl<T: Real> Default for Gradients<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> fmt::Debug for Gradients<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gradients")
            .field("tape_id", &self.tape_id)
            .field("covered", &self.covered)
            .field("adjoints", &self.adjoints)
            .finish()
    }
}

impl<T: Real> Gradients<T> {
    /// An empty buffer, to be filled by [`Tape::gradient_into`] (which reuses
    /// its allocation from one step to the next).
    ///
    /// ```
    /// let g = autograd_core::Gradients::<f64>::new();
    /// assert!(g.is_empty());
    /// ```
    pub fn new() -> Self {
        Gradients {
            tape_id: 0,
            covered: 0,
            adjoints: Vec::new(),
        }
    }

    pub(crate) fn from_parts(tape_id: u64, adjoints: Vec<T>) -> Self {
        Gradients {
            tape_id,
            covered: adjoints.len(),
            adjoints,
        }
    }

    pub(crate) fn tape_id(&self) -> u64 {
        self.tape_id
    }

    /// True before any sweep has filled this buffer (or after a sweep of
    /// an empty tape).
    ///
    /// ```
    /// assert!(autograd_core::Gradients::<f32>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.covered == 0
    }

    /// d(output)/d(v), or an error if `v` is not covered by this sweep.
    ///
    /// ```
    /// use autograd_core::{GradientError, Tape};
    /// let tape = Tape::new();
    /// let x = tape.var(1.0);
    /// let g = x.exp().backward();
    /// let late = tape.var(2.0);
    /// assert!(matches!(g.get(late), Err(GradientError::RecordedAfterSweep { .. })));
    /// assert!(g.get(x).is_ok());
    /// ```
    pub fn get(&self, v: Var<'_, T>) -> Result<T, GradientError> {
        let index = v.index as usize;
        if v.tape.id != self.tape_id {
            return Err(GradientError::ForeignVariable {
                index,
                var_tape: v.tape.id,
                grad_tape: self.tape_id,
            });
        }
        if index >= self.covered {
            return Err(GradientError::RecordedAfterSweep {
                index,
                covered: self.covered,
            });
        }
        Ok(self.adjoints[index])
    }

    /// d(output)/d(v).
    ///
    /// # Panics
    /// With the message of [`GradientError`] if `v` is not covered.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(3.0);
    /// assert_eq!(x.powi(2).backward().wrt(x), 6.0);
    /// ```
    #[track_caller]
    pub fn wrt(&self, v: Var<'_, T>) -> T {
        match self.get(v) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    /// The gradients of several variables, in order.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let xs = tape.vars(&[1.0, 2.0]);
    /// let y = xs[0] * xs[1];
    /// assert_eq!(y.backward().wrt_all(&xs), vec![2.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn wrt_all(&self, vs: &[Var<'_, T>]) -> Vec<T> {
        let mut out = vec![T::ZERO; vs.len()];
        self.wrt_into(vs, &mut out);
        out
    }

    /// Writes the gradients of `vs` into `out` (same length), checking that
    /// each variable is covered. The bulk form of `grads[v]`: the tape check
    /// is done once per run of variables from the same tape.
    ///
    /// # Panics
    /// If the lengths differ, or a variable is not covered (see [`Gradients::get`]).
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let xs = tape.vars(&[1.0, 2.0, 3.0]);
    /// let y = xs[0] * xs[1] * xs[2];
    /// let mut g = [0.0; 3];
    /// y.backward().wrt_into(&xs, &mut g);
    /// assert_eq!(g, [6.0, 3.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn wrt_into(&self, vs: &[Var<'_, T>], out: &mut [T]) {
        assert_eq!(
            vs.len(),
            out.len(),
            "Gradients::wrt_into: {} variables but an output slice of length {}",
            vs.len(),
            out.len()
        );
        let mut checked: *const Tape<T> = std::ptr::null();
        for (o, v) in out.iter_mut().zip(vs) {
            if !std::ptr::eq(v.tape, checked) {
                if v.tape.id != self.tape_id {
                    self.wrt(*v);
                }
                checked = v.tape;
            }
            match self.adjoints.get(v.index as usize) {
                Some(g) => *o = *g,
                None => {
                    self.wrt(*v);
                }
            }
        }
    }

    /// The adjoint of node `index`; `None` past the nodes this sweep covers.
    /// For printing tapes.
    ///
    /// ```
    /// let tape = autograd_core::Tape::new();
    /// let x = tape.var(3.0);
    /// let g = (x * 2.0).backward();
    /// assert_eq!(g.adjoint(x.index()), Some(2.0));
    /// ```
    pub fn adjoint(&self, index: usize) -> Option<T> {
        if index >= self.covered {
            None
        } else {
            Some(self.adjoints[index])
        }
    }
}

impl<'t, T: Real> Index<Var<'t, T>> for Gradients<T> {
    type Output = T;
    #[track_caller]
    fn index(&self, v: Var<'t, T>) -> &T {
        match self.get(v) {
            Ok(_) => &self.adjoints[v.index as usize],
            Err(e) => panic!("{e}"),
        }
    }
}

/// The reverse sweep over `nodes[..=top]`: every adjoint must already hold
/// its seed. One loop, from the top output down, no recursion: node `i`
/// passes `partial * adjoint[i]` to each parent. Parents always have smaller
/// indices than their children, so when node `i` is reached its adjoint is
/// final.
///
/// Nodes whose adjoint is exactly zero are skipped: the outputs do not depend
/// on them, and skipping keeps an infinite partial somewhere off the path
/// (say `sqrt` at 0) from turning into `0 * inf = NaN` on the path.
#[inline]
pub(crate) fn sweep<T: Real>(nodes: &[Node<T>], adjoints: &mut [T], top: usize) {
    let nodes = &nodes[..=top];
    let adjoints = &mut adjoints[..=top];
    // Most nodes feed the node recorded right before them (`x.exp().sin()`).
    // That contribution is kept in a register (`carry`) instead of going
    // through memory, which would put a store-to-load forwarding delay on the
    // critical path.
    let mut carry = T::ZERO;
    for i in (0..=top).rev() {
        let a = adjoints[i] + carry;
        carry = T::ZERO;
        if a == T::ZERO {
            // Store it anyway: the slot may hold contributions that `carry`
            // cancelled exactly.
            adjoints[i] = a;
            continue;
        }
        let Node { parents, partials } = nodes[i];
        let prev = (i as u32).wrapping_sub(1);
        if parents[0] == prev {
            carry = partials[0] * a;
        } else {
            adjoints[parents[0] as usize] += partials[0] * a;
        }
        if parents[1] == prev {
            // Both edges reach `i - 1` only for `x * x`-like nodes.
            carry = if parents[0] == prev {
                carry + partials[1] * a
            } else {
                partials[1] * a
            };
        } else if parents[1] != i as u32 {
            // (A unary node's second edge is a dummy pointing at the node
            // itself: skipping it saves a read-modify-write per node.)
            adjoints[parents[1] as usize] += partials[1] * a;
        }
        // After the edges: a leaf's dummy edge (parent = i, partial 0) has
        // added 0 * a to this slot, which is NaN if `a` is infinite.
        adjoints[i] = a;
    }
}

impl<T: Real> Tape<T> {
    /// d(output)/d(every variable): one reverse sweep seeded with 1 at
    /// `output`. The tape is not changed, so this can be asked again, for the
    /// same or another output.
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(2.0);
    /// let y = x.powi(3);
    /// let z = x.sin();
    /// assert_eq!(tape.gradient(y)[x], 12.0);
    /// assert_eq!(tape.gradient(z)[x], 2.0_f64.cos());
    /// assert_eq!(tape.gradient(y)[x], 12.0);
    /// ```
    #[track_caller]
    pub fn gradient(&self, output: Var<'_, T>) -> Gradients<T> {
        let mut g = Gradients::new();
        self.vjp_into(&[(output, T::ONE)], &mut g);
        g
    }

    /// Like [`Tape::gradient`], but writes into `grads`, reusing its memory:
    /// in a training loop this makes the sweep allocation-free.
    ///
    /// ```
    /// use autograd_core::{Gradients, Tape};
    /// let mut tape = Tape::new();
    /// let mut g = Gradients::new();
    /// for k in 1..4 {
    ///     let x = tape.var(k as f64);
    ///     tape.gradient_into(x * x, &mut g);
    ///     assert_eq!(g[x], 2.0 * k as f64);
    ///     tape.clear();
    /// }
    /// ```
    #[track_caller]
    pub fn gradient_into(&self, output: Var<'_, T>, grads: &mut Gradients<T>) {
        self.vjp_into(&[(output, T::ONE)], grads);
    }

    /// Vector-Jacobian product: the sweep seeded with `seed` at each listed
    /// output, giving sum_k seed_k * d(output_k)/d(v) for every variable v.
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(3.0);
    /// let (a, b) = (x * 2.0, x * x);
    /// let g = tape.vjp(&[(a, 10.0), (b, 1.0)]);
    /// assert_eq!(g[x], 10.0 * 2.0 + 6.0);
    /// ```
    #[track_caller]
    pub fn vjp(&self, seeds: &[(Var<'_, T>, T)]) -> Gradients<T> {
        let mut g = Gradients::new();
        self.vjp_into(seeds, &mut g);
        g
    }

    /// [`Tape::vjp`] into a reused buffer.
    ///
    /// # Panics
    /// If a seed variable is on another tape.
    ///
    /// ```
    /// use autograd_core::{Gradients, Tape};
    /// let tape = Tape::new();
    /// let x = tape.var(1.0);
    /// let mut g = Gradients::new();
    /// tape.vjp_into(&[(x.exp(), 2.0)], &mut g);
    /// assert_eq!(g[x], 2.0 * 1.0_f64.exp());
    /// ```
    #[track_caller]
    pub fn vjp_into(&self, seeds: &[(Var<'_, T>, T)], grads: &mut Gradients<T>) {
        let inner = self.inner();
        let n = inner.nodes.len();
        grads.adjoints.clear();
        grads.adjoints.resize(n, T::ZERO);
        grads.tape_id = self.id;
        grads.covered = n;
        let mut top = 0;
        for (v, s) in seeds {
            self.check_own(*v, "gradient seed");
            let i = v.index as usize;
            grads.adjoints[i] += *s;
            top = top.max(i);
        }
        if n > 0 {
            sweep(&inner.nodes, &mut grads.adjoints, top);
        }
    }

    /// The Jacobian d(outputs)/d(inputs), one reverse sweep per output
    /// (row `i` is the gradient of `outputs[i]`).
    ///
    /// ```
    /// use autograd_core::Tape;
    /// let tape = Tape::new();
    /// let (x, y) = (tape.var(2.0), tape.var(3.0));
    /// let j = tape.jacobian(&[x * y, x + y], &[x, y]);
    /// assert_eq!(j, vec![vec![3.0, 2.0], vec![1.0, 1.0]]);
    /// ```
    #[track_caller]
    pub fn jacobian(&self, outputs: &[Var<'_, T>], inputs: &[Var<'_, T>]) -> Vec<Vec<T>> {
        let mut g = Gradients::new();
        outputs
            .iter()
            .map(|&o| {
                self.gradient_into(o, &mut g);
                g.wrt_all(inputs)
            })
            .collect()
    }
}
