//! The tape of f(x, y) = x*y + sin(x) at x = 0.5, y = 4.2, printed as a
//! Wengert list before and after the reverse sweep, the sweep itself one
//! adjoint update at a time, and the graph in Graphviz DOT form.
//!
//! `--xor`: the same for one training row of the article's XOR network
//! (input (1, 0), target 1, the article's initial weights): the forward pass,
//! the loss, and every adjoint the sweep computes, with the article's
//! hand-written d_output and d_hidden next to them.
//!
//! `--html PATH` writes the tape as an interactive web page instead (step
//! through the forward pass and the reverse sweep in a browser; one file,
//! nothing fetched): `cargo run --example wengert -- --html target/tape.html`
//! and `-- --xor --html target/xor.html`.
//!
//! Run: `cargo run --example wengert [-- --xor]`
//! (`cargo run --example wengert -- [--xor] --dot > tape.dot` prints only the
//! graph; `dot -Tsvg tape.dot -o tape.svg` renders it; `python3 tools/book.py
//! --pictures` renders both into docs/pictures/.)

// Examples include one another (and tests include examples), so this file
// may be loaded more than once in a crate.
#[allow(clippy::duplicate_mod)]
#[path = "common/cli.rs"]
mod cli;

use autograd::Tape;

/// Writes `page` to `path` (creating its directory) and says so.
fn write_page(path: &str, page: &str) {
    if let Some(dir) = std::path::Path::new(path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(path, page) {
        Ok(()) => println!("wrote {path} ({} bytes): open it in a browser", page.len()),
        Err(e) => {
            eprintln!("wengert: cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
}

/// One XOR row on a traced tape, printed with the article's formulas.
fn xor_row(only_dot: bool, html: Option<String>) {
    let w1 = [
        [0.417022004702574, 0.7203244934421581],
        [0.00011437481734488664, 0.30233257263183977],
    ];
    let w2 = [0.14675589081711304, 0.0923385947687978];
    let (x, target) = ([1.0, 0.0], 1.0);
    let tape = Tape::traced();
    let w = [
        [
            tape.var(w1[0][0]).named("w00"),
            tape.var(w1[0][1]).named("w01"),
        ],
        [
            tape.var(w1[1][0]).named("w10"),
            tape.var(w1[1][1]).named("w11"),
        ],
    ];
    let u = [tape.var(w2[0]).named("u0"), tape.var(w2[1]).named("u1")];
    let z = [0, 1].map(|j| x[0] * w[0][j] + x[1] * w[1][j]);
    let h = [z[0].sigmoid().named("h0"), z[1].sigmoid().named("h1")];
    let o_in = (h[0] * u[0] + h[1] * u[1]).named("o_in");
    let o = o_in.sigmoid().named("out");
    let loss = ((target - o).square() * 0.5).named("loss");
    let g = loss.backward();
    if let Some(path) = html {
        write_page(&path, &tape.to_html(loss));
        return;
    }
    if only_dot {
        print!("{}", tape.to_dot(Some(&g)));
        return;
    }
    println!("One XOR row: x = (1, 0), target 1, the article's initial weights\n");
    println!("{}", tape.wengert(Some(&g)));
    let out = o.value();
    let d_output = (target - out) * out * (1.0 - out);
    println!("The article's d_output = (y - out) * out * (1 - out) = {d_output:.9}");
    println!(
        "  the tape's adjoint of o_in (the output's pre-activation) = {:.9}",
        g[o_in]
    );
    for j in 0..2 {
        let hj = h[j].value();
        let d_hidden = d_output * w2[j] * hj * (1.0 - hj);
        println!(
            "The article's d_hidden[{j}] = d_output * w2[{j}] * h{j} * (1 - h{j}) = {d_hidden:.9}; the tape's adjoint of z{j}: {:.9}",
            g[z[j]]
        );
    }
    println!("(the tape's adjoints are d loss / d node; the article's deltas are their negatives)");
}

fn main() {
    let args = cli::parse(
        "wengert",
        "a tape as a Wengert list, its reverse sweep step by step, as DOT or as a web page",
        &[
            cli::switch(
                "xor",
                "one training row of the article's XOR network instead of f(x, y)",
            ),
            cli::switch("dot", "print only the graph, in Graphviz DOT"),
            cli::value(
                "html",
                "FILE",
                "write the tape as an interactive web page instead",
            ),
        ],
    );
    let only_dot = args.switch("dot");
    if args.switch("xor") {
        xor_row(only_dot, args.text("html"));
        return;
    }
    let tape = Tape::traced();
    let x = tape.var(0.5).named("x");
    let y = tape.var(4.2).named("y");
    let f = (x * y + x.sin()).named("f");

    let grads = f.backward();
    if let Some(path) = args.text("html") {
        write_page(&path, &tape.to_html(f));
        return;
    }
    if only_dot {
        print!("{}", tape.to_dot(Some(&grads)));
        return;
    }

    println!("f(x, y) = x*y + sin(x) at x = 0.5, y = 4.2\n");
    println!("The forward pass, as recorded (a Wengert list):\n");
    println!("{tape}");
    println!("The reverse sweep, one adjoint update at a time (seed: adj[f] = 1):\n");
    for step in tape.sweep_steps(f) {
        println!("  {step}");
    }
    println!("\nAfter the sweep, every node carries d f / d node:\n");
    println!("{}", tape.wengert(Some(&grads)));
    println!(
        "df/dx = y + cos(x) = {} (tape: {})",
        4.2 + 0.5_f64.cos(),
        grads[x]
    );
    println!("df/dy = x = {} (tape: {})", 0.5, grads[y]);
    println!("\nThe same tape as a graph (Graphviz DOT):\n");
    print!("{}", tape.to_dot(Some(&grads)));
}
