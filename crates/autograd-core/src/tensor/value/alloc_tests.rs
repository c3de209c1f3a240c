//! Building values from iterators: the element count is checked.

use super::*;

/// Reports `claimed` elements, yields `real`.
struct Liar {
    claimed: usize,
    real: usize,
}
impl Iterator for Liar {
    type Item = f32;
    fn next(&mut self) -> Option<f32> {
        (self.real > 0).then(|| {
            self.real -= 1;
            1.0
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.claimed, Some(self.claimed))
    }
}
impl ExactSizeIterator for Liar {}

#[test]
#[should_panic(expected = "the iterator reported 5 elements but yielded 3")]
fn an_iterator_that_yields_too_few_is_refused() {
    let shape: Shape = smallvec::smallvec![5];
    let _ = Tensor::from_exact_iter(
        shape,
        Liar {
            claimed: 5,
            real: 3,
        },
    );
}

#[test]
fn an_iterator_that_yields_too_many_stops_at_its_reported_length() {
    let shape: Shape = smallvec::smallvec![2];
    let t = Tensor::from_exact_iter(
        shape,
        Liar {
            claimed: 2,
            real: 9,
        },
    );
    assert_eq!(t.to_vec(), vec![1.0, 1.0]);
}

#[test]
fn filled_and_mapped_tensors_hold_every_element() {
    for n in [0, 1, 7, 8, 9, 1000] {
        let t = Tensor::full(&[n], 2.5_f32);
        assert_eq!(t.to_vec(), vec![2.5; n]);
        assert_eq!(t.map(|v| v * 2.0).to_vec(), vec![5.0; n]);
    }
}
