"""What the running pytest tells us that source files cannot: collection roots,
name patterns, plugin fixtures, and plugins whose hooks could change items."""

from __future__ import annotations

import abc
import inspect
import os
import sys
import sysconfig
import zipfile
from pathlib import Path
from dataclasses import dataclass, field
from types import BuiltinFunctionType, FunctionType, ModuleType
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

import pytest

from pytest_fastcollect import peek

# A fixture as the core takes it: name, has params, params may carry marks,
# requested names, its items' ids (None: not known).
FixtureRow = Tuple[str, bool, bool, List[str], Optional[List[str]]]

# Hooks through which a plugin can add, rename or re-mark items.
COLLECTION_HOOKS = (
    "pytest_collection",
    "pytest_collection_modifyitems",
    "pytest_collect_file",
    "pytest_collect_directory",
    "pytest_pycollect_makemodule",
    "pytest_pycollect_makeitem",
    "pytest_generate_tests",
    "pytest_make_parametrize_id",
    "pytest_itemcollected",
    "pytest_collectstart",
    "pytest_make_collect_report",
)


@dataclass(frozen=True)
class Known:
    """A plugin whose collection hooks were read (docs/compatibility.md has the
    table). `what` says what they do to items; `reorders`: its
    pytest_collection_modifyitems only reorders items (learning may record the
    items around it, even when it runs last or wraps); `inputs`: its reads of
    config.option stay inputs of learned records (inputs.py). Only plugins
    that merely reorder, by options that may change every run (a random
    seed), leave them out."""

    what: str
    reorders: bool = False
    inputs: bool = False


# Plugins whose collection hooks were read, keyed by the module that defines
# the hook implementation. Their effects, where they have any, are in
# `plugin_effects` (some depend on the plugin's options at run time).
KNOWN_PLUGINS: Dict[str, Known] = {
    "pytest_randomly": Known("reorders items (by a seed, per module)", reorders=True),
    # Adds the 'hypothesis' marker only to @given tests, whose unknown
    # decorator already makes them Unknown.
    "hypothesis.extra.pytestplugin": Known("marks @given tests (unknown decorator)"),
    "_hypothesis_pytestplugin": Known("marks @given tests (unknown decorator)"),
    # Collect coroutine tests; async tests are Unknown in the model.
    "pytest_asyncio.plugin": Known("handles async tests (Unknown in the model)"),
    "anyio.pytest_plugin": Known("handles async tests (Unknown in the model)"),
    # Distributes items; workers get the controller's decision.
    "xdist.dsession": Known("distributes items"),
    "xdist.remote": Known("runs items"),
    "xdist.looponfail": Known("reruns"),
    "xdist.plugin": Known("options"),
    # Django test tags become markers only on Django test classes (classes with
    # bases: Unknown in the model); modifyitems sorts items by a key of each
    # item alone (Django's order: TestCase, TransactionTestCase, the rest).
    "pytest_django.plugin": Known("reorders items; tags of Django test classes become markers", reorders=True,
                                  inputs=True),
    # Records collected modules; marks items using the snapshot fixture
    # with 'syrupy_snapshot' (a maybe-marker of every item).
    "syrupy": Known("marks snapshot tests 'syrupy_snapshot'", inputs=True),
    # Adds 'skip' markers under --benchmark-skip / --benchmark-only.
    "pytest_benchmark.plugin": Known("adds 'skip' markers under --benchmark-skip/--benchmark-only", inputs=True),
    # Sorts items (trylast by default: after -k/-m, on the selected items);
    # parametrizes a test that carries several 'order' markers.
    "pytest_order.plugin": Known("reorders items; parametrizes tests with several 'order' marks", reorders=True),
    # Adds the freezer fixture to items marked freeze_time (fixtures are no keywords).
    "pytest_freezer": Known("adds a fixture name to freeze_time items", inputs=True),
    # Parametrizes every test from --count, and tests marked 'repeat'.
    "pytest_repeat": Known("parametrizes tests from --count and the 'repeat' marker", inputs=True),
    # Ids of lazy fixtures; expands lazy fixtures' own parametrization.
    "pytest_lazy_fixtures.plugin": Known("lazy fixtures as parameter values (ids, expanded params)", inputs=True),
    # Marks coroutine tests 'trio' (trio_mode); async tests are Unknown.
    "pytest_trio.plugin": Known("marks async tests 'trio' (Unknown in the model)", inputs=True),
    "pytest_trio.enable_trio_mode": Known("marks async tests 'trio' (Unknown in the model)", inputs=True),
    # Parametrizes tests using browser fixtures by --browser.
    "pytest_playwright.pytest_playwright": Known("parametrizes browser tests by --browser", inputs=True),
    # --picked=first: changed files' items first (a stable partition).
    "pytest_picked.plugin": Known("reorders items (--picked=first)", reorders=True),
    # Reads markers; fails the session on Python < 3.13.3 if one is
    # limit_leaked_objects (an error from an imported file only).
    "pytest_memray.plugin": Known("reads markers", inputs=True),
    # Collects coroutine test functions; async tests are Unknown.
    "pytest_tornasync.plugin": Known("collects async tests (Unknown in the model)", inputs=True),
    # A ruff item per .py file, only under --ruff (then fastcollect is off).
    "pytest_ruff": Known("a ruff item per .py file under --ruff", inputs=True),
    # --splits: selects a group among the items -k/-m left (trylast).
    "pytest_split.plugin": Known("selects a group of the items left after -k/-m (--splits)", inputs=True),
}

