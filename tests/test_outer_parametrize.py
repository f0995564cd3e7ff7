"""Parametrize marks of a class (decorators, the class body's pytestmark) and of
the module's pytestmark: pytest's parametrize calls take the function's own
marks first (bottom decorator first), then the class's (pytestmark in list
order, then decorators as applied), then enclosing classes', then the
module's, and the id joins them in that order. Each case: skipped for an
unrelated -k, and every id plain pytest makes selects the same items."""

from __future__ import annotations

import textwrap

import pytest

from differential import compare, ids_decided_statically, write

PROJ = {
    "pytest.ini": "[pytest]\npythonpath = .\n",
    "proj/__init__.py": "",
    "proj/core.py": "def parse(text):\n    return text\n\n\nclass Table:\n    pass\n",
    "tests/test_target.py": "def test_target():\n    pass\n",
}

CASES = {
    "class_and_method": """
        @pytest.mark.parametrize("kind", ["ka", "kb"])
        class TestV:
            @pytest.mark.parametrize("n", [1, 2])
            def test_values(self, n, kind):
                pass
    """,
    "stacked_class_decorators": """
        @pytest.mark.parametrize("top", ["t1", "t2"])
        @pytest.mark.parametrize("bottom", ["b1", "b2"])
        class TestV:
            def test_values(self, top, bottom):
                pass
    """,
    "body_pytestmark_then_decorator": """
        @pytest.mark.parametrize("deco", ["d1", "d2"])
        class TestV:
            pytestmark = [pytest.mark.parametrize("body", ["y1", "y2"])]

            def test_values(self, deco, body):
                pass
    """,
    "module_class_method": """
        pytestmark = pytest.mark.parametrize("mod", ["m1", "m2"])

        @pytest.mark.parametrize("cls", ["c1"])
        class TestV:
            @pytest.mark.parametrize("fn", ["f1", "f2"])
            def test_values(self, fn, cls, mod):
                pass

        def test_values_plain(mod):
            pass
    """,
    "nested_class": """
        @pytest.mark.parametrize("outer", ["o1", "o2"])
        class TestOuter:
            @pytest.mark.parametrize("inner", ["i1"])
            class TestInner:
                @pytest.mark.parametrize("fn", [0.5, 2])
                def test_values(self, fn, inner, outer):
                    pass
    """,
    "class_refs": """
        from proj.core import parse, Table

        @pytest.mark.parametrize("f", [parse, Table])
        class TestV:
            def test_values(self, f):
                pass
    """,
}


def project(pytester: pytest.Pytester, body: str) -> None:
    write(pytester.path, {**PROJ, "tests/test_values.py": "import pytest\n" + textwrap.dedent(body)})


@pytest.mark.parametrize("case", sorted(CASES))
def test_outer_sets(pytester: pytest.Pytester, case: str) -> None:
    project(pytester, CASES[case])
    assert len(ids_decided_statically(pytester)) > 1


# What the core must leave to pytest: the -k names what only the real
# collection gives (or pytest's own error).
HOSTILE = {
    # The decorator's names are the module's, not the class body's.
    "class_rebinds_name": ("""
        from proj.core import Table, parse

        @pytest.mark.parametrize("f", [Table])
        class TestV:
            Table = parse

            def test_v(self, f):
                pass
    """, "Table"),
    # A base class's marks come first: not modelled, must not be guessed.
    "base_class_marks": ("""
        @pytest.mark.parametrize("b", ["base_b"])
        class Base:
            pass

        @pytest.mark.parametrize("k", ["kid_k"])
        class TestV(Base):
            def test_v(self, k, b):
                pass
    """, "kid_k-base_b"),
    # pytest fails the class: the method lacks the argument. The -k matches
    # nothing: the module must still be imported, so pytest reports it.
    "missing_argument": ("""
        @pytest.mark.parametrize("k", ["miss_m"])
        class TestV:
            def test_v(self):
                pass

            def test_w(self, k):
                pass
    """, "nomatch_zz"),
    # Parametrized twice: pytest's error, not the core's guess (imported).
    "duplicate_argument": ("""
        @pytest.mark.parametrize("k", ["dup_a"])
        class TestV:
            @pytest.mark.parametrize("k", ["dup_b"])
            def test_v(self, k):
                pass
    """, "nomatch_zz"),
    # The class and the module both parametrize it: pytest's error again.
    "duplicate_outer_argument": ("""
        pytestmark = pytest.mark.parametrize("k", ["dup_m"])

        @pytest.mark.parametrize("k", ["dup_c"])
        class TestV:
            def test_v(self, k):
                pass
    """, "nomatch_zz"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_outer_sets_hostile(pytester: pytest.Pytester, case: str) -> None:
    body, ident = HOSTILE[case]
    project(pytester, body)
    fast = compare(pytester, ["-k", ident])
    assert "tests/test_values.py" in fast.modules, fast.lines
