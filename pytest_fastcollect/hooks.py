"""Hooks whose effect on one item may depend on the other items.

Learned records hold what pytest built for a module in one session. A hook
that acts per item (marks an item from its own data, drops it on its own
data) gives each item the same result whichever other files were collected,
so learned decisions stay exact under it. A hook that looks across items -
`len(items)`, slicing, `enumerate(items)`, "the first N", state carried from
one item to the next, `items` handed to another function - gives a result
that depends on which files were imported: while such a hook can act,
learned items neither decide nor get recorded.

The summary reads the hook's source with `ast`, by an allow-list of shapes
known to act per item; anything else is taken to cross items. Conditions on
option values, `config` attributes and environment variables around that
code (`if not config.getoption("--split"): return`, `if config.backend:`)
are evaluated against the live session: code that cannot run now does not
count.
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import pytest

# Global hooks that see more than one item (or are called once per item,
# where state kept between calls links items).
CROSS_ITEM_HOOKS = (
    "pytest_collection_modifyitems",
    "pytest_itemcollected",
    "pytest_generate_tests",
    "pytest_collection",
    # Sees the items -k/-m selected (the same with or without skipped files),
    # but may add to session.items: read like code after deselection.
    "pytest_collection_finish",
)

_REORDER = {"sort", "reverse"}
_MUTATORS = {"append", "add", "extend", "update", "insert", "setdefault", "pop", "popitem", "remove",
             "discard", "clear", "appendleft", "extendleft", "__setitem__"}


@dataclass(frozen=True)
class Condition:
    """Code runs only when a value read from the configuration or the
    environment is `when` ("truthy", "falsy", "none", "not-none")."""

    kind: str  # "option" (config.getoption, config.option.x), "attr" (config.x), "env"
    name: str
    when: str


@dataclass
class Summary:
    # Each way the hook may act across items, with the conditions under which
    # that code runs (empty: always). No entries: the hook acts per item.
    crossings: List[Tuple[str, Tuple[Condition, ...]]] = field(default_factory=list)


_CONFIG_API = {"option", "hook", "pluginmanager", "stash", "rootpath", "inipath", "invocation_params", "args",
               "known_args_namespace", "inicfg", "cache", "getoption", "getvalue", "getini", "issue_config_time_warning",
               "addinivalue_line", "get_terminal_writer", "workerinput", "rootdir", "inifile"}


def _getoption_name(node: ast.AST, config_names: Set[str]) -> Optional[Tuple[str, str]]:
    """('option', dest-or-flag) for config.getoption("x") / config.option.x;
    ('attr', name) for config.name (set by a pytest_configure hook);
    ('env', NAME) for os.environ.get / os.getenv."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        arg = node.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return None
        owner = node.func.value
        if node.func.attr in ("getoption", "getvalue") and _is_config(owner, config_names):
            return ("option", arg.value)
        if node.func.attr == "get" and _dotted(owner) in ("os.environ", "environ"):
            return ("env", arg.value)
        if node.func.attr == "getenv" and _dotted(owner) == "os":
            return ("env", arg.value)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
        if node.value.attr == "option" and _is_config(node.value.value, config_names):
            return ("option", node.attr)
    if isinstance(node, ast.Attribute) and _dotted(node.value) in config_names and node.attr not in _CONFIG_API \
            and not node.attr.startswith("_"):
        return ("attr", node.attr)
    return None


