"""What one learning worker's collection may have changed for test modules
another worker collected (learners.py).

In one process, links.py finds the test modules that must be collected
together: one changed an object another holds. Worker processes each see
their own share only, so a change made in one is invisible to the watch of
another. Each worker therefore reports the objects its test modules hold,
each once with names that mean the same object in every process forked from
the main one (``module.attribute`` for every binding of it in a loaded
module; ``module.attr.inner`` for one attribute inside a module or a plain
object):

- `holds`: per test module, the objects it holds (containers, also one
  attribute inside a plain object or a project module; iterators);
- `reads`: per test module, ``module:<name>`` for the modules it holds and
  those of the classes and functions it holds, ``attr:<name>`` for its own
  names (what links._rebinding_links and links._attribute_writers follow);
- `changed`: per object, the test modules in whose collection windows it
  changed (the worker's watch also compares every container at every
  window's close: links.Watch.compare_all), "" where it cannot tell which;
  `changed_names`: the same for rebound modules and attributes set.

The main process then drops the records of a holder in one worker and the
changers in another (`crossed`): it imports both and learns them itself, in
collection order, as one process would. What a single learning process
cannot see (a library's container changed by a module that does not hold it,
before its first holder is watched) stays unseen here too.
"""

from __future__ import annotations

import sys
import types
from typing import AbstractSet, Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from pytest_fastcollect import peek
from pytest_fastcollect.links import Watch, _is_iterator, _Sources, _written_module, containers_of

UNKNOWN = ""  # a changer the worker cannot name: any module of its share
HOLDERS = "*holders"  # changed after collection, on behalf of its holders in the worker


