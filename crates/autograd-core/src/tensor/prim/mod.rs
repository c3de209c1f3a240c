//! Elementwise primitives, each defined once.
//!
//! An elementwise primitive is a small `Copy` type in a file of its own under
//! `unary/` or `binary/`: its name, its value at one element, and its VJP
//! written once over [`Pointwise`]. A line in the registry at the top of
//! `unary/mod.rs` or `binary/mod.rs` adds it to the tape's operation enum.
//! Everything else is derived here from those few lines, so it cannot drift
//! from them:
//!
//! - the forward on tensors (`Tensor::tanh`), and its recording;
//! - replay's in-place kernel (the value at each element into the recorded
//!   buffer);
//! - the sweep's VJP into a buffer it already has (the adjoint's own, or one
//!   from the pool): the VJP at one element, `E = T`;
//! - the general VJP on plain tensors and, for `grad_graph`, on recorded
//!   variables: the same VJP with `E = Tensor` or `E = TensorVar`.
//!
//! Since each [`Pointwise`] operation rounds a number exactly as it rounds a
//! tensor element, the element-by-element VJP and the tensor one agree bit
//! for bit (a unit test below checks every registered primitive).

pub(crate) mod binary;
pub(crate) mod general;
pub(crate) mod unary;

pub(crate) use binary::BinaryOp;
pub(crate) use general::GeneralOp;
pub(crate) use unary::UnaryOp;

use smallvec::SmallVec;

use super::algebra::Algebra;
use super::pointwise::Pointwise;
use super::shape::{Shape, broadcast_shapes, same_shape};
use super::tape::{Op, TensorVar};
use super::value::Tensor;
use crate::Real;
#[cfg(target_arch = "x86_64")]
use crate::simd::Level;

/// A one-input elementwise primitive.
pub(crate) trait Unary<T: Real>: Copy + Sync {
    /// The name users know it by (errors, profiles, statistics).
    const NAME: &'static str;
    /// Whether [`Unary::vjp`] reads the input `x` / the output `y`: the
    /// sweep's kernel reads only those (a value it skips is one memory
    /// access fewer per node on a long tape). A wrong `false` is caught by
    /// the bit-for-bit test below, which passes the real values.
    const READS_X: bool;
    /// See [`Unary::READS_X`].
    const READS_Y: bool;
    /// Its value at one element.
    fn value(self, x: T) -> T;
    /// The gradient of its input, given the output's adjoint `g`, the input
    /// `x` and the output `y`: at one element, or on whole tensors.
    fn vjp<E: Pointwise<T>>(self, g: &E, x: &E, y: &E) -> E;
}

/// A two-input elementwise primitive (inputs broadcast like numpy's).
pub(crate) trait Binary<T: Real>: Copy + Sync {
    /// The name users know it by.
    const NAME: &'static str;
    /// Its value at one pair of elements.
    fn value(self, a: T, b: T) -> T;
    /// The gradient of the first input, in the output's shape.
    fn vjp_a<E: Pointwise<T>>(self, g: &E, a: &E, b: &E, y: &E) -> E;
    /// The gradient of the second input, in the output's shape.
    fn vjp_b<E: Pointwise<T>>(self, g: &E, a: &E, b: &E, y: &E) -> E;
}

/// A primitive of any shape: several inputs, reductions inside (`general/`).
pub(crate) trait Primitive<T: Real>: Clone {
    /// The name users know it by.
    const NAME: &'static str;
    /// The output from the inputs' values; recording and replay both call
    /// it (the inputs were checked when the primitive was first recorded).
    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T>;
    /// The gradients of the inputs that `need` one, each in a shape that
    /// sums back to its input's (the sweep does the summing), written over
    /// [`Algebra`] so that `grad_graph` records them. A rule that needs the
    /// primitive itself (or another one) calls [`record_general`] on `V`.
    fn vjp<V: Apply<T>>(&self, x: &[&V], y: &V, g: &V, need: &[bool]) -> SmallVec<[Option<V>; 3]>;
    /// Optionally, the same VJP on plain tensors into buffers from the
    /// sweep's pool, from the same formula run on numbers (see
    /// `cross_entropy.rs`); `None` (nothing taken) sends the sweep to
    /// [`Primitive::vjp`]. `pool.rs` checks a kernel against it bit for bit.
    fn vjp_pooled(
        &self,
        _x: &[&Tensor<T>],
        _y: &Tensor<T>,
        _g: &Tensor<T>,
        _need: &[bool],
        _pool: &mut Vec<Tensor<T>>,
    ) -> Option<SmallVec<[Option<Tensor<T>>; 3]>> {
        None
    }
}

