"""What reading the conftests' collection hooks found, kept beside the index.

Reading a conftest's hooks (hooks.py) parses it with `ast` (pandas' root
conftest: about 0.1 s), and what it finds - markers a per-item
pytest_collection_modifyitems may add, conftests whose
pytest_collection_finish adds nothing, gated pytest_generate_tests - is
handed to a second scan. A warm run reads the same conftests under the same
options, so the findings are kept in `hook_readings.json` and handed to the
first scan instead. They are used only under the same key - the session key
(pytest, Python, this plugin, installed packages, the ini section) and the
live implementations of the cross-item hooks -, where every conftest read
then has the same bytes, where every configuration condition the reading
evaluated (`if config.getoption("--slow")`, an environment variable) holds or
fails as it did then and (checked after the first scan, which scans again
without them otherwise) where the session has exactly those conftests. Only
readings that found no hook acting across items are kept (one that does
turns learning off: nothing to save there).
"""

from __future__ import annotations

import hashlib
import json
import os
import sysconfig
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pytest_fastcollect import hooks

FILE = "hook_readings.json"
FORMAT = 1

# (kind, name, when) -> did it hold: every condition a reading evaluated.
Noted = Dict[Tuple[str, str, str], bool]


class NotingConfig:
    """The session's config, as the hook readers see it, noting the outcome
    of every condition they evaluate (hooks.holds)."""

    def __init__(self, config: Any) -> None:
        self.__dict__["_config"] = config
        self.__dict__[hooks.NOTED_CONDITIONS] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_config"], name)

    @property
    def noted(self) -> Noted:
        return self.__dict__[hooks.NOTED_CONDITIONS]


def key(session_key: int, config: Any) -> str:
    """What the readings depend on besides the conftests and the conditions:
    the live implementations of the cross-item hooks, each with the bytes of
    its file (a local plugin edited below the hook's first line, which the
    session key does not see)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{FORMAT}\0{session_key}\0".encode())
    files: Dict[str, str] = {}
    installed = _installed_dirs()
    for name in hooks.CROSS_ITEM_HOOKS:
        caller = getattr(config.pluginmanager.hook, name, None)
        for impl in caller.get_hookimpls() if caller is not None else []:
            code = getattr(impl.function, "__code__", None)
            filename = getattr(code, "co_filename", None)
            if isinstance(filename, str) and filename not in files:
                # (An installed plugin's file - pytest's own among them - is
                # named by the session key's distributions: not read.)
                local = os.path.isfile(filename) and not filename.startswith(installed)
                files[filename] = (digests([filename]) or {}).get(filename, "") if local else ""
            h.update(repr((name, _plugin_identity(impl), getattr(impl.function, "__module__", None), filename,
                           files.get(filename or ""), getattr(code, "co_firstlineno", None),
                           bool(getattr(impl, "hookwrapper", False)), bool(getattr(impl, "wrapper", False)),
                           bool(getattr(impl, "tryfirst", False)), bool(getattr(impl, "trylast", False)))).encode())
    return h.hexdigest()


def _plugin_identity(impl: Any) -> str:
    """The plugin's registered name, or for an object registered without one
    (pluggy names it by its id, new in every process) its class."""
    name = str(impl.plugin_name)
    if name.isdigit() and name == str(id(impl.plugin)):
        return f"object of {type(impl.plugin).__module__}.{type(impl.plugin).__qualname__}"
    return name


def _installed_dirs() -> Tuple[str, ...]:
    """Where installed distributions and the standard library live."""
    paths = sysconfig.get_paths()
    return tuple(os.path.join(paths[k], "") for k in ("purelib", "platlib", "stdlib", "platstdlib") if paths.get(k))


def digests(paths: Sequence[str]) -> Optional[Dict[str, str]]:
    """Each conftest's content digest; None if one cannot be read."""
    out: Dict[str, str] = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                out[path] = hashlib.blake2b(f.read(), digest_size=16).hexdigest()
        except OSError:
            return None
    return out


def load(index_dir: Optional[str], expected: str, config: Any) -> Optional[Tuple[List[str], Dict[str, Any]]]:
    """(the conftests read, the kept findings: read_hooks, read_finish and,
    if read, generate_gates) when the key matches, every conftest read then
    has the same bytes and every noted condition comes out the same now. The
    caller checks that the session has exactly these conftests."""
    if not index_dir:
        return None
    try:
        with open(os.path.join(index_dir, FILE), encoding="utf-8") as f:
            entry = json.load(f)
        if entry.get("key") != expected:
            return None
        conftests = sorted(str(p) for p in entry["conftests"])
        if digests(conftests) != entry["conftests"]:
            return None
        for kind, name, when, held in entry["conditions"]:
            if hooks.holds(hooks.Condition(kind, name, when), config) != held:
                return None
        found = {"read_hooks": {str(p): [str(m) for m in marks] for p, marks in entry["read_hooks"].items()},
                 "read_finish": [str(p) for p in entry["read_finish"]]}
        if entry.get("generate_gates") is not None:
            found["generate_gates"] = {str(p): [str(g) for g in gates]
                                       for p, gates in entry["generate_gates"].items()}
        return conftests, found
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing or damaged: read the hooks


def store(index_dir: Optional[str], entry_key: str, conftests: Sequence[str], noted: Noted,
          found: Dict[str, Any]) -> None:
    """Keeps one reading's findings (the last one wins; a failure to write
    only costs the next run a reading)."""
    sums = digests(conftests)
    if not index_dir or sums is None:
        return
    conditions: List[List[Any]] = [[k, n, w, held] for (k, n, w), held in sorted(noted.items())]
    entry = {"key": entry_key, "conftests": sums, "conditions": conditions,
             "read_hooks": found.get("read_hooks", {}),
             "read_finish": found.get("read_finish", []), "generate_gates": found.get("generate_gates")}
    path = os.path.join(index_dir, FILE)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(entry, f)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
