"""Readings of the conftests' collection hooks kept between runs
(pytest_fastcollect/hook_cache.py): a warm run takes them from the last
reading instead of parsing the conftests again, and reads again wherever an
option the hook's conditions test, a conftest's bytes or the set of
conftests differ. Each case compares node IDs with plain pytest."""

from __future__ import annotations

import json
from typing import List

import pytest

from differential import compare, skipped, write

# A per-item hook whose marker depends on an option: the static model takes
# the markers it may add under this run's options as maybe-markers of every
# item. With --extra, the option (an input) also makes the learned records
# of an earlier run without it stale: the static model decides.
PROJECT = {
    "pytest.ini": "[pytest]\nmarkers =\n  extra\n  more\n",
    "conftest.py": """
        import pytest

        def pytest_addoption(parser):
            parser.addoption("--extra", action="store_true")

        def pytest_collection_modifyitems(config, items):
            if config.getoption("--extra"):
                for item in items:
                    if "b" in item.name:
                        item.add_marker(pytest.mark.extra)
    """,
    "tests/test_a.py": "def test_alpha(): pass\n",
    "tests/test_b.py": "def test_beta(): pass\n",
    "tests/test_c.py": "def test_gamma(): pass\n",
}


def explain(pytester: pytest.Pytester, *args: str) -> List[str]:
    # (Not after compare() alone: its recording plugin implements
    # pytest_collection_finish, a live hook that is part of the key.)
    out = pytester.runpytest_inprocess("--co", "-q", "-p", "no:randomly", "--fast-collect-explain", *args)
    return [line for line in out.outlines if line.startswith("conftest collection hooks:")]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write(pytester.path, PROJECT)
    compare(pytester, ["-k", "zzz_learn"])  # learns, reads the hook, keeps the reading
    explain(pytester, "-k", "zzz_learn")  # (the same, without compare's recording plugin)
    return pytester


def readings(pytester: pytest.Pytester) -> dict:
    (found,) = pytester.path.glob(".pytest_cache/d/fastcollect/hook_readings.json")
    return json.loads(found.read_text())


def test_a_warm_run_takes_the_kept_reading(project: pytest.Pytester) -> None:
    kept = readings(project)
    assert kept["conditions"] == [["option", "--extra", "truthy", False]], kept
    explain(project, "-k", "gamma")
    assert explain(project, "-k", "gamma") == ["conftest collection hooks: as an earlier run read them "
                                               "(hook_readings.json)"]
    fast = compare(project, ["-k", "gamma"])
    assert skipped(fast) == 2, fast.lines


def test_an_option_the_hook_tests_reads_it_again(project: pytest.Pytester) -> None:
    # Kept without --extra (the hook adds nothing): taken now, -m extra
    # would skip test_b.py, whose item the hook marks.
    assert explain(project, "--extra", "-m", "extra") == ["conftest collection hooks: read in this run"]
    fast = compare(project, ["--extra", "-m", "extra"])
    assert fast.ids == ["tests/test_b.py::test_beta"]


def test_an_edited_conftest_is_read_again(project: pytest.Pytester) -> None:
    explain(project, "--extra", "-k", "zzz_learn")  # kept with --extra: the hook may add 'extra'
    assert readings(project)["read_hooks"] == {str(project.path / "conftest.py"): ["extra"]}
    conftest = project.path / "conftest.py"
    conftest.write_text(conftest.read_text().replace("mark.extra", "mark.more"))
    assert explain(project, "--extra", "-m", "more") == ["conftest collection hooks: read in this run"]
    fast = compare(project, ["--extra", "-m", "more"])
    assert fast.ids == ["tests/test_b.py::test_beta"]


def test_a_new_conftest_is_read_with_the_others(project: pytest.Pytester) -> None:
    write(project.path, {"tests/conftest.py": """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if "gamma" in item.name:
                    item.add_marker(pytest.mark.more)
    """})
    assert explain(project, "-m", "more") == ["conftest collection hooks: read in this run"]
    fast = compare(project, ["-m", "more"])
    assert fast.ids == ["tests/test_c.py::test_gamma"]


def test_a_damaged_file_is_read_again(project: pytest.Pytester) -> None:
    (found,) = project.path.glob(".pytest_cache/d/fastcollect/hook_readings.json")
    found.write_text("{not json")
    assert explain(project, "-k", "gamma") == ["conftest collection hooks: read in this run"]
    compare(project, ["-k", "gamma"])


def test_a_local_plugin_edited_below_its_hooks_first_line_is_read_again(pytester: pytest.Pytester) -> None:
    """A plugin module of the project (named by `pytest_plugins`) whose
    per-item hook is edited to mark the first item of the session: the
    bytes of its file are part of the key, so the edit is read (a hook that
    acts across items: learning off) and the answers stay plain pytest's."""
    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = .\nmarkers =\n  extra\n  first\n",
        "conftest.py": "pytest_plugins = ['fc_local_plugin']\n",
        "fc_local_plugin.py": """
            import pytest

            def pytest_collection_modifyitems(items):
                for item in items:
                    if "b" in item.name:
                        item.add_marker(pytest.mark.extra)
        """,
        "tests/test_a.py": "def test_alpha(): pass\n",
        "tests/test_b.py": "def test_beta(): pass\n",
    })
    compare(pytester, ["-k", "zzz_learn"])
    explain(pytester, "-k", "zzz_learn")
    plugin = pytester.path / "fc_local_plugin.py"
    plugin.write_text(plugin.read_text() + "    items[0].add_marker(pytest.mark.first)\n")
    assert explain(pytester, "-m", "first") == ["conftest collection hooks: read in this run"]
    for _ in range(2):
        fast = compare(pytester, ["-m", "first"])
        assert fast.ids == ["tests/test_a.py::test_alpha"], fast.ids


def test_a_plugin_object_is_named_by_its_class(project: pytest.Pytester) -> None:
    """pluggy names a plugin object registered without a name by its id, new
    in every process: the key names its class instead, so a run with a new
    recording object of the same class (compare's) takes the kept reading."""
    compare(project, ["-k", "gamma"])  # read, and kept, under compare's recording object
    fast = compare(project, ["-k", "gamma", "--fast-collect-explain"])
    assert "conftest collection hooks: as an earlier run read them (hook_readings.json)" in fast.output, fast.output
    assert skipped(fast) == 2, fast.lines
