"""Conftests loaded before the decision (issue #13): their module-level code
has run, and pytest's fixture manager holds their fixtures, so a root
conftest that computes things at import no longer makes every module
Unknown. What they left behind must still count: fixtures made by calls,
hooks bound by assignment, plugins they register. Each case compares node
IDs with plain pytest; the plugin must also skip where it can."""

from __future__ import annotations

from typing import Dict

import pytest

from differential import compare, skipped, write

MODULES = {
    "tests/test_a.py": """
        import pytest

        @pytest.mark.parametrize("n", [1, 2])
        def test_alpha(n):
            pass
    """,
    "tests/test_b.py": "def test_beta(thing):\n    pass\n",
    "tests/test_c.py": "def test_gamma():\n    pass\n",
}


def project(pytester: pytest.Pytester, conftest: str, extra: Dict[str, str] = {}) -> None:
    write(pytester.path, {"pytest.ini": "[pytest]\npythonpath = .\n", "conftest.py": conftest, **MODULES, **extra})


# Module-level code the source cannot predict; fixtures as plain defs.
COMPUTING = """
    import os
    import pytest

    VALUES = ["v1"]
    VALUES.extend(["v2", "v3"])
    os.environ.setdefault("FC_LIVE", "1")

    @pytest.fixture(params=VALUES)
    def thing(request):
        return request.param
"""


def test_computing_root_conftest_lets_modules_be_skipped(pytester: pytest.Pytester) -> None:
    project(pytester, COMPUTING)
    fast = compare(pytester, ["-k", "test_gamma"])
    assert fast.ids == ["tests/test_c.py::test_gamma"]
    # test_b's items take the ids of the conftest fixture's params (computed by pytest's IdMaker).
    assert skipped(fast) == 2, fast.lines
    for word in ("v2", "thing", "test_beta", "alpha and 2"):
        compare(pytester, ["-k", word])


HOSTILE = {
    # An autouse fixture with params made by a call: every test gets its ids.
    "fixture_by_call": ("""
        import pytest

        def _impl(request):
            return request.param

        auto = pytest.fixture(autouse=True, params=["made_a", "made_b"])(_impl)
        thing = pytest.fixture(lambda: 1, name="thing")
    """, "made_b"),
    # A hook bound by assignment, made by a factory: it renames nothing but
    # adds a marker to one test.
    "hook_by_assignment": ("""
        import pytest

        def _make():
            def hook(items):
                for item in items:
                    if item.name == "test_gamma":
                        item.add_marker(pytest.mark.factory_mark)
            return hook

        pytest_collection_modifyitems = _make()

        @pytest.fixture
        def thing():
            return 1
    """, "factory_mark"),
    # A plugin object registered at import: its hook adds a keyword.
    "registered_plugin": ("""
        import pytest

        class _Plugin:
            def pytest_collection_modifyitems(self, items):
                for item in items:
                    item.extra_keyword_matches.add("plugin_kw")

        def pytest_configure(config):
            config.pluginmanager.register(_Plugin(), "fc-test-plugin")

        @pytest.fixture
        def thing():
            return 1
    """, "plugin_kw"),
    # A hook implemented under another name (specname=), besides a read one.
    "specname_hook": ("""
        import pytest

        def pytest_collection_modifyitems(items):
            pass

        @pytest.hookimpl(specname="pytest_collection_modifyitems")
        def pytest_other_impl(items):
            for item in items:
                if item.name == "test_gamma":
                    item.extra_keyword_matches.add("spec_kw")

        @pytest.fixture
        def thing():
            return 1
    """, "spec_kw"),
    # A plugin named by pytest_plugins, loaded with the conftest.
    "pytest_plugins": ("""
        pytest_plugins = ["helper_plugin"]
    """, "helper_kw"),
    # A subdirectory conftest (loaded during collection, read from source).
    "subdir_conftest": ("""
        import pytest

        @pytest.fixture
        def thing():
            return 1
    """, "sub_b"),
}

