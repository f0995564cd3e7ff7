"""Generates a synthetic pytest suite shaped like a real one: packages of test
modules that import a heavy helper, with functions, classes, marks and
literal parametrization. Every test function name is unique, so `-k NAME`
selects one function (and its parameter sets).

Two shapes. "plain": every module does `import heavy_helper`. "real" (what
real suites look like): a project package `proj` under test, imported by name
(`from proj.core import parse, Table`, `from proj import util`); a third of the
modules also import a helper module of their test package relatively; one
module in ten imports a fixture from `proj.testing.fixtures` (plain, autouse
or parametrized, in turn); the root conftest adds a `--runslow` option and a
`pytest_collection_modifyitems` that skips slow tests without it."""

from __future__ import annotations

import argparse
import random
import textwrap
from pathlib import Path

HEAVY_HELPER = '''\
"""Stands in for the project code a real test module imports: building it
costs time once per process, like importing a large package."""
import json, decimal, fractions, statistics, email.parser, http.client, xml.dom.minidom, difflib

TABLE = {i: str(i) * 3 for i in range(200_000)}


def check(value):
    return value is not None
'''

CONFTEST = '''\
import pytest


@pytest.fixture
def resource():
    return {"ready": True}
'''


def module_source(index: int, tests: int, rng: random.Random) -> str:
    lines = ["import pytest", "import heavy_helper", ""]
    made = 0
    n = 0
    while made < tests:
        kind = rng.random()
        name = f"test_f{index:04d}_{n}"
        n += 1
        if kind < 0.15:
            count = min(4, tests - made)
            values = ", ".join(str(v) for v in range(count))
            lines += [f'@pytest.mark.parametrize("value", [{values}])', f"def {name}(value):",
                      "    assert heavy_helper.check(value)", ""]
            made += count
        elif kind < 0.25:
            mark = rng.choice(["slow", "db", "network"])
            lines += [f"@pytest.mark.{mark}", f"def {name}(resource):", "    assert resource['ready']", ""]
            made += 1
        elif kind < 0.35:
            methods = min(3, tests - made)
            lines += [f"class TestGroup{index:04d}x{n}:"]
            for m in range(methods):
                lines += [f"    def {name}_m{m}(self):", "        assert heavy_helper.TABLE[1] == '111'", ""]
            made += methods
        else:
            lines += [f"def {name}():", "    assert heavy_helper.check(1)", ""]
            made += 1
    return "\n".join(lines) + "\n"


PROJ_INIT = '''\
"""The project under test."""
from proj.core import Table, parse

__all__ = ["Table", "parse"]
'''

PROJ_CORE = HEAVY_HELPER + '''

def parse(text):
    return [part for part in str(text).split(",") if part]


class Table:
    def __init__(self, rows=()):
        self.rows = list(rows)

    def __len__(self):
        return len(self.rows)
'''

PROJ_UTIL = '''\
def normalize(value):
    return str(value).strip().lower()


def pairs(values):
    return list(zip(values, values[1:]))
'''

PROJ_FIXTURES = '''\
import pytest


@pytest.fixture
def plain_fx():
    return {"kind": "plain"}


@pytest.fixture(autouse=True)
def auto_fx():
    yield "auto"


@pytest.fixture(params=["pa", "pb"])
def param_fx(request):
    return request.param
'''

TEST_HELPERS = '''\
"""Helpers shared by the test modules of this package (not a test module)."""
from proj.core import Table


def make_case(n):
    return Table(range(n))
'''

REAL_CONFTEST = CONFTEST + '''

def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="needs --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
'''

_FIXTURE_KINDS = ("plain_fx", "auto_fx", "param_fx")


