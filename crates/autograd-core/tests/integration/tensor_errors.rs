//! Bad input gets a clear panic naming the operation and the values, at the
//! caller's line; edge cases (empty tensors, zero-size axes) have defined
//! results.

use autograd_core::{Tensor, TensorTape};

use crate::common;
use common::panic_of;

/// The line of this file holding `text` (which must occur once).
fn line_of(text: &str) -> u32 {
    common::line_of(include_str!("tensor_errors.rs"), text)
}

#[test]
fn shape_errors_name_the_operation_and_shapes_at_the_callers_line() {
    let a = Tensor::<f32>::zeros(&[32, 64]);
    let b = Tensor::<f32>::zeros(&[128, 10]);
    let (msg, file, line) = panic_of(|| {
        let _ = a.matmul(&b);
    });
    assert_eq!(
        msg,
        "matmul: [32, 64] @ [128, 10]: inner dimensions 64 and 128 differ"
    );
    assert!(
        file.ends_with("tensor_errors.rs"),
        "reported at {file}:{line}"
    );
    assert_eq!(line, line_of("let _ = a.matmul(&b);"));

    let tape = TensorTape::new();
    let x = tape.leaf(a.clone());
    let w = tape.leaf(b.clone());
    let (msg, file, line) = panic_of(|| {
        let _ = x.matmul(w);
    });
    assert_eq!(
        msg,
        "matmul: [32, 64] @ [128, 10]: inner dimensions 64 and 128 differ"
    );
    assert!(
        file.ends_with("tensor_errors.rs") && line == line_of("let _ = x.matmul(w);"),
        "{file}:{line}"
    );

    let (msg, file, _) = panic_of(|| {
        let _ = x.add(tape.leaf(Tensor::zeros(&[3])));
    });
    assert_eq!(
        msg,
        "add: shapes [32, 64] and [3] do not broadcast: dimension -1 is 64 vs 3"
    );
    assert!(file.ends_with("tensor_errors.rs"), "{file}");

    let (msg, _, _) = panic_of(|| {
        let _ = &a + &Tensor::zeros(&[2, 1, 5]);
    });
    assert!(
        msg.starts_with("add: shapes [32, 64] and [2, 1, 5] do not broadcast"),
        "{msg}"
    );

    let (msg, _, _) = panic_of(|| {
        let _ = x.matmul_transposed(w);
    });
    assert_eq!(
        msg,
        "matmul_transposed: [32, 64] @ [128, 10]^T: inner dimensions 64 and 10 differ"
    );

    let before = tape.len();
    let (msg, file, line) = panic_of(|| {
        let _ = x.linear(w, None);
    });
    assert_eq!(
        msg,
        "linear: x's last axis must have the weight's 10 input features, got x [32, 64], weight [128, 10]"
    );
    assert!(
        file.ends_with("tensor_errors.rs") && line == line_of("let _ = x.linear(w, None);"),
        "{file}:{line}"
    );
    let w2 = Tensor::<f32>::zeros(&[10, 64]);
    let (msg, _, _) = panic_of(|| {
        let _ = a.linear(&w2, Some(&Tensor::zeros(&[64])));
    });
    assert_eq!(
        msg,
        "linear: the bias must be [10] (one per output), got x [32, 64], weight [10, 64], bias [64]"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = a.linear(&Tensor::zeros(&[64]), None);
    });
    assert_eq!(
        msg,
        "linear: the weight must be [out, in], got x [32, 64], weight [64]"
    );
    assert_eq!(tape.len(), before, "nothing recorded by the refused op");

    let (msg, _, _) = panic_of(|| {
        let _ = Tensor::<f32>::zeros(&[2, 3, 4]).matmul(&Tensor::zeros(&[5, 4, 6]));
    });
    assert_eq!(
        msg,
        "matmul: [2, 3, 4] @ [5, 4, 6]: batch dimensions [2] and [5] do not broadcast"
    );
}

