"""The plugin of an earlier commit against today's, on runs that must not get slower.

Issue 26 added learning workers; with the default (no workers) and with
workers asked for, runs that have little or nothing to learn must stay as
fast as before (no worker starts). Three scenarios on an installed package
(`--pyargs`, `--co -q`), each variant in its own working directory (its own
cache), interleaved rounds, medians:

- no filter: a subpackage collected whole (the plugin decides nothing);
- warm: a narrow `-k` on learned items;
- test-file edit: the same `-k` after a comment appended to one test module
  (a new content each run: that module is imported and learned again; the
  original is learned back after it, untimed).

The earlier plugin is `git archive REV pytest_fastcollect` with the native
core of the venv's installed plugin (refused when src/ changed since REV);
today's is the installed plugin itself. PYTHONPATH selects the tree.

    python benchmarks/plugin_ab.py --old 064eedc --python build/venv-real/bin/python \\
        --rounds 5 --json docs/results/plugin-ab-workers.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NARROW = ["--pyargs", "pandas", "--co", "-q", "-k", "test_maybe_cast_slice_bound_invalid_str"]
SCENARIOS = {"no filter": ["--pyargs", "pandas.tests.tslibs", "--co", "-q"], "warm": NARROW,
             "test-file edit": NARROW}
EDITED = "pandas/tests/util/test_shares_memory.py"  # (links to no other module)
# Bytecode caches on, as on a developer's machine (bench.py).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def site_packages(py: str) -> Path:
    code = "import os, pytest_fastcollect as p; print(os.path.dirname(os.path.dirname(p.__file__)))"
    return Path(subprocess.run([py, "-c", code], capture_output=True, text=True, check=True, cwd="/").stdout.strip())


def trees(py: str, old: str, work: Path) -> Dict[str, Path]:
    """PYTHONPATH entries holding each variant's pytest_fastcollect."""
    if subprocess.run(["git", "diff", "--quiet", old, "--", "src", "CMakeLists.txt"], cwd=REPO).returncode:
        sys.exit(f"src/ changed since {old}: its native core is not the installed one")
    installed = site_packages(py) / "pytest_fastcollect"
    out = {"before": work / "before", "today": work / "today"}
    out["before"].mkdir()
    archive = subprocess.run(["git", "archive", old, "pytest_fastcollect"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(out["before"])], input=archive.stdout, check=True)
    shutil.copytree(installed, out["today"] / "pytest_fastcollect")
    for core in installed.glob("_core*.so"):
        shutil.copy(core, out["before"] / "pytest_fastcollect")
    return out


def run(py: str, tree: Path, cwd: Path, args: List[str]) -> Tuple[float, str]:
    env = dict(ENV, PYTHONPATH=str(tree))
    t = time.perf_counter()
    p = subprocess.run([py, "-m", "pytest", "-p", "no:randomly", "-p", "no:xdist", *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - t, p.stdout


def report(out: str) -> List[str]:
    return [line for line in out.splitlines() if line.startswith("fastcollect:") or " collected" in line]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="the earlier commit")
    ap.add_argument("--python", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="a comma-separated subset")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    scenarios = {s: SCENARIOS[s] for s in args.scenarios.split(",")}
    py = os.path.abspath(args.python)
    work = Path(tempfile.mkdtemp(prefix="fc-ab-"))
    paths = trees(py, args.old, work)
    variants = {"before": (paths["before"], []), "today": (paths["today"], []),
                "today, 2 workers": (paths["today"], ["--fast-collect-workers", "2"])}
    edited = site_packages(py) / EDITED
    original = edited.read_text()
    start = time.perf_counter()
    times: Dict[Tuple[str, str], List[float]] = {(s, v): [] for s in scenarios for v in variants}
    lines: Dict[Tuple[str, str], List[str]] = {}
    try:
        for n, (name, (tree, extra)) in enumerate(variants.items()):
            cwd = work / f"run{n}"
            cwd.mkdir()
            if set(scenarios) == {"no filter"}:
                continue  # (nothing to learn)
            seconds, out = run(py, tree, cwd, [*extra, *NARROW[:-1], "zzz_fastcollect_learning_run"])
            print(f"{name}: learning run {seconds:.1f} s {report(out)}", flush=True)
        edits = 0
        for _ in range(args.rounds):
            for scenario, scenario_args in scenarios.items():
                for n, (name, (tree, extra)) in enumerate(variants.items()):
                    if scenario == "test-file edit":
                        edits += 1
                        edited.write_text(original + f"\n# edit {edits}\n")
                    seconds, out = run(py, tree, work / f"run{n}", [*extra, *scenario_args])
                    times[(scenario, name)].append(seconds)
                    lines[(scenario, name)] = report(out)
                    if scenario == "test-file edit":  # learned back, untimed: the next warm run is warm
                        edited.write_text(original)
                        run(py, tree, work / f"run{n}", [*extra, *scenario_args])
    finally:
        edited.write_text(original)
    rows = []
    for (scenario, name), ts in times.items():
        base = statistics.median(times[(scenario, "before")])
        rows.append({"scenario": scenario, "variant": name, "median_s": round(statistics.median(ts), 3),
                     "vs_before": round(statistics.median(ts) / base, 3), "runs": [round(t, 3) for t in ts],
                     "report": lines[(scenario, name)]})
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "runs"}), flush=True)
    meta = {"date": time.strftime("%Y-%m-%d"), "rounds": args.rounds, "old": args.old,
            "minutes": round((time.perf_counter() - start) / 60, 1),
            "command": "python " + " ".join(["benchmarks/plugin_ab.py", *sys.argv[1:]])}
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    # A kill (SIGTERM) ends it as Ctrl-C does: the edited file is restored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
