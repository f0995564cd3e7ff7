"""Plugin vs plain pytest on projects built around each hazard of
shared/CONTRACT.md: the selected node IDs must be identical."""

from __future__ import annotations

import random
import sys
from typing import Sequence

import pytest

from differential import check_expressions, collect, compare, expressions, identifiers, skipped, write


def exercise(pytester: pytest.Pytester, fixed: Sequence[str] = (), marks: Sequence[str] = (),
             seed: int = 0, count: int = 25, args: Sequence[str] = ()) -> int:
    plain = collect(pytester, "--no-fast-collect", *args)
    assert plain.ids, "the project must collect something"
    rng = random.Random(seed)
    idents = identifiers(plain.ids, marks)
    keywords = list(fixed) + expressions(rng, idents, count)
    mark_exprs = list(marks) + [f"not {m}" for m in marks] + expressions(rng, list(marks), 5)
    return check_expressions(pytester, keywords, mark_exprs, args)


BASIC = {
    "tests/unit/test_alpha.py": """
        def test_one(): pass
        def test_two(): pass
        def helper(): pass
        class TestGroup:
            def test_in_class(self): pass
            class TestNested:
                def test_deep(self): pass
        class NotATest:
            def test_hidden(self): pass
    """,
    "tests/unit/test_beta.py": """
        def test_three(): pass
    """,
    "tests/integration/test_gamma.py": """
        def test_four(): pass
        async_name = 1
    """,
    "tests/integration/deep/test_delta.py": """
        def test_five(): pass
    """,
    "tests/other_test.py": """
        def test_suffix_file(): pass
    """,
}


def test_basic_names_dirs_modules(pytester: pytest.Pytester) -> None:
    write(pytester.path, BASIC)
    skipped = exercise(
        pytester,
        fixed=["one", "ONE", "unit", "integration", "deep", "test_beta.py", "test_beta", "group",
               "nested", "not unit", "tests", "py", "TestGroup and deep", "hidden", "other_test",
               pytester.path.name, "test_one or test_five", "not (one or two)"],
    )
    assert skipped > 0, "the plugin skipped nothing"


def test_args_subdirs_node_ids_and_deselect(pytester: pytest.Pytester) -> None:
    write(pytester.path, BASIC)
    for args in (["tests/unit"], ["tests/integration", "tests/unit/test_beta.py"],
                 ["tests/unit/test_alpha.py::TestGroup"], ["--deselect", "tests/unit/test_alpha.py::test_one"],
                 ["tests"], ["--ignore", "tests/integration"]):
        runs = [compare(pytester, [*args, "-k", k]) for k in ("one", "not one", "three", "unit", "deep", "five")]
        # Under each set of arguments some filter lets the plugin skip a file
        # (-k three: every module but test_beta.py), except where the only
        # argument is one module's node id: pytest never asks to ignore it.
        if args != ["tests/unit/test_alpha.py::TestGroup"]:
            assert sum(skipped(r) for r in runs) > 0, (args, [r.report for r in runs])


MARKS = {
    "test_marks.py": """
        import pytest
        from pytest import mark
        import pytest as pt
        slow = pytest.mark.slow
        pytestmark = [pytest.mark.modmark]

        @pytest.mark.fast
        def test_a(): pass

        @mark.db(name="x")
        def test_b(): pass

        @slow
        def test_c(): pass

        @pt.mark.skipif(False, reason="no")
        def test_d(): pass

        def test_e(): pass

        @pytest.mark.usefixtures("tmp_path")
        class TestMarked:
            pytestmark = pytest.mark.classmark
            def test_f(self): pass
            @pytest.mark.fast
            def test_g(self): pass
    """,
    "test_nomarks.py": """
        def test_plain(): pass
    """,
    "test_module_only.py": """
        import pytest
        pytestmark = pytest.mark.slow
        def test_h(): pass
    """,
}


