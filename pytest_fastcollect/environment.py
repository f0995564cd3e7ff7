"""What the running pytest tells us that source files cannot: collection roots,
name patterns, plugin fixtures, and plugins whose hooks could change items."""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any, Dict, Iterable, List, Optional, Tuple

import pytest

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

# Plugins whose collection hooks were read and found not to add items, names,
# keywords or markers beyond what the model treats as Unknown anyway. Keyed by
# the module that defines the hook implementation.
KNOWN_PLUGINS = {
    # Reorders items only.
    "pytest_randomly": "reorders items",
    # Adds the 'hypothesis' marker only to @given tests, whose unknown
    # decorator already makes them Unknown.
    "hypothesis.extra.pytestplugin": "marks @given tests (unknown decorator)",
    "_hypothesis_pytestplugin": "marks @given tests (unknown decorator)",
    # Collect coroutine tests; async tests are Unknown in the model.
    "pytest_asyncio.plugin": "handles async tests (Unknown in the model)",
    "anyio.pytest_plugin": "handles async tests (Unknown in the model)",
    # Distributes items; workers get the controller's decision.
    "xdist.dsession": "distributes items",
    "xdist.remote": "runs items",
    "xdist.looponfail": "reruns",
    "xdist.plugin": "options",
}

# Plugins whose pytest_collection_modifyitems only reorders items: learning
# may record the items around them.
REORDERING_PLUGINS = frozenset(m for m, what in KNOWN_PLUGINS.items() if what == "reorders items")


def stdlib_names() -> List[str]:
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
    return sorted(names)


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


def conftests_above_rootdir(config: pytest.Config) -> Optional[str]:
    """A conftest.py pytest loads from above the rootdir (a --confcutdir above
    it): the core folds conftests from the rootdir down only."""
    rootpath = Path(config.rootpath)
    for parent in rootpath.parents:
        if not config.pluginmanager._is_in_confcutdir(parent):
            break
        if (parent / "conftest.py").is_file():
            return f"conftest.py above rootdir ({parent})"
    return None


def known_module(module: str) -> bool:
    """Hook implementations that are pytest's, this plugin's, or read and known."""
    return (
        module.startswith(("_pytest.", "pytest_fastcollect"))
        or module in ("_pytest", "pytest")
        or module in KNOWN_PLUGINS
    )


def foreign_collection_hooks(config: pytest.Config) -> Optional[str]:
    """The first hook implementation that could change items and that neither
    pytest, this plugin, a known plugin nor a conftest (read statically) owns."""
    rootpath = str(config.rootpath)
    for name in COLLECTION_HOOKS:
        caller = getattr(config.pluginmanager.hook, name, None)
        if caller is None:
            continue
        for impl in caller.get_hookimpls():
            if known_module(getattr(impl.function, "__module__", "") or ""):
                continue
            source = getattr(getattr(impl.function, "__code__", None), "co_filename", "")
            if os.path.basename(source) == "conftest.py" and source.startswith(rootpath + os.sep):
                continue  # read statically with its scope
            return f"plugin {impl.plugin_name!r} implements {name}"
    return None


def _all_fixturedefs(manager: Any) -> Iterable[Tuple[str, Any]]:
    """Every fixture definition the fixture manager holds before collection:
    installed plugins and the conftests pytest loaded at start-up. Their
    scope is ignored: each is taken to apply everywhere (a safe superset)."""
    by_node = getattr(manager, "_arg2node2fixturedefs", None)  # pytest >= 9.2
    if by_node is not None:
        for name, per_node in by_node.items():
            for defs in per_node.values():
                for fixturedef in defs:
                    yield name, fixturedef
        return
    flat = getattr(manager, "_arg2fixturedefs", None)  # pytest 8.0 - 9.1
    if flat is None:
        raise RuntimeError("unsupported pytest fixture manager layout")
    for name, defs in flat.items():
        for fixturedef in defs:
            yield name, fixturedef


def _all_autouse(manager: Any) -> List[str]:
    names: List[str] = []
    for attr in ("_node_autousenames", "_nodeid_autousenames"):
        mapping = getattr(manager, attr, None)
        if mapping:
            for values in mapping.values():
                names.extend(values)
    return names


def plugin_fixtures(config: pytest.Config) -> Tuple[List[Tuple[str, bool, bool, List[str]]], List[str]]:
    """Fixtures known before collection (name, has params, params may carry
    marks, requested names) and autouse names, all taken as global."""
    manager = config.pluginmanager.get_plugin("funcmanage")
    if manager is None:
        raise RuntimeError("pytest's fixture manager is not available")
    out: List[Tuple[str, bool, bool, List[str]]] = []
    for name, fixturedef in _all_fixturedefs(manager):
        params = fixturedef.params
        marks = params is not None and any(getattr(p, "marks", None) for p in params)
        out.append((name, params is not None, marks, list(fixturedef.argnames)))
    return out, _all_autouse(manager)


# Meta-path finders that find nothing on their own or find through the path
# finder (pytest's assertion rewriter): resolution of imports may follow sys.path.
_PATH_FINDERS = (
    "BuiltinImporter",
    "FrozenImporter",
    "PathFinder",
    "AssertionRewritingHook",
    "DistutilsMetaFinder",
)


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
        if name.partition(".")[0] in skip or not isinstance(module, ModuleType):
            continue
        file = getattr(module, "__file__", None)
        path = getattr(module, "__path__", None)
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None) if spec is not None else None
        if file is not None and (not isinstance(file, str) or origin != file):
            continue  # replaced or unusual modules are looked up on disk
        try:
            paths = [os.path.abspath(p) for p in path] if path is not None else []
        except TypeError:
            continue
        loaded[name] = (os.path.abspath(file) if file else "", path is not None, paths)
    return {"search": search, "loaded": loaded, "unknown": unknown, "live": LiveObjects(loaded)}


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
                return [f for f in [os.path.abspath(value.__code__.co_filename)] if f != file]
            if issubclass(tp, ModuleType):
                return []  # a module is never a fixture
            if issubclass(tp, type):
                if issubclass(value, unittest.TestCase):
                    return None
                return sorted(self._files_of_class(value) - {file})
            return sorted(self._files_of_class(tp) - {file})
        except Exception:
            return None


def _ini_list(config: pytest.Config, name: str) -> List[str]:
    value = config.getini(name)
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value).split()


def scan_config(config: pytest.Config, index_dir: Optional[str]) -> Dict[str, Any]:
    fixtures, autouse = plugin_fixtures(config)
    keyword = config.option.keyword.lstrip() if config.option.keyword else ""
    markexpr = config.option.markexpr or ""
    roots = collection_roots(config)
    stdlib = stdlib_names()
    return {
        "rootdir": str(config.rootpath),
        "roots": [root for root, _ in roots],
        "anchors": [anchor for _, anchor in roots],
        "python_files": _ini_list(config, "python_files"),
        "python_classes": _ini_list(config, "python_classes"),
        "python_functions": _ini_list(config, "python_functions"),
        "norecursedirs": _ini_list(config, "norecursedirs"),
        "stdlib": stdlib,
        "resolve": resolve_environment(stdlib),
        "index_dir": index_dir or "",
        "keyword": keyword or None,
        "markexpr": markexpr or None,
        "plugin_fixtures": fixtures,
        "global_autouse": autouse,
    }