def real_module_source(index: int, tests: int, rng: random.Random) -> str:
    """A test module in the "real" shape (see the module docstring)."""
    lines = ["import pytest", "", "from proj import util", "from proj.core import Table, parse"]
    relative = index % 3 == 0
    fixture = _FIXTURE_KINDS[(index // 10) % 3] if index % 10 == 5 else None
    if relative:
        lines.append("from ._helpers import make_case")
    if fixture:
        lines.append(f"from proj.testing.fixtures import {fixture}")
    lines.append("")
    made = 0
    n = 0
    while made < tests:
        kind = rng.random()
        name = f"test_f{index:04d}_{n}"
        n += 1
        args = "param_fx" if fixture == "param_fx" and n == 1 else ("plain_fx" if fixture == "plain_fx" and n == 1 else "")
        if kind < 0.15:
            count = min(4, tests - made)
            values = ", ".join(repr(f"v{v},w") for v in range(count))
            sig = ", ".join(x for x in ("text", args) if x)
            lines += [f'@pytest.mark.parametrize("text", [{values}])', f"def {name}({sig}):",
                      "    assert len(parse(text)) == 2", ""]
            made += count
        elif kind < 0.25:
            mark = rng.choice(["slow", "db", "network"])
            sig = ", ".join(x for x in ("resource", args) if x)
            lines += [f"@pytest.mark.{mark}", f"def {name}({sig}):", "    assert resource['ready']", ""]
            made += 1
        elif kind < 0.35:
            methods = min(3, tests - made)
            lines += [f"class TestGroup{index:04d}x{n}:"]
            for m in range(methods):
                body = "make_case(2)" if relative else "Table([1, 2])"
                lines += [f"    def {name}_m{m}(self):", f"        assert len({body}) == 2", ""]
            made += methods
        else:
            lines += [f"def {name}({args}):", "    assert util.normalize(' A ') == 'a'", ""]
            made += 1
    return "\n".join(lines) + "\n"


def generate(root: Path, files: int, tests_per_file: int, seed: int = 0, per_package: int = 40,
             shape: str = "plain") -> Path:
    """Writes the suite under root (replacing it) and returns root."""
    if shape not in ("plain", "real"):
        raise ValueError(f"unknown shape {shape!r}")
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    if shape == "real":
        return _generate_real(root, files, tests_per_file, rng, per_package)
    (root / "heavy_helper.py").write_text(HEAVY_HELPER)
    (root / "conftest.py").write_text(CONFTEST)
    (root / "pytest.ini").write_text(
        textwrap.dedent(
            """\
            [pytest]
            testpaths = tests
            markers =
                slow
                db
                network
            """
        )
    )
    for i in range(files):
        pkg = root / "tests" / f"pkg{i // per_package:03d}"
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / f"test_mod{i:04d}.py").write_text(module_source(i, tests_per_file, rng))
    return root


def _generate_real(root: Path, files: int, tests_per_file: int, rng: random.Random, per_package: int) -> Path:
    for rel, text in {"proj/__init__.py": PROJ_INIT, "proj/core.py": PROJ_CORE, "proj/util.py": PROJ_UTIL,
                      "proj/testing/__init__.py": "", "proj/testing/fixtures.py": PROJ_FIXTURES,
                      "conftest.py": REAL_CONFTEST, "tests/__init__.py": ""}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "pytest.ini").write_text(
        "[pytest]\ntestpaths = tests\npythonpath = .\nmarkers =\n    slow\n    db\n    network\n"
    )
    for i in range(files):
        pkg = root / "tests" / f"pkg{i // per_package:03d}"
        if not pkg.is_dir():
            pkg.mkdir(parents=True)
            (pkg / "__init__.py").write_text("")
            (pkg / "_helpers.py").write_text(TEST_HELPERS)
        (pkg / f"test_mod{i:04d}.py").write_text(real_module_source(i, tests_per_file, rng))
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("root", type=Path)
    ap.add_argument("--files", type=int, default=1200)
    ap.add_argument("--tests-per-file", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shape", choices=("plain", "real"), default="plain",
                    help="plain: `import heavy_helper`; real: from-imports of a project package, conftest hook")
    args = ap.parse_args()
    generate(args.root, args.files, args.tests_per_file, args.seed, shape=args.shape)


if __name__ == "__main__":
    main()
