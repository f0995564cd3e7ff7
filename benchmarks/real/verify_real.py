"""Verifies the plugin on real test suites: for 30+ expressions drawn from the
suite's own names (functions, classes, parameter ids, directories, modules,
markers, negations), the node IDs the plugin selects must equal what plain
pytest selects.

The plain side is one collection with --no-fast-collect, where pytest's own
Expression/KeywordMatcher/MarkMatcher evaluate every expression on every item
(fc_oracle.py); a few expressions are also checked with a real plain
`pytest -k` run. The plugin side runs `pytest --co -q -k EXPR` per expression
(after one learning run), and its IDs are compared.

The plugin must also act: each plugin run's report line gives the files it
skipped (K) and the files decided by learned items (L). A suite where no run
after the learning run skipped a file fails the check, even with equal IDs:
a learned generation that is never valid again (an input that changes during
collection or between processes) would otherwise pass as plain against plain.

Usage: verify_real.py SUITE [--expressions N] [--python VENV_PYTHON]
Suites: see SUITES below.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent

SUITES = {
    # name: (pytest args, pip requirements)
    "pandas": (["--pyargs", "pandas"], ["pandas", "hypothesis"]),
    "numpy": (["--pyargs", "numpy"], ["numpy", "hypothesis"]),
    "networkx": (["--pyargs", "networkx"], ["networkx"]),
    # The slice CI runs (`make test-real-slice`): one subpackage, a few expressions.
    "networkx-slice": (["--pyargs", "networkx.algorithms.shortest_paths"], ["networkx"]),
    "xarray": (["--pyargs", "xarray"], ["xarray", "hypothesis"]),
    "dask": (["--pyargs", "dask"], ["dask[array,dataframe]", "hypothesis"]),
    "pyarrow": (["--pyargs", "pyarrow"], ["pyarrow", "hypothesis"]),
    "statsmodels": (["--pyargs", "statsmodels"], ["statsmodels"]),
    "sklearn": (["--pyargs", "sklearn"], ["scikit-learn"]),
    "scipy": (["--pyargs", "scipy"], ["scipy", "pooch", "hypothesis"]),
    "astropy": (["--pyargs", "astropy"], ["astropy", "pytest-astropy-header", "pytest-doctestplus", "pytest-remotedata"]),
    # A source tree: the sdist of the distribution the venv has installed, run
    # from its directory with no arguments (its own configuration: testpaths,
    # python_files, conftests), as a contributor runs it.
    "pytest": ([], ["pytest", "argcomplete", "attrs", "hypothesis", "mock", "numpy", "pexpect", "pyyaml",
                    "requests", "setuptools", "xmlschema", "pygments"]),
}
# Suites run from an unpacked sdist: suite -> the distribution.
SOURCE_TREES = {"pytest": "pytest"}

_SPLIT = re.compile(r"::|/|\[|\]|-|\.py")


def run(py: str, args: list[str], cwd: Path, env: dict | None = None, timeout: int = 3600) -> subprocess.CompletedProcess:
    return subprocess.run([py, "-m", "pytest", "-p", "no:randomly", "-p", "no:xdist", *args],
                          cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)


def active(report_line: str) -> bool:
    """The plugin's report line of a run in which it decided files itself."""
    return report_line.startswith("fastcollect: imported ")


_REPORT = re.compile(r"^fastcollect: imported (\d+) of (\d+) test files, skipped (\d+);"
                     r".*?(\d+) decided by learned items;")


def report_counts(report_line: str) -> dict:
    """Imported, total, skipped (K) and decided-by-learned-items (L) counts of a
    report line; None for each when the line is not the plugin's decision report."""
    m = _REPORT.match(report_line)
    if not m:
        return {"imported": None, "total": None, "skipped": None, "learned": None}
    imported, total, skipped, learned = map(int, m.groups())
    return {"imported": imported, "total": total, "skipped": skipped, "learned": learned}


def ids_from(out: str) -> list[str]:
    """Node IDs of `--co -q` output: unindented lines with '::' (warnings quote node IDs indented)."""
    return [line for line in out.splitlines()
            if "::" in line and not line[:1].isspace() and not line.startswith(("ERROR", "FAILED"))]


