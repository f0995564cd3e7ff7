"""`make bench` (and `make bench-django`): a generated Django project under
pytest-django, plain pytest against this plugin.

The project comes from benchmarks/gen_django.py (apps with models, test
modules that from-import the app code, `django_db` functions, TestCase and
TransactionTestCase classes, DJANGO_SETTINGS_MODULE in pytest.ini). Columns
and scenarios as in bench.py (`pytest --co -q` in a fresh process; plain,
plugin warm, plugin cold, oracle), every cell the median of --rounds
interleaved runs. Every filtered run of the plugin must list exactly the node
IDs of plain pytest, in the same order (the harness stops otherwise).

Writes docs/results/django.json; benchmarks/bench_docs.py renders it into
docs/benchmarks.md ({{django_table}} in docs/benchmarks-notes.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench import RUN_ORDER, Result, Suite, choose_scenarios, node_ids, oracle_args, pytest_run  # noqa: E402
from gen_django import generate  # noqa: E402

SCENARIOS = ["no filter", "narrow -k", "broad -k", "-m marker"]
COLUMNS = ["plain", "plugin cold", "plugin", "oracle"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=str(ROOT / "build" / "venv-django" / "bin" / "python"),
                    help="venv with pytest, Django, pytest-django and this plugin")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--apps", type=int, default=12)
    ap.add_argument("--modules", type=int, default=15, help="test modules per app")
    ap.add_argument("--tests", type=int, default=8, help="tests per module")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "bench" / "django")
    ap.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "django.json")
    args = ap.parse_args()
    start = time.perf_counter()

    root = args.work / "suite"
    marker = root / f".generated-{args.apps}x{args.modules}x{args.tests}"
    if not marker.exists():
        generate(root, args.apps, args.modules, args.tests)
        marker.write_text("")
    suite = Suite("django", f"generated Django project: {args.apps} apps, {args.apps * args.modules} test modules",
                  [], "slow")
    plain_base = ["-p", "no:fastcollect"]
    everything = pytest_run(args.python, root, plain_base)
    ids = node_ids(everything.output)
    if not ids:
        sys.exit(f"plain collection found nothing:\n{everything.output[-2000:]}")
    subprocess.run([args.python, "-c", "import pytest_django, django"], check=True)
    every_file = sorted({nid.partition("::")[0] for nid in ids})
    scenarios = {k: v for k, v in choose_scenarios(suite, ids, random.Random("django")).items() if k in SCENARIOS}
    cache = ["-o", f"cache_dir={args.work / 'cache-plugin'}"]
    plans: List[Tuple[str, List[str], Dict[str, List[str]]]] = []
    for scen, filt in scenarios.items():
        cmds = {"plain": [*plain_base, *filt]}
        if filt:
            cmds["plugin cold"] = [*cache, "--cache-clear", *filt]
            cmds["plugin"] = [*cache, *filt]
            cmds["oracle"] = []  # from the first plain run's selection
        else:
            cmds["plugin"] = [*cache]
        plans.append((scen, filt, cmds))
    print(f"django: {len(ids)} tests in {len(every_file)} files; scenarios {scenarios}", flush=True)

    results: Dict[Tuple[str, str], List[Result]] = {}
    reports: Dict[str, str] = {}
    for rnd in range(args.rounds):
        for scen, filt, cmds in plans:
            for col in RUN_ORDER:
                if col not in cmds:
                    continue
                if col == "oracle" and not cmds[col]:
                    selected = node_ids(results[(scen, "plain")][0].output)
                    cmds[col] = [*plain_base, "--rootdir", str(root), *filt,
                                 *oracle_args(root, selected, every_file, [])]
                res = pytest_run(args.python, root, cmds[col])
                results.setdefault((scen, col), []).append(res)
                if res.selected is None:
                    sys.exit(f"django {scen}: {col} run failed:\n{res.output[-3000:]}")
                if col.startswith("plugin") and filt:
                    if "fastcollect: imported " not in res.output:
                        sys.exit(f"django {scen}: the plugin did not decide:\n{res.output[-3000:]}")
                    plain_ids = node_ids(results[(scen, "plain")][-1].output)
                    if node_ids(res.output) != plain_ids:
                        sys.exit(f"django {scen}: {col} selected other node IDs than plain pytest:\n{res.output[-3000:]}")
                    if col == "plugin":
                        reports[scen] = next(line for line in res.output.splitlines()
                                             if line.startswith("fastcollect: imported "))
        print(f"round {rnd + 1}/{args.rounds} done after {(time.perf_counter() - start) / 60:.1f} min", flush=True)

    rows = []
    for scen, filt, cmds in plans:
        plain_med = statistics.median(r.seconds for r in results[(scen, "plain")])
        for col in COLUMNS:
            runs = results.get((scen, col))
            if not runs:
                continue
            med = statistics.median(r.seconds for r in runs)
            rows.append({
                "scenario": scen, "filter": " ".join(filt), "column": col, "median_s": round(med, 3),
                "min_s": round(min(r.seconds for r in runs), 3), "max_s": round(max(r.seconds for r in runs), 3),
                "vs_plain": round(plain_med / med, 2), "selected": sorted({r.selected for r in runs}),
                "same_ids_as_plain": True if col.startswith("plugin") and filt else None,
                "report": reports.get(scen, "") if col == "plugin" else "",
            })
    versions = subprocess.run([args.python, "-c", "import importlib.metadata as m\n"
                               "for d in ('pytest', 'pytest-fastcollect', 'Django', 'pytest-django'):\n"
                               "    print(d, m.version(d))"], capture_output=True, text=True, check=True).stdout
    meta = {
        "date": time.strftime("%Y-%m-%d"), "platform": platform.platform(), "python": platform.python_version(),
        "rounds": args.rounds, "minutes": round((time.perf_counter() - start) / 60, 1),
        "versions": dict(line.split() for line in versions.splitlines()),
        "tests": len(ids), "test_modules": len(every_file), "description": suite.description,
        "command": "python " + " ".join(["benchmarks/bench_django.py", *sys.argv[1:]]),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"done in {meta['minutes']} min; wrote {args.json}")


if __name__ == "__main__":
    main()
