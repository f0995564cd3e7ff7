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
from dataclasses import dataclass, field
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
    plugins: List[str] = field(default_factory=list)  # distributions of the plugins pytest loaded


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
    "--sw": ([["--sw", "-k", "fails or add or other"], ["--sw", "-k", "fails or add or other"]], False),
    "--deselect": ([["--deselect", "tests/test_math.py::test_add", "-k", "add or more"]], True),
    "-p no:cacheprovider": ([["-p", "no:cacheprovider", "-k", "other"]], True),
    "--co": ([["--co", "-k", "param or member"]], True),
    "-m slow": ([["-m", "slow"]], True),
}


# Scenarios whose second filtered step must be decided by items learned in the first.
LEARNS = {"randomly"}

# Scenarios in which the plugin imports every test file, and what its line says.
IMPORTS_ALL = {"--sw": "--sw compares the number of collected tests"}


def write_project(root: Path) -> None:
    for rel, text in PROJECT.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# Lines the plugin may print as warnings in a scenario (anything else fails it).
EXPECTED_WARNINGS = {"-p no:cacheprovider": "cache plugin disabled: running without an index"}


def run(root: Path, args: Sequence[str], plain: bool, allowed_warning: str = "", plugin_dir: str = "") -> Run:
    out = root / "outcomes.json"
    if out.exists():
        out.unlink()
    env = dict(os.environ, FC_OUTCOMES=str(out), PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), plugin_dir])))
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_FASTCOLLECT", None)
    cmd = [sys.executable, "-m", "pytest", "-p", "fc_outcomes", "-q", "--randomly-seed=1234", *(["--no-fast-collect"] if plain else []), *args]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=300)
    assert out.exists(), f"{cmd} wrote no outcomes:\n{proc.stdout}\n{proc.stderr}"
    data = json.loads(out.read_text())
    report = next((line for line in proc.stdout.splitlines() if line.startswith("fastcollect:")), "")
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if "fastcollect: warning" in line]
    assert all(allowed_warning and allowed_warning in w for w in warnings), proc.stdout + proc.stderr
    return Run(data["collected"], data["outcomes"], data["exit"], report, data.get("plugins", []))


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
    if name in IMPORTS_ALL:
        assert fast.report.startswith("fastcollect: importing every test file: ") and IMPORTS_ALL[name] in fast.report, (
            fast.report)
        return
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


# ---------------------------------------------------------------------------
# Plugin scenarios: plugins from their own directories (pins in plugins.txt,
# built by `make test-matrix`), on the project above plus files that use
# them. Each step runs plain and with fastcollect, in two copies; both must
# collect the same node IDs in the same order with the same outcomes, and the
# step's report must say what fastcollect was to do under the plugins: "skip"
# (files skipped; on a scenario's first step, with no cache, by the static
# model alone), "learned" (files decided by items learned in an earlier
# step), "all: WHY" (every test file imported, the line says WHY), "none"
# (nothing skipped), "" (only compared).

PLUGINS_DIR = HERE.parent.parent / "build" / "matrix-plugins"

DJANGO_FILES: Dict[str, str] = {
    "pytest.ini": "[pytest]\nDJANGO_SETTINGS_MODULE = proj.settings\nmarkers =\n    slow\n    network\n"
                  "asyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n",
    "manage.py": "",
    "proj/__init__.py": "",
    "proj/settings.py": (
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['django.contrib.contenttypes', 'shop']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n"
        "USE_TZ = True\nDEFAULT_AUTO_FIELD = 'django.db.models.AutoField'\n"
    ),
    "shop/__init__.py": "",
    "shop/models.py": "from django.db import models\n\nclass Item(models.Model):\n    name = models.CharField(max_length=20)\n",
    "tests/test_shop.py": (
        "import pytest\nfrom shop.models import Item\n\n"
        "@pytest.mark.django_db\ndef test_create_item():\n    Item.objects.create(name='a')\n    assert Item.objects.count() == 1\n\n"
        "def test_no_db():\n    assert Item._meta.model_name == 'item'\n"
    ),
    "tests/test_shop_cases.py": (
        "from django.test import TestCase, TransactionTestCase, tag\nfrom shop.models import Item\n\n"
        "class ItemTests(TestCase):\n    @tag('fast')\n    def test_count(self):\n        self.assertEqual(Item.objects.count(), 0)\n\n"
        "class ItemTransactionTests(TransactionTestCase):\n    def test_create(self):\n        Item.objects.create(name='b')\n"
    ),
}


