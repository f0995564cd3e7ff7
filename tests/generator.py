"""Seeded random pytest projects mixing the constructs that decide which items
exist and what -k/-m see. Names come from a small vocabulary so that they
collide across files, directories, classes, marks and parameter ids."""

from __future__ import annotations

import random
from typing import Dict, List

WORDS = ["alpha", "beta", "gamma", "parse", "load", "int64", "slow", "fast", "db", "unit", "io", "x1"]
MARKS = ["slow", "db", "net", "flaky"]


class Generator:
    def __init__(self, seed: int, global_hooks: bool = True) -> None:
        self.rng = random.Random(seed)
        self.counter = 0
        # False: conftests define no hook that reaches every module of the session
        # (the random draws stay the same, only those hooks are left out).
        self.global_hooks = global_hooks

    def word(self) -> str:
        return self.rng.choice(WORDS)

    def name(self, prefix: str = "test_") -> str:
        self.counter += 1
        return f"{prefix}{self.word()}_{self.counter}"

    def literal(self) -> str:
        return self.rng.choice(
            [str(self.rng.randint(-3, 30)), repr(self.word()), "True", "None", "(1, 2)", "[3]", "1.5",
             repr(self.word() + " " + self.word()), "'Ünï'", "''"]
        )

    def mark(self) -> str:
        m = self.rng.choice(MARKS)
        if self.rng.random() < 0.3:
            return f"pytest.mark.{m}(reason={self.word()!r})"
        return f"pytest.mark.{m}"

    def parametrize(self, argname: str) -> str:
        values: List[str] = []
        for _ in range(self.rng.randint(0, 4)):
            if self.rng.random() < 0.25:
                extra = []
                if self.rng.random() < 0.5:
                    extra.append(f"id={self.word() + str(self.rng.randint(0, 9))!r}")
                if self.rng.random() < 0.5:
                    extra.append(f"marks={self.mark()}")
                values.append(f"pytest.param({', '.join([self.literal()] + extra)})")
            else:
                values.append(self.literal())
        ids = ""
        if values and self.rng.random() < 0.2:
            ids = ", ids=[" + ", ".join(repr(self.word() + str(i)) for i in range(len(values))) + "]"
        return f"@pytest.mark.parametrize({argname!r}, [{', '.join(values)}]{ids})"

    def function(self, indent: str, fixtures: List[str], method: bool = False) -> List[str]:
        lines: List[str] = []
        params: List[str] = ["self"] if method else []
        roll = self.rng.random()
        if roll < 0.25:
            lines.append(indent + f"@{self.mark()}")
        if self.rng.random() < 0.3:
            lines.append(indent + self.parametrize("p"))
            params.append("p")
            if self.rng.random() < 0.3:
                lines.append(indent + self.parametrize("q"))
                params.append("q")
        if self.rng.random() < 0.07:
            lines.append(indent + "@helpers.wrap")
        if self.rng.random() < 0.1:
            lines.append(indent + f"@slowmark")
        if fixtures and self.rng.random() < 0.3:
            params.append(self.rng.choice(fixtures))
        if self.rng.random() < 0.08:
            lines.append(indent + "@pytest.mark.usefixtures('tmp_path')")
        asynchronous = "async " if self.rng.random() < 0.04 else ""
        lines.append(f"{indent}{asynchronous}def {self.name()}({', '.join(params)}):")
        lines.append(indent + "    pass")
        return lines

    def klass(self, indent: str, fixtures: List[str], depth: int = 0) -> List[str]:
        lines: List[str] = []
        if self.rng.random() < 0.2:
            lines.append(indent + f"@{self.mark()}")
        base = ""
        roll = self.rng.random()
        if roll < 0.08:
            base = "(unittest.TestCase)"
        name = self.name("Test").replace("_", "").title() if self.rng.random() < 0.85 else self.name("Helper")
        lines.append(f"{indent}class {name}{base}:")
        if self.rng.random() < 0.15:
            lines.append(indent + f"    pytestmark = [{self.mark()}]")
        if self.rng.random() < 0.05:
            lines.append(indent + "    __test__ = False")
        for _ in range(self.rng.randint(1, 3)):
            lines += self.function(indent + "    ", [] if base else fixtures, method=True)
        if depth == 0 and self.rng.random() < 0.2:
            lines += self.klass(indent + "    ", fixtures, depth + 1)
        return lines

    def module(self, fixtures: List[str]) -> str:
        lines = ["import pytest", "import unittest", "import helpers", "slowmark = pytest.mark.slow", ""]
        if self.rng.random() < 0.15:
            lines.append(f"pytestmark = [{self.mark()}]")
        if self.rng.random() < 0.15:
            lines += ["@pytest.fixture(params=[" + ", ".join(self.literal() for _ in range(2)) + "])",
                      "def local_fx(request):", "    return request.param", ""]
            fixtures = fixtures + ["local_fx"]
        if self.rng.random() < 0.05:
            lines += ["from helpers import *", ""]
        if self.rng.random() < 0.05:
            lines += ["from helpers import test_shared", ""]
        if self.rng.random() < 0.05:
            lines += ["def pytest_generate_tests(metafunc):",
                      "    if 'p' in metafunc.fixturenames and not hasattr(metafunc.function, 'pytestmark'):",
                      "        metafunc.parametrize('p', ['gen1'])", ""]
        for _ in range(self.rng.randint(1, 5)):
            roll = self.rng.random()
            if roll < 0.6:
                lines += self.function("", fixtures)
            elif roll < 0.85:
                lines += self.klass("", fixtures)
            elif roll < 0.92:
                lines += ["if True:"] + self.function("    ", fixtures)
            else:
                lines += [f"{self.name()} = helpers.make()"]
            lines.append("")
        return "\n".join(lines) + "\n"

    def conftest(self) -> tuple[str, List[str]]:
        lines = ["import pytest", ""]
        names: List[str] = []
        if self.rng.random() < 0.5:
            name = f"fx_{self.word()}"
            params = ", ".join(self.literal() for _ in range(2))
            autouse = ", autouse=True" if self.rng.random() < 0.2 else ""
            lines += [f"@pytest.fixture(params=[{params}]{autouse})", f"def {name}(request):",
                      "    return request.param", ""]
            names.append(name)
        if self.rng.random() < 0.5:
            name = f"plain_{self.word()}"
            lines += ["@pytest.fixture", f"def {name}():", "    return 1", ""]
            names.append(name)
        if self.rng.random() < 0.1 and self.global_hooks:
            lines += ["def pytest_collection_modifyitems(items):", "    for item in items:",
                      "        if 'beta' in item.name:", "            item.add_marker(pytest.mark.db)", ""]
        if self.rng.random() < 0.1:
            lines += ["def pytest_runtest_setup(item):", "    pass", ""]
        if self.rng.random() < 0.07:
            lines += ["def pytest_generate_tests(metafunc):", "    if 'q' in metafunc.fixturenames "
                      "and not any(m.name == 'parametrize' for m in metafunc.definition.iter_markers()):",
                      "        metafunc.parametrize('q', ['cgen'])", ""]
        if self.rng.random() < 0.05 and self.global_hooks:
            lines += ["def pytest_make_parametrize_id(config, val, argname):", "    return f'hid{val!r}'", ""]
        if self.rng.random() < 0.1:
            lines += ["def pytest_configure(config):", "    config.addinivalue_line('markers', 'extra')", ""]
        return "\n".join(lines) + "\n", names

    def project(self, breadth: int = 3, unique_modules: bool = False) -> Dict[str, str]:
        """breadth: at most this many top-level directories; unique_modules: module
        basenames never repeat (many directories would otherwise reuse one)."""
        files: Dict[str, str] = {
            "helpers.py": (
                "import functools\n"
                "def wrap(f):\n    @functools.wraps(f)\n    def inner(*a, **k):\n        return f(*a, **k)\n"
                "    return inner\n"
                "def make():\n    def t():\n        pass\n    return t\n"
                "def test_shared():\n    pass\n"
            ),
            "pytest.ini": "[pytest]\nmarkers =\n  slow\n  db\n  net\n  flaky\n",
        }
        dirs = [""] + [self.word() + "/" for _ in range(self.rng.randint(1, breadth))]
        if unique_modules:  # words repeat: make every directory name unique as well
            dirs = [""] + [f"{d[:-1]}{n}/" for n, d in enumerate(dirs[1:])]
        dirs += [d + self.word() + "/" for d in dirs[1:] if self.rng.random() < 0.4]
        fixtures_by_dir: Dict[str, List[str]] = {}
        for d in dirs:
            inherited: List[str] = []
            for other, names in fixtures_by_dir.items():
                if d.startswith(other):
                    inherited += names
            if self.rng.random() < 0.4:
                text, names = self.conftest()
                files[d + "conftest.py"] = text
                inherited += names
            fixtures_by_dir[d] = inherited
            for _ in range(self.rng.randint(1, 3)):
                suffix = f"_{len(files)}" if unique_modules else ""
                files[f"{d}test_{self.word()}_{self.rng.randint(0, 99)}{suffix}.py"] = self.module(inherited)
        return files
