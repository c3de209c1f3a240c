//! Weights files: round trips, a file written by Python's `safetensors`
//! package, clear errors for bad files, and a fuzz-style property test: the
//! loader returns `Ok` or `Err` for random and mutated bytes, never panics.

use std::panic::{AssertUnwindSafe, catch_unwind};

use autograd_core::Tensor;
use autograd_nn::*;
use indexmap::IndexMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FIXTURE: &[u8] = include_bytes!("../fixtures/python_written.safetensors");

#[test]
fn a_file_written_by_python_loads_with_names_shapes_and_values() {
    let state = from_safetensors_bytes::<f64>(FIXTURE).unwrap();
    let names: Vec<&str> = state.keys().map(String::as_str).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["0.bias", "0.weight", "emb.weight", "scale"]);
    assert_eq!(state["0.weight"].shape(), &[2, 3]);
    assert_eq!(
        state["0.weight"].to_vec(),
        vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25]
    );
    assert_eq!(state["0.bias"].to_vec(), vec![-1.5, 2.25]);
    assert_eq!(state["scale"].shape(), &[] as &[usize]);
    assert_eq!(state["scale"].item(), std::f64::consts::PI);
    assert_eq!(
        state["emb.weight"].to_vec(),
        vec![
            1e-3,
            -2e5,
            0.0,
            1.0,
            std::f64::consts::PI,
            -std::f64::consts::E
        ]
    );
    // Read as f32 too (F64 values rounded).
    let s32 = from_safetensors_bytes::<f32>(FIXTURE).unwrap();
    assert_eq!(s32["scale"].item(), std::f32::consts::PI);
}

#[test]
fn models_round_trip_through_files() {
    let mut rng = StdRng::seed_from_u64(1);
    let a = mlp::<f32, _>(&[64, 128, 128, 10], Activation::Relu, &mut rng);
    let mut b = mlp::<f32, _>(&[64, 128, 128, 10], Activation::Relu, &mut rng);
    let path = std::env::temp_dir().join(format!(
        "autograd_roundtrip_{}.safetensors",
        std::process::id()
    ));
    save_safetensors(&a.state_dict(), &path).unwrap();
    let loaded = load_safetensors::<f32>(&path).unwrap();
    // safetensors writes tensors sorted by name; loading keeps the file's order.
    let names: Vec<&str> = loaded.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"
        ]
    );
    assert_eq!(loaded["0.weight"].shape(), &[128, 64]);
    b.load_state_dict(&loaded).unwrap();
    assert_eq!(a.state_dict(), b.state_dict(), "bit-exact");
    std::fs::remove_file(&path).ok();
    // f64 state dicts keep f64 precision.
    let mut s = IndexMap::new();
    s.insert(
        "x".to_string(),
        Tensor::from_vec(vec![0.1_f64, 1.0 / 3.0], &[2]),
    );
    let back = from_safetensors_bytes::<f64>(&to_safetensors_bytes(&s).unwrap()).unwrap();
    assert_eq!(back["x"].to_vec(), vec![0.1, 1.0 / 3.0]);
}

#[test]
fn bad_files_are_clear_errors() {
    // Truncated anywhere: an error, never a panic.
    for cut in [0, 4, 8, 20, FIXTURE.len() / 2, FIXTURE.len() - 1] {
        let e = from_safetensors_bytes::<f32>(&FIXTURE[..cut]).unwrap_err();
        assert!(matches!(e, WeightsError::Format(_)), "cut at {cut}: {e}");
    }
    // A header that claims more than the file holds.
    let mut huge = FIXTURE.to_vec();
    huge[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(
        from_safetensors_bytes::<f32>(&huge),
        Err(WeightsError::Format(_))
    ));
    // An element type we do not read.
    let i64_file = {
        struct V(Vec<u8>);
        impl safetensors::tensor::View for &V {
            fn dtype(&self) -> safetensors::Dtype {
                safetensors::Dtype::I64
            }
            fn shape(&self) -> &[usize] {
                &[1]
            }
            fn data(&self) -> std::borrow::Cow<'_, [u8]> {
                std::borrow::Cow::Borrowed(&self.0)
            }
            fn data_len(&self) -> usize {
                8
            }
        }
        let v = V(7i64.to_le_bytes().to_vec());
        safetensors::serialize([("ids", &v)], None).unwrap()
    };
    let e = from_safetensors_bytes::<f32>(&i64_file).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tensor ids has element type I64; only F32 and F64 can be read"
    );
    // A state dict that does not fit the model.
    let mut rng = StdRng::seed_from_u64(2);
    let mut small = mlp::<f32, _>(&[2, 3, 1], Activation::Relu, &mut rng);
    let state = from_safetensors_bytes::<f32>(FIXTURE).unwrap();
    let e = small.load_state_dict(&state).unwrap_err();
    assert!(
        e.to_string()
            .contains("0.weight: shape [2, 3] in the state, [3, 2] in the model"),
        "{e}"
    );
}

