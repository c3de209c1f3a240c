//! The tape of f(x, y) = x*y + sin(x) at x = 0.5, y = 4.2, printed as a
//! Wengert list before and after the reverse sweep, the sweep itself one
//! adjoint update at a time, and the graph in Graphviz DOT form.
//!
//! Run: `cargo run --example wengert`
//! (`cargo run --example wengert -- --dot > tape.dot` prints only the graph;
//! `dot -Tsvg tape.dot -o tape.svg` renders it.)

use autograd::Tape;

fn main() {
    let only_dot = std::env::args().any(|a| a == "--dot");
    let tape = Tape::traced();
    let x = tape.var(0.5).named("x");
    let y = tape.var(4.2).named("y");
    let f = (x * y + x.sin()).named("f");

    let grads = f.backward();
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