#[test]
fn reshape_to_a_wrong_count_and_bad_axes() {
    let t = Tensor::<f32>::zeros(&[2, 3]);
    let (msg, file, _) = panic_of(|| {
        let _ = t.reshape(&[4, 2]);
    });
    assert_eq!(
        msg,
        "reshape: shape [2, 3] (6 elements) cannot become [4, 2] (8 elements)"
    );
    assert!(file.ends_with("tensor_errors.rs"));
    let (msg, _, _) = panic_of(|| {
        let _ = t.softmax(2);
    });
    assert_eq!(
        msg,
        "softmax: axis 2 is out of range for a 2-d tensor of shape [2, 3]"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = t.sum_axes(&[1, -1], false);
    });
    assert!(msg.starts_with("sum_axes: axis 1 is given twice"), "{msg}");
    let (msg, _, _) = panic_of(|| {
        let _ = t.squeeze(0);
    });
    assert_eq!(msg, "squeeze: axis 0 of shape [2, 3] has length 2, not 1");
    let (msg, _, _) = panic_of(|| {
        let _ = Tensor::from_vec(vec![1.0_f32; 5], &[2, 3]);
    });
    assert_eq!(
        msg,
        "from_vec: 5 elements cannot have shape [2, 3] (6 elements)"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = t.narrow(1, 2, 2);
    });
    assert_eq!(
        msg,
        "narrow: start 2 + length 2 exceeds length 3 of axis 1 in shape [2, 3]"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = Tensor::concat(&[&t, &Tensor::zeros(&[2, 4])], 0);
    });
    assert!(
        msg.starts_with("concat: tensor 1 has shape [2, 4] but tensor 0 has [2, 3]"),
        "{msg}"
    );
}

#[test]
fn out_of_range_indices() {
    let t = Tensor::<f32>::zeros(&[5, 3]);
    let (msg, _, _) = panic_of(|| {
        let _ = t.index_select(0, &[1, 7]);
    });
    assert_eq!(
        msg,
        "index_select: index 7 is out of range for axis 0 of length 5 (shape [5, 3])"
    );
    let idx = Tensor::from_vec(vec![0_usize, 3], &[2, 1]);
    let (msg, _, _) = panic_of(|| {
        let _ = t.gather(1, &idx);
    });
    assert_eq!(
        msg,
        "gather: index 3 is out of range for axis 1 of length 3 (shape [5, 3])"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = Tensor::<f32>::one_hot(&Tensor::from_vec(vec![4_usize], &[1]), 4);
    });
    assert!(
        msg.starts_with("one_hot: class index 4 is out of range for 4 classes"),
        "{msg}"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = t.get(&[5, 0]);
    });
    assert_eq!(msg, "get: index [5, 0] is out of range for shape [5, 3]");
    let (msg, _, _) = panic_of(|| {
        let _ = t.item();
    });
    assert_eq!(msg, "item: a tensor of shape [5, 3] has 15 elements, not 1");
}

#[test]
fn gradient_requests_that_make_no_sense() {
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::<f64>::ones(&[3]));
    let (msg, _, _) = panic_of(|| {
        let _ = x.exp().backward();
    });
    assert!(
        msg.starts_with("backward: the output has shape [3] (3 elements)"),
        "{msg}"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = tape.vjp(x.exp(), &Tensor::ones(&[2]));
    });
    assert_eq!(
        msg,
        "vjp: the seed has shape [2] but the output has shape [3]"
    );
    let other = TensorTape::new();
    let y = other.leaf(Tensor::<f64>::ones(&[3]));
    let (msg, _, _) = panic_of(|| {
        let _ = x.add(y);
    });
    assert!(
        msg.starts_with("add: the variables belong to different tapes"),
        "{msg}"
    );
    // Gradients from an earlier recording are refused after clear.
    let mut tape = TensorTape::new();
    let g = {
        let x = tape.leaf(Tensor::<f64>::ones(&[1]));
        x.sum().backward()
    };
    tape.clear();
    let x2 = tape.leaf(Tensor::<f64>::ones(&[1]));
    let (msg, _, _) = panic_of(|| {
        let _ = g.get(x2);
    });
    assert!(msg.contains("these gradients come from"), "{msg}");
}

