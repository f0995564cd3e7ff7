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


def test_subclasses_are_read_without_running_their_methods() -> None:
    """Tags and contents read a subclass's storage through its builtin base
    type (peek.py): its own `__iter__`/`__len__`/`items` never run, and a
    change made through its methods still shows."""
    import collections

    ran: List[str] = []

    def noisy(base: type) -> type:
        def method(name: str) -> Any:
            def call(self: Any, *args: Any) -> Any:
                ran.append(f"{base.__name__}.{name}")
                return getattr(base, name)(self, *args)
            return call
        names = ["__iter__", "__len__"] + (["items", "keys", "values"] if base is dict else [])
        return type(f"Noisy{base.__name__}", (base,), {n: method(n) for n in names})

    made = {base: noisy(base) for base in (list, dict, set, frozenset, tuple, collections.deque)}
    values = [made[list]([1, 2]), made[dict](a=[1]), made[set]({1}), made[frozenset]({2}), made[tuple]((3,)),
              made[collections.deque]([4])]
    watched = [v for v in values if not isinstance(v, (dict, tuple, frozenset))]  # tagged by content
    before_tags = tags(watched)
    before = [links._content(v) for v in values]
    assert ran == [], ran
    assert all(isinstance(c, bytes) for c in before), before
    for v in watched:
        list.append(v, 9) if isinstance(v, list) else set.add(v, 9) if isinstance(v, set) else \
            collections.deque.append(v, 9)
    dict.__setitem__(values[1], "b", 2)
    after_tags = tags(watched)
    after = [links._content(v) for v in values]
    assert ran == [], ran
    assert all(a != b for a, b in zip(after_tags, before_tags)), (before_tags, after_tags)
    assert [a != b for a, b in zip(after, before)] == [True, True, True, False, False, True]
    python = [links._content_py(v) for v in values]  # the reading without the core: the same, in Python
    assert ran == [], ran
    assert [p[0] for p in python] == [3, 2, 2, 1, 1, 2], python  # sizes (a dict's: its pairs)


def test_changed_words_names_the_tags_that_moved() -> None:
    """The watch's comparison of two readings of the tags (module.cpp)."""
    import struct

    from pytest_fastcollect._core import changed_words

    before = struct.pack("5Q", 1, 2, 3, 4, 2**64 - 1)
    assert changed_words(before, before) == []
    assert changed_words(struct.pack("5Q", 1, 9, 3, 4, 0), before) == [1, 4]
    with pytest.raises(ValueError):
        changed_words(before, before[:8])
