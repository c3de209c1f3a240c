//! The moons and char_rnn examples learn: what they print is what they do.

#[path = "../examples/moons.rs"]
mod moons;

#[path = "../examples/char_rnn.rs"]
mod char_rnn;

#[test]
fn moons_are_separated() {
    let (x, y) = moons::make_moons(100, 0.1, 7);
    let (model, losses) = moons::train(&x, &y, 300, 0);
    assert!(
        losses[299] < 0.05 * losses[0],
        "loss {} -> {}",
        losses[0],
        losses[299]
    );
    let (xt, yt) = moons::make_moons(100, 0.1, 8);
    let acc = moons::accuracy(&model, &xt, &yt);
    assert!(acc >= 0.97, "accuracy on fresh points {acc}");
}

#[test]
fn the_character_model_loss_falls() {
    let (_, losses) = char_rnn::train(80, 0, |_, _| {});
    let first: f32 = losses[..10].iter().sum::<f32>() / 10.0;
    let last: f32 = losses[70..].iter().sum::<f32>() / 10.0;
    assert!(last < 0.6 * first, "loss {first} -> {last}");
    let (_, vocab) = char_rnn::encode();
    assert!(
        first > 0.8 * (vocab.len() as f32).ln(),
        "starts near uniform guessing"
    );
}
