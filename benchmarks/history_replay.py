"""Replay a real project's history one commit at a time, as pulls would.

A work tree (a shared clone of a git mirror, e.g. the search tool's `fetch`
of networkx) is checked out at each of the last N first-parent commits in
turn: `git checkout` rewrites only the files that commit changed. After each
checkout, in the source layout (pytest run from the work tree's root on the
package directory), plain pytest and pytest with the plugin collect the same
narrow `-k` (`--co -q`) and their node IDs are compared. The plugin keeps its
cache across commits, as a developer's checkout does. A run is *warm* when
learned items decided (no "learned items not used" line); otherwise the
explain line names the cause.

    python benchmarks/history_replay.py --mirror /work/.mirror/networkx+networkx/repo \\
        --package networkx --expr "test_betweenness_centrality and K5" --commits 60 \\
        --python build/venv-real/bin/python --json docs/results/history-networkx.json

The plot (docs/history-networkx.png: each commit's plain and plugin times,
relearns marked) needs matplotlib, which the suites' venv does not have:

    python benchmarks/history_replay.py --plot docs/results/history-networkx.json docs/history-networkx.png
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "real"))

from verify_real import ids_from, report_counts  # noqa: E402

NOT_USED = re.compile(r"^learned items not used: (.*)$", re.M)
REPORT = re.compile(r"^fastcollect: .*$", re.M)


def git(work: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(work), *args], capture_output=True, text=True, check=True).stdout


def collect(py: str, work: Path, package: str, expr: str, plain: bool) -> Dict[str, object]:
    args = [py, "-m", "pytest", package, "-p", "no:randomly", "-p", "no:xdist", "--co", "-q", "-k", expr]
    args.append("--no-fast-collect" if plain else "--fast-collect-explain")
    t = time.perf_counter()
    proc = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - t
    out = proc.stdout
    line = REPORT.search(out)
    why = NOT_USED.search(out)
    return {"seconds": round(seconds, 3), "rc": proc.returncode, "ids": ids_from(out),
            "report": line.group(0) if line else None, "not_used": why.group(1) if why else None}


def cause(not_used: Optional[str], work: Path) -> Optional[str]:
    """The relearn's cause with the work tree's path left out."""
    return None if not_used is None else not_used.replace(str(work) + "/", "")


CHANGED = re.compile(r"^dependency (\S+) changed")


def _without_docstrings(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body[0] = ast.Pass()
    return ast.dump(tree)


def kind_of(mirror: str, commit: str, path: str) -> str:
    """What a relearning commit changed in the file the explain line names."""
    def show(rev: str) -> str:
        return subprocess.run(["git", "--git-dir", mirror, "show", f"{rev}:{path}"], capture_output=True,
                              text=True).stdout
    try:
        before, after = show(f"{commit}~1"), show(commit)
        if before and after and _without_docstrings(before) == _without_docstrings(after):
            return "docstrings only"
    except SyntaxError:
        pass
    return "code"


def classify(result: dict, mirror: str) -> None:
    """Adds each relearn's kind (docstrings only, or code) to a result."""
    for row in result["rows"]:
        m = CHANGED.match(row["cause"] or "")
        if row["step"] and not row["warm"] and m and m.group(1).endswith(".py"):
            row["kind"] = kind_of(mirror, row["commit"], m.group(1))


