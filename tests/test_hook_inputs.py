"""Everything a collection hook reads is an input of the learned items.

Conftest and plugin hooks that shape items (markers, skips, filters,
parametrization) read command-line options, environment variables, project
modules and the other items. Each case runs plain pytest (--no-fast-collect)
and pytest with the plugin in subprocesses on the same project: first a
learning sequence with the plugin, then the probe command, warm (twice, on
the learned records) and cold (after --cache-clear); the selected node IDs
must be equal every time.

Every plugin run must print the plugin's report line, so no case can pass
with the plugin silently off (PYTEST_FASTCOLLECT=0 fails them all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import pytest

import forked
from differential import write

from plugins_dir import PLUGINS_DIR, env_with_plugins

# Every subprocess: no reordering, no distribution (the probes compare order too).
COMMON = ("-p", "no:randomly", "-p", "no:xdist")

REPORT = re.compile(
    r"^fastcollect: imported (?P<n>\d+) of (?P<m>\d+) test files, skipped (?P<k>\d+); "
    r"index: .*?(?P<l>\d+) decided by learned items;",
    re.M,
)


@dataclass(frozen=True)
class Report:
    imported: int  # N
    total: int  # M
    skipped: int  # K
    learned: int  # L


def report_of(stdout: str) -> Report:
    found = REPORT.findall(stdout)
    assert len(found) == 1, f"expected one fastcollect report line (plugin off?):\n{stdout}"
    n, m, k, l = (int(x) for x in found[0])
    # "imported 0 of 0" is the line of a plugin that never decided (its
    # pytest_ignore_collect never ran): no case here has no test file.
    assert m > 0, f"the fastcollect report line counts no test file (plugin never decided?):\n{stdout}"
    return Report(n, m, k, l)


def _run(pytester: pytest.Pytester, args: Sequence[str], quiet: bool = True) -> str:
    head = ("--co", "-q") if quiet else ("--co",)
    result = forked.run(pytester, *COMMON, *head, *args, timeout=120)
    out = result.stdout.str()
    # 0: items selected, 5: none selected. Anything else (usage error,
    # collection error) means the case did not run as written.
    assert result.ret in (0, 5), f"pytest {list(args)} exited {result.ret}:\n{out}\n{result.stderr.str()}"
    return out


def _node_ids(stdout: str) -> List[str]:
    ids = []
    for line in stdout.splitlines():
        if line.startswith("="):
            break  # sections (warnings summary) follow the ids
        if "::" in line and not line[:1].isspace():
            ids.append(line.strip())
    return ids


def ids_plain(pytester: pytest.Pytester, *args: str) -> Tuple[List[str], str]:
    out = _run(pytester, ["--no-fast-collect", *args])
    assert not REPORT.search(out), f"--no-fast-collect printed a fastcollect report:\n{out}"
    return _node_ids(out), out


def ids_fast(pytester: pytest.Pytester, *args: str) -> Tuple[List[str], str]:
    out = _run(pytester, args)
    report_of(out)  # the plugin was active and decided
    return _node_ids(out), out


def _apply_env(monkeypatch: pytest.MonkeyPatch, env: Dict[str, Optional[str]]) -> None:
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@dataclass
class Scenario:
    """Learn with `learn` (under learn_env), then probe with `probe` (under probe_env, after `edit`)."""

    id: str
    learn: Tuple[str, ...]
    probe: Tuple[str, ...]
    expect: List[str]  # plain pytest's answer: proves the project does what the case says
    learn_env: Dict[str, Optional[str]] = field(default_factory=dict)
    probe_env: Dict[str, Optional[str]] = field(default_factory=dict)
    edit: Dict[str, str] = field(default_factory=dict)  # files rewritten between learning and probe
    learn_runs: int = 1
    probe_total: Optional[int] = None  # test files under the probe's paths, when it names some


def _same(pytester: pytest.Pytester, args: Sequence[str], plain: List[str], total: int, label: str) -> Report:
    ids, out = ids_fast(pytester, *args)
    missed = [i for i in plain if i not in ids]
    extra = [i for i in ids if i not in plain]
    assert not missed and not extra, f"{label} {list(args)}: missed={missed} extra={extra}\n{out}"
    assert ids == plain, f"{label} {list(args)}: order differs: plain={plain} fast={ids}"
    rep = report_of(out)
    assert rep.total == total, f"{label}: the plugin saw {rep.total} test files, the project has {total}\n{out}"
    # The line must add up: a file the plugin chose to skip but pytest
    # collected anyway (a path named on the command line) is neither.
    assert rep.imported + rep.skipped == rep.total, f"{label}: {rep}\n{out}"
    files = {i.split("::", 1)[0] for i in ids}
    assert rep.imported >= len(files), f"{label}: selected items from {len(files)} files, imported {rep.imported}"
    return rep


def run_scenario(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    total: int,
    sc: Scenario,
    items_dependent: bool = False,
) -> None:
    names = set(sc.learn_env) | set(sc.probe_env)
    _apply_env(monkeypatch, {n: sc.learn_env.get(n) for n in names})
    for i in range(sc.learn_runs):
        args = ("--cache-clear", *sc.learn) if i == 0 else sc.learn
        _, out = ids_fast(pytester, *args)
        rep = report_of(out)
        assert rep.total == total, out
        if i == 0:
            assert rep.learned == 0, f"--cache-clear left learned items:\n{out}"
    write(pytester.path, sc.edit)
    _apply_env(monkeypatch, {n: sc.probe_env.get(n) for n in names})
    plain, out = ids_plain(pytester, *sc.probe)
    assert plain == sc.expect, f"plain pytest {list(sc.probe)} selected {plain}, the case expects {sc.expect}\n{out}"
    total = sc.probe_total or total
    first = _same(pytester, sc.probe, plain, total, "warm (first probe after learning)")
    again = _same(pytester, sc.probe, plain, total, "warm (probe repeated)")
    if not items_dependent:
        # The hooks act per item, so learning must take: the first probe
        # decides by the learning run's records, or (when an input of the key
        # changed) relearns and the repeated probe decides by those. (A
        # repeated identical query may be answered from the decision cache,
        # which reports 0 learned; hence either run.) A hook that looks at
        # other items may stop learned decisions: not asserted there.
        assert max(first.learned, again.learned) > 0, (
            f"no warm probe decided anything by learned items: first={first} repeated={again}"
        )
    _same(pytester, ("--cache-clear", *sc.probe), plain, total, "cold (after --cache-clear)")


# ---------------------------------------------------------------------------
# The cases from the issue, reproduced exactly.

RUNSLOW = {
    "tests/conftest.py": """
        import pytest

        def pytest_addoption(parser):
            parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")

        def pytest_collection_modifyitems(config, items):
            if config.getoption("--runslow"):
                return
            skip_slow = pytest.mark.skip(reason="need --runslow option to run")
            for item in items:
                if "slow" in item.keywords:
                    item.add_marker(skip_slow)
    """,
    "tests/test_a.py": """
        import pytest

        @pytest.mark.slow
        def test_big_one(): pass
    """,
    "tests/test_b.py": """
        def test_small(): pass
    """,
}


@pytest.mark.parametrize(
    "sc",
    [
        Scenario("learn_without_probe_with", ("-k", "one"), ("-m", "not skip", "--runslow"),
                 ["tests/test_a.py::test_big_one", "tests/test_b.py::test_small"], learn_runs=2),
        Scenario("learn_with_probe_without", ("-k", "one", "--runslow"), ("-m", "skip"),
                 ["tests/test_a.py::test_big_one"], learn_runs=2),
    ],
    ids=lambda sc: sc.id,
)
def test_runslow_option_guards_a_skip_marker(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                             sc: Scenario) -> None:
    write(pytester.path, RUNSLOW)
    run_scenario(pytester, monkeypatch, 2, sc)


SPLIT = {
    "tests/conftest.py": """
        def pytest_addoption(parser):
            parser.addoption("--split", default=None, help="I/N: keep every N-th item from the I-th")

        def pytest_collection_modifyitems(config, items):
            split = config.getoption("--split")
            if not split:
                return
            i, n = (int(x) for x in split.split("/"))
            keep = items[(i - 1)::n]
            gone = [item for item in items if item not in keep]
            if gone:
                config.hook.pytest_deselected(items=gone)
            items[:] = keep
    """,
    "tests/test_a0.py": """
        def test_z1(): pass
    """,
    "tests/test_a1.py": """
        def test_k1(): pass
        def test_x1(): pass
    """,
    "tests/test_b.py": """
        def test_k2(): pass
        def test_y1(): pass
    """,
}


@pytest.mark.parametrize(
    "sc",
    [
        Scenario("learn_plain_probe_split", ("-k", "zzz"), ("-k", "k", "--split", "1/2"), [], learn_runs=2),
        Scenario("learn_split_probe_split", ("-k", "zzz", "--split", "1/2"), ("-k", "k", "--split", "1/2"), [],
                 learn_runs=2),
        Scenario("learn_split_probe_plain", ("-k", "zzz", "--split", "1/2"), ("-k", "k"),
                 ["tests/test_a1.py::test_k1", "tests/test_b.py::test_k2"], learn_runs=2),
    ],
    ids=lambda sc: sc.id,
)
def test_split_keeps_every_nth_item(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                    sc: Scenario) -> None:
    write(pytester.path, SPLIT)
    run_scenario(pytester, monkeypatch, 3, sc, items_dependent=True)


REPEAT = {
    "tests/test_a.py": """
        def test_alpha_one(): pass
    """,
    "tests/test_b.py": """
        def test_beta_two(): pass
    """,
}


@pytest.mark.parametrize(
    "sc",
    [
        Scenario("learn_count1_probe_count3", ("-k", "alpha"), ("-k", "beta and 2-3", "--count", "3"),
                 ["tests/test_b.py::test_beta_two[2-3]"], learn_runs=2),
        Scenario("learn_count3_probe_count1", ("-k", "alpha", "--count", "3"), ("-k", "beta and not 3"),
                 ["tests/test_b.py::test_beta_two"], learn_runs=2),
    ],
    ids=lambda sc: sc.id,
)
def test_plugin_parametrizes_from_its_option(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                             sc: Scenario) -> None:
    """pytest-repeat (outside the venv on purpose) parametrizes every test from --count."""
    # Every run of the case, plain and plugin, sees the same installed plugins.
    monkeypatch.setenv("PYTHONPATH", env_with_plugins()["PYTHONPATH"])
    write(pytester.path, REPEAT)
    header = _run(pytester, ["--no-fast-collect", "-k", "beta", "--count", "2"], quiet=False)
    plugins_line = [line for line in header.splitlines() if line.startswith("plugins:")]
    assert plugins_line and "repeat" in plugins_line[0], f"pytest-repeat not loaded from {PLUGINS_DIR}:\n{header}"
    assert "test_beta_two[2-2]" in header
    run_scenario(pytester, monkeypatch, 2, sc)


# ---------------------------------------------------------------------------
# A broad set of hook shapes, each with a few probes.

FRUIT = {
    "tests/test_p.py": """
        def test_apple(): pass
        def test_banana(): pass
    """,
    "tests/test_q.py": """
        def test_crab_apple(): pass
    """,
    "tests/test_r.py": """
        def test_cherry(): pass
    """,
    "tests/test_s.py": """
        def test_date(): pass
    """,
}
APPLE = "tests/test_p.py::test_apple"
BANANA = "tests/test_p.py::test_banana"
CRAB = "tests/test_q.py::test_crab_apple"
CHERRY = "tests/test_r.py::test_cherry"
DATE = "tests/test_s.py::test_date"
ALL_FRUIT = [APPLE, BANANA, CRAB, CHERRY, DATE]
ZZZ = ("-k", "zzz")


@dataclass
class Shape:
    files: Dict[str, str]
    total: int
    scenarios: List[Scenario]
    items_dependent: bool = False  # the hook's effect on an item depends on the other items


SHAPES: Dict[str, Shape] = {}

# `if not config.getoption(...): return`
SHAPES["getoption_guard"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        import pytest

        def pytest_addoption(parser):
            parser.addoption("--quickmark", action="store_true", default=False)

        def pytest_collection_modifyitems(config, items):
            if not config.getoption("--quickmark"):
                return
            for item in items:
                if "apple" in item.name:
                    item.add_marker(pytest.mark.quick)
    """},
    4,
    [
        Scenario("m_quick_with_option", ZZZ, ("-m", "quick", "--quickmark"), [APPLE, CRAB]),
        Scenario("learned_with_option_m_not_quick", ("-k", "zzz", "--quickmark"), ("-m", "not quick"), ALL_FRUIT),
    ],
)

