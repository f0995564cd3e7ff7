"""Environment variables a test module's collection sets, replayed where the
module is skipped.

A library's first import may set variables (scikit-learn, joblib and
threadpoolctl `os.environ.setdefault("KMP_INIT_AT_FORK", ...)`): whichever
test module imports it first changes the environment every module collected
after it sees. Such a module is recorded with its effect (variable -> value
before, value after its collection) in a file of its own,
`env_effects/<digest of its path>.json` beside the index, with the module's
content digest and the values of the generation's inputs when it was
recorded; the file is a dependency of that module's learned record only
(changed or deleted: the record no longer holds, the module is imported and
recorded again), not of the whole generation, so a run that records another
module's effect (one file named by path, whose module is then a library's
first importer) costs no other module its record. When the plugin skips the
module, the effect is applied at the point plain pytest would have collected
it: before the first node after it in collection order starts (`due`), or,
when none follows, as the walk ends, before the collection hooks
(plugin.pytest_collection_modifyitems), so modules before it still see the
variables unset. The plugin imports the module instead when its source is
not the one recorded, the inputs differ from those it was recorded under (a
record of another generation, which may have none), or a variable's value is
not the recorded "before" (`can_replay`). A module recorded without an
effect has its file removed.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

DIR = "env_effects"

Delta = Dict[str, List[Optional[str]]]  # variable -> [before, after] (None: unset)


def _file(index_dir: str, path: str) -> str:
    name = hashlib.blake2b(os.fsencode(path), digest_size=12).hexdigest()
    return os.path.join(index_dir, DIR, name + ".json")


def file_digest(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.blake2b(f.read(), digest_size=16).hexdigest()
    except OSError:
        return ""


def inputs_digest(names: Sequence[str], values: Dict[str, str]) -> str:
    """The inputs' values (as a generation keys them; unset ones absent)."""
    picked = {n: values[n] for n in sorted(names) if n in values}
    return hashlib.blake2b(json.dumps([sorted(names), picked]).encode(), digest_size=16).hexdigest()


def load(index_dir: Optional[str]) -> Dict[str, Dict[str, object]]:
    """{module path: {"digest", "delta", "input_names", "inputs"}} of every
    module kept with an effect; {} when none is."""
    if not index_dir:
        return {}
    where = os.path.join(index_dir, DIR)
    try:
        names = os.listdir(where)
    except OSError:
        return {}
    out: Dict[str, Dict[str, object]] = {}
    for name in names:
        try:
            with open(os.path.join(where, name), encoding="utf-8") as f:
                entry = json.load(f)
        except (OSError, ValueError):
            continue  # unreadable: the record depending on it no longer holds either
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            out[entry["path"]] = entry
    return out


def keep(index_dir: str, path: str, delta: Delta, input_names: Sequence[str], inputs: Dict[str, str]) -> str:
    """Writes the module's effect (unchanged bytes are not rewritten: its
    record's dependency stays); returns the file."""
    target = _file(index_dir, path)
    text = json.dumps({"path": path, "digest": file_digest(path), "delta": delta,
                       "input_names": sorted(input_names), "inputs": inputs_digest(input_names, inputs)},
                      sort_keys=True)
    try:
        with open(target, encoding="utf-8") as f:
            if f.read() == text:
                return target
    except OSError:
        pass
    os.makedirs(os.path.dirname(target), exist_ok=True)
    scratch = f"{target}.{os.getpid()}.tmp"
    with open(scratch, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(scratch, target)
    return target


def forget(index_dir: str, paths: Iterable[str]) -> None:
    """Removes the files of modules recorded now without an effect."""
    try:
        kept = set(os.listdir(os.path.join(index_dir, DIR)))
    except OSError:
        return
    for path in paths:
        target = _file(index_dir, path)
        if os.path.basename(target) in kept:  # (one listing, not an unlink per recorded module)
            try:
                os.unlink(target)
            except OSError:
                pass


def _order(path: str) -> Tuple[str, ...]:
    """Where a path comes in pytest's walk from one root: entries sorted by
    name at every level, depth first."""
    return tuple(os.path.normpath(path).split(os.sep))


def can_replay(entry: Dict[str, object], path: str, snapshot: Dict[str, str]) -> bool:
    """The recorded effect holds for this module now: its source and the
    inputs are those it was recorded with, every variable has its "before"."""
    delta, names = entry.get("delta"), entry.get("input_names")
    if not isinstance(delta, dict) or not isinstance(names, list) or entry.get("digest") != file_digest(path):
        return False
    if entry.get("inputs") != inputs_digest([str(n) for n in names], snapshot):
        return False
    return all(_current(name) == before for name, (before, _) in delta.items())


def due(pending: List[Tuple[str, Delta]], node_path: str) -> List[Tuple[str, Delta]]:
    """The pending effects of modules that come before `node_path`, taken off
    `pending` (in collection order)."""
    at = _order(node_path)
    ready = [(p, d) for p, d in pending if _order(p) < at]
    for item in ready:
        pending.remove(item)
    return ready


def _current(name: str) -> Optional[str]:
    """The variable's value, read from os.environ's own store: a lookup
    through os.environ would be recorded as an input of collection."""
    data = getattr(os.environ, "_data", None)
    if data is None:
        return os.environ.get(name)
    value = data.get(os.environ.encodekey(name))  # type: ignore[attr-defined]
    return None if value is None else os.environ.decodevalue(value)  # type: ignore[attr-defined]


def apply(delta: Delta) -> None:
    """The recorded change, where the variable still has its recorded value
    before it: one a module collected earlier in this run changed since is
    left as it is, as `os.environ.setdefault` (how libraries set theirs)
    would leave it."""
    for name, (before, after) in delta.items():
        if _current(name) != before:
            continue
        if after is not None:
            os.environ[name] = after
        elif before is not None:
            del os.environ[name]
