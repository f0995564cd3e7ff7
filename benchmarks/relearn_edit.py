"""The learning run after a module-level edit, in one process and on workers (issue 26).

An installed package's file that every test module's collection depends on
(pandas' root conftest.py) gets a module-level statement that runs code (a
call: part of every learned record's key) before each plugin run, so each
such run relearns the suite; plain pytest is timed beside them. Interleaved
rounds, medians; the file is restored at the end.

    python benchmarks/relearn_edit.py --python build/venv-real/bin/python --file pandas/conftest.py \\
        -k test_maybe_cast_slice_bound_invalid_str --json docs/results/relearn-edit-pandas.json -- --pyargs pandas
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(python: str, args: List[str], cwd: Path) -> Tuple[float, str]:
    begin = time.perf_counter()
    out = subprocess.run([python, "-m", "pytest", "-p", "no:randomly", "--co", "-q", *args], cwd=cwd, env=ENV,
                         capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - begin, out.stdout


def report(out: str) -> List[str]:
    return [line for line in out.splitlines() if line.startswith("fastcollect:")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", required=True)
    ap.add_argument("--file", required=True, help="the file to edit, relative to site-packages")
    ap.add_argument("-k", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("suite", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    args.python = os.path.abspath(args.python)  # (a venv's python: not resolved)
    suite = [a for a in args.suite if a != "--"]
    code = "import os, pytest; print(os.path.dirname(os.path.dirname(pytest.__file__)))"
    site = Path(subprocess.run([args.python, "-c", code], capture_output=True, text=True, check=True).stdout.strip())
    edited = site / args.file
    original = edited.read_text()
    work = Path(tempfile.mkdtemp(prefix="fc-relearn-"))
    common = [*suite, "-k", args.k]
    columns = {"plain": ["--no-fast-collect"], "one process": [],
               f"{args.workers} workers": ["--fast-collect-workers", str(args.workers)]}
    walls: Dict[str, List[float]] = {c: [] for c in columns}
    lines: Dict[str, List[str]] = {}
    start = time.perf_counter()
    try:
        run(args.python, common, work)  # the learning run the edits then invalidate
        edits = 0
        for _ in range(args.rounds):
            for column, extra in columns.items():
                if extra != ["--no-fast-collect"]:
                    edits += 1
                    edited.write_text(original + f"\n_FASTCOLLECT_EDIT_{edits} = str({edits})\n")
                wall, out = run(args.python, [*common, *extra], work)
                walls[column].append(round(wall, 2))
                lines[column] = report(out)
                print(column, round(wall, 1), lines[column], flush=True)
    finally:
        edited.write_text(original)
    plain = statistics.median(walls["plain"])
    rows = [{"column": c, "median_s": statistics.median(w), "runs": w, "vs_plain": round(plain / statistics.median(w), 3),
             "report": lines[c]} for c, w in walls.items()]
    result = {"date": time.strftime("%Y-%m-%d"), "rounds": args.rounds, "file": args.file, "expression": args.k,
              "minutes": round((time.perf_counter() - start) / 60, 1),
              "command": "python " + " ".join(["benchmarks/relearn_edit.py", *sys.argv[1:]]), "rows": rows}
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    # A kill (SIGTERM) ends it as Ctrl-C does: the edited file is restored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