def _dotted(node: ast.AST) -> str:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _root_name(node: ast.AST) -> str:
    """The name an attribute/subscript chain starts from (`item.keywords["x"]` -> "item")."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _is_config(node: ast.AST, config_names: Set[str]) -> bool:
    d = _dotted(node)
    return d in config_names or d.endswith(".config")


def _condition(test: ast.AST, config_names: Set[str],
               aliases: Dict[str, Tuple[str, str]]) -> Optional[Tuple[Condition, Condition]]:
    """For `if test:`, the conditions under which the body and the else
    branch run; None when the test is not a recognised value check."""

    def source(node: ast.AST) -> Optional[Tuple[str, str]]:
        if isinstance(node, ast.Name) and node.id in aliases:
            return aliases[node.id]
        return _getoption_name(node, config_names)

    def pair(src: Optional[Tuple[str, str]], body: str, other: str) -> Optional[Tuple[Condition, Condition]]:
        return (Condition(src[0], src[1], body), Condition(src[0], src[1], other)) if src else None

    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return pair(source(test.operand), "falsy", "truthy")
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.comparators[0], ast.Constant) \
            and test.comparators[0].value is None:
        if isinstance(test.ops[0], (ast.Is, ast.Eq)):
            return pair(source(test.left), "none", "not-none")
        if isinstance(test.ops[0], (ast.IsNot, ast.NotEq)):
            return pair(source(test.left), "not-none", "none")
        return None
    return pair(source(test), "truthy", "falsy")


def _returns(body: List[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise))


def _conditions_of(func: ast.AST, config_names: Set[str],
                   aliases: Dict[str, Tuple[str, str]]) -> Dict[int, Tuple[Condition, ...]]:
    """For every node of the function, the recognised conditions under which it runs."""
    out: Dict[int, Tuple[Condition, ...]] = {}

    def visit(node: ast.AST, conds: Tuple[Condition, ...]) -> None:
        out[id(node)] = conds
        for name, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                block(value, conds)
            elif isinstance(value, list):
                for v in value:
                    if isinstance(v, ast.AST):
                        visit(v, conds)
            elif isinstance(value, ast.AST):
                visit(value, conds)

    def block(stmts: List[ast.stmt], conds: Tuple[Condition, ...]) -> None:
        for stmt in stmts:
            if isinstance(stmt, ast.If):
                c = _condition(stmt.test, config_names, aliases)
                out[id(stmt)] = conds
                visit(stmt.test, conds)
                block(stmt.body, conds + (c[0],) if c else conds)
                block(stmt.orelse, conds + (c[1],) if c else conds)
                # `if test: return`: what follows runs only when the test failed.
                if c and _returns(stmt.body) and not stmt.orelse:
                    conds = conds + (c[1],)
            else:
                visit(stmt, conds)

    block(getattr(func, "body", []), ())
    return out


def _loop_targets(target: ast.AST) -> Set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


class _Reader:
    """Walks one hook function and lists its crossings (none: every shape is known per item)."""

    def __init__(self, func: ast.FunctionDef, hook: str, conds: Dict[int, Tuple[Condition, ...]],
                 items_name: str = "items", module: Optional[Dict[str, ast.AST]] = None, depth: int = 0,
                 module_changed: Optional[Set[str]] = None) -> None:
        self.func = func
        self.hook = hook
        self.conds = conds
        self.module_changed = module_changed or set()  # module-level names some function of the module changes
        self.module = module or {}
        self.depth = depth
        self.crossings: List[Tuple[str, Tuple[Condition, ...]]] = []
        args = [a.arg for a in func.args.args + func.args.kwonlyargs]
        self.items = items_name if items_name in args else None
        self.session = "session" if "session" in args else None
        self.local: Set[str] = set(args)
        for node in ast.walk(func):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.local.add(node.id)
        self.item_loops: List[ast.AST] = []  # for statements and comprehensions over items
        self.collectors: Set[str] = set()

    def fail(self, why: str, node: Optional[ast.AST] = None) -> None:
        self.crossings.append((why, self.conds.get(id(node), ()) if node is not None else ()))

    def run(self) -> List[Tuple[str, Tuple[Condition, ...]]]:
        # State that outlives one call (globals, module-level objects, config
        # attributes) links items only where it decides an effect on an item.
        outliving: Dict[str, ast.AST] = {}
        for node in ast.walk(self.func):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                for name in node.names:
                    outliving.setdefault(name, node)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.module_changed \
                    and node.id not in self.local:
                outliving.setdefault(node.id, node)  # filled by another hook (pytest_collectreport, ...)
            if isinstance(node, (ast.Yield, ast.YieldFrom)) and self.hook != "pytest_collection_modifyitems":
                self.fail("wraps the hook", node)
            if isinstance(node, ast.Attribute) and node.attr == "items" and self.session \
                    and _dotted(node.value) == self.session:
                self.fail("reads session.items", node)
            if isinstance(node, (ast.For, ast.comprehension)) and self._is_items(node.iter):
                self.item_loops.append(node)
            self._state_between_calls(node, outliving)
        if self.hook == "pytest_collection":
            self.fail("wraps the whole collection")
        if outliving:
            self._state_read_by_effects(outliving)
        if self.items:
            self._collectors()
            self._uses_of_items()
            for loop in self.item_loops:
                if isinstance(loop, ast.For):
                    self._loop_body(loop)
        return self.crossings

    def _is_items(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id == self.items

    def _state_between_calls(self, node: ast.AST, outliving: Dict[str, ast.AST]) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id not in self.local:
                outliving.setdefault(owner.id, node)
            elif isinstance(owner, ast.Attribute) and _dotted(owner).split(".")[0] in ("config", "session"):
                outliving.setdefault(_dotted(owner), node)
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                root = _dotted(t.value) if isinstance(t, ast.Subscript) else _dotted(t) if isinstance(t, ast.Attribute) else ""
                if root and root.split(".")[0] in ("config", "session"):
                    outliving.setdefault(root, node)
                elif root and isinstance(t, ast.Subscript) and root.split(".")[0] not in self.local:
                    outliving.setdefault(root, node)

    def _effect_roots(self) -> Set[str]:
        roots = {"item", "metafunc"} if self.hook != "pytest_collection_modifyitems" else set()
        if self.items:
            roots.add(self.items)
        for loop in self.item_loops:
            roots |= _loop_targets(loop.target)
        return roots

    def _state_read_by_effects(self, outliving: Dict[str, ast.AST]) -> None:
        """A crossing where kept state decides an effect on an item: an
        add_marker, a parametrize, a change of the item list or an item."""
        parents: Dict[int, ast.AST] = {}
        for parent in ast.walk(self.func):
            for child in ast.iter_child_nodes(parent):
                parents[id(child)] = parent
        roots = self._effect_roots()

        def rooted(node: ast.AST) -> bool:
            return _root_name(node) in roots

        def reads_state(node: ast.AST) -> Optional[str]:
            for n in ast.walk(node):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in outliving:
                    return n.id
                if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and _dotted(n) in outliving:
                    return _dotted(n)
            return None

        for node in ast.walk(self.func):
            effect = False
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and rooted(node.func.value) \
                    and node.func.attr not in _ITEM_READS | _PURE_METHODS:
                effect = True
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                effect = any(isinstance(t, (ast.Attribute, ast.Subscript)) and rooted(t) for t in targets)
            if not effect:
                continue
            # The effect itself and every test or loop that leads to it.
            deciding = [node]
            at = parents.get(id(node))
            while at is not None:
                if isinstance(at, (ast.If, ast.While)):
                    deciding.append(at.test)
                elif isinstance(at, (ast.For, ast.AsyncFor)):
                    deciding.append(at.iter)
                at = parents.get(id(at))
            for d in deciding:
                name = reads_state(d)
                if name:
                    self.fail(f"keeps state between calls ({name}) that decides an effect on items", node)
                    return

    def _collectors(self) -> None:
        """Lists that only receive loop items one by one (remaining/deselected)."""
        appended: Dict[str, bool] = {}
        for loop in self.item_loops:
            if not isinstance(loop, ast.For):
                continue
            var = _loop_targets(loop.target)
            for node in ast.walk(loop):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and isinstance(node.func.value, ast.Name) and node.func.value.id not in var:
                    name = node.func.value.id
                    ok = node.func.attr == "append" and len(node.args) == 1 and isinstance(node.args[0], ast.Name) \
                        and node.args[0].id in var
                    appended[name] = appended.get(name, True) and ok
        self.collectors = {n for n, ok in appended.items() if ok}

    def _uses_of_items(self) -> None:
        allowed: Set[int] = set()
        for loop in self.item_loops:
            allowed.add(id(loop.iter))
        for node in ast.walk(self.func):
            # items.sort(...) / items.reverse(): reordering selects nothing.
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and self._is_items(node.func.value) and node.func.attr in _REORDER:
                if node.func.attr == "sort" and any(self._mentions_items(a) for a in node.args):
                    continue
                allowed.add(id(node.func.value))
            # items[:] = <per-item list>
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                t = node.targets[0]
                if isinstance(t, ast.Subscript) and self._is_items(t.value) and isinstance(t.slice, ast.Slice) \
                        and t.slice.lower is None and t.slice.upper is None and t.slice.step is None \
                        and self._per_item_list(node.value):
                    allowed.add(id(t.value))
        for node in ast.walk(self.func):
            # items handed to a helper of the same module: read the helper.
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.module \
                    and self.depth < 3:
                helper = self.module[node.func.id]
                params = [a.arg for a in helper.args.args]  # type: ignore[attr-defined]
                given = [(params[i] if i < len(params) else None, a) for i, a in enumerate(node.args)]
                given += [(k.arg, k.value) for k in node.keywords]
                if all(p is not None for p, a in given if self._is_items(a)):
                    outer = self.conds.get(id(node), ())
                    for param, arg in given:
                        if not self._is_items(arg):
                            continue
                        allowed.add(id(arg))
                        inner = _summarize_node(helper, self.hook, param, self.module, self.depth + 1)  # type: ignore[arg-type]
                        self.crossings.extend((why, outer + conds) for why, conds in inner.crossings)
        for node in ast.walk(self.func):
            if self._is_items(node) and id(node) not in allowed:
                self.fail(f"uses items as a whole (line {getattr(node, 'lineno', '?')})", node)

    def _mentions_items(self, node: ast.AST) -> bool:
        return any(self._is_items(n) for n in ast.walk(node))

    def _per_item_list(self, value: ast.AST) -> bool:
        if isinstance(value, ast.Name):
            return value.id in self.collectors
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            # Lists each item went into by its own data, one after another: a
            # stable partition, the same order for any subset of the items.
            return self._per_item_list(value.left) and self._per_item_list(value.right)
        if isinstance(value, ast.ListComp) and len(value.generators) == 1:
            gen = value.generators[0]
            return self._is_items(gen.iter) and not any(self._mentions_items(c) for c in gen.ifs) \
                and not self._mentions_items(value.elt)
        return False

    def _loop_body(self, loop: ast.For) -> None:
        """State carried from one item to the next inside a loop over items."""
        var = _loop_targets(loop.target)
        inside: Set[str] = set()
        for node in ast.walk(loop):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                inside.add(node.id)
        for node in ast.walk(loop):
            # An accumulator (x += ..., acc.add(...)) is harmless unless an item loop reads it.
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                    and node.target.id not in var and self._read_in_item_loops(node.target.id):
                self.fail(f"counts across items ({node.target.id})", node)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS \
                    and isinstance(node.func.value, ast.Name):
                name = node.func.value.id
                if name in var or name in self.collectors:
                    continue
                # An accumulator is harmless unless an item loop reads it.
                if self._read_in_item_loops(name):
                    self.fail(f"carries {name!r} from one item to the next", node)
        # A name assigned in the loop and read before its assignment in the
        # body (or in an earlier item's iteration) carries state.
        for name in inside - var:
            if self._read_before_loop_or_outside(loop, name) and self._read_in_item_loops(name):
                self.fail(f"carries {name!r} from one item to the next", loop)

    def _read_in_item_loops(self, name: str) -> bool:
        for loop in self.item_loops:
            for node in ast.walk(loop):
                if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load):
                    parent_call = False
                    # `acc.add(x)` itself is a write, not a read of the accumulated content.
                    for call in ast.walk(loop):
                        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                                and call.func.value is node and call.func.attr in _MUTATORS:
                            parent_call = True
                    if not parent_call:
                        return True
        return False

    def _read_before_loop_or_outside(self, loop: ast.For, name: str) -> bool:
        # Assigned before the loop too: the loop updates a value that lives across items.
        for node in ast.walk(self.func):
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store) \
                    and getattr(node, "lineno", 0) < loop.lineno:
                return True
        return False


def summarize(source: str, hook: str, flags: Optional[Any] = None) -> Summary:
    """The summary of one hook function from its source text (`flags`:
    hook_phases.Flags, how pluggy orders it; None: all of it runs before
    -k/-m deselection)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return Summary([("source cannot be read", ())])
    funcs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not funcs:
        return Summary([("source cannot be read", ())])
    return _summarize_node(funcs[0], hook, flags=flags)  # type: ignore[arg-type]