#[test]
fn empty_tensors_and_zero_size_axes_are_defined() {
    let e = Tensor::<f64>::zeros(&[3, 0]);
    assert!(e.is_empty());
    assert_eq!(e.sum().item(), 0.0);
    assert_eq!(e.sum_axes(&[1], false).to_vec(), vec![0.0; 3]);
    assert_eq!(e.sum_axes(&[0], false).shape(), &[0]);
    assert!(e.mean().item().is_nan(), "mean of nothing is 0/0");
    assert_eq!(e.exp().shape(), &[3, 0]);
    assert_eq!((&e + &Tensor::zeros(&[1, 0])).shape(), &[3, 0]);
    // A product over an empty inner axis is zeros; an empty outer axis is empty.
    let a = Tensor::<f64>::ones(&[2, 0]);
    let b = Tensor::<f64>::ones(&[0, 4]);
    assert_eq!(a.matmul(&b).to_vec(), vec![0.0; 8]);
    assert_eq!(b.matmul(&Tensor::ones(&[4, 2])).shape(), &[0, 2]);
    let (msg, _, _) = panic_of(|| {
        let _ = e.max_axes(&[1], false);
    });
    assert_eq!(
        msg,
        "max_axes: axis 1 of shape [3, 0] is empty, and an empty reduction has no value"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = e.argmax(1, false);
    });
    assert!(
        msg.starts_with("argmax: axis 1 of shape [3, 0] is empty"),
        "{msg}"
    );
    assert_eq!(e.to_string(), "tensor([], shape=[3, 0])");
    // Gradients flow through empty tensors as empty gradients.
    let tape = TensorTape::new();
    let x = tape.leaf(Tensor::<f64>::zeros(&[0, 2]));
    let w = tape.leaf(Tensor::<f64>::ones(&[2, 3]));
    let g = x.matmul(w).sum().backward();
    assert_eq!(g[x].shape(), &[0, 2]);
    assert_eq!(g[w].to_vec(), vec![0.0; 6]);
    // NaN propagates rather than being hidden by max.
    let n = Tensor::from_vec(vec![1.0, f64::NAN, 3.0], &[3]);
    assert!(n.max_axes(&[], false).item().is_nan());
}

#[test]
fn display_reads_like_pytorch() {
    let t = Tensor::from_vec(vec![1.0_f32, -2.5, 3.0, 4.0], &[2, 2]);
    assert_eq!(
        t.to_string(),
        "tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]], shape=[2, 2])"
    );
    assert_eq!(
        Tensor::scalar(0.5_f64).to_string(),
        "tensor(0.5000, shape=[])"
    );
    assert_eq!(
        Tensor::from_vec(vec![1e-6_f64, 1.0], &[2]).to_string(),
        "tensor([1.0000e-6,  1.0000e0], shape=[2])"
    );
    let big = Tensor::<f32>::arange(2000);
    let s = big.to_string();
    assert!(
        s.starts_with(
            "tensor([   0.0000,    1.0000,    2.0000, ..., 1997.0000, 1998.0000, 1999.0000]"
        ),
        "{s}"
    );
    let mask = Tensor::from_vec(vec![true, false], &[2]);
    assert_eq!(mask.to_string(), "tensor([ true, false], shape=[2])");
}

#[test]
fn convolution_shape_errors() {
    use autograd_core::Window2d;
    let x = Tensor::<f32>::zeros(&[1, 3, 5, 5]);
    let (msg, _, _) = panic_of(|| {
        let _ = x.conv2d(&Tensor::zeros(&[4, 2, 3, 3]), None, Window2d::default());
    });
    assert_eq!(
        msg,
        "conv2d: input [1, 3, 5, 5] has 3 channels but weight [4, 2, 3, 3] expects 2"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = x.conv2d(&Tensor::zeros(&[4, 3, 7, 7]), None, Window2d::default());
    });
    assert_eq!(
        msg,
        "conv2d: input [1, 3, 5, 5] with kernel 7x7, padding 0x0, dilation 1x1 has no output positions"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = x.conv2d(
            &Tensor::zeros(&[4, 3, 3, 3]),
            Some(&Tensor::zeros(&[3])),
            Window2d::default(),
        );
    });
    assert_eq!(msg, "conv2d: bias must have shape [4], got [3]");
    let (msg, _, _) = panic_of(|| {
        let _ = Tensor::<f32>::zeros(&[3, 5, 5]).max_pool2d((2, 2), Window2d::default());
    });
    assert_eq!(
        msg,
        "max_pool2d: input must be 4-d [N, C, H, W], got shape [3, 5, 5]"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = x.max_pool2d((2, 2), Window2d::default().padding(2));
    });
    assert!(
        msg.starts_with("max_pool2d: padding (2, 2) must be at most half the kernel"),
        "{msg}"
    );
    let (msg, _, _) = panic_of(|| {
        let _ = x.avg_pool2d((2, 2), Window2d::default().stride(0));
    });
    assert!(msg.contains("must be positive"), "{msg}");
}
