#[path = "../benches/common/tensor_workloads.rs"]
mod workloads;
use autograd::TensorTape;
use workloads::*;
fn main() {
    let x = t3_input();
    let mut tape = TensorTape::new();
    let t = std::time::Instant::now();
    let mut s = 0.0;
    for _ in 0..3000 {
        s += t3_iter(&mut tape, &x).0;
    }
    println!(
        "{:.1} us/iter {s}",
        t.elapsed().as_secs_f64() / 3000.0 * 1e6
    );
}
