"""Warm narrow runs against the oracle, on installed real suites.

The oracle is plain pytest given exactly the test modules that hold the
selected tests (`--no-fast-collect --pyargs PKG.sub.test_mod ...`), from the
same empty directory, so with the same (no) ini file and the same conftests:
what any selective collector could at best do. The plugin runs as a user runs
it, `pytest --pyargs PKG -k EXPR` from an empty directory, after one learning
run and one warm-up run. Both are `--co -q`, timed end to end, rounds
interleaved; medians. Both must select the tests plain pytest selects (an
oracle given the files by path and `--rootdir PKG` read the package's own ini
file instead: statsmodels' names an option of a plugin not installed, a usage
error that took 1 s).

    python benchmarks/bench_oracle.py --python build/venv-real/bin/python \\
        --json docs/results/oracle-warm.json [--rounds 5] [--suites pandas,sklearn]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "real"))

from verify_real import ids_from, report_counts  # noqa: E402

# suite -> (package, narrow expression): the expressions.
CASES: Dict[str, Tuple[str, str]] = {
    "pandas": ("pandas", "test_maybe_cast_slice_bound_invalid_str"),
    "astropy": ("astropy", "test_frame_attr_transform_inherit"),
    "sklearn": ("sklearn", "test_lasso_path"),
    "statsmodels": ("statsmodels", "test_ljungbox"),
}


# Bytecode caches on, as on a developer's machine (bench.py, edit_loop.py):
# without them pytest's rewriter rewrites every plugin's package in every run
# (hypothesis: ~1 s), which both sides pay and which hides the difference.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(py: str, args: List[str], cwd: Path) -> Tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run([py, "-m", "pytest", "-p", "no:randomly", "-p", "no:xdist", *args], cwd=cwd,
                         capture_output=True, text=True, timeout=3600, env=ENV).stdout
    return time.perf_counter() - t, out


def package_dir(py: str, package: str) -> str:
    code = f"import os, {package} as p; print(os.path.dirname(p.__file__))"
    return subprocess.run([py, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def bench_suite(py: str, name: str, rounds: int) -> dict:
    package, expr = CASES[name]
    work = Path(tempfile.mkdtemp(prefix=f"fc-oracle-{name}-"))
    base = package_dir(py, package)
    _, plain = timed(py, ["--pyargs", package, "--no-fast-collect", "--co", "-q", "-k", expr], work)
    want = ids_from(plain)
    if not want:
        sys.exit(f"{name}: -k {expr} selects nothing")
    files = sorted({i.partition("::")[0] for i in want})
    modules = [".".join([package, *f[:-len(".py")].split("/")]) for f in files]
    plugin_args = ["--pyargs", package, "--co", "-q", "-k", expr]
    oracle_args = ["--no-fast-collect", "--co", "-q", "-k", expr, "--pyargs", *modules]
    timed(py, ["--pyargs", package, "--co", "-q", "-k", "zzz_fastcollect_learning_run"], work)
    _, warm = timed(py, plugin_args, work)  # fills the decision cache
    times: Dict[str, List[float]] = {"plugin": [], "oracle": []}
    line = ""
    for _ in range(rounds):
        for col, args in (("plugin", plugin_args), ("oracle", oracle_args)):
            seconds, out = timed(py, args, work)
            got = ids_from(out)
            if col == "plugin":
                line = next((x for x in out.splitlines() if x.startswith("fastcollect:")), "")
                if sorted(got) != sorted(want):
                    sys.exit(f"{name}: the plugin selected {len(got)} tests, plain pytest {len(want)}")
            elif sorted(i.partition("::")[2] for i in got) != sorted(i.partition("::")[2] for i in want):
                sys.exit(f"{name}: the oracle selected {len(got)} tests, plain pytest {len(want)}")
            times[col].append(seconds)
    plugin, oracle = statistics.median(times["plugin"]), statistics.median(times["oracle"])
    return {"suite": name, "expression": expr, "selected": len(want), "files": len(files),
            "plugin_s": round(plugin, 3), "oracle_s": round(oracle, 3), "over_oracle": round(plugin / oracle, 3),
            "plugin_runs": [round(t, 3) for t in times["plugin"]], "oracle_runs": [round(t, 3) for t in times["oracle"]],
            "report": line, **{k: v for k, v in report_counts(line).items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--suites", default=",".join(CASES))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    start = time.perf_counter()
    rows = []
    for name in args.suites.split(","):
        row = bench_suite(os.path.abspath(args.python), name, args.rounds)
        print(json.dumps({k: v for k, v in row.items() if not k.endswith("_runs")}), flush=True)
        rows.append(row)
    meta = {"date": time.strftime("%Y-%m-%d"), "rounds": args.rounds, "cores": os.cpu_count(),
            "minutes": round((time.perf_counter() - start) / 60, 1),
            "command": "python " + " ".join(["benchmarks/bench_oracle.py", *sys.argv[1:]])}
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
