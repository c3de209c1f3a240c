//! Workloads T4 (tiny GPT) and T5 (digits CNN) as users write them: the
//! derived parameter names, a training step that lowers the loss, and a
//! save/resume that continues exactly.

#[path = "../../benches/common/models.rs"]
mod models;

use autograd::nn::Module;

#[test]
fn t4_names_its_parameters_as_pytorch_would() {
    let m = models::TinyGpt::new(0);
    assert_eq!(m.num_parameters(), 421_697);
    let names: Vec<String> = m.state_dict().into_keys().collect();
    assert_eq!(names[0], "tok_emb.weight");
    assert_eq!(names[2], "blocks.0.ln1.weight");
    assert!(names.contains(&"blocks.1.attn.in_proj_weight".to_string()));
    assert_eq!(names.last().unwrap(), "head.bias");
}

/// Four steps straight give the same weights and losses as two steps, a
/// save into files, a fresh process-like start from them, and two more.
#[test]
fn t4_training_resumes_bit_identically() {
    let dir = std::env::temp_dir().join(format!("autograd-t4-resume-{}", std::process::id()));
    let mut straight = models::T4::new(3);
    let losses: Vec<f32> = (0..4).map(|_| straight.step()).collect();

    let mut first = models::T4::new(3);
    let early: Vec<f32> = (0..2).map(|_| first.step()).collect();
    assert_eq!(early, losses[..2]);
    first.save(&dir).unwrap();
    drop(first);
    let mut resumed = models::T4::new(99); // other weights, overwritten
    let mut resumed_seeded = models::T4::new(3);
    resumed_seeded.resume(&dir).unwrap();
    let late: Vec<f32> = (0..2).map(|_| resumed_seeded.step()).collect();
    assert_eq!(late, losses[2..]);
    assert_eq!(
        resumed_seeded.model.state_dict(),
        straight.model.state_dict()
    );
    assert_eq!(resumed_seeded.steps_done, 4);

    // Loading into a model built from another seed still gives the same
    // weights; the batches follow the seed the run was started with.
    resumed.resume(&dir).unwrap();
    assert_eq!(resumed.steps_done, 2);
    // A damaged optimizer file is refused with the reason.
    std::fs::write(dir.join(models::OPTIMIZER_FILE), b"garbage").unwrap();
    let err = models::T4::new(3).resume(&dir).unwrap_err().to_string();
    assert!(err.contains("safetensors"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn t5_steps_lower_the_loss() {
    let mut w = models::T5::new(0);
    let rows: Vec<usize> = (0..32).collect();
    let first = w.step_on(&rows);
    for _ in 0..5 {
        w.step_on(&rows);
    }
    assert!(w.step_on(&rows) < first);
}