/// What a general primitive's VJP runs on: [`Algebra`], and applying a
/// general primitive (for rules that need one). Plain tensors compute it;
/// variables record it.
pub(crate) trait Apply<T: Real>: Algebra<T> {
    /// `op` on `x`.
    fn apply(op: GeneralOp<T>, x: &[&Self]) -> Self;
}

impl<T: Real> Apply<T> for Tensor<T> {
    fn apply(op: GeneralOp<T>, x: &[&Self]) -> Self {
        op.forward(x)
    }
}

impl<T: Real> Apply<T> for TensorVar<'_, T> {
    fn apply(op: GeneralOp<T>, x: &[&Self]) -> Self {
        let rest: SmallVec<[Self; 3]> = x[1..].iter().map(|v| **v).collect();
        x[0].record_general(&rest, op)
    }
}

// ---------------------------------------------------------------------------
// Kernels every registered primitive gets, monomorphised per primitive by
// the registries' dispatch.

/// Calls `$body` (an `#[inline(always)]` fn generic over `T: Real` and
/// `U: Unary<T>`) through a copy compiled for the widest level
/// `simd::level` allows: the three elementwise kernels below dispatch
/// themselves rather than through `simd::wide`, because a closure's
/// captures reach the wide copy through memory, ~10 instructions a call
/// that a function's arguments in registers do not pay, a sixth of T3's
/// 16-element ops (callgrind).
macro_rules! at_level {
    ($body:ident($($a:ident: $t:ty),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512<T: Real, U: Unary<T>>($($a: $t),*) {
                $body($($a),*)
            }
            #[target_feature(enable = "avx2")]
            fn avx2<T: Real, U: Unary<T>>($($a: $t),*) {
                $body($($a),*)
            }
            match crate::simd::level() {
                // SAFETY: each requires only that the CPU has its feature;
                // `level` never exceeds what was detected.
                Level::Avx512 => return unsafe { avx512($($a),*) },
                // SAFETY: as above.
                Level::Avx2 => return unsafe { avx2($($a),*) },
                Level::Plain => {}
            }
        }
        $body($($a),*)
    }};
}

/// `out[i] = op.value(x[i])` into an initialised buffer (replay, recycled
/// values), as wide as the CPU allows, as [`map_uninit`].
pub(crate) fn map_into<T: Real, U: Unary<T>>(op: U, x: &[T], out: &mut [T]) {
    #[inline(always)]
    fn body<T: Real, U: Unary<T>>(op: U, x: &[T], out: &mut [T]) {
        debug_assert_eq!(x.len(), out.len());
        for (o, &v) in out.iter_mut().zip(x) {
            *o = op.value(v);
        }
    }
    at_level!(body(op: U, x: &[T], out: &mut [T]))
}

/// `out[i] = op.value(x[i])` for every element of `out` (`x` at least as
/// long), compiled for the widest level [`crate::simd::level`] allows: the
/// crate is built for baseline x86-64, so the same loop compiled without
/// it is four wide. Each lane
/// computes what the scalar loop would, so the bits do not depend on the
/// CPU.
fn map_uninit<T: Real, U: Unary<T>>(op: U, x: &[T], out: &mut [std::mem::MaybeUninit<T>]) {
    #[inline(always)]
    fn body<T: Real, U: Unary<T>>(op: U, x: &[T], out: &mut [std::mem::MaybeUninit<T>]) {
        for (o, &v) in out.iter_mut().zip(x) {
            o.write(op.value(v));
        }
    }
    assert!(
        x.len() >= out.len(),
        "map_uninit: input shorter than output"
    );
    at_level!(body(op: U, x: &[T], out: &mut [std::mem::MaybeUninit<T>]))
}

