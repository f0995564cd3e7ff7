"""Per-rule counts of `--fast-collect-explain` on a cold index: why each test
module the plugin imported could not be skipped, grouped by rule.

    python benchmarks/explain_rules.py --python PY --cwd DIR -k NAME -- PATHS...

runs `PY -m pytest --co -q -p no:randomly -p no:xdist --cache-clear
--fast-collect-explain -o cache_dir=TMP -k NAME PATHS` in DIR (the cache in a
fresh temporary directory, so a suite's own cache is left alone) and prints
one JSON row: modules, skipped, imported by rule. `--label` names the row;
`--out FILE` adds or replaces the row of that label and suite in FILE's "rows".
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List

REPORT = re.compile(r"fastcollect: imported (\d+) of (\d+) test files, skipped (\d+)")
RULE = re.compile(r"^\s+(\d+)\s+(.*\S)\s*$")


def parse(output: str) -> Dict[str, Any]:
    """The report line's counts and the "imports by rule" block."""
    lines = output.splitlines()
    report = next((REPORT.search(line) for line in lines if REPORT.search(line)), None)
    if report is None:
        raise SystemExit(f"no fastcollect report line in the output:\n{output[-3000:]}")
    rules: Dict[str, int] = {}
    inside = False
    for line in lines:
        if line.startswith("imports by rule:"):
            inside = True
            continue
        if inside:
            m = RULE.match(line)
            if not m:
                break
            rules[m.group(2)] = rules.get(m.group(2), 0) + int(m.group(1))
    return {"modules": int(report.group(2)), "imported": int(report.group(1)),
            "skipped": int(report.group(3)), "imported_by_rule": rules}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", required=True)
    ap.add_argument("--cwd", type=Path, default=Path.cwd())
    ap.add_argument("-k", dest="keyword", required=True)
    ap.add_argument("--suite", required=True)
    ap.add_argument("--label", default="after")
    ap.add_argument("--out", type=Path)
    ap.add_argument("paths", nargs=argparse.REMAINDER, help="after --: paths and options for pytest")
    args = ap.parse_args()
    if args.paths[:1] == ["--"]:
        args.paths = args.paths[1:]
    with tempfile.TemporaryDirectory(prefix="fc-explain-") as cache:
        cmd: List[str] = [args.python, "-m", "pytest", "--co", "-q", "-p", "no:randomly", "-p", "no:xdist",
                          "--cache-clear", "--fast-collect-explain", "-o", f"cache_dir={cache}",
                          "-k", args.keyword, *args.paths]
        proc = subprocess.run(cmd, cwd=args.cwd, capture_output=True, text=True, timeout=3600)
    if proc.returncode not in (0, 5):
        raise SystemExit(f"{cmd} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    row = {"suite": args.suite, "label": args.label, "paths": " ".join(args.paths), "k": args.keyword,
           **parse(proc.stdout)}
    print(json.dumps(row, indent=1))
    if args.out:
        data = json.loads(args.out.read_text()) if args.out.exists() else {"rows": []}
        data["rows"] = [r for r in data.get("rows", [])
                        if not (r.get("suite") == args.suite and r.get("label") == args.label)] + [row]
        args.out.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