def test_markers_and_keywords(pytester: pytest.Pytester) -> None:
    write(pytester.path, MARKS)
    pytester.makeini("[pytest]\nmarkers =\n  fast\n  slow\n  db\n  modmark\n  classmark\n")
    skipped = exercise(
        pytester,
        fixed=["fast", "slow", "pytestmark", "mark", "usefixtures", "skipif", "classmark", "modmark",
               "not slow", "db", "marked", "test_marks"],
        marks=["fast", "slow", "db", "modmark", "classmark", "usefixtures", "skipif",
               "db(name='x')", "db(name='y')", "fast and not slow", "nothing"],
    )
    assert skipped > 0


PARAMS = {
    "test_params.py": """
        import pytest

        @pytest.mark.parametrize("x", [1, 2, -3, 0])
        def test_ints(x): pass

        @pytest.mark.parametrize("s", ["int64", "float32", "a b", "", "Ünï", "tab\\there", "x\\\\y"])
        def test_strings(s): pass

        @pytest.mark.parametrize("a, b", [(1, True), (None, False), ([1], {}), ("p", "q")])
        def test_pairs(a, b): pass

        @pytest.mark.parametrize("v", [1, 2], ids=["first", "second"])
        def test_explicit(v): pass

        @pytest.mark.parametrize("v", [pytest.param(1, id="one"), pytest.param(2, marks=pytest.mark.slow), 3])
        def test_param_objects(v): pass

        @pytest.mark.parametrize("x", [1, 2])
        @pytest.mark.parametrize("y", ["u", "v"])
        def test_stacked(x, y): pass

        @pytest.mark.parametrize("x", [1, 1, 2])
        def test_duplicates(x): pass

        @pytest.mark.parametrize("x", [])
        def test_empty(x): pass

        @pytest.mark.parametrize("x", [1.5, 2.0, 1e3])
        def test_floats(x): pass

        VALUES = ["from_var_a", "from_var_b"]
        @pytest.mark.parametrize("x", VALUES)
        def test_variable(x): pass

        @pytest.mark.parametrize("x", [1, 2], ids=lambda v: f"call{v}")
        def test_ids_callable(x): pass

        @pytest.mark.parametrize("x", [int, str, len])
        def test_named_objects(x): pass

        @pytest.mark.parametrize("x", [0x10, 1_000, 7])
        def test_int_forms(x): pass
    """,
    "test_class_params.py": """
        import pytest

        @pytest.mark.parametrize("k", ["kk1", "kk2"])
        class TestParam:
            def test_m(self, k): pass
            @pytest.mark.parametrize("j", [10, 20])
            def test_n(self, k, j): pass
    """,
    "test_module_params.py": """
        import pytest
        pytestmark = pytest.mark.parametrize("modp", ["mp1", "mp2"])
        def test_o(modp): pass
    """,
    "test_unparam.py": """
        def test_lonely(): pass
    """,
}


def test_parametrize_ids(pytester: pytest.Pytester) -> None:
    write(pytester.path, PARAMS)
    pytester.makeini("[pytest]\nmarkers =\n  slow\n")
    skipped = exercise(
        pytester,
        fixed=["int64", "float32", "a b" if False else "a", "ints[1]", "ints[-3]", "None", "True-",
               "b3", "a2", "first", "one", "stacked[1-u]", "u-1", "1-u", "duplicates", "duplicates[1",
               "10", "1e3", "1000.0", "empty", "NOTSET", "from_var_a", "call1", "int", "len", "16",
               "1000", "kk1", "mp1", "lonely", "slow", "not slow", "parametrize", "ünï", "tab", "x\\y",
               "x\\\\y", "t]", "[", "]", "-", "strings[]"],
        marks=["slow", "parametrize", "not parametrize"],
        count=40,
    )
    assert skipped > 0


