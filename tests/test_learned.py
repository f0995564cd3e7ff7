"""Learned items: a run that imported a module records its real items; later
runs decide it exactly while the key matches, and never after any input of
the key changed."""

from __future__ import annotations

import os
import sys
import textwrap
from typing import List, Sequence

import pytest

from differential import collect, compare, skipped, write

# A conftest hook that acts per item but adds a marker whose name static
# reading cannot know defeats the static model: only learned items can let
# the plugin skip anything here.
BASE = {
    "conftest.py": """
        import pytest
        def pytest_collection_modifyitems(items):
            for item in items:
                if "beta" in item.name:
                    item.add_marker(getattr(pytest.mark, "hoo" + "ked"))
    """,
    "helpers.py": """
        import os
        CASES = ["h_one", "h_two"]
        ENV_CASES = os.environ.get("FC_CASES", "e_one").split(",")
    """,
    "cases.json": '["d_one", "d_two"]',
    "test_a.py": """
        def test_alpha(): pass
        def test_beta(): pass
    """,
    "test_data.py": """
        import json, os
        import pytest
        CASES = json.load(open(os.path.join(os.path.dirname(__file__), "cases.json")))
        @pytest.mark.parametrize("c", CASES)
        def test_data(c): pass
    """,
    "test_helpers.py": """
        import pytest
        import helpers
        @pytest.mark.parametrize("c", helpers.CASES)
        def test_helper(c): pass
        @pytest.mark.parametrize("e", helpers.ENV_CASES)
        def test_env(e): pass
    """,
    "test_base.py": """
        class Base:
            def test_inherited_one(self): pass
    """,
    "test_child.py": """
        from test_base import Base
        class TestChild(Base):
            def test_own(self): pass
    """,
    "sub/test_far.py": """
        def test_far(): pass
    """,
}

EXPRESSIONS = ["alpha", "d_two", "h_one", "e_one", "inherited", "far", "not beta", "d_three", "h_three",
               "e_two", "inherited_two", "fixt"]


def learn_then_compare(pytester: pytest.Pytester, expressions: Sequence[str] = EXPRESSIONS) -> int:
    """One learning run, then every expression compared; returns files skipped."""
    pytester.syspathinsert()
    compare(pytester, ["-k", "zzz_learn"])
    skipped = 0
    all_modules = 6
    for k in expressions:
        fast = compare(pytester, ["-k", k])
        skipped += all_modules - len(fast.modules)
    fast = compare(pytester, ["-m", "hooked"])
    skipped += all_modules - len(fast.modules)
    return skipped


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nmarkers =\n  hooked\n")
    write(pytester.path, BASE)
    return pytester


def test_learning_survives_odd_environment_lookups(project: pytest.Pytester) -> None:
    (project.path / "test_odd.py").write_text(
        "import os\n"
        "try:\n    os.environ[b'BYTES_KEY']\nexcept (KeyError, TypeError):\n    pass\n"
        "def test_odd(): pass\n"
    )
    result = project.runpytest("-k", "zzz", "-p", "no:randomly")
    assert "fastcollect: warning" not in result.stdout.str()
    result = project.runpytest("-k", "odd", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["fastcollect: imported 1 of 7 test files*7 decided by learned items*"])


def test_module_level_skips_are_learned_and_follow_installs(project: pytest.Pytester) -> None:
    (project.path / "test_optional.py").write_text(
        "import pytest\nfc_optional_dep = pytest.importorskip('fc_optional_dep')\ndef test_optional(): pass\n"
    )
    project.syspathinsert()
    compare(project, ["-k", "zzz"])
    fast = compare(project, ["-k", "alpha"])
    assert "test_optional.py" not in fast.modules  # learned: skipped as a whole
    # Installing the missing module changes the installed distributions.
    site = project.path / "site"
    (site / "fc_optional_dep").mkdir(parents=True)
    (site / "fc_optional_dep" / "__init__.py").write_text("")
    info = site / "fc_optional_dep-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fc-optional-dep\nVersion: 1.0\n")
    project.syspathinsert(site)
    fast = compare(project, ["-k", "optional"])
    assert fast.ids == ["test_optional.py::test_optional"]


