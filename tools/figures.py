"""The project's headline speed figures, measured once and quoted everywhere
from one file.

    python3 tools/figures.py measure    # run the benches, write docs/figures.json
    python3 tools/figures.py collect    # only read target/criterion (benches you ran;
                                        # not T4/T5, whose two thread counts share it)
    python3 tools/figures.py render     # write the figures into README.md and docs/
    python3 tools/figures.py check      # fail if a quoted figure differs (CI, via book.py)

`measure` runs `cargo bench` for S1/S2 (scalar), T1 (train), T2/T3 (tensor)
and T4/T5 (models, once with AUTOGRAD_NUM_THREADS=1 and once with 2), and,
when PyTorch is installed (`pip install torch numpy`), tools/models_torch.py
for the side-by-side ratios. Each criterion median is stored in
docs/figures.json with the machine (CPU model, cores, SIMD level), the date
and the command that measured it.

A document quotes a figure as `<!-- fig NAME -->text<!-- /fig -->`; `render`
writes the text from docs/figures.json (NAME is a key of FIGURES below) and
`check` fails where the text differs, so no figure is copied by hand and
none goes stale without CI saying so. Every quote names its source: the
`machine` and `date` figures are quotable like any other.
"""
import datetime
import json
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
STORE = ROOT / "docs" / "figures.json"
MARK = re.compile(r"(<!-- fig (?P<name>[\w.@:/-]+) -->)(?P<body>.*?)(<!-- /fig -->)", re.S)

# Operation counts of the workloads (docs/workloads.md): recorded operations,
# not counting leaves, and the T2 step's floating-point operations.
S1_OPS = 799_993
S2_OPS = 1_200_001
T3_OPS = 3001
T2_FLOP = 6 * 1_861_632 * 256

# (command, environment, criterion IDs it measures, suffix for the stored keys)
BENCHES = [
    ("cargo bench --bench scalar", {}, ["S1/plain", "S1/grad", "S1/grad_statements",
                                         "S1/reverse_crate", "S2/plain", "S2/grad",
                                         "S2/grad_statements"], ""),
    ("cargo bench --bench train", {}, ["T1/step", "T1/replay_step"], ""),
    ("cargo bench --bench tensor -- 'T2/|T3/|gelu/'", {},
     ["T2/step", "T2/matmul", "T3/iter", "T3/replay", "gelu/ops", "gelu/statement"], ""),
    ("AUTOGRAD_NUM_THREADS=1 cargo bench --bench models", {"AUTOGRAD_NUM_THREADS": "1"},
     ["T4/step", "T5/step"], "@1"),
    ("AUTOGRAD_NUM_THREADS=2 cargo bench --bench models", {"AUTOGRAD_NUM_THREADS": "2"},
     ["T4/step", "T5/step"], "@2"),
]


