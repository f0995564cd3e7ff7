"""Generates a synthetic pytest suite shaped like a real one: packages of test
modules that import a heavy helper, with functions, classes, marks and
literal parametrization. Every test function name is unique, so `-k NAME`
selects one function (and its parameter sets)."""

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


def generate(root: Path, files: int, tests_per_file: int, seed: int = 0, per_package: int = 40) -> Path:
    """Writes the suite under root (replacing it) and returns root."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("root", type=Path)
    ap.add_argument("--files", type=int, default=1200)
    ap.add_argument("--tests-per-file", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    generate(args.root, args.files, args.tests_per_file, args.seed)


if __name__ == "__main__":
    main()
