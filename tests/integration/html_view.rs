//! The tape's web page in a real browser: headless Chromium opens each page
//! with `#selftest` (the page steps through every forward and backward step
//! and checks what it shows), and this test then reads the adjoints the
//! page displays at the end and compares them with the tape's gradients.
//! Without a Chromium binary (`chromium`, `chromium-browser`,
//! `google-chrome`, or `$CHROMIUM`) the browser part says so and is
//! skipped; .ci/run installs Debian's `chromium` where it can.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use autograd::{Tape, Tensor, TensorTape};

fn chromium() -> Option<PathBuf> {
    let mut names: Vec<String> = std::env::var("CHROMIUM").into_iter().collect();
    names.extend(["chromium", "chromium-browser", "google-chrome"].map(String::from));
    names.into_iter().find_map(|n| {
        let ok = Command::new(&n)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| PathBuf::from(n))
    })
}

/// The page's DOM after its self-test, and how long Chromium took.
fn run_in_browser(browser: &Path, page: &Path) -> (String, f64) {
    run_with_hash(browser, page, "#selftest")
}

fn run_with_hash(browser: &Path, page: &Path, hash: &str) -> (String, f64) {
    // A profile of its own per run: tests run in parallel, and two
    // Chromiums sharing one profile do not both start.
    let profile = std::env::temp_dir().join(format!(
        "autograd-chromium-{}-{}",
        std::process::id(),
        page.file_stem().unwrap().to_string_lossy()
    ));
    let start = Instant::now();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}{hash}", page.display()))
        .output()
        .expect("chromium runs");
    let seconds = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&profile);
    (String::from_utf8_lossy(&out.stdout).into_owned(), seconds)
}

/// `data-selftest="..."` and the adjoint shown for each node.
fn read_dom(dom: &str) -> (String, Vec<(usize, String)>) {
    let verdict = dom
        .split("data-selftest=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("no verdict: the script did not run")
        .to_string();
    let mut shown = Vec::new();
    for cell in dom.split("<td class=\"adjoint\" data-node=\"").skip(1) {
        let (node, rest) = cell.split_once("\">").unwrap();
        let text = rest.split("</td>").next().unwrap();
        shown.push((node.parse().unwrap(), text.to_string()));
    }
    (verdict, shown)
}

fn write(name: &str, page: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("autograd-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, page).unwrap();
    path
}

/// f(x, y) = x*y + sin(x), the XOR-row-like chain of sigmoids, and a
/// 1000-node tape: pages that load nothing, stay small, and (in Chromium)
/// show the tape's own gradients after stepping through every update.
#[test]
fn scalar_pages_show_the_tapes_gradients_in_a_browser() {
    let tape = Tape::traced();
    let x = tape.var(0.5).named("x");
    let y = tape.var(4.2).named("y");
    let f = (x * y + x.sin()).named("f");
    let small = tape.to_html(f);
    let g = f.backward();
    let expected_small: Vec<(usize, f64)> = vec![(x.index(), g[x]), (y.index(), g[y])];

    let big = Tape::traced();
    let inputs: Vec<_> = (0..10).map(|i| big.var(0.1 * i as f64)).collect();
    let mut acc = inputs[0];
    while big.len() < 1000 {
        for &v in &inputs {
            acc = (acc * v + 0.5).tanh();
        }
    }
    let large = big.to_html(acc);
    let gl = acc.backward();
    let expected_large: Vec<(usize, f64)> = inputs.iter().map(|&v| (v.index(), gl[v])).collect();
    let nodes = big.len();
    for page in [&small, &large] {
        assert!(!page.contains(" src=") && !page.contains("<link") && !page.contains("@import"));
    }
    // The data is about 0.2 kB per node, the page's code ~10 kB.
    assert!(
        large.len() < 400 * nodes,
        "{} bytes for {nodes} nodes",
        large.len()
    );

    let Some(browser) = chromium() else {
        eprintln!(
            "html_view: skipped the browser check: no Chromium found (apt-get install chromium)"
        );
        return;
    };
    for (name, page, expected) in [
        ("small.html", &small, &expected_small),
        ("large.html", &large, &expected_large),
    ] {
        let path = write(name, page);
        let (dom, seconds) = run_in_browser(&browser, &path);
        let (verdict, shown) = read_dom(&dom);
        assert!(verdict.starts_with("pass"), "{name}: {verdict}");
        // Reported, not asserted: a plain load (Chromium's start included).
        let (_, load) = run_with_hash(&browser, &path, "");
        eprintln!(
            "html_view: {name}: {verdict}, {} bytes; Chromium loaded it in {load:.2} s, \
             stepped through it all in {seconds:.2} s",
            page.len()
        );
        for &(node, want) in expected {
            let text = &shown.iter().find(|(i, _)| *i == node).unwrap().1;
            let got: f64 = text.parse().unwrap_or(f64::NAN);
            // Shown to 6 decimals (6 significant digits below 1e-4).
            assert!(
                (got - want).abs() <= (5.1e-7_f64).max(1e-5 * want.abs()),
                "{name}: node {node} shows {text}, the gradient is {want}"
            );
        }
    }
}

#[test]
fn a_tensor_page_shows_each_operations_gradient_in_a_browser() {
    let tape = TensorTape::new();
    let w = tape.leaf(Tensor::from_vec(
        vec![0.5_f64, -1.0, 0.25, 2.0, 1.5, -0.5],
        &[3, 2],
    ));
    let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0, -1.0, 0.5], &[2, 2]));
    let h = w.matmul(x).tanh();
    let loss = h.square().mean();
    let page = tape.to_html(loss);
    assert!(page.contains("\"expr\":\"matmul(v0, v1)\""));
    let [gw] = tape.grad(loss, &[w]).try_into().unwrap();
    let Some(browser) = chromium() else {
        eprintln!("html_view: skipped the browser check: no Chromium found");
        return;
    };
    let path = write("tensor.html", &page);
    let (dom, _) = run_in_browser(&browser, &path);
    let (verdict, shown) = read_dom(&dom);
    assert!(verdict.starts_with("pass"), "{verdict}");
    // The leaf's cell shows its gradient's shape and six entries.
    let text = &shown.iter().find(|(i, _)| *i == w.index()).unwrap().1;
    let inner = text.rsplit('[').next().unwrap().trim_end_matches(']');
    let got: Vec<f64> = inner.split(", ").map(|v| v.parse().unwrap()).collect();
    // Shown to 4 decimals (3 significant digits below 1e-3).
    assert_eq!(got.len(), 6, "{text}");
    for (a, b) in got.iter().zip(gw.data()) {
        assert!(
            (a - b).abs() <= (5.1e-5_f64).max(6e-4 * b.abs()),
            "shown {text}, gradient {gw:?}"
        );
    }
    // The constant input gets no gradient cell text.
    assert_eq!(shown.iter().find(|(i, _)| *i == x.index()).unwrap().1, "");
}
