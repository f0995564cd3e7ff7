"""`make bench`: timings of plain pytest, pytest with the plugin, and the
oracle (plain pytest given only the files that hold the selected tests) on a
generated suite, medians of interleaved runs with min-max and peak RSS.
Writes a Markdown table (docs/benchmarks.md by default) and JSON.

Every plugin run's selection is checked against the plain run's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gen_suite import generate  # noqa: E402


def run(root: Path, args: list[str]) -> tuple[float, int, str]:
    """Wall time, peak RSS (KiB) of this pytest process alone (wait4), and its output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *args], cwd=root,
                                stdout=out, stderr=err, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if proc.returncode not in (0, 5):
        sys.exit(f"pytest {args} failed ({proc.returncode}):\n{text[-2000:]}\n{errors[-2000:]}")
    return elapsed, usage.ru_maxrss, text


def outcome(out: str) -> str:
    m = re.search(r"(\d+) (passed|tests? collected)", out)
    n = re.search(r"(\d+)/(\d+) tests collected", out)
    if n:
        return n.group(1)
    return m.group(1) if m else "0"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=1200)
    ap.add_argument("--tests-per-file", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--root", type=Path, default=HERE.parent / "build" / "bench-suite")
    ap.add_argument("--markdown", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    ap.add_argument("--json", type=Path, default=HERE.parent / "docs" / "results" / "bench.json")
    args = ap.parse_args()
    root: Path = args.root
    marker = root / f".generated-{args.files}x{args.tests_per_file}"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        generate(root, args.files, args.tests_per_file)
        marker.write_text("")
    target = "test_f0777_3"
    target_file = next(str(p.relative_to(root)) for p in (root / "tests").rglob("test_mod0777.py"))
    # (name, plain args, plugin args, oracle args or None)
    scenarios = [
        ("narrow -k (one function)", ["-k", target], [target_file, "-k", target]),
        ("broad -k (one package, 40 files)", ["-k", "pkg003"], ["tests/pkg003", "-k", "pkg003"]),
        ("-k 'not X' (most tests)", ["-k", "not test_f0001"], None),
        ("-m network", ["-m", "network"], None),
        ("no filter (--co)", ["--co"], None),
    ]
    results: dict = {}
    for rnd in range(args.rounds):
        for name, fargs, oracle in scenarios:
            variants = [("plain", ["--no-fast-collect", *fargs]), ("plugin", fargs)]
            if fargs[0] != "--co":
                variants.append(("plugin cold", ["--cache-clear", *fargs]))
            if oracle:
                variants.append(("oracle", ["--no-fast-collect", *oracle]))
            if rnd == 0:
                run(root, fargs)  # warm the index for this filter
            for label, a in variants:
                t, rss, out = run(root, a)
                r = results.setdefault(name, {}).setdefault(label, {"times": [], "rss": [], "selected": set()})
                r["times"].append(t)
                r["rss"].append(rss)
                r["selected"].add(outcome(out))
                if label == "plugin cold":
                    run(root, fargs)  # leave a warm index for the next warm run
        print(f"round {rnd + 1}/{args.rounds} done", flush=True)
    rows = []
    for name, _, _ in scenarios:
        res = results[name]
        plain_sel = res["plain"]["selected"]
        for label, r in res.items():
            if label != "oracle" and r["selected"] != plain_sel:
                sys.exit(f"{name}: {label} selected {r['selected']} but plain selected {plain_sel}")
        plain_med = statistics.median(res["plain"]["times"])
        for label, r in res.items():
            med = statistics.median(r["times"])
            rows.append({"scenario": name, "run": label, "median_s": round(med, 3), "min_s": round(min(r["times"]), 3),
                         "max_s": round(max(r["times"]), 3), "peak_rss_mib": round(max(r["rss"]) / 1024, 1),
                         "vs_plain": round(plain_med / med, 2), "selected": sorted(r["selected"])})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))
    write_markdown(args, rows)
    for r in rows:
        print(f"{r['scenario']:36s} {r['run']:12s} {r['median_s']:8.3f} s  ({r['min_s']:.3f}-{r['max_s']:.3f})  "
              f"{r['vs_plain']:6.2f}x  {r['peak_rss_mib']:7.1f} MiB  selected {r['selected']}")


def write_markdown(args: argparse.Namespace, rows: list) -> None:
    import pytest

    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`benchmarks/bench.py`) on {time.strftime('%Y-%m-%d')}: "
        f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, pytest {pytest.__version__}.",
        "",
        f"Suite: `benchmarks/gen_suite.py`, {args.files} files x {args.tests_per_file} tests "
        f"(about {args.files * args.tests_per_file} tests) in packages of 40 files; every module imports a "
        "helper that costs about 0.1 s once per process. Each cell: median of "
        f"{args.rounds} interleaved runs (min-max), peak RSS of the pytest process.",
        "",
        "- *plain*: `pytest --no-fast-collect ARGS`; *plugin*: warm index; *plugin cold*: `--cache-clear`;",
        "  *oracle*: plain pytest given only the file(s) holding the selected tests.",
        "- Every plugin run selected the same number of tests as the plain run (checked by the harness).",
        "",
        "| scenario | run | median s | min-max s | vs plain | peak RSS MiB | selected |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['scenario']} | {r['run']} | {r['median_s']:.3f} | {r['min_s']:.3f}-{r['max_s']:.3f} | "
                     f"{r['vs_plain']:.2f}x | {'-' if r['peak_rss_mib'] is None else r['peak_rss_mib']} | "
                     f"{', '.join(r['selected'])} |")
    extra = args.markdown.with_name("benchmarks-notes.md")
    if extra.exists():
        lines += ["", extra.read_text().rstrip()]
    args.markdown.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