# Plugins whose pytest_collection_modifyitems only reorders items: learning
# may record the items around them.
REORDERING_PLUGINS = frozenset(m for m, known in KNOWN_PLUGINS.items() if known.reorders)

# Plugins whose option reads are no inputs of learned records (inputs.py).
OPTIONS_NOT_INPUTS = frozenset(m for m, known in KNOWN_PLUGINS.items() if not known.inputs)

# Plugins that, once enabled, collect items from every file (or keep their
# own record of what was collected): fastcollect imports everything.
WHOLE_SUITE_PLUGINS = {
    "pytest_mypy": "pytest-mypy collects a mypy item from every .py file",
    "pytest_doctestplus.plugin": "pytest-doctestplus collects doctests from every module",
    "testmon.pytest_testmon": "pytest-testmon selects files itself and drops tests it did not see collected "
                              "from its database",
}


@dataclass
class PluginEffects:
    """What installed plugins do to items, as the static model can take it
    (scan config keys of the same names); `static_off`: a plugin whose effect
    it cannot express (only learned items decide); `all_off`: fastcollect
    must import everything."""

    static_off: Optional[str] = None
    all_off: Optional[str] = None
    global_maybe_marks: List[str] = field(default_factory=list)
    param_marks: List[str] = field(default_factory=list)
    repeated_param_marks: List[str] = field(default_factory=list)
    id_suffixes: List[str] = field(default_factory=list)
    lazy_fixtures: bool = False
    param_fixtures: List[str] = field(default_factory=list)


# pytest-playwright parametrizes by "browser_name" every test whose fixture
# closure holds it or one of these (_BROWSER_FIXTURES in pytest_playwright).
PLAYWRIGHT_FIXTURES = ("browser_name", "page", "context", "new_context", "browser", "browser_type")


def _option(config: pytest.Config, name: str, default: Any = None) -> Any:
    return getattr(config.option, name, default)


def _known_effect(module: str, hook: str, config: pytest.Config, fx: PluginEffects) -> None:
    """Adds what one known plugin's hook does under this run's options."""
    if module == "syrupy" and hook == "pytest_collection_modifyitems":
        fx.global_maybe_marks.append("syrupy_snapshot")
    elif module == "pytest_benchmark.plugin" and hook == "pytest_collection_modifyitems":
        if _option(config, "benchmark_skip") or _option(config, "benchmark_only"):
            fx.global_maybe_marks.append("skip")
    elif module == "pytest_order.plugin":
        if hook == "pytest_generate_tests":
            fx.repeated_param_marks.append("order")
        elif hook == "pytest_collection_modifyitems" and _option(config, "indulgent_ordering"):
            # Sorts before -k/-m deselect: the order of the selected items
            # may depend on items of files that would not be imported.
            fx.all_off = fx.all_off or "pytest-order --indulgent-ordering sorts every collected item before -k/-m"
    elif module == "pytest_repeat" and hook == "pytest_generate_tests":
        fx.param_marks.append("repeat")
        count = _option(config, "count", 1)
        if not isinstance(count, int):
            fx.static_off = fx.static_off or f"pytest-repeat --count {count!r} is not an int"
        elif count > 1:
            fx.id_suffixes = [f"{i + 1}-{count}" for i in range(count)]
    elif module == "pytest_lazy_fixtures.plugin":
        fx.lazy_fixtures = True
    elif module == "pytest_playwright.pytest_playwright" and hook == "pytest_generate_tests":
        fx.param_fixtures.extend(PLAYWRIGHT_FIXTURES)
    elif module == "pytest_ruff" and hook == "pytest_collect_file":
        if _option(config, "ruff") or _option(config, "ruff_format"):
            fx.all_off = fx.all_off or "pytest-ruff --ruff collects a ruff item from every .py file"


def plugin_effects(config: pytest.Config) -> PluginEffects:
    """Every collection hook implementation that pytest, this plugin or a
    conftest (read statically) does not own: a known plugin's effect under
    the current options, or the first unknown one (static model off)."""
    fx = PluginEffects()
    read_by_core = _conftest_dirs_read(config)
    for name in COLLECTION_HOOKS:
        caller = getattr(config.pluginmanager.hook, name, None)
        if caller is None:
            continue
        for impl in caller.get_hookimpls():
            module = getattr(impl.function, "__module__", "") or ""
            if module.startswith(("_pytest.", "pytest_fastcollect")) or module in ("_pytest", "pytest"):
                continue
            if module in WHOLE_SUITE_PLUGINS:
                fx.all_off = fx.all_off or WHOLE_SUITE_PLUGINS[module]
                continue
            if module in KNOWN_PLUGINS:
                _known_effect(module, name, config, fx)
                continue
            source = getattr(getattr(impl.function, "__code__", None), "co_filename", "")
            plugin_file = getattr(impl.plugin, "__file__", None) if isinstance(impl.plugin, ModuleType) else None
            if (os.path.basename(source) == "conftest.py" and read_by_core(os.path.dirname(os.path.abspath(source)))
                    and isinstance(plugin_file, str) and os.path.abspath(plugin_file) == os.path.abspath(source)):
                continue  # the conftest's own hook: read with its scope
            fx.static_off = fx.static_off or f"plugin {impl.plugin_name!r} implements {name}"
    fx.global_maybe_marks = sorted(set(fx.global_maybe_marks))
    fx.param_marks = sorted(set(fx.param_marks))
    fx.repeated_param_marks = sorted(set(fx.repeated_param_marks))
    return fx


