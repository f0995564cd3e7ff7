"""Learning on several cores: measured here, and a model of the critical path
for more workers (issue 26).

For one suite and one narrow `-k`, after `--cache-clear` every time:

1. plain pytest (`--no-fast-collect`);
2. the plugin learning in this process (no workers): its per-module
   collection times are read back from pytest's cache
   (`fastcollect/collection-seconds`);
3. the plugin with W workers (`--fast-collect-workers W`), whose
   `--fast-collect-explain` timeline gives the fork's offset into collection,
   each worker's collection and report, and the merge.

The model of a run with W workers: the start (start-up, the decision) + the
makespan of the chunks (learners.plan over the measured per-module times,
times the slowdown the W-worker run measured, each chunk taken by the worker
free first, in path order) + the slowest report + the merge + the rest (what
the main process imported after: modules whose records crossed workers,
taken as growing with the share of module pairs split across workers,
1 - 1/W, from what W workers left). It is checked against the measured
W-worker run (and the no-worker run, whose makespan is the sum of the
times), then computed for 4, 8 and 16 workers.

Every run is measured in `--rounds` interleaved rounds (medians); the model
is built from the last round's no-worker and W-worker runs.

Usage: learn_scaling.py --python PY --label NAME -k EXPR [--workers 2] [--rounds 3] [--json OUT] -- SUITE ARGS
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pytest_fastcollect.learners import CHUNKS_PER_WORKER, plan  # noqa: E402

TIMELINE = re.compile(r"learning workers: (\d+) workers forked ([\d.]+) s into collection; (.*); "
                      r"merged and written in ([\d.]+) s")
WORKER = re.compile(r"worker \d+: collected in ([\d.]+) s, reported in ([\d.]+) s")
SESSION = re.compile(r" in ([\d.]+)s(?: \(|\s*=*$)", re.M)


def run(python: str, args: List[str], cwd: Path) -> Tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    begin = time.perf_counter()
    out = subprocess.run([python, "-m", "pytest", "-p", "no:randomly", "--co", "-q", *args], cwd=cwd, env=env,
                         capture_output=True, text=True)
    return time.perf_counter() - begin, out.stdout + out.stderr


def session_seconds(out: str) -> float:
    found = SESSION.findall(out)
    return float(found[-1]) if found else 0.0


def makespan(chunk_times: List[float], workers: int) -> float:
    """Chunks in path order, each taken by the worker free first."""
    free = [0.0] * workers
    for t in chunk_times:
        k = free.index(min(free))
        free[k] += t
    return max(free)


def chunk_times(seconds: Dict[str, float], workers: int, slowdown: float) -> List[float]:
    _, chunks = plan(list(seconds), workers, seconds)
    return [sum(seconds[p] for p in chunk) * slowdown for chunk in chunks]


def measure(args: argparse.Namespace, work: Path) -> Dict[str, Any]:
    """`args.rounds` interleaved rounds of the three runs (medians); the
    per-module times and the timeline from the last round's runs."""
    common = [*args.suite, "-k", args.k, "--cache-clear"]
    run(args.python, [*args.suite, "-k", args.k, "--no-fast-collect"], work)  # warm-up (bytecode written)
    walls: Dict[str, List[float]] = {"plain": [], "one": [], "many": []}
    for _ in range(args.rounds):
        wall, _ = run(args.python, [*args.suite, "-k", args.k, "--no-fast-collect"], work)
        walls["plain"].append(wall)
        wall, out1 = run(args.python, [*common, "--fast-collect-explain"], work)
        walls["one"].append(wall)
        cache = work / ".pytest_cache" / "v" / "fastcollect" / "collection-seconds"
        seconds = json.loads(cache.read_text()) if cache.exists() else {}
        wall, out = run(args.python, [*common, "--fast-collect-workers", str(args.workers), "--fast-collect-explain"],
                        work)
        walls["many"].append(wall)
        in_workers = json.loads(cache.read_text()) if cache.exists() else {}  # (measured by the workers)
    m = TIMELINE.search(out)
    if m is None:
        sys.exit(f"no learning timeline in the {args.workers}-worker run:\n{out[-3000:]}")
    workers = [(float(c), float(r)) for c, r in WORKER.findall(m.group(3))]
    dropped = len(re.findall(r"^not kept from a learning worker: ", out, re.M))
    many = statistics.median(walls["many"])
    decision = re.search(r"^fastcollect: imported .*; (\d+) ms$", out1, re.M)
    learned = re.search(r"^learned the items of \d+ test files in (\d+) ms", out1, re.M)
    return {"plain": statistics.median(walls["plain"]), "one": statistics.median(walls["one"]), "many": many,
            "walls": {k: [round(w, 2) for w in v] for k, v in walls.items()},
            "startup": walls["many"][-1] - session_seconds(out), "fork_offset": float(m.group(2)),
            "workers": workers, "merge": float(m.group(4)), "dropped": dropped, "seconds": seconds,
            "in_workers": in_workers,
            # The no-worker run's collection outside its modules' own (items
            # made and deselected, the records taken at deselection).
            "outside_one": session_seconds(out1) - sum(seconds.values()) - (
                int(decision[1]) if decision else 0) / 1000 - (int(learned[1]) if learned else 0) / 1000,
            "last_many": walls["many"][-1]}