# `config.option.x`: a string option names the marker; a builtin option (-x sets maxfail) guards another.
SHAPES["option_attribute"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        import pytest

        def pytest_addoption(parser):
            parser.addoption("--tag", dest="tag", default="blue")

        def pytest_collection_modifyitems(config, items):
            for item in items:
                if "apple" in item.name:
                    item.add_marker(getattr(pytest.mark, config.option.tag))
                if config.option.maxfail == 1 and "date" in item.name:  # -x/--exitfirst
                    item.add_marker(pytest.mark.xfirst)
    """},
    4,
    [
        Scenario("m_red_tag_red", ZZZ, ("-m", "red", "--tag", "red"), [APPLE, CRAB]),
        Scenario("learned_red_m_blue", ("-k", "zzz", "--tag", "red"), ("-m", "blue"), [APPLE, CRAB]),
        Scenario("builtin_exitfirst", ZZZ, ("-m", "xfirst", "-x"), [DATE]),
    ],
)

# Environment variables read in the hook: os.environ.get, `in os.environ`.
SHAPES["environ_guard"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        import os
        import pytest

        def pytest_collection_modifyitems(config, items):
            if os.environ.get("FC_HOOK_MARK") == "1":
                for item in items:
                    if "apple" in item.name:
                        item.add_marker(pytest.mark.envmark)
            if "FC_HOOK_CHERRY" in os.environ:
                for item in items:
                    if "cherry" in item.name:
                        item.add_marker(pytest.mark.envcherry)
    """},
    4,
    [
        Scenario("set_after_learning", ZZZ, ("-m", "envmark"), [APPLE, CRAB], probe_env={"FC_HOOK_MARK": "1"}),
        Scenario("unset_after_learning", ZZZ, ("-m", "not envmark"), ALL_FRUIT, learn_env={"FC_HOOK_MARK": "1"}),
        Scenario("contains_set_after_learning", ZZZ, ("-k", "envcherry"), [CHERRY],
                 probe_env={"FC_HOOK_CHERRY": ""}),
    ],
)