def _shadowing_names() -> Set[str]:
    """Top-level names of the sys.path entries Python searches before the
    standard library's own (the script's directory, PYTHONPATH, the
    `pythonpath` ini option): a module there named like a stdlib one is
    imported instead of it. (The scan adds the rootdir and the directories
    pytest's import mode puts first.)"""
    paths = sysconfig.get_paths()
    stdlib_dirs = {os.path.abspath(paths[k]) for k in ("stdlib", "platstdlib") if k in paths}
    own_zip = f"python{sys.version_info[0]}{sys.version_info[1]}.zip"
    out: Set[str] = set()
    for entry in sys.path:
        where = os.path.abspath(entry or os.curdir)
        if where in stdlib_dirs or os.path.basename(where) == own_zip:
            break
        try:
            if os.path.isdir(where):
                names = os.listdir(where)
            else:
                with zipfile.ZipFile(where) as archive:
                    names = [n.split("/", 1)[0] for n in archive.namelist()]
        except (OSError, zipfile.BadZipFile, ValueError):
            continue
        out.update(n.split(".", 1)[0] for n in names)
    return out


def stdlib_names() -> Tuple[List[str], List[str]]:
    """The standard library's top-level names no earlier sys.path entry
    shadows, and those of them already loaded from the standard library."""
    names = getattr(sys, "stdlib_module_names", None)
    if names is None:  # Python 3.9
        names = set(sys.builtin_module_names) | {
            "abc", "argparse", "ast", "asyncio", "collections", "contextlib", "copy", "dataclasses",
            "datetime", "decimal", "enum", "fractions", "functools", "glob", "importlib", "inspect",
            "io", "itertools", "json", "logging", "math", "operator", "os", "pathlib", "pickle",
            "random", "re", "shutil", "signal", "socket", "string", "subprocess", "sys", "tempfile",
            "textwrap", "threading", "time", "types", "typing", "unittest", "uuid", "warnings",
            "weakref",
        }
    loaded = loaded_stdlib(names)
    return sorted(set(names) - (_shadowing_names() - loaded)), sorted(loaded)


def patched_builtins() -> List[str]:
    """Builtin functions and types a conftest or plugin replaced in the
    builtins module (`builtins.range = ...`): the interpreter's own are C
    objects of module builtins under their own name."""
    import builtins

    out = []
    for name, value in vars(builtins).items():
        if name.startswith("_") or not callable(value):
            continue
        if isinstance(value, type):
            own = not (value.__flags__ & _HEAPTYPE)
        else:
            own = isinstance(value, BuiltinFunctionType)
        if not (own and getattr(value, "__module__", None) == "builtins" and getattr(value, "__name__", None) == name):
            out.append(name)
    return sorted(out)


def loaded_stdlib(names: Iterable[str]) -> Set[str]:
    """Standard library modules already imported from the standard library:
    an import of the name returns the loaded module whatever sys.path holds,
    so a directory of that name earlier on sys.path does not shadow it."""
    paths = sysconfig.get_paths()
    stdlib_dirs = tuple(
        os.path.join(os.path.abspath(paths[k]), "") for k in ("stdlib", "platstdlib") if k in paths
    )
    out: Set[str] = set()
    for name in names:
        module = sys.modules.get(name)
        if module is None:
            continue
        file = getattr(module, "__file__", None)
        if (file is None and name in sys.builtin_module_names) or (
            isinstance(file, str) and os.path.abspath(file).startswith(stdlib_dirs)
        ):
            out.add(name)
    return out


def _resolve_argument(config: pytest.Config, arg: str, index: int) -> Tuple[Path, Optional[str], bool]:
    """pytest's own resolution of one collection argument: its path, the module
    name it was found as under --pyargs, and whether this pytest anchors
    --pyargs paths at the package (8.1+) rather than at the confcutdir."""
    from _pytest import main as pytest_main

    resolve = pytest_main.resolve_collection_argument
    params = inspect.signature(resolve).parameters
    kwargs: Dict[str, Any] = {"as_pypath": bool(config.option.pyargs)}
    if "consider_namespace_packages" in params:
        kwargs["consider_namespace_packages"] = bool(config.getini("consider_namespace_packages"))
    if "arg_index" in params:
        kwargs["arg_index"] = index
    resolved = resolve(Path(config.invocation_params.dir), arg, **kwargs)
    if isinstance(resolved, tuple):  # pytest 8.0: (path, parts)
        return resolved[0], None, False
    return resolved.path, resolved.module_name, True


