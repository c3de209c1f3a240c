//! The tensor value: a shape and contiguous row-major data, shared cheaply.

use triomphe::{Arc, HeaderSlice, UniqueArc};

use super::shape::{Shape, fmt_shape, numel, same_shape, strides};

/// An n-dimensional array: a [`Shape`] and its elements in row-major order.
///
/// Cloning is cheap (shape and elements share one reference-counted allocation); writing
/// through [`Tensor::data_mut`] copies them first if they are shared, so a
/// tensor never changes under another's feet. `T` is `f32` by default, `f64`
/// for gradient checks, and `usize`/`bool` for indices and masks.
///
/// Plain arithmetic works without any tape (inference, data preparation):
///
/// ```
/// use autograd_core::Tensor;
/// let a = Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0], &[2, 2]);
/// let b = Tensor::from_vec(vec![10.0_f32, 20.0], &[2]);
/// let c = &a * &b + 1.0; // b broadcasts over the rows
/// assert_eq!(c.to_vec(), vec![11.0, 41.0, 31.0, 81.0]);
/// assert_eq!(c.shape(), &[2, 2]);
/// ```
pub struct Tensor<T = f32> {
    /// The shape and the elements in one allocation behind one pointer
    /// (docs/architecture.md, "Values"): a tensor is two words, so
    /// the tape's nodes and the sweep's adjoints move in registers.
    buf: Arc<HeaderSlice<Head<T>, [T]>>,
}

/// What sits in front of a tensor's elements in its allocation: the shape,
/// and for the rare tensor that needs them, more dimensions than fit inline
/// or the buffer a view shares.
///
/// Up to four dimensions sit in a plain array (unused entries hold
/// [`NO_DIM`]), so copying a shape from one header to the next is a copy of
/// whole words (building it element by element on the stack and moving it
/// in stalled on store forwarding at every recorded op; docs/performance.md,
/// run 12). Five words: with the count word the elements start 48 bytes in,
/// 16-byte aligned as `std`'s `Arc<[T]>` had them (T1/replay_step measured
/// 70.7-71.6 µs with the elements 8-byte aligned, 69.3-70.4 with 16), and with 16
/// f32 elements an allocation stays within glibc's fast bins (128 bytes).
struct Head<T> {
    dims: [usize; INLINE_DIMS],
    extra: Option<Box<Extra<T>>>,
}

const INLINE_DIMS: usize = 4;

/// Marks the unused entries of [`Head::dims`]. No tensor can have a
/// dimension this long and elements; shapes that contain it anyway (with a
/// zero elsewhere) go to [`Extra`] like long ones.
const NO_DIM: usize = usize::MAX;

/// The parts of a header most tensors do without.
struct Extra<T> {
    /// The shape when it does not fit [`Head::dims`] (empty otherwise).
    dims: Box<[usize]>,
    /// For a view (a reshape of a shared buffer): the tensor whose elements
    /// it shows, always one with elements of its own, never another view.
    base: Option<Tensor<T>>,
}

impl<T> Head<T> {
    #[inline]
    fn new(shape: &[usize], base: Option<Tensor<T>>) -> Self {
        let mut dims = [NO_DIM; INLINE_DIMS];
        let inline = shape.len() <= INLINE_DIMS && !shape.contains(&NO_DIM);
        if inline {
            for (d, &s) in dims.iter_mut().zip(shape) {
                *d = s;
            }
        }
        let extra = (!inline || base.is_some()).then(|| {
            Box::new(Extra {
                dims: if inline { Box::default() } else { shape.into() },
                base,
            })
        });
        Head { dims, extra }
    }

    /// The shape kept in `extra`, if it did not fit inline.
    #[inline]
    fn long_shape(&self) -> Option<&[usize]> {
        match &self.extra {
            Some(e) if !e.dims.is_empty() => Some(&e.dims),
            _ => None,
        }
    }

    /// A header with the same shape as `other`'s (and no view).
    #[inline]
    fn like<U>(other: &Head<U>) -> Self {
        match other.long_shape() {
            None => Head {
                dims: other.dims,
                extra: None,
            },
            Some(shape) => Head::new(shape, None),
        }
    }

