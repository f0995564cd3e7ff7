"""Which test modules must be collected together: one can change what
another sees while it is collected.

A learned record holds the items pytest built for a module in one session.
If collecting module A changed an object module B reads, B's items depend on
whether A was collected first, so A and B are linked: the core imports both
whenever it imports either ("collected together"). Sharing alone is no link:
scikit-learn's test modules hold the same library-owned lists of container
classes (`CSR_CONTAINERS`), which nothing changes. Links:

- an iterator two test modules hold (collecting one consumes it for the other);
- a mutable container (list, dict, set, bytearray, deque) that changed while a
  test module was collected (its shallow content, watched at each module's
  boundaries: `Watch`), linked with every module that holds it;
- a container a holder's own module-level code may change (a mutating method,
  a subscript store, an augmented assignment, handing it to a call that is not
  a known reader, binding it to another name): read from the source, since
  it happens before the watch first sees it;
- a test module whose module-level code sets, deletes or setattr()s an
  attribute of a module it imported, linked with the modules that hold that
  module or one of its attributes.

Objects are named by where they live (owner module and attribute), which
names the same object in another process.
"""

from __future__ import annotations

import ast
import builtins
import collections
import importlib.util
import itertools
import re
import sys
import types
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from pytest_fastcollect import peek

try:
    from pytest_fastcollect._core import content as _native_content
    from pytest_fastcollect._core import changed_words as _changed_words
    from pytest_fastcollect._core import dict_versions as _dict_versions
except ImportError:  # (without the core the plugin leaves everything to pytest)
    _native_content = None
    _dict_versions = None
    _changed_words = None

CONTAINERS = (list, dict, set, bytearray, collections.deque)
_NESTED = (list, dict, set, tuple, collections.deque)
_BUILTIN_NAMES = frozenset(dir(builtins))
_MUTATORS = {"append", "add", "extend", "update", "insert", "setdefault", "pop", "popitem", "remove", "discard",
             "clear", "appendleft", "extendleft", "sort", "reverse", "rotate", "difference_update",
             "intersection_update", "symmetric_difference_update", "__setitem__", "__delitem__", "__iadd__"}
# Calls that read what they are given (test decorators, builtins, itertools).
_READERS = {"parametrize", "param", "fixture", "usefixtures", "list", "tuple", "set", "frozenset", "dict", "sorted",
            "len", "enumerate", "zip", "reversed", "iter", "any", "all", "min", "max", "sum", "map", "filter",
            "str", "repr", "isinstance", "product", "chain", "combinations", "permutations", "deepcopy", "copy",
            "print", "format", "join", "skipif", "xfail", "filterwarnings", "bool", "hash", "id"}


def _content(value: Any) -> Any:
    """What a change of the container shows in: its items' identities, and
    the content of the containers it holds, two levels down (a dict inside
    a shared list changed in place). Past the budget, a value equal to
    nothing: the container is taken as changed. The core's (content.c) where
    it is built, else _content_py: the same reading."""
    try:
        out = _content_py(value) if _native_content is None else _native_content(value, 2, _BUDGET)
    except Exception:  # noqa: BLE001 - a container that cannot be read: taken as changed
        return object()
    return object() if out is None else out


_BUDGET = 50000  # items over all levels


def _content_py(value: Any, depth: int = 2, budget: Optional[List[int]] = None) -> Any:
    """_content in Python: a tuple for each level."""
    budget = budget if budget is not None else [_BUDGET]
    if isinstance(value, bytearray):
        return bytes(bytearray.copy(value))
    items = peek.pairs(value) if isinstance(value, dict) else peek.elements(value)
    budget[0] -= len(items)
    if budget[0] < 0:
        return object()
    if isinstance(value, (set, frozenset)):
        return (len(items), frozenset(map(id, items)))
    flat = [x for pair in items for x in pair] if isinstance(value, dict) else items
    inner = tuple(_content_py(v, depth - 1, budget) for v in flat if depth > 0 and peek.is_a(v, _NESTED))
    return (len(items), tuple(map(id, flat)), inner)


def _bindings_of(module: Any, memo: Optional[Set[int]] = None) -> int:
    """A project module's bindings and those of the classes it defines, by
    the identity of their values (and of what their small containers hold):
    a global rebound (`global MODE`), a class attribute set (`Settings.mode =
    ...`), an item added to a registry no test module holds change it."""
    namespace = peek.namespace(module)
    if not isinstance(namespace, dict):
        return 0
    name = peek.module_attr(module, "__name__")
    ids: List[int] = []
    memo = memo_caches() if memo is None else memo
    lazy = name in _MEMO_MODULES  # (MEMO_GLOBALS)
    for key, value in list(namespace.items()):
        if key.startswith("__") or peek.is_a(value, types.ModuleType) or (lazy and _memo_global(name, key)):
            continue  # (__warningregistry__ and the like; a submodule, bound on its first import)
        ids.append(id(value))
        if id(value) in memo:
            continue  # a library's memo cache: what it holds changes no lookup (MEMO_CACHES)
        if peek.is_a(value, CONTAINERS):
            _shallow(value, ids)
        elif peek.is_a(value, type) and peek.defined_in(value) == name:
            for k, v in list(peek.class_dict(value).items()):
                if not k.startswith("__") and not (lazy and _memo_global(name, f"{key}.{k}")):
                    ids.append(id(v))
                    if peek.is_a(v, CONTAINERS) and id(v) not in memo:
                        _shallow(v, ids)
    return hash(tuple(ids))


def _namespaces(module: Any) -> List[Any]:
    """What _bindings_of reads, as objects whose tags (dict_versions.c) tell
    whether it needs reading again: the module, the classes it defines, and
    the containers both hold."""
    name = peek.module_attr(module, "__name__")
    namespace = peek.namespace(module)
    out = [module]
    memo = memo_caches()
    for key, value in list(namespace.items()) if isinstance(namespace, dict) else []:
        if key.startswith("__") or id(value) in memo:
            continue
        if peek.is_a(value, CONTAINERS):
            out.append(value)
        elif peek.is_a(value, type) and peek.defined_in(value) == name:
            out.append(value)
            out += [v for k, v in list(peek.class_dict(value).items())
                    if not k.startswith("__") and peek.is_a(v, CONTAINERS) and id(v) not in memo]
    return out