def _anchor(config: pytest.Config, path: Path, module_name: Optional[str], by_module: bool) -> Path:
    """The directory pytest collects first for an argument, as a child of the
    Session (Session.collect): its own name is no keyword of any item, the
    names of the nodes below it are."""
    in_confcutdir = config.pluginmanager._is_in_confcutdir
    if by_module and module_name is not None:
        parts = module_name.split(".")
        top = path
        for i, parent in enumerate(path.parents, 2):
            if i > len(parts) or parent.stem != parts[-i]:
                break
            top = parent
        return top
    if by_module:  # pytest >= 8.1
        top = path
        for parent in path.parents:
            if not in_confcutdir(parent):
                break
            top = parent
        return top
    chain = [*reversed(path.parents), path]  # pytest 8.0
    while len(chain) > 1 and not in_confcutdir(chain[0]):
        chain = chain[1:]
    return chain[0]


def collection_roots(config: pytest.Config) -> List[Tuple[str, str]]:
    """(path, anchor) of every collection argument as pytest resolves it: the
    path pytest collects, and the directory its node chain starts from (see
    `_anchor`). An argument pytest cannot resolve is left out (pytest fails
    on it before collecting anything)."""
    roots: List[Tuple[str, str]] = []
    args = list(config.args) or [str(config.invocation_params.dir)]
    for index, arg in enumerate(args):
        try:
            path, module_name, by_module = _resolve_argument(config, arg, index)
        except pytest.UsageError:
            continue
        roots.append((str(path), str(_anchor(config, path, module_name, by_module))))
    return roots


def doctest_globs(config: pytest.Config) -> List[str]:
    """The names pytest's doctest plugin collects text files by (none when
    it is disabled)."""
    if not config.pluginmanager.hasplugin("doctest"):
        return []
    return [str(g) for g in (getattr(config.option, "doctestglob", None) or ["test*.txt"])]


def confcutdir(config: pytest.Config) -> str:
    """The directory above which pytest loads no conftest.py ("" if none)."""
    cut = getattr(config.pluginmanager, "_confcutdir", None)
    if cut is None:
        cut = getattr(config.known_args_namespace, "confcutdir", None)
    return os.path.abspath(str(cut)) if cut else ""


def unscoped_outside_rootdir(config: pytest.Config, scan: Dict[str, Any]) -> Optional[str]:
    """pytest < 9.1 gives a conftest outside the rootdir an empty base node ID:
    once loaded, its fixtures reach every item collected after it, below the
    rootdir too (an order the model does not follow). With a collection root
    outside the rootdir there, only learned items decide."""
    if scan.get("node_scoped_conftests"):
        return None
    rootdir = os.path.join(os.path.abspath(str(config.rootpath)), "")
    for root in scan.get("roots", []):
        if not os.path.join(os.path.abspath(root), "").startswith(rootdir):
            return f"pytest < 9.1: conftests under {root} (outside the rootdir) reach every item"
    return None


