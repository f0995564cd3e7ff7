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
import types
from typing import Any, Dict, List, Optional, Tuple, Union

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


# Objects found in namespaces may be proxies (Django's settings, Celery's
# tasks, werkzeug's request, lazy-object-proxy, a mock) whose `__class__`,
# `__getattribute__` or `__getattr__` run code - import a settings module,
# finalize an app, add a child to a mock - or modules made by
# importlib.util.LazyLoader, whose first attribute read runs the module's
# body. The readers below go through the type's own slots and descriptors.
_MODULE_DICT = types.ModuleType.__dict__["__dict__"]
_TYPE_DICT = type.__dict__["__dict__"]
_TYPE_MRO = type.__dict__["__mro__"]
_TYPE_MODULE = type.__dict__["__module__"]
_FUNCTION_MODULE = types.FunctionType.__dict__["__module__"]
_TYPE_QUALNAME = type.__dict__["__qualname__"]
_FUNCTION_QUALNAME = types.FunctionType.__dict__["__qualname__"]


def is_a(value: Any, kinds: Union[type, Tuple[type, ...]]) -> bool:
    """isinstance(value, kinds) by value's type alone."""
    return issubclass(type(value), kinds)


def namespace(module: Any) -> Optional[Dict[str, Any]]:
    """A module's namespace, read without running any of its code (None:
    not a module)."""
    if not issubclass(type(module), types.ModuleType):
        return None
    ns = _MODULE_DICT.__get__(module)
    return ns if issubclass(type(ns), dict) else None


def module_attr(module: Any, name: str) -> Any:
    """A module's global `name` from its namespace (None: not there)."""
    ns = namespace(module)
    return None if ns is None else dict.get(ns, name)


MISSING: Any = object()  # (class_lookup: no class defines the name)


def class_lookup(cls: type, name: str) -> Any:
    """What `name` is in the first class of cls's MRO defining it, as
    stored (no descriptor called); MISSING when none does."""
    for klass in _TYPE_MRO.__get__(cls):
        own = _TYPE_DICT.__get__(klass)
        if name in own:
            return own[name]
    return MISSING


def own_dict(value: Any) -> Optional[Dict[str, Any]]:
    """An instance's own attribute dict as the default `__dict__` slot holds
    it (None: no such slot, or a class that defines `__dict__` itself)."""
    if issubclass(type(value), (type, types.ModuleType)):
        return None
    slot = class_lookup(type(value), "__dict__")
    if type(slot) is not types.GetSetDescriptorType:
        return None
    try:
        own = slot.__get__(value, type(value))
    except Exception:  # noqa: BLE001 - (a slot that cannot give one: none)
        return None
    return own if issubclass(type(own), dict) else None


def mro(cls: type) -> Tuple[type, ...]:
    """A class's MRO, by type's own descriptor (a metaclass's
    `__getattribute__` does not run)."""
    return tuple(_TYPE_MRO.__get__(cls))


def class_dict(cls: type) -> Any:
    """A class's own namespace (a mappingproxy), by type's own descriptor."""
    return _TYPE_DICT.__get__(cls)


def owner(value: Any) -> Optional[str]:
    """The module a function or class was defined in; for any other object,
    its class's (never the object's own `__module__`, which may be a proxy's
    property)."""
    return defined_in(value) if issubclass(type(value), (types.FunctionType, type)) else defined_in(type(value))


def defined_in(value: Any) -> Optional[str]:
    """The `__module__` of a function or a class, read from the object
    itself (None: anything else, whose `__module__` could be a property)."""
    if issubclass(type(value), types.FunctionType):
        name = _FUNCTION_MODULE.__get__(value)
    elif issubclass(type(value), type):
        try:
            name = _TYPE_MODULE.__get__(value)
        except AttributeError:
            return None
    else:
        return None
    return name if type(name) is str else None


def qualname(value: Any) -> str:
    """A function's or class's qualified name; for anything else, its class's."""
    if issubclass(type(value), types.FunctionType):
        return str(_FUNCTION_QUALNAME.__get__(value))
    return str(_TYPE_QUALNAME.__get__(value if issubclass(type(value), type) else type(value)))