EXTRA = {
    "pytest_plugins": {"helper_plugin.py": """
        import pytest

        @pytest.fixture
        def thing():
            return 1

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name == "test_gamma":
                    item.extra_keyword_matches.add("helper_kw")
    """},
    "subdir_conftest": {"tests/conftest.py": """
        import pytest

        NAMES = []
        NAMES.append("sub_a")
        NAMES.append("sub_b")

        @pytest.fixture(autouse=True, params=NAMES)
        def sub(request):
            return request.param
    """},
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_live_conftest_effects(pytester: pytest.Pytester, case: str) -> None:
    conftest, word = HOSTILE[case]
    project(pytester, conftest, EXTRA.get(case, {}))
    fast = compare(pytester, ["-k", word])
    assert fast.ids, "the case selects no test"
    compare(pytester, ["-m", word])


# sklearn's shape: the root conftest parametrizes one fixture name by hook.
GATED = """
    import os
    import pytest

    def pytest_generate_tests(metafunc):
        seeds = [42]
        if os.environ.get("FC_ALL_SEEDS"):
            seeds = list(range(3))
        if "global_seed" in metafunc.fixturenames:
            metafunc.parametrize("global_seed", seeds)

    @pytest.fixture
    def uses_seed(global_seed):
        return global_seed
"""

GATED_MODULES = {
    "tests/test_seeded.py": "def test_direct(global_seed):\n    pass\n\ndef test_plain_s():\n    pass\n",
    "tests/test_indirect.py": "def test_through(uses_seed):\n    pass\n",
}


def test_gated_generate_tests(pytester: pytest.Pytester) -> None:
    project(pytester, GATED, GATED_MODULES)
    fast = compare(pytester, ["-k", "test_gamma"])
    # test_a, test_b (a fixture of no params) and test_c's neighbours: the
    # seeded modules are imported, the others are skipped.
    assert skipped(fast) >= 2, fast.lines
    for word in ("42", "test_direct", "test_through", "test_plain_s", "global_seed"):
        compare(pytester, ["-k", word])


HOSTILE_GATES = {
    # The else branch parametrizes every other item.
    "else_branch": """
        def pytest_generate_tests(metafunc):
            if "global_seed" in metafunc.fixturenames:
                metafunc.parametrize("global_seed", [1])
            elif "n" not in metafunc.fixturenames:
                metafunc.fixturenames.append("n")
                metafunc.parametrize("n", ["else_id"])
    """,
    # A helper receives metafunc and parametrizes anything.
    "helper_call": """
        def _helper(mf):
            if "n" not in mf.fixturenames:
                mf.fixturenames.append("n")
                mf.parametrize("n", ["else_id"])

        def pytest_generate_tests(metafunc):
            if "global_seed" in metafunc.fixturenames:
                metafunc.parametrize("global_seed", [1])
            _helper(metafunc)
    """,
    # `or`: not a gate.
    "or_gate": """
        def pytest_generate_tests(metafunc):
            if "global_seed" in metafunc.fixturenames or metafunc.function.__name__ == "test_gamma":
                metafunc.fixturenames.append("n")
                metafunc.parametrize("n", ["else_id"])
    """,
}


@pytest.mark.parametrize("case", sorted(HOSTILE_GATES))
def test_hostile_generate_tests(pytester: pytest.Pytester, case: str) -> None:
    project(pytester, HOSTILE_GATES[case], GATED_MODULES)
    assert compare(pytester, ["-k", "else_id"]).ids, "the case selects no test"


# Fixture params: the ids pytest gives items that use a parametrized fixture
# of a loaded conftest, computed with pytest's own IdMaker.
PARAMS_CONFTEST = """
    import pytest

    INTS = ["int8", "int16"]
    INTS.append("int32")

    class Frame:
        pass

    @pytest.fixture(params=INTS)
    def any_int(request):
        return request.param

    @pytest.fixture(params=[Frame, len, None, 1.5, ("t", 1)], ids=[None, "length", None, None, None])
    def thing(request):
        return request.param

    @pytest.fixture(params=["dup", "dup", "x"])
    def dups(request):
        return request.param

    @pytest.fixture(params=[1, 2], ids=lambda v: f"call{v}")
    def by_callable(request):
        return request.param

    @pytest.fixture(params=[pytest.param(1, marks=pytest.mark.marked_p), 2])
    def with_marks(request):
        return request.param

    @pytest.fixture
    def through(any_int):
        return any_int
"""

PARAMS_MODULES = {
    "tests/test_p1.py": "def test_ints(any_int):\n    pass\n\ndef test_thing(thing):\n    pass\n",
    "tests/test_p2.py": "def test_dups(dups):\n    pass\n\ndef test_through(through):\n    pass\n",
    "tests/test_p3.py": "def test_callable(by_callable):\n    pass\n\ndef test_marks(with_marks):\n    pass\n",
    "tests/test_p4.py": """
        import pytest

        @pytest.mark.parametrize("n", [1, 2])
        def test_both(any_int, n):
            pass

        def test_two(any_int, thing):
            pass
    """,
    "tests/test_p5.py": """
        import pytest

        @pytest.fixture(params=["own_a", "own_b"])
        def any_int(request):
            return request.param

        def test_overridden(any_int):
            pass
    """,
}


def test_fixture_param_ids(pytester: pytest.Pytester) -> None:
    project(pytester, PARAMS_CONFTEST, PARAMS_MODULES)
    fast = compare(pytester, ["-k", "test_gamma"])
    # test_p1 and test_p2 (ids computed) are skipped with test_a and test_b
    # (whose fixture has no params); p3 (a callable, marks), p4 (two
    # sources) and p5 (overridden in the module) are imported.
    assert skipped(fast) == 4, fast.lines
    words = ["int16", "length", "Frame", "None", "1.5", "thing4", "dup0", "dup1", "int8", "call1", "marked_p",
             "own_b", "test_both and 2", "test_two and int32"]
    for word in words:
        compare(pytester, ["-k", word])
    compare(pytester, ["-m", "marked_p"])


HOSTILE_IDS = {
    # pytest_make_parametrize_id decides every id.
    "make_id_hook": """
        import pytest

        def pytest_make_parametrize_id(config, val, argname):
            return f"hooked_{val}"

        @pytest.fixture(params=["a", "b"])
        def any_int(request):
            return request.param
    """,
    # A value whose type answers __name__.
    "named_instance": """
        import pytest

        class Named:
            def __getattr__(self, name):
                if name == "__name__":
                    return "hooked_named"
                raise AttributeError(name)

        @pytest.fixture(params=[Named()])
        def any_int(request):
            return request.param
    """,
    # A str subclass: its escaping is pytest's, its __str__ is not read -
    # but a subclass is declined anyway.
    "str_subclass": """
        import pytest

        class S(str):
            pass

        @pytest.fixture(params=[S("hooked_s")])
        def any_int(request):
            return request.param
    """,
}


@pytest.mark.parametrize("case", sorted(HOSTILE_IDS))
def test_hostile_fixture_ids(pytester: pytest.Pytester, case: str) -> None:
    project(pytester, HOSTILE_IDS[case], {"tests/test_p1.py": "def test_ints(any_int):\n    pass\n"})
    assert compare(pytester, ["-k", "hooked"]).ids, "the case selects no test"


def test_startup_conftest_fixtures_stay_in_their_directory(pytester: pytest.Pytester) -> None:
    """pytest loads tests/conftest.py at start-up (a test* directory of the
    invocation directory): its parametrized autouse fixture reaches the
    items below tests/ only. Taken as global, it gave other/test_o.py ids it
    does not have, and -k "not p1 and not p2" skipped it (found in review)."""
    write(pytester.path, {
        "tests/conftest.py": """
            import pytest
            @pytest.fixture(autouse=True, params=["p1", "p2"])
            def auto(request):
                return request.param
        """,
        "tests/test_t.py": "def test_t():\n    pass\n",
        "other/test_o.py": "def test_o():\n    pass\n",
    })
    for expr in ("not p1 and not p2", "p1", "test_o and not p2", "test_t and not p2"):
        fast = compare(pytester, ["--cache-clear", "-k", expr])
        assert fast.ids, expr
    fast = compare(pytester, ["--cache-clear", "-k", "test_t and p2"])
    assert skipped(fast) == 1, fast.report  # other/test_o.py: its ids are known