/// Mutations of a valid file: byte flips, truncation, insertion, header
/// number edits, spliced JSON.
fn mutate(rng: &mut StdRng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..rng.random_range(1..4) {
        match rng.random_range(0..7) {
            0 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !b.is_empty() => {
                let i = rng.random_range(0..b.len());
                b[i] = rng.random();
            }
            2 => b.truncate(rng.random_range(0..=b.len())),
            3 => {
                let i = rng.random_range(0..=b.len());
                let junk: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
                b.splice(i..i, junk);
            }
            4 if b.len() >= 8 => {
                let n: u64 = match rng.random_range(0..3) {
                    0 => rng.random(),
                    1 => rng.random_range(0..b.len() as u64 + 16),
                    _ => u64::from_le_bytes(b[..8].try_into().unwrap())
                        .wrapping_add(rng.random_range(0..9))
                        .wrapping_sub(4),
                };
                b[..8].copy_from_slice(&n.to_le_bytes());
            }
            5 => {
                // Rewrite a digit inside the JSON header (shapes, offsets).
                let header_end = (8 + u64::from_le_bytes(
                    b.get(..8).and_then(|s| s.try_into().ok()).unwrap_or([0; 8]),
                ) as usize)
                    .min(b.len());
                let digits: Vec<usize> = (8.min(header_end)..header_end)
                    .filter(|&i| b[i].is_ascii_digit())
                    .collect();
                if let Some(&i) = digits.get(rng.random_range(0..digits.len().max(1))) {
                    b[i] = b'0' + rng.random_range(0..10);
                }
            }
            _ => {
                let json = br#"{"a":{"dtype":"F32","shape":[99999999999,99999999999],"data_offsets":[0,4]}}"#;
                let mut f = (json.len() as u64).to_le_bytes().to_vec();
                f.extend_from_slice(json);
                f.extend_from_slice(&[0; 4]);
                b = f;
            }
        }
    }
    b
}

#[test]
fn the_loader_survives_random_and_mutated_bytes() {
    let mut rng = StdRng::seed_from_u64(0xfa22);
    let mut valid = IndexMap::new();
    valid.insert("w".to_string(), Tensor::<f32>::ones(&[3, 2]));
    valid.insert("b".to_string(), Tensor::<f32>::zeros(&[2]));
    let ours = to_safetensors_bytes(&valid).unwrap();
    let bases = [FIXTURE.to_vec(), ours];
    let (mut ok, mut err) = (0usize, 0usize);
    // 20 000 in the test suite; WEIGHTS_FUZZ_INPUTS=1000000 for a longer run.
    let inputs: usize = std::env::var("WEIGHTS_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for k in 0..inputs {
        let input: Vec<u8> = if k % 10 == 0 {
            (0..rng.random_range(0..64)).map(|_| rng.random()).collect()
        } else {
            mutate(&mut rng, &bases[k % 2])
        };
        let r = catch_unwind(AssertUnwindSafe(|| {
            from_safetensors_bytes::<f32>(&input).map(|s| s.len())
        }));
        match r {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(_)) => err += 1,
            Err(_) => panic!("the loader panicked on input {k}: {input:?}"),
        }
    }
    assert_eq!(ok + err, inputs);
    assert!(
        err > inputs / 2 && ok > 0,
        "mutations both break and keep files: {ok} ok, {err} errors"
    );
    eprintln!("{inputs} inputs: {ok} loaded, {err} refused with an error, 0 panics");
}