@dataclass
class PluginScenario:
    plugins: List[str]               # directories under build/matrix-plugins, all on PYTHONPATH
    steps: List[Tuple[List[str], str]]  # (arguments, what the report must show)
    files: Dict[str, str]            # added to (or replacing) the project's files


# Files for the plugins whose effects the static model takes (one project).
EFFECT_FILES: Dict[str, str] = {
    "tests/test_snap.py": "def test_snap(snapshot):\n    assert snapshot == 1\n\ndef test_plain_snap():\n    pass\n",
    "tests/test_bench.py": "def test_fast(benchmark):\n    benchmark(lambda: 1)\n\ndef test_not_bench():\n    pass\n",
    "tests/test_order.py": (
        "import pytest\n\n@pytest.mark.order(2)\ndef test_second():\n    pass\n\n"
        "@pytest.mark.order(1)\ndef test_first():\n    pass\n\n"
        "@pytest.mark.order(1)\n@pytest.mark.order(3)\ndef test_twice():\n    pass\n"),
    "tests/test_freeze.py": (
        "import datetime\nimport pytest\n\n@pytest.mark.freeze_time('2020-01-01')\n"
        "def test_frozen():\n    assert datetime.date.today().year == 2020\n"),
    "tests/test_rep.py": "import pytest\n\n@pytest.mark.repeat(2)\ndef test_again():\n    pass\n",
    "tests/test_lazy.py": (
        "import pytest\nimport pytest_lazy_fixtures\n\n"
        "@pytest.fixture(params=[1, 2])\ndef num(request):\n    return request.param\n\n"
        "@pytest.fixture\ndef one():\n    return 1\n\n"
        "@pytest.mark.parametrize('v', [pytest_lazy_fixtures.lf('one'), pytest_lazy_fixtures.lf('num')])\n"
        "def test_lazy(v):\n    assert v\n\n"
        "@pytest.mark.parametrize('w', [[pytest_lazy_fixtures.lf('num')]])\ndef test_lazy_list(w):\n    assert w\n"),
    "tests/test_trio_x.py": "import pytest\nimport trio\n\n@pytest.mark.trio\nasync def test_nursery():\n    await trio.sleep(0)\n",
    "tests/test_browser.py": "def test_title(browser_name):\n    assert browser_name\n\ndef test_no_browser():\n    pass\n",
    "tests/test_torn.py": "import asyncio\n\nasync def test_io_wait():\n    await asyncio.sleep(0)\n",
    "mathlib.py": "def add(a, b):\n    \"\"\"\n    >>> add(1, 2)\n    3\n    \"\"\"\n    return a + b\n",
}

# Plugins whose hooks act only when enabled: installed here, off.
WHEN_ENABLED = ["ruff", "doctestplus", "mypy", "testmon", "split"]

# Few steps, several plugins at once (each run starts them all): make test
# has a time budget. Every step is also a differential check of the others.
PLUGIN_SCENARIOS: Dict[str, PluginScenario] = {
    # syrupy, pytest-benchmark, pytest-order, pytest-freezer, pytest-repeat,
    # pytest-lazy-fixtures, pytest-trio, pytest-playwright, pytest-picked,
    # pytest-memray, pytest-tornasync, and the when-enabled ones not enabled.
    "effects": PluginScenario(
        ["syrupy", "benchmark", "order", "freezer", "repeat", "lazy", "trio", "playwright", "picked", "memray",
         "tornasync", *WHEN_ENABLED],
        [
            # First run: the static model decides under every plugin's effects.
            (["-k", "lazy_list and 2 or twice or frozen or plain_snap or nursery or io_wait or first"], "skip"),
            # pytest-order's trylast modifyitems only reorders: learned items decide.
            (["-k", "second or member or more"], "learned"),
            (["--browser", "firefox", "--picked=first", "-k", "firefox or add"], "skip"),
            (["--count", "2", "--splits", "2", "--group", "1", "-k", "add and 2-2 or again and 2-2 or member"], "skip"),
            (["--benchmark-skip", "-m", "syrupy_snapshot or skip or trio"], ""),
        ],
        EFFECT_FILES,
    ),
    "enabled": PluginScenario(
        ["order", *WHEN_ENABLED],
        [
            (["--ruff", "-k", "ruff or add"], "all: pytest-ruff"),
            (["--doctest-plus", "-k", "add"], "all: pytest-doctestplus"),
            (["--mypy", "-k", "add"], "all: pytest-mypy"),
            (["--testmon", "-k", "add or member"], "all: pytest-testmon"),
            (["--indulgent-ordering", "-k", "add"], "all: pytest-order --indulgent-ordering"),
        ],
        {"mathlib.py": EFFECT_FILES["mathlib.py"]},
    ),
    "django": PluginScenario(
        ["django"],
        [
            (["-k", "create_item or no_db or member"], "skip"),
            (["-m", "django_db or fast"], "skip"),  # 'fast': a Django tag, a marker on the TestCase method
        ],
        DJANGO_FILES,
    ),
    "describe": PluginScenario(
        ["describe"],
        [
            (["-k", "pushes or add"], "none"),  # collects describe_* functions: static model off
            (["-k", "member or more"], "learned"),
        ],
        {"tests/test_desc.py": "def describe_stack():\n    def it_pushes():\n        pass\n"},
    ),
}