FIXTURES = {
    "conftest.py": """
        import pytest

        @pytest.fixture(params=["cfa", "cfb"])
        def root_param(request): return request.param

        @pytest.fixture
        def plain(): return 1

        @pytest.fixture
        def chained(root_param): return root_param
    """,
    "sub/conftest.py": """
        import pytest

        @pytest.fixture(params=[1, 2], ids=["subx", "suby"])
        def plain(request): return request.param  # overrides a plain fixture with a parametrized one

        @pytest.fixture(autouse=True, params=["auto1", "auto2"])
        def everywhere(request): return request.param
    """,
    "test_uses_root.py": """
        def test_direct(root_param): pass
        def test_chain(chained): pass
        def test_none(): pass
        def test_plain(plain): pass
    """,
    "sub/test_sub.py": """
        def test_sub_plain(plain): pass
        def test_sub_none(): pass
    """,
    "other/test_local.py": """
        import pytest

        @pytest.fixture(params=["loc1", "loc2"])
        def local(request): return request.param

        def test_local(local): pass
        def test_untouched(): pass

        @pytest.mark.usefixtures("root_param")
        def test_usefix(): pass

        class TestFx:
            @pytest.fixture(params=["cls1"])
            def inner(self, request): return request.param
            def test_inner(self, inner): pass
            def test_not_inner(self): pass
    """,
    "other/test_nothing.py": """
        def test_nothing(): pass
    """,
}


def test_fixture_params_through_the_closure(pytester: pytest.Pytester) -> None:
    write(pytester.path, FIXTURES)
    skipped = exercise(
        pytester,
        fixed=["cfa", "direct[cfb]", "subx", "auto1", "loc1", "cls1", "none", "plain", "sub", "nothing",
               "untouched", "not cfa", "usefix", "chain and cfb", "inner"],
    )
    assert skipped > 0


HOOKS = {
    "gen/conftest.py": """
        def pytest_generate_tests(metafunc):
            if "gx" in metafunc.fixturenames:
                metafunc.parametrize("gx", ["g_one", "g_two"])
    """,
    "gen/test_gen.py": """
        def test_g(gx): pass
        def test_h(): pass
    """,
    "modhook/test_modhook.py": """
        def pytest_generate_tests(metafunc):
            if "mx" in metafunc.fixturenames:
                metafunc.parametrize("mx", ["m_one"])
        def test_m(mx): pass
        class TestClassHook:
            def pytest_generate_tests(self, metafunc):
                metafunc.parametrize("cx", ["c_one"])
            def test_c(self, cx): pass
    """,
    "marker/conftest.py": """
        import pytest
        def pytest_collection_modifyitems(items):
            for item in items:
                if "special" in item.name:
                    item.add_marker(pytest.mark.hooked)
                item.extra_keyword_matches.add("extra_kw_" + item.name[-1])
    """,
    "marker/test_marker.py": """
        def test_special(): pass
        def test_ordinary(): pass
    """,
    "ids/conftest.py": """
        def pytest_make_parametrize_id(config, val, argname):
            return f"hookid{val}"
    """,
    "ids/test_ids.py": """
        import pytest
        @pytest.mark.parametrize("v", [1, 2])
        def test_v(v): pass
    """,
    "test_top.py": """
        import pytest
        def test_top(): pass
        @pytest.mark.parametrize("w", [5])
        def test_top_special(w): pass
    """,
}


GLOBAL_HOOK_FILES = ("marker/conftest.py", "ids/conftest.py")


def test_path_scoped_hooks(pytester: pytest.Pytester) -> None:
    write(pytester.path, {k: v for k, v in HOOKS.items() if k not in GLOBAL_HOOK_FILES})
    skipped = exercise(pytester, fixed=["g_one", "m_one", "c_one", "top", "not top", "special", "v"])
    assert skipped > 0


def test_global_hooks_in_a_subdirectory_conftest(pytester: pytest.Pytester) -> None:
    # pytest_collection_modifyitems and pytest_make_parametrize_id of a conftest
    # see every item of the session, not only those below the conftest.
    write(pytester.path, HOOKS)
    pytester.makeini("[pytest]\nmarkers =\n  hooked\n")
    skipped_files = exercise(
        pytester,
        fixed=["g_one", "m_one", "c_one", "hooked", "extra_kw_l", "extra_kw_y", "extra_kw_p", "hookid1", "top",
               "not top", "special", "v"],
        marks=["hooked", "not hooked"],
    )
    # The static model cannot decide under these hooks; the items learned by
    # the first runs decide the later ones.
    assert skipped_files > 0


