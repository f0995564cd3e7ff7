"""`make bench`: collection timings on generated and real suites.

Columns, each `pytest --co -q ARGS` in a fresh process:
  plain         pytest with fastcollect disabled (`-p no:fastcollect`)
  plugin        this plugin, warm index (same filter run before)
  plugin cold   this plugin after `--cache-clear`
  oracle        plain pytest given exactly the files that hold the selected tests
  earlier       the earlier implementation, pytest-fastcollect==0.5.2 from PyPI, in its own venv
  earlier cold  the same after `--cache-clear` (its cache lives in pytest's cache dir)
Scenarios: no filter, narrow -k (one test function), broad -k (about 10% of
the files), -k "not X", a -m marker expression. Every cell is the median of
--rounds interleaved runs with min-max and the process's peak RSS (wait4).
Selections are checked against plain pytest: this plugin must select the same
tests (the harness stops otherwise); a difference of the earlier
implementation is recorded and shown.

Writes docs/results/bench.json, docs/benchmarks.png (plot) and
docs/benchmarks.md (benchmarks/bench_docs.py: these tables, then the
notes with their figures filled from docs/results/*.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_docs import COLUMNS, page  # noqa: E402
from gen_suite import generate  # noqa: E402


@dataclass
class Suite:
    name: str
    description: str
    args: List[str]  # collection arguments (a generated suite: none, its testpaths)
    marker: str  # the -m scenario
    generated: Optional[Tuple[int, int]] = None  # files, tests per file
    package: Optional[str] = None  # installed package whose directory is the rootdir
    cwd: Path = field(default_factory=Path)

    def base(self, python: str) -> List[str]:
        """Collection arguments; an installed package's directory is the rootdir, so that
        its top conftest applies to a subpackage as it does in a whole run."""
        if not self.package:
            return list(self.args)
        code = f"import os, {self.package} as p; print(os.path.dirname(p.__file__))"
        pkgdir = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        return ["--rootdir", pkgdir, *self.args]


# Sizes fit `make bench` into 30 minutes on 2 cores; --full runs the full-size suites.
QUICK = {
    "synthetic-500": Suite("synthetic-500", "generated: 500 files x 4 tests, heavy helper import",
                           [], "network", (500, 4)),
    "synthetic-2000": Suite("synthetic-2000", "generated: 2,000 files x 2 tests, heavy helper import",
                            [], "network", (2000, 2)),
    "pandas": Suite("pandas", "pandas' installed tests, `--pyargs pandas.tests.indexes.datetimes`",
                    ["--pyargs", "pandas.tests.indexes.datetimes"], "slow", package="pandas"),
    "dask": Suite("dask", "dask's installed tests, `--pyargs dask.bag dask.dataframe.io`",
                  ["--pyargs", "dask.bag", "dask.dataframe.io"], "network", package="dask"),
    "networkx": Suite("networkx", "networkx's installed tests, `--pyargs networkx.generators`",
                      ["--pyargs", "networkx.generators"], "parametrize", package="networkx"),
    "numpy": Suite("numpy", "numpy's installed tests, `--pyargs numpy.lib`", ["--pyargs", "numpy.lib"], "slow",
                   package="numpy"),
}
FULL = {
    # The suite of issue #3's goals: 1,200 files / 48k tests whose modules import a heavy helper.
    "synthetic-1200": Suite("synthetic-1200", "generated: 1,200 files x 40 tests (48k), heavy helper import",
                            [], "network", (1200, 40)),
    "synthetic-500": Suite("synthetic-500", "generated: 500 files x 100 tests (50k), heavy helper import",
                           [], "network", (500, 100)),
    "synthetic-2000": Suite("synthetic-2000", "generated: 2,000 files x 25 tests (50k), heavy helper import",
                            [], "network", (2000, 25)),
    "pandas": Suite("pandas", "pandas' whole installed suite, `--pyargs pandas`", ["--pyargs", "pandas"],
                    "single_cpu", package="pandas"),
}

# `make bench` leaves out "earlier cold" to fit its 30 minutes; --columns brings it back.
DEFAULT_COLUMNS = [c for c in COLUMNS if c != "earlier cold"]
# Each cold run (after --cache-clear) rebuilds its cache; the warm run right after it finds it warm.
RUN_ORDER = ["plain", "plugin cold", "plugin", "oracle", "earlier cold", "earlier"]


@dataclass
class Result:
    seconds: float
    rss_kib: int
    selected: Optional[int]  # None: the run failed
    output: str


def pytest_run(python: str, cwd: Path, args: List[str], timeout: float = 1800) -> Result:
    """One pytest process: wall time, its own peak RSS (wait4), selected count."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        # Bytecode caches on, as on a developer's machine: the suite's first plain run writes them.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        proc = subprocess.Popen([python, "-m", "pytest", "--co", "-q", "-p", "no:randomly", *args], cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    selected = count_selected(text) if code in (0, 1, 2, 5) else None
    return Result(elapsed, usage.ru_maxrss, selected, text)