/// The VJP into `out`, reading the adjoint from `g`, or from `out` itself
/// when `g` is `None` (the adjoint's own buffer). Of `x` and `y` it reads
/// only what the rule uses ([`Unary::READS_X`]); in the rule's place for one
/// it does not read, it passes another slice of the same length (unused).
#[inline(always)]
pub(crate) fn unary_vjp_into<T: Real, U: Unary<T>>(
    op: U,
    g: Option<&[T]>,
    x: &Tensor<T>,
    y: &Tensor<T>,
    out: &mut [T],
) {
    fn run<T: Real, U: Unary<T>>(op: U, g: Option<&[T]>, x: &[T], y: &[T], out: &mut [T]) {
        // A large buffer is split between threads (a small one stays whole
        // on this thread): each element's rule is the same wherever it
        // runs, so the bits are too.
        let min = crate::parallel::SPLIT_ELEMENTS;
        if out.len() < min {
            // Straight to the kernel: T3's 16-element VJPs paid a fifth of
            // their instructions for the split's closure.
            return wide(op, g, x, y, out);
        }
        crate::parallel::for_chunks(out.len(), min, out, 1, |s, part| {
            let e = s + part.len();
            wide(op, g.map(|g| &g[s..e]), &x[s..e], &y[s..e], part)
        });
    }
    /// [`one`] as wide as the CPU allows (as `map_uninit`).
    fn wide<T: Real, U: Unary<T>>(op: U, g: Option<&[T]>, x: &[T], y: &[T], out: &mut [T]) {
        at_level!(one(op: U, g: Option<&[T]>, x: &[T], y: &[T], out: &mut [T]))
    }
    #[inline(always)]
    fn one<T: Real, U: Unary<T>>(op: U, g: Option<&[T]>, x: &[T], y: &[T], out: &mut [T]) {
        // Plain `for` loops: they inline into `wide`'s vector copies, where a
        // `for_each` left its fold outlined and four wide.
        match g {
            None => {
                for (o, (x, y)) in out.iter_mut().zip(x.iter().zip(y)) {
                    let g = *o;
                    *o = op.vjp(&g, x, y);
                }
            }
            Some(g) => {
                for (o, (g, (x, y))) in out.iter_mut().zip(g.iter().zip(x.iter().zip(y))) {
                    *o = op.vjp(g, x, y);
                }
            }
        }
    }
    match (U::READS_X, U::READS_Y) {
        (true, true) => run(op, g, x.data(), y.data(), out),
        (true, false) => {
            let x = x.data();
            run(op, g, x, x, out)
        }
        (false, true) => {
            let y = y.data();
            run(op, g, y, y, out)
        }
        // No values at all: x's slice stands in for both, unread.
        (false, false) => {
            let x = x.data();
            run(op, g, x, x, out)
        }
    }
}