NAMES = {
    "base_helpers.py": """
        class Base:
            def test_inherited(self): pass
        def test_exported(): pass
        def test_star_one(): pass
    """,
    "test_unittest.py": """
        import unittest
        class Whatever(unittest.TestCase):
            def test_ut(self): pass
            def helper(self): pass
    """,
    "test_inherit.py": """
        from base_helpers import Base
        class TestChild(Base):
            def test_own(self): pass
    """,
    "test_import_test.py": """
        from base_helpers import test_exported
        def test_local_one(): pass
    """,
    "test_star.py": """
        from base_helpers import *
    """,
    "test_dynamic.py": """
        def _make(n):
            def t(): pass
            return t
        for _i in range(2):
            globals()[f"test_gen{_i}"] = _make(_i)
        def test_static(): pass
    """,
    "test_assign.py": """
        def _f(): pass
        test_assigned = _f
        def test_real(): pass
    """,
    "test_conditional.py": """
        import sys
        if sys.version_info >= (3, 0):
            def test_cond_new(): pass
        else:
            def test_cond_old(): pass
        try:
            import json
        except ImportError:
            json = None
        def test_redef(): pass
        def test_redef(): pass  # noqa: F811
    """,
    "test_deleted.py": """
        def test_gone(): pass
        del test_gone
        def test_stays(): pass
    """,
    "test_dunder_test.py": """
        class Anything:
            __test__ = True
            def test_dunder(self): pass
        def test_hidden_fn(): pass
        test_hidden_fn.__test__ = False
    """,
    "test_setattr.py": """
        import sys
        setattr(sys.modules[__name__], "test_setattr_made", lambda: None)
    """,
    "test_plainfile.py": """
        def test_plain_one(): pass
        class TestPlain:
            def test_plain_method(self): pass
            @staticmethod
            def test_static_method(): pass
            @classmethod
            def test_class_method(cls): pass
        class TestWithInit:
            def __init__(self): pass
            def test_never(self): pass
    """,
}


def test_names_from_the_runtime_namespace(pytester: pytest.Pytester) -> None:
    write(pytester.path, NAMES)
    skipped = exercise(
        pytester,
        fixed=["inherited", "exported", "star_one", "ut", "Whatever", "own", "gen0", "gen1", "assigned",
               "cond_new", "cond_old", "redef", "gone", "stays", "dunder", "hidden_fn", "setattr_made",
               "plain", "static_method", "class_method", "never", "helper", "local_one", "not plain"],
    )
    assert skipped > 0


ATTRS = {
    "test_attrs.py": """
        import functools
        from unittest import mock

        def deco(f):
            @functools.wraps(f)
            def inner(*a, **k): return f(*a, **k)
            return inner

        @deco
        def test_wrapped(): pass

        @mock.patch("os.getcwd")
        def test_patched(m): pass

        def test_tagged(): pass
        test_tagged.custom_attr = True
    """,
    "test_clean.py": """
        def test_clean(): pass
    """,
}


def test_function_dict_keywords(pytester: pytest.Pytester) -> None:
    write(pytester.path, ATTRS)
    skipped = exercise(pytester, fixed=["__wrapped__", "wrapped", "patchings", "custom_attr", "clean",
                                        "not custom_attr", "_attr", "__"])
    assert skipped > 0


def test_ini_patterns_and_testpaths(pytester: pytest.Pytester) -> None:
    write(pytester.path, {
        "checks/check_one.py": """
            def check_alpha(): pass
            def test_not_matched(): pass
            class Suite:
                def check_beta(self): pass
            class DescribeThing:
                def check_gamma(self): pass
        """,
        "checks/check_two.py": """
            def check_delta(): pass
        """,
        "checks/test_ignored_by_pattern.py": """
            def check_epsilon(): pass
        """,
        "elsewhere/check_far.py": """
            def check_far(): pass
        """,
        "build/check_built.py": """
            def check_built(): pass
        """,
    })
    pytester.makeini(
        "[pytest]\npython_files = check_*.py\npython_functions = check\npython_classes = *Suite Describe*\n"
        "testpaths = checks build\nnorecursedirs = elsewhere\n"
    )
    skipped = exercise(pytester, fixed=["alpha", "beta", "gamma", "delta", "epsilon", "far", "built",
                                        "not_matched", "Suite", "Describe", "checks"])
    assert skipped > 0


