"""The reading of hook sources: which shapes act per item, which may act
across items, and under which option/environment conditions."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace
from typing import Any, Dict

import pytest

from pytest_fastcollect.hooks import Condition, active_crossing, summarize


def crossings(src: str, hook: str = "pytest_collection_modifyitems") -> list:
    return summarize(textwrap.dedent(src), hook).crossings


PER_ITEM = {
    "runslow": """
        def pytest_collection_modifyitems(config, items):
            if config.getoption("--runslow"):
                return
            skip_slow = pytest.mark.skip(reason="need --runslow")
            for item in items:
                if "slow" in item.keywords:
                    item.add_marker(skip_slow)
    """,
    "filter_comprehension": """
        def pytest_collection_modifyitems(config, items):
            items[:] = [i for i in items if "bad" not in i.name]
    """,
    "filter_with_deselected": """
        def pytest_collection_modifyitems(config, items):
            keep, drop = [], []
            for item in items:
                if item.get_closest_marker("gone"):
                    drop.append(item)
                else:
                    keep.append(item)
            if drop:
                config.hook.pytest_deselected(items=drop)
                items[:] = keep
    """,
    "sort_only": """
        def pytest_collection_modifyitems(items):
            items.sort(key=lambda i: i.name)
    """,
    "accumulator_never_read_per_item": """
        def pytest_collection_modifyitems(config, items):
            wanted = set()
            for item in items:
                wanted |= set(item.fixturenames) & KNOWN
            for name in wanted:
                download(name)
            for item in items:
                item.add_marker(pytest.mark.net)
    """,
    "helper_with_item": """
        def pytest_collection_modifyitems(items):
            for item in items:
                mark_it(item, "x")
    """,
    "generate_tests_from_option": """
        def pytest_generate_tests(metafunc):
            if "n" in metafunc.fixturenames:
                metafunc.parametrize("n", range(metafunc.config.getoption("--nparams")))
    """,
}

CROSS = {
    "split": """
        def pytest_collection_modifyitems(config, items):
            i, n = 1, 2
            items[:] = items[i::n]
    """,
    "enumerate_first_n": """
        def pytest_collection_modifyitems(items):
            for i, item in enumerate(items):
                if i < 2:
                    item.add_marker(pytest.mark.first)
    """,
    "len": """
        def pytest_collection_modifyitems(items):
            if len(items) > 100:
                for item in items:
                    item.add_marker(pytest.mark.big)
    """,
    "sort_then_cut": """
        def pytest_collection_modifyitems(items):
            items.sort(key=lambda i: i.name)
            items[:] = items[:3]
    """,
    "items_to_helper": """
        def pytest_collection_modifyitems(config, items):
            process_split(config, items)
    """,
    "counter_read_in_loop": """
        def pytest_collection_modifyitems(items):
            seen = 0
            for item in items:
                seen += 1
                if seen > 3:
                    item.add_marker(pytest.mark.late)
    """,
    "dedupe_with_set": """
        def pytest_collection_modifyitems(items):
            names = set()
            for item in items:
                if item.name in names:
                    item.add_marker(pytest.mark.dup)
                names.add(item.name)
    """,
    "previous_item": """
        def pytest_collection_modifyitems(items):
            last = None
            for item in items:
                if last is not None and last.name == item.name:
                    item.add_marker(pytest.mark.again)
                last = item
    """,
    "session_items": """
        def pytest_collection_modifyitems(session, config, items):
            for item in session.items[:2]:
                item.add_marker(pytest.mark.first)
    """,
}


@pytest.mark.parametrize("name", sorted(PER_ITEM))
def test_per_item_shapes(name: str) -> None:
    hook = "pytest_generate_tests" if name.startswith("generate") else "pytest_collection_modifyitems"
    assert crossings(PER_ITEM[name], hook) == []


@pytest.mark.parametrize("name", sorted(CROSS))
def test_cross_item_shapes(name: str) -> None:
    assert crossings(CROSS[name]) != []


def test_itemcollected_with_state_between_calls() -> None:
    src = """
        def pytest_itemcollected(item):
            SEEN.add(item.name)
            if len(SEEN) > 2:
                item.add_marker(pytest.mark.late)
    """
    assert crossings(src, "pytest_itemcollected") != []
    counted = "def pytest_itemcollected(item):\n    global N\n    N += 1\n    if N > 3:\n        item.add_marker('late')\n"
    assert crossings(counted, "pytest_itemcollected") != []
    # numpy's shape: state kept for a later check, no effect on items decided by it.
    numpy_like = """
        def pytest_itemcollected(item):
            global _old
            mode = get_mode()
            if _old is None:
                _old = mode
            elif mode != _old:
                _results[item] = (_old, mode)
                _old = mode
            if item.name.startswith("f2py"):
                item.add_marker(pytest.mark.thread_unsafe(reason="f2py"))
    """
    assert crossings(numpy_like, "pytest_itemcollected") == []


def _config(options: Dict[str, Any], **attrs: Any) -> Any:
    def getoption(name: str) -> Any:
        return options[name.lstrip("-").replace("-", "_")]

    return SimpleNamespace(getoption=getoption, **attrs)


def test_guards_decide_whether_the_crossing_can_run(monkeypatch: pytest.MonkeyPatch) -> None:
    split = summarize(textwrap.dedent("""
        def pytest_collection_modifyitems(config, items):
            split = config.getoption("--split")
            if not split:
                return
            i, n = map(int, split.split("/"))
            items[:] = items[i - 1::n]
    """), "pytest_collection_modifyitems")
    assert split.crossings and split.crossings[0][1] == (Condition("option", "--split", "truthy"),)
    assert active_crossing(split, _config({"split": None})) == ""
    assert active_crossing(split, _config({"split": "1/2"})) != ""

    backend = summarize(textwrap.dedent("""
        def pytest_collection_modifyitems(config, items):
            if config.backend:
                get_backend(config.backend).on_start_tests(items)
            if config.getoption("--runslow"):
                return
            for item in items:
                item.add_marker(pytest.mark.skip)
    """), "pytest_collection_modifyitems")
    assert active_crossing(backend, _config({"runslow": False}, backend=None)) == ""
    assert active_crossing(backend, _config({"runslow": False}, backend="nx_loopback")) != ""

    env = summarize(textwrap.dedent("""
        def pytest_collection_modifyitems(config, items):
            if os.environ.get("FC_SHARD") is None:
                return
            del items[::2]
    """), "pytest_collection_modifyitems")
    monkeypatch.delenv("FC_SHARD", raising=False)
    assert active_crossing(env, _config({})) == ""
    monkeypatch.setenv("FC_SHARD", "1")
    assert active_crossing(env, _config({})) != ""


def test_unreadable_source_crosses() -> None:
    assert crossings("def pytest_collection_modifyitems(items):\n    return (\n") != []


def test_items_handed_to_a_helper_of_the_same_module() -> None:
    from pytest_fastcollect.hooks import read_module

    source = textwrap.dedent('''
        def process_split(config, things):
            split = config.getoption("--split")
            if not split:
                return
            i, t = map(int, split.split("/"))
            del things[(i - 1) * len(things) // t:]

        def mark_all(items):
            for item in items:
                item.add_marker("seen")

        def pytest_collection_modifyitems(config, items):
            process_split(config, items)
            mark_all(items)
    ''')
    reading = read_module(source, ("pytest_collection_modifyitems",))["pytest_collection_modifyitems"]
    assert reading.summary.crossings
    assert all(conds == (Condition("option", "--split", "truthy"),) for _, conds in reading.summary.crossings)
    assert active_crossing(reading.summary, _config({"split": ""})) == ""
    assert active_crossing(reading.summary, _config({"split": "1/2"})) != ""
    # Unknown helpers stay across items.
    other = read_module("def pytest_collection_modifyitems(items):\n    elsewhere(items)\n",
                        ("pytest_collection_modifyitems",))["pytest_collection_modifyitems"]
    assert other.summary.crossings and other.summary.crossings[0][1] == ()


@pytest.mark.parametrize("body, marks", [
    ("for item in items:\n        item.add_marker(pytest.mark.slow)", {"slow"}),
    ("for i, item in enumerate(items):\n        item.add_marker('first')", {"first"}),
    ("first = items[0]\n    first.add_marker(pytest.mark.head)", {"head"}),
    ("mark_all(items)", {"seen"}),
    ("for item in items:\n        item.add_marker(getattr(pytest.mark, item.name))", None),
    ("for item in items:\n        item.keywords['x'] = 1", None),
    ("for item in items:\n        item.function.tagged = True", None),
    ("items.append(make_item())", None),
    ("elsewhere(items)", None),
    ("for item in items:\n        tag(item)", None),
    ("items[:] = [i for i in items if 'x' not in i.name]\n    items.sort(key=lambda i: i.name)", set()),
])
def test_markers_a_hook_may_add(body: str, marks: object) -> None:
    from pytest_fastcollect.hooks import read_module

    source = (
        "import pytest\n"
        "def mark_all(things):\n    for t in things:\n        t.add_marker('seen')\n"
        f"def pytest_collection_modifyitems(config, items):\n    {body}\n"
    )
    reading = read_module(source, ("pytest_collection_modifyitems",))["pytest_collection_modifyitems"]
    assert reading.marks() == marks