def _conditions_for(func: ast.AST) -> Dict[int, Tuple[Condition, ...]]:
    config_names = {"config"} | {f"{a}.config" for a in ("session", "metafunc", "item", "collector")}
    # Names bound once to a configuration or environment value (`split = config.getoption("--split")`).
    stores: Dict[str, int] = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stores[node.id] = stores.get(node.id, 0) + 1
    aliases: Dict[str, Tuple[str, str]] = {}
    for stmt in getattr(func, "body", []):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                and stores.get(stmt.targets[0].id) == 1:
            src = _getoption_name(stmt.value, config_names)
            if src:
                aliases[stmt.targets[0].id] = src
    return _conditions_of(func, config_names, aliases)


def _summarize_node(func: ast.FunctionDef, hook: str, items_name: str = "items",
                    module: Optional[Dict[str, ast.AST]] = None, depth: int = 0,
                    flags: Optional[Any] = None, constants: Optional[Set[str]] = None,
                    module_changed: Optional[Set[str]] = None) -> Summary:
    conds = _conditions_for(func)
    if hook == "pytest_collection_finish":  # sees the selected items: only adding to them crosses
        from pytest_fastcollect import hook_phases

        return Summary(hook_phases.AfterReader(func, "", module or {}, conds, depth, constants).run())
    if hook != "pytest_collection_modifyitems" or flags is None:
        return Summary(_Reader(func, hook, conds, items_name, module, depth, module_changed).run())
    from pytest_fastcollect import hook_phases  # (it reads with this module's helpers)

    crossings: List[Tuple[str, Tuple[Condition, ...]]] = []
    for phase, part in hook_phases.phases(func, flags):
        if phase == hook_phases.BEFORE:
            found = _Reader(part, hook, conds, items_name, module, depth, module_changed).run()
            if found and _per_group(part, items_name, module or {}, constants or set()):
                found = []  # rebuilds items one module or class at a time (groups.py)
            crossings += found
        else:
            crossings += hook_phases.AfterReader(part, items_name, module or {}, conds, depth, constants).run()
    return Summary(crossings)