def draw_expressions(all_ids: list[str], marks: list[str], n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    funcs, classes, params, dirs, modules = set(), set(), set(), set(), set()
    for nid in all_ids:
        path, _, rest = nid.partition("::")
        parts = path.split("/")
        dirs.update(p for p in parts[:-1] if p)
        modules.add(parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1])
        segs = rest.split("::")
        classes.update(s for s in segs[:-1])
        last = segs[-1]
        name, _, pid = last.partition("[")
        funcs.add(name)
        for p in _SPLIT.split(pid.rstrip("]")):
            if p:
                params.add(p)
    def ok(word: str) -> bool:
        return bool(re.fullmatch(r"[A-Za-z0-9_:+.\-]+", word)) and word not in ("and", "or", "not")
    pools = [sorted(filter(ok, x)) for x in (funcs, classes, params, dirs, modules)]
    keywords: list[str] = []
    for i in range(n):
        pool = [p for p in pools if p][i % len([p for p in pools if p])]
        word = rng.choice(pool)
        roll = rng.random()
        if roll < 0.15:
            word = f"not {word}"
        elif roll < 0.3:
            other = rng.choice(rng.choice([p for p in pools if p]))
            word = f"{word} and not {other}" if rng.random() < 0.5 else f"{word} or {other}"
        keywords.append(word)
    mark_exprs = marks[:3] + [f"not {m}" for m in marks[:2]]
    return keywords, mark_exprs


def oracle_order(py: str, suite_args: list[str], work: Path, env: dict, kind: str, expr: str,
                 ids: list[str]) -> list[str]:
    """Plain pytest's selection when given only the files that hold the selected tests.
    Node IDs of an installed package are relative to the package's directory."""
    if "--pyargs" in suite_args:
        package = suite_args[suite_args.index("--pyargs") + 1].split(".")[0]
        code = f"import os, {package} as p; print(os.path.dirname(p.__file__))"
        base = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=work).stdout.strip()
    elif suite_args and not suite_args[0].startswith("-"):
        base = suite_args[0]  # the package directory, collected by path
    else:
        base = str(work)  # a source tree, run from its directory
    files = sorted({os.path.join(base, i.partition("::")[0]) for i in ids})
    args = ["--no-fast-collect", "--rootdir", base, "--co", "-q", f"-{kind}", expr, *files]
    return ids_from(run(py, args, work, env).stdout)


def unpack_source_tree(py: str, dist: str, into: Path) -> Path:
    """The sdist of the installed version of `dist`, unpacked under `into`."""
    version = subprocess.run([py, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([py, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", str(into),
                    f"{dist}=={version}"], check=True, capture_output=True)
    archive = next(into.glob(f"{dist}-{version}.tar.gz"))
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(into)], check=True)
    return into / f"{dist}-{version}"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("suite", choices=sorted(SUITES))
    ap.add_argument("--expressions", type=int, default=30)
    ap.add_argument("--narrow", type=int, default=0,
                    help="also N narrow -k expressions: test function names, each a few modules' tests at most; "
                         "the summary gives the share of modules their runs imported")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--plain-checks", type=int, default=2)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--extra", action="append", default=[],
                    help="an argument added to every run but the learning run (the suite's own options, "
                         "e.g. --extra=--runslow): learned items from a run without it must not decide wrongly")
    ap.add_argument("--rootdir-package", action="store_true",
                    help="--rootdir is the package's directory (as in a source checkout), so that its conftests "
                         "are read by the static model")
    ap.add_argument("--by-path", action="store_true",
                    help="collect the package's directory by path (a source layout: its conftest's options exist)")
    ap.add_argument("--mark", action="append", default=[],
                    help="a -m expression checked besides the drawn ones (markers hooks add: --mark slow)")
    ap.add_argument("--workers", type=int, default=0,
                    help="the learning run learns on N worker processes (--fast-collect-workers N): every "
                         "other run decides on what the workers recorded (with --cold, every run learns on them)")
    ap.add_argument("--cold", action="store_true",
                    help="every plugin run after --cache-clear: static reading decides, not learned items")
    args = ap.parse_args()
    args.python = os.path.abspath(args.python)  # absolute, but not resolved: a venv's python is a symlink
    return args


def suite_setup(args: argparse.Namespace) -> tuple[list[str], list[str], Path, dict]:
    """(the learning run's arguments, every other run's, the working directory, the environment)."""
    learn_args, _ = SUITES[args.suite]
    if args.rootdir_package or args.by_path:
        package = learn_args[learn_args.index("--pyargs") + 1]
        code = f"import os, {package} as p; print(os.path.dirname(p.__file__))"
        pkgdir = subprocess.run([args.python, "-c", code], capture_output=True, text=True).stdout.strip()
        # By path, the package's conftests are loaded at start-up (their options exist).
        learn_args = [pkgdir] if args.by_path else ["--rootdir", pkgdir, *learn_args]
    work = Path(tempfile.mkdtemp(prefix=f"fc-real-{args.suite}-"))
    if args.suite in SOURCE_TREES:
        work = unpack_source_tree(args.python, SOURCE_TREES[args.suite], work)
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return learn_args, [*learn_args, *args.extra], work, env


