"""Runs from alternating environments and by path, as a developer's day has them (issue 25).

"A full relearn with nothing changed" was seen twice on pandas and statsmodels
(`--pyargs`, narrow `-k`), after runs from two environments (with and without
PYTHONDONTWRITEBYTECODE=1) and a run of one test file by path. This replays
such a sequence from one empty directory: after the first (learning) run of
each kind, every run must be decided by learned items, and every run selects
what plain pytest selects.

    python benchmarks/alternating_runs.py --python build/venv-real/bin/python --package pandas \\
        -k test_maybe_cast_slice_bound_invalid_str --file pandas/tests/indexes/timedeltas/test_indexing.py \\
        --json docs/results/alternating-pandas.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "real"))

from verify_real import ids_from, report_counts  # noqa: E402

REPORT = re.compile(r"^fastcollect: .*$", re.M)
NOT_USED = re.compile(r"^learned items not used: (.*)$", re.M)
LEARNED_NOW = re.compile(r"^learned the items of (\d+) test files", re.M)
BASE = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENVIRONMENTS = {"A": BASE, "B": {**BASE, "PYTHONDONTWRITEBYTECODE": "1"}}
# A: suite from environment A, B: from B, P:<env>: the one file by path. A run relearned when it
# recorded items ("learned the items of N test files" in its explain section).
SEQUENCE = ["A", "B", "A", "P:A", "B", "A", "P:B", "A", "B", "P:A", "A", "B", "A"]


def collect(python: str, cwd: Path, args: List[str], env: str, plain: bool) -> Tuple[float, dict]:
    cmd = [python, "-m", "pytest", "-p", "no:randomly", "--co", "-q", *args,
           "--no-fast-collect" if plain else "--fast-collect-explain"]
    begin = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=ENVIRONMENTS[env], capture_output=True, text=True, timeout=3600).stdout
    line = REPORT.search(out)
    why = NOT_USED.search(out)
    learned = LEARNED_NOW.search(out)
    return time.perf_counter() - begin, {"ids": ids_from(out), "report": line.group(0) if line else "",
                                         "not_used": why.group(1) if why else None,
                                         "learned_now": int(learned.group(1)) if learned else 0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", required=True)
    ap.add_argument("--package", required=True)
    ap.add_argument("-k", required=True)
    ap.add_argument("--file", required=True, help="a test file of the package, relative to site-packages")
    ap.add_argument("--path-arg", action="append", default=[],
                    help="an argument for the by-path runs only (statsmodels' own pyproject.toml asks for "
                         "pytest-randomly: --path-arg=-oaddopts=)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    python = os.path.abspath(args.python)
    code = "import os, pytest; print(os.path.dirname(os.path.dirname(pytest.__file__)))"
    site = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    cwd = Path(tempfile.mkdtemp(prefix="fc-alternating-"))
    kinds: Dict[str, List[str]] = {"suite": ["--pyargs", args.package, "-k", args.k],
                                   "path": [os.path.join(site, args.file), "-k", args.k, *args.path_arg]}
    plain = {kind: collect(python, cwd, a, "A", plain=True)[1]["ids"] for kind, a in kinds.items()}
    rows = []
    for n, step in enumerate(SEQUENCE):
        kind, env = ("path", step[2:]) if step.startswith("P:") else ("suite", step)
        seconds, got = collect(python, cwd, kinds[kind], env, plain=False)
        counts = report_counts(got["report"])
        first = all(r["kind"] != kind for r in rows)  # the first run of each kind learns
        rows.append({"step": n, "kind": kind, "environment": env, "seconds": round(seconds, 3),
                     "exact": got["ids"] == plain[kind], "selected": len(plain[kind]),
                     "imported": counts["imported"], "total": counts["total"], "learned": counts["learned"],
                     "learning_run": first, "learned_now": got["learned_now"], "not_used": got["not_used"],
                     "report": got["report"]})
        r = rows[-1]
        print(f"{n:2d} {kind:5s} env {env} {seconds:6.2f}s exact={r['exact']} imported {r['imported']} of "
              f"{r['total']}, {r['learned']} decided by learned items, learned {r['learned_now']}"
              f"{'' if r['not_used'] is None else ' - not used: ' + r['not_used']}", flush=True)
    later = [r for r in rows if not r["learning_run"]]
    result = {"command": "python benchmarks/alternating_runs.py " + " ".join(sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d"), "package": args.package, "expr": args.k, "file": args.file,
              "runs": len(rows), "exact": all(r["exact"] for r in rows),
              "relearned": sum(1 for r in later if r["learned_now"]), "rows": rows}
    print(f"{len(later)} runs after the learning ones: {result['relearned']} relearned; "
          f"exact: {result['exact']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
