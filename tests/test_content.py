"""The core's reading of a container's content (src/content.c) against the
Python one (links._content_py): for every change below, both see it, and
neither sees a change where there is none. The watch compares containers
with it at every window's close (links.Watch)."""

from __future__ import annotations

import collections
from typing import Any, Callable, List, Tuple

import pytest

from pytest_fastcollect import links

if links._native_content is None:  # pragma: no cover - the wheel always has the core
    pytest.skip("the native core is not built", allow_module_level=True)


class MyList(list):
    pass


class MyDict(dict):
    def items(self):  # type: ignore[override]
        return sorted(super().items())


def native(value: Any) -> Any:
    return links._content(value)


def python(value: Any) -> Any:
    return links._content_py(value)


shared = object()
CASES: List[Tuple[str, Callable[[], Any], Callable[[Any], None]]] = [
    ("list append", lambda: [1, 2], lambda c: c.append(3)),
    ("list item replaced", lambda: ["a", "b"], lambda c: c.__setitem__(0, "z")),
    ("list reordered", lambda: [shared, 1], lambda c: c.reverse()),
    ("list unchanged", lambda: [shared, 1], lambda c: None),
    ("nested dict changed", lambda: [{"k": 1}], lambda c: c[0].__setitem__("k", 2)),
    ("nested twice", lambda: [[{"k": 1}]], lambda c: c[0][0].__setitem__("k", 2)),
    ("three levels down: not seen", lambda: [[[{"k": 1}]]], lambda c: c[0][0][0].__setitem__("k", 2)),
    ("dict value rebound", lambda: {"a": 1}, lambda c: c.__setitem__("a", 2)),
    ("dict key added", lambda: {"a": 1}, lambda c: c.__setitem__("b", 1)),
    ("dict popped and put back", lambda: {"a": shared, "b": 1}, lambda c: c.__setitem__("a", c.pop("a"))),
    ("defaultdict lookup inserts", lambda: collections.defaultdict(list), lambda c: c["x"]),
    ("OrderedDict moved", lambda: collections.OrderedDict(a=shared, b=1), lambda c: c.move_to_end("a")),
    ("dict subclass with its own items", lambda: MyDict(b=1, a=2), lambda c: c.__setitem__("c", 3)),
    ("set add", lambda: {1, 2}, lambda c: c.add(3)),
    ("set same items", lambda: {1, 2}, lambda c: (c.discard(1), c.add(1))),
    ("deque rotate", lambda: collections.deque([shared, 1, 2]), lambda c: c.rotate(1)),
    ("bytearray", lambda: bytearray(b"ab"), lambda c: c.__setitem__(0, 120)),
    ("list subclass", lambda: MyList([1]), lambda c: c.append(2)),
    ("tuple inside changed", lambda: [([1],)], lambda c: c[0][0].append(2)),
    ("set inside", lambda: {"s": {1}}, lambda c: c["s"].add(2)),
]


@pytest.mark.parametrize("make, change", [(m, c) for _, m, c in CASES], ids=[n for n, _, _ in CASES])
def test_the_core_sees_what_python_sees(make: Callable[[], Any], change: Callable[[Any], None]) -> None:
    value = make()
    before = native(value), python(value)
    change(value)
    after = native(value), python(value)
    assert (before[0] != after[0]) == (before[1] != after[1])


def test_a_change_is_seen_at_all() -> None:
    value = [1, 2]
    before = native(value)
    assert native(value) == before
    value.append(3)
    assert native(value) != before


def test_over_the_budget_the_content_equals_nothing() -> None:
    big = list(range(links._BUDGET + 1))
    assert native(big) != native(big)
    assert python(big) != python(big)
    small = [list(range(10))] * 3
    assert native(small) == native(small)


def test_a_subclass_is_read_by_its_storage() -> None:
    """Its own __iter__ never runs (peek.py): what it raises or returns does
    not matter, what its methods stored does."""
    class Bad(list):
        def __iter__(self):  # type: ignore[override]
            raise RuntimeError("no")

    bad = Bad([1])
    before = native(bad)
    assert native(bad) == before
    bad.append(2)
    assert native(bad) != before


def test_a_container_that_cannot_be_read_is_taken_as_changed() -> None:
    thing = collections.UserList([1])  # not a builtin container: the core refuses it
    with pytest.raises(TypeError):
        links._native_content(thing, 2, links._BUDGET)
    assert native(thing) != native(thing)  # links._content: never equal, so never "unchanged"
