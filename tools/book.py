"""Regenerates every program output quoted in the book (docs/*.md).

A chapter marks an output block like this:

    <!-- output: cargo run -q --example wengert -- --xor -->
    ```text
    ...what the command prints...
    ```
    <!-- end output -->

`python3 tools/book.py` runs each command from the repository root and
writes its output between the markers; `python3 tools/book.py --check`
changes nothing and fails if any quoted output differs from what the
command prints now (.ci/run runs the check). Only deterministic programs
are quoted this way; timings are quoted from docs/performance.md, and the
headline speed figures of README.md and docs/ from docs/figures.json
(tools/figures.py), which `--check` also compares.

Timings cannot be checked, only refreshed: a block marked
`<!-- timing: CMD -->` ... `<!-- end timing -->` holds a table a program
measured (as Markdown, not in a code fence). `python3 tools/book.py
--timings` reruns those programs and rewrites the blocks, each followed by
a line naming the machine (CPU model and cores, from /proc/cpuinfo), the
date and the command, so a figure never loses where it came from;
`--check` leaves them alone.

`python3 tools/book.py --pictures` also redraws the book's pictures in
docs/pictures/: the tapes as graphs (the examples print Graphviz DOT, and
Graphviz's `dot -Tsvg` renders it: `apt-get install graphviz`), the tapes
as interactive pages with screenshots of them (headless Chromium:
`apt-get install chromium`), the digits curves and the moons decision
boundary (SVG written by the examples).
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import figures  # noqa: E402  (tools/figures.py: the figures' single source)
TIMING = re.compile(
    r"(<!-- timing: (?P<cmd>.+?) -->\n)(?P<body>.*?)(<!-- end timing -->)",
    re.S,
)
BLOCK = re.compile(
    r"(<!-- output: (?P<cmd>.+?) -->\n```text\n)(?P<body>.*?)(```\n<!-- end output -->)",
    re.S,
)


def machine() -> str:
    """The CPU model, cores and SIMD level, as the timing blocks name them
    (the same words docs/figures.json records)."""
    try:
        return figures.machine()
    except (OSError, StopIteration):
        import platform
        return platform.processor() or platform.machine()


def stamp(cmd: str) -> str:
    import datetime
    return f"\n*Measured on {machine()}, {datetime.date.today()}:* `` {cmd} ``\n"


def run(cmd: str) -> str:
    out = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"book: `{cmd}` failed:\n{out.stderr}")
    return out.stdout if out.stdout.endswith("\n") else out.stdout + "\n"


PICTURES = [
    ("cargo run -q --example wengert -- --dot", "dot", "tape_fxy.svg"),
    ("cargo run -q --example wengert -- --xor --dot", "dot", "tape_xor_row.svg"),
    # The interactive pages (chapter 2 links them) and screenshots of them
    # part-way through the reverse sweep (headless Chromium).
    ("cargo run -q --example wengert -- --html docs/pictures/tape_fxy.html", None, None),
    ("cargo run -q --example wengert -- --xor --html docs/pictures/tape_xor_row.html", None, None),
    ("tape_fxy.html#step=9", "chromium", "tape_fxy_page.png"),
    ("tape_xor_row.html#step=40", "chromium", "tape_xor_row_page.png"),
    ("cargo run -q --release --example digits -- --plot docs/pictures/digits_curves.svg", None, None),
    ("cargo run -q --release --example moons -- --plot docs/pictures/moons.svg", None, None),
]


def pictures() -> None:
    out_dir = ROOT / "docs" / "pictures"
    out_dir.mkdir(exist_ok=True)
    for cmd, renderer, name in PICTURES:
        if renderer == "chromium":
            page, _, step = cmd.partition("#")
            subprocess.run(
                ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                 "--user-data-dir=" + str(ROOT / "target" / "book-chromium"),
                 "--window-size=1300,720", "--screenshot=" + str(out_dir / name),
                 (out_dir / page).as_uri() + "#" + step],
                capture_output=True, check=True)
            continue
        text = run(cmd)
        if renderer == "dot":
            svg = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True,
                                 text=True, check=True).stdout
            (out_dir / name).write_text(svg)
    print(f"book: redrew the pictures in {out_dir.relative_to(ROOT)}")


def main() -> None:
    if "--pictures" in sys.argv:
        pictures()
    check = "--check" in sys.argv
    stale = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text()
        cache = {}

        def fill(m: re.Match) -> str:
            cmd = m.group("cmd")
            if cmd not in cache:
                cache[cmd] = run(cmd)
            if cache[cmd] != m.group("body"):
                stale.append(f"{path.relative_to(ROOT)}: {cmd}")
            return m.group(1) + cache[cmd] + m.group(4)

        new = BLOCK.sub(fill, text)
        if "--timings" in sys.argv and not check:
            new = TIMING.sub(
                lambda m: m.group(1) + run(m.group("cmd")) + stamp(m.group("cmd")) + m.group(4),
                new,
            )
        if not check and new != text:
            path.write_text(new)
    # Speed figures quoted in README.md and docs/ come from docs/figures.json
    # (tools/figures.py): checked, or rewritten, with the outputs.
    stale_figures = figures.render(check)
    if check and stale_figures:
        stale += stale_figures
    if check and stale:
        sys.exit("book: quoted output or figures differ from their source "
                 "(run `python3 tools/book.py`):\n  " + "\n  ".join(stale))
    print(f"book: {'checked' if check else 'regenerated'} the quoted outputs"
          + (f" ({len(stale)} updated)" if stale and not check else ""))


if __name__ == "__main__":
    main()
