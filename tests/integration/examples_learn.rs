//! The moons and char_rnn examples learn: what they print is what they do.
//! And the examples' shared command-line parser reads what it should.

#[path = "../../examples/moons.rs"]
mod moons;

#[path = "../../examples/char_rnn.rs"]
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
    let (all, _) = char_rnn::encode();
    let (_, held_out) = char_rnn::split(&all);
    let mut held = Vec::new();
    let (_, losses) = char_rnn::train(80, 0, |s, _, model| {
        if s == 0 || s == 79 {
            held.push(char_rnn::held_out_loss(model, held_out));
        }
    });
    // The text it never trained on gets easier too.
    assert!(held[1] < 0.8 * held[0], "held-out loss {held:?}");
    let first: f32 = losses[..10].iter().sum::<f32>() / 10.0;
    let last: f32 = losses[70..].iter().sum::<f32>() / 10.0;
    // 80 steps of 768 characters: about one pass over the book.
    assert!(last < 0.8 * first, "loss {first} -> {last}");
    let (_, vocab) = char_rnn::encode();
    assert!(
        first > 0.8 * (vocab.len() as f32).ln(),
        "starts near uniform guessing"
    );
}

#[allow(clippy::duplicate_mod)]
#[path = "../../examples/common/cli.rs"]
mod cli;

const OPTS: &[cli::Opt] = &[
    cli::switch("xor", "a switch"),
    cli::value("steps", "N", "a number"),
    cli::positional("WORKLOAD", "what to run"),
];

fn parse(args: &[&str]) -> Result<Option<cli::Args>, String> {
    cli::parse_from(
        "test",
        OPTS,
        lexopt::Parser::from_args(args.iter().copied()),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn switches_values_and_a_positional_are_read() {
    let a = parse(&["--xor", "--steps", "12", "t3"]).unwrap().unwrap();
    assert!(a.switch("xor"));
    assert_eq!(a.get("steps", 0_usize), 12);
    assert_eq!(a.positional().as_deref(), Some("t3"));
    let b = parse(&["--steps=7"]).unwrap().unwrap();
    assert!(!b.switch("xor"));
    assert_eq!(b.get("steps", 0_usize), 7);
    assert_eq!(b.get("missing", 5_usize), 5);
}

#[test]
fn help_and_unknown_flags_are_told_apart() {
    assert!(parse(&["--help"]).unwrap().is_none());
    assert!(parse(&["-h"]).unwrap().is_none());
    let err = parse(&["--bogus"]).err().unwrap();
    assert!(err.contains("--bogus"), "{err}");
    let err = parse(&["--steps"]).err().unwrap();
    assert!(err.contains("steps"), "{err}");
    // A second positional is not taken.
    assert!(parse(&["t1", "t2"]).is_err());
}