def plugin_distributions() -> Dict[str, str]:
    """Directory -> the distribution of its plugin (the first package of its line in plugins.txt)."""
    out = {}
    for line in (HERE / "plugins.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, first = line.split()[:2]
            out[name] = first.split("==")[0].lower().replace("_", "-")
    return out


def test_every_matrix_plugin_is_installed() -> None:
    """A scenario means nothing if its plugin silently did not load."""
    for sc in PLUGIN_SCENARIOS.values():
        for plugin in sc.plugins:
            assert (PLUGINS_DIR / plugin).is_dir(), f"run `make test-matrix` ({plugin} missing)"


@pytest.mark.parametrize("name", list(PLUGIN_SCENARIOS))
def test_plugin_matrix(tmp_path: Path, name: str) -> None:
    sc = PLUGIN_SCENARIOS[name]
    plugin_dir = os.pathsep.join(str(PLUGINS_DIR / p) for p in sc.plugins)
    plain_root, fast_root = tmp_path / "plain", tmp_path / "fast"
    for root in (plain_root, fast_root):
        write_project(root)
        for rel, text in sc.files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    dists = plugin_distributions()
    for step, (args, expect) in enumerate(sc.steps):
        plain = run(plain_root, args, plain=True, plugin_dir=plugin_dir)
        fast = run(fast_root, args, plain=False, plugin_dir=plugin_dir)
        for plugin in sc.plugins:  # the scenario means nothing if a plugin silently did not load
            assert dists[plugin] in plain.plugins and dists[plugin] in fast.plugins, f"{plugin} not loaded"
        assert fast.exit == plain.exit, f"{args}: exit {fast.exit} != {plain.exit}"
        assert fast.collected == plain.collected, f"{args}: {fast.collected} != {plain.collected}"
        assert fast.outcomes == plain.outcomes, f"{args}: {fast.outcomes} != {plain.outcomes}"
        assert plain.collected or plain.outcomes, f"{args}: nothing ran"
        assert fast.report.startswith("fastcollect:"), f"{args}: no fastcollect report line"
        skipped = re.search(r"skipped (\d+)", fast.report)
        learned = re.search(r"(\d+) decided by learned items", fast.report)
        if expect.startswith("all: "):  # with the plugin that made it so
            assert f"importing every test file: {expect[5:]}" in fast.report, f"{args}: {fast.report}"
        elif expect == "skip":
            assert skipped and int(skipped.group(1)) > 0, f"{args}: the plugin skipped nothing: {fast.report}"
            if step == 0:  # no cache yet: the static model decided under the plugins
                assert learned and int(learned.group(1)) == 0, f"{args}: {fast.report}"
        elif expect == "none":
            assert skipped and int(skipped.group(1)) == 0, f"{args}: {fast.report}"
        elif expect == "learned":
            assert skipped and int(skipped.group(1)) > 0, f"{args}: the plugin skipped nothing: {fast.report}"
            assert learned and int(learned.group(1)) > 0, f"{args}: nothing learned: {fast.report}"
