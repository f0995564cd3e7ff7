"""Reading a builtin container without running its class's code.

The links watch reads the containers test modules and libraries hold
(links.py). Many are instances of subclasses: `list(value)`, `len(value)`
or `value.items()` would run the subclass's own `__iter__`, `__len__` or
`items`, which may warn (SymPy's `Manifold.patches`, a list that warns on
every use: hundreds of deprecation warnings in a user's run, charged to the
plugin), load something or change state. Here the builtin base type's own
methods read the storage every mutation goes to; no code of the project runs.
"""

from __future__ import annotations

import collections
from typing import Any, List, Optional, Tuple

_BASES = (dict, list, tuple, set, frozenset, bytearray, collections.deque)


def base_of(value: Any) -> Optional[type]:
    """The builtin container type `value` is an instance of (None: none), by
    its type (isinstance would ask a proxy's `__class__`)."""
    cls = type(value)
    for base in _BASES:
        if issubclass(cls, base):
            return base
    return None


def size(value: Any) -> int:
    """len(value), by its builtin base (TypeError: not a builtin container)."""
    base = base_of(value)
    if base is None:
        raise TypeError(f"not a builtin container: {type(value).__name__}")
    return base.__len__(value)


def pairs(value: Any) -> List[Tuple[Any, Any]]:
    """A dict's (key, value) pairs, in its storage order."""
    return list(dict.items(value))


def elements(value: Any) -> List[Any]:
    """What the container holds: a dict's keys then its values; a bytearray
    holds no objects (TypeError: not a builtin container)."""
    base = base_of(value)
    if base is dict:
        return [*dict.keys(value), *dict.values(value)]
    if base is bytearray:
        return []
    if base is None:
        raise TypeError(f"not a builtin container: {type(value).__name__}")
    return list(base.__iter__(value))