_UNKNOWN = object()

# Values that differ between the pytest-xdist controller, which decides, and
# its workers, which collect: a condition on one of them may hold on either.
_PER_PROCESS_ENV_PREFIX = "PYTEST_XDIST_"
_PER_PROCESS_ATTRS = frozenset({"workerinput", "workeroutput"})
_PER_PROCESS_OPTIONS = frozenset({"dist", "numprocesses", "tx", "basetemp", "maxworkerrestart", "looponfail",
                                  "maxprocesses"})


def _value(config: pytest.Config, cond: Condition) -> Any:
    if cond.kind == "env":
        if cond.name.startswith(_PER_PROCESS_ENV_PREFIX):
            return _UNKNOWN
        return os.environ.get(cond.name)
    if cond.kind == "attr":
        if cond.name in _PER_PROCESS_ATTRS:
            return _UNKNOWN
        return getattr(config, cond.name, None)
    if cond.name.lstrip("-").replace("-", "_") in _PER_PROCESS_OPTIONS:
        return _UNKNOWN
    try:
        return config.getoption(cond.name)
    except (ValueError, AttributeError):
        return _UNKNOWN


# A config that carries a dict under this name gets every condition's outcome
# noted there (hook_cache.NotingConfig).
NOTED_CONDITIONS = "_fastcollect_noted_conditions"


