"""The edit-run loop: `pytest -k NAME` right after editing the code under test.

For each edit site (a function of a non-test file: the code under test, a
conftest fixture, a base-test module), every round inserts a new statement
at the top of the function's body (after its docstring), then times the next
`pytest -k` with the plugin; plain pytest runs interleaved with it (the two
alternate which goes first, and the edited file's bytecode is compiled before
either, so neither pays for it). A round also checks that both selected the
same node IDs. Each row's ratio is its plugin median over the median of the
plain runs of its own rounds. The site's file is restored afterwards.

`--learning` adds the first run after an edit that does touch the surface
(a module-level statement): the learning run, compared with plain.

    python benchmarks/edit_loop.py --python build/venv-real/bin/python \\
        --cwd /tmp --args "--pyargs pandas" -k test_maybe_cast_slice_bound_invalid_str \\
        --site pandas/core/frame.py:DataFrame.to_markdown --learning pandas/core/frame.py \\
        --rounds 3 --json docs/results/edit-loop-pandas.json
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import signal
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

REPORT = re.compile(r"^fastcollect: .*$", re.M)


def run(python: str, cwd: Path, args: List[str]) -> Tuple[float, List[str], str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode caches on, as on a developer's machine
    start = time.perf_counter()
    proc = subprocess.run([python, "-m", "pytest", "--co", "-q", "-p", "no:randomly", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=1800)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 5):
        raise SystemExit(f"pytest {args} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    ids = [line for line in proc.stdout.splitlines() if "::" in line and not line.startswith(" ")]
    found = REPORT.findall(proc.stdout)
    return elapsed, ids, found[0] if found else ""


def locate(path: Path, qualname: str) -> Tuple[int, str]:
    """(line index to insert at, indentation) of the top of `qualname`'s body, after its docstring."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    node: ast.AST = tree
    for part in qualname.split("."):
        matches = [n for n in ast.iter_child_nodes(node)
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part]
        if not matches:
            raise SystemExit(f"{qualname} not found in {path}")
        node = matches[-1]  # the last definition wins, as in Python
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    body = node.body
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        if len(body) > 1:
            first = body[1]
        else:
            return first.end_lineno, " " * first.col_offset  # type: ignore[return-value]
    return first.lineno - 1, " " * first.col_offset


def insert(path: Path, at: int, line: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(at, line + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def median(xs: List[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", required=True)
    ap.add_argument("--cwd", type=Path, required=True)
    ap.add_argument("--args", default="", help="pytest arguments before the filter (e.g. --pyargs pandas)")
    ap.add_argument("-k", dest="keyword", required=True)
    ap.add_argument("--root", type=Path, help="where site paths are relative to (default: the package's parent)")
    ap.add_argument("--site", action="append", default=[], help="FILE:QUALNAME, a function whose body is edited")
    ap.add_argument("--learning", help="FILE: also time the first run after a module-level edit of it")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    base = shlex.split(args.args) + ["-k", args.keyword]
    root = args.root
    if root is None:
        out = subprocess.run([args.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True)
        root = Path(out.stdout.strip())
    started = time.time()
    rows: List[Dict[str, object]] = []
    # Warm state: learned items for the unedited tree.
    run(args.python, args.cwd, base)
    run(args.python, args.cwd, base)
    plain_times: List[float] = []

    def edit_rounds(path: Path, label: str, edit: Callable[[str, int], None]) -> Dict[str, object]:
        """Each round edits `path` (from its original text), times the plugin's
        run and plain pytest's; the file is restored afterwards."""
        original = path.read_text(encoding="utf-8")
        times: List[float] = []
        row_plain: List[float] = []
        reports: List[str] = []
        exact = True
        try:
            for r in range(args.rounds):
                edit(original, r)
                subprocess.run([args.python, "-m", "py_compile", str(path)], check=True)
                if r % 2 == 0:
                    t, fast_ids, rep = run(args.python, args.cwd, base)
                    tp, plain_ids, _ = run(args.python, args.cwd, ["--no-fast-collect", *base])
                else:
                    tp, plain_ids, _ = run(args.python, args.cwd, ["--no-fast-collect", *base])
                    t, fast_ids, rep = run(args.python, args.cwd, base)
                times.append(t)
                plain_times.append(tp)
                row_plain.append(tp)
                reports.append(rep)
                exact = exact and fast_ids == plain_ids and bool(plain_ids)
                print(f"{label} round {r}: plugin {t:.2f}s plain {tp:.2f}s exact={fast_ids == plain_ids} | {rep}",
                      flush=True)
        finally:
            path.write_text(original, encoding="utf-8")
        run(args.python, args.cwd, base)  # back to the learned state of the unedited file
        return {"plugin_s": times, "plain_s": row_plain, "reports": reports, "exact": exact}

    for site in args.site:
        rel, qualname = site.split(":", 1)
        path = root / rel

        def body_edit(original: str, r: int, path: Path = path, qualname: str = qualname) -> None:
            at, indent = locate(path, qualname)
            insert(path, at, f"{indent}_fastcollect_edit_{r} = {r}")

        rows.append({"site": site, "kind": "body edit", **edit_rounds(path, site, body_edit)})
    if args.learning:
        path = root / args.learning

        def module_edit(original: str, r: int, path: Path = path) -> None:
            # A value new to every run: a learned generation of an earlier
            # invocation must not match (that run would not learn).
            path.write_text(original + f"\n_FASTCOLLECT_MODULE_EDIT = {time.time_ns()}\n", encoding="utf-8")

        label = f"learning run after a module-level edit of {args.learning},"
        rows.append({"site": f"{args.learning}:<module>", "kind": "module-level edit (learning run)",
                     **edit_rounds(path, label, module_edit)})
    plain = median(plain_times)
    for row in rows:
        row["plugin_median_s"] = median(row["plugin_s"])  # type: ignore[arg-type]
        row["plain_median_s"] = median(row["plain_s"])  # type: ignore[arg-type]
        row["speedup"] = (row["plain_median_s"] / row["plugin_median_s"]  # type: ignore[operator]
                          if row["plugin_median_s"] else None)
    meta = {
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "python": subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                                 capture_output=True, text=True).stdout.strip(),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "minutes": round((time.time() - started) / 60, 1),
        "date": time.strftime("%Y-%m-%d"),
        "args": base,
        "plain_s": plain_times,
    }
    for row in rows:
        print(f"{row['site']:60s} {row['kind']:34s} plugin {row['plugin_median_s']:.2f}s "
              f"plain {row['plain_median_s']:.2f}s (all rounds {plain:.2f}s) {row['speedup']:.1f}x exact={row['exact']}")
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    # A kill (SIGTERM) ends it as Ctrl-C does: the edited file is restored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
