"""The plugin matrix: popular plugins and pytest's cache options, with and
without fastcollect, on one small project. Each scenario runs its steps twice,
in two copies of the project (plain pytest, then with the plugin; each copy
keeps its own .pytest_cache), and compares what was collected and how every
test ended. Run by `make test-matrix` in venvs that hold the plugins, once
with pytest 9 and once with pytest 8 (docs/compatibility.md has the table)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest

HERE = Path(__file__).resolve().parent

PROJECT: Dict[str, str] = {
    "pytest.ini": "[pytest]\nmarkers =\n    slow\n    network\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n",
    "mathlib.py": "def add(a, b):\n    return a + b\n",
    "tests/test_math.py": (
        "import pytest\n"
        "from mathlib import add\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n\n"
        "def test_fails():\n    assert add(1, 1) == 3\n\n"
        "@pytest.mark.slow\ndef test_slow():\n    pass\n\n"
        "@pytest.mark.parametrize('x', [1, 2, 3])\ndef test_param(x):\n    assert x != 2\n"
    ),
    "tests/test_async.py": (
        "import asyncio\nimport pytest\n\n"
        "async def test_coro():\n    await asyncio.sleep(0)\n\n"
        "@pytest.mark.network\nasync def test_coro_network():\n    await asyncio.sleep(0)\n"
    ),
    "tests/test_props.py": (
        "from hypothesis import given, settings, strategies as st\n\n"
        "@settings(max_examples=5)\n@given(st.integers())\ndef test_prop(x):\n    assert isinstance(x, int)\n\n"
        "def test_plain_in_props():\n    pass\n"
    ),
    "tests/sub/test_other.py": (
        "class TestGroup:\n    def test_member(self):\n        pass\n\n"
        "def test_other():\n    pass\n"
    ),
    "tests/sub/test_more.py": "def test_more():\n    pass\n",
}


@dataclass
class Run:
    collected: List[str]
    outcomes: Dict[str, str]
    exit: int
    report: str  # fastcollect's line, "" without the plugin


# Each scenario: (row in the docs table, list of steps, must the plugin skip a file?).
# Steps run in order in the same copy of the project; the last step is compared,
# earlier steps prepare the cache (--lf, --ff, --sw). Every step is compared too.
SCENARIOS: Dict[str, Tuple[List[List[str]], bool]] = {
    "xdist -n 2": ([["-n", "2", "-k", "add or member"]], True),
    "xdist -n 4": ([["-n", "4", "-k", "param or coro"]], True),
    "randomly": ([["-k", "param or other"], ["-k", "member or coro"]], True),
    "cov": ([["--cov=mathlib", "--cov-report=term", "-k", "add"]], True),
    "asyncio -k": ([["-k", "coro"]], True),
    "asyncio -m": ([["-m", "asyncio"]], False),
    "asyncio -m not": ([["-m", "not asyncio and not slow"]], False),
    "hypothesis -m": ([["-m", "hypothesis"]], False),
    "hypothesis -k": ([["-k", "prop and not plain"]], True),
    "--lf": ([[], ["--lf", "-k", "param or fails or more"]], True),
    "--ff": ([[], ["--ff", "-k", "param or other"]], True),
    "--sw": ([["--sw", "-k", "fails or add or other"], ["--sw", "-k", "fails or add or other"]], True),
    "--deselect": ([["--deselect", "tests/test_math.py::test_add", "-k", "add or more"]], True),
    "-p no:cacheprovider": ([["-p", "no:cacheprovider", "-k", "other"]], True),
    "--co": ([["--co", "-k", "param or member"]], True),
    "-m slow": ([["-m", "slow"]], True),
}


# Scenarios whose second filtered step must be decided by items learned in the first.
LEARNS = {"randomly"}


def write_project(root: Path) -> None:
    for rel, text in PROJECT.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# Lines the plugin may print as warnings in a scenario (anything else fails it).
EXPECTED_WARNINGS = {"-p no:cacheprovider": "cache plugin disabled: running without an index"}


def run(root: Path, args: Sequence[str], plain: bool, allowed_warning: str = "") -> Run:
    out = root / "outcomes.json"
    if out.exists():
        out.unlink()
    env = dict(os.environ, FC_OUTCOMES=str(out), PYTHONPATH=str(HERE))
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_FASTCOLLECT", None)
    cmd = [sys.executable, "-m", "pytest", "-p", "fc_outcomes", "-q", "--randomly-seed=1234", *(["--no-fast-collect"] if plain else []), *args]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=300)
    assert out.exists(), f"{cmd} wrote no outcomes:\n{proc.stdout}\n{proc.stderr}"
    data = json.loads(out.read_text())
    report = next((line for line in proc.stdout.splitlines() if line.startswith("fastcollect:")), "")
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if "fastcollect: warning" in line]
    assert all(allowed_warning and allowed_warning in w for w in warnings), proc.stdout + proc.stderr
    return Run(data["collected"], data["outcomes"], data["exit"], report)


def test_every_plugin_is_installed() -> None:
    """The matrix means nothing if a plugin silently did not load."""
    for module in ("xdist", "pytest_randomly", "pytest_cov", "pytest_asyncio", "hypothesis"):
        __import__(module)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_matrix(tmp_path: Path, name: str) -> None:
    steps, must_skip = SCENARIOS[name]
    plain_root, fast_root = tmp_path / "plain", tmp_path / "fast"
    write_project(plain_root)
    write_project(fast_root)
    for args in steps:
        plain = run(plain_root, args, plain=True)
        fast = run(fast_root, args, plain=False, allowed_warning=EXPECTED_WARNINGS.get(name, ""))
        # 2: --sw interrupts the session at the first failure.
        assert plain.exit in ((0, 1, 2) if "--sw" in args else (0, 1)), f"{args}: plain exit {plain.exit}"
        assert fast.exit == plain.exit, f"{args}: exit {fast.exit} != {plain.exit}"
        assert fast.collected == plain.collected, f"{args}: {fast.collected} != {plain.collected}"
        assert fast.outcomes == plain.outcomes, f"{args}: {fast.outcomes} != {plain.outcomes}"
        assert plain.collected or plain.outcomes, f"{args}: nothing ran"
    m = re.search(r"skipped (\d+)", fast.report)
    assert m, f"no fastcollect report line: {fast.report!r}"
    if must_skip:
        assert int(m.group(1)) > 0, f"the plugin skipped nothing: {fast.report}"
    if name in LEARNS:
        learned = re.search(r"(\d+) decided by learned items", fast.report)
        assert learned and int(learned.group(1)) > 0, f"nothing learned: {fast.report}"


@pytest.mark.parametrize("n", ["2", "4"])
def test_concurrent_processes_on_one_fresh_index(tmp_path: Path, n: str) -> None:
    """Several pytest processes start on one empty index at once: the same
    answer in each, no LMDB error, and the index serves the next run."""
    write_project(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(HERE))
    cmd = [sys.executable, "-m", "pytest", "-p", "no:randomly", "--co", "-q", "-k", "param or member"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
             for _ in range(int(n))]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    ids = [sorted(line for line in out.splitlines() if "::" in line) for out in outputs]
    assert all(i == ids[0] for i in ids) and len(ids[0]) == 4, outputs
    for out in outputs:
        assert "warning" not in out.lower(), out
    again = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300).stdout
    # Nothing lost: the next run parses no file again and skips as before.
    assert re.search(r"imported 2 of 5 test files, skipped 3; index: 0 parsed", again), again