def holds(cond: Condition, config: pytest.Config) -> bool:
    v = _value(config, cond)
    if v is _UNKNOWN:
        held = True  # cannot tell: the code may run
    else:
        held = {"truthy": bool(v), "falsy": not v, "none": v is None, "not-none": v is not None}[cond.when]
    noted = getattr(config, NOTED_CONDITIONS, None)
    if isinstance(noted, dict):
        noted[(cond.kind, cond.name, cond.when)] = held
    return held


def active_crossing(summary: Summary, config: pytest.Config) -> str:
    """The first way of acting across items whose code can run in this session ("" if none)."""
    for why, conds in summary.crossings:
        if all(holds(c, config) for c in conds):
            return why
    return ""


# What a per-item hook may do to an item without changing the item's -k
# names beyond the markers it adds: read it, mark it, drop it.
_ITEM_READS = {"get_closest_marker", "iter_markers", "get", "listchain", "getparent", "reportinfo",
               "listextrakeywords", "get_marker", "keys", "values", "items"}
_ITEM_NAMES = {"name", "keywords", "extra_keyword_matches", "function", "obj", "_obj", "own_markers", "nodeid",
               "_nodeid", "parent", "originalname", "callspec", "fixturenames", "_fixtureinfo"}
_PURE_METHODS = {"endswith", "startswith", "split", "rsplit", "lower", "upper", "strip", "lstrip", "rstrip",
                 "replace", "find", "rfind", "index", "count", "format", "get", "keys", "values", "items",
                 "__contains__", "partition", "rpartition", "casefold", "join", "copy"}
_READ_BUILTINS = {"isinstance", "hasattr", "getattr", "str", "repr", "len", "set", "frozenset", "list", "tuple",
                  "any", "all", "bool", "type", "id", "sorted", "print"}


def _mark_names(node: ast.AST, bound: Dict[str, List[ast.AST]], depth: int = 0) -> Optional[Set[str]]:
    """The marker names `node` can be: `pytest.mark.NAME`, `pytest.mark.NAME(...)`,
    "NAME", or a name every assignment of which is one of these."""
    if depth > 3:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        parts = _dotted(node).split(".")
        if len(parts) >= 2 and parts[-2] == "mark" and parts[-1] != "parametrize":
            return {parts[-1]}
    if isinstance(node, ast.Name) and node.id in bound:
        out: Set[str] = set()
        for value in bound[node.id]:
            names = _mark_names(value, bound, depth + 1)
            if names is None:
                return None
            out |= names
        return out
    return None


def _assignments(body: List[ast.stmt], into: Dict[str, List[ast.AST]]) -> None:
    """Every value assigned to each plain name; a name bound any other way
    (a loop, `with ... as`, unpacking, `+=`) gets a value no mark resolves to."""
    unknown = ast.Constant(value=None)
    for stmt in body:
        direct: Set[int] = set()
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                into.setdefault(node.targets[0].id, []).append(node.value)
                direct.add(id(node.targets[0]))
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and id(node) not in direct:
                into.setdefault(node.id, []).append(unknown)


def _tainted_names(func: ast.AST, tainted: Set[str]) -> Set[str]:
    """The names that may hold the item list or an item: `tainted`, and every
    name bound from an expression that mentions one."""
    tainted = set(tainted)

    def mentions(node: Optional[ast.AST]) -> bool:
        return node is not None and any(isinstance(n, ast.Name) and n.id in tainted for n in ast.walk(node))

    changed = True
    while changed:
        changed = False
        for node in ast.walk(func):
            targets: List[ast.AST] = []
            if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) and mentions(node.iter):
                targets = [node.target]
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and mentions(node.value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, ast.withitem) and mentions(node.context_expr) and node.optional_vars is not None:
                targets = [node.optional_vars]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name) and n.id not in tainted:
                        tainted.add(n.id)
                        changed = True
    return tainted


def _first_attr(node: ast.AST) -> str:
    chain = []
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            chain.append(node.attr)
        node = node.value
    return chain[-1] if chain else ""


