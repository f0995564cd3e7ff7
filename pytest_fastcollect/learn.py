"""Learning the real items of the test modules pytest imported.

After collection, each imported module's items are recorded with the exact
keyword names pytest's -k matcher uses and the markers -m sees, after every
hook ran. The record is valid only under a key (see docs/design.md): the
session key computed here, the set of conftests, the collection surface of
every non-test file imported during collection (conftests included; trace.py)
or the whole content of one read as data, and the other test modules a module
borrows from. The native core stores and checks it.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import os
import sys
import time
import types
import warnings
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Set, Tuple, Union

import pytest

from pytest_fastcollect import __version__, env_effects, peek, programs
from pytest_fastcollect.deselection import MarkSnapshot, called_from, mark_impl
from pytest_fastcollect.env_effects import Delta
from pytest_fastcollect.environment import collection_roots, type_checking_set
from pytest_fastcollect.inputs import Recorder, values_of
from pytest_fastcollect.links import Links, Watch, find_links, own_changers
from pytest_fastcollect.trace import ALL_DOCS_READ, ANONYMOUS, DOC_READ, TYPE_CHECKING_RUNS

def session_key(config: pytest.Config, anchors: Optional[List[str]] = None) -> int:
    """Everything outside the files that decides which items a module yields
    (the core adds the environment variables read while collecting)."""
    parts: List[str] = [
        __version__,
        pytest.__version__,
        sys.version,
        sys.platform,
        str(config.rootpath),
        str(config.inipath),
        repr(getattr(config.option, "confcutdir", None)),
        repr(getattr(config.option, "importmode", None)),
        repr(getattr(config.option, "pyargs", None)),
        repr(getattr(config.option, "noconftest", None)),
        repr(getattr(config.option, "plugins", None)),
        repr(getattr(config.option, "override_ini", None)),
        # Where each argument's node chain starts: the names of the nodes below
        # it are keywords of the items learned.
        repr(sorted(set(anchors if anchors is not None else (a for _, a in collection_roots(config))))),
    ]
    # pytest's section of the configuration file as pytest parsed it, every
    # key (not only the options known today); the rest of the file is an
    # input only where collection opens it (a dependency, as any file read).
    parts.append(_ini_section(config))
    # Every installed distribution: installing or removing a package changes
    # which optional imports succeed (and so parametrization and skips).
    parts.append(repr(installed_distributions()))
    digest = hashlib.blake2b("\0".join(parts).encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1


def loaded_by_file() -> Dict[str, Any]:
    """The loaded modules by the absolute path of their file."""
    return {os.path.abspath(f): m for m in list(sys.modules.values())
            for f in [peek.module_attr(m, "__file__")] if isinstance(f, str)}


def _file_of(module: Any) -> str:
    """Its file, from its namespace (an object standing in for a module:
    its own attributes; no attribute lookup runs code of its class)."""
    f = peek.module_attr(module, "__file__")
    if f is None:
        own = peek.own_dict(module)
        f = dict.get(own, "__file__") if own is not None else None
    return os.path.abspath(f) if isinstance(f, str) else ""


def _ini_section(config: pytest.Config) -> str:
    """The parsed [pytest] section: pytest 9 keeps values with how they were
    written (ini or TOML), pytest 8 a dict of strings and lists."""
    raw = getattr(config, "_inicfg", None)
    if not isinstance(raw, dict):
        raw = getattr(config, "inicfg", {})
    items = []
    for key in sorted(raw):
        value = raw[key]
        items.append((key, repr(getattr(value, "value", value)), repr(getattr(value, "mode", None))))
    return repr(items)


def _type_checking_runs() -> List[Tuple[str, int]]:
    """typing.TYPE_CHECKING set true (by a conftest, say): `if TYPE_CHECKING:`
    bodies ran, and stay part of every surface (src/surface.h)."""
    typing_module = sys.modules.get("typing")
    return [(TYPE_CHECKING_RUNS, 0)] if getattr(typing_module, "TYPE_CHECKING", False) else []


def installed_distributions() -> List[str]:
    """The distribution metadata entries on sys.path (`name-version.dist-info`,
    `.egg-info`, `.egg-link`, `.pth`): installing, removing or upgrading a
    package changes this list. Listing directories is much cheaper than
    reading every distribution's metadata."""
    out = set()
    for entry in sys.path:
        where = os.path.abspath(entry or os.curdir)
        try:
            names = os.listdir(where)
        except OSError:
            continue
        out.update(os.path.join(where, n) for n in names if n.endswith((".dist-info", ".egg-info", ".egg-link", ".pth")))
    return sorted(out)


