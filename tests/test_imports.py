"""Plugin vs plain pytest where test modules import names from project code
(issue #13): the core follows `from X import name` to where `name` is bound.
A fixture imported into a module is one of its fixtures (params, autouse,
name=); a test function, Test* class or TestCase imported is collected; what
cannot be read is Unknown. Every case compares node IDs with plain pytest and,
where the model can prove a skip, asserts the plugin skipped files."""

from __future__ import annotations

import os
import random
import time
from typing import Dict, Sequence

import pytest

from differential import check_expressions, collect, compare, expressions, identifiers, skipped, write

INI = "[pytest]\npythonpath = .\n"


def exercise(pytester: pytest.Pytester, fixed: Sequence[str] = (), seed: int = 0, count: int = 12) -> int:
    plain = collect(pytester, "--no-fast-collect")
    assert plain.ids, "the project must collect something"
    rng = random.Random(seed)
    keywords = list(fixed) + expressions(rng, identifiers(plain.ids), count)
    return check_expressions(pytester, keywords)


def explain(pytester: pytest.Pytester, *args: str) -> Dict[str, str]:
    """Per test file (name), the explain line's tail."""
    result = pytester.runpytest_inprocess("--collect-only", "-p", "no:randomly", "--fast-collect-explain", *args)
    out: Dict[str, str] = {}
    for line in result.outlines:
        head, sep, tail = line.partition(".py: ")
        if sep and " " not in head:
            out[os.path.basename(head) + ".py"] = tail
    return out


# A project package with helpers of every kind the resolver must tell apart.
PROJECT = {
    "pytest.ini": INI,
    "projlib/__init__.py": """
        from .fx import param_fx
        from projlib.plain import helper, Table
        __all__ = ["param_fx", "helper", "Table"]
    """,
    "projlib/plain.py": """
        import functools

        LIMIT = 3
        NAMES = ["a", "b"]

        def helper(x):
            return x

        @functools.lru_cache(maxsize=None)
        def cached(x):
            return x

        class Table:
            pass

        class Derived(Table, metaclass=type):
            pass
    """,
    "projlib/fx.py": """
        import pytest

        @pytest.fixture(autouse=True, params=["auto1", "auto2"])
        def auto_param(request):
            return request.param

        @pytest.fixture(params=["pa", "pb"])
        def param_fx(request):
            return request.param

        @pytest.fixture(name="renamed", params=["rx", "ry"])
        def _renamed_impl(request):
            return request.param

        @pytest.fixture
        def plain_fx():
            return 1
    """,
    "projlib/cases.py": """
        import unittest

        def test_shared():
            pass

        class TestShared:
            def test_method(self):
                pass

        class SharedCase(unittest.TestCase):
            def test_case_method(self):
                pass
    """,
    "projlib/reexport.py": """
        from projlib.deep import *
    """,
    "projlib/deep.py": """
        import pytest

        def deep_helper():
            pass

        @pytest.fixture(params=["dx", "dy"])
        def deep_fx(request):
            return request.param
    """,
    "projlib/cyc_a.py": """
        from projlib import cyc_b

        def fa():
            return cyc_b
    """,
    "projlib/cyc_b.py": """
        from projlib.cyc_a import fa
    """,
    "projlib/loop_x.py": """
        from projlib.loop_y import thing
    """,
    "projlib/loop_y.py": """
        from projlib.loop_x import thing
    """,
    "projlib/rebound.py": """
        import pytest

        def made():
            return 1

        made = pytest.fixture(params=["m1", "m2"])(made)
    """,
    "projlib/computed.py": """
        import pytest

        def build():
            return pytest.fixture(params=["c1"])(lambda: 1)

        fixture_from_call = build()
    """,
}