/// How an input of a binary op covers the output: all of it, a row repeated
/// along the leading axes (a bias), or one element.
#[derive(Clone, Copy)]
pub(crate) enum Arg<'a, T> {
    Full(&'a [T]),
    Row(&'a [T]),
    One(T),
}

impl<'a, T: Copy> Arg<'a, T> {
    /// `t`'s cover of `out`, when it is one of the three simple ones.
    pub(crate) fn of(t: &'a Tensor<T>, out: &[usize]) -> Option<Self> {
        let s = t.shape();
        if same_shape(s, out) {
            return Some(Arg::Full(t.data()));
        }
        if t.numel() == 1 {
            return Some(Arg::One(t.data()[0]));
        }
        let s = &s[s.iter().take_while(|&&d| d == 1).count()..];
        (s.len() <= out.len() && same_shape(s, &out[out.len() - s.len()..]))
            .then(|| Arg::Row(t.data()))
    }

    /// The elements for output positions `start..start + len` (a block that
    /// never crosses a row's end); `filled` holds a single element repeated.
    #[inline(always)]
    fn block<'b>(&'b self, start: usize, len: usize, filled: &'b [T; BLOCK]) -> &'b [T] {
        match *self {
            Arg::Full(d) => &d[start..start + len],
            Arg::Row(r) => {
                let at = start % r.len();
                &r[at..at + len]
            }
            Arg::One(_) => &filled[..len],
        }
    }

    /// A block's worth of the single element (unused otherwise).
    #[inline(always)]
    fn filled(&self) -> [T; BLOCK]
    where
        T: Default,
    {
        match *self {
            Arg::One(v) => [v; BLOCK],
            _ => [T::default(); BLOCK],
        }
    }

    /// How many output positions from `start` one block may cover.
    #[inline(always)]
    fn room(&self, start: usize, n: usize) -> usize {
        match *self {
            Arg::Full(_) => n - start,
            Arg::Row(r) => r.len() - start % r.len(),
            Arg::One(_) => BLOCK,
        }
    }
}

/// A block of broadcast elements: large enough that the per-block work is
/// negligible, small enough to sit on the stack.
const BLOCK: usize = 256;

/// Runs `f` over blocks of output positions with each input's elements for
/// them as slices of the block's length, so the inner loops are plain zips
/// of slices that vectorise, whatever the broadcast.
#[inline(always)]
pub(crate) fn blocks<T: Copy + Default>(
    n: usize,
    a: Arg<'_, T>,
    b: Arg<'_, T>,
    mut f: impl FnMut(usize, &[T], &[T]),
) {
    if let (Arg::Full(a), Arg::Full(b)) = (a, b) {
        // The common case, without the fill buffers' set-up.
        return f(0, a, b);
    }
    // A single element is repeated once, not per block.
    let (fa, fb) = (a.filled(), b.filled());
    let mut start = 0;
    while start < n {
        let len = a.room(start, n).min(b.room(start, n)).min(n - start);
        f(start, a.block(start, len, &fa), b.block(start, len, &fb));
        start += len;
    }
}

/// A binary op's value into `out` for simple broadcasts.
#[inline(always)]
pub(crate) fn zip_into<T: Real, B: Binary<T>>(op: B, a: Arg<'_, T>, b: Arg<'_, T>, out: &mut [T]) {
    blocks(out.len(), a, b, |s, a, b| {
        let o = &mut out[s..s + a.len()];
        for (o, (a, b)) in o.iter_mut().zip(a.iter().zip(b)) {
            *o = op.value(*a, *b);
        }
    });
}

/// A binary op's VJP for input `k` into `out` (the output's shape), for
/// simple broadcasts; `g` and `y` have the output's shape.
#[inline(always)]
pub(crate) fn binary_vjp_into<T: Real, B: Binary<T>>(
    op: B,
    k: usize,
    g: &[T],
    a: Arg<'_, T>,
    b: Arg<'_, T>,
    y: &[T],
    out: &mut [T],
) {
    blocks(out.len(), a, b, |s, a, b| {
        let e = s + a.len();
        let (o, g, y) = (&mut out[s..e], &g[s..e], &y[s..e]);
        let it = o
            .iter_mut()
            .zip(g.iter().zip(a.iter().zip(b.iter().zip(y))));
        if k == 0 {
            it.for_each(|(o, (g, (a, (b, y))))| *o = op.vjp_a(g, a, b, y));
        } else {
            it.for_each(|(o, (g, (a, (b, y))))| *o = op.vjp_b(g, a, b, y));
        }
    });
}

// ---------------------------------------------------------------------------
// Forward on tensors and recording, shared by every primitive's methods.

impl<T: Real> Tensor<T> {
    /// A unary primitive's value on every element; a large tensor is
    /// split between threads (each element computed as on one thread).
    pub(crate) fn unary<U: Unary<T>>(&self, op: U) -> Self {
        let x = self.data();
        if x.len() < crate::parallel::SPLIT_ELEMENTS {
            return self.map(|v| op.value(v));
        }
        let shape = Shape::from_slice(self.shape());
        let write = |out: &mut [std::mem::MaybeUninit<T>]| {
            let min = crate::parallel::SPLIT_ELEMENTS;
            crate::parallel::for_chunks(out.len(), min, out, 1, |start, part| {
                map_uninit(op, &x[start..], part)
            });
        };
        // SAFETY: `for_chunks` hands every element of `out` to exactly one
        // call, as part of a chunk starting at `start`, and each call writes
        // every element of its chunk (`x` has as many elements as `out`, so
        // the zip stops at the chunk's end).
        unsafe { Tensor::from_uninit(shape, write) }
    }

    /// A binary primitive's value under numpy broadcasting; panics naming
    /// the primitive and both shapes when they do not broadcast.
    #[track_caller]
    pub(crate) fn binary<B: Binary<T>>(&self, other: &Self, op: B) -> Self {
        let f = |a, b| op.value(a, b);
        // Only a large input can make a large output worth splitting (the
        // test keeps small ops, T3's, from paying for a second look).
        if self.numel().max(other.numel()) >= crate::parallel::SPLIT_ELEMENTS
            && let Some(t) = super::elementwise::zip_broadcast_split(B::NAME, self, other, f)
        {
            return t;
        }
        super::elementwise::zip_broadcast(B::NAME, self, other, f)
    }
}

impl<'t, T: Real> TensorVar<'t, T> {
    /// Records a primitive of any shape on `self` and `rest`.
    #[track_caller]
    pub(crate) fn general<P: Primitive<T> + Into<GeneralOp<T>>>(
        self,
        rest: &[Self],
        op: P,
    ) -> Self {
        self.record_general(rest, op.into())
    }

    #[track_caller]
    fn record_general(self, rest: &[Self], op: GeneralOp<T>) -> Self {
        let mut inputs: SmallVec<[Self; 3]> = SmallVec::new();
        inputs.push(self);
        inputs.extend_from_slice(rest);
        for &x in rest {
            self.check_same_tape(op.name(), x);
        }
        let value = {
            let inner = self.tape.inner.borrow();
            let xs: SmallVec<[&Tensor<T>; 3]> = inputs
                .iter()
                .map(|v| &inner.nodes[v.index as usize].value)
                .collect();
            op.forward(&xs)
        };
        self.tape.record(Op::General(Box::new(op)), &inputs, value)
    }

    /// Records a unary primitive.
    #[track_caller]
    pub(crate) fn unary<U: Unary<T> + Into<UnaryOp<T>>>(self, op: U) -> Self {
        self.record_unary(Op::Unary(op.into()), |x| x.unary(op))
    }

    /// Records a binary primitive, checking at the caller's line that the
    /// shapes broadcast.
    #[track_caller]
    pub(crate) fn binary<B: Binary<T> + Into<BinaryOp>>(self, other: Self, op: B) -> Self {
        self.check_same_tape(B::NAME, other);
        let same = {
            let inner = self.tape.inner.borrow();
            let (a, b) = (
                inner.nodes[self.index as usize].value.shape(),
                inner.nodes[other.index as usize].value.shape(),
            );
            let same = same_shape(a, b);
            if !same {
                broadcast_shapes(B::NAME, a, b);
            }
            same
        };
        // Equal shapes: the output has them too (both `same_shape` bits).
        let same = same.then_some(0b11);
        self.record_binary(other, B::NAME, Op::Binary(op.into()), same, |a, b| {
            a.binary(b, op)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn bits(t: &Tensor<f64>) -> Vec<u64> {
        t.data().iter().map(|v| v.to_bits()).collect()
    }

    /// The sweep's element-by-element VJP and replay's in-place forward
    /// give exactly what the tensor forms give, for every registered
    /// primitive: which path runs never shows in a result.
    #[test]
    fn element_kernels_equal_the_tensor_forms_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(5);
        // Small, and large enough that the tensor form is split between
        // threads and runs the AVX2 copy of its loop where the CPU has it.
        let big = crate::parallel::SPLIT_ELEMENTS / 4 + 1;
        for shape in [[7, 3], [big, 4]] {
            let x = Tensor::<f64>::rand_uniform(&shape, 0.1, 3.0, &mut rng);
            let g = Tensor::<f64>::rand_uniform(&shape, -2.0, 2.0, &mut rng);
            for op in UnaryOp::<f64>::examples() {
                let y = op.value_tensor(&x);
                let mut out = Tensor::zeros(&shape);
                op.map_into(x.data(), out.data_mut());
                assert_eq!(bits(&out), bits(&y), "{} forward", op.name());
                let general = op.vjp(&g, &x, &y);
                op.vjp_into(Some(g.data()), &x, &y, out.data_mut());
                assert_eq!(bits(&out), bits(&general), "{} vjp", op.name());
                let mut own = Tensor::from_vec(g.to_vec(), g.shape());
                op.vjp_into(None, &x, &y, own.data_mut());
                assert_eq!(bits(&own), bits(&general), "{} vjp in place", op.name());
            }
        }
        let x = Tensor::<f32>::rand_uniform(&[big, 4], 0.1, 3.0, &mut rng);
        for op in UnaryOp::<f32>::examples() {
            let y = op.value_tensor(&x);
            let mut out = Tensor::zeros(x.shape());
            op.map_into(x.data(), out.data_mut());
            let b32 = |t: &Tensor<f32>| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(b32(&out), b32(&y), "{} forward, f32", op.name());
        }
        let g = Tensor::<f64>::rand_uniform(&[7, 3], -2.0, 2.0, &mut rng);
        // Every simple broadcast: same shape, a bias row, a single element,
        // on either side.
        let shapes: [(&[usize], &[usize]); 5] = [
            (&[7, 3], &[7, 3]),
            (&[7, 3], &[3]),
            (&[3], &[7, 3]),
            (&[7, 3], &[1, 1]),
            (&[], &[7, 3]),
        ];
        for op in BinaryOp::examples() {
            for (sa, sb) in shapes {
                let a = Tensor::<f64>::rand_uniform(sa, 0.1, 3.0, &mut rng);
                let b = Tensor::<f64>::rand_uniform(sb, 0.1, 3.0, &mut rng);
                let y = op.value_tensor(&a, &b);
                let (aa, ab) = (Arg::of(&a, y.shape()), Arg::of(&b, y.shape()));
                let (aa, ab) = (aa.unwrap(), ab.unwrap());
                let mut out = Tensor::zeros(y.shape());
                op.zip_into(aa, ab, out.data_mut());
                assert_eq!(bits(&out), bits(&y), "{} forward {sa:?} {sb:?}", op.name());
                let general = op.vjp(&g, &a, &b, &y, &[true, true]);
                for (k, want) in general.iter().enumerate() {
                    op.vjp_into(k, g.data(), aa, ab, y.data(), out.data_mut());
                    let want = want.clone().unwrap();
                    assert_eq!(bits(&out), bits(&want), "{} vjp {k}", op.name());
                }
            }
        }
    }

    #[test]
    fn blocks_cover_every_position_once_with_the_right_elements() {
        let full: Vec<f64> = (0..600).map(f64::from).collect();
        let row: Vec<f64> = (0..300).map(|v| f64::from(v) + 0.5).collect();
        let mut seen = vec![0.0; 600];
        let mut starts = Vec::new();
        blocks(600, Arg::Row(&row), Arg::One(7.0), |s, r, one| {
            starts.push(s);
            for (i, (&r, &o)) in r.iter().zip(one).enumerate() {
                assert_eq!(o, 7.0);
                seen[s + i] = r;
            }
        });
        assert_eq!(starts, vec![0, 256, 300, 556]);
        let want: Vec<f64> = (0..600).map(|i| row[i % 300]).collect();
        assert_eq!(seen, want);
        let mut total = 0;
        blocks(600, Arg::Full(&full), Arg::Full(&full), |_, a, b| {
            assert_eq!(a, b);
            total += a.len();
        });
        assert_eq!(total, 600);
    }
}
