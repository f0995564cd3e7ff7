"""Narrow -k on the generated suite in its "real" shape (issue #13): test
modules import the project package by name, relatively and fixtures from a
helper module, so the static model must resolve imported names.

Each round runs, in a fresh process each and in turn: plain pytest
(`--no-fast-collect`), the plugin after `--cache-clear` (cold: empty index,
nothing learned), and the plugin again (warm). Selections must be identical.
Writes the medians (and every run) as JSON.

    python benchmarks/bench_imports.py ROOT -k test_f0777_3 --rounds 5 \
        --out docs/results/bench-real-shape.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple


def run(python: str, root: Path, args: List[str]) -> Tuple[float, List[str], str]:
    cmd = [python, "-m", "pytest", "--co", "-q", "-p", "no:randomly", "-p", "no:xdist", *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - start
    ids = [line for line in proc.stdout.splitlines() if "::" in line and not line.startswith("fastcollect")]
    report = next((line for line in proc.stdout.splitlines() if line.startswith("fastcollect: imported")), "")
    if proc.returncode not in (0, 5):
        raise SystemExit(f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, ids, report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", type=Path)
    ap.add_argument("-k", dest="keyword", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    k = ["-k", args.keyword]
    modes: Dict[str, List[str]] = {
        "plain": ["--no-fast-collect", *k],
        "plugin cold": ["--cache-clear", *k],
        "plugin warm": k,
    }
    times: Dict[str, List[float]] = {m: [] for m in modes}
    reports: Dict[str, str] = {}
    reference: List[str] = []
    for r in range(args.rounds):
        for mode, extra in modes.items():
            elapsed, ids, report = run(args.python, args.root, extra)
            if mode == "plain":
                reference = reference or ids
            if ids != reference:
                raise SystemExit(f"round {r}, {mode}: selection differs from plain pytest:\n{ids}\n{reference}")
            times[mode].append(round(elapsed, 3))
            if report:
                reports[mode] = report
            print(f"round {r} {mode:12s} {elapsed:7.3f}s {report}", flush=True)
    med = {m: statistics.median(v) for m, v in times.items()}
    result = {
        "command": "python -m pytest --co -q -p no:randomly -p no:xdist -k K "
                   "(plain: --no-fast-collect; cold: --cache-clear)",
        "suite": f"benchmarks/gen_suite.py ROOT --files 1200 --tests-per-file 40 --shape real",
        "keyword": args.keyword,
        "selected": len(reference),
        "rounds": args.rounds,
        "median_s": med,
        "runs_s": times,
        "speedup": {m: round(med["plain"] / med[m], 1) for m in modes if m != "plain"},
        "reports": reports,
    }
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