def narrow_expressions(all_ids: list[str], n: int, rng: random.Random) -> list[str]:
    """N test function names (no parameters), each held by at most two modules."""
    modules_of: dict[str, set] = {}
    for nid in all_ids:
        path, _, rest = nid.partition("::")
        name = rest.split("::")[-1].partition("[")[0]
        modules_of.setdefault(name, set()).add(path)
    names = sorted(n for n, mods in modules_of.items() if len(mods) <= 2 and re.fullmatch(r"test\w+", n)
                   and n not in ("and", "or", "not"))
    return rng.sample(names, min(n, len(names)))


def plain_side(args: argparse.Namespace, suite_args: list[str], work: Path, env: dict,
               rng: random.Random) -> tuple[list[str], list[str], dict, int]:
    """The expressions and pytest's own answers (fc_oracle.py over one plain
    collection, a few checked with real plain runs); how many are narrow."""
    probe = run(args.python, [*suite_args, "--no-fast-collect", "--co", "-q", "--markers"], work, env)
    marks = sorted(set(re.findall(r"^@pytest\.mark\.([A-Za-z_]\w*)", probe.stdout, re.M))
                   - {"filterwarnings", "skip", "skipif", "xfail", "parametrize", "usefixtures", "tryfirst",
                      "trylast"})
    all_ids = ids_from(run(args.python, [*suite_args, "--no-fast-collect", "--co", "-q"], work, env).stdout)
    keywords, mark_exprs = draw_expressions(all_ids, marks, args.expressions, rng)
    narrow = narrow_expressions(all_ids, args.narrow, rng)
    keywords += narrow
    mark_exprs += args.mark
    oracle_file = work / "oracle.json"
    oenv = dict(env, FC_ORACLE_OUT=str(oracle_file), FC_ORACLE_EXPRS=json.dumps({"k": keywords, "m": mark_exprs}))
    run(args.python, [*suite_args, "--no-fast-collect", "--co", "-q", "-p", "fc_oracle"], work, oenv)
    oracle = json.loads(oracle_file.read_text())
    for k in keywords[: args.plain_checks]:
        plain = ids_from(run(args.python, [*suite_args, "--no-fast-collect", "--co", "-q", "-k", k], work, env).stdout)
        assert plain == oracle["k:" + k], f"oracle disagrees with plain pytest for -k {k!r}"
    return keywords, mark_exprs, oracle, len(narrow)


def check_expression(args: argparse.Namespace, suite_args: list[str], work: Path, env: dict, oracle: dict,
                     kind: str, e: str) -> tuple[dict, int]:
    """One plugin run compared with the oracle: (its row, failures)."""
    t = time.perf_counter()
    # Cold: every probe learns from nothing, on the workers if asked for.
    cold = ["--cache-clear"] if args.cold else []
    if args.cold and args.workers:
        cold += ["--fast-collect-workers", str(args.workers)]
    res = run(args.python, [*suite_args, *cold, "--co", "-q", f"-{kind}", e], work, env)
    elapsed = time.perf_counter() - t
    got = ids_from(res.stdout)
    want = oracle[f"{kind}:{e}"]
    missed = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    line = next((l for l in res.stdout.splitlines() if l.startswith("fastcollect:")), "")
    failures = 0
    if not active(line):
        failures += 1
        print(f"PLUGIN NOT ACTIVE -{kind} {e!r}: {line!r}")
    reordered = False
    if not missed and not extra and got != want:
        # pytest reorders items by higher-scoped parametrized fixtures before it
        # deselects, so the order depends on which files were collected at all.
        # Allowed when it is the order plain pytest gives for only these files.
        reordered = oracle_order(args.python, suite_args, work, env, kind, e, want) == got
    counts = report_counts(line)
    row = {"kind": kind, "expr": e, "want": len(want), "got": len(got), "missed": len(missed),
           "extra": len(extra), "reordered": reordered, "seconds": round(elapsed, 2),
           "skipped": counts["skipped"], "learned": counts["learned"],
           "imported": counts["imported"], "total": counts["total"], "report": line}
    if missed or extra or (got != want and not reordered):
        failures += 1
        print(f"MISMATCH -{kind} {e!r}: missed {missed[:5]} extra {extra[:5]}")
    return row, failures


