"""Checks the declared minimum Rust version (`rust-version` in Cargo.toml)
without a second toolchain: every package the workspace builds for this
machine (its own and every dependency in Cargo.lock's resolution, dev and
build dependencies included) must declare a `rust-version` no newer than
the workspace's. Together with clippy's `incompatible_msrv` lint (on by
default, reading the same `rust-version`), which flags standard-library
items newer than it in our own code, this is what `.ci/run` checks. What it
cannot check: language features newer than the MSRV in our code, and
dependencies that declare no `rust-version` (listed, not failed).

Usage: python3 tools/msrv_check.py   (standard library only)
"""
import json
import subprocess
import sys


def version(v):
    return tuple(int(x) for x in v.split(".")) + (0,) * (3 - len(v.split(".")))


host = next(
    line.split(": ", 1)[1]
    for line in subprocess.check_output(["rustc", "-vV"], text=True).splitlines()
    if line.startswith("host: ")
)
meta = json.loads(
    subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--all-features", "--filter-platform", host],
        text=True,
    )
)
by_id = {p["id"]: p for p in meta["packages"]}
built = [by_id[n["id"]] for n in meta["resolve"]["nodes"]]
ours = [by_id[i] for i in meta["workspace_members"]]
msrv = {p["rust_version"] for p in ours}
if len(msrv) != 1 or None in msrv:
    sys.exit(f"msrv_check: the workspace's packages declare {sorted(map(str, msrv))}: want one rust-version")
msrv = msrv.pop()
newer = [p for p in built if p.get("rust_version") and version(p["rust_version"]) > version(msrv)]
undeclared = sorted(p["name"] for p in built if not p.get("rust_version"))
highest = sorted(
    (p for p in built if p.get("rust_version") and p not in ours),
    key=lambda p: version(p["rust_version"]),
    reverse=True,
)[:3]
print(
    f"msrv_check: rust-version {msrv}; {len(built)} packages built for {host}; "
    f"highest among dependencies: "
    + ", ".join(f"{p['name']} {p['version']} ({p['rust_version']})" for p in highest)
)
if undeclared:
    print(f"msrv_check: {len(undeclared)} dependencies declare no rust-version: {', '.join(undeclared)}")
if newer:
    for p in newer:
        print(f"msrv_check: {p['name']} {p['version']} needs Rust {p['rust_version']} > {msrv}")
    sys.exit(1)
