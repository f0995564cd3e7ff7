"""The core's namespace version tags (src/dict_versions.c): the watch reads
them at every window's close to find the project modules whose bindings may
have changed (links.Watch._compare_bindings). A write of a module's global
or of a class attribute changes its tag; reads and other namespaces' writes
do not."""

from __future__ import annotations

import sys
import types
from typing import Any, List

import pytest

from pytest_fastcollect import links

if links._dict_versions is None:  # pragma: no cover - the wheel always has the core
    pytest.skip("the native core is not built", allow_module_level=True)


def tags(objects: List[Any]) -> List[int]:
    out = links._dict_versions(objects)
    if out is None:
        pytest.skip(f"no version tags on Python {sys.version_info[:2]}")
    return list(memoryview(out).cast("Q"))


def test_a_write_changes_only_its_namespaces_tag() -> None:
    mod = types.ModuleType("fc_versions_probe")
    other = types.ModuleType("fc_versions_other")

    class Settings:
        level = "low"

    mod.MODE = "slow"
    objects = [mod, Settings, other, {"k": 1}, 42]
    before = tags(objects)
    assert len(before) == 5 and before[4] == 0 and all(before[:4])
    _ = mod.MODE, Settings.level, vars(other)  # reads change nothing
    assert tags(objects) == before
    exec("global MODE\nMODE = 'fast'", vars(mod))  # a global rebound, as `global` in a function does
    after = tags(objects)
    assert after[0] != before[0] and after[1:] == before[1:]
    Settings.level = "high"
    again = tags(objects)
    assert again[1] != after[1] and again[0] == after[0] and again[2:] == after[2:]


def test_not_a_list_raises() -> None:
    with pytest.raises(TypeError):
        links._dict_versions((1, 2))


def test_a_containers_tag_moves_with_its_size_and_first_items() -> None:
    import collections

    small, big, items = [1, 2], list(range(1000)), {"a"}
    queue, raw = collections.deque([1]), bytearray(b"x")
    objects: List[Any] = [small, big, items, queue, raw]
    before = tags(objects)
    assert all(before)
    _ = small[0], len(big), "a" in items, list(queue), bytes(raw)  # reads change nothing
    assert tags(objects) == before
    small[1] = object()  # replaced in place: same size
    big.append(1)
    items.add("b")
    queue.appendleft(0)
    raw[0] = ord("y")
    after = tags(objects)
    assert all(a != b for a, b in zip(after, before)), (after, before)