@dataclass
class _MarkReading:
    """What marks_added needs while it reads one function."""

    tainted: Set[str]
    bound: Dict[str, List[ast.AST]]
    module: Dict[str, ast.AST]
    module_bound: Dict[str, List[ast.AST]]
    config: Any
    depth: int

    def mentions(self, node: Optional[ast.AST]) -> bool:
        return node is not None and any(isinstance(n, ast.Name) and n.id in self.tainted for n in ast.walk(node))

    def rooted(self, node: ast.AST) -> bool:
        return _root_name(node) in self.tainted

    def item_method(self, node: ast.Call, f: ast.Attribute) -> Optional[Set[str]]:
        """A method called on the list or an item: the markers it adds
        (empty: a read, reorder or drop), None when it may do more."""
        if f.attr == "add_marker":
            return _mark_names(node.args[0], self.bound) if node.args else None
        if f.attr in _ITEM_READS | _PURE_METHODS and _first_attr(f.value) not in ("own_markers",
                                                                                 "extra_keyword_matches"):
            return set()
        if isinstance(f.value, ast.Name) and f.attr in ("sort", "reverse", "pop", "remove", "clear"):
            return set()  # reorders or drops items of the list
        if isinstance(f.value, ast.Name) and f.attr in ("append", "extend", "insert") \
                and all(self.mentions(a) or isinstance(a, ast.Constant) for a in node.args):
            return set()  # puts back items it holds
        return None

    def call(self, node: ast.Call) -> Optional[Set[str]]:
        """The markers a call may add to items (empty: none), None when it may do more."""
        f = node.func
        if isinstance(f, ast.Attribute) and self.rooted(f.value):
            return self.item_method(node, f)
        args = list(node.args) + [k.value for k in node.keywords]
        if not any(self.mentions(a) for a in args):
            return set()
        if isinstance(f, ast.Name) and f.id in _READ_BUILTINS | {"enumerate", "zip", "reversed", "range", "min",
                                                                 "max", "filter", "map"}:
            if f.id in ("map", "filter") and args and not isinstance(args[0], (ast.Lambda, ast.Name)):
                return None
            return set()
        if isinstance(f, ast.Attribute) and f.attr == "pytest_deselected" and _dotted(f.value).endswith("hook"):
            return set()
        if isinstance(f, ast.Name) and f.id in self.module:
            helper = self.module[f.id]
            params = [a.arg for a in helper.args.args]  # type: ignore[attr-defined]
            mapped = {params[i] for i, a in enumerate(node.args) if i < len(params) and self.mentions(a)}
            mapped |= {k.arg for k in node.keywords if k.arg and self.mentions(k.value)}
            if len(mapped) < sum(1 for a in args if self.mentions(a)):
                return None  # passed through *args or past the parameters
            return marks_added(helper, mapped, self.module, self.module_bound, self.config, self.depth + 1)
        return None


def marks_added(func: ast.AST, tainted: Set[str], module: Dict[str, ast.AST],
                module_bound: Dict[str, List[ast.AST]], config: Any = None,
                depth: int = 0) -> Optional[Set[str]]:
    """The marker names this function may add to the items it handles, when
    that is all it does to them (reads, marks, drops, reorders); None when it
    may do anything else to an item (rename it, set keywords or function
    attributes, add new items, hand an item to code that cannot be read).

    `tainted` starts with the names that hold the item list or an item; every
    name bound from an expression that mentions one (loop targets over
    `enumerate(items)`, `first = items[0]`, ...) is tainted too. With `config`,
    code whose conditions cannot hold in this session is left out."""
    if depth > 3:
        return None
    conds = _conditions_for(func) if config is not None else {}
    bound: Dict[str, List[ast.AST]] = {k: list(v) for k, v in module_bound.items()}
    _assignments(getattr(func, "body", []), bound)
    reading = _MarkReading(_tainted_names(func, tainted), bound, module, module_bound, config, depth)
    out: Set[str] = set()
    for node in ast.walk(func):
        if not all(holds(c, config) for c in conds.get(id(node), ())):
            continue  # cannot run in this session
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if isinstance(t, (ast.Attribute, ast.Subscript)) and reading.rooted(t) \
                        and _first_attr(t) in _ITEM_NAMES:
                    return None
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return None
        if isinstance(node, ast.Call):
            found = reading.call(node)
            if found is None:
                return None
            out |= found
    return out


@dataclass
class HookReading:
    summary: Summary
    func: Optional[ast.AST] = None
    module: Dict[str, ast.AST] = field(default_factory=dict)
    bound: Dict[str, List[ast.AST]] = field(default_factory=dict)
    start: Set[str] = field(default_factory=set)

    def marks(self, config: Any = None) -> Optional[Set[str]]:
        """Markers it may add to items in this session; None: it may do more than that."""
        if self.func is None:
            return None
        return marks_added(self.func, self.start, self.module, self.bound, config)


