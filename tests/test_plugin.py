"""Options, reporting and every fallback: the plugin never breaks a run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import forked
from differential import collect, compare

PROJECT = {
    "test_alpha.py": "def test_alpha(): pass\n",
    "test_beta.py": "def test_beta(): pass\n",
    "sub/test_gamma.py": "def test_gamma(): pass\n",
}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    for rel, text in PROJECT.items():
        path = pytester.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return pytester


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--no-fast-collect*", "*--fast-collect-explain*", "*fast_collect*"])


def test_loaded_by_plain_pytest(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-k", "alpha")
    result.stdout.fnmatch_lines(["plugins:*fastcollect*", "fastcollect: imported 1 of 3 test files, skipped 2;*"])
    result.assert_outcomes(passed=1, deselected=None)


def test_skips_imports_with_a_filter(project: pytest.Pytester) -> None:
    fast = compare(project, ["-k", "alpha"])
    assert fast.modules == {"test_alpha.py"}


@pytest.mark.parametrize(
    "how",
    ["option", "ini", "env"],
)
def test_every_way_to_turn_it_off(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    args = ["-k", "alpha"]
    if how == "option":
        args.append("--no-fast-collect")
    elif how == "ini":
        project.makeini("[pytest]\nfast_collect = false\n")
    else:
        monkeypatch.setenv("PYTEST_FASTCOLLECT", "0")
    result = collect(project, *args)
    assert result.ids == ["test_alpha.py::test_alpha"]
    assert result.modules == {"test_alpha.py", "test_beta.py", "sub/test_gamma.py"}
    assert result.lines == []  # off: not even a report line


def test_no_filter_changes_nothing(project: pytest.Pytester) -> None:
    result = project.runpytest()
    result.assert_outcomes(passed=3)
    # The "plugins:" header names it, in entry-point order (which varies by venv).
    lines = [line for line in result.stdout.lines if not line.startswith("plugins:")]
    assert not [line for line in lines if "fastcollect" in line]


def test_native_core_missing_warns_once_and_imports_everything(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pytest_fastcollect._core", None)
    result = project.runpytest("-k", "alpha")
    result.assert_outcomes(passed=1)
    lines = [line for line in result.stdout.lines if line.startswith("fastcollect:")]
    assert len(lines) == 1 and "native core could not be loaded" in lines[0], lines


def test_grammar_with_unreadable_abi_falls_back(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_fastcollect import _core  # type: ignore[attr-defined]

    class TooNew:
        def __getattr__(self, name: str) -> object:
            return getattr(_core, name)

        @staticmethod
        def language_abi(capsule: object) -> tuple:
            return (15, 13, 14)

    monkeypatch.setitem(sys.modules, "pytest_fastcollect._core", TooNew())
    result = project.runpytest("-k", "alpha")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["fastcollect: importing every test file: *ABI 15*"])


def test_internal_error_falls_back(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_fastcollect import environment

    def boom(*args: object) -> dict:
        raise RuntimeError("simulated")

    monkeypatch.setattr(environment, "scan_config", boom)
    result = collect(project, "-k", "alpha")
    assert result.ids == ["test_alpha.py::test_alpha"]
    assert len(result.modules) == 3
    assert result.lines == ["fastcollect: importing every test file: internal error, importing everything "
                            "(RuntimeError: simulated)"]


def test_garbage_index_gives_one_warning_and_is_rebuilt(project: pytest.Pytester) -> None:
    project.runpytest("-k", "alpha")
    data = project.path / ".pytest_cache" / "d" / "fastcollect" / "data.mdb"
    assert data.exists()
    data.write_bytes(b"\x13\x37" * (data.stat().st_size // 2 or 4096))
    result = project.runpytest("-k", "alpha")
    result.assert_outcomes(passed=1)
    warnings = [line for line in result.stdout.lines if "warning: index was unreadable" in line]
    assert len(warnings) == 1
    again = project.runpytest("-k", "alpha")
    assert "fastcollect: warning" not in again.stdout.str()
    again.stdout.fnmatch_lines(["fastcollect: imported 1 of 3 test files, skipped 2;*"])


@pytest.mark.parametrize("cache_dir", ["/proc/fastcollect-impossible", "{tmp}/readonly/cache"])
def test_unusable_cache_dir_still_works(project: pytest.Pytester, cache_dir: str) -> None:
    readonly = project.path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        args = ["-o", f"cache_dir={cache_dir.format(tmp=project.path)}", "-k", "alpha"]
        fast = compare(project, args)
        if Path("/proc").exists() and cache_dir.startswith("/proc") or not _root():
            assert fast.modules == {"test_alpha.py"}
    finally:
        readonly.chmod(0o700)


def _root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def test_without_cacheprovider(project: pytest.Pytester) -> None:
    fast = compare(project, ["-p", "no:cacheprovider", "-k", "beta"])
    assert fast.modules == {"test_beta.py"}


def test_explain_lists_reasons(project: pytest.Pytester) -> None:
    (project.path / "test_dyn.py").write_text("from helpers import *\ndef test_x(): pass\n")
    result = project.runpytest("-k", "alpha", "--fast-collect-explain")
    result.stdout.fnmatch_lines(["*fastcollect explain*", "test_dyn.py: star import*", "imports by rule:*",
                                 "skipped 2 test files"])


def test_unhandled_expression_imports_everything(project: pytest.Pytester) -> None:
    # pytest rejects call syntax in -k at evaluation time; the plugin must not
    # hide that error by skipping every file.
    plain = project.runpytest("--no-fast-collect", "-k", "alpha(x=1)")
    fast = project.runpytest("-k", "alpha(x=1)")
    assert plain.ret == fast.ret != 0
    fast.stdout.fnmatch_lines(["fastcollect: importing every test file: -k expression uses call syntax"])


def test_xdist_workers_get_the_controllers_decision(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    # The controller prints the report line from its own decision: that the
    # workers acted on it shows only in what they imported.
    # (The side effect sits in a helper module: a call at module level would
    # make the test module Unknown to static reading.)
    (project.path / "fc_marker.py").write_text(
        "import os\nopen(os.path.join(os.path.dirname(__file__), f'imported-{os.getpid()}'), 'w').close()\n"
    )
    (project.path / "test_marked.py").write_text("import fc_marker\ndef test_delta(): pass\n")
    plain = project.runpytest_subprocess("-n", "2", "-k", "alpha or gamma", "--no-fast-collect")
    assert list(project.path.glob("imported-*")), "the marker module was not imported by plain pytest"
    for marker in project.path.glob("imported-*"):
        marker.unlink()
    fast = project.runpytest_subprocess("-n", "2", "-k", "alpha or gamma")
    plain.assert_outcomes(passed=2)
    fast.assert_outcomes(passed=2)
    fast.stdout.fnmatch_lines(["fastcollect: imported 2 of 4 test files, skipped 2;*"])
    assert not list(project.path.glob("imported-*")), "a worker imported a file the controller skipped"


class AddsMarker:
    """An installed plugin (not a conftest) whose hook the static model cannot see."""

    def pytest_collection_modifyitems(self, items: list) -> None:
        for item in items:
            if item.name == "test_beta":
                item.add_marker(pytest.mark.from_plugin)


def _collect_with_plugin(project: pytest.Pytester, *args: str) -> tuple:
    from differential import _Recorder

    rec = _Recorder()
    project.inline_run("--collect-only", "-p", "no:randomly", *args, plugins=[rec, AddsMarker()])
    return rec.ids, rec.modules


def test_foreign_plugin_hooks_leave_only_learned_decisions(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nmarkers =\n  from_plugin\n")
    plain = _collect_with_plugin(project, "--no-fast-collect", "-m", "from_plugin")
    first = _collect_with_plugin(project, "-m", "from_plugin")
    assert first[0] == plain[0] == ["test_beta.py::test_beta"]
    assert len(first[1]) == 3  # nothing skipped on static facts alone
    second = _collect_with_plugin(project, "-m", "from_plugin")
    assert second[0] == plain[0]
    assert second[1] == {"test_beta.py"}  # learned items decided the others
    third = _collect_with_plugin(project, "-k", "gamma")
    assert third[0] == ["sub/test_gamma.py::test_gamma"] and third[1] == {"sub/test_gamma.py"}


def test_a_conftest_answering_ignore_collect_does_not_hide_the_plugin(project: pytest.Pytester) -> None:
    """Found on pyarrow: its conftest's pytest_ignore_collect returns False for
    every file it keeps, and the firstresult hook never reached the plugin."""
    project.makeconftest(
        "def pytest_ignore_collect(collection_path, config):\n"
        "    return True if collection_path.name == 'test_beta.py' else False\n"
    )
    for k in ("alpha", "beta", "not alpha", "gamma or beta"):
        compare(project, ["-k", k])
    fast = compare(project, ["-k", "alpha"])
    assert fast.modules == {"test_alpha.py"}


def _explained(result: pytest.RunResult) -> dict:
    """File -> its explain line, from the 'fastcollect explain' section."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "fastcollect explain" in line)
    out = {}
    for line in lines[start + 1:]:
        name, sep, rest = line.partition(": ")
        if sep and name.endswith(".py"):
            out[name] = rest
    return out