def _read_versions(objects: List[Any]) -> Optional[bytes]:
    """Their namespaces' version tags (dict_versions.c), None without them."""
    if _dict_versions is None:
        return None
    try:
        out = _dict_versions(objects)
    except Exception:  # noqa: BLE001 - compared by their bindings instead
        return None
    return out if isinstance(out, bytes) else None


def _shallow(container: Any, ids: List[int]) -> None:
    """A container's size, and its items' identities while it is small."""
    try:
        n = peek.size(container)
        ids.append(n)
        if n <= 64 and not isinstance(container, bytearray):
            ids.extend(map(id, list(dict.values(container)) if isinstance(container, dict) else
                           peek.elements(container)))
    except (TypeError, RuntimeError):
        ids.append(-1)


def _is_iterator(value: Any) -> bool:
    """Does its class define `__next__` (looked up in the classes' own
    dicts: a mock's or a proxy's class attribute runs no code here)?"""
    return peek.class_lookup(type(value), "__next__") is not peek.MISSING


_NOT_PLAIN = (types.ModuleType, type, *CONTAINERS, *_NESTED, types.FunctionType, types.BuiltinFunctionType, property,
              staticmethod, classmethod)


def _plain_attributes(value: Any) -> Optional[Dict[str, Any]]:
    """The own attributes of an instance that has them (a registry object),
    not a module, class, function or container (None: not such an object)."""
    return None if peek.is_a(value, _NOT_PLAIN) else peek.own_dict(value)


# Libraries' memo caches: (module, object in it or None, attribute). A lookup
# through the library gives what it would compute afresh, whatever entries
# other modules' collection added: a dateutil zone equal to a new one (the
# strong cache only keeps the last zones alive), a zone's transitions, a
# compiled strptime pattern, a dtype equal to one made from the same string
# (pandas' dtypes keep `_cache_dtypes` per class; PeriodDtype's maps a freq to
# its code). Found on pandas, where most test modules hold
# one (a zone made at import) and every module making a zone changes it: each
# linked to hundreds (a test-file edit relearned 770 of 981 modules); the
# dtype caches, once library classes' attributes were watched, linked 725.
MEMO_CACHES = (
    ("dateutil.tz.tz", "gettz", "_GettzFunc__strong_cache"),
    ("pandas._libs.tslibs.timezones", None, "dst_cache"),
    ("pandas._libs.tslibs.strptime", None, "_regex_cache"),
    *(("pandas.core.dtypes.dtypes", dtype, "_cache_dtypes") for dtype in
      ("PandasExtensionDtype", "CategoricalDtype", "DatetimeTZDtype", "PeriodDtype", "IntervalDtype")),
    # astropy's ufunc helpers: a dict whose __missing__ loads the helpers of
    # registered modules at a ufunc's first use (linked 139 modules with the
    # one whose import first used a scipy.special ufunc).
    ("astropy.units.quantity_helper.converters", None, "UFUNC_HELPERS"),
)


# Libraries' globals and class attributes set lazily to what any process
# computes alike, or to code behaving as what it replaces: (module, name,
# "Class.attribute", or a prefix ending in "*"). A reader finding them set gets
# what it would compute. pandas' find_stack_level keeps the package's directory
# (every pandas test module holds pandas: watching it linked 713 of them with
# the module whose import first warned); scikit-learn caches CPU counts;
# networkx's argmap compiles each decorated function at its first call into a
# module global named by a class counter (which module calls first only
# changes the names).
MEMO_GLOBALS = frozenset({
    ("pandas.util._exceptions", "_pkg_dir"), ("pandas.util._exceptions", "_test_dir"),
    ("sklearn.utils._openmp_helpers", "_CPU_COUNTS"),
    ("networkx.utils.decorators", "argmap_*"), ("networkx.utils.decorators", "argmap._argmap__count"),
})


def _memo_global(module: Any, name: str) -> bool:
    if module not in _MEMO_MODULES:
        return False
    return (module, name) in MEMO_GLOBALS or any(
        m == module and n.endswith("*") and name.startswith(n[:-1]) for m, n in MEMO_GLOBALS)


_MEMO_MODULES = frozenset(m for m, _ in MEMO_GLOBALS)


def memo_caches() -> Set[int]:
    """The ids of the loaded libraries' memo caches (MEMO_CACHES); read
    through namespaces, not attribute lookups (no module read is noted)."""
    found: Set[int] = set()
    for module_name, holder_name, attr in MEMO_CACHES:
        holder = sys.modules.get(module_name)
        try:
            if holder is not None and holder_name is not None:
                holder = vars(holder).get(holder_name)
            cache = vars(holder).get(attr) if holder is not None else None
        except Exception:  # noqa: BLE001 - (no plain __dict__: not the library's object)
            continue
        if peek.is_a(cache, CONTAINERS):
            found.add(id(cache))
    return found


def containers_of(namespace: Dict[str, Any], project: Optional[Any] = None) -> Iterable[Tuple[str, Any]]:
    """(name, container) for the containers a namespace holds, and those one
    attribute inside the plain objects it holds (`REG.names` of a registry)
    or inside the project's modules it holds (`myproj.BACKENDS`, read as
    `myproj.BACKENDS`): `project(module)` tells which modules are. Libraries'
    memo caches are none of them (MEMO_CACHES)."""
    memo = memo_caches()
    for name, value in list(namespace.items()):
        if name.startswith("__"):
            continue
        if peek.is_a(value, CONTAINERS):
            if id(value) not in memo:
                yield name, value
        elif peek.is_a(value, types.ModuleType):
            if project is not None and project(value):
                for attr, inner in list(peek.namespace(value).items()):
                    if peek.is_a(inner, CONTAINERS) and not attr.startswith("__") and id(inner) not in memo:
                        yield f"{name}.{attr}", inner
        else:
            own = _plain_attributes(value)
            attrs = peek.pairs(own) if own is not None else []
            if attrs and id(own) not in memo and not any(id(v) in memo for _, v in attrs):
                # Its own attributes as one container: `config.mode = "fast"`
                # set by a function another module's import called (not an
                # object keeping a library's memo cache: dateutil's gettz).
                yield f"{name}.__dict__", own
            for attr, inner in attrs:
                if peek.is_a(inner, CONTAINERS) and id(inner) not in memo:
                    yield f"{name}.{attr}", inner


