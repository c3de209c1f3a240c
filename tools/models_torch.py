"""Workloads T4 (a tiny GPT), T5 (a digits CNN) and T2 (the 784-1024-1024-10
MLP) of docs/workloads.md in PyTorch eager, timed in turn with this engine's
same models (examples/model_steps.rs), so the ratio comes from one run on
one machine. For T2 the table also gives both sides' GFLOP/s
(6 x 1 861 632 parameters x 256 rows per step).

For each thread count, `--repeat` rounds alternate: PyTorch times `--steps`
steps (after its own warm-up) and reports the median ms per step, then the
Rust binary does the same in a fresh process. The table printed at the end
gives each side's median over the rounds and the ratio ours / PyTorch.
`--train` also runs each side's training recipe once (T4: loss after 200
steps and peak memory; T5: test accuracy after 10 epochs).

    pip install torch numpy
    cargo build --release --example model_steps
    python3 tools/models_torch.py --model t4 --threads 1 2
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB, CONTEXT, BATCH, WIDTH, HEADS, LAYERS = 65, 64, 16, 128, 4, 2


def text_ids():
    """The shipped text as ids: characters in order of first appearance,
    as benches/common/models.rs numbers them."""
    text = open(os.path.join(ROOT, "data", "backprop_notes.txt"), encoding="utf-8").read()
    vocab = {}
    return [vocab.setdefault(c, len(vocab)) for c in text]


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(WIDTH)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.proj = nn.Linear(WIDTH, WIDTH)
        self.ln2 = nn.LayerNorm(WIDTH)
        self.fc1 = nn.Linear(WIDTH, 4 * WIDTH)
        self.fc2 = nn.Linear(4 * WIDTH, WIDTH)

    def forward(self, x):
        b, t, e = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(e, dim=2)
        heads = lambda m: m.view(b, t, HEADS, e // HEADS).transpose(1, 2)
        y = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, e))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class TinyGpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_emb = nn.Embedding(VOCAB, WIDTH)
        self.pos_emb = nn.Embedding(CONTEXT, WIDTH)
        self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB)

    def forward(self, ids):
        x = self.tok_emb(ids) + self.pos_emb.weight[: ids.shape[1]]
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln_f(x))


def t4():
    torch.manual_seed(0)
    model = TinyGpt()
    assert sum(p.numel() for p in model.parameters()) == 421697
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    data = torch.tensor(text_ids())
    gen = torch.Generator().manual_seed(1)

    def step():
        s = torch.randint(0, len(data) - CONTEXT - 1, (BATCH,), generator=gen)
        x = torch.stack([data[i : i + CONTEXT] for i in s])
        y = torch.stack([data[i + 1 : i + CONTEXT + 1] for i in s])
        loss = F.cross_entropy(model(x).view(-1, VOCAB), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def t5():
    torch.manual_seed(0)
    table = np.loadtxt(os.path.join(ROOT, "data", "digits.csv"), delimiter=",", skiprows=1)
    x = torch.tensor(table[:, 1:] / 16.0, dtype=torch.float32).view(-1, 1, 8, 8)
    y = torch.tensor(table[:, 0], dtype=torch.long)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(512, 10),
    )
    assert sum(p.numel() for p in model.parameters()) == 9930
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(1)

    def step(rows=None):
        if rows is None:
            rows = torch.randint(0, 1500, (32,), generator=gen)
        loss = F.cross_entropy(model(x[rows]), y[rows])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    def train(epochs=10):
        for _ in range(epochs):
            perm = torch.randperm(1500, generator=gen)
            for i in range(0, 1500, 32):
                step(perm[i : i + 32])
        with torch.no_grad():
            return (model(x[1500:]).argmax(1) == y[1500:]).float().mean().item()

    step.train = train
    return step


T2_FLOP = 6 * 1_861_632 * 256


def t2():
    """T2: plain SGD (lr 0.01) on one random batch of 256, softmax
    cross-entropy, as benches/common/tensor_workloads.rs."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                          nn.Linear(1024, 10))
    # The GFLOP/s formula counts the weights (biases are 2 058 more).
    assert sum(p.numel() for p in model.parameters() if p.dim() == 2) == 1_861_632
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(256, 784, generator=gen)
    y = torch.randint(0, 10, (256,), generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def time_torch(step, steps, warmup):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def time_ours(binary, model, threads, steps, warmup):
    out = subprocess.run(
        [binary, "--model", model, "--threads", str(threads), "--steps", str(steps),
         "--repeat", "1", "--warmup", str(warmup)],
        check=True, capture_output=True, text=True,
    ).stdout
    return float(out.strip().split("ms_per_step=")[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["t4", "t5", "t2"], default="t4")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=5, help="alternating rounds")
    ap.add_argument("--steps", type=int, help="timed steps per round (t4, t2: 20; t5: 200)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--train", action="store_true", help="also run both training recipes")
    ap.add_argument("--recipe", choices=["t4", "t5"], help=argparse.SUPPRESS)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "examples", "model_steps"))
    args = ap.parse_args()
    if args.recipe:
        return recipe(args.recipe, args.threads[0])
    steps = args.steps or (200 if args.model == "t5" else 20)
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: cargo build --release --example model_steps")
    print(f"torch {torch.__version__}, {args.model}, {steps} steps per round, {args.repeat} rounds")
    rows = []
    for n in args.threads:
        torch.set_num_threads(n)
        step = {"t4": t4, "t5": t5, "t2": t2}[args.model]()
        ours, theirs = [], []
        for r in range(args.repeat):
            theirs.append(time_torch(step, steps, args.warmup if r == 0 else 1))
            ours.append(time_ours(args.binary, args.model, n, steps, args.warmup))
            print(f"  threads={n} round {r}: ours {ours[-1]:.3f} ms, PyTorch {theirs[-1]:.3f} ms", flush=True)
        rows.append((n, statistics.median(ours), statistics.median(theirs), min(ours), max(ours), min(theirs), max(theirs)))
    print(f"\n| threads | ours ms/step (median, range) | PyTorch ms/step | ours / PyTorch |")
    print("|---|---|---|---|")
    for n, o, t, olo, ohi, tlo, thi in rows:
        print(f"| {n} | {o:.2f} ({olo:.2f}-{ohi:.2f}) | {t:.2f} ({tlo:.2f}-{thi:.2f}) | {o / t:.2f} |")
    if args.model == "t2":
        print("\n| threads | ours GFLOP/s | PyTorch GFLOP/s | ours / PyTorch |")
        print("|---|---|---|---|")
        for n, o, t, *_ in rows:
            print(f"| {n} | {T2_FLOP / o / 1e6:.0f} | {T2_FLOP / t / 1e6:.0f} | {t / o:.2f} |")
    if args.train:
        # Each recipe in a fresh process, so peak memory is the recipe's.
        out = subprocess.run([sys.executable, __file__, "--recipe", args.model, "--threads", str(args.threads[0])],
                             check=True, capture_output=True, text=True).stdout
        print("PyTorch: " + out.strip().replace("\n", "; "))
        out = subprocess.run([args.binary, "--model", args.model, "--threads", str(args.threads[0]), "--train"],
                             check=True, capture_output=True, text=True).stdout
        print("ours: " + out.strip().replace("\n", "; "))


def recipe(model, threads):
    """The workload's training recipe; peak resident memory over it, and
    its increase over the process after `import torch`."""
    torch.set_num_threads(threads)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if model == "t4":
        step = t4()
        losses = [step() for _ in range(200)]
        print(f"t4 first loss {losses[0]:.4f}, after 200 steps {losses[-1]:.4f}")
    else:
        step = t5()
        print(f"t5 test accuracy after 10 epochs {step.train():.4f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory {peak:.0f} MB, {peak - base:.0f} MB over the process after import")


if __name__ == "__main__":
    main()