    #[inline]
    fn shape(&self) -> &[usize] {
        match self.long_shape() {
            None => {
                let n = self.dims.iter().take_while(|&&d| d != NO_DIM).count();
                &self.dims[..n]
            }
            Some(shape) => shape,
        }
    }

    #[inline]
    fn base(&self) -> Option<&Tensor<T>> {
        self.extra.as_ref()?.base.as_ref()
    }
}

/// One allocation holding `head` and the iterator's elements.
///
/// triomphe's `from_header_and_iter` asks the iterator for each element and
/// checks it for an early end, which keeps the loop scalar: on T4 that loop
/// was 8% of a step (every recorded elementwise value) and the zero-filling
/// of product outputs 6% (docs/performance.md, "Memory"). Here the elements
/// are written by a loop zipped with the buffer, which the compiler
/// vectorises for a map over slices, and counted once at the end.
fn alloc_from_iter<T>(
    head: Head<T>,
    iter: impl ExactSizeIterator<Item = T>,
) -> Arc<HeaderSlice<Head<T>, [T]>> {
    let n = iter.len();
    let mut buf = UniqueArc::from_header_and_uninit_slice(head, n);
    let mut written = 0;
    for (slot, v) in buf.slice.iter_mut().zip(iter) {
        slot.write(v);
        written += 1;
    }
    // An iterator that yields fewer than it reported would leave elements
    // uninitialised: refuse it (dropping `buf` drops only the header; the
    // written `MaybeUninit` elements are leaked, never read).
    assert_eq!(
        written, n,
        "alloc_from_iter: the iterator reported {n} elements but yielded {written}"
    );
    // SAFETY: `buf.slice` has exactly `n` elements (allocated with length
    // `n`), and the loop above wrote one value into each of the first
    // `written` of them, in order; `written == n` was just asserted, so
    // every element is initialised. The header was initialised by
    // `from_header_and_uninit_slice`. `[MaybeUninit<T>]` and `[T]` have the
    // same layout, which is what `assume_init_slice_with_header` relies on.
    unsafe { buf.assume_init_slice_with_header() }.shareable()
}

/// A tensor's allocation filled front to back by kernels that produce their
/// elements in runs (an odometer over broadcast or permuted axes), without a
/// `Vec` to copy from afterwards (that copy was 6% of a T4 step).
pub(crate) struct Builder<T> {
    buf: UniqueArc<HeaderSlice<Head<T>, [std::mem::MaybeUninit<T>]>>,
    len: usize,
}

impl<T> Builder<T> {
    /// Room for `shape`'s elements, none written yet.
    pub(crate) fn new(shape: &[usize]) -> Self {
        Builder {
            buf: UniqueArc::from_header_and_uninit_slice(Head::new(shape, None), numel(shape)),
            len: 0,
        }
    }

    /// Appends the iterator's elements (those that fit).
    #[inline]
    pub(crate) fn extend(&mut self, iter: impl Iterator<Item = T>) {
        let mut k = 0;
        for (slot, v) in self.buf.slice[self.len..].iter_mut().zip(iter) {
            slot.write(v);
            k += 1;
        }
        self.len += k;
    }

    /// The tensor, once every element has been written.
    #[track_caller]
    pub(crate) fn finish(self) -> Tensor<T> {
        let n = self.buf.slice.len();
        assert_eq!(self.len, n, "Builder: {} of {n} elements written", self.len);
        // SAFETY: `extend` writes the slots `len..len + k` in order and
        // then adds `k` to `len`, so the first `len` slots are initialised;
        // `len == n`, the slice's length, was just asserted. The header was
        // initialised by `from_header_and_uninit_slice`, and
        // `[MaybeUninit<T>]` and `[T]` have the same layout.
        Tensor {
            buf: unsafe { self.buf.assume_init_slice_with_header() }.shareable(),
        }
    }
}

impl<T> Clone for Tensor<T> {
    fn clone(&self) -> Self {
        Tensor {
            buf: Arc::clone(&self.buf),
        }
    }
}

