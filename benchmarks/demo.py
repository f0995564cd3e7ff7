"""`make demo`: a generated suite, `pytest -k` with and without the plugin,
times shown, and the selections compared."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from gen_suite import generate  # noqa: E402

ROOT = HERE.parent / "build" / "demo-suite"
FILES, TESTS = 1200, 40
TARGET = "test_f0777_3"


def run(*args: str) -> tuple[float, str]:
    # Bytecode caches on, as on a developer's machine (some environments turn them off).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *args],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 5):
        sys.exit(f"pytest failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


# pytest_fastcollect/plugin.py's report line after a decision.
REPORT = re.compile(r"^fastcollect: imported (\d+) of (\d+) test files, skipped (\d+); index: (\d+) parsed, ", re.M)


def report_counts(out: str, label: str) -> tuple[int, int, int, int]:
    """(imported, total, skipped, parsed) from the plugin's one report line."""
    found = REPORT.findall(out)
    if len(found) != 1:
        sys.exit(f"{label}: expected one fastcollect report line, found {len(found)} (plugin off?):\n{out[-3000:]}")
    imported, total, skipped, parsed = (int(x) for x in found[0])
    return imported, total, skipped, parsed


def passed(out: str) -> str:
    m = re.search(r"(\d+ passed)", out)
    return m.group(1) if m else "0 passed"


def main() -> None:
    if not (ROOT / "tests").exists():
        print(f"generating {FILES} files x {TESTS} tests in {ROOT} ...")
        generate(ROOT, FILES, TESTS)
    print(f"suite: {FILES} test files, about {FILES * TESTS} tests; filter: -k {TARGET}\n")
    if not any((ROOT / "tests").rglob("__pycache__")):
        print("writing bytecode caches (one plain run) ...")
        run("--no-fast-collect", "-k", TARGET)
    plain_t, plain_out = run("--no-fast-collect", "-k", TARGET)
    cold_t, cold_out = run("--cache-clear", "-k", TARGET)
    warm = [run("-k", TARGET) for _ in range(3)]
    warm_t = statistics.median(t for t, _ in warm)
    warm_out = warm[-1][1]
    report = [line for line in warm_out.splitlines() if line.startswith("fastcollect:")]
    print(f"  plain pytest (--no-fast-collect)   {plain_t:7.2f} s   {passed(plain_out)}")
    print(f"  fastcollect, cold (--cache-clear)  {cold_t:7.2f} s   {passed(cold_out)}   {plain_t / cold_t:5.1f}x")
    print(f"  fastcollect, warm (median of 3)    {warm_t:7.2f} s   {passed(warm_out)}   {plain_t / warm_t:5.1f}x")
    for line in report:
        print("  " + line)
    if passed(plain_out) != passed(warm_out) or passed(plain_out) != passed(cold_out):
        sys.exit("selections differ: this is a bug")
    # Equal counts alone would hold with the plugin off: it must have decided
    # every file and skipped all but the one holding the test, cold and warm,
    # and the warm runs must have answered from the index.
    if REPORT.search(plain_out):
        sys.exit("--no-fast-collect printed a fastcollect report line")
    for label, out in [("cold", cold_out)] + [(f"warm run {i + 1}", o) for i, (_, o) in enumerate(warm)]:
        imported, total, skipped, parsed = report_counts(out, label)
        if total != FILES or skipped != FILES - 1 or imported != 1:
            sys.exit(f"{label}: the plugin imported {imported} and skipped {skipped} of {total} files, "
                     f"expected 1 and {FILES - 1} of {FILES}")
        if label == "cold" and parsed < FILES:
            sys.exit(f"cold: {parsed} files parsed after --cache-clear, expected every one ({FILES})")
        if label != "cold" and parsed != 0:
            sys.exit(f"{label}: {parsed} files parsed again, expected 0 (the index answers)")
    print(f"\nsame tests selected with and without the plugin; it skipped {FILES - 1} of {FILES} files")


if __name__ == "__main__":
    main()