def test_path_patterns_in_python_files_and_norecursedirs(pytester: pytest.Pytester) -> None:
    """Patterns with a separator match the whole path, as pytest's fnmatch_ex
    does (pytest's own pyproject: python_files "testing/python/*.py",
    norecursedirs "testing/example_scripts"): such files are decided and
    skipped, and such directories are not walked."""
    write(pytester.path, {
        "testing/test_plain.py": "def test_plain(): pass\n",
        "testing/python/collect.py": "class TestCollect:\n    def test_in_collect(self): pass\n",
        "testing/python/fixtures.py": "def test_in_fixtures(): pass\n",
        "testing/example_scripts/test_example.py": "def test_example(): pass\n",
        "other/python/helpers.py": "def test_not_a_test_file(): pass\n",
    })
    pytester.makeini("[pytest]\npython_files = test_*.py testing/python/*.py\n"
                     "norecursedirs = testing/example_scripts .*\ntestpaths = testing other\n")
    fast = compare(pytester, ["-k", "plain"])
    assert fast.report is not None and (fast.report.total, fast.report.skipped) == (3, 2), fast.report
    fast = compare(pytester, ["-k", "in_collect or example or not_a_test"])
    assert fast.ids == ["testing/python/collect.py::TestCollect::test_in_collect"]
    assert fast.report is not None and fast.report.skipped == 2, fast.report


def test_syntax_errors_are_reported_as_plain_pytest(pytester: pytest.Pytester) -> None:
    write(pytester.path, {
        "test_broken.py": "def test_x(:\n    pass\n",
        "test_fine.py": "def test_fine(): pass\n",
    })
    plain = pytester.runpytest("--no-fast-collect", "-k", "fine")
    fast = pytester.runpytest("-k", "fine")
    assert plain.ret == fast.ret != 0
    fast.stdout.fnmatch_lines(["*test_broken.py*"])
    # The plugin decided, and imported the broken file for pytest to report.
    fast.stdout.fnmatch_lines(["fastcollect: imported 2 of 2 test files, skipped 0;*"])


def test_outcomes_are_identical(pytester: pytest.Pytester) -> None:
    write(pytester.path, {**PARAMS, **FIXTURES})
    pytester.makeini("[pytest]\nmarkers =\n  slow\n")
    runs = [compare(pytester, ["-k", k], run=True) for k in ("int64", "cfa", "not slow", "local", "stacked")]
    runs.append(compare(pytester, ["-m", "slow"], run=True))
    assert all(skipped(r) > 0 for r in runs if r is not runs[2]), [r.report for r in runs]  # all but "not slow"


def test_cold_warm_and_after_cache_clear(pytester: pytest.Pytester) -> None:
    write(pytester.path, {**BASIC, **MARKS})
    files = 8  # test modules; no conftest
    for i, k in enumerate(("one", "fast", "not one")):
        first = compare(pytester, ["-k", k])  # cold the first time, then after --cache-clear's rebuild
        warm = compare(pytester, ["-k", k])
        clear = compare(pytester, ["--cache-clear", "-k", k])
        assert first.report is not None and warm.report is not None and clear.report is not None
        assert first.report.total == warm.report.total == clear.report.total == files, first.report
        # Cold: every file parsed. Warm: the index answered, nothing parsed.
        # After --cache-clear: parsed again, nothing learned survived.
        assert first.report.parsed == (files if i == 0 else 0), first.report
        assert warm.report.parsed == 0, warm.report
        assert clear.report.parsed == files and clear.report.learned == 0, clear.report
        if k != "not one":  # every module holds a test that "not one" selects
            assert skipped(warm) > 0 and skipped(clear) > 0, (warm.report, clear.report)