# The hook calls a helper function of the same conftest, which adds markers.
SHAPES["helper_function"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        import pytest

        def pytest_addoption(parser):
            parser.addoption("--helped", action="store_true", default=False)

        def _mark(config, item):
            if config.getoption("helped") and "cherry" in item.name:
                item.add_marker(pytest.mark.helped)
            if "date" in item.name:
                item.add_marker(pytest.mark.always)

        def pytest_collection_modifyitems(config, items):
            for item in items:
                _mark(config, item)
    """},
    4,
    [
        Scenario("m_always", ZZZ, ("-m", "always"), [DATE]),
        Scenario("m_helped_with_option", ZZZ, ("-m", "helped", "--helped"), [CHERRY]),
    ],
)

# `enumerate(items)`: the first two items get a marker.
SHAPES["first_n_items"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        import pytest

        def pytest_collection_modifyitems(items):
            for i, item in enumerate(items):
                if i < 2:
                    item.add_marker(pytest.mark.first)
    """},
    4,
    [
        Scenario("m_first", ZZZ, ("-m", "first"), [APPLE, BANANA]),
        Scenario("m_first_paths", ZZZ, ("-m", "first", "tests/test_r.py", "tests/test_s.py"), [CHERRY, DATE],
                 probe_total=2),
        Scenario("not_first_and_k", ZZZ, ("-m", "not first", "-k", "cherry or date"), [CHERRY, DATE]),
    ],
    items_dependent=True,
)

