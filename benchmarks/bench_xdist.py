"""pytest-xdist timings: `pytest -n 2 -k NAME` plain and with the plugin.

Every run uses xdist (never a run without it, so whatever the plugin knows was
learned on a worker): after `--cache-clear`, plain pytest (`--no-fast-collect`)
`--plain-rounds` times, then the plugin three times with the same filter:
first (nothing learned: the recording worker learns), second (decided by what
the first learned), third (the same query again: the decision cache).
pytest-xdist does not distribute `--collect-only`, so the tests run; every
run's node IDs and outcomes (`-v`) must equal plain pytest's.

    python benchmarks/bench_xdist.py --python VENV/bin/python --suite generated --root /tmp/gen \\
        --json docs/results/xdist.json
    python benchmarks/bench_xdist.py --python VENV/bin/python --suite pandas --json docs/results/xdist.json

Each invocation replaces its suite's row in the JSON file.
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
from typing import Any, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
OUTCOME = re.compile(r"^\[gw\d+\] \[\s*\d+%\] (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)")
REPORT = re.compile(r"^fastcollect: imported .*$", re.M)

SUITES: Dict[str, Dict[str, Any]] = {
    "generated": {
        "description": "generated suite, 1,200 modules x 40 tests, from-import shape "
                       "(`benchmarks/gen_suite.py ROOT --files 1200 --tests-per-file 40 --shape real`)",
        "args": [],
        "k": "test_f0961_18",
    },
    "pandas": {
        "description": "pandas' whole installed suite, `--pyargs pandas`",
        "args": ["--pyargs", "pandas"],
        "k": "test_maybe_cast_slice_bound_invalid_str",
    },
}


def run(python: str, cwd: Path, args: List[str]) -> Tuple[float, List[str], str, int]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("PYTEST_XDIST")}
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        code = subprocess.call([python, "-m", "pytest", "-n", "2", "-p", "no:randomly", "-v", *args], cwd=cwd,
                               stdout=out, stderr=subprocess.STDOUT, env=env)
        elapsed = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    outcomes = sorted(f"{m.group(1)} {m.group(2)}" for m in map(OUTCOME.match, text.splitlines()) if m)
    return elapsed, outcomes, text, code


def versions(python: str) -> Dict[str, str]:
    code = ("import importlib.metadata as m\n"
            "for d in ('pytest', 'pytest-xdist', 'pytest-fastcollect', 'pandas', 'numpy'):\n"
            "    try: print(d, m.version(d))\n"
            "    except Exception: pass\n")
    text = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--suite", choices=sorted(SUITES), required=True)
    ap.add_argument("--root", type=Path, help="where the generated suite is (made if missing)")
    ap.add_argument("--k", help="the -k expression (default: the suite's)")
    ap.add_argument("--plain-rounds", type=int, default=2)
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    suite = SUITES[args.suite]
    k = args.k or suite["k"]
    if args.suite == "generated":
        if args.root is None:
            sys.exit("--root is needed for the generated suite")
        if not args.root.exists():
            subprocess.run([args.python, str(HERE / "gen_suite.py"), str(args.root), "--files", "1200",
                            "--tests-per-file", "40", "--shape", "real"], check=True, stdout=subprocess.DEVNULL)
        # Bytecode first: else the first timed run alone pays for compiling 1,200 modules.
        subprocess.run([args.python, "-m", "compileall", "-q", str(args.root)], check=True, stdout=subprocess.DEVNULL)
        cwd = args.root
    else:
        cwd = Path(tempfile.mkdtemp(prefix="fc-xdist-"))
    started = time.perf_counter()
    base = [*suite["args"], "-k", k]
    shutil.rmtree(cwd / ".pytest_cache", ignore_errors=True)
    plain_s: List[float] = []
    plain_outcomes: List[str] = []
    for _ in range(args.plain_rounds):
        seconds, plain_outcomes, text, code = run(args.python, cwd, ["--no-fast-collect", *base])
        if code not in (0, 1):
            sys.exit(f"plain run failed ({code}):\n{text[-3000:]}")
        plain_s.append(seconds)
    plugin = []
    for label in ("first", "second", "third"):
        seconds, outcomes, text, code = run(args.python, cwd, base)
        report = REPORT.search(text)
        plugin.append({"run": label, "seconds": round(seconds, 2), "exit": code,
                       "same_as_plain": outcomes == plain_outcomes,
                       "report": report.group(0) if report else ""})
        print(f"{label}: {seconds:.2f} s, same as plain: {outcomes == plain_outcomes}, "
              f"{report.group(0) if report else 'no report line'}", file=sys.stderr)
    plain_median = statistics.median(plain_s)
    row = {
        "suite": args.suite,
        "description": suite["description"],
        "k": k,
        "selected": len(plain_outcomes),
        "plain_s": [round(s, 2) for s in plain_s],
        "plain_median_s": round(plain_median, 2),
        "plugin": plugin,
        "second_speedup": round(plain_median / plugin[1]["seconds"], 1),
        "versions": versions(args.python),
        "minutes": round((time.perf_counter() - started) / 60, 1),
    }
    data: Dict[str, Any] = json.loads(args.json.read_text()) if args.json.exists() else {}
    note = data.get("meta", {}).get("note")  # written by hand: the conditions of the runs
    data["meta"] = {
        "command": "python benchmarks/bench_xdist.py --suite SUITE --json docs/results/xdist.json",
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
        "runs": "all with -n 2 -p no:randomly -v (tests run: xdist does not distribute --collect-only); "
                "after --cache-clear: plain (--no-fast-collect) rounds, then the plugin first (learns on a "
                "worker), second, third (same query: decision cache)",
    }
    if note:
        data["meta"]["note"] = note
    rows = [r for r in data.get("rows", []) if r["suite"] != args.suite] + [row]
    data["rows"] = sorted(rows, key=lambda r: r["suite"])
    args.json.write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