def learning_allowed(config: pytest.Config) -> Optional[str]:
    """Why learned items can neither decide nor be recorded in this session,
    or None. Hook implementations that run before -k/-m and may act across
    items are read once the conftests are known (hooks.py, hook_phases.py)."""
    if mark_impl(config) is None:
        return "pytest's -k/-m implementation (its mark plugin's pytest_collection_modifyitems) was not found"
    return None


_COMPILED = "fastcollect/compiled"
# Modules a learning run collected and did not record (they change process
# state, or objects not shown their own), by content hash: while they stay
# so, a run whose other modules all have valid records has nothing to learn.
_REFUSED = "fastcollect/refused"


def refused_before(config: pytest.Config) -> Dict[str, int]:
    cache = getattr(config, "cache", None)
    got = cache.get(_REFUSED, {}) if cache is not None else {}
    return got if isinstance(got, dict) else {}


def _remember_refused(learner: "Learner") -> None:
    state = learner.scanned
    cache = getattr(learner.config, "cache", None)
    if state is None or cache is None:
        return
    collected = learner.collected & set(state.hashes)
    refused = collected - state.learned_current - set(learner.todo())
    before = refused_before(learner.config)
    known = {p: h for p, h in before.items() if p not in collected}
    known.update({p: state.hashes[p] for p in refused})
    if known != before:
        cache.set(_REFUSED, known)


def does_not_compile(config: pytest.Config, kept: List[Tuple[str, int]]) -> Optional[str]:
    """The first file kept by its surface (its content changed, the surface
    did not) that Python no longer compiles, or None. Tree-sitter accepts
    some errors Python's compiler rejects (``await`` outside ``async def``):
    inside a body that never ran, they still break the import. Files that
    compiled are remembered by content hash in pytest's cache."""
    cache = getattr(config, "cache", None)
    known = cache.get(_COMPILED, {}) if cache is not None else {}
    compiled: Dict[str, int] = dict(known) if isinstance(known, dict) else {}
    bad = None
    for path, content_hash in kept:
        if compiled.get(path) == content_hash:
            continue
        try:
            with open(path, "rb") as f:
                source = f.read()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(source, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, OSError):
            bad = path
            break
        compiled[path] = content_hash
    now = {p: compiled[p] for p, _ in kept if p in compiled}
    if cache is not None and now != known:  # every warm run after an edit would rewrite it
        cache.set(_COMPILED, now)
    return bad


def _is_stdlib(path: str, stdlib_dir: str) -> bool:
    """Part of the running interpreter's standard library (covered by the
    Python version in the session key). Installed packages are not, even
    where site-packages sits inside the stdlib directory."""
    if not path.startswith(stdlib_dir):
        return False
    parts = path[len(stdlib_dir):].split(os.sep)
    return "site-packages" not in parts and "dist-packages" not in parts


_SITE_DIRS = ("site-packages", "dist-packages")


def _installed_top(path: str) -> Optional[str]:
    """For a file of an installed distribution, the site directory and the
    top-level name it sits under (``.../site-packages/numpy``); else None."""
    parts = path.split(os.sep)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in _SITE_DIRS:
            return os.sep.join(parts[:i + 2])
    return None


def _installed_whole(deps: Set[str], tested: Set[str]) -> Set[str]:
    """Installed files kept by their whole content, not by their surface:
    those of distributions that hold no test module or conftest of this
    session. Their versions are in the session key, so only an edit in
    place changes them, and a surface would cost a parse of every file
    collection loaded from them (most of a learning run's own work)."""
    tops = {t for t in map(_installed_top, tested) if t is not None}
    return {f for f in deps if (t := _installed_top(f)) is not None and t not in tops}


def _cache_dir(config: pytest.Config) -> str:
    cache = getattr(config, "cache", None)
    where = getattr(cache, "_cachedir", None)
    return os.path.abspath(str(where)) + os.sep if where is not None else ""


def _matcher_names(item: pytest.Item) -> Set[str]:
    from _pytest.mark import KeywordMatcher

    return set(KeywordMatcher.from_item(item)._names)


def _own_names(item: pytest.Item) -> Set[str]:
    """What an item itself adds to KeywordMatcher.from_item: its name, its
    extra keywords and its own markers."""
    if not item.extra_keyword_matches and not item.own_markers:
        return {item.name}
    return {item.name, *item.extra_keyword_matches, *(m.name for m in item.own_markers)}


_FUNCTION_PROPERTY = pytest.Function.function


def _function_of(item: pytest.Item) -> Any:
    """item.function (getimfunc(item.obj)), without the property's
    AttributeError for a plain function where the item's object is known
    and its class keeps pytest's property."""
    obj = item.__dict__.get("_obj")
    if obj is None or getattr(type(item), "function", None) is not _FUNCTION_PROPERTY:
        return getattr(item, "function", None)
    return obj.__func__ if type(obj) is types.MethodType else obj


