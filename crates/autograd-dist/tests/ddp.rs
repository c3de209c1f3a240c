//! Data-parallel training over MPI, end to end: `examples/ddp_digits.rs`
//! under `mpirun -np 2` against one process with twice the batch, a resumed
//! run against an uninterrupted one, and the ways a job can go wrong (a
//! rank with another model, a rank that stalls, a rank that dies, a damaged
//! checkpoint).
//!
//! Needs the `mpi` feature and OpenMPI's `mpirun`; `.ci/run` installs
//! OpenMPI and runs
//! `cargo build --features mpi --example ddp_digits && cargo test -p autograd-dist --features mpi`
//! (the example is the workspace's, so it is built first).
//! Without either, the test says what it skipped.

#[cfg(not(feature = "mpi"))]
#[test]
fn ddp_needs_the_mpi_feature() {
    eprintln!(
        "skipped: built without the `mpi` feature; run \
         `cargo build --features mpi --example ddp_digits && cargo test -p autograd-dist --features mpi` \
         where OpenMPI is installed"
    );
}

#[cfg(feature = "mpi")]
mod with_mpi {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};
    use std::time::{Duration, Instant};

    use autograd_nn::load_safetensors;

    /// The example binary beside this test's (target/<profile>/examples).
    fn example() -> PathBuf {
        let exe = std::env::current_exe().expect("test binary path");
        let bin = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .join("examples/ddp_digits");
        assert!(
            bin.exists(),
            "{} is missing: build it first with `cargo build --features mpi --example ddp_digits`",
            bin.display()
        );
        bin
    }

    /// One `mpirun` at a time: concurrent jobs of the same user trip over
    /// each other in OpenMPI's runtime (seen: exit 13, "ORTE_ERROR_LOG: Out
    /// of resource"), and each wants both cores anyway.
    static ONE_JOB: std::sync::Mutex<()> = std::sync::Mutex::new(());

    pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
        ONE_JOB.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn mpirun_available() -> bool {
        let ok = Command::new("mpirun")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!(
                "skipped: mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev)"
            );
        }
        ok
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("autograd-ddp-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// `mpirun -np 2 ddp_digits args...` (as root too: OpenMPI refuses root
    /// unless told), with a deadline far beyond any healthy run.
    fn mpirun(args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
        let mut cmd = Command::new("mpirun");
        cmd.args(["-np", "2", "--oversubscribe"])
            .arg(example())
            .args(args)
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let start = Instant::now();
        let out = cmd.output().expect("mpirun runs");
        (out, start.elapsed())
    }

    fn single(args: &[&str]) -> Output {
        Command::new(example())
            .arg("--single")
            .args(args)
            .output()
            .expect("ddp_digits runs")
    }

    pub(crate) fn text(o: &Output) -> String {
        format!(
            "status {:?}\nstdout:\n{}\nstderr:\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }

    fn last_line(o: &Output) -> String {
        let s = String::from_utf8_lossy(&o.stdout);
        s.lines().last().unwrap_or("").to_string()
    }

    fn checksum(o: &Output) -> f64 {
        let line = last_line(o);
        line.strip_prefix("final weights checksum: ")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no checksum line:\n{}", text(o)))
    }

    /// The largest difference between two weights files, relative to the
    /// largest magnitude of each tensor.
    fn max_relative_difference(a: &Path, b: &Path) -> f64 {
        let (a, b) = (
            load_safetensors::<f32>(a.join("weights.safetensors")).unwrap(),
            load_safetensors::<f32>(b.join("weights.safetensors")).unwrap(),
        );
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        let mut worst = 0.0_f64;
        for (name, x) in &a {
            let y = &b[name];
            let scale = y.data().iter().fold(0.0_f64, |m, &v| m.max(v.abs() as f64));
            for (&p, &q) in x.data().iter().zip(y.data()) {
                worst = worst.max((p as f64 - q as f64).abs() / scale);
            }
        }
        worst
    }

    #[test]
    fn two_ranks_train_as_one_process_with_twice_the_batch_and_resume_exactly() {
        let _one = serial();
        if !mpirun_available() {
            return;
        }
        let (one, two, half, resumed) = (
            scratch("one"),
            scratch("two"),
            scratch("half"),
            scratch("resumed"),
        );
        let s = |p: &PathBuf| p.to_str().unwrap().to_string();
        let o1 = single(&["--batch", "64", "--save", &s(&one)]);
        assert!(o1.status.success(), "{}", text(&o1));
        // Small buckets, so several exchanges overlap the sweep.
        let (o2, _) = mpirun(&["--bucket-kib", "16", "--save", &s(&two)], &[]);
        assert!(o2.status.success(), "{}", text(&o2));
        let out = String::from_utf8_lossy(&o2.stdout);
        assert!(out.contains("every rank's weights bit-identical"), "{out}");
        let (c1, c2) = (checksum(&o1), checksum(&o2));
        assert!((c1 - c2).abs() <= 1e-5 * c1.abs(), "checksums {c1} vs {c2}");
        let diff = max_relative_difference(&one, &two);
        assert!(diff <= 1e-5, "weights differ by {diff:e} (relative)");
        // And they did train: not the initial weights.
        let o0 = single(&["--batch", "64", "--steps", "0"]);
        assert!((checksum(&o0) - c1).abs() > 1e-3, "{}", text(&o0));

        // 100 steps, a checkpoint from rank 0, 100 more from it: the same
        // bits as 200 straight.
        let (a, _) = mpirun(
            &["--bucket-kib", "16", "--steps", "100", "--save", &s(&half)],
            &[],
        );
        assert!(a.status.success(), "{}", text(&a));
        let (b, _) = mpirun(
            &[
                "--bucket-kib",
                "16",
                "--resume",
                &s(&half),
                "--save",
                &s(&resumed),
            ],
            &[],
        );
        assert!(b.status.success(), "{}", text(&b));
        assert_eq!(last_line(&b), last_line(&o2));
        assert_eq!(max_relative_difference(&resumed, &two), 0.0);

        // A damaged checkpoint is refused on every rank with rank 0's reason.
        let w = half.join("weights.safetensors");
        let bytes = std::fs::read(&w).unwrap();
        std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
        let (c, _) = mpirun(&["--resume", &s(&half)], &[]);
        assert!(!c.status.success(), "{}", text(&c));
        let err = String::from_utf8_lossy(&c.stderr);
        assert!(
            err.contains("checkpoint") && err.contains("weights.safetensors"),
            "{}",
            text(&c)
        );
        for d in [one, two, half, resumed] {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    #[test]
    fn a_rank_with_another_model_is_refused_with_both_descriptions() {
        let _one = serial();
        if !mpirun_available() {
            return;
        }
        let (o, _) = mpirun(&["--fault", "model", "--fault-rank", "1"], &[]);
        assert!(!o.status.success(), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("rank 1's model differs from rank 0's")
                && err.contains(
                    "\"0.weight [128, 64] parameter\" vs \"0.weight [100, 64] parameter\""
                )
                && err.contains("rank 1 has:\n  0.weight [100, 64] parameter"),
            "{}",
            text(&o)
        );
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("step"),
            "no rank trained"
        );
    }

    #[test]
    fn a_stalled_rank_makes_the_others_stop_with_a_message() {
        let _one = serial();
        if !mpirun_available() {
            return;
        }
        let (o, took) = mpirun(
            &[
                "--fault",
                "stall",
                "--fault-rank",
                "1",
                "--fault-step",
                "10",
            ],
            &[("AUTOGRAD_DIST_TIMEOUT", "2")],
        );
        assert!(!o.status.success(), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(
                "rank 0 of 2: the allreduce of gradient bucket 0 did not complete within 2.0 s"
            ),
            "{}",
            text(&o)
        );
        assert!(took < Duration::from_secs(60), "took {took:?}");
    }

    #[test]
    fn a_rank_that_dies_stops_the_job() {
        let _one = serial();
        if !mpirun_available() {
            return;
        }
        let (o, took) = mpirun(
            &["--fault", "die", "--fault-rank", "1", "--fault-step", "10"],
            &[("AUTOGRAD_DIST_TIMEOUT", "20")],
        );
        assert!(!o.status.success(), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("injected fault at step 10: die"),
            "{}",
            text(&o)
        );
        assert!(took < Duration::from_secs(60), "took {took:?}");
        assert!(!String::from_utf8_lossy(&o.stdout).contains("final weights checksum"));
    }
}

/// The library on its own, two ranks: this test binary starts itself under
/// `mpirun` (`rank_program` below is the ranks' side), so `Ddp`'s averaging,
/// frozen and unused parameters, buckets of every size and the collectives
/// are checked against values each rank can compute alone.
#[cfg(feature = "mpi")]
mod library {
    use std::process::Command;

    use autograd_core::{Tensor, TensorTape, TensorVar};
    use autograd_dist::{Ddp, DistError, World};
    use autograd_nn::{Forward, Linear, Module};
    use rand::SeedableRng;

    const CHILD: &str = "AUTOGRAD_DDP_TEST_RANK_PROGRAM";

    #[test]
    fn ddp_averages_exactly_what_each_rank_computes() {
        let _one = super::with_mpi::serial();
        if !super::with_mpi::mpirun_available() {
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("mpirun")
            .args(["-np", "2", "--oversubscribe"])
            .arg(exe)
            .args([
                "--exact",
                "library::rank_program",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .output()
            .unwrap();
        let text = super::with_mpi::text(&out);
        assert!(out.status.success(), "{text}");
        assert_eq!(text.matches("rank program passed").count(), 2, "{text}");
    }

    /// Three layers: 0 trained, 1 never used, 2 frozen.
    fn model(seed: u64) -> Vec<Linear<f64>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut m = vec![
            Linear::new(3, 4, &mut rng),
            Linear::new(4, 4, &mut rng),
            Linear::new(4, 2, &mut rng),
        ];
        m[2].freeze();
        m
    }

    /// Rank r's loss on its own data (layer 1 unused, layer 2 frozen).
    fn loss<'t>(m: &[Linear<f64>], tape: &'t TensorTape<f64>, rank: usize) -> TensorVar<'t, f64> {
        let x = tape.constant(Tensor::from_vec(
            (0..6)
                .map(|i| (i as f64 + 1.0) * (rank as f64 + 0.5))
                .collect(),
            &[2, 3],
        ));
        m[2].forward(m[0].forward(x).tanh()).square().mean()
    }

    /// Rank r's gradients, computed in this process. (`&Vec`: the model is
    /// the `Vec`.)
    #[allow(clippy::ptr_arg)]
    fn loss_grads(m: &Vec<Linear<f64>>, rank: usize) -> autograd_nn::ParamGrads<f64> {
        let tape = TensorTape::new();
        m.gradients(&loss(m, &tape, rank).backward())
    }

    #[test]
    #[ignore = "the ranks' side of ddp_averages_exactly_what_each_rank_computes"]
    fn rank_program() {
        if std::env::var(CHILD).is_err() {
            return;
        }
        let world = World::init().unwrap();
        let (rank, size) = (world.rank(), world.size());
        assert_eq!(size, 2);

        // Collectives: lengths differ per rank, empty messages included.
        let mine = vec![rank as u8; 3 * rank];
        let all = world.all_gather_bytes(&mine);
        assert_eq!(all, vec![vec![], vec![1u8; 3]]);
        let mut msg = if rank == 0 {
            b"from rank 0".to_vec()
        } else {
            vec![9; 50]
        };
        world.broadcast_bytes(&mut msg);
        assert_eq!(msg, b"from rank 0");
        let mut empty = if rank == 0 { Vec::new() } else { vec![1, 2] };
        world.broadcast_bytes(&mut empty);
        assert!(empty.is_empty());
        let mut x = [rank as f64, 1.0];
        world.all_reduce_sum(&mut x);
        assert_eq!(x, [1.0, 2.0]);

        for caps in [None, Some(1)] {
            // Each rank starts elsewhere; Ddp::new gives rank 0's weights.
            let mut m = model(10 + rank as u64);
            let mut ddp = Ddp::new(&world, &mut m).unwrap();
            if let Some(c) = caps {
                ddp = ddp.bucket_bytes(c, c); // one bucket per parameter
            }
            let root = model(10);
            assert_eq!(m.state_dict(), root.state_dict());
            let buckets = ddp.plan().buckets().len();
            assert_eq!(buckets, if caps.is_some() { 4 } else { 1 });

            let tape = TensorTape::new();
            let got = ddp.backward(&m, loss(&m, &tape, rank));
            // What one process computes from both ranks' data.
            let (g0, g1) = (loss_grads(&m, 0), loss_grads(&m, 1));
            let names: Vec<_> = got.keys().cloned().collect();
            assert_eq!(
                names,
                ["0.weight", "0.bias", "1.weight", "1.bias"],
                "frozen left out"
            );
            for name in &names {
                let want: Vec<f64> = g0[name]
                    .data()
                    .iter()
                    .zip(g1[name].data())
                    .map(|(a, b)| (a + b) / 2.0)
                    .collect();
                let have = got[name].data();
                for (h, w) in have.iter().zip(&want) {
                    assert!(
                        (h - w).abs() <= 1e-14 * w.abs().max(1.0),
                        "{name}: {h} vs {w}"
                    );
                }
                if name.starts_with("1.") {
                    assert!(have.iter().all(|&v| v == 0.0), "unused layer: zeros");
                }
            }
            assert_eq!(ddp.stats().steps, 1);
            ddp.check_in_sync(&m).unwrap();
            if rank == 1 {
                m[1].weight.update(|w| w.data_mut()[0] += 1e-12);
            }
            match ddp.check_in_sync(&m) {
                Err(DistError::OutOfSync { ranks }) => assert_eq!(ranks, [1]),
                other => panic!("rank {rank}: expected OutOfSync, got {other:?}"),
            }
        }
        println!("rank {rank}: rank program passed");
    }
}