impl<T: Copy> Tensor<T> {
    /// A tensor of `shape` holding `data` in row-major order.
    ///
    /// Panics (at the caller's line) if the element count differs from the
    /// shape's.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let t = Tensor::from_vec(vec![1_usize, 2, 3, 4, 5, 6], &[2, 3]);
    /// assert_eq!(t.get(&[1, 0]), 4);
    /// ```
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Self {
        if data.len() != numel(shape) {
            panic!(
                "from_vec: {} elements cannot have shape {} ({} elements)",
                data.len(),
                fmt_shape(shape),
                numel(shape)
            );
        }
        Self::from_parts(Shape::from_slice(shape), data)
    }

    /// A tensor of `shape` with every element `value`.
    ///
    /// ```
    /// let t = autograd_core::Tensor::full(&[2, 2], 7.0_f32);
    /// assert_eq!(t.to_vec(), vec![7.0; 4]);
    /// ```
    pub fn full(shape: &[usize], value: T) -> Self {
        Self::filled(Shape::from_slice(shape), value)
    }

    /// A 0-d tensor (shape `[]`) holding one value; what a loss is.
    ///
    /// ```
    /// let t = autograd_core::Tensor::scalar(2.5_f64);
    /// assert_eq!((t.ndim(), t.item()), (0, 2.5));
    /// ```
    pub fn scalar(value: T) -> Self {
        Self::from_exact_iter(Shape::new(), std::iter::once(value))
    }

    pub(crate) fn from_parts(shape: Shape, data: Vec<T>) -> Self {
        debug_assert_eq!(data.len(), numel(&shape));
        Tensor {
            buf: Arc::from_header_and_vec(Head::new(&shape, None), data),
        }
    }

    /// A tensor from an iterator of exactly its element count, written
    /// straight into the one allocation: no intermediate `Vec`.
    pub(crate) fn from_exact_iter(shape: Shape, iter: impl ExactSizeIterator<Item = T>) -> Self {
        debug_assert_eq!(iter.len(), numel(&shape));
        Tensor {
            buf: alloc_from_iter(Head::new(&shape, None), iter),
        }
    }

    /// `n` copies of `value` in one allocation, for kernels that then write
    /// through [`Tensor::data_mut`] (unshared, so no copy).
    pub(crate) fn filled(shape: Shape, value: T) -> Self {
        let mut buf =
            UniqueArc::from_header_and_uninit_slice(Head::new(&shape, None), numel(&shape));
        // A plain store loop (a memset for zeros); through an iterator of
        // repeats the loop stayed scalar.
        for slot in buf.slice.iter_mut() {
            slot.write(value);
        }
        // SAFETY: the loop above wrote every element of `buf.slice` (it
        // visits each once, and cannot end early or panic); the header was
        // initialised by `from_header_and_uninit_slice`. `[MaybeUninit<T>]`
        // and `[T]` have the same layout.
        Tensor {
            buf: unsafe { buf.assume_init_slice_with_header() }.shareable(),
        }
    }

    /// A tensor of `shape` whose elements `write` writes into the fresh,
    /// uninitialised allocation: for matrix products, whose kernel writes
    /// every output element (zero-filling first was 6% of a T4 step).
    ///
    /// # Safety
    /// `write` must write every element of the slice it is given before it
    /// returns. (If it panics instead, the buffer is freed unread.)
    pub(crate) unsafe fn from_uninit(
        shape: Shape,
        write: impl FnOnce(&mut [std::mem::MaybeUninit<T>]),
    ) -> Self {
        let mut buf =
            UniqueArc::from_header_and_uninit_slice(Head::new(&shape, None), numel(&shape));
        write(&mut buf.slice);
        // SAFETY: `write` initialised every element (the caller's contract);
        // the header was initialised by `from_header_and_uninit_slice`, and
        // `[MaybeUninit<T>]` and `[T]` have the same layout.
        Tensor {
            buf: unsafe { buf.assume_init_slice_with_header() }.shareable(),
        }
    }

    /// The same elements under another shape of the same size: the header
    /// rewritten in place if nobody else holds it, else a view.
    pub(crate) fn into_shape(mut self, shape: &[usize]) -> Self {
        debug_assert_eq!(numel(shape), self.numel());
        match Arc::get_mut(&mut self.buf) {
            // Pooled buffers usually come back to the shape they had.
            Some(b) if same_shape(b.header.shape(), shape) => self,
            Some(b) => {
                let base = b.header.extra.take().and_then(|e| e.base);
                b.header = Head::new(shape, base);
                self
            }
            None => self.with_shape(Shape::from_slice(shape)),
        }
    }

