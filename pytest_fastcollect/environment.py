"""What the running pytest tells us that source files cannot: collection roots,
name patterns, plugin fixtures, and plugins whose hooks could change items."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
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


def collection_roots(config: pytest.Config) -> List[str]:
    """Absolute paths pytest will collect from, as pytest spells them."""
    roots: List[str] = []
    invocation = Path(config.invocation_params.dir)
    args = list(config.args) or [str(invocation)]
    for arg in args:
        part = arg.split("::", 1)[0]
        path = Path(os.path.abspath(os.path.join(invocation, part)))
        if path.exists():
            roots.append(str(path))
        elif config.option.pyargs:
            try:
                spec = importlib.util.find_spec(part)
            except (ImportError, ValueError):
                spec = None
            if spec is not None:
                if spec.submodule_search_locations:
                    roots.extend(os.path.abspath(p) for p in spec.submodule_search_locations)
                elif spec.origin:
                    roots.append(os.path.abspath(spec.origin))
    return roots


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


def _ini_list(config: pytest.Config, name: str) -> List[str]:
    value = config.getini(name)
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value).split()


def scan_config(config: pytest.Config, index_dir: Optional[str]) -> Dict[str, Any]:
    fixtures, autouse = plugin_fixtures(config)
    keyword = config.option.keyword.lstrip() if config.option.keyword else ""
    markexpr = config.option.markexpr or ""
    return {
        "rootdir": str(config.rootpath),
        "roots": collection_roots(config),
        "python_files": _ini_list(config, "python_files"),
        "python_classes": _ini_list(config, "python_classes"),
        "python_functions": _ini_list(config, "python_functions"),
        "norecursedirs": _ini_list(config, "norecursedirs"),
        "stdlib": stdlib_names(),
        "index_dir": index_dir or "",
        "keyword": keyword or None,
        "markexpr": markexpr or None,
        "plugin_fixtures": fixtures,
        "global_autouse": autouse,
    }