def count_selected(out: str) -> Optional[int]:
    m = re.search(r"(\d+)/\d+ tests? collected", out) or re.search(r"(\d+) tests? collected", out)
    if m:
        return int(m.group(1))
    return 0 if re.search(r"no tests collected", out) else None


def node_ids(out: str) -> List[str]:
    return [line for line in out.splitlines() if "::" in line and not line[:1].isspace()
            and not line.startswith(("ERROR", "FAILED"))]


def choose_scenarios(suite: Suite, ids: List[str], rng: random.Random) -> Dict[str, List[str]]:
    """Filters drawn from the suite's own node IDs."""
    by_func: Dict[str, set] = {}
    files: set = set()
    for nid in ids:
        path, _, rest = nid.partition("::")
        files.add(path)
        func = rest.split("::")[-1].split("[")[0]
        by_func.setdefault(func, set()).add(path)
    # Narrow: a function name defined in one file that is no substring of any other name.
    names = sorted(by_func)
    lowered = [n.lower() for n in names]
    singles = [n for n in names if len(by_func[n]) == 1 and re.fullmatch(r"test_\w+", n)
               and sum(n.lower() in other for other in lowered) == 1]
    rng.shuffle(singles)
    narrow = next(n for n in singles if not any(n.lower() in f.lower() for f in files))
    # Broad: a directory or module-name word whose -k match holds about 10% of the files.
    # -k matches substrings of every name in an item's chain, so count the files where the
    # word is part of the path or of any test id (a directory "datetimes" also matches "date").
    text_by_file: Dict[str, List[str]] = {}
    for nid in ids:
        path, _, rest = nid.partition("::")
        text_by_file.setdefault(path, [path]).append(rest)
    blobs = ["\n".join(parts).lower() for parts in text_by_file.values()]
    words = set()
    for path in files:
        parts = path.split("/")
        words.update(d for d in parts[:-1] if d not in ("tests", ".") and not d.startswith("."))
        words.update(w for w in parts[-1][:-3].split("_") if len(w) > 3 and w != "test")
    target = 0.1 * len(files)
    # A word reaches at least the files whose path holds it: rank by that, then count exactly.
    by_path = sorted(words, key=lambda w: (abs(sum(w.lower() in f.lower() for f in files) - target), w))
    broad = min(by_path[:30], key=lambda w: (abs(sum(w.lower() in b for b in blobs) - target), w))
    return {  # keys: SCENARIOS
        "no filter": [],
        "narrow -k": ["-k", narrow],
        "broad -k": ["-k", broad],
        "-k not X": ["-k", f"not {narrow}"],
        "-m marker": ["-m", suite.marker],
    }


SCENARIOS = ["no filter", "narrow -k", "broad -k", "-k not X", "-m marker"]


def oracle_args(rootdir: Path, ids: List[str], every_file: List[str], base: List[str]) -> List[str]:
    """Exactly the files that hold the selected tests: named one by one, or, when that is the shorter
    list, the suite's own arguments with the other files ignored (thousands of path arguments cost
    pytest seconds of argument handling that no selective collector pays)."""
    files = sorted({nid.partition("::")[0] for nid in ids})
    others = sorted(set(every_file) - set(files))
    if len(others) < len(files):
        return [*base, *(f"--ignore={rootdir / f}" for f in others)]
    return [str(rootdir / f) for f in files]


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="the full-size suites and all of pandas (hours)")
    ap.add_argument("--suites", help="comma-separated subset")
    ap.add_argument("--columns", help="comma-separated subset of: " + ", ".join(COLUMNS)
                    + " (default: all but 'earlier cold')")
    ap.add_argument("--scenarios", help="comma-separated subset of: " + ", ".join(SCENARIOS))
    ap.add_argument("--python", default=str(ROOT / "build" / "venv-real" / "bin" / "python"),
                    help="venv with pytest, this plugin and the real suites")
    ap.add_argument("--earlier-python", default=str(ROOT / "build" / "venv-old" / "bin" / "python"),
                    help="venv with pytest-fastcollect==0.5.2 and the real suites")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "bench")
    ap.add_argument("--markdown", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "bench.json")
    ap.add_argument("--render-only", action="store_true", help="rewrite the Markdown and plot from --json")
    return ap.parse_args()


def prepare(suite: "Suite", args: argparse.Namespace) -> Path:
    """The suite's working directory (a generated suite is written once)."""
    work = args.work / suite.name
    work.mkdir(parents=True, exist_ok=True)
    if suite.generated:
        files, per = suite.generated
        root = work / "suite"
        marker = root / f".generated-{files}x{per}"
        if not marker.exists():
            shutil.rmtree(root, ignore_errors=True)
            generate(root, files, per)
            marker.write_text("")
        suite.cwd = root
    else:
        suite.cwd = work
    return work