class _Keywords:
    """The -k names (KeywordMatcher.from_item) and -m marker names of many
    items. pytest computes them per item, walking the whole chain each time;
    items of one parametrized function share all of it but their own part.
    The first item of each (parent, function) pair is computed by pytest; the
    others reuse its names less its own part (exact unless one of its own names
    is also an attribute of the function, then pytest computes each)."""

    def __init__(self) -> None:
        # (id(parent), id(function)) -> (lowercased shared names, sorted, or None; parent markers; what the ids
        # belong to)
        self._groups: Dict[Tuple[int, int], Tuple[Optional[List[str]], List[str], Tuple[Any, Any]]] = {}

    @staticmethod
    def _chain(parent: Any) -> Tuple[Set[str], List[str]]:
        """What the parent chain adds: names (as from_item filters them),
        extra keywords and marker names; and the marker names in
        iter_markers() order (nearest node first)."""
        names: Set[str] = set()
        per_node: List[List[str]] = []
        for node in parent.listchain():
            per_node.append([m.name for m in node.own_markers])
            names.update(node.extra_keyword_matches)
            if isinstance(node, pytest.Session):
                continue
            if isinstance(node, pytest.Directory) and isinstance(node.parent, pytest.Session):
                continue
            names.add(node.name)
        marks = [name for node_marks in reversed(per_node) for name in node_marks]
        return names | set(marks), marks

    def of(self, item: pytest.Item) -> ItemRecord:
        parent = item.parent
        function = _function_of(item)
        key = (id(parent), id(function))
        group = self._groups.get(key)
        if group is None:
            own = _own_names(item)
            names = _matcher_names(item)
            shared, parent_marks = self._chain(parent)
            attributes = set(getattr(function, "__dict__", ())) if function else set()
            base = None if own & attributes else sorted({str(n).lower() for n in names - (own - shared)})
            # (parent, function) are held so that their ids stay theirs.
            self._groups[key] = group = (base, parent_marks, (parent, function))
        # (The group's lists are shared by its items, never changed.)
        own_marks = [m.name for m in item.own_markers] if item.own_markers else None
        marks = own_marks + group[1] if own_marks else group[1]
        base = group[0]
        if base is None:
            return sorted({str(n).lower() for n in _matcher_names(item)}), marks
        if not item.extra_keyword_matches and not own_marks:  # its name only (most unparametrized items)
            return base, item.name.lower(), marks
        own = [item.name, *item.extra_keyword_matches, *(own_marks or ())]
        return base, [str(n).lower() for n in own], marks


# One item's record as handed to the core: (-k names sorted, marker names),
# or (shared sorted -k names, its own -k name or names, marker names), its
# -k names being the shared ones with its own added in order (see expand).
# Many items share their lists.
ItemRecord = Union[Tuple[List[str], List[str]], Tuple[List[str], Union[str, List[str]], List[str]]]


def expand(record: ItemRecord) -> Tuple[List[str], List[str]]:
    """An item's record as its two lists: its -k names (sorted, each once)
    and its marker names (the core does the same, module.cpp)."""
    if len(record) == 2:
        return list(record[0]), list(record[-1])
    names = list(record[0])
    own = record[1]
    for name in [own] if isinstance(own, str) else own:
        at = bisect.bisect_left(names, name)
        if at == len(names) or names[at] != name:
            names.insert(at, name)
    return names, list(record[-1])


@dataclass(frozen=True)
class Scanned:
    """What the scan decided that the learner needs: the key parts the core
    computed and the test modules of the session."""

    hashes: Dict[str, int]  # test modules to import, with the content hash the scan saw
    test_files: FrozenSet[str]  # every test module of the session (skipped or imported)
    conftests: Tuple[str, ...]
    conftest_fp: int  # which conftests the session has
    input_names: Tuple[str, ...]  # inputs the generation in use depends on
    snapshot: Dict[str, str]  # every input's value when deciding
    learned_current: FrozenSet[str]  # imported on a still-valid learned record
    session_key: int
    # Change what later modules see at import (process state, an object they
    # did not make: the static model's kProcessState): never recorded, so
    # they are imported in every run and every module sees them.
    state_changers: FrozenSet[str] = frozenset()
    in_place: FrozenSet[str] = frozenset()  # of them, the ones taken for changing objects in place only
    # Every module the static model took for changing process state or an
    # object at import (checked-at-run ones too): the only ones whose
    # module-level code may set another module's attributes (links._Sources;
    # None: not known, every module's source is read).
    writers: Optional[FrozenSet[str]] = None