def module_changed(tree: ast.Module) -> Set[str]:
    """Module-level names that a function of the module changes: declared
    `global`, or changed in place by a function that does not bind them."""
    out: Set[str] = set()
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        local = {a.arg for a in ast.walk(func.args) if isinstance(a, ast.arg)}
        local |= {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        for node in ast.walk(func):
            if isinstance(node, ast.Global):
                out.update(node.names)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                root = _root_name(node.func.value)
                if root and root not in local:
                    out.add(root)
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for t in targets:
                    root = _root_name(t) if isinstance(t, (ast.Attribute, ast.Subscript)) else ""
                    if root and root not in local:
                        out.add(root)
    return out


def read_module(source: str, names: Tuple[str, ...]) -> Dict[str, HookReading]:
    """Every module-level hook of `names` in a conftest or plugin source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {n: HookReading(Summary([("source cannot be read", ())])) for n in names if f"def {n}" in source}
    module: Dict[str, ast.AST] = {}
    module_bound: Dict[str, List[ast.AST]] = {}
    _assignments([s for s in tree.body if isinstance(s, ast.Assign)], module_bound)
    from pytest_fastcollect.groups import module_constants

    constants = module_constants(tree.body) | {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    changed = module_changed(tree)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            module[node.name] = node
    out: Dict[str, HookReading] = {}
    for name in names:
        func = module.get(name)
        if func is None:
            continue
        flags = None
        if name == "pytest_collection_modifyitems":
            from pytest_fastcollect.hook_phases import decorator_flags

            flags = decorator_flags(func)
        summary = _summarize_node(func, name, "items", module, flags=flags, constants=constants,  # type: ignore[arg-type]
                                  module_changed=changed)
        start = {"item"} if name == "pytest_itemcollected" else {"items"}
        out[name] = HookReading(summary, func, module, module_bound, start)
    return out


def read_conftests(paths: List[str]) -> Dict[str, Dict[str, HookReading]]:
    """The collection hooks of each conftest that defines any (read from its file)."""
    out: Dict[str, Dict[str, HookReading]] = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            out[path] = {"pytest_collection_modifyitems": HookReading(Summary([("cannot be read", ())]))}
            continue
        if any(f"def {h}" in text for h in CROSS_ITEM_HOOKS):
            out[path] = read_module(text, CROSS_ITEM_HOOKS)
    return out


def cross_item_hook(
    config: pytest.Config,
    is_ours: Callable[[str], bool],
    conftests: Dict[str, Dict[str, HookReading]],
) -> Optional[str]:
    """The first hook, active in this session, that may act across items:
    the conftests' (as read from their files) and the live implementations
    of installed plugins. None when there is none."""
    for path, readings in conftests.items():
        for name, reading in readings.items():
            why = active_crossing(reading.summary, config)
            if why:
                return f"{_where('', path, config)}: {name} {why}"
    return _live_crossing(config, lambda impl, name: is_ours(_module_of(impl)) or _read_from_file(impl, name, conftests))


def foreign_crossing(config: pytest.Config, is_ours: Callable[[str], bool]) -> Optional[str]:
    """As cross_item_hook, for the live implementations a valid learned
    generation does not cover: neither a conftest file's (its dependencies)
    nor a known module's. A plugin object registered at run time
    (`pytest.main(plugins=[...])`, a conftest's `register`) is in no key."""
    def covered(impl: Any, name: str) -> bool:
        code = getattr(impl.function, "__code__", None)
        return is_ours(_module_of(impl)) or os.path.basename(getattr(code, "co_filename", "")) == "conftest.py"
    return _live_crossing(config, covered)


def _module_of(impl: Any) -> str:
    return getattr(impl.function, "__module__", "") or ""


def _live_crossing(config: pytest.Config, skip: Callable[[Any, str], bool]) -> Optional[str]:
    """The first live implementation of a cross-item hook, not skipped,
    whose source (read now) may act across items."""
    for name in CROSS_ITEM_HOOKS:
        caller = getattr(config.pluginmanager.hook, name, None)
        for impl in caller.get_hookimpls() if caller is not None else []:
            if skip(impl, name):
                continue  # (a conftest's own hook: read from its file)
            filename = getattr(getattr(impl.function, "__code__", None), "co_filename", "")
            try:
                source = inspect.getsource(impl.function)
            except (OSError, TypeError):
                return f"{impl.plugin_name}: {name} (source not available)"
            why = active_crossing(summarize(source, name, _live_flags(config, name, impl)), config)
            if why:
                return f"{_where(impl.plugin_name, filename, config)}: {name} {why}"
    return None


def _read_from_file(impl: Any, hook: str, conftests: Dict[str, Dict[str, HookReading]]) -> bool:
    """Is this registered implementation the conftest's own top-level def
    that was read from its file (not a hook it imported, defined under an
    `if`, or a plugin object it registered)?"""
    plugin_file = getattr(impl.plugin, "__file__", None) if isinstance(impl.plugin, ModuleType) else None
    if not isinstance(plugin_file, str):
        return False
    reading = conftests.get(os.path.abspath(plugin_file), {}).get(hook)
    code = getattr(impl.function, "__code__", None)
    if reading is None or reading.func is None or code is None:
        return False
    if os.path.abspath(code.co_filename) != os.path.abspath(plugin_file):
        return False
    func = reading.func
    first = min([func.lineno, *(d.lineno for d in getattr(func, "decorator_list", []))])  # type: ignore[attr-defined]
    return code.co_firstlineno == first


def _per_group(func: ast.FunctionDef, items: str, module: Dict[str, ast.AST], constants: Set[str]) -> bool:
    from pytest_fastcollect.groups import per_group

    return per_group(func, items, module, constants) is None


def _live_flags(config: pytest.Config, hook: str, impl: Any) -> Optional[Any]:
    """How pluggy orders a registered pytest_collection_modifyitems
    implementation around -k/-m deselection (deselection.py)."""
    if hook != "pytest_collection_modifyitems":
        return None
    from pytest_fastcollect.deselection import runs_after_deselection
    from pytest_fastcollect.hook_phases import Flags

    wrapper = bool(getattr(impl, "hookwrapper", False) or getattr(impl, "wrapper", False))
    return Flags(wrapper=wrapper, after=not wrapper and runs_after_deselection(config, impl))


def static_marks(config: pytest.Config, conftests: Dict[str, Dict[str, HookReading]]) -> Dict[str, List[str]]:
    """Per conftest whose pytest_collection_modifyitems acts per item and only
    adds known markers (or drops items): those marker names. The static model
    then takes them as markers every item may carry, instead of knowing
    nothing about any item."""
    out: Dict[str, List[str]] = {}
    for path, readings in conftests.items():
        reading = readings.get("pytest_collection_modifyitems")
        if reading is None or active_crossing(reading.summary, config):
            continue
        marks = reading.marks(config)
        if marks is not None:
            out[path] = sorted(marks)
    return out


def adding_nothing(config: pytest.Config, conftests: Dict[str, Dict[str, HookReading]], hook: str) -> List[str]:
    """The conftests whose `hook` (one that sees the items -k/-m selected)
    can add nothing to them in this session."""
    return sorted(path for path, readings in conftests.items()
                  if hook in readings and not active_crossing(readings[hook].summary, config))


def _where(plugin: str, filename: str, config: pytest.Config) -> str:
    root = str(config.rootpath) + os.sep
    if filename.startswith(root):
        return filename[len(root):]
    return plugin or filename


def _gate_name(test: ast.AST, metafunc: str) -> Optional[str]:
    """NAME of `"NAME" in metafunc.fixturenames`, else None."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.In)):
        return None
    left, right = test.left, test.comparators[0]
    if not (isinstance(left, ast.Constant) and isinstance(left.value, str)):
        return None
    if not (isinstance(right, ast.Attribute) and right.attr == "fixturenames" and isinstance(right.value, ast.Name)
            and right.value.id == metafunc):
        return None
    return left.value


def _gates_of(test: ast.AST, metafunc: str) -> List[str]:
    """The names an if-test requires in the fixture closure: the test itself
    or any operand of an `and`."""
    name = _gate_name(test, metafunc)
    if name is not None:
        return [name]
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return [n for v in test.values for n in _gates_of(v, metafunc)]
    return []


def generate_tests_gates(source: str) -> Optional[List[str]]:
    """A conftest's module-level pytest_generate_tests that parametrizes
    only under `if "NAME" in metafunc.fixturenames:` (sklearn's
    global_random_seed): those names. The hook then acts on exactly the items
    whose fixture closure holds one of them. None for any other shape: a
    `metafunc` used otherwise (its function, its definition, handed to a
    call, captured), a parametrize call outside such an `if` or in its else."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    funcs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
             and n.name == "pytest_generate_tests"]
    binds = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
             and "pytest_generate_tests" in {t.id for t in ast.walk(n) if isinstance(t, ast.Name)}]
    if len(funcs) != 1 or binds or isinstance(funcs[0], ast.AsyncFunctionDef) or funcs[0].decorator_list:
        return None
    func = funcs[0]
    args = func.args
    if len(args.args) != 1 or args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        return None
    metafunc = args.args[0].arg
    gates: Set[str] = set()
    allowed: Set[int] = set()  # id() of Name nodes in an allowed position

    def visit(node: ast.AST, guards: Tuple[str, ...]) -> None:
        if isinstance(node, ast.If):
            visit(node.test, guards)
            inner = guards + tuple(_gates_of(node.test, metafunc))
            for stmt in node.body:
                visit(stmt, inner)
            for stmt in node.orelse:
                visit(stmt, guards)
            return
        name = _gate_name(node, metafunc)
        if name is not None:
            allowed.add(id(node.comparators[0].value))  # type: ignore[attr-defined]
            return
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "parametrize"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == metafunc):
            if not guards:
                raise ValueError("parametrize outside a fixturenames test")
            gates.update(guards)
            allowed.add(id(node.func.value))
        for child in ast.iter_child_nodes(node):
            visit(child, guards)

    try:
        for stmt in func.body:
            visit(stmt, ())
    except ValueError:
        return None
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and node.id == metafunc and id(node) not in allowed:
            return None
        if isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Global,
                             ast.Nonlocal)) and node is not func:
            return None
    return sorted(gates) if gates else None


def read_generate_tests(paths: List[str]) -> Dict[str, List[str]]:
    """Per conftest whose pytest_generate_tests is gated (generate_tests_gates): the gate names."""
    out: Dict[str, List[str]] = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        if "pytest_generate_tests" not in text:
            continue
        gates = generate_tests_gates(text)
        if gates:
            out[path] = gates
    return out