# `items.sort(key=...)` then `items[:] = items[:3]`.
SHAPES["sort_then_cut"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        def pytest_collection_modifyitems(items):
            items.sort(key=lambda item: item.name)
            items[:] = items[:3]
    """},
    4,
    [
        Scenario("k_crab_or_date", ZZZ, ("-k", "crab or date"), []),
        Scenario("k_apple", ZZZ, ("-k", "apple"), [APPLE]),
    ],
    items_dependent=True,
)

# `items[:] = [i for i in items if ...]` on the item's name, guarded by an option.
SHAPES["per_item_filter"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        def pytest_addoption(parser):
            parser.addoption("--keep-bananas", action="store_true", default=False)

        def pytest_collection_modifyitems(config, items):
            if config.getoption("--keep-bananas"):
                return
            items[:] = [i for i in items if "banana" not in i.name]
    """},
    4,
    [
        Scenario("k_banana_kept", ZZZ, ("-k", "banana", "--keep-bananas"), [BANANA]),
        Scenario("learned_kept_k_banana_or_date", ("-k", "zzz", "--keep-bananas"), ("-k", "banana or date"), [DATE]),
    ],
)

# `config.hook.pytest_deselected(items=...)` per item, guarded by an environment variable.
SHAPES["per_item_deselected"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        import os

        def pytest_collection_modifyitems(config, items):
            keep = []
            for item in items:
                if "crab" in item.name and not os.environ.get("FC_KEEP_CRAB"):
                    config.hook.pytest_deselected(items=[item])
                else:
                    keep.append(item)
            items[:] = keep
    """},
    4,
    [
        Scenario("set_after_learning", ZZZ, ("-k", "crab"), [CRAB], probe_env={"FC_KEEP_CRAB": "1"}),
        Scenario("unset_after_learning", ZZZ, ("-k", "crab or cherry"), [CHERRY], learn_env={"FC_KEEP_CRAB": "1"}),
    ],
)

# Marker names built from item data.
SHAPES["marker_from_name"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(getattr(pytest.mark, item.name.split("_")[1]))
    """},
    4,
    [
        Scenario("m_crab", ZZZ, ("-m", "crab"), [CRAB]),
        Scenario("renamed_after_learning", ZZZ, ("-m", "elder"), ["tests/test_s.py::test_elder"],
                 edit={"tests/test_s.py": "def test_elder(): pass\n"}),
    ],
)