_ProcessState = Tuple[List[str], Dict[Any, Any], str, bool]


def _process_state() -> _ProcessState:
    """What a test module's import may change for the modules collected after
    it. The environment is read from os.environ's own store: reading it
    through os.environ would count as an input (inputs.py)."""
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    env = dict(getattr(os.environ, "_data", None) or {})
    return list(sys.path), env, cwd, type_checking_set()


def _same_process_state(before: _ProcessState, after: _ProcessState, module: str) -> bool:
    """Equal, apart from the directory pytest's import mode puts on sys.path
    (again, in front or at the end) to import the module."""
    return before[1] == after[1] and _same_but_environment(before, after, module)


def import_mode_basedir(module: str) -> str:
    """The directory prepend and append modes put on sys.path for a module:
    the first one upwards that holds no __init__.py."""
    d = os.path.dirname(module)
    while os.path.isfile(os.path.join(d, "__init__.py")):
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return d


def _same_but_environment(before: _ProcessState, after: _ProcessState, module: str) -> bool:
    """sys.path (as _same_process_state reads it), the working directory and
    TYPE_CHECKING are equal. Only the module's own basedir is let through: a
    module that puts another directory above it on sys.path (the project's
    root, `sys.path.insert(0, ROOT)`) changes what later imports find."""
    if before[2:] != after[2:]:
        return False
    if before[0] == after[0]:
        return True
    base = import_mode_basedir(module)

    def others(path: List[str]) -> List[str]:
        return [p for p in path if p != base]

    return others(before[0]) == others(after[0])


def _environment_changes(before: _ProcessState, after: _ProcessState, module: str) -> Delta:
    """The environment variables set, changed or removed between the two
    states ([before, after], None for unset), when nothing else changed
    (empty otherwise: sys.path, the working directory or TYPE_CHECKING
    changed)."""
    if not _same_but_environment(before, after, module):
        return {}
    old, new = before[1], after[1]

    def text(value: Any) -> Optional[str]:
        return None if value is None else os.fsdecode(value)

    return {os.fsdecode(k): [text(old.get(k)), text(new.get(k))] for k in set(old) | set(new) if old.get(k) != new.get(k)}


