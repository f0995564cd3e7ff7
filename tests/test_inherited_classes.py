"""Test classes deriving from classes of the same module (issue #13): pytest
collects the attributes of every class in the MRO, the first binding of a
name hiding the rest, with the marks, fixtures and pytest_generate_tests of
all of them. The core models that for bases it can read in the module and
imports the module for anything else. Each case compares node IDs with plain
pytest; the first also checks the module is skipped when nothing matches."""

from __future__ import annotations

from typing import List

import pytest

from differential import compare, skipped, write

TARGET = {"pytest.ini": "[pytest]\n", "tests/test_target.py": "def test_target():\n    pass\n"}


def project(pytester: pytest.Pytester, body: str) -> None:
    write(pytester.path, {**TARGET, "tests/test_inh.py": body})


CASES = {
    "single": """
        import pytest

        class BaseChecks:
            def test_shared_s(self):
                pass

            @pytest.mark.parametrize("n", [1, 2])
            def test_param_s(self, n):
                pass

        class TestOne(BaseChecks):
            def test_own_s(self):
                pass
    """,
    "diamond": """
        import pytest

        class Root:
            def test_root_d(self):
                pass

        @pytest.mark.left_mark
        class Left(Root):
            def test_side_d(self):
                pass

        class Right(Root):
            pytestmark = [pytest.mark.right_mark]

            def test_side_d(self):
                pass

        class TestBoth(Left, Right, object):
            pass
    """,
    "shadowed": """
        class Base:
            def test_hidden_h(self):
                pass

            def test_kept_h(self):
                pass

        class TestChild(Base):
            def test_hidden_h(self, tmp_path):
                pass
    """,
    "class_fixture": """
        import pytest

        class Base:
            @pytest.fixture(params=["fx_a", "fx_b"])
            def thing(self, request):
                return request.param

        class TestUses(Base):
            def test_uses_f(self, thing):
                pass
    """,
    "generate_tests": """
        class Base:
            def pytest_generate_tests(self, metafunc):
                metafunc.parametrize("g", ["gen_one", "gen_two"])

        class TestGen(Base):
            def test_gen_g(self, g):
                pass
    """,
    "nested": """
        class Base:
            class TestInner:
                def test_inner_n(self):
                    pass

        class TestOuter(Base):
            def test_outer_n(self):
                pass
    """,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_inherited_items(pytester: pytest.Pytester, case: str) -> None:
    project(pytester, CASES[case])
    fast = compare(pytester, ["-k", "test_target"])
    assert fast.ids == ["tests/test_target.py::test_target"]
    # Parametrized by a fixture or a hook of unknown ids: imported.
    assert skipped(fast) == (0 if case in ("class_fixture", "generate_tests") else 1), fast.lines
    every: List[str] = compare(pytester, ["-k", "not test_target"]).ids
    assert every, "the case collects no test"
    words = {w for nodeid in every for w in nodeid.replace("[", "::").replace("]", "").replace("-", "::").split("::")}
    for word in sorted(w for w in words if w.isidentifier()):
        compare(pytester, ["-k", word])
    for mark in ("left_mark", "right_mark"):
        compare(pytester, ["-m", mark])


HOSTILE = {
    # A base class with __test__ = True is collected under any name.
    "dunder_test": ("""
        class Collected:
            __test__ = True

        class Helper(Collected):
            def test_any_name(self):
                pass
    """, "test_any_name"),
    # __init_subclass__ adds a test to every subclass.
    "init_subclass": ("""
        class Base:
            def __init_subclass__(cls):
                cls.test_made_i = lambda self: None

        class TestSub(Base):
            pass
    """, "test_made_i"),
    # The base's name is rebound before the class statement that names it.
    "rebound_base": ("""
        class Base:
            def test_first_r(self):
                pass

        class Other:
            def test_second_r(self):
                pass

        Base = Other

        class TestA(Base):
            pass
    """, "test_second_r"),
    # The base comes from another module: a TestCase, maybe.
    "imported_base": ("""
        from unittest import TestCase as Base

        class Helper(Base):
            def test_case_method(self):
                pass
    """, "test_case_method"),
    # A base defined in a nested scope of the same name.
    "conditional_base": ("""
        import sys

        if sys.platform:
            class Base:
                def test_cond_c(self):
                    pass

        class TestC(Base):
            pass
    """, "test_cond_c"),
    # The base's marks through a decorator the core cannot read.
    "decorated_base": ("""
        import functools

        def add_mark(cls):
            import pytest
            return pytest.mark.deco_mark(cls)

        @add_mark
        class Base:
            def test_deco_d(self):
                pass

        class TestD(Base):
            pass
    """, "deco_mark"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_inheritance(pytester: pytest.Pytester, case: str) -> None:
    body, word = HOSTILE[case]
    project(pytester, body)
    compare(pytester, ["-k", word])
    compare(pytester, ["-m", word])
