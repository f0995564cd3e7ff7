"""Review of "resolution of imported names" (issue #13): projects where the
plugin and plain pytest must select the same node IDs. Each case missed a
test when it was written (the resolution branch before its review, or main:
the stdlib-named local module, and the test modules that write process state
at import)."""

from __future__ import annotations

import os
import textwrap

import pytest

from differential import compare, write

INI = "[pytest]\npythonpath = .\n"


def test_imported_class_with_dunder_test(pytester: pytest.Pytester) -> None:
    """A class whose `__test__` is True is collected under any name."""
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": """
            class Checks:
                __test__ = True

                def test_one(self):
                    pass
        """,
        "tests/test_a.py": "from helpers import Checks\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "Checks"])
    assert fast.ids == ["tests/test_a.py::Checks::test_one"]


def test_imported_class_with_inherited_dunder_test(pytester: pytest.Pytester) -> None:
    """`__test__ = True` inherited from a base in another module."""
    write(pytester.path, {
        "pytest.ini": INI,
        "base.py": """
            class Collected:
                __test__ = True
        """,
        "helpers.py": """
            from base import Collected

            class Checks(Collected):
                def test_one(self):
                    pass
        """,
        "tests/test_a.py": "from helpers import Checks\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "Checks"])
    assert fast.ids == ["tests/test_a.py::Checks::test_one"]


def test_fixture_made_by_stdlib_partial_decorator(pytester: pytest.Pytester) -> None:
    """`@functools.partial(pytest.fixture, ...)` is a stdlib decorator that makes a fixture."""
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": """
            import functools
            import pytest

            @functools.partial(pytest.fixture, autouse=True, params=["pp1", "pp2"])
            def thing(request):
                return request.param
        """,
        "tests/test_a.py": "from helpers import thing\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "pp1"])
    assert fast.ids == ["tests/test_a.py::test_a[pp1]"]


def test_fixture_set_through_self_import(pytester: pytest.Pytester) -> None:
    """A module rebinding its own attribute through an import of itself."""
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": """
            import pytest
            import helpers as _me

            def thing():
                pass

            def _impl(request):
                return request.param

            _me.thing = pytest.fixture(autouse=True, params=["ss1", "ss2"])(_impl)
        """,
        "tests/test_a.py": "from helpers import thing\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "ss1"])
    assert fast.ids == ["tests/test_a.py::test_a[ss1]"]


def test_fixture_installed_by_module_level_call(pytester: pytest.Pytester) -> None:
    """A module-level call into the module's own function that rebinds a name."""
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": """
            import pytest

            def thing():
                pass

            def _impl(request):
                return request.param

            def _install():
                import helpers
                helpers.thing = pytest.fixture(autouse=True, params=["cc1", "cc2"])(_impl)

            _install()
        """,
        "tests/test_a.py": "from helpers import thing\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "cc1"])
    assert fast.ids == ["tests/test_a.py::test_a[cc1]"]


def test_local_module_named_like_stdlib(pytester: pytest.Pytester) -> None:
    """A project module named like a stdlib module not yet imported (rootdir-
    relative prepend puts tests/ first): it is the project's file, not the stdlib."""
    write(pytester.path, {
        "pytest.ini": INI,
        "tests/colorsys.py": """
            import pytest

            @pytest.fixture(autouse=True, params=["cs1", "cs2"])
            def thing(request):
                return request.param
        """,
        "tests/helpers_cs.py": "from colorsys import thing\n",
        "tests/test_a.py": "from helpers_cs import thing\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "cs1"])
    assert fast.ids == ["tests/test_a.py::test_a[cs1]"]


def test_builtin_base_rebound_by_star_import(pytester: pytest.Pytester) -> None:
    """`class Helper(Exception)` where a star import rebinds `Exception` to unittest.TestCase."""
    write(pytester.path, {
        "pytest.ini": INI,
        "names.py": "from unittest import TestCase as Exception\n",
        "helpers.py": """
            from names import *

            class Helper(Exception):
                def test_one(self):
                    pass
        """,
        "tests/test_a.py": "from helpers import Helper\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "Helper"])
    assert fast.ids == ["tests/test_a.py::Helper::test_one"]


def test_zip_on_pythonpath_before_the_directory(pytester: pytest.Pytester) -> None:
    """A zip archive on sys.path before the directory that holds the module:
    the zip's module is the one imported."""
    import zipfile

    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = shadow.zip lib\n",
        "lib/helpers_z.py": "def thing():\n    return 1\n",
        "tests/test_a.py": "from helpers_z import thing\n\ndef test_a():\n    pass\n",
    })
    with zipfile.ZipFile(pytester.path / "shadow.zip", "w") as z:
        z.writestr("helpers_z.py", textwrap.dedent("""
            import pytest

            @pytest.fixture(autouse=True, params=["zp1", "zp2"])
            def thing(request):
                return request.param
        """))
    fast = compare(pytester, ["-k", "zp1"])
    assert fast.ids == ["tests/test_a.py::test_a[zp1]"]


def test_type_checking_set_true_by_conftest(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """`if TYPE_CHECKING:` runs when a conftest set typing.TYPE_CHECKING first."""
    import typing

    import _pytest.stepwise  # noqa: F401 - imported now, not under TYPE_CHECKING (it needs typing_extensions then)

    # The runs are in this process: the conftest's setting is undone afterwards.
    monkeypatch.setattr(typing, "TYPE_CHECKING", typing.TYPE_CHECKING)
    write(pytester.path, {
        "pytest.ini": INI,
        "conftest.py": "import typing\ntyping.TYPE_CHECKING = True\n",
        "helpers.py": """
            import pytest

            @pytest.fixture(autouse=True, params=["tc1", "tc2"])
            def thing(request):
                return request.param
        """,
        "tests/test_a.py": """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from helpers import thing

            def test_a():
                pass
        """,
    })
    fast = compare(pytester, ["-k", "tc1"])
    assert fast.ids == ["tests/test_a.py::test_a[tc1]"]


def test_staticmethod_rebound_to_a_fixture_maker(pytester: pytest.Pytester) -> None:
    """`staticmethod` is only the builtin when the module does not rebind it."""
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": """
            import pytest

            staticmethod = pytest.fixture(autouse=True, params=["sm1", "sm2"])

            @staticmethod
            def thing(request):
                return request.param
        """,
        "tests/test_a.py": "from helpers import thing\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "sm1"])
    assert fast.ids == ["tests/test_a.py::test_a[sm1]"]


def test_conftest_collected_later_prepends_to_sys_path(pytester: pytest.Pytester) -> None:
    """A conftest imported during collection (not an initial one) puts a
    directory in front of sys.path: the module found there is the one
    imported. (docs/design.md lists this as not tracked; it is a missed test.)"""
    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = lib\n",
        "lib/helpers_v.py": "def thing():\n    return 1\n",
        "tests/unit/conftest.py": """
            import os
            import sys

            sys.path.insert(0, os.path.join(os.path.dirname(__file__), "vendor"))
        """,
        "tests/unit/vendor/helpers_v.py": """
            import pytest

            @pytest.fixture(autouse=True, params=["vd1", "vd2"])
            def thing(request):
                return request.param
        """,
        "tests/unit/test_a.py": "from helpers_v import thing\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "vd1"])
    assert fast.ids == ["tests/unit/test_a.py::test_a[vd1]"]


def test_namespace_portion_in_a_basedir(pytester: pytest.Pytester) -> None:
    """A namespace package with portions in a sys.path entry and in a test
    basedir: prepend puts the basedir first, so its submodule is imported."""
    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = lib\n",
        "lib/nsp/mod.py": "def thing():\n    return 1\n",
        "tests/nsp/mod.py": """
            import pytest

            @pytest.fixture(autouse=True, params=["np1", "np2"])
            def thing(request):
                return request.param
        """,
        "tests/test_a.py": "from nsp.mod import thing\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "np1"])
    assert fast.ids == ["tests/test_a.py::test_a[np1]"]


VENDOR_FX = """
    import pytest

    @pytest.fixture(autouse=True, params=["vv1", "vv2"])
    def thing(request):
        return request.param
"""


def test_sys_path_changed_by_slice_assignment(pytester: pytest.Pytester) -> None:
    """`path[:0] = [...]` after `from sys import path` changes sys.path
    without the tokens mentions_sys_path looks for."""
    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = lib\n",
        "lib/helpers_w.py": "def thing():\n    return 1\n",
        "tests/vendor/helpers_w.py": VENDOR_FX,
        "tests/test_a.py": """
            import os
            from sys import path

            path[:0] = [os.path.join(os.path.dirname(__file__), "vendor")]

            from helpers_w import thing

            def test_a():
                pass
        """,
    })
    fast = compare(pytester, ["-k", "vv1"])
    assert fast.ids == ["tests/test_a.py::test_a[vv1]"]


def test_sys_path_changed_by_an_imported_module(pytester: pytest.Pytester) -> None:
    """The `tests/context.py` pattern: a plain import of a module that
    prepends to sys.path, then a from-import that finds the module there."""
    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = lib\n",
        "lib/helpers_w.py": "def thing():\n    return 1\n",
        "tests/vendor/helpers_w.py": VENDOR_FX,
        "tests/context.py": """
            import os
            import sys

            sys.path.insert(0, os.path.join(os.path.dirname(__file__), "vendor"))
        """,
        "tests/test_a.py": "import context\nfrom helpers_w import thing\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "vv1"])
    assert fast.ids == ["tests/test_a.py::test_a[vv1]"]


def test_live_answer_for_function_with_dunder_test(pytester: pytest.Pytester) -> None:
    """A loaded module's function that a decorator marked `__test__ = True`:
    the live answer (no fixture, no TestCase) misses that pytest collects it."""
    write(pytester.path, {
        "pytest.ini": INI,
        "deco.py": "def mydeco(f):\n    f.__test__ = True\n    return f\n",
        "helpers.py": "from deco import mydeco\n\n@mydeco\ndef check():\n    pass\n",
        "conftest.py": "import helpers\n",
        "tests/test_a.py": "from helpers import check\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "check"])
    assert fast.ids == ["tests/test_a.py::check"]


def test_local_stdlib_named_module_imported_by_the_test_module(pytester: pytest.Pytester) -> None:
    """The direct form of the stdlib-name case (likely older than this change:
    the model skips every from-import of a stdlib name)."""
    write(pytester.path, {
        "pytest.ini": INI,
        "tests/colorsys.py": """
            import pytest

            @pytest.fixture(autouse=True, params=["cs1", "cs2"])
            def thing(request):
                return request.param
        """,
        "tests/test_a.py": "from colorsys import thing\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "cs1"])
    assert fast.ids == ["tests/test_a.py::test_a[cs1]"]


def test_metaclass_that_adds_a_testcase_base(pytester: pytest.Pytester) -> None:
    """A metaclass (deriving from the builtin `type`) may build the class
    with unittest.TestCase among its bases."""
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": """
            import unittest

            class Meta(type):
                def __new__(mcs, name, bases, ns):
                    return type.__new__(type, name, (unittest.TestCase,), ns)

            class Helper(metaclass=Meta):
                def test_one(self):
                    pass
        """,
        "tests/test_a.py": "from helpers import Helper\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "Helper"])
    assert fast.ids == ["tests/test_a.py::Helper::test_one"]


# Found while fixing the cases above: code that runs while a class is built.

def test_base_init_subclass_sets_dunder_test(pytester: pytest.Pytester) -> None:
    """A base's __init_subclass__ sets `__test__` on every subclass (by a
    computed name the source never spells)."""
    write(pytester.path, {
        "pytest.ini": INI,
        "base.py": """
            class Base:
                def __init_subclass__(cls, **kwargs):
                    super().__init_subclass__(**kwargs)
                    setattr(cls, "__te" + "st__", True)
        """,
        "helpers.py": """
            from base import Base

            class Checks(Base):
                def test_one(self):
                    pass
        """,
        "tests/test_a.py": "from helpers import Checks\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "Checks"])
    assert fast.ids == ["tests/test_a.py::Checks::test_one"]


def test_descriptor_set_name_sets_dunder_test(pytester: pytest.Pytester) -> None:
    """A value in a class body whose __set_name__ sets `__test__` on the class."""
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": """
            class Marker:
                def __set_name__(self, owner, name):
                    setattr(owner, "__te" + "st__", True)

            class Checks:
                marker = Marker()

                def test_one(self):
                    pass
        """,
        "tests/test_a.py": "from helpers import Checks\n\ndef test_a():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "Checks"])
    assert fast.ids == ["tests/test_a.py::Checks::test_one"]



def test_plain_helpers_still_skip(pytester: pytest.Pytester) -> None:
    """The rules above leave plain helper classes and functions resolvable:
    a module importing them is skipped (the report line says so)."""
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": """
            import functools
            from dataclasses import dataclass

            @dataclass(frozen=True)
            class Point:
                x: int
                y: int = 0

            class Table(dict):
                LIMIT = 3

                @staticmethod
                def make():
                    return Table()

            @functools.lru_cache(maxsize=None)
            def load():
                return 1
        """,
        "tests/test_a.py": "from helpers import Point, Table, load\n\ndef test_a():\n    pass\n",
        "tests/test_b.py": "def test_b():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "test_b"])
    assert fast.ids == ["tests/test_b.py::test_b"]
    assert fast.report is not None and fast.report.skipped == 1, fast.report


def test_earlier_test_module_sets_an_environment_variable(pytester: pytest.Pytester) -> None:
    """A test module collected first sets an environment variable that a later
    module's parametrization reads: it is imported in every run (never learned),
    so the later module's items stay those of plain pytest."""
    write(pytester.path, {
        "pytest.ini": INI,
        "tests/test_0.py": """
            import os

            os.environ["FC_FULL_RUN"] = "1"

            def test_zero():
                pass
        """,
        "tests/test_b.py": """
            import os
            import pytest

            CASES = ["ev1", "ev2"] if os.environ.get("FC_FULL_RUN") else ["ev1"]

            @pytest.mark.parametrize("case", CASES)
            def test_b(case):
                pass
        """,
    })
    try:
        for _ in range(3):  # cold, then learned
            fast = compare(pytester, ["-k", "ev2"])
            assert fast.ids == ["tests/test_b.py::test_b[ev2]"]
    finally:
        os.environ.pop("FC_FULL_RUN", None)




def test_a_path_append_in_a_test_body_changes_nothing(pytester: pytest.Pytester) -> None:
    """`path.append(...)` on a local list inside a test is no sys.path write:
    the other modules' resolved skips stand (networkx's shortest-path tests)."""
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": "def build():\n    return []\n",
        "tests/test_paths.py": """
            def test_walk():
                path = [1]
                path.append(2)
        """,
        "tests/test_b.py": "from helpers import build\n\ndef test_b():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "test_walk"])
    assert fast.ids == ["tests/test_paths.py::test_walk"]
    assert fast.report is not None and fast.report.skipped == 1, fast.report


def test_resolved_skips_hold_on_xdist_workers(pytester: pytest.Pytester) -> None:
    """Under -n 2 the workers take the controller's resolved skips: their
    sys.path differs only by a repeated entry (the working directory)."""
    pytest.importorskip("xdist")
    write(pytester.path, {
        "pytest.ini": INI,
        "helpers.py": "class Table(dict):\n    LIMIT = 3\n",
        "tests/test_a.py": "import sys\nfrom helpers import Table\n\nsys.stderr.write('IMPORTED test_a\\n')\n\ndef test_a():\n    pass\n",
        "tests/test_b.py": "def test_b():\n    pass\n",
    })
    result = pytester.runpytest_subprocess("-n", "2", "-k", "test_b", "-p", "no:randomly", "-s")
    result.assert_outcomes(passed=1)
    assert "fastcollect: imported 1 of 2 test files, skipped 1" in result.stdout.str(), result.stdout.str()
    assert "IMPORTED test_a" not in result.stdout.str() + result.stderr.str()


SYS_PATH_FIRST = """
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "vendor"))

    def test_zero():
        pass
"""

SYS_PATH_IN_A_FUNCTION = """
    import os
    import sys

    def _setup():
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "vendor"))

    _setup()

    def test_zero():
        pass
"""


@pytest.mark.parametrize("first, runs", [
    pytest.param(SYS_PATH_FIRST, 1, id="module-level"),
    pytest.param(SYS_PATH_FIRST, 3, id="then-learned"),
    pytest.param(SYS_PATH_IN_A_FUNCTION, 1, id="in-a-function-called-at-import"),
])
def test_earlier_test_module_changes_sys_path(pytester: pytest.Pytester, first: str, runs: int) -> None:
    """A test module collected first puts a directory in front of sys.path:
    skipping it (statically, or on its learned items) would keep the later
    module from finding its fixture there."""
    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = lib\n",
        "lib/helpers_w.py": "def thing():\n    return 1\n",
        "tests/vendor/helpers_w.py": VENDOR_FX,
        "tests/test_0.py": first,
        "tests/test_b.py": "from helpers_w import thing\n\ndef test_b():\n    pass\n",
        "tests/test_c.py": "def test_c():\n    pass\n",
    })
    for _ in range(runs):
        fast = compare(pytester, ["-k", "vv1"])
        assert fast.ids == ["tests/test_b.py::test_b[vv1]"]