@dataclass
class Watch:
    """Watches the containers test modules hold (in their namespace, or one
    attribute inside an object there), in windows: one per test module, from
    the start of its collection to the start of the next module's (its
    classes and items are collected in between).

    A container's content is taken when a test module first shows it (before
    the module's items are made), or, for the containers of the project's own
    modules (below `project_dirs`, not test modules), when the module is first
    seen loaded at a window's start: a registry that test classes fill
    (`__init_subclass__`, decorators). It is compared again when a test module
    shows it (the first or a further one), and at the close of every window
    once two test modules hold it. A change is put on the windows it happened
    in (all windows since the last look, where it was not compared at every
    close). A project module first seen loaded after a window may have been
    changed in it before the first look: that window counts as a change,
    unless the look came as the import statement that ran its body returned
    (hook_imports)."""

    project_dirs: Tuple[str, ...] = ()  # each ends with a separator
    site_dirs: Tuple[str, ...] = ()  # of them, the collection roots' anchors (may be in site-packages)
    test_files: FrozenSet[str] = frozenset()
    windows: List[str] = field(default_factory=list)  # test modules, in collection order
    held: Dict[int, Any] = field(default_factory=dict)  # id -> the object (held: ids stay unique)
    known: Dict[int, Tuple[Any, int]] = field(default_factory=dict)  # id -> (content, window it was taken in)
    holders: Dict[int, int] = field(default_factory=dict)  # id -> test module namespaces that showed it
    changed_by: Dict[int, Set[str]] = field(default_factory=dict)  # id -> modules whose windows changed it
    loaded_in: Dict[int, int] = field(default_factory=dict)  # id -> the window its project module loaded in
    # Compared at each close: held by two or more test modules, or a project
    # module's held by one.
    _shared: Set[int] = field(default_factory=set)
    # Taken before any test module showed it (a project module's): a change
    # made by its first holder's own import shows in the first comparison.
    prior: Set[int] = field(default_factory=set)
    _tracked: Set[int] = field(default_factory=set)  # modules (id) whose namespace was read
    _modules_seen: int = 0  # how many entries of sys.modules were looked at
    # Changed after the last window closed (by hooks given every module's
    # items): a change made on behalf of all its holders, no one window's.
    after: Set[int] = field(default_factory=set)
    _closed: bool = False
    # Compare every container watched at every window's close too (a
    # learning worker: learners.py), so that each change is put on the one
    # window it happened in, whoever holds it: `changed_in`, against a
    # baseline of its own (`changed_by` and the links it makes stay those of
    # one process). For crossings.py.
    compare_all: bool = False
    changed_in: Dict[int, Set[str]] = field(default_factory=dict)
    _extra: Dict[int, Tuple[Any, int]] = field(default_factory=dict)  # id -> (content, window) at the last look
    # Project modules seen in sys.modules while their body still ran (a
    # package importing its submodules): looked at again at the next look.
    _initializing: List[Any] = field(default_factory=list)
    _import: Any = None  # builtins.__import__ as found, while hooked (hook_imports)
    # Taken inside the current window (maybe as their module's import
    # returned): compared at its close, so what the rest of the window did to
    # them (the package's other modules registering into them) is put on it
    # alone, not on every window until a holder first shows them.
    _taken_here: Set[int] = field(default_factory=set)
    # id of a project module -> (the module, its bindings (_bindings_of), the first window since)
    bindings: Dict[int, Tuple[Any, int, int]] = field(default_factory=dict)
    # The namespaces of those modules (_namespaces), whose module's id, and
    # their version tags at the last look (the core's dict_versions; None:
    # not available, every module is compared at every close).
    _versioned: List[Any] = field(default_factory=list)
    _versioned_owner: List[int] = field(default_factory=list)
    _versions: Optional[bytes] = None
    _bindings_look: int = 0  # windows there were at the last comparison of bindings
    _spaces: Dict[int, Set[int]] = field(default_factory=dict)  # module id -> ids of its namespaces tracked
    # Project module name -> the test modules in whose windows its bindings changed
    # ("" for a change after collection).
    rebound_by: Dict[str, Set[str]] = field(default_factory=dict)

    def close(self) -> None:
        """Collection is over: the last window closes, and a change seen from
        now on (at a further open_window(None)) goes to `after`."""
        self.unhook_imports()
        if not self._closed:
            self.open_window(None)
            self._closed = True

    def hook_imports(self) -> None:
        """Looks at the project modules an import statement loaded when it
        returns (builtins.__import__ wrapped until unhook_imports): the
        module the statement names has run its whole body then, and no other
        code has run since, so its content then is what its own import makes,
        wherever it is first imported (no `loaded_in` change)."""
        if self._import is not None or not self.project_dirs:
            return
        original = builtins.__import__
        watch = self

        def hooked(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
            __tracebackhide__ = True  # an import error's traceback shows the user's frames only, as without it
            start = len(modules)
            if not fromlist or len(fromlist) < 2 or "*" in fromlist:
                module = original(name, globals, locals, fromlist, level)
                if len(modules) != start or watch._initializing:  # (else: nothing loaded, no body finished)
                    watch._returned(module, name, globals, tuple(fromlist or ()), level, start)
                return module
            # `from p import a, b`: one name at a time, as the import system
            # takes them (a submodule is looked at before the next one runs).
            names = tuple(fromlist)
            module = original(name, globals, locals, names[:1], level)
            if len(modules) != start or watch._initializing:
                watch._returned(module, name, globals, names[:1], level, start)
            if not _more_to_load(module, names):
                return module
            for one in names[1:]:
                start = len(modules)
                original(name, globals, locals, (one,), level)
                watch._returned(module, name, globals, (one,), level, start)
            return module

        modules = sys.modules
        self._import = (original, hooked)
        builtins.__import__ = hooked

    def _returned(self, module: Any, name: str, globals: Any, fromlist: Tuple[Any, ...], level: int,
                  start: int) -> None:
        """An import statement returned; `start`: len(sys.modules) before it.
        Never raises into the statement: on any failure the hook is taken
        off, and modules are then first looked at at window boundaries."""
        try:
            if len(sys.modules) == start and all(_initializing(m) for m in self._initializing):
                return  # nothing loaded, no body finished
            self._imported(module, name, globals, fromlist, level, start)
        except Exception:  # noqa: BLE001 - the watch's own failure is no import error
            self.unhook_imports()
            self._initializing = []

    def _imported(self, module: Any, name: str, globals: Any, fromlist: Tuple[Any, ...], level: int,
                  start: int) -> None:
        named = _named_module(module, name, globals, fromlist, level)
        # Only a module this very statement loaded (not one loaded by other
        # means earlier and first seen now) is the one that ran last.
        loaded = itertools.islice(sys.modules.values(), start, None)
        self._project_modules(named=named if any(m is named for m in loaded) else _NO_MODULE)

    def unhook_imports(self) -> None:
        if self._import is not None:
            original, hooked = self._import
            if builtins.__import__ is hooked:  # (else someone wrapped it since: leave theirs)
                builtins.__import__ = original
            self._import = None

    def open_window(self, path: Optional[str]) -> None:
        """Closes the current window (None: the last one, collection over)."""
        if self.windows:
            standard = self._shared | self._taken_here
            for key in standard:
                self._compare(key, at_close=True)
            if self.compare_all and not self._closed:
                for key in list(self.held):
                    self._compare_extra(key)
            self._compare_bindings()
        self._taken_here = set()
        self._project_modules(at_close=bool(self.windows))
        if path is not None:
            self.windows.append(path)

    def _compare(self, key: int, at_close: bool = False) -> None:
        """Puts a change since the last look on the windows since; a look at
        a window's close leaves that window out of the next change's."""
        content, since = self.known[key]
        now = _content(self.held[key])
        if now != content and self._closed:
            self.after.add(key)
        elif now != content:
            self.changed_by.setdefault(key, set()).update(self.windows[max(since, 0):])
        self.known[key] = (now, len(self.windows) if at_close else len(self.windows) - 1)

    def _compare_extra(self, key: int) -> None:
        content, since = self._extra.get(key) or self.known[key]
        now = _content(self.held[key])
        if now != content:
            self.changed_in.setdefault(key, set()).update(self.windows[max(since, 0):])
        self._extra[key] = (now, len(self.windows))

    def project(self, module: Any) -> bool:
        """One of the project's own modules (not a test module)?"""
        file = peek.module_attr(module, "__file__")
        if not self.project_dirs or not isinstance(file, str) or file in self.test_files \
                or not file.startswith(self.project_dirs):
            return False
        # (A virtualenv inside the project is not the project.)
        return file.startswith(self.site_dirs) or ("site-packages" not in file and "dist-packages" not in file)

    def _compare_bindings(self) -> None:
        """The bindings of the project modules whose namespaces were written
        since the last look, compared (all of them without version tags)."""
        look = self._bindings_look
        written = self._written_since()
        memo = memo_caches() if written else set()
        for key in written:
            module, known, since = self.bindings[key]
            now = _bindings_of(module, memo)
            if now != known:
                changed = self.rebound_by.setdefault(getattr(module, "__name__", "?"), set())
                changed.update([""] if self._closed else self.windows[max(since, look):])
                self._track_namespaces(module)  # a class or container bound since
            self.bindings[key] = (module, now, len(self.windows))
        self._bindings_look = len(self.windows)

    def _written_since(self) -> List[int]:
        """The project modules to compare: the test suite's helpers, and
        those whose namespaces' version tags moved (all without tags)."""
        versions = _read_versions(self._versioned)
        before, self._versions = self._versions, versions
        if versions is None or before is None or len(before) != len(versions):
            return list(self.bindings)
        written: Set[int] = set()
        if versions != before:
            owner = self._versioned_owner
            written.update(owner[i] for i in _changed_words(versions, before))
        return sorted(written)

    def _watch_bindings(self, module: Any, since: int) -> None:
        self.bindings[id(module)] = (module, _bindings_of(module), since)
        self._track_namespaces(module)

    def _track_namespaces(self, module: Any) -> None:
        """Its namespaces not tracked yet (a class bound since), their tags
        taken now."""
        known = self._spaces.setdefault(id(module), set())
        spaces = [ns for ns in _namespaces(module) if id(ns) not in known]
        if not spaces:
            return
        known.update(map(id, spaces))
        self._versioned.extend(spaces)
        self._versioned_owner.extend([id(module)] * len(spaces))
        if self._versions is not None:
            added = _read_versions(spaces)
            self._versions = self._versions + added if added is not None else None

    def _project_modules(self, at_close: bool = False, named: Any = None) -> None:
        """The project's modules loaded since the last look: their containers
        and bindings (a module's own first import changes nothing here).
        `named`: the module an import statement that just returned loaded
        last (hook_imports); any other module found now may have been
        changed since its body ran, in this window."""
        if not self.project_dirs:
            return
        loaded = list(sys.modules.values())
        fresh = loaded[self._modules_seen:] if len(loaded) >= self._modules_seen else loaded
        self._modules_seen = len(loaded)
        if self._initializing:
            fresh, self._initializing = self._initializing + fresh, []
        for module in fresh:
            if id(module) in self._tracked or not self.project(module):
                continue
            if named is not None and _initializing(module):
                self._initializing.append(module)  # its body is still running
                continue
            self._tracked.add(id(module))
            self._watch_bindings(module, len(self.windows) - (0 if at_close else 1))
            namespace = peek.namespace(module)
            for _, value in containers_of(namespace) if namespace is not None else []:
                if id(value) not in self.held:
                    self.held[id(value)] = value
                    self.holders[id(value)] = 0
                    self.known[id(value)] = (_content(value), len(self.windows) - 1)
                    if self.windows:
                        self._taken_here.add(id(value))
                        if module is not named:
                            self.loaded_in[id(value)] = len(self.windows) - 1

    def tracks(self, module: Any) -> bool:
        """Is the module's namespace watched already?"""
        return id(module) in self._tracked

    def track(self, module: Any) -> None:
        """A test module's namespace, once, before its items are made."""
        if id(module) in self._tracked:
            return
        self._tracked.add(id(module))
        self._project_modules()  # loaded by this module's import (maybe changed by it already)
        for _, value in containers_of(vars(module), self.project):
            key = id(value)
            if key not in self.held:
                self.held[key] = value
                self.holders[key] = 1
                self.known[key] = (_content(value), len(self.windows) - 1)
                continue
            if self.holders[key] == 0:
                self.prior.add(key)
                if key in self.loaded_in:  # loaded (and maybe changed) in a window before the first look
                    self.changed_by.setdefault(key, set()).add(self.windows[self.loaded_in[key]])
            self.holders[key] += 1
            self._compare(key)
            if self.holders[key] == 2 or key in self.prior:
                self._shared.add(key)  # compared at every close from now on


def _initializing(module: Any) -> bool:
    """Is the module's body still running (its spec says so)?"""
    return getattr(peek.module_attr(module, "__spec__"), "_initializing", False) is True


def _more_to_load(module: Any, names: Tuple[Any, ...]) -> bool:
    """May `from module import *names` load a submodule the first name did
    not (a package that lacks one of the names)? Taken as yes when unsure:
    the import system is then asked one name at a time, as it would take them."""
    try:
        namespace = peek.namespace(module)
        return namespace is None or "__path__" in namespace and not all(n in namespace for n in names)
    except Exception:  # noqa: BLE001 - an odd module object: ask the import system
        return True


def _named_module(module: Any, name: str, globals: Any, fromlist: Any, level: int) -> Any:
    """The module whose body an import statement ran last, or a marker
    that names none: `import a.b` -> a.b (a ran before it); `from p import
    x, y` -> the last of x, y that is a submodule (p and x ran before it),
    else p; `from p import *` -> none (its submodules are in `p.__all__`)."""
    none = _NO_MODULE
    if fromlist:
        if "*" in fromlist:
            return none
        namespace = peek.namespace(module)
        if namespace is None:
            return none
        prefix = f"{namespace.get('__name__')}."
        subs = [m for f in fromlist if isinstance(f, str) for m in [namespace.get(f)]
                if peek.module_attr(m, "__name__") == prefix + f]
        return subs[-1] if subs else module
    try:
        if level:
            package = (globals or {}).get("__package__") or (globals or {}).get("__name__", "")
            if "__path__" not in (globals or {}) and not (globals or {}).get("__package__"):
                package = package.rpartition(".")[0]
            name = importlib.util.resolve_name("." * level + name, package)
        return sys.modules.get(name, none)
    except (ImportError, ValueError, TypeError, AttributeError):
        return none


_NO_MODULE = object()  # _named_module: no module (and not None, which means no import hook)


def _module_level(tree: ast.Module) -> Iterable[ast.AST]:
    """Every node that runs at import: module and class bodies, decorators,
    defaults; not function bodies."""
    todo: List[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            todo.extend(d for d in args.defaults + args.kw_defaults if d is not None)
            todo.extend(getattr(node, "decorator_list", []))
            continue
        todo.extend(ast.iter_child_nodes(node))


def _assigned(node: ast.AST) -> List[ast.AST]:
    """The targets a statement assigns or deletes, unpacked (`a, m.x = ...`,
    `for m.x in ...`, `with ... as m.x`)."""
    if isinstance(node, (ast.Assign, ast.Delete)):
        todo = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
        todo = [node.target]
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        todo = [node.optional_vars]
    else:
        return []
    out: List[ast.AST] = []
    while todo:
        t = todo.pop()
        if isinstance(t, (ast.Tuple, ast.List)):
            todo.extend(t.elts)
        elif isinstance(t, ast.Starred):
            todo.append(t.value)
        else:
            out.append(t)
    return out


def _root(node: ast.AST) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _dotted(node: ast.AST) -> str:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def _writes_through(loop: ast.AST) -> bool:
    """Does a loop's body change something through its loop variable?"""
    var = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}  # type: ignore[attr-defined]
    for node in ast.walk(loop):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS \
                and _root(node.func.value) in var:
            return True
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            if any(isinstance(t, (ast.Subscript, ast.Attribute)) and _root(t) in var for t in targets):
                return True
    return False


def module_writes(source: str) -> Tuple[Set[str], Set[str]]:
    """(names whose object the module-level code may change, the attributes
    it sets of names, modules among them, as "mod.attr" ("mod.*": a computed name):
    `mod.attr = ...`, `del mod.attr`, `setattr(mod, ...)`). Unreadable
    source: ({"*"}, {"*"})."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {"*"}, {"*"}
    top = {id(stmt) for stmt in tree.body}
    changed: Set[str] = set()
    attrs: Set[str] = set()
    for node in _module_level(tree):
        # Any name's attribute: whether the name is a module (imported either
        # way, or bound otherwise) is asked of the namespace (_written_module).
        attrs.update(_dotted(t) for t in _assigned(node) if isinstance(t, ast.Attribute))
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                changed.add(_root(node.func.value))
            if _callee(node) == "setattr" and node.args and isinstance(node.args[0], ast.Name):
                name = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else "*"
                attrs.add(f"{node.args[0].id}.{name}")
            elif _callee(node) not in _READERS:
                changed.update(_root(a) for a in [*node.args, *(k.value for k in node.keywords)])
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if isinstance(t, ast.Subscript) or isinstance(node, ast.AugAssign):
                    changed.add(_root(t))
            value = getattr(node, "value", None)
            if isinstance(value, ast.Name) and not (id(node) in top and all(isinstance(t, ast.Name) for t in targets)):
                changed.add(value.id)  # another name for the object, where the namespace does not show it
        elif isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.iter, ast.Name) and _writes_through(node):
            changed.add(node.iter.id)
    changed.discard("")
    attrs.discard("")
    return changed, attrs


_CHANGING = {"append", "extend", "insert", "add", "update", "setdefault", "sort", "reverse", "discard", "pop",
             "popitem", "remove", "clear", "appendleft", "extendleft", "__setitem__", "__delitem__", "rotate",
             "difference_update", "intersection_update", "symmetric_difference_update"}


def _store_name(target: ast.AST) -> str:
    """NAME for a change of the object NAME holds (`NAME[0] = v`, `NAME.a = v`),
    "*NAME" for one reached through it (`NAME[0]["k"] = v`, `NAME.a.b = v`)."""
    inner = target.value if isinstance(target, (ast.Attribute, ast.Subscript)) else target
    return ("" if isinstance(inner, ast.Name) else "*") + _root(target)


@dataclass
class ModuleStores:
    """What a module's module-level code changes in place, read from its source."""

    names: Set[str]  # as the core's FileFacts.stores: NAME, or *NAME for a change reached through NAME
    first_store: Dict[str, int]  # root name -> the line of the first change on or through it
    bindings: Dict[str, List[int]]  # module-level name -> the lines binding it (0: when is not known)
    # Root name -> the objects (dotted paths from it) a `PATH.flags.NAME = v`
    # changes: a numpy array's own flags (`X.flags.writeable = False`).
    flags: Dict[str, Set[str]]
    deep: Set[str]  # root names with a change through them that is no such flags change


def _flags_path(target: ast.AST) -> str:
    """`X.flags.writeable` (or `iris.data.flags.writeable`): "X" ("iris.data")."""
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute) \
            and target.value.attr == "flags":
        return _dotted(target.value.value)
    return ""