def test_explain_names_the_deciding_step(project: pytest.Pytester) -> None:
    # test_dyn.py is beyond the static model (a star import): imported by the
    # static model, learned when imported, then decided by its learned items;
    # the same filter again is answered from the decision cache.
    (project.path / "helpers.py").write_text("X = 1\n")
    (project.path / "test_dyn.py").write_text("from helpers import *\ndef test_dyn(): pass\n")
    first = forked.run(project, "-k", "alpha", "--fast-collect-explain")
    steps = _explained(first)
    assert steps["test_dyn.py"] == "star import from 'helpers' [static model]", steps
    assert steps["test_alpha.py"].endswith("[static model]")
    assert steps["test_beta.py"] == "skipped, no item can match [static model]"
    assert steps[str(Path("sub", "test_gamma.py"))] == "skipped, no item can match [static model]"
    first.stdout.fnmatch_lines(["decided by step: static model 4", "skipped 2 test files"])

    learned = _explained(forked.run(project, "-k", "gamma", "--fast-collect-explain"))
    assert learned["test_dyn.py"] == "skipped, no learned item can match [learned]", learned
    assert learned["test_beta.py"].endswith("[static model]")

    # The same filter again: answered from the decision cache (from the third
    # run on: the second recorded test_gamma.py, a new version of the learned
    # generation, which is part of the query).
    forked.run(project, "-k", "gamma")
    again = _explained(forked.run(project, "-k", "gamma", "--fast-collect-explain"))
    assert set(again.values()) >= {"skipped, no learned item can match [cached]"}, again
    assert all(line.endswith("[cached]") for line in again.values()), again


