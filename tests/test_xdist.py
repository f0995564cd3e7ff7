"""Learning under pytest-xdist (pytest_fastcollect/distributed.py): the
controller decides once for every worker, the first worker records what it
collected under the controller's key, and a record is never used where the
process that collects would read different inputs (xdist's variables).

pytest-xdist does not distribute `--collect-only`, so every comparison here
runs the tests: plain pytest and the plugin must run the same node IDs with
the same outcomes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence

import pytest

from differential import Report, reports_of, write

pytest.importorskip("xdist")

# A per-item hook whose marker static reading cannot name makes every module
# Unknown for the static model, and test modules take their cases with a
# from-import: only learned items can let the plugin skip anything.
PROJECT = {
    "conftest.py": """
        import pytest
        def pytest_collection_modifyitems(items):
            for item in items:
                if "beta" in item.name:
                    item.add_marker(getattr(pytest.mark, "hoo" + "ked"))
    """,
    "helpers.py": """
        CASES = ("h_one", "h_two")
    """,
    **{
        f"test_{name}.py": f"""
            import pytest
            from helpers import CASES
            @pytest.mark.parametrize("c", CASES)
            def test_{name}(c): pass
            def test_beta_{name}(): pass
        """
        for name in ("alpha", "gamma", "delta", "omega", "kappa")
    },
}

_OUTCOME = re.compile(r"^\[gw\d+\] \[\s*\d+%\] (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)")


@dataclass
class Run:
    outcomes: List[str]  # "OUTCOME nodeid", sorted
    report: Optional[Report]
    lines: List[str]  # every fastcollect: line
    ret: int
    output: str


def run(pytester: pytest.Pytester, *args: str, workers: str = "2") -> Run:
    n = ["-n", workers] if workers else []
    result = pytester.runpytest_subprocess(*n, "-p", "no:randomly", "-v", "--fast-collect-explain", *args)
    lines = result.outlines
    outcomes = sorted(f"{m.group(1)} {m.group(2)}" for m in map(_OUTCOME.match, lines) if m)
    if not workers:
        outcomes = sorted(
            f"{m.group(2)} {m.group(1)}"
            for m in (re.match(r"^(\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)", line) for line in lines)
            if m
        )
    reports, _ = reports_of(lines)
    return Run(outcomes, reports[0] if reports else None, [l for l in lines if l.startswith("fastcollect")],
               int(result.ret), "\n".join(lines))


def compare(pytester: pytest.Pytester, args: Sequence[str], workers: str = "2") -> Run:
    """The same args run plain and with the plugin: same node IDs and outcomes."""
    plain = run(pytester, "--no-fast-collect", *args, workers=workers)
    fast = run(pytester, *args, workers=workers)
    assert fast.outcomes == plain.outcomes, f"args={list(args)}\nplain:\n{plain.output}\nfast:\n{fast.output}"
    assert fast.ret == plain.ret, fast.output
    assert fast.report is not None, fast.output
    return fast


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # This suite may itself run under xdist: its variables must not leak into
    # the runs it starts (a run without -n would look like a worker's).
    # (Nor the terminal size readline sets in workers.)
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\nmarkers =\n  hooked\n")
    write(pytester.path, PROJECT)
    return pytester


def test_workers_learn_and_the_second_run_decides_by_learned_items(project: pytest.Pytester) -> None:
    first = compare(project, ["-k", "gamma"])
    assert first.report is not None and first.report.learned == 0
    assert "learned the items of 5 test files" in first.output and "(xdist worker gw0)" in first.output, first.output
    second = compare(project, ["-k", "gamma"])
    assert second.report is not None
    assert (second.report.learned, second.report.skipped, second.report.total) == (5, 4, 5), second.report
    assert second.outcomes == ["PASSED test_gamma.py::test_beta_gamma", "PASSED test_gamma.py::test_gamma[h_one]",
                               "PASSED test_gamma.py::test_gamma[h_two]"]
    # Other expressions, and -m through the hook's marker, decide by the same records.
    for args in (["-k", "h_two and not beta"], ["-k", "alpha or omega"], ["-m", "hooked"], ["-k", "zzz"]):
        fast = compare(project, args)
        assert fast.report is not None and fast.report.learned == 5, (args, fast.report)
    # The records hold for a run without xdist too (same inputs).
    solo = run(project, "-k", "kappa", workers="")
    assert solo.report is not None and (solo.report.learned, solo.report.skipped) == (5, 4), solo.output


def test_records_learned_without_xdist_decide_for_workers(project: pytest.Pytester) -> None:
    run(project, "-k", "zzz", workers="")  # learns in-process
    fast = compare(project, ["-k", "delta"])
    assert fast.report is not None and (fast.report.learned, fast.report.skipped) == (5, 4), fast.output


def _modes(project: pytest.Pytester, expression: str) -> None:
    write(project.path, {
        "conftest.py": PROJECT["conftest.py"] + f"""
        import os
        MODE = {expression}
        def pytest_generate_tests(metafunc):
            if "mode" in metafunc.fixturenames:
                metafunc.parametrize("mode", [MODE])
        """,
        "test_modes.py": """
            from helpers import CASES
            def test_mode(mode): pass
        """,
    })


def test_a_conftest_reading_the_worker_id_never_gets_a_wrong_selection(project: pytest.Pytester) -> None:
    # The items depend on a variable xdist sets on workers only (sklearn's
    # conftest reads it while collecting): the same items on every worker,
    # but not what a run without xdist, or the controller, sees.
    _modes(project, '"xd" if os.environ.get("PYTEST_XDIST_WORKER") else "solo"')
    # Learned without xdist: the record says test_mode[solo].
    for args in (["-k", "zzz"], ["-k", "solo"]):
        solo = run(project, *args, workers="")
        assert solo.report is not None
    assert solo.outcomes == ["PASSED test_modes.py::test_mode[solo]"], solo.output
    solo = run(project, "-k", "alpha", workers="")
    assert solo.report is not None and solo.report.learned == 6, solo.output
    for _ in range(2):
        fast = compare(project, ["-k", "xd"])
        assert fast.outcomes == ["PASSED test_modes.py::test_mode[xd]"], fast.output
        # Not decided by the record learned without xdist, and the worker did not record.
        assert fast.report is not None and fast.report.learned == 0, fast.output
        assert "recorded nothing: input env:PYTEST_XDIST_WORKER differs" in fast.output, fast.output
    fast = compare(project, ["-k", "solo"])
    assert fast.outcomes == [], fast.output
    # Without xdist the record learned there still decides, rightly.
    solo = run(project, "-k", "solo", workers="")
    assert solo.outcomes == ["PASSED test_modes.py::test_mode[solo]"], solo.output
    assert solo.report is not None and solo.report.skipped == 5, solo.output  # (from the decision cache)


def test_the_worker_count_is_an_input_with_the_workers_value(project: pytest.Pytester) -> None:
    # sklearn's pytest_configure reads PYTEST_XDIST_WORKER_COUNT: the same on
    # every worker of a run, the number of workers.
    _modes(project, '"n" + os.environ.get("PYTEST_XDIST_WORKER_COUNT", "solo")')
    run(project, "-k", "zzz", workers="")  # learned without xdist: test_mode[nsolo]
    fast = compare(project, ["-k", "n2"])
    assert fast.report is not None and fast.report.learned == 0, fast.output
    assert "learned the items of 6 test files" in fast.output, fast.output
    fast = compare(project, ["-k", "n2"])
    assert fast.outcomes == ["PASSED test_modes.py::test_mode[n2]"], fast.output
    assert fast.report is not None and (fast.report.learned, fast.report.skipped) == (6, 5), fast.output
    # Another number of workers: the record learned with two does not decide.
    fast = compare(project, ["-k", "n1 or n2"], workers="1")
    assert fast.outcomes == ["PASSED test_modes.py::test_mode[n1]"], fast.output
    assert fast.report is not None and fast.report.learned == 0, fast.output
    solo = run(project, "-k", "nsolo", workers="")
    assert solo.outcomes == ["PASSED test_modes.py::test_mode[nsolo]"], solo.output
    assert solo.report is not None and solo.report.skipped == 5, solo.output


@pytest.mark.parametrize("dist", ["loadfile", "each", "worksteal"])
def test_dist_modes(project: pytest.Pytester, dist: str) -> None:
    compare(project, ["--dist", dist, "-k", "omega"])
    fast = compare(project, ["--dist", dist, "-k", "omega or h_one"])
    assert fast.report is not None and fast.report.learned == 5, fast.output


def test_one_worker(project: pytest.Pytester) -> None:
    compare(project, ["-k", "omega"], workers="1")
    fast = compare(project, ["-k", "omega"], workers="1")
    assert fast.report is not None and (fast.report.learned, fast.report.skipped) == (5, 4), fast.output


def test_a_worker_that_crashes_running_tests(project: pytest.Pytester) -> None:
    # gw0 (the recording worker) dies in its first test, once per run; xdist
    # replaces it, the replacement collects again but does not record.
    write(project.path, {
        "test_crash.py": """
            import os
            import pytest
            from helpers import CASES
            def test_crash():
                flag = os.path.join(os.path.dirname(__file__), "crashed")
                if os.environ.get("PYTEST_XDIST_WORKER") == "gw0" and not os.path.exists(flag):
                    open(flag, "w").close()
                    os._exit(1)
        """,
    })
    flag = project.path / "crashed"
    for _ in range(2):
        plain = run(project, "--no-fast-collect", "-k", "crash or kappa", "--max-worker-restart", "2")
        flag.unlink(missing_ok=True)
        fast = run(project, "-k", "crash or kappa", "--max-worker-restart", "2")
        flag.unlink(missing_ok=True)
        assert [o.split(" ")[1] for o in fast.outcomes] == [o.split(" ")[1] for o in plain.outcomes], fast.output
        assert fast.report is not None
    fast = compare(project, ["-k", "alpha"])
    assert fast.report is not None and fast.report.learned == 6, fast.output


def test_terminal_size_is_an_input_only_when_the_project_reads_it(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest's terminal writer looks up COLUMNS/LINES in every run (xdist
    # workers have COLUMNS=80): its lookups are no input...
    monkeypatch.setenv("COLUMNS", "100")
    run(project, "-k", "zzz", workers="")
    monkeypatch.setenv("COLUMNS", "120")
    solo = run(project, "-k", "alpha", workers="")
    assert solo.report is not None and solo.report.learned == 5, solo.output
    # ... the project's own are.
    write(project.path, {"test_wide.py": """
        import os
        import pytest
        from helpers import CASES
        @pytest.mark.parametrize("w", ["w" + os.environ.get("COLUMNS", "none")])
        def test_wide(w): pass
    """})
    run(project, "-k", "zzz", workers="")
    monkeypatch.setenv("COLUMNS", "140")
    solo = run(project, "-k", "w140", workers="")
    assert solo.outcomes == ["PASSED test_wide.py::test_wide[w140]"], solo.output
    assert solo.report is not None and solo.report.learned == 0, solo.output  # environment variable changed
    # Under xdist: nothing known of the workers' COLUMNS/LINES yet, the
    # recording worker keys its record by its own, the controller learns them.
    fast = compare(project, ["-k", "w80 or w140"])
    assert fast.report is not None and fast.report.learned == 0, fast.output
    assert "learned the items of 6 test files" in fast.output, fast.output
    fast = compare(project, ["-k", "w80 or w140"])
    assert fast.report is not None and (fast.report.learned, fast.report.skipped) == (6, 5), fast.output


def test_workers_import_everything_when_the_controllers_view_is_wrong(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project.path, {"test_wide.py": """
        import os
        import pytest
        from helpers import CASES
        @pytest.mark.parametrize("w", ["w" + os.environ.get("COLUMNS", "none")])
        def test_wide(w): pass
    """})
    monkeypatch.setenv("COLUMNS", "999")
    run(project, "-k", "zzz", workers="")  # learned: test_wide[w999]
    # A stale report claims workers of a controller with COLUMNS=140 see 999.
    monkeypatch.setenv("COLUMNS", "140")
    cache = project.path / ".pytest_cache" / "v" / "fastcollect" / "xdist-terminal"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"controller": {"env:COLUMNS": "140", "env:LINES": None},
                                 "worker": {"env:COLUMNS": "999", "env:LINES": None}}))
    fast = compare(project, ["-k", "w140"])
    assert fast.outcomes == ["PASSED test_wide.py::test_wide[w140]"], fast.output
    assert fast.report is not None and fast.report.skipped == 6, fast.output  # the controller's (wrong) decision
    assert "imported every test file: input env:COLUMNS differs" in fast.output, fast.output


def test_an_option_added_by_a_conftest_collection_loads(project: pytest.Pytester) -> None:
    # Like pandas' conftest under --pyargs: loaded only when collection enters
    # its directory, it adds an option its hook reads. Neither the controller
    # (which collects nothing) nor a worker when its collection starts has it.
    write(project.path, {
        "pkg/__init__.py": "",
        "pkg/conftest.py": """
            def pytest_addoption(parser):
                parser.addoption("--run-extra", action="store_true", default=False)
            def pytest_collection_modifyitems(config, items):
                if config.getoption("--run-extra"):
                    return
        """,
        "pkg/test_inner.py": """
            from helpers import CASES
            def test_inner(): pass
        """,
    })
    project.makeini("[pytest]\nmarkers =\n  hooked\npythonpath = .\n")
    compare(project, ["-k", "inner"])
    fast = compare(project, ["-k", "inner"])
    assert fast.report is not None and (fast.report.learned, fast.report.skipped) == (6, 5), fast.output
    assert "imported every test file" not in fast.output, fast.output


@pytest.mark.parametrize("guard", ['os.environ.get("PYTEST_XDIST_WORKER")', 'hasattr(config, "workerinput")',
                                   'config.getoption("numprocesses") is None'])
def test_a_hook_guarded_by_a_worker_only_value(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                               guard: str) -> None:
    # The static model reads a conftest hook's guard with the controller's
    # values, but the hook runs on the workers, where xdist's variables,
    # config.workerinput and its options differ: the guard must count as
    # unknown (here: the hook may mark items there), or -m misses every test.
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\nmarkers =\n  onworker\n")
    write(pytester.path, {
        "conftest.py": f"""
            import os
            import pytest
            def pytest_collection_modifyitems(config, items):
                if not ({guard}):
                    return
                for item in items:
                    item.add_marker(pytest.mark.onworker)
        """,
        "test_a.py": "def test_a(): pass\n",
        "test_b.py": "def test_b(): pass\n",
    })
    for args in (["-m", "onworker"], ["-m", "not onworker"], ["-k", "onworker"], ["-k", "test_a"]):
        fast = compare(pytester, ["--cache-clear", *args])
        assert fast.report is not None, fast.output
    # Without xdist the guard is read as before: decided statically.
    solo = run(pytester, "--cache-clear", "-k", "test_a", workers="")
    assert solo.report is not None and solo.report.skipped == 1, solo.output


def test_a_module_recorded_with_an_environment_effect_is_collected_on_workers(project: pytest.Pytester) -> None:
    """Its effect is replayed only in the process that skips it: the
    controller hands it to the workers to collect (env_effects.py)."""
    write(project.path, {
        "envlib.py": "import os\nos.environ.setdefault('FC_XDIST_EFFECT', 'set')\n",
        "test_a_env.py": "import envlib\n\ndef values():\n    return [1]\n\n"
                         "import pytest\n@pytest.mark.parametrize('v', values())\ndef test_env_loader(v): pass\n",
        "test_zz_reader.py": "import os\nimport pytest\n"
                             "@pytest.mark.parametrize('v', [os.environ.get('FC_XDIST_EFFECT')])\n"
                             "def test_reader(v): pass\n",
    })
    run(project, "-k", "zzz", workers="")  # learns in-process: the loader is recorded with its effect
    assert list((project.path / ".pytest_cache" / "d" / "fastcollect").glob("env_effects/*.json"))
    solo = compare(project, ["-k", "reader"], workers="")
    assert solo.report is not None and solo.report.skipped == 6, solo.output  # the loader skipped, replayed
    fast = compare(project, ["-k", "reader"])
    assert fast.outcomes == ["PASSED test_zz_reader.py::test_reader[set]"], fast.output
    assert fast.report is not None and fast.report.skipped == 5, fast.output  # the workers collect the loader