def _conftest_dirs_read(config: pytest.Config) -> Callable[[str], bool]:
    """Is a conftest.py in this directory one the core reads (walk.cpp): at or
    below a collection root, or in a root's ancestors up to the confcutdir?
    Any other conftest pytest loaded is taken for a plugin."""
    cut = confcutdir(config)
    roots = []
    for root, _ in collection_roots(config):
        roots.append(root if os.path.isdir(root) else os.path.dirname(root))

    def read(directory: str) -> bool:
        if cut and cut.startswith(directory.rstrip(os.sep) + os.sep):
            return False  # above the confcutdir: pytest did not load it from a root's chain
        return any(directory == r or r.startswith(directory.rstrip(os.sep) + os.sep)
                   or directory.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

    return read


def known_module(module: str) -> bool:
    """Hook implementations that are pytest's, this plugin's, or read and known."""
    return (
        module.startswith(("_pytest.", "pytest_fastcollect"))
        or module in ("_pytest", "pytest")
        or module in KNOWN_PLUGINS
    )


def foreign_collection_hooks(config: pytest.Config) -> Optional[str]:
    """The first hook implementation that could change items in a way the
    static model cannot express (see `plugin_effects`)."""
    fx = plugin_effects(config)
    return fx.all_off or fx.static_off


def _all_fixturedefs(manager: Any) -> Iterable[Tuple[str, Any]]:
    """The fixture definitions the fixture manager holds before collection
    that every item sees: installed plugins', and conftests' that pytest
    scopes to the whole session (pytest >= 9.2: kept under the Session node;
    earlier: an empty base node ID). A conftest's fixtures scoped to its
    directory are left out: the core folds them by directory (taking them
    as global would give items of other directories ids they do not have)."""
    by_node = getattr(manager, "_arg2node2fixturedefs", None)  # pytest >= 9.2
    if by_node is not None:
        for name, per_node in by_node.items():
            for node, defs in per_node.items():
                if node is None or isinstance(node, pytest.Session):
                    for fixturedef in defs:
                        yield name, fixturedef
        return
    flat = getattr(manager, "_arg2fixturedefs", None)  # pytest 8.0 - 9.1
    if flat is None:
        raise RuntimeError("unsupported pytest fixture manager layout")
    for name, defs in flat.items():
        for fixturedef in defs:
            if getattr(fixturedef, "baseid", "") == "":
                yield name, fixturedef


def _all_autouse(manager: Any) -> List[str]:
    """Autouse names every item sees (Session node, empty base node ID)."""
    names: List[str] = []
    for attr in ("_node_autousenames", "_nodeid_autousenames"):
        mapping = getattr(manager, attr, None)
        if mapping:
            for key, values in mapping.items():
                if key is None or key == "" or isinstance(key, pytest.Session):
                    names.extend(values)
    return names


def _plain_id_value(value: Any) -> bool:
    """A parameter value whose id pytest's IdMaker computes without running
    code of the value's type: builtin scalars and containers, functions,
    classes under type/ABCMeta, plain modules, and instances whose type
    leaves attribute lookup to object (no __getattr__, __getattribute__ or
    __name__ of its own; __str__ is not read for them)."""
    tp = type(value)
    if value is None or tp in (str, bytes, int, float, bool, complex, list, tuple, dict, set, frozenset,
                               FunctionType, BuiltinFunctionType, ModuleType) or tp in _PLAIN_METACLASSES:
        return True
    import enum
    import re

    if issubclass(tp, (enum.Enum, re.Pattern, str, bytes, int, float, complex)):
        return False  # subclasses: their __str__ or pattern may be user code
    if tp.__getattribute__ is not object.__getattribute__:
        return False
    return not any(n in vars(c) for c in tp.__mro__[:-1] for n in ("__getattr__", "__name__"))


def fixture_ids(config: pytest.Config, name: str, params: Any, ids: Any) -> Optional[List[str]]:
    """The ids pytest's FixtureManager gives the items of a fixture with
    params (its own `metafunc.parametrize(name, params, ids=ids)`), computed
    by pytest's IdMaker now; None where that would run user code (an ids
    callable, a pytest_make_parametrize_id implementation, a value of
    another type) or give no plain id (marks, hidden ids)."""
    from _pytest.mark.structures import ParameterSet
    from _pytest.python import IdMaker

    if params is None or callable(ids):
        return None
    if config.pluginmanager.hook.pytest_make_parametrize_id.get_hookimpls():
        return None
    sets = [ParameterSet.extract_from(p, force_tuple=True) for p in params]
    if not sets or any(s.marks or len(s.values) != 1 or not _plain_id_value(s.values[0]) for s in sets):
        return None
    if ids is not None:
        ids = list(ids)
        if len(ids) not in (0, len(sets)) or any(i is not None and type(i) not in (str, int, float, bool) for i in ids):
            return None
    fields = getattr(IdMaker, "__dataclass_fields__", {})
    kwargs: Dict[str, Any] = {"argnames": (name,), "parametersets": sets, "idfn": None, "ids": ids or None,
                              "config": config, "nodeid": None}
    if "func_name" in fields:
        kwargs["func_name"] = None
    made = IdMaker(**kwargs).make_unique_parameterset_ids()
    if not all(type(i) is str for i in made):
        return None
    return list(made)


def plugin_fixtures(config: pytest.Config) -> Tuple[List[FixtureRow], List[str]]:
    """Fixtures known before collection (FixtureRow) and autouse names, all
    taken as global."""
    from _pytest.mark.structures import ParameterSet
    manager = config.pluginmanager.get_plugin("funcmanage")
    if manager is None:
        raise RuntimeError("pytest's fixture manager is not available")
    out: List[FixtureRow] = []
    for name, fixturedef in _all_fixturedefs(manager):
        params = fixturedef.params
        marks = params is not None and any(issubclass(type(p), ParameterSet) and p.marks for p in params)
        out.append((name, params is not None, marks, list(fixturedef.argnames),
                    _safe_ids(config, name, params, fixturedef.ids)))
    return out, _all_autouse(manager)


def _safe_ids(config: pytest.Config, name: str, params: Any, ids: Any) -> Optional[List[str]]:
    try:
        return fixture_ids(config, name, params, ids)
    except Exception:  # noqa: BLE001 - unknown ids, never a broken run
        return None


# Meta-path finders that find nothing on their own or find through the path
# finder (pytest's assertion rewriter): resolution of imports may follow sys.path.
_PATH_FINDERS = (
    "BuiltinImporter",
    "FrozenImporter",
    "PathFinder",
    "AssertionRewritingHook",
    "DistutilsMetaFinder",
)


def type_checking_set() -> bool:
    """Has something (a conftest) set typing.TYPE_CHECKING? Then `if
    TYPE_CHECKING:` blocks run like any other code."""
    typing_module = sys.modules.get("typing")
    return bool(getattr(typing_module, "TYPE_CHECKING", False))


def import_state() -> List[Any]:
    """What resolution of imported names assumed about the import system:
    sys.path, the meta-path finders and path hooks (by type), and
    typing.TYPE_CHECKING. A skip that resolution decided holds only while
    these are the same (a conftest collected later may change them)."""
    return [
        list(sys.path),
        [type(f).__name__ if not isinstance(f, type) else f.__name__ for f in sys.meta_path],
        [getattr(h, "__qualname__", type(h).__name__) for h in sys.path_hooks],
        type_checking_set(),
    ]


def same_import_state(before: Optional[List[Any]], basedirs: Iterable[str]) -> bool:
    """Is the import system as `before` (import_state) had it, apart from
    basedirs that pytest's import mode added to sys.path (resolution
    expected those)?"""
    if before is None:
        return False
    now = import_state()
    if now[1:] != before[1:]:
        return False
    if now[0] == before[0]:
        return True
    expected = set(basedirs)  # pytest puts them on sys.path, again in front

    def searched(path: List[str]) -> List[str]:
        # A repeated entry finds nothing its first occurrence did not (an
        # xdist worker has the working directory twice).
        return [p for p in dict.fromkeys(path) if p not in expected]

    return searched(now[0]) == searched(before[0])


def resolve_environment(stdlib: Iterable[str]) -> Dict[str, Any]:
    """Where the core looks up imported names: sys.path as (entry, is a
    directory), the non-stdlib modules already in sys.modules (file, is a
    package, __path__), and a reason when an import hook pytest does not
    control comes before the path finder (then nothing resolves)."""
    unknown = ""
    for finder in sys.meta_path:
        name = getattr(finder, "__name__", None) or type(finder).__name__
        if name == "PathFinder":
            break
        if name not in _PATH_FINDERS:
            unknown = f"import hook {name} comes before the path finder"
            break
    if sys.path_hooks and any(
        getattr(h, "__name__", "") not in ("zipimporter", "path_hook_for_FileFinder") for h in sys.path_hooks
    ):
        unknown = unknown or "a custom sys.path_hooks entry"
    search: List[Tuple[str, bool]] = []
    for entry in sys.path:
        path = os.path.abspath(entry or os.getcwd())
        if os.path.isdir(path):
            search.append((path, True))
        elif os.path.exists(path):
            search.append((path, False))
    skip = set(stdlib) | {"pytest", "_pytest", "pytest_fastcollect", "__main__"}
    loaded: Dict[str, Tuple[str, bool, List[str]]] = {}
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in skip or not issubclass(type(module), ModuleType):
            continue
        file = peek.module_attr(module, "__file__")  # (no lazy module loads, no PEP 562 __getattr__ runs)
        path = peek.module_attr(module, "__path__")
        spec = peek.module_attr(module, "__spec__")
        origin = getattr(spec, "origin", None) if spec is not None else None
        if file is not None and (not isinstance(file, str) or origin != file):
            continue  # replaced or unusual modules are looked up on disk
        try:
            paths = [os.path.abspath(p) for p in path] if path is not None else []
        except TypeError:
            continue
        loaded[name] = (os.path.abspath(file) if file else "", path is not None, paths)
    live = LiveObjects(loaded)
    return {"search": search, "loaded": loaded, "unknown": unknown, "live": live, "live_id": live.value_id}


_PLAIN_METACLASSES = (type, abc.ABCMeta)


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement or type()


def _builtin_static_type(c: type) -> bool:
    """int, str, tuple, dict...: defined in C by the interpreter, not by a class
    statement, so their attribute slots run no user code."""
    return getattr(c, "__module__", None) == "builtins" and not (c.__flags__ & _HEAPTYPE)


class LiveObjects:
    """What the running objects answer for definitions the source cannot tell
    apart (a def under a decorator the core cannot read, a class with bases),
    asked by the core for one name of one loaded module file at a time: the
    other files its value depends on (where its code, or every class its type
    or itself derives from, is defined) when the value is surely no fixture -
    pytest's own test, `type(obj) is FixtureFunctionDefinition` - and no
    unittest.TestCase subclass; None otherwise. Nothing is imported and no
    attribute of a value is read beyond its type, its code object and a
    class's bases (pytest < 8.4, whose fixture test reads an attribute of the
    value, gets no answers)."""

    def __init__(self, loaded: Dict[str, Tuple[str, bool, List[str]]]) -> None:
        self.module_of = {file: name for name, (file, _, _) in loaded.items() if file.endswith(".py")}
        self.files = {name: file for name, (file, _, _) in loaded.items() if file}
        self.class_files: Dict[type, frozenset] = {}
        try:
            from _pytest.fixtures import FixtureFunctionDefinition
        except ImportError:  # pytest < 8.4
            self.fixture_type: Optional[type] = None
        else:
            self.fixture_type = FixtureFunctionDefinition

    def _files_of_class(self, c: type) -> frozenset:
        known = self.class_files.get(c)
        if known is None:
            own = self.files.get(getattr(c, "__module__", ""))
            known = frozenset([own] if own else []).union(*(self._files_of_class(b) for b in c.__bases__))
            self.class_files[c] = known
        return known

    def __call__(self, file: str, attr: str) -> Optional[List[str]]:
        import unittest

        name = self.module_of.get(file)
        module = sys.modules.get(name) if name else None
        if self.fixture_type is None or not isinstance(module, ModuleType):
            return None
        try:
            value = vars(module)[attr]
        except (KeyError, TypeError):
            return None
        tp = type(value)
        if tp is self.fixture_type:
            return None
        try:
            if tp is FunctionType:
                # pytest collects a function whose __test__ is True under any name.
                if "__test__" in value.__dict__:
                    return None
                return [f for f in [os.path.abspath(value.__code__.co_filename)] if f != file]
            if issubclass(tp, ModuleType):
                return []  # a module is never a fixture
            if issubclass(tp, type):
                # Collected under any name: a TestCase, a class with __test__
                # (on it or a base); a metaclass may answer attribute lookups.
                if tp not in _PLAIN_METACLASSES or issubclass(value, unittest.TestCase):
                    return None
                if any("__test__" in vars(c) for c in value.__mro__):
                    return None
                return sorted(self._files_of_class(value) - {file})
            # An instance: callable with __test__ it would be collected as a function.
            # (Builtin types list their C slots, `int.__getattribute__`: no user code.)
            if any(n in vars(c) for c in tp.__mro__[:-1] if not _builtin_static_type(c)
                   for n in ("__test__", "__getattr__", "__getattribute__")):
                return None
            if "__test__" in getattr(value, "__dict__", {}):
                return None
            return sorted(self._files_of_class(tp) - {file})
        except Exception:
            return None

    def value_id(self, file: str, attrs: List[str]) -> Optional[Tuple[str, str, List[str]]]:
        """The id pytest's IdMaker gives a parameter value written as a name:
        `attrs` read from the loaded module at `file`, each step through a
        plain module's namespace. ("id", text, deps) for a value whose id is
        its own (a str, int, float, bool or None; the __name__ of a function,
        class or module), ("fallback", "", deps) for one that takes
        argname+index (a list, tuple, dict or set), None when not known. Only
        types whose id reads no user code answer; nothing is imported."""
        name = self.module_of.get(file)
        value: Any = sys.modules.get(name) if name else None
        deps = set()
        try:
            for attr in attrs:
                if type(value) is not ModuleType:
                    return None
                own = self.files.get(vars(value).get("__name__", ""))
                if own:
                    deps.add(own)
                value = vars(value)[attr]
            tp = type(value)
            text: Optional[str] = None
            if tp is str:
                if all(" " <= ch <= "~" for ch in value) and "\\" not in value:
                    text = value
            elif value is None or tp in (bool, int, float):
                text = str(value)
            elif tp in (FunctionType, BuiltinFunctionType):
                text = value.__name__
                code = getattr(value, "__code__", None)
                if code is not None:
                    deps.add(os.path.abspath(code.co_filename))
            elif tp in _PLAIN_METACLASSES:
                text = value.__name__
                deps.update(self._files_of_class(value))
            elif tp is ModuleType:
                text = vars(value).get("__name__")
                own = self.files.get(text or "")
                if own:
                    deps.add(own)
            elif tp in (list, tuple, dict, set, frozenset):
                return ("fallback", "", sorted(d for d in deps if d != file))
            if not isinstance(text, str):
                return None
            return ("id", text, sorted(d for d in deps if d != file and os.path.isfile(d)))
        except Exception:
            return None


def _pytest_collection_intact() -> bool:
    """Are pytest's own collection classes as pytest defines them (no
    conftest replaced or patched one at import)? The model follows them."""
    import _pytest.python as python

    owned = [python.Module.collect, python.Class.collect, python.PyCollector.collect, python.Package.collect,
             python.Function.__init__, python.Metafunc.parametrize, python.IdMaker.make_unique_parameterset_ids,
             python.PyCollector._genfunctions, python.pytest_pycollect_makeitem]
    return all(getattr(f, "__module__", "") == "_pytest.python" for f in owned) and all(
        getattr(python, name) is getattr(pytest, name) for name in ("Module", "Class", "Function", "Package"))


def _module_fixtures(config: pytest.Config, module: ModuleType) -> Optional[Tuple[List[FixtureRow], List[str]]]:
    """The fixtures pytest's parsefactories finds in a loaded conftest, read
    the way it reads them (objects whose type is FixtureFunctionDefinition),
    and its autouse names; None when that cannot be done without running
    code of the module (a module __getattr__ or __dir__, pytest < 8.4)."""
    from _pytest.compat import getfuncargnames
    from _pytest.mark.structures import ParameterSet

    try:
        from _pytest.fixtures import FixtureFunctionDefinition
    except ImportError:  # pytest < 8.4
        return None
    namespace = vars(module)
    if "__getattr__" in namespace or "__dir__" in namespace:
        return None
    rows: List[FixtureRow] = []
    autouse: List[str] = []
    for attr, value in list(namespace.items()):
        if type(value) is not FixtureFunctionDefinition:
            continue
        marker = value._fixture_function_marker
        name = marker.name or attr
        params = marker.params
        marks = params is not None and any(isinstance(p, ParameterSet) and p.marks for p in params)
        deps = list(getfuncargnames(value._get_wrapped_function(), name=name))
        rows.append((name, params is not None, marks, deps, _safe_ids(config, name, params, marker.ids)))
        if marker.autouse:
            autouse.append(name)
    return rows, autouse


LiveConftests = Tuple[Dict[str, List[str]], Dict[str, List[FixtureRow]], Dict[str, List[str]]]


def live_conftests(config: pytest.Config) -> LiveConftests:
    """The conftests pytest has loaded (their module-level code has run):
    path -> the hooks pytest registered from each, path -> its fixtures, and
    path -> its autouse names, as pytest will parse them (the core applies
    them in the conftest's directory). A conftest whose fixtures cannot be
    read so is left out (the core reads it from source); all are, when
    pytest's collection classes were replaced."""
    empty: LiveConftests = ({}, {}, {})
    try:
        if not _pytest_collection_intact():
            return empty
    except AttributeError:  # another pytest layout: read from source
        return empty
    pm = config.pluginmanager
    hooks: Dict[str, List[str]] = {}
    fixtures: Dict[str, List[FixtureRow]] = {}
    autouse: Dict[str, List[str]] = {}
    for plugin in pm.get_plugins():
        file = getattr(plugin, "__file__", None) if isinstance(plugin, ModuleType) else None
        if not isinstance(file, str) or os.path.basename(file) != "conftest.py":
            continue
        try:
            found = _module_fixtures(config, plugin)
        except Exception:  # noqa: BLE001 - read from source instead
            found = None
        if found is None:
            continue
        callers = pm.get_hookcallers(plugin) or []
        renamed = [impl for caller in callers for impl in caller.get_hookimpls()
                   if impl.plugin is plugin and getattr(impl.function, "__name__", None) != caller.name]
        if renamed:
            continue  # a hookimpl under another name (specname=): hooks.py reads hooks by name
        path = os.path.abspath(file)
        hooks[path] = sorted({caller.name for caller in callers})
        fixtures[path], autouse[path] = found
    return hooks, fixtures, autouse


def conftest_scoping(config: pytest.Config, anchors: List[str]) -> Tuple[bool, List[str]]:
    """Does this pytest scope a conftest's fixtures to its Directory node
    (9.1+: FixtureManager._pending_conftests), and which conftests does it
    scope to the whole session: those pending when the FixtureManager started
    that sit outside the rootdir or in it (flushed then), and the rootdir's
    when pytest will collect the rootdir as a Directory (below an anchor)."""
    manager = config.pluginmanager.get_plugin("funcmanage")
    pending = getattr(manager, "_pending_conftests", None)
    if manager is None or not isinstance(pending, dict) \
            or not hasattr(manager, "_flush_pending_conftests_to_session"):
        return False, []
    rootdir = os.path.abspath(str(config.rootpath))
    pending_dirs = {os.path.abspath(str(d)) for d in pending}
    session: Set[str] = set()
    for plugin in config.pluginmanager.get_plugins():
        file = getattr(plugin, "__file__", None) if isinstance(plugin, ModuleType) else None
        if not isinstance(file, str) or os.path.basename(file) != "conftest.py":
            continue
        directory = os.path.dirname(os.path.abspath(file))
        outside = directory != rootdir and not directory.startswith(rootdir + os.sep)
        if (outside or directory == rootdir) and directory not in pending_dirs:
            session.add(os.path.join(directory, "conftest.py"))
    root_conftest = os.path.join(rootdir, "conftest.py")
    if os.path.isfile(root_conftest) and any(rootdir == a or rootdir.startswith(a.rstrip(os.sep) + os.sep)
                                             for a in anchors):
        session.add(root_conftest)
    return True, sorted(session)


def _ini_list(config: pytest.Config, name: str) -> List[str]:
    value = config.getini(name)
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value).split()


