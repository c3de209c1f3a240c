"""Workload T3 (docs/performance.md) in JAX with jit, for a same-run
comparison with this engine's `T3/iter`:

    y = x (16 float32 values from -1 to 1)
    1000 times: y = y + 0.001 * tanh(y)
    loss = sum(y); the gradient of loss with respect to x

Our tape records 3001 operations for it (1000 x tanh, scale, add, and the
sum), so "ns per op" divides the time of one gradient call by 3001, for both
engines. Two JAX forms are timed, each `jax.jit(jax.value_and_grad(f))`,
compiled once before timing:

- `unrolled`: the Python loop traced into a 3000-operation XLA graph, which
  XLA fuses (what a user gets by jitting the obvious code);
- `fori_loop`: `jax.lax.fori_loop`, one loop body compiled once.

It prints the median of `--repeat` batches of `--calls` calls, per call.

    pip install jax && python3 tools/t3_jax.py
"""
import argparse
import statistics
import time

import jax
import jax.numpy as jnp

OPS = 3001


def unrolled(x):
    y = x
    for _ in range(1000):
        y = y + 0.001 * jnp.tanh(y)
    return jnp.sum(y)


def looped(x):
    y = jax.lax.fori_loop(0, 1000, lambda _, y: y + 0.001 * jnp.tanh(y), x)
    return jnp.sum(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="batches (median taken)")
    ap.add_argument("--calls", type=int, default=200, help="calls per batch")
    args = ap.parse_args()
    x = jnp.linspace(-1.0, 1.0, 16, dtype=jnp.float32)
    print(f"jax {jax.__version__}, device {jax.devices()[0]}")
    for name, f in [("unrolled", unrolled), ("fori_loop", looped)]:
        g = jax.jit(jax.value_and_grad(f))
        v, d = g(x)
        d.block_until_ready()
        per_call = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for _ in range(args.calls):
                v, d = g(x)
            d.block_until_ready()
            per_call.append((time.perf_counter() - t0) / args.calls)
        m = statistics.median(per_call)
        print(
            f"T3 jax.jit {name:9}: {m * 1e6:8.1f} us per gradient, "
            f"{m * 1e9 / OPS:6.1f} ns per op (loss {float(v):.6f}, "
            f"batches {min(per_call) * 1e6:.1f}-{max(per_call) * 1e6:.1f} us)"
        )


if __name__ == "__main__":
    main()