def model(meas: Dict[str, Any], w_measured: int) -> Dict[str, Any]:
    seconds = meas["seconds"]
    total = sum(seconds.values())
    start = meas["startup"] + meas["fork_offset"]
    collect = max(c for c, _ in meas["workers"])
    report = max(r for _, r in meas["workers"])
    # A module's collection in a worker against in one process: the
    # workers' own per-module times (kept in the cache by their run).
    both = [p for p in seconds if p in meas["in_workers"]]
    slowdown = sum(meas["in_workers"][p] for p in both) / max(sum(seconds[p] for p in both), 1e-9)
    rest = meas["last_many"] - start - collect - report - meas["merge"]  # (the timeline's run)
    rows = []
    for w in (1, w_measured, 4, 8, 16):
        if w == 1:
            predicted = meas["one"]  # the single-process path: measured, the sum of times inside
            span = total
        else:
            span = makespan(chunk_times(seconds, w, slowdown), w)
            # Collection outside the modules' own splits with the items;
            # reports shrink with the share; what crossed workers grows
            # with the share of module pairs split (1 - 1/W).
            predicted = start + span + meas["outside_one"] * slowdown / w + report * w_measured / w + meas[
                "merge"] + rest * (1 - 1 / w) / (1 - 1 / w_measured)
        rows.append({"workers": w, "makespan": round(span, 2), "predicted": round(predicted, 2),
                     "speedup": round(meas["plain"] / predicted, 2),
                     "measured": round(meas["last_many"] if w == w_measured else meas["one"] if w == 1 else 0, 2)})
    return {"modules": len(seconds), "sum_seconds": round(total, 2), "start": round(start, 2),
            "outside_modules": round(meas["outside_one"], 2),
            "slowdown": round(slowdown, 3), "report": round(report, 2), "merge": round(meas["merge"], 2),
            "rest": round(rest, 2), "dropped": meas["dropped"], "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--python", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("-k", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("suite", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    args.suite = [a for a in args.suite if a != "--"]
    args.python = os.path.abspath(args.python)  # (not resolved: a venv's python is a symlink)
    work = Path(tempfile.mkdtemp(prefix="fc-scaling-"))
    meas = measure(args, work)
    result = {"label": args.label, "command": " ".join(["python", "benchmarks/learn_scaling.py", *sys.argv[1:]]),
              "plain": round(meas["plain"], 2), "one_worker_run": round(meas["one"], 2),
              "workers_run": round(meas["many"], 2), "chunks_per_worker": CHUNKS_PER_WORKER,
              "rounds": args.rounds, "walls": meas["walls"], "workers": args.workers,
              **model(meas, args.workers)}
    print(json.dumps({k: v for k, v in result.items()}, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