def test_explain_names_a_conftest_effect(project: pytest.Pytester) -> None:
    # A hook pytest calls for every item of the session: no module can be skipped statically.
    project.makeconftest("def pytest_make_parametrize_id(config, val, argname):\n    return None\n")
    result = forked.run(project, "-k", "alpha", "--fast-collect-explain")
    steps = _explained(result)
    assert set(steps) == {"test_alpha.py", "test_beta.py", str(Path("sub", "test_gamma.py"))}, steps
    assert all(line.endswith("[conftest-or-plugin effect]") for line in steps.values()), steps
    result.stdout.fnmatch_lines(["decided by step: conftest-or-plugin effect 3"])


REPEATED = {
    "test_a.py": "def test_alpha(): pass\n",
    "test_b.py": "import pytest\n\n@pytest.mark.parametrize('x', [1, 2])\ndef test_beta(x): pass\n",
    "test_c.py": "import pytest\n\n@pytest.mark.repeat(2)\ndef test_gamma(): pass\n",
}


@pytest.mark.parametrize(
    "args, expect, imported",
    [
        # --count 3: every test's ids get "1-3".."3-3", joined last; the model knows them.
        (["--count", "3", "-k", "alpha and 2-3"], ["test_a.py::test_alpha[2-3]"], {"test_a.py", "test_c.py"}),
        (["--count", "3", "-k", "beta[2-1"], ["test_b.py::test_beta[2-1-3]"], {"test_b.py", "test_c.py"}),
        (["--count", "3", "-k", "beta[3"], [], {"test_c.py"}),
        # Without --count, only the test marked repeat(2) is parametrized (ids unknown to the model).
        (["-k", "2-2"], ["test_c.py::test_gamma[2-2]"], {"test_c.py"}),
        (["-k", "alpha and 1-1"], [], {"test_c.py"}),
    ],
)
def test_pytest_repeat_ids_in_the_static_model(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                               args: list, expect: list, imported: set) -> None:
    """pytest-repeat (outside the venv on purpose) parametrizes from --count and
    its marker: the first, cache-less run decides statically under it."""
    from plugins_dir import env_with_plugins

    monkeypatch.setenv("PYTHONPATH", env_with_plugins()["PYTHONPATH"])
    for rel, text in REPEATED.items():
        (pytester.path / rel).write_text(text)
    ids = []
    for plain in (True, False):
        result = forked.run(pytester, "--co", "-q", "-p", "no:randomly", "--cache-clear",
                            *(["--no-fast-collect"] if plain else []), *args)
        ids.append([line for line in result.stdout.lines if "::" in line])
    assert ids[0] == ids[1] == expect, result.stdout.str()
    report = next(line for line in result.stdout.lines if line.startswith("fastcollect:"))
    assert f"imported {len(imported)} of 3 test files, skipped {3 - len(imported)};" in report, report
    assert "0 decided by learned items" in report, report


def test_the_plugin_is_not_assertion_rewritten() -> None:
    """pytest would parse and compile every module of the plugin at each
    start where bytecode is not written (pytest_fastcollect/__init__.py):
    loaded by this session's entry point, they come from the plain loader."""
    import pytest_fastcollect.hooks
    import pytest_fastcollect.plugin

    for module in (pytest_fastcollect.plugin, pytest_fastcollect.hooks):
        assert type(module.__loader__).__name__ == "SourceFileLoader", (module, module.__loader__)