    /// The same elements under another shape of the same size: a view
    /// sharing them (one small allocation, no copy).
    pub(crate) fn with_shape(&self, shape: Shape) -> Self {
        debug_assert_eq!(numel(&shape), self.numel());
        let base = self.buf.header.base().unwrap_or(self).clone();
        Tensor {
            buf: Arc::from_header_and_iter(Head::new(&shape, Some(base)), std::iter::empty()),
        }
    }

    /// A tensor with `like`'s shape from an iterator of exactly its element
    /// count; the shape is copied header to header.
    pub(crate) fn from_iter_like<U: Copy>(
        like: &Tensor<U>,
        iter: impl ExactSizeIterator<Item = T>,
    ) -> Self {
        debug_assert_eq!(iter.len(), like.numel());
        Tensor {
            buf: alloc_from_iter(Head::like(&like.buf.header), iter),
        }
    }

    /// The number of elements this tensor's own buffer holds, if it can be
    /// recycled: nobody else holds it and it is not a view (`spare.rs`).
    pub(crate) fn recyclable_len(&self) -> Option<usize> {
        let len = self.buf.slice.len();
        (len > 0 && self.buf.header.extra.is_none() && self.buf.is_unique()).then_some(len)
    }

    /// This recycled buffer (one `recyclable_len` accepted) given `like`'s
    /// shape, which has as many elements; its elements, to overwrite.
    pub(crate) fn reuse_like<U: Copy>(&mut self, like: &Tensor<U>) -> &mut [T] {
        let b = Arc::get_mut(&mut self.buf).expect("a spare buffer is unshared");
        debug_assert_eq!(
            b.slice.len(),
            like.numel(),
            "a spare buffer of another size"
        );
        match like.buf.header.extra {
            // Four dimensions or fewer: whole words copied (the spare buffer
            // has no `extra` either).
            None => b.header.dims = like.buf.header.dims,
            Some(_) => b.header = Head::like(&like.buf.header),
        }
        &mut b.slice
    }