def replay(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="fc-history-"))
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", args.mirror, str(work)], check=True)
    commits = git(work, "rev-list", "--first-parent", "--reverse", f"--max-count={args.commits + 1}",
                  args.until).split()
    rows: List[dict] = []
    for n, commit in enumerate(commits):
        git(work, "checkout", "-q", "--force", commit)
        plain = collect(args.python, work, args.package, args.expr, plain=True)
        fast = collect(args.python, work, args.package, args.expr, plain=False)
        counts = report_counts(fast["report"] or "")
        want, got = set(plain["ids"]), set(fast["ids"])  # type: ignore[arg-type]
        row = {
            "commit": commit[:10],
            "subject": git(work, "log", "-1", "--format=%s", commit).strip()[:80],
            "plain_s": plain["seconds"], "plugin_s": fast["seconds"],
            "rc": [plain["rc"], fast["rc"]],
            "selected": len(want), "missed": len(want - got), "extra": len(got - want),
            "imported": counts["imported"], "total": counts["total"], "learned": counts["learned"],
            "cause": cause(fast["not_used"], work),  # type: ignore[arg-type]
        }
        # The first commit learns from an empty cache: the baseline, not a step.
        row["step"] = n > 0
        row["warm"] = row["cause"] is None and bool(counts["learned"])
        rows.append(row)
        state = "warm" if row["warm"] else f"RELEARN ({row['cause']})"
        print(f"{n:3d} {row['commit']} plain {row['plain_s']:6.2f}s plugin {row['plugin_s']:6.2f}s "
              f"missed {row['missed']} extra {row['extra']} {state}", flush=True)
    steps = [r for r in rows if r["step"]]
    warm = sum(1 for r in steps if r["warm"])
    return {
        "command": "python benchmarks/history_replay.py " + " ".join(
            f"--{k} {json.dumps(v) if ' ' in str(v) else v}" for k, v in
            (("mirror", args.mirror), ("package", args.package), ("expr", args.expr), ("commits", args.commits))),
        "date": time.strftime("%Y-%m-%d"),
        "package": args.package, "expr": args.expr, "commits": len(steps),
        "first": commits[0][:10], "last": commits[-1][:10],
        "warm": warm, "warm_share": round(warm / len(steps), 3) if steps else None,
        "missed": sum(r["missed"] for r in rows), "extra": sum(r["extra"] for r in rows),
        "rows": rows,
    }


def plot(result: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if r["step"]]
    xs = list(range(1, len(rows) + 1))
    fig, ax = plt.subplots(figsize=(11, 3.2))
    ax.plot(xs, [r["plain_s"] for r in rows], label="plain pytest", color="0.5")
    ax.bar(xs, [r["plugin_s"] for r in rows], label="plugin",
           color=["tab:green" if r["warm"] else "tab:red" for r in rows])
    ax.set_xlabel(f"commit ({result['first']}..{result['last']}, one at a time)")
    ax.set_ylabel("seconds (--co)")
    ax.set_title(f"{result['package']} -k '{result['expr']}': warm after {result['warm']} of {result['commits']} "
                 f"commits (green), relearned after the others (red)", loc="left", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plot", nargs=2, metavar=("JSON", "PNG"), help="only draw a stored result")
    ap.add_argument("--classify", metavar="JSON", help="only add each relearn's kind to a stored result")
    ap.add_argument("--mirror", help="a git repository to clone (shared)")
    ap.add_argument("--package", help="the directory pytest collects, from the work tree root")
    ap.add_argument("--expr", help="a -k expression whose match exists in every commit")
    ap.add_argument("--commits", type=int, default=60, help="steps after the first (learning) commit")
    ap.add_argument("--until", default="HEAD", help="the newest commit")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args()
    if args.plot:
        plot(json.loads(Path(args.plot[0]).read_text()), Path(args.plot[1]))
        return
    if args.classify:
        stored = json.loads(Path(args.classify).read_text())
        classify(stored, args.mirror or stored["mirror"])
        Path(args.classify).write_text(json.dumps(stored, indent=1) + "\n")
        return
    if not (args.mirror and args.package and args.expr):
        ap.error("--mirror, --package and --expr are required")
    if os.sep in args.python:
        args.python = os.path.abspath(args.python)  # the runs start in the work tree
    result = replay(args)
    result["mirror"] = args.mirror
    classify(result, args.mirror)
    print(f"warm after {result['warm']} of {result['commits']} commits ({result['warm_share']}); "
          f"missed {result['missed']}, extra {result['extra']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
