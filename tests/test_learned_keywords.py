"""The learner's -k names and markers equal pytest's own, item by item.

Learning reuses, for the items of one parametrized function, the names of
its first item (pytest computes those); this checks the reuse against
KeywordMatcher.from_item and iter_markers for every item of a project with
every source of names: node names, parametrize ids and marks, class and
module markers, extra keywords added by a hook, function attributes, and
a first item's own marker named like a function attribute (computed item by item then).
"""

from __future__ import annotations

from typing import List, Tuple

import pytest

from pytest_fastcollect.learn import _Keywords, expand


class _Check:
    def __init__(self) -> None:
        self.compared = 0
        self.mismatches: List[Tuple[str, object, object]] = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: List[pytest.Item]) -> None:
        from _pytest.mark import KeywordMatcher

        fast = _Keywords()
        for item in items:
            names, marks = expand(fast.of(item))
            want_names = sorted({str(n).lower() for n in KeywordMatcher.from_item(item)._names})
            want_marks = [m.name for m in item.iter_markers()]
            self.compared += 1
            if names != want_names or marks != want_marks:
                self.mismatches.append((item.nodeid, (names, marks), (want_names, want_marks)))


def test_fast_names_equal_pytests(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if "b" in item.name:
                    item.extra_keyword_matches.add("Extra_B")
                if item.name.endswith("[2]"):
                    item.add_marker(pytest.mark.late)
    """)
    pytester.makepyfile(test_many="""
        import pytest

        pytestmark = [pytest.mark.modmark]

        @pytest.mark.parametrize("x", [1, 2, pytest.param(3, marks=pytest.mark.slow, id="Three")])
        @pytest.mark.fast
        def test_p(x):
            pass

        test_p.Tagged = True

        @pytest.mark.parametrize("x", [pytest.param("a", marks=pytest.mark.special), "b"])
        def test_attr(x):
            pass

        test_attr.special = 1  # an attribute named like its first item's own marker

        @pytest.mark.klass
        class TestK:
            @pytest.mark.parametrize("y", [1, 2])
            def test_m(self, y):
                pass

            def test_plain(self):
                pass
    """, test_unit="""
        import unittest

        class TestU(unittest.TestCase):
            def test_u(self):
                pass

            test_u.attr = 1
    """)
    check = _Check()
    pytester.inline_run("--co", "-p", "no:randomly", "-p", "no:fastcollect", plugins=[check])
    assert check.compared == 9
    assert not check.mismatches, check.mismatches


def test_shared_names_reach_the_core_as_pytest_sorts_them(pytester: pytest.Pytester) -> None:
    """Most items are recorded as their group's shared -k names plus their
    own name (learn.ItemRecord), which the core puts in place. Non-ASCII ids
    sort by code point, and an item named like a directory above it has its
    name among the shared ones already: every warm -k below is exact and
    decided by the records (pytest escapes non-ASCII ids unless told not
    to; the plugin leaves a non-ASCII -k expression to pytest)."""
    from test_learned_inputs import exact, learn
    from test_hook_inputs import write

    write(pytester.path, {
        "pytest.ini": """
            [pytest]
            disable_test_id_escaping_and_forfeit_all_rights_to_community_support = true
            markers = slow
        """,
        "test_ids.py": """
            import pytest

            @pytest.mark.parametrize("x", ["zeta", "Ünïcode", "alpha", "émile", "日本", "a"], ids=str)
            def test_p(x):
                pass

            class TestK:
                @pytest.mark.slow
                @pytest.mark.parametrize("y", ["TestK", "ü", "b"])
                def test_m(self, y):
                    pass
        """,
        "test_q/test_mod.py": """
            def test_q():
                pass

            def test_r():
                pass
        """,
        "test_other.py": """
            def test_other():
                pass
        """,
    })
    learn(pytester, ["-k", "nothing_matches"], [], 3)
    cases = [
        (["-k", "mile"], ["test_ids.py::test_p[émile]"]),
        (["-k", "code or zeta"], ["test_ids.py::test_p[zeta]", "test_ids.py::test_p[Ünïcode]"]),
        (["-k", "testk and b", "-m", "slow"], ["test_ids.py::TestK::test_m[b]"]),
        (["-k", "test_q and not test_r"], ["test_q/test_mod.py::test_q"]),
    ]
    for args, expect in cases:
        rep = exact(pytester, args, expect, 3, "warm")
        assert rep.learned > 0 and rep.imported == 1, f"{args}: not decided by the records: {rep}"