def explain_rules(args: argparse.Namespace, suite_args: list[str], work: Path, env: dict, expr: str) -> dict:
    """Why the modules a narrow run still imports are imported: the counts
    per rule and per step of `--fast-collect-explain`."""
    out = run(args.python, [*suite_args, "--co", "-q", "-k", expr, "--fast-collect-explain"], work, env).stdout
    rules: dict = {}
    lines = out.splitlines()
    if "imports by rule:" in lines:
        for line in lines[lines.index("imports by rule:") + 1:]:
            m = re.match(r"^\s+(\d+)\s+(.*)$", line)
            if not m:
                break
            rules[m.group(2)] = int(m.group(1))
    steps = next((l[len("decided by step: "):] for l in lines if l.startswith("decided by step: ")), "")
    return {"expression": expr, "rules": rules, "steps": steps}


def narrow_summary(rows: list[dict]) -> dict:
    shares = sorted((r["imported"] or 0) / r["total"] for r in rows if r.get("narrow") and r["total"])
    if not shares:
        return {}
    return {"narrow_expressions": len(shares), "narrow_import_share_max": round(shares[-1], 4),
            "narrow_import_share_median": round(shares[len(shares) // 2], 4)}


def main() -> None:
    args = parse_args()
    learn_args, suite_args, work, env = suite_setup(args)
    rng = random.Random(args.suite)
    start = time.perf_counter()
    keywords, mark_exprs, oracle, n_narrow = plain_side(args, suite_args, work, env, rng)
    # The plugin: one learning run, then every expression.
    workers = ["--fast-collect-workers", str(args.workers)] if args.workers else []
    learn = run(args.python, [*learn_args, *workers, "--co", "-q", "-k", "zzz_fastcollect_learning_run"], work, env)
    report = [line for line in learn.stdout.splitlines() if line.startswith("fastcollect:")]
    # A plugin that fell back to plain pytest would make every comparison plain against plain.
    if not any(active(line) for line in report):
        sys.exit(f"the plugin is not active in {args.python}: {report or learn.stdout[-500:]}")
    rows = []
    failures = 0
    for kind, exprs in (("k", keywords), ("m", mark_exprs)):
        for i, e in enumerate(exprs):
            row, failed = check_expression(args, suite_args, work, env, oracle, kind, e)
            row["narrow"] = kind == "k" and i >= len(keywords) - n_narrow
            rows.append(row)
            failures += failed
    explained = explain_rules(args, suite_args, work, env, keywords[-1]) if n_narrow else None
    write_summary(args, rows, failures, oracle, report, start, explained)


def write_summary(args: argparse.Namespace, rows: list[dict], failures: int, oracle: dict, report: list[str],
                  start: float, explained: Optional[dict] = None) -> None:
    # The plugin must have acted: some run after the learning run skipped a file.
    skipping_runs = sum(1 for r in rows if (r["skipped"] or 0) > 0)
    learned_runs = sum(1 for r in rows if (r["learned"] or 0) > 0)
    learn_counts = report_counts(next((l for l in report if active(l)), ""))
    summary = {"command": " ".join(["python", "benchmarks/real/verify_real.py", *sys.argv[1:]]), "suite": args.suite,
               "extra": args.extra, "cold": args.cold, "workers": args.workers, "rootdir_package": args.rootdir_package,
               "by_path": args.by_path, "items": len(oracle["all"]), "expressions": len(rows),
               "mismatches": failures, "reordered_like_oracle": sum(r["reordered"] for r in rows),
               "runs_skipping_files": skipping_runs, "runs_decided_by_learned_items": learned_runs,
               "plugin_acted": skipping_runs > 0, **narrow_summary(rows), "narrow_explain": explained,
               "minutes": round((time.perf_counter() - start) / 60, 1),
               "learning_run": report, "learning_run_skipped": learn_counts["skipped"],
               "learning_run_learned": learn_counts["learned"], "rows": rows}
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=1))
    for r in rows:
        print(f"  -{r['kind']} {r['expr']!r}: {r['got']} ids (want {r['want']}), {r['seconds']} s  {r['report']}")
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1))
    if not skipping_runs:
        print(f"PLUGIN NEVER ACTED on {args.suite}: none of the {len(rows)} runs after the learning run skipped "
              f"a test file (skipped 0 in every report line; {learned_runs} runs decided files by learned items). "
              f"Equal IDs here only compare plain pytest with itself: the static model imports every file "
              f"and the learned items were never used (a learned generation that no later run can match?); "
              f"see the report lines above, and --fast-collect-explain for why files were imported.")
    sys.exit(1 if failures or not skipping_runs else 0)


if __name__ == "__main__":
    main()