TESTS = {
    "tests/test_helpers.py": """
        from projlib.plain import helper, Table, LIMIT, NAMES, cached, Derived
        from projlib import helper as h2
        from projlib.cyc_b import fa

        def test_plain_one():
            assert helper(1) == 1

        class TestUsesTable:
            def test_table(self):
                assert Table()
    """,
    "tests/test_relative_free.py": """
        import projlib
        from projlib import plain

        def test_module_import():
            pass
    """,
    "tests/test_autouse.py": """
        from projlib.fx import auto_param

        def test_with_auto():
            pass
    """,
    "tests/test_param.py": """
        from projlib import param_fx

        def test_with_param(param_fx):
            pass

        def test_without_param():
            pass
    """,
    "tests/test_renamed.py": """
        from projlib.fx import _renamed_impl

        def test_with_renamed(renamed):
            pass
    """,
    "tests/test_alias.py": """
        from projlib.fx import param_fx as aliased

        def test_with_alias(aliased):
            pass
    """,
    "tests/test_star_chain.py": """
        from projlib.reexport import deep_fx, deep_helper

        def test_with_deep(deep_fx):
            pass
    """,
    "tests/test_imported_tests.py": """
        from projlib.cases import test_shared, TestShared
    """,
    "tests/test_imported_case.py": """
        from projlib.cases import SharedCase
    """,
    "tests/test_loop.py": """
        from projlib.loop_x import thing

        def test_loop():
            pass
    """,
    "tests/test_missing.py": """
        from no_such_module_anywhere import thing

        def test_missing():
            pass
    """,
    "tests/test_try_import.py": """
        try:
            from no_such_module_anywhere import optional
        except ImportError:
            optional = None
        try:
            from projlib.plain import helper as maybe
        except ImportError:
            def maybe(x):
                return x

        def test_try():
            pass
    """,
    "tests/test_try_found.py": """
        try:
            from projlib.plain import helper as maybe
        except ImportError:
            def maybe(x):
                return x

        def test_try_found():
            pass
    """,
    "tests/test_type_checking.py": """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from no_such_module_anywhere import OnlyForTypes

        def test_typed():
            pass
    """,
    "tests/test_rebound.py": """
        from projlib.rebound import made

        def test_rebound(made):
            pass
    """,
    "tests/test_computed.py": """
        from projlib.computed import fixture_from_call

        def test_computed():
            pass
    """,
    "tests/test_class_import.py": """
        class TestHolder:
            from projlib.fx import param_fx

            def test_in_holder(self, param_fx):
                pass
    """,
}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write(pytester.path, {**PROJECT, **TESTS})
    return pytester


@pytest.mark.parametrize(
    "keyword",
    ["auto1", "auto2", "pa", "pb", "rx", "renamed", "dx", "SharedCase", "test_shared", "test_method",
     "test_plain_one", "test_table", "test_with_alias", "m1", "c1", "test_loop", "test_missing",
     "test_try", "test_typed", "test_in_holder", "pa and TestHolder", "not auto1", "test_module_import"],
)
def test_imported_names_select_like_pytest(project: pytest.Pytester, keyword: str) -> None:
    compare(project, ["-k", keyword])


def test_imported_names_random_expressions(project: pytest.Pytester) -> None:
    assert exercise(project, seed=13) > 0


def test_what_resolution_proves(project: pytest.Pytester) -> None:
    """Modules whose imports resolve to non-fixtures are skipped; every other
    hazard keeps its module imported, for the right reason."""
    fast = compare(project, ["-k", "test_plain_one"])
    assert skipped(fast) > 0
    steps = explain(project, "--cache-clear", "-k", "nothing_matches_this")
    for name in ("test_relative_free.py", "test_try_found.py", "test_type_checking.py"):
        assert steps[name].startswith("skipped"), (name, steps[name])
    assert steps["test_helpers.py"].startswith("skipped"), steps["test_helpers.py"]
    # The parametrized fixture is resolved: only the test that requests it is open.
    assert "test_with_param: uses parametrized fixture 'param_fx'" in steps["test_param.py"], steps["test_param.py"]
    assert "test-like name" in steps["test_imported_tests.py"]
    assert "TestCase" in steps["test_imported_case.py"], steps["test_imported_case.py"]
    assert "circular import" in steps["test_loop.py"], steps["test_loop.py"]
    assert "not found" in steps["test_missing.py"], steps["test_missing.py"]
    assert "not found" in steps["test_try_import.py"], steps["test_try_import.py"]
    rebound = steps["test_rebound.py"]
    assert any(w in rebound for w in ("bound more than once", "assigned", "makes a fixture by a call")), rebound
    assert "assigned" in steps["test_computed.py"], steps["test_computed.py"]
    # An autouse parametrized fixture makes ids unknown: not skipped for a name it could match.
    assert not steps["test_autouse.py"].startswith("skipped"), steps["test_autouse.py"]