def test_learned_items_decide_what_static_reading_cannot(project: pytest.Pytester) -> None:
    result = project.runpytest("-k", "zzz_nothing", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["fastcollect: imported 6 of 6 test files*0 decided by learned items*"])
    assert learn_then_compare(project) > 0
    result = project.runpytest("-k", "far", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["fastcollect: imported 1 of 6 test files, skipped 5;*"])


@pytest.mark.parametrize(
    "edit",
    ["data_file", "helper_module", "base_class_gains_test", "conftest", "env_var", "same_size_mtime_restored",
     "new_test_module"],
)
def test_every_part_of_the_key(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, edit: str) -> None:
    learn_then_compare(project, ["alpha"])
    root = project.path
    if edit == "data_file":
        (root / "cases.json").write_text('["d_one", "d_three"]')
    elif edit == "helper_module":
        (root / "helpers.py").write_text(textwrap.dedent(BASE["helpers.py"]).replace("h_two", "h_three"))
    elif edit == "base_class_gains_test":
        (root / "test_base.py").write_text(
            "class Base:\n    def test_inherited_one(self): pass\n    def test_inherited_two(self): pass\n"
        )
    elif edit == "conftest":
        (root / "conftest.py").write_text(
            textwrap.dedent(BASE["conftest.py"])
            + "\n@pytest.fixture(autouse=True, params=['fixt1'])\ndef fx(request):\n    return request.param\n"
        )
    elif edit == "env_var":
        monkeypatch.setenv("FC_CASES", "e_one,e_two")
    elif edit == "same_size_mtime_restored":
        path = root / "test_a.py"
        before = path.stat()
        text = path.read_text()
        path.write_text(text.replace("alpha", "zeta0").replace("zeta0", "alphb"))
        assert path.stat().st_size == before.st_size
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif edit == "new_test_module":
        (root / "test_new.py").write_text("def test_d_two_new(): pass\ndef test_inherited_two(): pass\n")
    runs = [compare(project, ["-k", k]) for k in EXPRESSIONS + ["alphb"]]
    runs.append(compare(project, ["-m", "hooked"]))
    # The first run after the edit ("-k alpha", which selects nothing from
    # these modules) imported the modules whose learned records the edit made
    # stale: a stale record would have skipped them.
    first = runs[0]
    stale = {
        "data_file": {"test_data.py"},
        "helper_module": {"test_helpers.py"},
        "env_var": {"test_helpers.py"},
        "base_class_gains_test": {"test_child.py"},
        "conftest": {"test_a.py", "test_data.py", "test_helpers.py", "test_base.py", "test_child.py",
                     "sub/test_far.py"},  # its autouse fixture parametrizes every item
        "same_size_mtime_restored": {"test_a.py"},
        "new_test_module": set(),
    }[edit]
    assert stale <= first.modules, (edit, first.modules, first.report)
    assert first.report is not None
    if edit in ("same_size_mtime_restored", "base_class_gains_test", "conftest"):
        assert first.report.parsed >= 1, first.report  # the changed source was read again
    assert first.report.total == (7 if edit == "new_test_module" else 6), first.report
    # Later runs decide by what the runs after the edit learned, and skip.
    assert any(r.report is not None and r.report.learned > 0 and r.report.skipped > 0 for r in runs[1:]), (
        [r.report for r in runs])


