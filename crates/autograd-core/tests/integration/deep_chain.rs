//! The reverse sweep is a loop, not a recursion: a chain of 10^7 operations
//! differentiates without overflowing the stack.

use autograd_core::Tape;

#[test]
fn ten_million_operations_in_a_chain() {
    const N: usize = 10_000_000;
    let tape = Tape::with_capacity(N + 1);
    let x = tape.var(0.5);
    let mut y = x;
    // Each step y -> y + 1e-8 * sin(y) would be 3 ops; alternate cheaper ops
    // with exactly known derivative: y * c and y + c.
    for k in 0..N {
        y = if k % 2 == 0 {
            y * 1.000_000_01
        } else {
            y + 0.25
        };
    }
    assert_eq!(tape.len(), N + 1);
    let g = y.backward();
    let expect = 1.000_000_01_f64.powi((N / 2) as i32);
    assert!(
        (g[x] - expect).abs() < 1e-9 * expect,
        "{} vs {expect}",
        g[x]
    );
}