# The hook imports a project module, edited between learning and probe.
HELPERS_BEFORE = 'SLOW_NAMES = ["test_apple"]\n'
HELPERS_AFTER = 'SLOW_NAMES = ["test_apple", "test_date"]\n'
SHAPES["imports_project_module_in_hook"] = Shape(
    {**FRUIT, "tests/helpers.py": HELPERS_BEFORE, "tests/conftest.py": """
        import pytest

        def pytest_collection_modifyitems(items):
            from helpers import SLOW_NAMES
            for item in items:
                if item.name in SLOW_NAMES:
                    item.add_marker(pytest.mark.slow)
    """},
    4,
    [
        Scenario("helper_edited", ZZZ, ("-m", "slow"), [APPLE, DATE], edit={"tests/helpers.py": HELPERS_AFTER}),
    ],
)
SHAPES["imports_project_module_at_top"] = Shape(
    {**FRUIT, "tests/helpers.py": HELPERS_BEFORE, "tests/conftest.py": """
        import pytest
        import helpers

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name in helpers.SLOW_NAMES:
                    item.add_marker(pytest.mark.slow)
    """},
    4,
    [
        Scenario("helper_edited", ZZZ, ("-m", "slow"), [APPLE, DATE], edit={"tests/helpers.py": HELPERS_AFTER}),
    ],
)