def plan_suite(suite: "Suite", args: argparse.Namespace) -> list:
    """Per scenario: (suite, scenario, filter, commands per column, rootdir, every file, base arguments)."""
    work = prepare(suite, args)
    ours, theirs = suite.base(args.python), suite.base(args.earlier_python)
    plain_base = ["-p", "no:fastcollect", *ours]
    everything = pytest_run(args.python, suite.cwd, plain_base)
    ids = node_ids(everything.output)
    if not ids:
        sys.exit(f"{suite.name}: plain collection found nothing:\n{everything.output[-2000:]}")
    # The rootdir is given (--rootdir) for a package, and holds pytest.ini for a generated suite.
    rootdir = Path(ours[1]) if suite.package else suite.cwd
    every_file = sorted({nid.partition("::")[0] for nid in ids})
    scenarios = choose_scenarios(suite, ids, random.Random(suite.name))
    if args.scenarios:
        scenarios = {k: v for k, v in scenarios.items() if k in args.scenarios.split(",")}
    plans = []
    for scen, filt in scenarios.items():
        cmds: Dict[str, Tuple[str, List[str]]] = {
            "plain": (args.python, [*plain_base, *filt]),
            "plugin": (args.python, ["-o", f"cache_dir={work / 'cache-plugin'}", *ours, *filt]),
            "plugin cold": (args.python, ["-o", f"cache_dir={work / 'cache-plugin'}", "--cache-clear",
                                          *ours, *filt]),
            "earlier": (args.earlier_python, ["-o", f"cache_dir={work / 'cache-earlier'}", *theirs, *filt]),
            "earlier cold": (args.earlier_python, ["-o", f"cache_dir={work / 'cache-earlier'}", "--cache-clear",
                                                   *theirs, *filt]),
        }
        if not filt:
            del cmds["plugin cold"]  # without a filter the plugin does nothing, cold or warm
        if filt:
            cmds["oracle"] = (args.python, [])  # its files come from the first plain run
        wanted = args.columns.split(",") if args.columns else DEFAULT_COLUMNS
        cmds = {k: v for k, v in cmds.items() if k in wanted}
        plans.append((suite, scen, filt, cmds, rootdir, every_file, ours))
    print(f"{suite.name}: {len(ids)} tests; scenarios {scenarios}", flush=True)
    return plans


def run_plan(args: argparse.Namespace, plan: tuple, results: Dict[Tuple[str, str, str], List[Result]],
             warmed: set) -> None:
    """One round of one scenario: every column once, in RUN_ORDER."""
    suite, scen, filt, cmds, rootdir, every_file, ours = plan  # each plan keeps its suite's rootdir
    for col in RUN_ORDER:
        if col not in cmds:
            continue
        if col == "oracle" and not cmds[col][1]:
            selected = node_ids(results[(suite.name, scen, "plain")][0].output)
            if not selected:
                sys.exit(f"{suite.name}: {scen} {filt} selects nothing")
            cmds[col] = (args.python, ["-p", "no:fastcollect", "--rootdir", str(rootdir), *filt,
                                       *oracle_args(rootdir, selected, every_file, ours)])
        # Warm a cache before its first measured run: the earlier implementation's once per
        # suite (it caches files, not filters); this plugin's per filter unless a cold run
        # precedes (without a filter it does nothing at all).
        warm_key = (suite.name, col) if col == "earlier" else (suite.name, col, scen)
        needs_warming = (col == "earlier" and "earlier cold" not in cmds) or (
            col == "plugin" and filt and "plugin cold" not in cmds)
        if needs_warming and warm_key not in warmed:
            warmed.add(warm_key)
            pytest_run(cmds[col][0], suite.cwd, cmds[col][1])
        python, a = cmds[col]
        res = pytest_run(python, suite.cwd, a)
        results.setdefault((suite.name, scen, col), []).append(res)
        if col in ("plain", "plugin", "oracle") and res.selected is None:
            sys.exit(f"{suite.name} {scen}: {col} run failed:\n{res.output[-3000:]}")
        if col.startswith("plugin") and filt and "fastcollect: imported " not in res.output:
            # Fallen back to plain pytest (grammar missing, ...): not a plugin timing.
            sys.exit(f"{suite.name} {scen}: the plugin did not decide:\n{res.output[-3000:]}")


