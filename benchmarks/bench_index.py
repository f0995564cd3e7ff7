"""Index throughput of the native core, phase by phase.

Cold: a fresh index over a generated suite (walk, stat, read, hash, parse,
LMDB write). Warm: the same files again, unchanged (walk, stat, LMDB read,
decode, decide). Reported: MB/s and files/s cold, microseconds per file warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gen_suite import generate  # noqa: E402

from pytest_fastcollect.environment import stdlib_names  # noqa: E402
from pytest_fastcollect.native import load  # noqa: E402


def scan(native, root: Path, index: Path, keyword: str | None) -> tuple[float, dict]:
    cfg = {
        "rootdir": str(root), "roots": [str(root / "tests")], "python_files": ["test_*.py", "*_test.py"],
        "python_classes": ["Test"], "python_functions": ["test"],
        "norecursedirs": ["*.egg", ".*", "_darcs", "build", "CVS", "dist", "node_modules", "venv", "{arch}"],
        "stdlib": stdlib_names(), "index_dir": str(index), "keyword": keyword, "markexpr": None,
    }
    start = time.perf_counter()
    result = native.core.scan(native.language, cfg)
    elapsed = time.perf_counter() - start
    assert not result["error"], result["error"]
    return elapsed, result["stats"]


def suite_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "tests").rglob("*.py"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--tests-per-file", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    native = load()
    if isinstance(native, str):
        sys.exit(native)
    work = Path(tempfile.mkdtemp(prefix="fc-bench-"))
    try:
        root = generate(work / "suite", args.files, args.tests_per_file)
        # Timestamps must be older than the racy window for the warm path.
        time.sleep(2.2)
        size = suite_bytes(root)
        colds, warms, fresh = [], [], []
        cold_stats = warm_stats = fresh_stats = {}
        for i in range(args.repeat):
            index = work / f"index-{len(colds)}"
            t, cold_stats = scan(native, root, index, "test_f0001_1")
            colds.append(t)
            t, warm_stats = scan(native, root, index, "test_f0001_1")
            warms.append(t)
            # Warm index, but a filter never seen before: facts decoded, every module decided.
            t, fresh_stats = scan(native, root, index, f"test_f0002_{i}")
            fresh.append(t)
            assert fresh_stats["cached_decisions"] == 0, fresh_stats
            assert warm_stats["from_index"] == warm_stats["files"] + warm_stats["conftests"], warm_stats
            shutil.rmtree(index)
        files = cold_stats["files"] + cold_stats["conftests"]
        cold = statistics.median(colds)
        warm = statistics.median(warms)
        out = {
            "command": " ".join(["python", "benchmarks/bench_index.py", *sys.argv[1:]]), "repeat": args.repeat,
            "files": files, "megabytes": size / 1e6, "threads": os.cpu_count(),
            "cold_s": cold, "cold_mb_per_s": size / 1e6 / cold, "cold_files_per_s": files / cold,
            "warm_s": warm, "warm_us_per_file": warm / files * 1e6,
            "warm_new_filter_s": statistics.median(fresh),
            "warm_new_filter_us_per_file": statistics.median(fresh) / files * 1e6,
            "cold_phases_ms": {k: round(cold_stats[k], 1) for k in
                               ("walk_ms", "files_ms", "write_ms", "stat_ms", "lookup_ms",
                                "read_ms", "hash_ms", "parse_ms", "decide_ms")},
            "warm_phases_ms": {k: round(warm_stats[k], 1) for k in
                               ("walk_ms", "files_ms", "stat_ms", "lookup_ms", "decide_ms")},
        }
        print(f"{files} files, {size / 1e6:.1f} MB, {os.cpu_count()} cores, median of {args.repeat}")
        print(f"cold: {cold * 1000:.0f} ms  = {out['cold_mb_per_s']:.1f} MB/s, {out['cold_files_per_s']:.0f} files/s")
        print(f"warm, same filter again: {warm * 1000:.1f} ms = {out['warm_us_per_file']:.2f} us per file")
        print(f"warm, new filter: {out['warm_new_filter_s'] * 1000:.1f} ms = "
              f"{out['warm_new_filter_us_per_file']:.2f} us per file")
        print("cold phases (ms; stat..decide are summed over threads):", out["cold_phases_ms"])
        print("warm phases (ms):", out["warm_phases_ms"])
        if args.json:
            args.json.write_text(json.dumps(out, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