# "Don't skip slow tests when -m names slow": the hook reads the filter itself.
SLOW_FRUIT = {
    **FRUIT,
    "tests/test_p.py": """
        import pytest

        @pytest.mark.slow
        def test_apple(): pass
        def test_banana(): pass
    """,
    "tests/test_q.py": """
        import pytest

        @pytest.mark.slow
        def test_crab_apple(): pass
    """,
}
SHAPES["reads_markexpr"] = Shape(
    {**SLOW_FRUIT, "tests/conftest.py": """
        import pytest

        def pytest_collection_modifyitems(config, items):
            if "slow" in (config.getoption("markexpr") or ""):
                return  # -m names slow: run them
            for item in items:
                if "slow" in item.keywords:
                    item.add_marker(pytest.mark.skip(reason="slow"))
    """},
    4,
    [
        Scenario("m_slow_and_not_skip", ZZZ, ("-m", "slow and not skip"), [APPLE, CRAB]),
        Scenario("learned_under_m_slow_probe_m_skip", ("-m", "slow and zzz"), ("-m", "skip"), [APPLE, CRAB]),
    ],
)
SHAPES["reads_keyword"] = Shape(
    {**SLOW_FRUIT, "tests/conftest.py": """
        import pytest

        def pytest_collection_modifyitems(config, items):
            if "slow" in (config.option.keyword or ""):
                return  # -k names slow: run them
            for item in items:
                if "slow" in item.keywords:
                    item.add_marker(pytest.mark.skip(reason="slow"))
    """},
    4,
    [
        Scenario("k_slow_and_not_skip", ZZZ, ("-k", "slow and not skip"), [APPLE, CRAB]),
    ],
)

# pytest_configure sets a flag from an option or an environment variable; the hook reads the flag.
SHAPES["configure_flag"] = Shape(
    {**FRUIT, "tests/conftest.py": """
        import os
        import pytest

        def pytest_addoption(parser):
            parser.addoption("--flag", action="store_true", default=False)

        def pytest_configure(config):
            config.myflag = config.getoption("--flag") or os.environ.get("FC_FLAG") == "1"

        def pytest_collection_modifyitems(config, items):
            if not getattr(config, "myflag", False):
                return
            for item in items:
                if "cherry" in item.name:
                    item.add_marker(pytest.mark.flagged)
    """},
    4,
    [
        Scenario("option_after_learning", ZZZ, ("-m", "flagged", "--flag"), [CHERRY]),
        Scenario("env_set_after_learning", ZZZ, ("-m", "flagged"), [CHERRY], probe_env={"FC_FLAG": "1"}),
        Scenario("env_unset_after_learning", ZZZ, ("-m", "not flagged"), ALL_FRUIT, learn_env={"FC_FLAG": "1"}),
    ],
)

# pytest_generate_tests in a conftest parametrizes from a conftest option.
SHAPES["generate_tests_option"] = Shape(
    {
        "tests/conftest.py": """
            def pytest_addoption(parser):
                parser.addoption("--nparams", type=int, default=2)

            def pytest_generate_tests(metafunc):
                if "n" in metafunc.fixturenames:
                    metafunc.parametrize("n", range(1, metafunc.config.getoption("nparams") + 1))
        """,
        "tests/test_gen.py": """
            def test_gen(n): pass
        """,
        "tests/test_other.py": """
            def test_other(): pass
        """,
    },
    2,
    [
        Scenario("nparams3_after_2", ZZZ, ("-k", "3", "--nparams", "3"), ["tests/test_gen.py::test_gen[3]"]),
        Scenario("default_after_nparams1", ("-k", "zzz", "--nparams", "1"), ("-k", "2"),
                 ["tests/test_gen.py::test_gen[2]"]),
    ],
)

