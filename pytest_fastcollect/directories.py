"""Directories pytest may leave unwalked.

When every test module below a directory is skipped, walking it still costs
pytest a scandir per directory, a `pytest_ignore_collect` call per entry and,
above all, importing (and rewriting the asserts of) every conftest.py on the
way, whose fixtures no selected item can use. The plugin answers
`pytest_make_collect_report` for such a directory with an empty report
when pytest reaches it (plugin.py), so none of it is walked; not
`pytest_ignore_collect`, which pytest asks while listing the parent, before
the modules sorted ahead of the directory are collected: one of them may
import a module below it, which is then collected as plain pytest would
(plugin.already_imported), and a directory holding or above a command-line
argument is always walked. That changes nothing else only where:

- nothing else below it is collected: no test module that is imported, no
  file of another collector (doctest's `test*.txt`, an `__init__.py` matching
  `python_files`, a directory reached twice through a symlink; the core's walk
  lists them), no module whose skip holds only under conditions checked as
  pytest reaches it (a skip that resolved imports, a recorded environment
  effect);
- no conftest below it could change anything outside it when imported (the
  core's `conftest_outside_effect`: only fixtures and hooks pytest calls for
  the directory's own nodes, no process-state write, no call at import the
  model does not read, the same bar as a skipped test module's import; every
  module its import statements name loaded already, so importing it runs no
  other code: `loading_effects`; and, in prepend or append import mode, its
  basedir already on sys.path, where pytest would put it: `import_effects`);
- no conftest at or above it implements a hook that decides which files
  are collected (`pytest_collect_file`, `pytest_ignore_collect`, ...: pytest
  calls them for the files below the conftest's directory only), nor does an
  installed plugin (hypothesis' ignore hook, which only ignores, aside).

Errors, warnings and skips a conftest below it would have raised are gone
with it, as for a skipped test module (docs/compatibility.md).
"""

from __future__ import annotations

import os
import sys
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from pytest_fastcollect import peek
from pytest_fastcollect.learn import import_mode_basedir

# Hooks through which an installed plugin may decide which files are collected.
COLLECTING_HOOKS = ("pytest_collect_file", "pytest_collect_directory", "pytest_pycollect_makemodule",
                    "pytest_ignore_collect")
# Their implementations that can only ignore (never collect a file the walk
# would not list): pytest's own, this plugin's, hypothesis' `.hypothesis` check.
_ONLY_IGNORING = ("_hypothesis_pytestplugin", "hypothesis.extra.pytestplugin")


def plugin_collects(config: object) -> Optional[str]:
    """The first live implementation of a collecting hook that is neither
    pytest's nor this plugin's nor known to only ignore; None if none."""
    hook = config.pluginmanager.hook  # type: ignore[attr-defined]
    for name in COLLECTING_HOOKS:
        caller = getattr(hook, name, None)
        for impl in caller.get_hookimpls() if caller is not None else []:
            module = getattr(impl.function, "__module__", "") or ""
            if module in ("_pytest", "pytest") or module.startswith(("_pytest.", "pytest_fastcollect")):
                continue
            if module in _ONLY_IGNORING and name == "pytest_ignore_collect":
                continue
            return f"{impl.plugin_name}: {name}"
    return None


def import_effects(conftests: Sequence[str], import_mode: str, imported: Iterable[str]) -> Dict[str, Tuple[str, bool]]:
    """Conftests whose import itself may change what other modules import:
    in prepend and append modes pytest puts a conftest's basedir on
    sys.path, where a module imported later may find a module beside it
    (`from utils import X`). Not where it is there already, nor where every
    imported test module has that basedir (pytest puts it there before
    importing each)."""
    if str(import_mode) == "importlib":
        return {}
    on_path = set(sys.path)
    theirs = {import_mode_basedir(m) for m in imported}
    out: Dict[str, Tuple[str, bool]] = {}
    for c in conftests:
        base = import_mode_basedir(c)
        if base not in on_path and theirs - {base}:
            out[c] = ("puts its directory on sys.path for modules of other directories", False)
    return out


def loading_effects(imports: Mapping[str, Sequence[str]]) -> Dict[str, Tuple[str, bool]]:
    """Conftests whose import statements would run code: a module not
    loaded yet (`import helpers`, whose own import may set a variable), or a
    name its module does not hold yet (`from pkg import sub`, a submodule
    to load, or a name a module `__getattr__` makes)."""
    out: Dict[str, Tuple[str, bool]] = {}
    for conftest, names in imports.items():
        for entry in names:
            module, _, name = str(entry).partition("\x01")
            loaded = sys.modules.get(module)
            held = peek.namespace(loaded)
            if loaded is None or (name and not (isinstance(held, dict) and name in held)):
                out[conftest] = (f"imports {module}{'.' + name if name else ''}, not loaded when deciding", False)
                break
    return out


def _block_upwards(path: str, blocked: Set[str]) -> None:
    """Marks the directories holding `path`, up to the filesystem root."""
    d = os.path.dirname(path)
    while d not in blocked:
        blocked.add(d)
        parent = os.path.dirname(d)
        if parent == d:
            return
        d = parent


def _root_of(path: str, roots: Sequence[str]) -> Optional[str]:
    for root in roots:
        if path.startswith(root + os.sep):
            return root
    return None


def unwalked(roots: Iterable[str], skip: FrozenSet[str], keep: Iterable[str],
             effects: Mapping[str, Tuple[str, bool]]) -> Dict[str, Tuple[str, ...]]:
    """Directory -> the skipped test modules below it, for every directory
    strictly below a collection root (a directory) that pytest may leave
    unwalked. `keep`:
    files below which no directory may be (imported modules, other collected
    files, modules whose skip pytest_ignore_collect checks as it goes);
    `effects`: the conftests whose import may act outside their directory,
    with whether they may decide which files are collected (then no
    directory at or below theirs is left unwalked either)."""
    dirs = sorted({r.rstrip(os.sep) for r in roots}, key=len, reverse=True)
    collecting = tuple(os.path.join(os.path.dirname(c), "") for c, (_, collects) in effects.items() if collects)
    blocked: Set[str] = set()
    for path in keep:
        _block_upwards(path, blocked)
    for conftest in effects:
        _block_upwards(conftest, blocked)
    below: Dict[str, List[str]] = {}
    for path in skip:
        root = _root_of(path, dirs)
        if root is None:
            continue
        if collecting and path.startswith(collecting):
            continue  # (every directory above it is at or below a collecting conftest's, or blocked)
        d = os.path.dirname(path)
        while len(d) > len(root) and d not in blocked:
            below.setdefault(d, []).append(path)
            d = os.path.dirname(d)
    return {d: tuple(sorted(files)) for d, files in below.items()}


def below(dirs: Iterable[str], skip: FrozenSet[str]) -> Dict[str, Tuple[str, ...]]:
    """The skipped modules below each of `dirs` (an xdist worker is handed
    the controller's directories and skip list)."""
    wanted = set(dirs)
    found: Dict[str, List[str]] = {d: [] for d in wanted}
    for path in skip:
        d = os.path.dirname(path)
        while True:
            if d in wanted:
                found[d].append(path)
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    return {d: tuple(sorted(files)) for d, files in found.items() if files}