# Where the node chain starts. The Session's child (the confcutdir, the
# package a --pyargs argument names, or an argument outside the confcutdir) is
# no keyword; every directory below it is. Found on networkx installed in a
# venv under the rootdir: `--pyargs ... -k "10 and not lib"` missed a test
# (".venv/lib/..." is one excluded node, not directories named "lib").
def test_pyargs_package_below_rootdir(pytester: pytest.Pytester) -> None:
    write(pytester.path, {
        "vendor/lib/site/pkgx/__init__.py": "",
        "vendor/lib/site/pkgx/core/__init__.py": "",
        "vendor/lib/site/pkgx/core/tests/__init__.py": "",
        "vendor/lib/site/pkgx/core/tests/test_alpha.py": "def test_alpha(): pass\ndef test_lib_name(): pass\n",
        "vendor/lib/site/pkgx/core/tests/test_beta.py": "def test_beta(): pass\n",
    })
    pytester.makeini("[pytest]\npythonpath = vendor/lib/site\n")
    runs = [compare(pytester, ["--pyargs", "pkgx.core", "-k", k])
            for k in ("not lib", "alpha and not lib", "lib", "not vendor", "vendor", "not site", "pkgx",
                      "not pkgx", "core and beta", "tests", "not tests")]
    assert sum(skipped(r) for r in runs) > 0, [r.report for r in runs]


def test_confcutdir_above_rootdir_names_the_rootdir(pytester: pytest.Pytester) -> None:
    write(pytester.path, {"tests/test_a.py": "def test_a(): pass\n", "tests/test_b.py": "def test_b(): pass\n"})
    pytester.makeini("[pytest]\n")
    name = pytester.path.name  # a keyword of every item once the chain starts above it
    runs = [compare(pytester, ["--confcutdir", str(pytester.path.parent), "-k", k])
            for k in (name, f"not {name}", f"{name} and test_a", "test_b")]
    assert [len(r.ids) for r in runs] == [2, 0, 1, 1], [r.ids for r in runs]
    assert skipped(runs[3]) > 0, runs[3].report