def _prefixes(dotted: str) -> List[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


class _Names:
    """Every `module.attribute` binding of the objects asked about, from one
    pass over the namespaces of the loaded modules."""

    def __init__(self, wanted: Iterable[int]) -> None:
        self._names: Dict[int, Set[str]] = {key: set() for key in wanted}
        if not self._names:
            return
        for modname, module in list(sys.modules.items()):
            namespace = peek.namespace(module)
            if not isinstance(namespace, dict):
                continue
            for attr, value in list(namespace.items()):
                found = self._names.get(id(value))
                if found is not None and not attr.startswith("__"):
                    found.add(f"{modname}.{attr}")

    def of(self, value: Any) -> Set[str]:
        return self._names.get(id(value), set())


def _held(module: Any, watch: Optional[Watch]) -> List[Tuple[str, Any, Optional[Any]]]:
    """(local dotted name, object, the object it is an attribute of) for what
    a test module's namespace holds that a link can follow."""
    namespace = vars(module)
    out: List[Tuple[str, Any, Optional[Any]]] = []
    for dotted, value in containers_of(namespace, watch.project if watch is not None else None):
        head = dotted.split(".")[0]
        out.append((dotted, value, namespace.get(head) if "." in dotted else None))
    for name, value in list(namespace.items()):
        if not name.startswith("__") and _is_iterator(value):
            out.append((name, value, None))
    return out


def _module_names(module: Any) -> Set[str]:
    """`module:` names of what a test module reads modules through, and
    `attr:` names of its own bindings (links._rebinding_links and
    links._attribute_writers follow them)."""
    out: Set[str] = set()
    for name, value in list(vars(module).items()):
        out.add(f"attr:{name}")
        if peek.is_a(value, types.ModuleType):
            out.add(f"module:{peek.module_attr(value, '__name__') or ''}")
        elif peek.is_a(value, type) or callable(value):
            owner = peek.owner(value)
            if owner is not None:
                out.add(f"module:{owner}")
    return out


class _Table:
    """The objects a worker reports, each once, with its names."""

    def __init__(self, names: _Names) -> None:
        self._names = names
        self.index: Dict[int, int] = {}  # id -> position in `objects`
        self.objects: List[Set[str]] = []

    def add(self, value: Any, extra: Iterable[str] = ()) -> int:
        k = self.index.get(id(value))
        if k is None:
            k = self.index[id(value)] = len(self.objects)
            self.objects.append(set(self._names.of(value)))
        self.objects[k].update(extra)
        return k

    def foreign(self, k: int, own: str) -> bool:
        """Bound in a module other than `own` (another module's code may change it)?"""
        return any(not n.startswith(own + ".") for n in self.objects[k])


def _dotted_name(dotted: str, parent: Any, names: _Names) -> Set[str]:
    """`X.attr` reached through a module is the module's attribute (one
    name); through a plain object, the attribute of each of its names."""
    tail = dotted.split(".", 1)[1]
    if peek.is_a(parent, types.ModuleType):
        return {f"{getattr(parent, '__name__', '?')}.{tail}"}
    return {f"{n}.{tail}" for n in names.of(parent)}


def report(modules: Dict[str, Any], watch: Optional[Watch],
           writers: Optional[AbstractSet[str]] = None) -> Dict[str, Any]:
    """This worker's holds and changes: `modules` are the test modules it
    loaded (path -> module object), `watch` the learner's, closed, which
    compared every container at every window's close (Watch.compare_all).
    Objects are listed once with their names; holds and changes point at
    them by position."""
    held = {path: _held(module, watch) for path, module in modules.items()}
    wanted = {id(v) for entries in held.values() for _, v, _ in entries}
    wanted |= {id(parent) for entries in held.values() for _, _, parent in entries if parent is not None}
    if watch is not None:
        wanted |= set(watch.held)
    names = _Names(wanted)
    table = _Table(names)
    holds: Dict[str, List[int]] = {}
    reads: Dict[str, List[str]] = {}
    changed: Dict[int, Set[str]] = {}
    changed_names: Dict[str, Set[str]] = {}
    sources = _Sources(writers)
    for path, entries in held.items():
        module = modules[path]
        own = getattr(module, "__name__", "")
        found: Set[int] = set()
        for dotted, value, parent in entries:
            extra = {f"{own}.{dotted}"} | (_dotted_name(dotted, parent, names) if parent is not None else set())
            k = table.add(value, extra)
            found.add(k)
            unwatched = watch is None or id(value) not in watch.prior
            # Consumed by holding it; or changed by the holder's own import
            # before any watch saw it (links.find_links), where another
            # module's code may see it too.
            if _is_iterator(value) or (unwatched and table.foreign(k, own)
                                       and sources.writes(path)[0] & {"*", dotted.split(".")[0]}):
                changed.setdefault(k, set()).add(path)
        holds[path] = sorted(found)
        reads[path] = sorted(_module_names(module))
        _attribute_writes(path, module, sources, changed_names)
    if watch is not None:
        _watched_changes(watch, table, changed, changed_names)
    return {"objects": [sorted(n) for n in table.objects], "holds": holds, "reads": reads,
            "changed": {k: sorted(who) for k, who in changed.items()},
            "changed_names": {n: sorted(who) for n, who in changed_names.items()}}


def _attribute_writes(path: str, module: Any, sources: _Sources, changed_names: Dict[str, Set[str]]) -> None:
    """A test module setting attributes of a module it imported (its source
    tells): the module, its packages and the attribute's name change."""
    written_names = sources.writes(path)[1] if sources.may_set_attributes(path) else set()
    namespace = vars(module)
    for written in written_names:
        if written == "*":
            pairs = [(v, "*") for v in list(namespace.values()) if peek.is_a(v, types.ModuleType)]
        else:
            pairs = [_written_module(namespace, written)]
        for target, attr in pairs:
            if not peek.is_a(target, types.ModuleType):
                continue
            for prefix in _prefixes(target.__name__):
                changed_names.setdefault(f"module:{prefix}", set()).add(path)
            if attr != "*":
                changed_names.setdefault(f"attr:{attr}", set()).add(path)


def _watched_changes(watch: Watch, table: _Table, changed: Dict[int, Set[str]],
                     changed_names: Dict[str, Set[str]]) -> None:
    """What the watch saw change: in a module's window (every container is
    compared at every close in a worker), or after collection (by hooks, on
    behalf of its holders); project modules' bindings rebound."""
    for key, value in watch.held.items():
        # (changed_by may put a change on every window since a look; changed_in
        # puts it on its own: compared at every close.)
        who: Set[str] = set(watch.changed_in.get(key, ()) if watch.compare_all else watch.changed_by.get(key, ()))
        after = key in watch.after
        if who or after:
            k = table.add(value)
            changed.setdefault(k, set()).update(who)
            if after:
                changed[k].add(HOLDERS)
    for modname, rebound in watch.rebound_by.items():
        changers = {w or UNKNOWN for w in rebound}
        for prefix in _prefixes(modname):
            changed_names.setdefault(f"module:{prefix}", set()).update(changers)


def _by_name(reports: Sequence[Optional[Dict[str, Any]]], owner: Dict[str, int]
             ) -> Tuple[Dict[str, Dict[int, Set[int]]], List[Dict[int, Set[str]]], Dict[str, Dict[int, Set[str]]]]:
    """name -> share -> objects of that share's report bearing it; per share,
    object -> its holders in the share; `module:`/`attr:` name -> share ->
    modules reading it."""
    objects_named: Dict[str, Dict[int, Set[int]]] = {}
    holders: List[Dict[int, Set[str]]] = []
    readers: Dict[str, Dict[int, Set[str]]] = {}
    for k, rep in enumerate(reports):
        here: Dict[int, Set[str]] = {}
        holders.append(here)
        if rep is None:
            continue
        for path, found in rep["holds"].items():
            if owner.get(path) == k:
                for i in found:
                    here.setdefault(i, set()).add(path)
        for i in here:
            for name in rep["objects"][i]:
                objects_named.setdefault(name, {}).setdefault(k, set()).add(i)
        for path, names in rep["reads"].items():
            if owner.get(path) == k:
                for name in names:
                    readers.setdefault(name, {}).setdefault(k, set()).add(path)
    return objects_named, holders, readers


def crossed(reports: Sequence[Optional[Dict[str, Any]]], shares: Sequence[Sequence[str]]) -> Set[str]:
    """The modules whose records must be dropped: a holder in one share of
    what a module of another share changed, and that changer (every module
    of its share where the worker could not tell which). Changers outside
    every share ran in every worker, in collection order."""
    owner = {p: k for k, share in enumerate(shares) for p in share}
    objects_named, holders, readers = _by_name(reports, owner)
    drop: Set[str] = set()

    def affected(k: int, who: Iterable[str], others: Set[str], local: Set[str]) -> None:
        who = set(who)
        changers = {w for w in who if owner.get(w) == k} | (local if HOLDERS in who else set())
        if not others or not (changers or UNKNOWN in who):
            return
        drop.update(others, changers)
        if UNKNOWN in who:
            drop.update(shares[k])

    for k, rep in enumerate(reports):
        if rep is None:
            continue
        for i, who in rep["changed"].items():
            others = {p for name in rep["objects"][i] for j, objs in objects_named.get(name, {}).items() if j != k
                      for o in objs for p in holders[j].get(o, ())}
            affected(k, who, others, holders[k].get(i, set()))
        for name, who in rep["changed_names"].items():
            others = {p for j, paths in readers.get(name, {}).items() if j != k for p in paths}
            affected(k, who, others, set())
    return drop