def test_xdist_uses_learned_items_decided_by_the_controller(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    project.syspathinsert()
    compare(project, ["-k", "zzz"])  # learn in-process
    plain = project.runpytest_subprocess("-n", "2", "-k", "far or d_two", "--no-fast-collect", "-p", "no:randomly")
    fast = project.runpytest_subprocess("-n", "2", "-k", "far or d_two", "-p", "no:randomly")
    plain.assert_outcomes(passed=2)
    fast.assert_outcomes(passed=2)
    fast.stdout.fnmatch_lines(["fastcollect: imported 2 of 6 test files*6 decided by learned items*"])


def test_learning_for_modules_outside_rootdir(pytester: pytest.Pytester) -> None:
    # rootdir is the invocation directory; the tests live elsewhere (like --pyargs of an installed package).
    tests = pytester.path / "elsewhere"
    write(tests, {k: v for k, v in BASE.items() if k != "sub/test_far.py"})
    run_dir = pytester.path / "run"
    run_dir.mkdir()
    pytester.chdir()
    import os
    os.chdir(run_dir)
    pytester.syspathinsert(tests)
    args = [str(tests), "--rootdir", str(run_dir), "-p", "no:randomly"]
    pytester.runpytest(*args, "-k", "zzz")
    result = pytester.runpytest(*args, "-k", "alpha")
    result.stdout.fnmatch_lines(["fastcollect: imported 1 of 5 test files, skipped 4*5 decided by learned items*"])
    result.assert_outcomes(passed=1)


def test_watching_reads_leaves_builtins_alone(project: pytest.Pytester) -> None:
    """Found on dask: a module that parametrizes with the builtin `open` got
    the learner's wrapper, so its ids and the test's callable changed."""
    (project.path / "test_opener.py").write_text(
        "import io, os\nimport pytest\n"
        "@pytest.mark.parametrize('opener', [open, io.open, os.open])\n"
        "def test_opener(opener):\n"
        "    assert opener is open or opener is io.open or opener is os.open\n"
        "    assert opener.__name__ == 'open'\n"
    )
    project.syspathinsert()
    for k in ("zzz", "opener", "open and not zzz", "not alpha"):
        compare(project, ["-k", k], run=True)  # ids, order and outcomes
    fast = compare(project, ["-k", "opener"], run=True)
    assert skipped(fast) == 6 and fast.modules == {"test_opener.py"}, fast.report  # decided by learned items
    assert fast.ids == [f"test_opener.py::test_opener[{name}]" for name in ("open0", "open1", "open2")]
    assert fast.outcomes is not None and fast.outcomes[2] == []  # nothing failed


def test_a_module_never_recorded_leaves_warm_runs_idle(pytester: pytest.Pytester) -> None:
    """A module that changes another module's object at import is never
    recorded; once a learning run refused it as it is, warm runs have nothing
    to learn (no tracing or watching). Edited, it is looked at again."""
    pytester.makepyfile(**{
        "tests/test_env": "import string\nstring.FC_IDLE_TEST = '1'\ndef test_env(): pass\n",
        "tests/test_a": "def test_one(): pass\ndef test_two(): pass\n",
    })
    pytester.runpytest("-p", "no:randomly", "--co", "-q", "-k", "test")  # imports both: learns
    warm = pytester.runpytest("-p", "no:randomly", "--co", "-q", "-k", "test_one", "--fast-collect-explain")
    warm.stdout.fnmatch_lines(["*test_env.py: changes process state at import*", "*nothing to learn*"])
    assert "tests/test_a.py::test_one" in warm.stdout.str()
    pytester.makepyfile(**{"tests/test_env": "import string\nstring.FC_IDLE_TEST = '2'\ndef test_env(): pass\n"})
    edited = pytester.runpytest("-p", "no:randomly", "--co", "-q", "-k", "test_one", "--fast-collect-explain")
    assert "nothing to learn" not in edited.stdout.str(), edited.stdout.str()
    again = pytester.runpytest("-p", "no:randomly", "--co", "-q", "-k", "test_one", "--fast-collect-explain")
    again.stdout.fnmatch_lines(["*nothing to learn*"])


def test_a_directory_its_conftest_skips_is_learned(pytester: pytest.Pytester) -> None:
    """A conftest's importorskip skips its directory as a whole (pandas'
    io/pytables without PyTables): the modules below it have no items under
    the key, as a module skipped at module level has none; recorded so, warm
    runs skip them and have nothing to learn. Once learned, the directory is
    left unwalked (its conftest is quiet: directories.py), so plain pytest's
    skip report of it is gone, an allowed difference (as a skipped module's
    module-level skip); the tests' outcomes are the same."""
    write(pytester.path, {
        # One package (one basedir): the conftest's import puts nothing new on sys.path.
        "tests/__init__.py": "", "tests/opt/__init__.py": "", "tests/opt/deeper/__init__.py": "",
        "tests/opt/conftest.py": "import pytest\npytest.importorskip('fc_not_installed_anywhere')\n",
        "tests/opt/test_x.py": """
            import pytest
            @pytest.mark.parametrize("v", [1, 2])
            def test_in_opt(v):
                pass
        """,
        "tests/opt/deeper/test_y.py": "def test_deeper(): pass\n",
        "tests/test_top.py": "import pytest\n@pytest.mark.parametrize('v', list('ab'))\ndef test_top(v): pass\n",
    })
    compare(pytester, ["-k", "opt or top"], run=True)  # ids and outcomes, the directory's skip too
    for expr in ("top and a", "deeper", "opt or top"):
        plain = collect(pytester, "--no-fast-collect", "-k", expr, run=True)
        fast = compare(pytester, ["-k", expr], run=True, items_only=True)
        assert plain.outcomes is not None and "tests/opt" in plain.outcomes[1], plain.outcomes
    assert skipped(fast) == 2 and fast.modules == {"tests/test_top.py"}, fast.report
    assert fast.outcomes is not None and "tests/opt" not in fast.outcomes[1]
    warm = pytester.runpytest("-p", "no:randomly", "--co", "-q", "-k", "in_opt", "--fast-collect-explain")
    warm.stdout.fnmatch_lines(["*test_x.py: skipped, no learned item can match*", "*nothing to learn*"])


def test_a_module_that_puts_the_project_root_on_sys_path_is_never_recorded(pytester: pytest.Pytester) -> None:
    """Collecting tests/test_c.py puts the project's root on sys.path (through
    a helper: no static process-state reason), where tests/test_d.py then
    finds `mypkg`. pytest's import mode puts only the module's own basedir
    there: any other directory, an ancestor too, is a change, so test_c is
    never recorded and is imported in every run. Likewise a module that
    writes sys.path itself (flagged by the static model) is not recorded even
    where its write changed nothing in the learning run (`if ROOT not in
    sys.path`): the key does not hold sys.path as it was."""
    write(pytester.path, {
        "mypkg/__init__.py": "VALUES = ['v1', 'v2']\n",
        "tests/fc_path_helper.py": """
            import os, sys
            ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            def setup():
                if ROOT not in sys.path:
                    sys.path.insert(0, ROOT)
        """,
        "tests/test_c_helper.py": "import fc_path_helper\nfc_path_helper.setup()\n\ndef test_c(): pass\n",
        "tests/test_d_reads.py": """
            import pytest
            import mypkg
            @pytest.mark.parametrize("v", mypkg.VALUES)
            def test_d(v): pass
        """,
        "tests/test_e_writes.py": """
            import os, sys
            ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            if ROOT not in sys.path:
                sys.path.insert(0, ROOT)
            def test_e(): pass
        """,
    })
    saved = list(sys.path)
    try:
        compare(pytester, ["-k", "zzz_learn"])
        for expr in ("test_d", "v2", "test_e"):
            sys.path[:] = saved  # (in-process runs share sys.path; a new process starts from this)
            fast = compare(pytester, ["-k", expr])
            assert "tests/test_c_helper.py" in fast.modules, (expr, fast.modules)
            assert fast.ids, expr
    finally:
        sys.path[:] = saved


def test_a_module_that_sets_a_variable_itself_is_skipped_with_its_effect(pytester: pytest.Pytester) -> None:
    """`os.environ[...] = ...` in a test module's top level: flagged by the
    static model, recorded with its effect by the learner (env_effects.py),
    then skipped where its items cannot match, the variable set for the
    modules after it as plain pytest sets it."""
    write(pytester.path, {
        # Each in-process run starts without the variable, as a new process does.
        "conftest.py": "import os\n\n\ndef pytest_unconfigure(config):\n    os.environ.pop('FC_SET_BY_A', None)\n",
        "tests/test_a_sets.py": "import os\n\nos.environ['FC_SET_BY_A'] = 'from_a'\n\ndef test_sets(): pass\n",
        "tests/test_b_reads.py": """
            import os
            import pytest
            @pytest.mark.parametrize("v", [os.environ.get("FC_SET_BY_A", "unset")])
            def test_reads(v): pass
        """,
    })
    compare(pytester, ["-k", "zzz_learn"])
    fast = compare(pytester, ["-k", "reads"], run=True)
    assert fast.ids == ["tests/test_b_reads.py::test_reads[from_a]"]
    assert "tests/test_a_sets.py" not in fast.modules, fast.lines


class _CollectionCounter:
    """A plugin object registered at run time (pytest.main(plugins=[...])):
    no learned generation's key names it."""

    def __init__(self) -> None:
        self.sessions = 0

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        self.sessions += 1


class _PerItemPlugin:
    """A plugin object whose modifyitems acts per item (learning stays on)
    but which the static model cannot read: every module is imported."""

    def pytest_collection_modifyitems(self, items: List[pytest.Item]) -> None:
        for item in items:
            item.user_properties.append(("seen", 1))


def test_a_state_changer_imported_for_a_plugins_hook_is_never_recorded(pytester: pytest.Pytester) -> None:
    """A plugin object implementing pytest_collection (registered at run
    time, after a generation was learned without it) turns learning off on
    warm runs too, and a module imported for such a plugin's effect that
    changes process state at import is never recorded: else later runs skip
    it and a selected test runs on state it did not change (scikit-learn's
    test_neighbors.py, rebinding `neighbors.kneighbors_graph`, was recorded
    in a run with such a plugin and skipped from then on)."""
    pytester.makepyfile(**{  # (scikit-learn's shape: a library function wrapped by a helper's decorator)
        "helper_pkg/__init__": "",
        "helper_pkg/neighbors": "def graph():\n    return 'loud'\n",
        "helper_pkg/utils": "import functools\n\ndef quiet(f):\n"
                            "    @functools.wraps(f)\n    def wrapper():\n        return 'quiet'\n    return wrapper\n",
        "tests/test_patch": "from helper_pkg import neighbors\nfrom helper_pkg.utils import quiet\n\n"
                            "neighbors.graph = quiet(neighbors.graph)\n\ndef test_patch(): pass\n",
        # (reads the function only when it runs: no link when learned)
        "tests/test_value": "def test_value():\n    from helper_pkg import neighbors\n"
                            "    assert neighbors.graph() == 'quiet'\n",
        "tests/test_other": "def test_other(): pass\n",
    })
    pytester.syspathinsert()
    args = ["-p", "no:randomly", "-k", "test_value", "--fast-collect-explain"]
    for _ in range(2):  # learns test_value and test_other; test_patch is refused
        compare(pytester, ["-k", "test_value"], run=True)
    with_plugin = pytester.runpytest_inprocess(*args, plugins=[_CollectionCounter()])
    with_plugin.assert_outcomes(passed=1, deselected=2)
    with_plugin.stdout.fnmatch_lines(["*learning is off: *pytest_collection wraps the whole collection*"])
    assert "learned the items" not in with_plugin.stdout.str()
    for _ in range(2):  # learning on, the static model off: test_other is learned, test_patch refused
        with_plugin = pytester.runpytest_inprocess(*args, "-k", "test_other", plugins=[_PerItemPlugin()])
        with_plugin.assert_outcomes(passed=1)
        assert "learning is off" not in with_plugin.stdout.str()
        assert "learned the items of" not in with_plugin.stdout.str() or \
            "not learned: tests/test_patch.py: the static model found it changing process state" in \
            with_plugin.stdout.str(), with_plugin.stdout.str()
    for _ in range(2):
        fast = compare(pytester, ["-k", "test_value"], run=True)
        assert fast.modules == {"tests/test_patch.py", "tests/test_value.py"}, fast.report
        assert fast.outcomes is not None and fast.outcomes[0] == ["tests/test_value.py::test_value"]


def test_a_state_changer_imported_for_a_plugin_effect_says_so(pytester: pytest.Pytester) -> None:
    """Every module is imported for a plugin's collection hook the static
    model cannot read; one whose facts show a change of process state is
    imported for that (the learner never records it), the others for the
    plugin."""
    pytester.makepyfile(**{
        "helper_lib": "VALUE = 1\n",
        "tests/test_patch": "import helper_lib\nhelper_lib.VALUE = 2\ndef test_patch(): pass\n",
        "tests/test_other": "def test_other(): pass\n",
    })
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-k", "test_other", "--fast-collect-explain",
                                          plugins=[_CollectionCounter()])
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines([
        "fastcollect: imported 2 of 2 test files*",
        "*tests/test_other.py: plugin * implements pytest_collection*",
        "*tests/test_patch.py: changes process state at import (changes 'helper_lib' in place)*",
    ])