def test_helper_that_becomes_a_fixture(pytester: pytest.Pytester) -> None:
    """A cached skip must not survive a helper turning into a fixture."""
    write(pytester.path, {
        "pytest.ini": INI,
        "projlib/__init__.py": "",
        "projlib/util.py": "def thing():\n    return 1\n",
        "tests/test_user.py": "from projlib.util import thing\n\ndef test_user():\n    pass\n",
        "tests/test_other.py": "def test_other():\n    pass\n",
    })
    first = compare(pytester, ["-k", "zz1"])
    assert skipped(first) == 2
    again = compare(pytester, ["-k", "zz1"])
    assert skipped(again) == 2
    time.sleep(0.01)
    write(pytester.path, {"projlib/util.py": """
        import pytest

        @pytest.fixture(autouse=True, params=["zz1", "zz2"])
        def thing(request):
            return request.param
    """})
    after = compare(pytester, ["-k", "zz1"])
    assert after.ids == ["tests/test_user.py::test_user[zz1]"], after.ids
    assert skipped(after) == 1


def test_module_that_appears_earlier_on_the_path(pytester: pytest.Pytester) -> None:
    """A lookup that found nothing is part of the key: a module created in an
    earlier sys.path entry shadows the one resolved before."""
    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = first second\n",
        "first/.keep": "",
        "second/shadowed_util.py": "def thing():\n    return 1\n",
        "tests/test_user.py": "from shadowed_util import thing\n\ndef test_user():\n    pass\n",
    })
    first = compare(pytester, ["-k", "yy1"])
    assert skipped(first) == 1
    write(pytester.path, {"first/shadowed_util.py": """
        import pytest

        @pytest.fixture(autouse=True, params=["yy1"])
        def thing(request):
            return request.param
    """})
    after = compare(pytester, ["-k", "yy1"])
    assert after.ids == ["tests/test_user.py::test_user[yy1]"], after.ids


def test_submodule_shadows_package_attribute(pytester: pytest.Pytester) -> None:
    """`from pkg import name` where pkg binds `name` and a submodule `name`
    exists: which one the import gets depends on what ran before."""
    write(pytester.path, {
        "pytest.ini": INI,
        "shadowpkg/__init__.py": """
            import pytest

            @pytest.fixture(autouse=True, params=["sh1"])
            def sub(request):
                return request.param
        """,
        "shadowpkg/sub.py": "X = 1\n",
        "tests/test_shadow.py": "from shadowpkg import sub\n\ndef test_shadow():\n    pass\n",
    })
    compare(pytester, ["-k", "sh1"])
    compare(pytester, ["-k", "zzz"])
    steps = explain(pytester, "--cache-clear", "-k", "zzz")
    assert "more than once" in steps["test_shadow.py"], steps


def test_conftest_imports_a_fixture(pytester: pytest.Pytester) -> None:
    """A conftest importing a parametrized fixture: its params reach the tests below."""
    write(pytester.path, {
        "pytest.ini": INI,
        "projlib/__init__.py": "",
        "projlib/fx.py": """
            import pytest

            @pytest.fixture(params=["cf1", "cf2"])
            def conf_fx(request):
                return request.param
        """,
        "projlib/plain.py": "def helper():\n    pass\n",
        "tests/sub/conftest.py": "from projlib.fx import conf_fx\nfrom projlib.plain import helper\n",
        "tests/sub/test_uses.py": "def test_uses(conf_fx):\n    pass\n",
        "tests/sub/test_plain.py": "def test_plain():\n    pass\n",
    })
    for k in ("cf1", "test_plain", "not cf2", "zzz"):
        compare(pytester, ["-k", k])
    assert skipped(compare(pytester, ["-k", "cf1"])) == 1


