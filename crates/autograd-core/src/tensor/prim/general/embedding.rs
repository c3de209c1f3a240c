//! Rows of a table at positions held in a recorded variable (PyTorch's
//! `F.embedding(ids, weight)`): the ids are an input of the node, not a
//! constant of it, so a replay with new ids looks up the new rows.
//!
//! The ids come as whole numbers in a float tensor of any shape (so token
//! ids can flow through a model as ordinary variables); the output has
//! shape `ids.shape + table.shape[1..]`. VJP: the adjoint's rows added into
//! zeros of the table's shape at the ids (repeated ids add up); no gradient
//! for the ids, which are positions.

use std::sync::Arc;

use smallvec::{smallvec, SmallVec};

use crate::tensor::prim::{Apply, Primitive};
use crate::tensor::shape::{fmt_shape, Shape};
use crate::tensor::{Tensor, TensorVar};
use crate::Real;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Embedding;

/// The ids as row numbers, each checked to be a whole number below `rows`.
#[track_caller]
fn rows_of<T: Real>(ids: &Tensor<T>, rows: usize) -> Vec<usize> {
    ids.data()
        .iter()
        .map(|&v| {
            let f = v.to_f64();
            let whole_in_range = f >= 0.0 && f.fract() == 0.0 && f < rows as f64;
            if !whole_in_range {
                panic!("embedding: id {f} is not a whole number in 0..{rows} (the table has {rows} rows)");
            }
            f as usize
        })
        .collect()
}

impl<T: Real> Primitive<T> for Embedding {
    const NAME: &'static str = "embedding";

    fn forward(&self, x: &[&Tensor<T>]) -> Tensor<T> {
        let (table, ids) = (x[0], x[1]);
        let idx = rows_of(ids, table.shape()[0]);
        let mut shape = Shape::from_slice(ids.shape());
        shape.extend_from_slice(&table.shape()[1..]);
        table.index_select_resolved(0, &idx).into_shape(&shape)
    }

    fn vjp<V: Apply<T>>(&self, x: &[&V], _y: &V, g: &V, need: &[bool]) -> SmallVec<[Option<V>; 3]> {
        let table = x[0].shape();
        let idx: Arc<[usize]> = rows_of(&x[1].value(), table[0]).into();
        let mut rows = Shape::from_slice(&[idx.len()]);
        rows.extend_from_slice(&table[1..]);
        let dt = need[0].then(|| g.reshape(&rows).index_add_into(0, &idx, table[0]));
        smallvec![dt, None]
    }
}

#[track_caller]
fn check_table(table: &[usize]) {
    if table.is_empty() {
        panic!("embedding: the table must have at least one axis (rows), got shape {}", fmt_shape(table));
    }
}

impl<T: Real> Tensor<T> {
    /// The rows of this table (`[rows, ...]`) at `ids`, whole numbers in a
    /// float tensor of any shape: shape `ids.shape + table.shape[1..]`.
    /// Panics, naming the id, on one that is not a whole number below the
    /// row count.
    ///
    /// ```
    /// use autograd_core::Tensor;
    /// let table = Tensor::from_vec(vec![0.0_f32, 0.5, 1.0, 1.5, 2.0, 2.5], &[3, 2]);
    /// let ids = Tensor::from_vec(vec![2.0_f32, 0.0], &[2]);
    /// assert_eq!(table.embedding(&ids).to_vec(), vec![2.0, 2.5, 0.0, 0.5]);
    /// ```
    #[track_caller]
    pub fn embedding(&self, ids: &Tensor<T>) -> Self {
        check_table(self.shape());
        Primitive::forward(&Embedding, &[self, ids])
    }
}

impl<T: Real> TensorVar<'_, T> {
    /// The rows of this table at `ids` (a recorded variable holding whole
    /// numbers), recorded with the ids as an input: [`TensorTape::replay`]
    /// with new ids looks up the new rows. VJP: the adjoint's rows added
    /// into the table's shape at the ids.
    ///
    /// ```
    /// use autograd_core::{Tensor, TensorTape};
    /// let tape = TensorTape::new();
    /// let table = tape.leaf(Tensor::from_vec(vec![0.0_f64, 0.5, 1.0, 1.5, 2.0, 2.5], &[3, 2]));
    /// let ids = tape.constant(Tensor::from_vec(vec![2.0, 2.0], &[2]));
    /// let rows = table.embedding(ids);
    /// assert_eq!(rows.value().to_vec(), vec![2.0, 2.5, 2.0, 2.5]);
    /// // Row 2 was taken twice.
    /// assert_eq!(rows.sum().backward()[table].to_vec(), vec![0.0, 0.0, 0.0, 0.0, 2.0, 2.0]);
    /// // New ids through replay: the new rows, not the recorded ones.
    /// tape.replay(&[(ids, Tensor::from_vec(vec![0.0, 1.0], &[2]))]).unwrap();
    /// assert_eq!(rows.value().to_vec(), vec![0.0, 0.5, 1.0, 1.5]);
    /// ```
    ///
    /// [`TensorTape::replay`]: crate::TensorTape::replay
    #[track_caller]
    pub fn embedding(self, ids: Self) -> Self {
        check_table(&self.shape());
        self.general(&[ids], Embedding)
    }
}