def module_has(module: str, attr: str) -> bool:
    """Does the loaded module `module` hold `attr` in its namespace now, so
    that `from module import attr` reads it there and imports nothing (asked
    by the core for a from-import added to a file learned records keep:
    src/bindings.h)? Only a plain module object: a module subclass may
    compute its attributes."""
    found = sys.modules.get(module)
    return type(found) is ModuleType and attr in vars(found)


def scan_config(config: pytest.Config, index_dir: Optional[str],
                effects: Optional[PluginEffects] = None) -> Dict[str, Any]:
    fx = plugin_effects(config) if effects is None else effects
    fixtures, autouse = plugin_fixtures(config)
    live, live_fixtures, live_autouse = live_conftests(config)
    if fx.param_fixtures:  # a plugin parametrizes tests that reach these
        fixtures.extend((name, True, False, [], None) for name in fx.param_fixtures)
    keyword = config.option.keyword.lstrip() if config.option.keyword else ""
    markexpr = config.option.markexpr or ""
    roots = collection_roots(config)
    node_scoped, session_conftests = conftest_scoping(config, [a for _, a in roots])
    stdlib, stdlib_loaded = stdlib_names()
    return {
        "rootdir": str(config.rootpath),
        "confcutdir": confcutdir(config),
        "noconftest": bool(getattr(config.option, "noconftest", False)),
        "roots": [root for root, _ in roots],
        "anchors": [anchor for _, anchor in roots],
        "python_files": _ini_list(config, "python_files"),
        "python_classes": _ini_list(config, "python_classes"),
        "python_functions": _ini_list(config, "python_functions"),
        "norecursedirs": _ini_list(config, "norecursedirs"),
        "other_files": doctest_globs(config),
        "stdlib": stdlib,
        "stdlib_loaded": stdlib_loaded,
        "resolve": resolve_environment(stdlib),
        "module_has": module_has,
        "import_state": import_state(),  # taken with it (the core ignores it)
        "type_checking_set": type_checking_set(),
        "index_dir": index_dir or "",
        "keyword": keyword or None,
        "markexpr": markexpr or None,
        "plugin_fixtures": fixtures,
        "global_autouse": autouse,
        "global_maybe_marks": fx.global_maybe_marks,
        "param_marks": fx.param_marks,
        "repeated_param_marks": fx.repeated_param_marks,
        "id_suffixes": fx.id_suffixes,
        "lazy_fixtures": fx.lazy_fixtures,
        "patched_builtins": patched_builtins(),
        "static_unknown": fx.static_off or "",
        "live_conftests": live,
        "live_fixtures": live_fixtures,
        "live_autouse": live_autouse,
        "node_scoped_conftests": node_scoped,
        "session_conftests": session_conftests,
    }