def module_stores(source: str) -> Optional[ModuleStores]:
    """What the module-level code changes in place, as the core's
    FileFacts.stores (attribute or subscript targets of assignments and
    del, augmented assignment targets, in-place methods called as
    statements), where, and where each module-level name is bound. None:
    unreadable."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    out = ModuleStores(set(), {}, _module_bindings(tree), {}, set())

    def store(target: ast.AST, line: int) -> None:
        name = _store_name(target)
        root = name.lstrip("*")
        if not root:
            return
        out.names.add(name)
        out.first_store[root] = min(line, out.first_store.get(root, line))
        flags = _flags_path(target)
        if flags:
            out.flags.setdefault(root, set()).add(flags)
        elif name.startswith("*"):
            out.deep.add(root)

    for node in _module_level(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                for e in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
                    if isinstance(e, (ast.Attribute, ast.Subscript)):
                        store(e, line)
                    elif isinstance(node, ast.AugAssign) and isinstance(e, ast.Name):
                        out.names.add(e.id)
                        out.first_store[e.id] = min(line, out.first_store.get(e.id, line))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) and node.value.func.attr in _CHANGING:
            store(node.value.func, line)
    out.names.discard("")
    out.names.discard("*")
    return out


def _module_bindings(tree: ast.Module) -> Dict[str, List[int]]:
    """The lines of the statements binding each module-level name, at module
    level in any block; 0 where the moment is not known (inside a loop, a
    `global` declaration in a function). An augmented assignment changes
    its target (a store), it binds nothing new here; a function's or a class
    body's own names, and comprehension variables, are not the module's."""
    bindings: Dict[str, List[int]] = {}
    todo: List[Tuple[ast.AST, bool]] = [(tree, False)]
    while todo:
        node, in_loop = todo.pop()
        line = 0 if in_loop else getattr(node, "lineno", 0)
        found: List[Tuple[str, int]] = []
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.append((node.id, line))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.extend(((a.asname or a.name).split(".")[0], line) for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            if not isinstance(node, ast.Lambda):
                found.append((node.name, line))
            found.extend((n, 0) for inner in ast.walk(node) if isinstance(inner, ast.Global) for n in inner.names)
            # What runs at module level around the body: decorators, defaults, bases.
            around = [*getattr(node, "decorator_list", []), *getattr(node, "bases", []),
                      *[k.value for k in getattr(node, "keywords", [])]]
            if not isinstance(node, ast.ClassDef):
                around.extend([*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]])
            todo.extend((a, in_loop) for a in around)
            continue
        elif isinstance(node, ast.AugAssign):
            todo.append((node.value, in_loop))
            continue
        elif isinstance(node, ast.comprehension):
            todo.extend((n, in_loop) for n in [node.iter, *node.ifs])
            continue
        loop = in_loop or isinstance(node, (ast.For, ast.AsyncFor, ast.While))
        todo.extend((child, loop) for child in ast.iter_child_nodes(node))
        for name, at in found:
            bindings.setdefault(name, []).append(at)
    return bindings


def _plain_code(func: Any) -> bool:
    """A setter that touches nothing but its arguments (and builtins)."""
    import dis

    code = getattr(func, "__code__", None)
    if code is None:
        return False
    for ins in dis.get_instructions(code):
        if ins.opname in ("STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_DEREF", "STORE_DEREF", "LOAD_CLASSDEREF",
                          "LOAD_NAME", "STORE_NAME", "IMPORT_NAME"):
            return False
        if ins.opname == "LOAD_GLOBAL" and ins.argval not in _BUILTIN_NAMES:
            return False
    return True


def _plain_setters(value: Any) -> bool:
    """Setting an attribute or an item of this object changes only the object:
    its class (beyond builtins) defines no setter that reaches anything else."""
    for cls in type(value).__mro__:
        if cls.__module__ == "builtins" or _is_ndarray_class(cls):
            continue  # (numpy's array stores into its memory: _own_objects checks whose it is)
        for name, attr in list(vars(cls).items()):
            if name in ("__setattr__", "__setitem__", "__delattr__", "__delitem__", "__set_name__") \
                    and not _plain_code(attr):
                return False
            fset = getattr(attr, "fset", None) if isinstance(attr, property) else None
            if fset is not None and not _plain_code(fset):
                return False
            if isinstance(attr, types.MemberDescriptorType) or (
                    name in ("__dict__", "__weakref__") and isinstance(attr, types.GetSetDescriptorType)):
                continue  # a slot, the instance dict: they store on the object itself
            if hasattr(type(attr), "__set__") and not isinstance(attr, property):
                return False  # another data descriptor
    return True


def _reachable(value: Any, depth: int = 3, budget: Optional[List[int]] = None) -> List[Any]:
    """The object and the objects its containers hold, a few levels down."""
    budget = budget if budget is not None else [20000]
    out = [value]
    if depth == 0 or budget[0] <= 0:
        return out
    inner = peek.elements(value) if peek.base_of(value) is not None else []
    budget[0] -= len(inner)
    for v in inner:
        if not peek.is_a(v, _IMMUTABLE_LEAVES):
            out.extend(_reachable(v, depth - 1, budget))
    return out


_IMMUTABLE_LEAVES = (int, float, complex, str, bytes, bool, type(None))


def _is_ndarray_class(cls: type) -> bool:
    return cls.__module__ == "numpy" and cls.__name__ == "ndarray"


# Containers whose in-place methods and item stores change only themselves.
_PLAIN_CONTAINERS = (list, dict, set, bytearray, collections.deque)


def _own_objects(value: Any) -> List[Any]:
    """The objects a change of `value` through its setters may reach, which
    must all be this module's own: a builtin container itself; a numpy array
    and the arrays (or buffers) whose memory it views (`.base`); else the
    object and what its containers hold, a few levels down."""
    if type(value).__module__ in ("builtins", "collections") and peek.is_a(value, _PLAIN_CONTAINERS):
        return [value]
    if any(_is_ndarray_class(c) for c in type(value).__mro__):
        out = [value]
        base = getattr(value, "base", None)
        while base is not None and len(out) < 64:
            out.append(base)
            base = getattr(base, "base", None)
        return [v for v in out if not peek.is_a(v, _IMMUTABLE_LEAVES)]
    return [v for v in _reachable(value) if not peek.is_a(v, _IMMUTABLE_LEAVES)]


def _changed_object(namespace: Dict[str, Any], dotted: str) -> Any:
    """The object at `NAME.attr...` now (None: not there)."""
    parts = dotted.split(".")
    value = namespace.get(parts[0])
    for part in parts[1:]:  # (no getter runs: an instance attribute, or a key of a dict with keys as attributes)
        own = peek.own_dict(value)
        if own is not None and dict.__contains__(own, part):
            value = dict.__getitem__(own, part)
        elif peek.is_a(value, dict) and dict.__contains__(value, part):
            value = dict.__getitem__(value, part)
        else:
            return None
    return value


def _stored_objects(module: Any, path: str) -> Optional[List[Any]]:
    """The objects the module's top-level code may change in place, or None
    when one of them may not be its own: reached through another (`*NAME`;
    a numpy array's flags are the array's), a module or a class, rebound
    after the change or at an unknown moment, or with setters that reach
    further."""
    try:
        with open(path, "rb") as f:
            read = module_stores(f.read().decode("utf-8", "replace"))
    except OSError:
        return None
    if read is None:
        return None
    namespace = vars(module)
    out: List[Any] = []
    for root in sorted({n.lstrip("*") for n in read.names}):
        lines = read.bindings.get(root, [])
        if root in read.deep or root not in namespace or not lines or 0 in lines \
                or max(lines) >= read.first_store[root]:
            return None  # (the object changed may not be the one bound now)
        changed = [_changed_object(namespace, p) for p in sorted(read.flags.get(root, ()))]
        if any(not any(_is_ndarray_class(c) for c in type(v).__mro__) for v in changed):
            return None
        if root in read.names:  # (else only arrays its flags stores reach change)
            changed.append(namespace[root])
        for value in changed:
            if isinstance(value, (type(sys), type)) or not _plain_setters(value):
                return None
            out.extend(_own_objects(value))
    return out


def own_changers(candidates: Dict[str, Any]) -> Set[str]:
    """Of these test modules (path -> module), the ones that change in place
    only objects no other module holds (`iris = load_iris(); iris.data =
    ...`): each stored name bound once, by this module, to an object whose
    setters reach nothing else, and neither it nor what its containers hold
    found in another module's namespace, nor one level inside one of its
    containers (a helper's cache). Skipping such a module changes nothing
    the others see. An object reached some other way is not seen here
    (docs/design.md)."""
    stored: Dict[str, List[Any]] = {}
    for path, module in candidates.items():
        objects = _stored_objects(module, path)
        if objects is not None:
            stored[path] = objects
    wanted = {id(v) for objects in stored.values() for v in objects}
    if not wanted:
        return set(stored)
    holders: Dict[int, Set[int]] = {}  # object id -> ids of the modules holding it
    for other in list(sys.modules.values()):
        namespace = peek.namespace(other)
        if not isinstance(namespace, dict):
            continue
        for value in list(namespace.values()):
            base = peek.base_of(value)
            inner = list(dict.values(value)) if base is dict else \
                peek.elements(value) if base in (list, set, tuple, frozenset) and peek.size(value) < 100000 else []
            for v in [value, *inner]:
                if id(v) in wanted:
                    holders.setdefault(id(v), set()).add(id(other))
    return {path for path, objects in stored.items()
            if all(holders.get(id(v), set()) <= {id(candidates[path])} for v in objects)}


class _Owners:
    """`module.attribute` naming an object outside this process (the first
    non-test module that holds it), or its type when none does: one pass
    over every module's namespace, made when first asked."""

    def __init__(self, test_modules: Set[str]) -> None:
        self._test_modules = test_modules
        self._names: Optional[Dict[int, str]] = None

    def name(self, value: Any) -> str:
        if self._names is None:
            self._names = {}
            for name, mod in list(sys.modules.items()):
                namespace = peek.namespace(mod)
                if not isinstance(namespace, dict) or peek.module_attr(mod, "__file__") in self._test_modules:
                    continue
                for attr, held in list(namespace.items()):
                    self._names.setdefault(id(held), f"{name}.{attr}")
        return self._names.get(id(value)) or type(value).__name__


@dataclass
class Links:
    """Per test module: the modules it must be collected with (when it is
    imported), and why. The core imports them, transitively."""

    linked: Dict[str, Set[str]] = field(default_factory=dict)
    why: Dict[str, str] = field(default_factory=dict)  # module -> the first rule that linked it

    def depend(self, module: str, on: Iterable[str], why: str) -> None:
        others = set(on) - {module}
        if others:
            self.linked.setdefault(module, set()).update(others)
            self.why.setdefault(module, why)

    def join(self, group: Iterable[str], why: str) -> None:
        members = set(group)
        for p in members:
            self.depend(p, members, why)


# A `setattr(...)` call anywhere in the source: parsed for attribute writes
# even where the static model gave the module no process-state reason (it
# takes a module-level setattr/delattr for a store since 12f90c4; this stays
# as a second net, a few files on pandas).
_SETATTR = re.compile(r"(?<![\w.])setattr\s*\(")


class _Sources:
    """Each test module's module-level writes, read once and only when asked.
    `writers`: the modules the static model took for changing process state
    or an object at import; every assignment or `del` of an attribute at
    module level is among its reasons, so only those, and modules calling
    `setattr`, are parsed (None: every module is)."""

    def __init__(self, writers: Optional[AbstractSet[str]] = None) -> None:
        self._read: Dict[str, Tuple[Set[str], Set[str]]] = {}
        self._text: Dict[str, Optional[str]] = {}
        self._writers = writers

    def text(self, path: str) -> Optional[str]:
        if path not in self._text:
            try:
                with open(path, "rb") as f:
                    self._text[path] = f.read().decode("utf-8", "replace")
            except OSError:
                self._text[path] = None
        return self._text[path]

    def writes(self, path: str) -> Tuple[Set[str], Set[str]]:
        if path not in self._read:
            text = self.text(path)
            self._read[path] = ({"*"}, {"*"}) if text is None else module_writes(text)
        return self._read[path]

    def may_set_attributes(self, path: str) -> bool:
        if self._writers is None or path in self._writers:
            return True
        text = self.text(path)
        return text is None or ("setattr" in text and _SETATTR.search(text) is not None)


def find_links(modules: Dict[str, Any], watch: Optional[Watch], writers: Optional[AbstractSet[str]] = None) -> Links:
    """The links between these test modules (path -> module object), from
    what `watch` saw during collection and what their sources write. A module
    that holds an object depends on the modules that changed it; modules
    that hold one iterator depend on each other."""
    holders: Dict[int, Dict[str, List[str]]] = {}  # id -> holder path -> names bound to it
    objects: Dict[int, Any] = {}
    module_holders: Dict[int, Set[str]] = {}  # id of a module object -> test modules holding it
    for path, module in modules.items():
        namespace = vars(module)
        for name, value in list(namespace.items()):
            if peek.is_a(value, types.ModuleType) and not name.startswith("__"):
                module_holders.setdefault(id(value), set()).add(path)
            elif _is_iterator(value) and not name.startswith("__"):
                objects[id(value)] = value
                holders.setdefault(id(value), {}).setdefault(path, []).append(name)
        for name, value in containers_of(namespace, watch.project if watch is not None else None):
            objects[id(value)] = value
            holders.setdefault(id(value), {}).setdefault(path, []).append(name.split(".")[0])
    links = Links()
    shared = {k: h for k, h in holders.items() if len(h) > 1}
    sources = _Sources(writers)
    owners = _Owners(set(modules))
    for key, by_path in holders.items():
        value = objects[key]
        if _is_iterator(value):
            if len(by_path) > 1:
                links.join(by_path, f"shares the iterator {owners.name(value)}")
            continue
        if watch is not None and key in watch.after and len(by_path) > 1:
            links.join(by_path, f"holds {owners.name(value)}, which a hook changed after collection")
        if watch is None:
            changers = set(by_path) if key in shared else set()
        else:
            changers = set(watch.changed_by.get(key, ()))
        if key in shared and (watch is None or key not in watch.prior):
            # Not watched before its first holder's import: its source tells.
            changers |= {p for p, names in by_path.items() if sources.writes(p)[0] & ({"*"} | set(names))}
        if not changers or set(by_path) <= changers and len(changers) == 1:
            continue  # a module alone with what it changes itself
        why = f"holds {owners.name(value)}, which {', '.join(sorted(_short(p) for p in changers))} may change"
        for holder in by_path:
            links.depend(holder, changers, why)
    _defined_in_tests(modules, holders, objects, links)
    _attribute_writers(modules, sources, module_holders, links)
    if watch is not None and watch.rebound_by:
        _rebinding_links(modules, watch.rebound_by, links)
    return links


def _rebinding_links(modules: Dict[str, Any], rebound_by: Dict[str, Set[str]], links: Links) -> None:
    """A test module holding a project module (or a package above it), or a
    function or class it defines, depends on the modules in whose windows
    that module's bindings changed; changed after collection (by a hook):
    all its holders together."""
    readers: Dict[str, Set[str]] = {}  # changed module -> test modules reading it
    for path, module in modules.items():
        packages: Set[str] = set()
        defined: Set[str] = set()
        for value in list(vars(module).values()):
            if peek.is_a(value, types.ModuleType):
                packages.add(peek.module_attr(value, "__name__") or "")
            elif peek.is_a(value, type) or callable(value):
                defined.add(peek.owner(value) or "")
        for name in rebound_by:
            if name in defined or any(p and (name == p or name.startswith(p + ".")) for p in packages):
                readers.setdefault(name, set()).add(path)
    for name, paths in readers.items():
        changers = rebound_by[name] - {""}
        why = f"reads {name}, whose bindings {', '.join(sorted(_short(c) for c in changers))} changed"
        for path in paths:
            links.depend(path, changers, why)
        if "" in rebound_by[name] and len(paths) > 1:
            links.join(paths, f"reads {name}, whose bindings a hook changed after collection")


def _defined_in_tests(modules: Dict[str, Any], holders: Dict[int, Dict[str, List[str]]], objects: Dict[int, Any],
                      links: Links) -> None:
    """A container holding classes or functions another test module defined
    (a registry its classes or decorators filled), linked with that module."""
    by_name = {getattr(m, "__name__", ""): p for p, m in modules.items()}
    for key, by_path in holders.items():
        value = objects[key]
        if _is_iterator(value):
            continue
        elements = peek.elements(value)
        for element in elements[:10000]:
            owner = peek.owner(element) if callable(element) else None
            path = by_name.get(owner) if isinstance(owner, str) else None
            if path is not None and path not in by_path:
                for holder in by_path:
                    links.depend(holder, {path}, f"holds {peek.qualname(element)} "
                                                 f"defined in {_short(path)}")


def _written_module(namespace: Dict[str, Any], dotted: str) -> Tuple[Any, str]:
    """(the deepest module on the path of a written attribute, the attribute
    of it written or "*"): `lib.fixes.MODE` -> (lib.fixes, "MODE"),
    `pd.options.x = 1` -> (pandas, "*")."""
    parts = dotted.split(".")
    target = namespace.get(parts[0])
    if not peek.is_a(target, types.ModuleType):
        return None, ""
    for part in parts[1:-1]:
        inner = peek.module_attr(target, part)
        if not peek.is_a(inner, types.ModuleType):
            return target, "*"
        target = inner
    return target, parts[-1] if len(parts) > 1 and parts[-1] != "*" else "*"


def _attribute_writers(modules: Dict[str, Any], sources: _Sources, module_holders: Dict[int, Set[str]],
                       links: Links) -> None:
    """A test module setting attributes of a module it imported, linked with
    the modules that hold that module (or a package above it), or a name
    the attribute has (`from lib.fixes import MODE`)."""
    for path, module in modules.items():
        names = sources.writes(path)[1] if sources.may_set_attributes(path) else set()
        namespace = vars(module)
        for written in names:
            if written == "*":
                pairs = [(v, "*") for v in namespace.values() if peek.is_a(v, types.ModuleType)]
            else:
                pairs = [_written_module(namespace, written)]
            for target, attr in pairs:
                if not peek.is_a(target, types.ModuleType):
                    continue
                readers: Set[str] = set()
                chain = target.__name__.split(".")
                for i in range(1, len(chain) + 1):
                    package = sys.modules.get(".".join(chain[:i]))
                    readers |= module_holders.get(id(package), set()) if package is not None else set()
                if attr != "*":
                    readers |= {other for other, mod in modules.items() if attr in vars(mod)}
                for reader in readers:
                    links.depend(reader, {path}, f"{_short(path)} sets attributes of {target.__name__}")


def _short(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[-2:])