def test_conftest_above_rootdir(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    write(pytester.path, {
        "conftest.py": """
            def pytest_collection_modifyitems(items):
                for item in items:
                    if item.name.endswith("a"):
                        item.add_marker("outer")
        """,
        "proj/pytest.ini": "[pytest]\nmarkers =\n  outer\n",
        "proj/tests/test_a.py": "def test_a(): pass\n",
        "proj/tests/test_b.py": "def test_b(): pass\n",
    })
    monkeypatch.chdir(pytester.path / "proj")
    for k in ("outer", "not outer"):
        fast = compare(pytester, ["--confcutdir", str(pytester.path), "-k", k])
        assert len(fast.ids) == 1, fast.ids
    fast = compare(pytester, ["--confcutdir", str(pytester.path), "-m", "outer"])
    assert [i.rsplit("::", 1)[1] for i in fast.ids] == ["test_a"]
    # Only a fixture there: an autouse parametrized one names every item.
    write(pytester.path, {"conftest.py": """
        import pytest
        @pytest.fixture(autouse=True, params=["upper1", "upper2"])
        def upper(request): return request.param
    """})
    for k in ("upper1", "not upper2", "test_b and upper1"):
        fast = compare(pytester, ["--confcutdir", str(pytester.path), "-k", k])
        assert len(fast.ids) in (1, 2), fast.ids


def test_argument_outside_confcutdir(pytester: pytest.Pytester) -> None:
    write(pytester.path, {
        "alpha_dir/test_a.py": "def test_a(): pass\n",
        "beta_dir/sub/test_b.py": "def test_b(): pass\n",
        "beta_dir/test_c.py": "def test_c(): pass\n",
    })
    pytester.makeini("[pytest]\n")
    runs = [compare(pytester, ["--confcutdir", "alpha_dir", "beta_dir", "-k", k])
            for k in ("not beta_dir", "beta_dir", "sub", "not sub", "test_c")]
    assert [len(r.ids) for r in runs] == [2, 0, 1, 1, 1], [r.ids for r in runs]
    assert skipped(runs[4]) > 0, runs[4].report


def test_local_module_named_like_a_stdlib_module(pytester: pytest.Pytester) -> None:
    # `from colorsys import thing` imports the project's tests/colorsys.py
    # (prepend import mode puts tests/ first): no stdlib import. Found in the
    # review of import resolution; the model trusted every stdlib name.
    write(pytester.path, {
        "tests/colorsys.py": """
            import pytest
            @pytest.fixture(autouse=True, params=["cs1", "cs2"])
            def thing(request): return request.param
        """,
        "tests/test_a.py": "from colorsys import thing\ndef test_a(): pass\n",
        "other/test_c.py": "from json import dumps\ndef test_c(): pass\n",
    })
    runs = [compare(pytester, ["-k", k]) for k in ("cs1", "not cs2", "test_a and cs2", "test_c")]
    assert [len(r.ids) for r in runs] == [1, 2, 1, 1], [r.ids for r in runs]
    # json is not shadowed: test_c.py is still decided statically.
    assert skipped(runs[0]) == 1, runs[0].report


def test_local_module_named_like_a_loaded_stdlib_module(pytester: pytest.Pytester) -> None:
    # `string` is imported before collection (logging uses it): `from string
    # import Template` returns the loaded stdlib module whatever tests/ holds,
    # so the project's tests/string.py (a parametrized autouse fixture) is
    # never read. Found on pandas (pandas/io/ named like io, rootdir there).
    assert "string" in sys.modules
    write(pytester.path, {
        "tests/string.py": """
            import pytest
            @pytest.fixture(autouse=True, params=["st1", "st2"])
            def Template(request): return request.param
        """,
        "tests/test_b.py": "from string import Template\ndef test_b(): pass\n",
        "tests/test_target.py": "def test_target(): pass\n",
    })
    runs = [compare(pytester, ["-k", k]) for k in ("st1", "test_b", "test_target")]
    assert [len(r.ids) for r in runs] == [0, 1, 1], [r.ids for r in runs]
    assert skipped(runs[0]) == 2, runs[0].report


# Found by the import-resolution work (branch `static`) and its review: names
# a module binds without a def of its own that pytest still collects or uses.
BOUND_ELSEWHERE = {
    "projlib/__init__.py": "",
    "projlib/fx.py": """
        import pytest
        @pytest.fixture(autouse=True, params=["pa", "pb"])
        def param_fx(request): return request.param
    """,
    "projlib/cases.py": """
        import unittest
        class SharedCase(unittest.TestCase):
            def test_shared(self): pass
    """,
    "tests/test_holder.py": """
        class TestHolder:
            from projlib.fx import param_fx
            def test_in_holder(self): pass
    """,
    "tests/test_reexport.py": "from projlib.cases import SharedCase\n",
    "tests/test_assigned.py": """
        import pytest
        def _impl(request): return request.param
        auto = pytest.fixture(autouse=True, params=["as1", "as2"])(_impl)
        def test_x(): pass
    """,
    "tests/test_marked.py": """
        import pytest
        def test_m(): pass
        _ = pytest.mark.applied(test_m)
    """,
    "tests/test_plain.py": "def test_plain(): pass\n",
}


def test_names_bound_without_a_def(pytester: pytest.Pytester) -> None:
    write(pytester.path, BOUND_ELSEWHERE)
    pytester.makeini("[pytest]\npythonpath = .\nmarkers =\n  applied\n")
    runs = [compare(pytester, args) for args in (["-k", "pa"], ["-k", "SharedCase"], ["-k", "as1"],
                                                 ["-m", "applied"], ["-k", "test_shared"], ["-k", "plain"])]
    assert [len(r.ids) for r in runs] == [1, 1, 1, 1, 1, 1], [r.ids for r in runs]
    # test_plain.py binds nothing: still decided statically.
    assert all(skipped(r) >= 1 for r in runs), [r.report for r in runs]