    /// The length of each dimension.
    ///
    /// ```
    /// assert_eq!(autograd_core::Tensor::<f32>::zeros(&[2, 0, 3]).shape(), &[2, 0, 3]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        self.buf.header.shape()
    }

    /// The number of dimensions (0 for a scalar).
    ///
    /// ```
    /// assert_eq!(autograd_core::Tensor::<f32>::zeros(&[4, 5]).ndim(), 2);
    /// ```
    pub fn ndim(&self) -> usize {
        self.buf.header.shape().len()
    }

    /// The number of elements.
    ///
    /// ```
    /// assert_eq!(autograd_core::Tensor::<f32>::zeros(&[4, 5]).numel(), 20);
    /// ```
    pub fn numel(&self) -> usize {
        self.data().len()
    }

    /// True when some dimension has length 0.
    ///
    /// ```
    /// assert!(autograd_core::Tensor::<f32>::zeros(&[3, 0]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.data().is_empty()
    }

    /// The elements in row-major order.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 2.0], &[2]);
    /// assert_eq!(t.data(), &[1.0, 2.0]);
    /// ```
    pub fn data(&self) -> &[T] {
        // The slice's length travels in the pointer: a tensor with elements
        // of its own is known without touching memory. Only views (and
        // empty tensors) look at the header.
        let own = &self.buf.slice;
        if !own.is_empty() { own } else { self.viewed() }
    }

    #[cold]
    fn viewed(&self) -> &[T] {
        match self.buf.header.base() {
            None => &self.buf.slice,
            Some(base) => &base.buf.slice,
        }
    }

    /// The elements for writing; copied first if another tensor shares them.
    ///
    /// ```
    /// let a = autograd_core::Tensor::from_vec(vec![1.0_f32, 2.0], &[2]);
    /// let mut b = a.clone();
    /// b.data_mut()[0] = 9.0;
    /// assert_eq!((a.data()[0], b.data()[0]), (1.0, 9.0));
    /// ```
    pub fn data_mut(&mut self) -> &mut [T] {
        if self.is_shared() {
            // Copy on write: afterwards `self` holds a fresh, unique buffer.
            self.buf = Arc::from_header_and_slice(Head::new(self.shape(), None), self.data());
        }
        self.data_if_unique().expect("unique after the copy")
    }

    /// Whether another tensor shares these elements.
    pub(crate) fn is_shared(&self) -> bool {
        !self.buf.is_unique()
            || (self.buf.slice.is_empty()
                && self.buf.header.base().is_some_and(|b| !b.buf.is_unique()))
    }

    /// The elements for writing if no other tensor shares them. One acquire
    /// load of the count (two for a view): `triomphe::Arc` has no weak
    /// references to rule out.
    pub(crate) fn data_if_unique(&mut self) -> Option<&mut [T]> {
        let b = Arc::get_mut(&mut self.buf)?;
        if !b.slice.is_empty() {
            return Some(&mut b.slice);
        }
        match b.header.extra.as_mut().and_then(|e| e.base.as_mut()) {
            None => Some(&mut b.slice),
            Some(base) => Arc::get_mut(&mut base.buf).map(|b| &mut b.slice),
        }
    }

    /// The elements as a new `Vec`.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![3_usize, 4], &[2]);
    /// assert_eq!(t.to_vec(), vec![3, 4]);
    /// ```
    pub fn to_vec(&self) -> Vec<T> {
        self.data().to_vec()
    }

    /// The element at a multi-index. Panics naming the index and the shape if
    /// it is out of range.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.0_f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.get(&[1, 1]), 4.0);
    /// ```
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> T {
        if index.len() != self.ndim() || index.iter().zip(self.shape().iter()).any(|(i, n)| i >= n)
        {
            panic!(
                "get: index {index:?} is out of range for shape {}",
                fmt_shape(self.shape())
            );
        }
        let off: usize = index
            .iter()
            .zip(strides(self.shape()).iter())
            .map(|(i, s)| i * s)
            .sum();
        self.data()[off]
    }

    /// The single element of a one-element tensor (a loss, say).
    ///
    /// Panics if the tensor has any other number of elements.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![0.25_f64], &[1, 1]);
    /// assert_eq!(t.item(), 0.25);
    /// ```
    #[track_caller]
    pub fn item(&self) -> T {
        if self.numel() != 1 {
            panic!(
                "item: a tensor of shape {} has {} elements, not 1",
                fmt_shape(self.shape()),
                self.numel()
            );
        }
        self.data()[0]
    }

    /// Applies `f` to every element, giving a tensor of the same shape.
    ///
    /// ```
    /// let t = autograd_core::Tensor::from_vec(vec![1.5_f32, -2.0], &[2]);
    /// assert_eq!(t.map(|x| x > 0.0).to_vec(), vec![true, false]);
    /// ```
    pub fn map<U: Copy>(&self, f: impl Fn(T) -> U) -> Tensor<U> {
        Tensor::from_iter_like(self, self.data().iter().map(|&x| f(x)))
    }
}

