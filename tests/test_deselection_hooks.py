"""Hooks around pytest's -k/-m deselection (pytest_fastcollect/deselection.py,
hook_phases.py): learned records are taken where -k/-m sees the items, so a
hook wrapper or a trylast hook no longer stops learning; code after
deselection that brings back items -k/-m did not select still does.

Each case: a learning run, then plain pytest and the plugin compared over
-k and -m expressions (differential.compare asserts the report line)."""

from __future__ import annotations

from typing import Dict, List, Sequence

import pytest

from differential import Collected, compare, write

TESTS = {
    "pytest.ini": "[pytest]\nmarkers =\n  slow\n  uses_pexpect\n  late\n  early\n",
    "helpers.py": """
        def make(prefix):
            return [prefix + "_x", prefix + "_y"]
    """,
    "tests/test_fast.py": """
        def test_alpha():
            pass
        def test_beta():
            pass
    """,
    "tests/test_tmp.py": """
        def test_uses_tmp(tmp_path):
            pass
        def test_spawner(tmp_path):
            return tmp_path.spawn
    """,
    "tests/test_marked.py": """
        import pytest
        @pytest.mark.slow
        def test_marked_slow():
            pass
        def test_gamma():
            pass
    """,
    "tests/test_dyn.py": """
        import pytest
        import helpers
        @pytest.mark.parametrize("c", helpers.make("dyn"))
        def test_dyn(c):
            pass
    """,
    "tests/sub/test_other.py": """
        class TestOther:
            def test_always_here(self):
                pass
            def test_other(self):
                pass
    """,
}

# pytest's own testing/conftest.py hook (9.2), with the fixture it looks for
# renamed: markers from each item's fixtures and its function's co_names,
# then fast tests first.
PYTEST_LIKE_WRAPPER = """
    import pytest

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(items):
        fast_items = []
        slow_items = []
        slowest_items = []
        neutral_items = []
        spawn_names = {"spawn_pytest", "spawn"}
        for item in items:
            try:
                fixtures = item.fixturenames
            except AttributeError:
                neutral_items.append(item)
            else:
                if "tmp_path" in fixtures:
                    co_names = item.function.__code__.co_names
                    if spawn_names.intersection(co_names):
                        item.add_marker(pytest.mark.uses_pexpect)
                        slowest_items.append(item)
                    elif "runpytest_subprocess" in co_names:
                        slowest_items.append(item)
                    else:
                        slow_items.append(item)
                    item.add_marker(pytest.mark.slow)
                else:
                    marker = item.get_closest_marker("slow")
                    if marker:
                        slowest_items.append(item)
                    else:
                        fast_items.append(item)
        items[:] = fast_items + neutral_items + slow_items + slowest_items
        return (yield)
"""

# Markers added after -k/-m deselected never select anything: records must not hold them.
TRYLAST_MARKS = """
    import pytest

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(items):
        for item in items:
            item.add_marker(getattr(pytest.mark, "la" + "te"))
"""

OLD_STYLE_WRAPPER = """
    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def pytest_collection_modifyitems(config, items):
        for item in items:
            if "a" in item.name:
                item.add_marker(getattr(pytest.mark, "ear" + "ly"))
        outcome = yield
        items.sort(key=lambda item: item.name)
        if len(items) > 2:
            items[:] = items[:3]
        config.hook.pytest_deselected(items=[])
"""

FIRST_N_AFTER = """
    import pytest

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(config, items):
        deselected = items[2:]
        items[:] = items[:2]
        config.hook.pytest_deselected(items=deselected)
"""

# Brings back items -k/-m deselected: the files they come from must be collected.
READD_DESELECTED = """
    import pytest

    DESELECTED = []

    def pytest_deselected(items):
        DESELECTED.extend(items)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(items):
        items.extend(i for i in DESELECTED if "always" in i.name)
"""

READD_IN_WRAPPER = """
    import pytest

    DESELECTED = []

    def pytest_deselected(items):
        DESELECTED.extend(items)

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(items):
        result = yield
        for item in DESELECTED:
            if "always" in item.name:
                items.append(item)
        return result
"""

READD_BY_PLUGIN_OBJECT = """
    import pytest

    class Readd:
        def __init__(self):
            self.kept = []

        def pytest_deselected(self, items):
            self.kept.extend(items)

        @pytest.hookimpl(trylast=True)
        def pytest_collection_modifyitems(self, items):
            items.extend([i for i in self.kept if "always" in i.name])

    def pytest_configure(config):
        config.pluginmanager.register(Readd(), "readd")
"""

# Before deselection, "the first N" depends on which files were collected.
FIRST_N_BEFORE = """
    def pytest_collection_modifyitems(items):
        items[:] = items[:5]
"""