def table_rows(plans: list, results: Dict[Tuple[str, str, str], List[Result]]) -> List[dict]:
    rows = []
    for suite, scen, filt, cmds, *_ in plans:
        plain = results[(suite.name, scen, "plain")]
        plain_sel = {r.selected for r in plain}
        plain_med = statistics.median(r.seconds for r in plain)
        for col in COLUMNS:
            runs = results.get((suite.name, scen, col))
            if not runs:
                continue
            sel = {r.selected for r in runs}
            if col.startswith("plugin") and sel != plain_sel:
                sys.exit(f"{suite.name} {scen}: {col} selected {sel}, plain {plain_sel}")
            med = statistics.median(r.seconds for r in runs)
            rows.append({
                "suite": suite.name, "description": suite.description, "scenario": scen, "filter": " ".join(filt),
                "column": col, "median_s": round(med, 3), "min_s": round(min(r.seconds for r in runs), 3),
                "max_s": round(max(r.seconds for r in runs), 3),
                "peak_rss_mib": round(max(r.rss_kib for r in runs) / 1024, 1),
                "vs_plain": round(plain_med / med, 2), "selected": sorted(s for s in sel if s is not None),
                "failed_runs": sum(r.selected is None for r in runs),
                "same_as_plain": sel == plain_sel,
            })
    return rows


def main() -> None:
    args = parse_args()
    if args.render_only:
        data = json.loads(args.json.read_text())
        render(args, data["meta"], data["rows"])
        return
    catalogue = dict(QUICK, **FULL) if args.full else QUICK
    suites = [catalogue[s] for s in (args.suites.split(",") if args.suites else catalogue)]
    start = time.perf_counter()
    plans = [plan for suite in suites for plan in plan_suite(suite, args)]
    results: Dict[Tuple[str, str, str], List[Result]] = {}
    warmed: set = set()
    for rnd in range(args.rounds):
        for plan in plans:
            run_plan(args, plan, results, warmed)
        print(f"round {rnd + 1}/{args.rounds} done after {(time.perf_counter() - start) / 60:.1f} min", flush=True)
    rows = table_rows(plans, results)
    minutes = (time.perf_counter() - start) / 60
    meta = {"date": time.strftime("%Y-%m-%d"), "platform": platform.platform(), "cores": os.cpu_count(),
            "python": platform.python_version(), "rounds": args.rounds, "minutes": round(minutes, 1),
            "versions": versions(args.python, args.earlier_python), "full": args.full,
            "command": "python " + " ".join(["benchmarks/bench.py", *sys.argv[1:]])}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    render(args, meta, rows)
    print(f"done in {minutes:.1f} min; wrote {args.markdown}, {args.json}")


def render(args: argparse.Namespace, meta: dict, rows: List[dict]) -> None:
    plot = args.markdown.with_suffix(".png")
    make_plot(rows, plot)
    full_runs = [] if meta.get("full") else sorted(args.json.parent.glob("bench-*.json"))
    write_markdown(args.markdown, plot, meta, rows, full_runs)


def versions(python: str, earlier: str) -> Dict[str, str]:
    code = ("import importlib.metadata as m\n"
            "for d in ('pytest', 'pytest-fastcollect', 'pandas', 'numpy', 'networkx', 'dask'):\n"
            "    try: print(d, m.version(d))\n"
            "    except Exception: pass\n")
    out = {}
    for label, py in (("", python), ("earlier venv: ", earlier)):
        text = subprocess.run([py, "-c", code], capture_output=True, text=True).stdout
        for line in text.splitlines():
            name, ver = line.split()
            out[label + name] = ver
    return out


def write_markdown(path: Path, plot: Path, meta: dict, rows: List[dict], full_runs: List[Path]) -> None:
    notes = path.with_name(path.stem + "-notes.md")
    path.write_text(page(meta, rows, full_runs, notes, plot.name))


def make_plot(rows: List[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = list(dict.fromkeys(r["suite"] for r in rows))
    scen = list(dict.fromkeys(r["scenario"] for r in rows))
    fig, axes = plt.subplots(len(suites), 1, figsize=(11, 2.6 * len(suites)), squeeze=False)
    width = 0.8 / len(COLUMNS)
    for ax, s in zip(axes[:, 0], suites):
        for k, col in enumerate(COLUMNS):
            xs, ys, lo, hi = [], [], [], []
            for i, sc in enumerate(scen):
                r = next((r for r in rows if r["suite"] == s and r["scenario"] == sc and r["column"] == col), None)
                if r and not r["failed_runs"]:
                    xs.append(i + (k - len(COLUMNS) / 2 + 0.5) * width)
                    ys.append(r["median_s"])
                    lo.append(r["median_s"] - r["min_s"])
                    hi.append(r["max_s"] - r["median_s"])
            ax.bar(xs, ys, width, yerr=[lo, hi], label=col, capsize=2)
        ax.set_yscale("log")
        ax.set_ylabel("seconds")
        ax.set_title(s, loc="left", fontsize=10)
        ax.set_xticks(range(len(scen)))
        ax.set_xticklabels(scen)
    axes[0, 0].legend(ncol=len(COLUMNS), fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


if __name__ == "__main__":
    main()