impl<T: Copy + PartialEq> PartialEq for Tensor<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shape() == other.shape() && self.data() == other.data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_go_in_place_only_when_no_other_tensor_holds_the_data() {
        let mut a = Tensor::from_vec(vec![1.0_f32; 1000], &[1000]);
        let at = a.data().as_ptr();
        a.data_mut()[0] = 2.0;
        assert_eq!(a.data().as_ptr(), at, "unique: written in place");
        // A clone read and dropped on another thread: afterwards the
        // buffer is unique again and written in place, and the other
        // thread saw the values from before.
        let b = a.clone();
        assert!(a.data_if_unique().is_none());
        let sum = std::thread::spawn(move || b.data().iter().sum::<f32>())
            .join()
            .unwrap();
        assert_eq!(sum, 1001.0);
        a.data_mut()[1] = 5.0;
        assert_eq!(a.data().as_ptr(), at);
        // Still shared: copied on write, the other holder unchanged.
        let c = a.clone();
        a.data_mut()[2] = 7.0;
        assert_ne!(a.data().as_ptr(), at);
        assert_eq!((c.data()[2], a.data()[2], a.data()[1]), (1.0, 7.0, 5.0));
    }

    #[test]
    fn reshapes_share_the_elements_and_writes_to_either_side_copy() {
        let a = Tensor::from_vec((0..12).map(|i| i as f32).collect(), &[3, 4]);
        let at = a.data().as_ptr();
        let v = a.reshape(&[2, 6]);
        assert_eq!(
            (v.shape(), v.data().as_ptr()),
            (&[2, 6][..], at),
            "a view, no copy"
        );
        // A view of a view holds the buffer itself, not the first view.
        let w = v.reshape(&[12]).unsqueeze(0);
        assert_eq!((w.shape(), w.data().as_ptr()), (&[1, 12][..], at));
        assert!(w.buf.header.base().unwrap().buf.header.base().is_none());
        assert_eq!(w.numel(), 12);
        assert!(a.is_shared() && v.is_shared());
        // Writing through a view copies; the buffer and its other views keep
        // their values.
        let mut v2 = v.clone();
        v2.data_mut()[0] = 100.0;
        assert_ne!(v2.data().as_ptr(), at);
        assert_eq!(
            (v2.get(&[0, 0]), a.get(&[0, 0]), w.get(&[0, 0])),
            (100.0, 0.0, 0.0)
        );
        assert_eq!(v2.shape(), &[2, 6]);
        // Once the others are gone, a view is written in place.
        drop((a, v, w, v2));
        let b = Tensor::from_vec(vec![1.0_f64; 6], &[6]);
        let bt = b.data().as_ptr();
        let mut bv = b.reshape(&[2, 3]);
        assert!(bv.data_if_unique().is_none());
        drop(b);
        assert!(!bv.is_shared());
        bv.data_mut()[5] = 2.0;
        assert_eq!((bv.data().as_ptr(), bv.get(&[1, 2])), (bt, 2.0));
        // An unshared tensor changes shape in place (its header rewritten).
        let c = Tensor::from_vec(vec![1_usize, 2, 3, 4], &[4]).into_shape(&[2, 2]);
        assert_eq!(
            (c.shape(), c.buf.header.base().is_none()),
            (&[2, 2][..], true)
        );
        // Shapes longer than the header holds inline, owned and viewed.
        let long = Tensor::from_vec((0..32).collect::<Vec<usize>>(), &[2, 1, 2, 2, 2, 2]);
        let lv = long.reshape(&[2, 2, 2, 2, 2]);
        let back = lv.reshape(&[2, 16]).into_shape(&[1, 2, 1, 2, 2, 2, 2]);
        assert_eq!(long.shape(), &[2, 1, 2, 2, 2, 2]);
        assert_eq!(
            (lv.shape(), lv.get(&[1, 1, 1, 1, 1])),
            (&[2, 2, 2, 2, 2][..], 31)
        );
        assert_eq!(
            (back.shape(), back.data().as_ptr()),
            (&[1, 2, 1, 2, 2, 2, 2][..], long.data().as_ptr())
        );
        assert_eq!(long.map(|x| x + 1).shape(), long.shape());
        // Empty tensors and their views.
        let e = Tensor::<f32>::zeros(&[0, 3]);
        let ev = e.reshape(&[3, 0]);
        assert_eq!(
            (ev.shape(), ev.numel(), ev.is_empty()),
            (&[3, 0][..], 0, true)
        );
    }

    #[test]
    fn elements_start_16_byte_aligned_after_the_count_and_header() {
        // triomphe's count word, then the header: 48 bytes, as std's two
        // counts were 16; allocations are 16-byte aligned.
        assert_eq!(
            (std::mem::size_of::<usize>() + std::mem::size_of::<Head<f32>>()) % 16,
            0
        );
        assert_eq!(std::mem::size_of::<Head<f64>>(), 40);
        // A dimension equal to the marker goes to the long form.
        let odd = Tensor::<f32>::zeros(&[0, NO_DIM]);
        assert_eq!((odd.shape(), odd.ndim()), (&[0, NO_DIM][..], 2));
        assert_eq!(Tensor::<f32>::zeros(&[]).shape(), &[] as &[usize]);
    }
}

#[cfg(test)]
mod alloc_tests;