KEYWORDS = ["alpha", "tmp", "spawner", "dyn_x", "gamma", "always", "other", "not alpha", "beta or dyn_y", "TestOther"]
MARKS = ["slow", "not slow", "uses_pexpect", "late", "early", "not early", "slow and not uses_pexpect"]


def project(pytester: pytest.Pytester, conftest: str) -> pytest.Pytester:
    write(pytester.path, {**TESTS, "conftest.py": conftest})
    pytester.syspathinsert()
    return pytester


def compare_all(pytester: pytest.Pytester, keywords: Sequence[str] = KEYWORDS,
                marks: Sequence[str] = MARKS) -> List[Collected]:
    """The learning run, then every expression compared; returns the runs."""
    compare(pytester, ["-k", "zzz_learn"])
    runs = [compare(pytester, ["-k", k]) for k in keywords]
    runs += [compare(pytester, ["-m", m]) for m in marks]
    return runs


def learned_runs(runs: List[Collected]) -> int:
    return sum(1 for r in runs if r.report is not None and r.report.learned > 0 and r.report.skipped > 0)


def explain(pytester: pytest.Pytester, *args: str) -> str:
    return pytester.runpytest_inprocess("--co", "-p", "no:randomly", "--fast-collect-explain", *args).stdout.str()


@pytest.mark.parametrize("conftest", [PYTEST_LIKE_WRAPPER, TRYLAST_MARKS, OLD_STYLE_WRAPPER, FIRST_N_AFTER],
                         ids=["pytest-like-wrapper", "trylast-marks", "old-style-wrapper", "first-n-after"])
def test_hooks_around_deselection_learn(pytester: pytest.Pytester, conftest: str) -> None:
    project(pytester, conftest)
    runs = compare_all(pytester)
    assert learned_runs(runs) >= 3, [r.report for r in runs]
    text = explain(pytester, "-k", "gamma")
    assert "learning is off" not in text, text


def test_pytest_like_wrapper_marks_are_learned_exactly(pytester: pytest.Pytester) -> None:
    """-m on markers the wrapper adds before deselection: decided by learned
    items (static reading cannot know which tests use the fixture)."""
    project(pytester, PYTEST_LIKE_WRAPPER)
    compare(pytester, ["-k", "zzz_learn"])
    fast = compare(pytester, ["-m", "uses_pexpect"])
    assert fast.ids == ["tests/test_tmp.py::test_spawner"]
    assert fast.report is not None and fast.report.learned > 0 and fast.report.skipped >= 3, fast.report
    fast = compare(pytester, ["-m", "slow and not uses_pexpect"])
    assert sorted(fast.ids) == ["tests/test_marked.py::test_marked_slow", "tests/test_tmp.py::test_uses_tmp"]


@pytest.mark.parametrize("conftest", [READD_DESELECTED, READD_IN_WRAPPER, READD_BY_PLUGIN_OBJECT, FIRST_N_BEFORE],
                         ids=["readd-trylast", "readd-wrapper", "readd-plugin-object", "first-n-before"])
def test_hooks_that_cross_files_stop_learning(pytester: pytest.Pytester, conftest: str) -> None:
    project(pytester, conftest)
    runs = compare_all(pytester, ["alpha", "gamma", "always", "not always"], ["slow", "late"])
    assert learned_runs(runs) == 0, [r.report for r in runs]
    text = explain(pytester, "-k", "alpha")
    assert "learning is off" in text, text
    if conftest is not FIRST_N_BEFORE:
        assert "after -k/-m" in text, text


def test_readded_items_run_as_with_plain_pytest(pytester: pytest.Pytester) -> None:
    project(pytester, READD_DESELECTED)
    fast = compare(pytester, ["-k", "alpha"], run=True)
    assert "tests/sub/test_other.py::TestOther::test_always_here" in fast.ids


def test_mark_implementation_is_restored(pytester: pytest.Pytester) -> None:
    """The wrap of pytest's -k/-m implementation lasts one collection."""
    project(pytester, "")
    result = pytester.runpytest_inprocess("-k", "alpha", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    from _pytest.mark import pytest_collection_modifyitems as original

    seen: Dict[str, object] = {}

    class Probe:
        def pytest_sessionfinish(self, session: pytest.Session) -> None:
            impl = next(i for i in session.config.pluginmanager.hook.pytest_collection_modifyitems.get_hookimpls()
                        if i.plugin_name == "mark")
            seen["function"] = impl.function

    pytester.runpytest_inprocess("-k", "alpha", "-p", "no:randomly", plugins=[Probe()])
    assert seen["function"] is original
