//! The digits example's recipe reaches 0.92 test accuracy; its weights file
//! has PyTorch's nn.Sequential names and shapes.

#[path = "../../benches/common/digits.rs"]
// The shared code keeps its own name inside this test module.
#[allow(clippy::module_inception)]
mod digits;

use autograd::nn::{Module, Sgd, from_safetensors_bytes, to_safetensors_bytes};

#[test]
fn the_example_recipe_reaches_092_and_saves_pytorch_names() {
    let (model, losses, accs) =
        digits::train_with(0, 30, Sgd::new(0.05).momentum(0.9), |_, _, _| {});
    assert!(losses[29] < losses[0] / 10.0, "loss falls: {losses:?}");
    let acc = *accs.last().unwrap();
    assert!(acc >= 0.92, "test accuracy {acc}");
    let bytes = to_safetensors_bytes(&model.state_dict()).unwrap();
    let state = from_safetensors_bytes::<f32>(&bytes).unwrap();
    let shapes: Vec<(String, Vec<usize>)> = [
        "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias",
    ]
    .iter()
    .map(|k| (k.to_string(), state[*k].shape().to_vec()))
    .collect();
    assert_eq!(
        shapes,
        [
            ("0.weight".to_string(), vec![128, 64]),
            ("0.bias".to_string(), vec![128]),
            ("2.weight".to_string(), vec![128, 128]),
            ("2.bias".to_string(), vec![128]),
            ("4.weight".to_string(), vec![10, 128]),
            ("4.bias".to_string(), vec![10]),
        ]
    );
}