def machine() -> str:
    info = pathlib.Path("/proc/cpuinfo").read_text()
    model = next(l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name"))
    cores = sum(1 for l in info.splitlines() if l.startswith("processor"))
    flags = next((l for l in info.splitlines() if l.startswith("flags")), "")
    simd = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "no AVX2"
    return f"{model}, {cores} cores, {simd}"


def criterion(bench_id: str) -> dict:
    """Criterion's median and its 95% interval for one benchmark, in ns."""
    path = ROOT / "target" / "criterion" / bench_id / "new" / "estimates.json"
    est = json.loads(path.read_text())["median"]
    ci = est["confidence_interval"]
    return {"ns": est["point_estimate"], "low_ns": ci["lower_bound"], "high_ns": ci["upper_bound"]}


def load() -> dict:
    return json.loads(STORE.read_text()) if STORE.exists() else {"raw": {}}


def save(store: dict) -> None:
    STORE.write_text(json.dumps(store, indent=1, sort_keys=True) + "\n")


def stamp(cmd: str) -> dict:
    return {"machine": machine(), "date": str(datetime.date.today()), "command": cmd}


def measure(run: bool) -> None:
    store = load()
    raw = store.setdefault("raw", {})
    for cmd, env, ids, suffix in BENCHES:
        if run:
            print(f"figures: {cmd}", flush=True)
            subprocess.run(cmd, shell=True, cwd=ROOT, check=True,
                           env={**os.environ, **env})
        if env and not run:
            # Both thread counts write the same criterion directory: only a
            # run made here knows which one a result belongs to.
            continue
        for bench_id in ids:
            try:
                raw[bench_id + suffix] = {**criterion(bench_id), **stamp(cmd)}
            except FileNotFoundError:
                print(f"figures: no criterion result for {bench_id} (run `{cmd}`)")
    if run:
        torch_ratios(raw)
    save(store)
    print(f"figures: wrote {STORE.relative_to(ROOT)}")


def torch_ratios(raw: dict) -> None:
    """T4/T5 against PyTorch eager, alternated in one run (tools/models_torch.py)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("figures: PyTorch not installed; the side-by-side ratios keep their old values")
        return
    subprocess.run("cargo build --release --example model_steps", shell=True, cwd=ROOT, check=True)
    for model in ["t4", "t5", "t2"]:
        cmd = f"python3 tools/models_torch.py --model {model} --threads 1 2 --repeat 5"
        print(f"figures: {cmd}", flush=True)
        out = subprocess.run(cmd, shell=True, cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout
        for n, ours, theirs in re.findall(
                r"^\| (\d) \| ([\d.]+) \([^)]*\) \| ([\d.]+) \([^)]*\) \|", out, re.M):
            key = f"{model.upper()}/torch@{n}"
            raw[key] = {"ours_ms": float(ours), "torch_ms": float(theirs),
                        **stamp(cmd)}


def ms(ns: float) -> str:
    return f"{ns / 1e6:.1f}" if ns >= 1e7 else f"{ns / 1e6:.2f}"


# Quotable figures: name -> (function of the raw measurements, and the keys
# it reads, whose machine and date it inherits).
FIGURES = {
    "S1.ns_per_op": (lambda r: f"{r['S1/grad']['ns'] / S1_OPS:.1f}", ["S1/grad"]),
    "S1.vs_reverse": (lambda r: f"{r['S1/grad']['ns'] / r['S1/reverse_crate']['ns']:.2f}",
                      ["S1/grad", "S1/reverse_crate"]),
    "S1.statements_vs_reverse": (
        lambda r: f"{r['S1/grad_statements']['ns'] / r['S1/reverse_crate']['ns']:.2f}",
        ["S1/grad_statements", "S1/reverse_crate"]),
    "S2.grad_over_plain": (lambda r: f"{r['S2/grad']['ns'] / r['S2/plain']['ns']:.1f}",
                           ["S2/grad", "S2/plain"]),
    "S2.statements_over_plain": (
        lambda r: f"{r['S2/grad_statements']['ns'] / r['S2/plain']['ns']:.2f}",
        ["S2/grad_statements", "S2/plain"]),
    "T1.step_us": (lambda r: f"{r['T1/step']['ns'] / 1e3:.0f}", ["T1/step"]),
    "T1.steps_per_s": (lambda r: f"{round(1e9 / r['T1/step']['ns'], -2):,.0f}".replace(",", " "),
                       ["T1/step"]),
    "T1.replay_us": (lambda r: f"{r['T1/replay_step']['ns'] / 1e3:.0f}", ["T1/replay_step"]),
    "T2.gflops": (lambda r: f"{T2_FLOP / r['T2/step']['ns']:.0f}", ["T2/step"]),
    "T2.kernel_share": (lambda r: f"{100 * r['T2/matmul']['ns'] / r['T2/step']['ns']:.0f}%",
                        ["T2/step", "T2/matmul"]),
    "T3.ns_per_op": (lambda r: f"{r['T3/iter']['ns'] / T3_OPS:.0f}", ["T3/iter"]),
    "T3.replay_ns_per_op": (lambda r: f"{r['T3/replay']['ns'] / T3_OPS:.0f}", ["T3/replay"]),
    "gelu.ops_ms": (lambda r: ms(r["gelu/ops"]["ns"]), ["gelu/ops"]),
    "gelu.statement_ms": (lambda r: ms(r["gelu/statement"]["ns"]), ["gelu/statement"]),
    "gelu.ops_over_statement": (lambda r: f"{r['gelu/ops']['ns'] / r['gelu/statement']['ns']:.1f}",
                                ["gelu/ops", "gelu/statement"]),
}
for _m in ["T4", "T5", "T2"]:
    # Two threads against one, ours, from the same alternated run.
    FIGURES[f"{_m}.speedup"] = (
        lambda r, m=_m: f"{r[m + '/torch@1']['ours_ms'] / r[m + '/torch@2']['ours_ms']:.2f}",
        [f"{_m}/torch@1", f"{_m}/torch@2"])
    for _n in ["1", "2"]:
        if _m != "T2":
            FIGURES[f"{_m}.step_ms@{_n}"] = (
                lambda r, k=f"{_m}/step@{_n}": ms(r[k]["ns"]), [f"{_m}/step@{_n}"])
        FIGURES[f"{_m}.ours_ms@{_n}"] = (
            lambda r, k=f"{_m}/torch@{_n}": f"{r[k]['ours_ms']:.2f}", [f"{_m}/torch@{_n}"])
        FIGURES[f"{_m}.torch_ms@{_n}"] = (
            lambda r, k=f"{_m}/torch@{_n}": f"{r[k]['torch_ms']:.2f}", [f"{_m}/torch@{_n}"])
        FIGURES[f"{_m}.vs_torch@{_n}"] = (
            lambda r, k=f"{_m}/torch@{_n}": f"{r[k]['ours_ms'] / r[k]['torch_ms']:.2f}",
            [f"{_m}/torch@{_n}"])


for _n in ["1", "2"]:
    FIGURES[f"T2.ours_gflops@{_n}"] = (
        lambda r, k=f"T2/torch@{_n}": f"{T2_FLOP / r[k]['ours_ms'] / 1e6:.0f}", [f"T2/torch@{_n}"])
    FIGURES[f"T2.torch_gflops@{_n}"] = (
        lambda r, k=f"T2/torch@{_n}": f"{T2_FLOP / r[k]['torch_ms'] / 1e6:.0f}", [f"T2/torch@{_n}"])
    # GFLOP/s ours / PyTorch's (the inverse of the time ratio).
    FIGURES[f"T2.gflops_vs_torch@{_n}"] = (
        lambda r, k=f"T2/torch@{_n}": f"{r[k]['torch_ms'] / r[k]['ours_ms']:.2f}", [f"T2/torch@{_n}"])


def value(name: str, raw: dict) -> str:
    """A figure's text, or the machine / date / command of the measurements
    a figure came from (`machine:T1.step_us`, `date:T1.step_us`, ...)."""
    kind, _, fig = name.rpartition(":")
    if fig not in FIGURES:
        raise KeyError(f"unknown figure {fig!r}")
    f, keys = FIGURES[fig]
    if kind:
        vals = sorted({raw[k][kind] for k in keys})
        return " and ".join(vals)
    return f(raw)


def render(check: bool) -> list:
    raw = load()["raw"]
    stale = []
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for path in paths:
        text = path.read_text()

        def fill(m: re.Match) -> str:
            name = m.group("name")
            try:
                want = value(name, raw)
            except KeyError as e:
                stale.append(f"{path.relative_to(ROOT)}: {e}")
                return m.group(0)
            if want != m.group("body"):
                stale.append(f"{path.relative_to(ROOT)}: {m.group('name')} is "
                             f"{m.group('body')!r}, docs/figures.json says {want!r}")
            return m.group(1) + want + m.group(4)

        new = MARK.sub(fill, text)
        if not check and new != text:
            path.write_text(new)
    return stale


def main() -> None:
    cmd = sys.argv[1] if len(sys.argv) > 1 else "--help"
    if cmd == "measure":
        measure(run=True)
        render(check=False)
    elif cmd == "collect":
        measure(run=False)
        render(check=False)
    elif cmd == "render":
        render(check=False)
    elif cmd == "check":
        stale = render(check=True)
        if stale:
            sys.exit("figures: quoted figures differ from docs/figures.json "
                     "(run `python3 tools/figures.py render`):\n  " + "\n  ".join(stale))
        print("figures: every quoted figure matches docs/figures.json")
    else:
        print(__doc__)


if __name__ == "__main__":
    main()