LIVE = {
    "pytest.ini": INI,
    # The root conftest imports the helpers: they are live when the plugin decides.
    "conftest.py": "import livelib.helpers\n",
    "livelib/__init__.py": "",
    "livelib/deco.py": """
        import functools
        import pytest

        def traced(f):
            @functools.wraps(f)
            def wrapper(*a, **k):
                return f(*a, **k)
            return wrapper

        def as_fixture(f):
            return pytest.fixture(params=["lv1", "lv2"], autouse=True)(f)
    """,
    "livelib/helpers.py": """
        from livelib.deco import traced, as_fixture

        @traced
        def wrapped_helper():
            return 1

        @as_fixture
        def made_fixture(request):
            return request.param

        class Base(dict):
            pass

        class Derived(Base):
            pass
    """,
    "tests/test_wrapped.py": """
        from livelib.helpers import wrapped_helper, Derived

        def test_wrapped():
            pass
    """,
    "tests/test_made.py": """
        from livelib.helpers import made_fixture

        def test_made():
            pass
    """,
}


def test_live_objects_answer_what_the_source_cannot(pytester: pytest.Pytester) -> None:
    """A def under a decorator the core cannot read, in a module the conftest
    imported: the running object says it is no fixture (skip), or is one (import)."""
    write(pytester.path, LIVE)
    for k in ("lv1", "test_wrapped", "not lv2", "zzz"):
        compare(pytester, ["-k", k])
    steps = explain(pytester, "--cache-clear", "-k", "zzz")
    assert steps["test_wrapped.py"].startswith("skipped"), steps
    assert "decorator @as_fixture" in steps["test_made.py"], steps
    # The decorator turning its functions into fixtures: no stale skip.
    write(pytester.path, {"livelib/deco.py": """
        import pytest

        def traced(f):
            return pytest.fixture(params=["lv3"], autouse=True)(f)

        def as_fixture(f):
            return pytest.fixture(params=["lv1", "lv2"], autouse=True)(f)
    """})
    after = compare(pytester, ["-k", "lv3"])
    assert after.ids == ["tests/test_wrapped.py::test_wrapped[lv3]"], after.ids


LIVE_VALUES = {
    "pytest.ini": INI,
    "conftest.py": "import livelib.values\n",
    "livelib/__init__.py": "",
    "livelib/values.py": """
        import sys
        import pytest

        IS_LARGE = sys.maxsize > 2 ** 32
        PAIR = IS_LARGE, not IS_LARGE

        @pytest.fixture(params=["av1", "av2"], autouse=True)
        def real_fixture(request):
            return request.param

        alias_fixture = real_fixture
    """,
    "tests/test_flags.py": """
        from livelib.values import IS_LARGE, PAIR

        def test_flags():
            pass
    """,
    "tests/test_alias.py": """
        from livelib.values import alias_fixture

        def test_alias():
            pass
    """,
}


def test_live_objects_answer_for_computed_values(pytester: pytest.Pytester) -> None:
    """Names assigned from computed values (pandas.compat's `IS64 = sys.maxsize >
    2**32`) in a module the conftest imported: the running value says it is no
    fixture (skip), or that it is one (`alias_fixture = real_fixture`: import)."""
    write(pytester.path, LIVE_VALUES)
    for k in ("av1", "test_flags", "not av2", "zzz"):
        compare(pytester, ["-k", k])
    steps = explain(pytester, "--cache-clear", "-k", "zzz")
    assert steps["test_flags.py"].startswith("skipped"), steps
    assert "alias_fixture" in steps["test_alias.py"], steps


def test_module_that_changes_sys_path(pytester: pytest.Pytester) -> None:
    """A test module that puts a directory on sys.path before importing: the
    import may find a module resolution does not look at."""
    write(pytester.path, {
        "pytest.ini": INI,
        "elsewhere/pathmod.py": """
            import pytest

            @pytest.fixture(autouse=True, params=["sp1"])
            def thing(request):
                return request.param
        """,
        "pathmod.py": "def thing():\n    pass\n",
        "tests/test_syspath.py": """
            import os
            import sys

            sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "elsewhere"))
            from pathmod import thing

            def test_syspath():
                pass
        """,
    })
    fast = compare(pytester, ["-k", "sp1"])
    assert fast.ids == ["tests/test_syspath.py::test_syspath[sp1]"], fast.ids