class Learner:
    """Registered for one filtered session; hands its records to the core."""

    def __init__(self, config: pytest.Config, recorder: Recorder) -> None:
        self.config = config
        self.scanned: Optional[Scanned] = None  # set when the plugin decided
        self.recorder = recorder
        self._docs_by_file: Optional[Dict[str, List[Tuple[str, int]]]] = None  # see _docs_read
        # Per module to record: its items' (-k names, -m marker names) as
        # pytest's -k/-m deselection saw them (MarkSnapshot).
        self.records: Optional[Dict[str, List[ItemRecord]]] = None
        self.node_deselected: List[pytest.Item] = []  # dropped by --deselect just before -k/-m
        self.collected: Set[str] = set()  # module paths collected without error
        self.visited: Set[str] = set()  # module paths whose collection ran, with an error or not
        self.skipped: Set[str] = set()  # module paths skipped as a whole
        # Module paths whose collection changed process state other modules'
        # collection may read (sys.path, the environment, the working
        # directory): never recorded, so they are imported in every run.
        self.changed_state: Set[str] = set()
        # Modules whose collection changed environment variables only: their
        # effect, recorded with them (env_effects.py).
        self.env_effects: Dict[str, Delta] = {}
        self.off = ""  # why learned items neither decide nor get recorded in this session
        self.record_off = ""  # why nothing may be recorded (learned items still decide)
        self.failure = ""  # an exception in the learner's own step (then record_off too): warned of
        self.order: Dict[str, int] = {}  # test modules in the order their collection began
        # Nothing to record: every module this run imports is on a still-valid
        # record (a warm run). Watching stops when the plugin decides.
        self.idle = False
        # On an xdist worker: the controller's snapshot as workers see it
        # (distributed.worker_view), and this worker's own, when collection starts.
        self.view: Optional[Dict[str, str]] = None
        self.own: Optional[Dict[str, str]] = None
        self.snapshot = MarkSnapshot(config, self.at_deselection)
        self.watch = Watch()  # containers test modules hold (links.py)
        # Of the modules the static model took for changing objects in place,
        # those that changed only their own (links.changes_only_its_own).
        self.own_changers: Set[str] = set()
        self.links = Links()
        self.seconds: Dict[str, float] = {}  # per test module: how long its collection took (learners.plan)

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Any:
        if self.view is not None:
            self.own = self.recorder.snapshot(self.config)
        if not self.snapshot.install() and not self.off:
            self.off = "learning is off: pytest's -k/-m implementation was not found"
        try:
            return (yield)
        finally:
            self.watch.unhook_imports()
            self.snapshot.remove()
            with gc_paused():
                self.recorder.stop()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(self) -> Any:
        # Before any hook sees the items: what hooks change from here on is
        # no module's collection (links.Watch.after).
        if not (self.off or self.record_off or self.idle):
            with self._or_record_nothing("closing the last window"):
                self.watch.close()
        return (yield)

    @contextlib.contextmanager
    def _or_record_nothing(self, where: str) -> Iterator[None]:
        """Runs a step of the learner's own; an exception in it (an object of
        the project's that raises when read, a warning turned into an error)
        stops recording in this session instead of reaching pytest's
        collection, where it would fail a module plain pytest collects."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - any: the run goes on as plain pytest's would
            first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
            self.failure = self.record_off = f"the learner failed {where}: {type(exc).__name__}: {first}"[:300]

    def pytest_deselected(self, items: List[pytest.Item]) -> None:
        # --deselect (pytest's main plugin) drops items by node ID right
        # before -k/-m: they are still the module's items.
        if called_from(os.path.join("_pytest", "main.py")):
            self.node_deselected.extend(items)

    def release(self) -> None:
        """Collection is over and its records are stored: drops what only
        recording needed (every item's names, the containers watched), so
        that the collections of garbage pytest runs after collection (and
        the interpreter's own at exit) do not walk it. What the report
        and --fast-collect-explain read stays."""
        if self.records is not None:
            self.records = {}
        self.node_deselected = []
        self.watch = Watch()
        self._docs_by_file = None

    def todo(self) -> List[str]:
        """The modules whose items this session records."""
        state = self.scanned
        if state is None:
            return []
        learnable = set(state.hashes)  # modules this run imported and the scan hashed
        # Modules imported on still-valid learned items would be recorded as they are.
        changers = state.state_changers - self.own_changers
        return sorted((self.collected & learnable) - state.learned_current - self.changed_state - changers
                      - set(self.after_programs()))

    def _own_changers(self) -> None:
        state = self.scanned
        if state is None or not state.in_place & self.collected:
            return
        at = loaded_by_file()
        candidates = {p: at[p] for p in sorted(state.in_place & self.collected) if p in at}
        self.own_changers = own_changers(candidates)

    def at_deselection(self, items: List[pytest.Item]) -> None:
        """Called with the item list as pytest's -k/-m deselection receives it,
        after every hook implementation that runs before it: what -k and -m
        match is what is recorded (markers or items hooks add later are not)."""
        if self.off or self.record_off or self.idle or self.records is not None:
            return
        with self._or_record_nothing("recording the items"):
            self._record_items(items)

    def _record_items(self, items: List[pytest.Item]) -> None:
        self.watch.open_window(None)
        self._own_changers()
        todo = set(self.todo())
        keywords = _Keywords()
        records: Dict[str, List[ItemRecord]] = {}
        seen: Set[int] = set()
        was_paused, self.recorder.paused = self.recorder.paused, True  # our own reading is no input
        try:
            with gc_paused():  # many small lists, none cyclic
                for item in list(items) + self.node_deselected:
                    path = str(item.path)
                    if path in todo and id(item) not in seen:
                        seen.add(id(item))
                        records.setdefault(path, []).append(keywords.of(item))
        finally:
            self.recorder.paused = was_paused
        self.records = records

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        if self.idle:
            return (yield)
        before = _process_state() if isinstance(collector, pytest.Module) else None
        watching = before is not None and not self.off and not self.record_off and not self.idle
        if watching:
            with self._or_record_nothing(f"before collecting {collector.path}"):
                if not self.watch.project_dirs:
                    self._start_watch()
                self.watch.open_window(str(collector.path))
        began = time.perf_counter()
        outer = self._enter_window(collector)
        try:
            report = yield
        finally:
            self.recorder.window = outer
        if not isinstance(collector, pytest.Directory):  # a module, its classes (their items are made there)
            path = str(collector.path)
            self.seconds[path] = self.seconds.get(path, 0.0) + time.perf_counter() - began
        module = collector.__dict__.get("_obj") if watching else None
        if before is not None:  # (a module: classes and directories have nothing to check)
            with self._or_record_nothing(f"after collecting {collector.path}"):
                if module is not None:
                    self.watch.track(module)  # (a module whose namespace made no item)
                self._check_process_state(before, str(collector.path))
        # A module skipped as a whole (importorskip, allow_module_level) has no
        # items under this key; plain pytest would report it skipped.
        if isinstance(collector, pytest.Module):
            self.visited.add(str(collector.path))
        if isinstance(collector, pytest.Module) and (report.passed or report.skipped):
            path = str(collector.path)  # as pytest_ignore_collect sees it (node ids may be relative elsewhere)
            self.collected.add(path)
            if report.skipped:
                self.skipped.add(path)
        elif isinstance(collector, pytest.Directory) and report.skipped:
            self._directory_skipped(str(collector.path))
        return report

    def _enter_window(self, collector: pytest.Collector) -> Optional[str]:
        """A program started while a test module (or one of its classes) is
        collected is that module's (Recorder.on_program); the modules are
        numbered in collection order. Returns the window to restore."""
        outer = self.recorder.window
        if isinstance(collector, (pytest.Module, pytest.Class)):
            path = str(collector.path)
            self.order.setdefault(path, len(self.order))
            self.recorder.window = path
        return outer

    def after_programs(self) -> Dict[str, str]:
        """The modules collected from the first program whose output nothing
        keys onwards (that program's module included), with it: what it
        printed may reach them (through caches too), not the modules
        collected before it."""
        first: Optional[Tuple[int, str]] = None
        for window, program in self.recorder.programs:
            at = self.order.get(window, 0) if window is not None else 0
            if first is None or at < first[0]:
                first = (at, f"{program}, started while collecting {window}" if window else program)
        if first is None:
            return {}
        return {path: first[1] for path, at in self.order.items() if at >= first[0]}

    def _directory_skipped(self, directory: str) -> None:
        """A directory skipped as a whole (its conftest's importorskip, as
        pandas' io/pytables without PyTables): the test modules below it have
        no items under this key, as if each were skipped at module level."""
        if self.scanned is None:
            return
        below = os.path.join(directory, "")
        for path in sorted(self.scanned.test_files):
            if path.startswith(below):
                self.order.setdefault(path, len(self.order))  # (collected now: after_programs)
                self.visited.add(path)
                self.collected.add(path)
                self.skipped.add(path)

    def _check_process_state(self, before: _ProcessState, path: str) -> None:
        after = _process_state()
        if _same_process_state(before, after, path):
            return
        delta = _environment_changes(before, after, path)
        if delta:
            # Recorded with its effect, replayed where it is skipped (env_effects.py).
            self.env_effects[path] = delta
        else:
            self.changed_state.add(path)

    def refuse_programs(self) -> bool:
        """A program whose output nothing keys (programs.py) started outside
        every test module's collection (a conftest, a hook, start-up): what
        it printed may reach any module's items, so nothing is recorded."""
        outside = [program for window, program in self.recorder.programs if window is None]
        if not outside:
            return False
        self.record_off = (f"collection ran a program outside a test module ({'; '.join(outside[:3])}), "
                           "whose output no record can key")
        return True

    def not_recorded(self) -> Dict[str, str]:
        """Why modules collected in this session got no record, for
        --fast-collect-explain."""
        why = {p: "its collection changed sys.path, the working directory or TYPE_CHECKING, which modules "
                  "collected after it may read" for p in self.changed_state}
        for p, program in self.after_programs().items():
            why.setdefault(p, f"collected after a program ran ({program}), whose output no record can key")
        if self.scanned is not None:
            for p in self.scanned.state_changers - self.own_changers:
                why.setdefault(p, "the static model found it changing process state at import")
        return {p: r for p, r in why.items() if p in self.collected}

    def _start_watch(self) -> None:
        anchors = {os.path.join(a, "") for _, a in collection_roots(self.config)}
        self.watch.site_dirs = tuple(sorted(anchors))
        self.watch.project_dirs = tuple(sorted(anchors | {os.path.join(str(self.config.rootpath), "")}))
        if self.scanned is not None:
            self.watch.test_files = self.scanned.test_files
        self.watch.hook_imports()

    @pytest.hookimpl(wrapper=True)
    def pytest_pycollect_makeitem(self, collector: pytest.Collector) -> Any:
        # The module's first name: imported, none of its items made yet.
        if isinstance(collector, pytest.Module) and not self.off and not self.record_off and not self.idle:
            module = collector.__dict__.get("_obj")
            if module is not None and not self.watch.tracks(module):  # (called for every name it holds)
                with self._or_record_nothing(f"reading {collector.path}"):
                    self.watch.track(module)
        return (yield)

    def payload(self) -> Optional[Dict[str, Any]]:
        state = self.scanned
        todo = self.todo()
        if state is None or not todo or self.records is None:
            return None
        hashes = state.hashes
        test_files = state.test_files
        conftests = set(state.conftests)
        files = []
        module_of: Dict[str, str] = {}
        module_at: Dict[str, Any] = {}
        for name, mod in list(sys.modules.items()):
            f = peek.module_attr(mod, "__file__")
            if isinstance(f, str):
                module_of[name] = os.path.abspath(f)
                module_at.setdefault(os.path.abspath(f), mod)
        imported = sorted(p for p in test_files if p in module_at)
        self.links = find_links({p: module_at[p] for p in imported}, self.watch, state.writers)
        shared = self.links.linked
        readers: Dict[str, Set[str]] = {}  # module -> those that read what it changes
        for reader, changers in shared.items():
            for changer in changers:
                readers.setdefault(changer, set()).add(reader)
        for path in todo:
            module = module_at.get(path)
            if path in self.skipped:
                files.append((path, hashes[path], [], [], []))
                continue
            if module is None:
                continue  # not found by file: what it borrows cannot be known
            records = self.records.get(path, [])
            borrowed = self._borrowed(path, module, module_of, test_files) | shared.get(path, set())
            files.append((path, hashes[path], sorted(borrowed), records, sorted(readers.get(path, ()))))
        if not files:
            return None  # nothing new to record
        stdlib_dir = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
        cache_dir = _cache_dir(self.config)
        rec = self.recorder
        deps = set()
        for f in list(module_of.values()) + sorted(rec.files) + sorted(conftests):
            if f in test_files or _is_stdlib(f, stdlib_dir) or rec.is_output(f):
                continue
            if cache_dir and f.startswith(cache_dir):
                continue  # pytest's cache: read by --lf/--nf/--sw, options of the key
            if not os.path.isfile(f):
                continue
            if f.endswith(".pyc") and os.sep + "__pycache__" + os.sep in f:
                continue  # a cache derived from a source tracked on its own
            deps.add(f)
        # Inputs the stored generation already depends on stay part of the key.
        names = sorted(set(rec.input_names()) | set(state.input_names))
        programs.fill(names, state.snapshot, rec.program_inputs)  # (as collection's programs saw them)
        opaque = self._enumerated(module_of)
        marks = _type_checking_runs()
        whole = _installed_whole(deps, set(test_files) | conftests)
        return {
            "session_key": state.session_key or session_key(self.config),
            "conftest_fp": state.conftest_fp,
            "input_names": names,
            "inputs": values_of(names, state.snapshot),
            "deps": [self._surface_of(f, opaque, marks, f in whole) for f in sorted(deps)],
            "observed": self._observed(deps),
            "listings": self._listings(cache_dir),
            "files": files,
            # Modules the scan let through: collected (what they read was
            # watched), or not collected by pytest at all (they read nothing).
            "collected": sorted(set(imported) | (self.visited & test_files) | set(hashes)),
        }

    def _surface_of(self, path: str, opaque: Optional[Set[str]], marks: List[Tuple[str, int]],
                    whole: bool = False) -> Tuple[str, bool, List[Tuple[str, int]], bool]:
        """(path, has a surface, the named code that ran in it, its namespace
        was enumerated): a Python source whose module body ran while tracing,
        and that nothing read as data, is kept by its surface; anything else
        (and what `whole` says) by its whole content. `marks` go with every
        file's code that ran (_type_checking_runs)."""
        traced = self.recorder.traced
        if traced is None or whole or not path.endswith(".py") or path in self.recorder.data_reads:
            return (path, False, [], True)
        ran = traced.of(path)
        if ran is not None:
            ran = ran + self._docs_read(path) + marks
        return (path, ran is not None, ran or [], opaque is None or path in opaque)

    def _docs_read(self, path: str) -> List[Tuple[str, int]]:
        """The functions of `path` whose docstring collection read, marked
        for the core (surface.h: a docstring is surface only where read)."""
        codes = self.recorder.doc_reads
        if codes is None:
            return [(ALL_DOCS_READ, 0)]
        if self._docs_by_file is None:
            self._docs_by_file = {}
            for code in codes:
                if code.co_name not in ANONYMOUS:
                    entry = (DOC_READ + code.co_name, code.co_firstlineno)
                    self._docs_by_file.setdefault(os.path.abspath(code.co_filename), []).append(entry)
        return self._docs_by_file.get(path, [])

    def _enumerated(self, module_of: Dict[str, str]) -> Optional[Set[str]]:
        """Files of the modules whose namespace collection enumerated
        (`__dict__`, read by vars(), dir(), a star import without `__all__`;
        globals(), dir() and locals() at module level), or whose reads were
        not recorded (a module class of its own); None when not known."""
        traced, notes, reads = self.recorder.traced, self.recorder.enumerated, self.recorder.module_reads
        if traced is None or notes is None or reads is None:
            return None
        names = set(notes)
        files = {module_of[n] for n in names if n in module_of}
        files.update(_file_of(m) for m, read in reads.items() if "__dict__" in read)
        files.update(_file_of(m) for m in list(sys.modules.values()) if type(m) is not types.ModuleType)
        files.discard("")
        return files

    def _observed(self, deps: Set[str]) -> Optional[Tuple[List[str], List[str], Dict[str, List[str]]]]:
        """What collection could have read (bindings.h): names exec'd text
        looked up, the modules loaded before tracing, and per file the names
        read from its namespace (by its own code, or from outside it)."""
        traced, reads = self.recorder.traced, self.recorder.module_reads
        if traced is None or self.recorder.enumerated is None or reads is None:
            return None
        own: Dict[str, Set[str]] = {f: set(traced.own_names[f]) for f in deps if f in traced.own_names}
        for module, read in reads.items():
            f = _file_of(module)
            if f in deps:
                own.setdefault(f, set()).update(read)
        return sorted(traced.names), sorted(traced.preloaded), {f: sorted(n) for f, n in own.items()}

    def _listings(self, cache_dir: str) -> List[str]:
        """Directories collection listed, whose names are inputs: not those
        it made or wrote into (their listing after collection is its own
        output), nor pytest's cache."""
        rec = self.recorder
        wrote_in = {os.path.dirname(f) for f in rec.written}
        return sorted(d for d in rec.listed
                      if os.path.isdir(d) and d not in wrote_in and not rec.is_output(d + os.sep)
                      and not (cache_dir and (d + os.sep).startswith(cache_dir)))

    @staticmethod
    def _borrowed(path: str, module: Any, module_of: Dict[str, str], test_files: Set[str]) -> Set[str]:
        """Other test modules whose code this module's namespace refers to
        (imported names, base classes)."""
        out: Set[str] = set()
        for value in list(vars(module).values()):
            candidates = []
            if peek.is_a(value, types.ModuleType):
                candidates.append(peek.module_attr(value, "__name__") or "")
            elif peek.is_a(value, type):
                candidates.extend(peek.defined_in(c) or "" for c in peek.mro(value))
            else:
                candidates.append(peek.owner(value) or "")
            for name in candidates:
                f = module_of.get(name)
                if f and f != path and f in test_files:
                    out.add(f)
        return out


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No collector passes while a learning run's records are made: hundreds
    of thousands of small lists and sets, none of them cyclic, and a full pass
    over collection's objects costs more (on pandas, 2.2-2.5 s, one fell in the
    tracer's stop)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def record(learner: Learner, core: Any, language: Any, index_dir: str) -> Tuple[str, int]:
    """Stores what this session learned; returns (error, files written)."""
    if learner.off or learner.record_off or learner.idle:
        return "", 0
    with gc_paused():
        learner.recorder.stop()  # collection is over: what ran is known
        if learner.refuse_programs():
            return "", 0
        if learner.view is not None:
            # Recorded on an xdist worker, keyed by the controller's values.
            from pytest_fastcollect.distributed import adopt_terminal, worker_mismatch

            # (The view is the dict the payload takes the inputs' values from.)
            own = learner.own if learner.own is not None else {}
            adopt_terminal(learner.view, own)
            programs.for_worker(learner.recorder.input_names(), own, learner.view, learner.recorder.program_inputs)
            learner.off = worker_mismatch(learner.recorder.input_names(), own, learner.view) or ""
            if learner.off:
                return "", 0
        payload = learner.payload()
    if learner.view is None:
        _remember_refused(learner)
    if payload is None or not payload["files"]:
        return "", 0
    return store(core, language, index_dir, payload, learner.env_effects)


def store(core: Any, language: Any, index_dir: str, payload: Dict[str, Any],
          effects: Dict[str, Delta]) -> Tuple[str, int]:
    """Writes a payload with what goes beside the index: the modules'
    environment effects, the programs the generation depends on."""
    keep_env_effects(effects, index_dir, payload)
    programs.remember(index_dir, payload["input_names"])
    return core.learn(language, index_dir, payload)


def keep_env_effects(effects: Dict[str, Delta], index_dir: str, payload: Dict[str, Any]) -> None:
    """Each module recorded with an environment effect gets its effect's file
    as a dependency of its record (env_effects.py): without it, its effect
    would not be replayed where it is skipped. The others lose theirs."""
    files = []
    for entry in payload["files"]:
        path, content, deps, records, readers = entry
        delta = effects.get(path)
        if delta:
            kept = env_effects.keep(index_dir, path, delta, payload["input_names"], payload["inputs"])
            entry = (path, content, sorted({*deps, kept}), records, readers)
        files.append(entry)
    env_effects.forget(index_dir, [f[0] for f in files if not effects.get(f[0])])
    payload["files"] = files
