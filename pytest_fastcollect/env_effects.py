"""Environment variables a test module's collection sets, replayed where the
module is skipped.

A library's first import may set variables (scikit-learn, joblib and
threadpoolctl `os.environ.setdefault("KMP_INIT_AT_FORK", ...)`): whichever
test module imports it first changes the environment every module collected
after it sees. Such a module is recorded with its effect (variable -> value
before, value after its collection) in `env_effects-<session key>.json` beside the index,
a dependency of the generation (deleted or changed: the generation no longer
holds). When the plugin skips it, the effect is applied at the point plain
pytest would have collected it: before the first node after it in
collection order starts (`due`), or, when none follows, as the walk ends,
before the collection hooks (plugin.pytest_collection_modifyitems), so
modules before it still see the variables unset. The plugin imports the
module instead when its source is not the one recorded or a variable's
value is not the recorded "before" (`can_replay`).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Dict, Iterable, List, Optional, Tuple

FILE = "env_effects-{:016x}.json"  # one per session key: runs under other keys keep their own


def _file(index_dir: str, session_key: int) -> str:
    return os.path.join(index_dir, FILE.format(session_key))

Delta = Dict[str, List[Optional[str]]]  # variable -> [before, after] (None: unset)


def file_digest(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.blake2b(f.read(), digest_size=16).hexdigest()
    except OSError:
        return ""


def load(index_dir: Optional[str], session_key: int) -> Dict[str, Dict[str, object]]:
    """{module path: {"digest": ..., "delta": Delta}} recorded under this
    session key; {} when none is kept."""
    if not index_dir or not session_key:
        return {}
    try:
        with open(_file(index_dir, session_key), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update(index_dir: str, session_key: int, effects: Dict[str, Delta], recorded: Iterable[str]) -> Optional[str]:
    """Keeps the effects of the modules recorded now under this session key
    (and forgets those of modules recorded now without one); the file's
    path, or None when no module has an effect (the file is then removed).
    A run under another key (one test file named by path: its first module
    may be the first importer of a library that sets variables) keeps its
    own file, so neither run's generation loses a dependency to the other."""
    kept = load(index_dir, session_key)
    for path in recorded:
        if path in effects:
            kept[path] = {"digest": file_digest(path), "delta": effects[path]}
        else:
            kept.pop(path, None)
    target = _file(index_dir, session_key)
    if not kept:
        if os.path.exists(target):
            os.unlink(target)
        return None
    text = json.dumps(kept, sort_keys=True)
    try:
        with open(target, encoding="utf-8") as f:
            if f.read() == text:
                return target
    except OSError:
        pass
    scratch = target + ".tmp"
    with open(scratch, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(scratch, target)
    return target


def _order(path: str) -> Tuple[str, ...]:
    """Where a path comes in pytest's walk from one root: entries sorted by
    name at every level, depth first."""
    return tuple(os.path.normpath(path).split(os.sep))


def can_replay(entry: Dict[str, object], path: str) -> bool:
    """The recorded effect holds for this module now."""
    delta = entry.get("delta")
    if not isinstance(delta, dict) or entry.get("digest") != file_digest(path):
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