# Hooks in a subdirectory's conftest (loaded only when collection reaches it).
SHAPES["subdir_conftest"] = Shape(
    {
        "tests/conftest.py": """
            def pytest_addoption(parser):
                parser.addoption("--submark", action="store_true", default=False)
        """,
        "tests/sub/conftest.py": """
            import os
            import pytest

            def pytest_collection_modifyitems(config, items):
                if not config.getoption("--submark"):
                    return
                for item in items:
                    if item.path.parent.name == "sub":
                        item.add_marker(pytest.mark.subm)

            def pytest_generate_tests(metafunc):
                if "v" in metafunc.fixturenames:
                    metafunc.parametrize("v", os.environ.get("FC_SUB_PARAMS", "v_one").split(","))
        """,
        "tests/sub/test_fig.py": """
            def test_fig(): pass
        """,
        "tests/sub/test_grape.py": """
            def test_grape(v): pass
        """,
        "tests/test_p.py": FRUIT["tests/test_p.py"],
    },
    3,
    [
        Scenario("m_subm_with_option", ZZZ, ("-m", "subm", "--submark"),
                 ["tests/sub/test_fig.py::test_fig", "tests/sub/test_grape.py::test_grape[v_one]"]),
        Scenario("env_params_after_learning", ZZZ, ("-k", "v_two"), ["tests/sub/test_grape.py::test_grape[v_two]"],
                 probe_env={"FC_SUB_PARAMS": "v_one,v_two"}),
    ],
)

SHAPE_CASES = [
    pytest.param(name, sc, id=f"{name}-{sc.id}") for name, shape in SHAPES.items() for sc in shape.scenarios
]


@pytest.mark.parametrize("name, sc", SHAPE_CASES)
def test_hook_shape(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str, sc: Scenario) -> None:
    shape = SHAPES[name]
    write(pytester.path, shape.files)
    run_scenario(pytester, monkeypatch, shape.total, sc, items_dependent=shape.items_dependent)


# ---------------------------------------------------------------------------
# The static model under hooks it can read (no learning involved: every run
# after --cache-clear).


def test_static_model_decides_under_a_per_item_marking_hook(pytester: pytest.Pytester) -> None:
    write(pytester.path, RUNSLOW)
    for args, skipped in ((("-k", "small"), 1), (("-k", "skip"), 0), (("-m", "skip"), 0), (("-m", "slow"), 1),
                          (("-m", "not skip", "--runslow"), 0)):
        plain, _ = ids_plain(pytester, *args)
        fast, out = ids_fast(pytester, "--cache-clear", *args)
        assert fast == plain, f"{args}: plain={plain} fast={fast}\n{out}"
        rep = report_of(out)
        # The hook may add 'skip' to any item: expressions naming it import
        # everything, the others are decided statically on the first run.
        assert (rep.skipped, rep.learned) == (skipped, 0), f"{args}: {rep}\n{out}"


def test_static_model_under_a_guarded_cross_item_hook(pytester: pytest.Pytester) -> None:
    write(pytester.path, SPLIT)
    plain, _ = ids_plain(pytester, "-k", "k1")
    fast, out = ids_fast(pytester, "--cache-clear", "-k", "k1")
    assert fast == plain == ["tests/test_a1.py::test_k1"]
    assert report_of(out).skipped == 2  # --split not given: the hook returns at once
    for args in (("-k", "k1", "--split", "1/2"), ("-k", "k1", "--split", "2/2")):
        plain, _ = ids_plain(pytester, *args)
        fast, out = ids_fast(pytester, "--cache-clear", *args)
        assert fast == plain, f"{args}: plain={plain} fast={fast}\n{out}"
        assert report_of(out).skipped == 0  # slicing depends on every file's items
