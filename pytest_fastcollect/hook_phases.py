"""Which code of a pytest_collection_modifyitems implementation runs before
pytest's -k/-m deselection and which after it (deselection.py), and what
code after it may do.

Code before deselection sees every collected item: it must act per item
(hooks.py reads it). Code after deselection sees the items -k/-m selected,
which are the same whichever test files were skipped (the plugin only skips
files none of whose items is selected), so it may use them as a whole:
count, slice, sort, keep some. It crosses files only by bringing in what
-k/-m did not select, or by deciding on what collection left elsewhere:

- adding to the item list anything that is not one of its own items
  (an item kept from `pytest_deselected`, one built from a node);
- handing the list to code not read here (which could do either);
- deciding an effect on items from state that outlives the call (a global
  that other hooks fill, the plugin object's attributes, the session's
  nodes).

Markers and keywords added after deselection never reach -k/-m: learned
records are taken before it (deselection.MarkSnapshot).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

import builtins

from pytest_fastcollect.hooks import Condition, _dotted, _loop_targets, _root_name

_BUILTIN_NAMES = frozenset(dir(builtins))

HOOK = "pytest_collection_modifyitems"

BEFORE = "before"
AFTER = "after"

# Calls that read an item list without changing it (or return a new list of its items).
_READING_CALLS = {"len", "sorted", "list", "tuple", "set", "frozenset", "reversed", "enumerate", "iter", "any",
                  "all", "bool", "isinstance", "print", "id", "repr", "str", "zip", "min", "max", "filter"}
# Methods of the item list that only reorder or remove.
_REMOVING_METHODS = {"sort", "reverse", "remove", "pop", "clear", "index", "count", "copy", "__len__",
                     "__contains__", "__iter__", "__getitem__", "__delitem__"}
_ADDING_METHODS = {"append", "extend", "insert", "__setitem__", "__iadd__"}


@dataclass(frozen=True)
class Flags:
    """How pluggy orders an implementation: a wrapper (old or new style), or
    a plain one that runs after deselection (trylast, or registered before
    pytest's mark plugin). `known`: read from the decorator or pluggy."""

    wrapper: bool = False
    after: bool = False
    known: bool = True


def decorator_flags(func: ast.AST) -> Flags:
    """The flags a conftest's `@pytest.hookimpl(...)` gives: conftests are
    registered after pytest's mark plugin, so a plain or tryfirst one runs
    before deselection. Any other decorator: not known."""
    flags = Flags()
    for dec in getattr(func, "decorator_list", []):
        call = dec if isinstance(dec, ast.Call) else None
        name = _dotted(call.func if call is not None else dec)
        if name.split(".")[-1] != "hookimpl":
            return Flags(known=False)
        for kw in call.keywords if call is not None else []:
            value = kw.value.value if isinstance(kw.value, ast.Constant) else None
            if kw.arg in ("wrapper", "hookwrapper", "trylast") and value not in (True, False, None):
                return Flags(known=False)
            if kw.arg in ("wrapper", "hookwrapper") and value:
                flags = Flags(wrapper=True, after=flags.after)
            elif kw.arg == "trylast" and value:
                flags = Flags(wrapper=flags.wrapper, after=True)
    return flags


def _yield_at(body: List[ast.stmt]) -> Optional[int]:
    """Index of the top-level statement that is the wrapper's yield
    (`yield`, `x = yield`, `return (yield)`, `outcome = yield`), or None."""
    for i, stmt in enumerate(body):
        value = getattr(stmt, "value", None)
        if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign, ast.Return)) and isinstance(value, ast.Yield):
            if value.value is None:
                return i
    return None


def phases(func: ast.FunctionDef, flags: Flags) -> List[Tuple[str, ast.FunctionDef]]:
    """The parts of the hook function with the side of deselection each runs
    on. A wrapper whose yield is not a statement of its body, or a function
    whose decorators are not known, is read as both."""
    if not flags.known:
        return [(BEFORE, func), (AFTER, func)]
    if not flags.wrapper:
        return [(AFTER if flags.after else BEFORE, func)]
    at = _yield_at(func.body)
    if at is None:
        return [(BEFORE, func), (AFTER, func)]
    return [(BEFORE, _with_body(func, func.body[:at])), (AFTER, _with_body(func, func.body[at + 1:]))]


def _with_body(func: ast.FunctionDef, body: List[ast.stmt]) -> ast.FunctionDef:
    part = ast.FunctionDef(name=func.name, args=func.args, body=body or [ast.Pass()], decorator_list=[],
                           returns=None, type_comment=None, lineno=func.lineno, col_offset=func.col_offset)
    if hasattr(ast.FunctionDef, "type_params"):
        part.type_params = []  # type: ignore[attr-defined]
    return part


class AfterReader:
    """Lists how code after deselection may cross files (see the module's doc)."""

    def __init__(self, func: ast.FunctionDef, items_name: str, module: Dict[str, ast.AST],
                 conds: Dict[int, Tuple[Condition, ...]], depth: int = 0,
                 constants: Optional[Set[str]] = None) -> None:
        self.func = func
        self.module = module
        self.conds = conds
        self.depth = depth
        self.constants = constants or set()
        self.crossings: List[Tuple[str, Tuple[Condition, ...]]] = []
        args = [a.arg for a in func.args.args + func.args.kwonlyargs]
        self.lists: Set[str] = {items_name} if items_name in args else set()  # names of the item list itself
        self.elements: Set[str] = set()  # names bound to one of its items
        self.subsets: Set[str] = set()  # local lists holding only its items
        self.sessions: Set[str] = {"session"}  # names for a session (`s = session`)
        self.state_roots = {"self", "session", "cls"} & set(args) | self._globals()
        # Names read without outliving the call: its own, builtins, pytest, and
        # the module's functions, classes and constants (when it was read from
        # its module). Any other name (a module-level set another hook fills,
        # an imported module's attribute) is state.
        local = {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        local |= {a.arg for a in ast.walk(func) if isinstance(a, ast.arg)}
        self.own_names = local | _BUILTIN_NAMES | {"pytest"} | set(module) | self.constants

    def fail(self, why: str, node: ast.AST) -> None:
        self.crossings.append((f"after -k/-m {why} (line {getattr(node, 'lineno', '?')})",
                               self.conds.get(id(node), ())))

    def run(self) -> List[Tuple[str, Tuple[Condition, ...]]]:
        for _ in range(3):  # aliases, elements and subsets settle in a few passes
            before = (len(self.lists), len(self.elements), len(self.subsets), len(self.sessions))
            self._bind_names()
            if before == (len(self.lists), len(self.elements), len(self.subsets), len(self.sessions)):
                break
        for node in ast.walk(self.func):
            self._check_write(node)
            self._check_handed(node)
        self._check_state()
        return self.crossings

    def _globals(self) -> Set[str]:
        out: Set[str] = set()
        for node in ast.walk(self.func):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                out.update(node.names)
        return out

    def _is_list(self, node: ast.AST) -> bool:
        """The item list: its parameter (or a name for it), or `session.items`
        (the same list, reached through any session)."""
        if isinstance(node, ast.Name):
            return node.id in self.lists
        return isinstance(node, ast.Attribute) and node.attr == "items" \
            and _dotted(node.value).split(".")[-1] in self.sessions

    def subset(self, node: ast.AST) -> bool:
        """Does this expression give a list of the item list's own items?"""
        if self._is_list(node):
            return True
        if isinstance(node, ast.Name):
            return node.id in self.lists or node.id in self.subsets
        if isinstance(node, ast.Subscript):
            return self.subset(node.value) and isinstance(node.slice, ast.Slice)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.subset(node.left) and self.subset(node.right)
        if isinstance(node, ast.IfExp):
            return self.subset(node.body) and self.subset(node.orelse)
        if isinstance(node, (ast.List, ast.Tuple)):
            return all(self.element(e) or (isinstance(e, ast.Starred) and self.subset(e.value)) for e in node.elts)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return self._comprehension_of_items(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("sorted", "list", "tuple", "reversed") and node.args:
            return self.subset(node.args[0])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "filter" \
                and len(node.args) == 2:
            return self.subset(node.args[1])
        return False

    def element(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.elements
        return isinstance(node, ast.Subscript) and self.subset(node.value) and not isinstance(node.slice, ast.Slice)

    def _comprehension_of_items(self, node: ast.AST) -> bool:
        names: Set[str] = set()
        for gen in node.generators:  # type: ignore[attr-defined]
            if not self.subset(gen.iter):
                return False
            names |= _loop_targets(gen.target) if isinstance(gen.target, ast.Name) else set()
        elt = node.elt  # type: ignore[attr-defined]
        return isinstance(elt, ast.Name) and elt.id in names or self.element(elt)

    def _bind_names(self) -> None:
        for node in ast.walk(self.func):
            if isinstance(node, (ast.For, ast.comprehension)):
                self._bind_loop(node.target, node.iter)
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if _dotted(node.value).split(".")[-1] in self.sessions:
                    self.sessions.add(name)
                elif self._is_list(node.value):
                    self.lists.add(name)
                elif self.subset(node.value) or (isinstance(node.value, ast.List) and not node.value.elts):
                    self.subsets.add(name)
        # A local list stays a subset only if all it receives are items.
        for node in ast.walk(self.func):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in self.subsets \
                    and node.func.attr in _ADDING_METHODS and not self._adds_items(node):
                self.subsets.discard(node.func.value.id)

    def _bind_loop(self, target: ast.AST, iterable: ast.AST) -> None:
        if isinstance(target, ast.Name) and self.subset(iterable):
            self.elements.add(target.id)
        elif isinstance(target, ast.Tuple) and len(target.elts) == 2 and isinstance(iterable, ast.Call) \
                and isinstance(iterable.func, ast.Name) and iterable.func.id == "enumerate" and iterable.args \
                and self.subset(iterable.args[0]) and isinstance(target.elts[1], ast.Name):
            self.elements.add(target.elts[1].id)

    def _adds_items(self, call: ast.Call) -> bool:
        """Do the arguments of list.append/extend/insert/... hold only items?"""
        method = call.func.attr  # type: ignore[attr-defined]
        args = call.args[1:] if method in ("insert", "__setitem__") else call.args
        if method in ("extend", "__iadd__"):
            return all(self.subset(a) for a in args)
        return all(self.element(a) for a in args)

    def _check_write(self, node: ast.AST) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and self._is_list(node.func.value):
            if node.func.attr in _ADDING_METHODS and not self._adds_items(node):
                self.fail("adds items that -k/-m did not select", node)
            elif node.func.attr not in _ADDING_METHODS | _REMOVING_METHODS:
                self.fail(f"calls items.{node.func.attr}", node)
        elif isinstance(node, ast.AugAssign) and self._is_list(node.target):
            if not self.subset(node.value):
                self.fail("adds items that -k/-m did not select", node)
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Attribute) and self._is_list(t) and not self.subset(node.value):
                    self.fail("rebinds session.items to items -k/-m did not select", node)
                if isinstance(t, ast.Subscript) and self._is_list(t.value):
                    ok = self.subset(node.value) if isinstance(t.slice, ast.Slice) else self.element(node.value)
                    if not ok:
                        self.fail("puts items that -k/-m did not select into the list", node)

    def _check_handed(self, node: ast.AST) -> None:
        if not isinstance(node, ast.Call):
            return
        given = [a for a in node.args if self.subset(a) and not isinstance(a, ast.Starred)]
        given += [k.value for k in node.keywords if self.subset(k.value)]
        if not any(self._is_list(a) for a in given):
            return
        func = node.func
        if isinstance(func, ast.Name) and func.id in _READING_CALLS:
            return
        if isinstance(func, ast.Attribute) and func.attr == "pytest_deselected" and _dotted(func.value).endswith("hook"):
            return
        if isinstance(func, ast.Name) and func.id in self.module and self.depth < 3:
            if self._helper_is_safe(node, self.module[func.id]):  # type: ignore[arg-type]
                return
        self.fail(f"hands items to {_dotted(func) or 'a call'}", node)

    def _helper_is_safe(self, call: ast.Call, helper: ast.FunctionDef) -> bool:
        if not isinstance(helper, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        params = [a.arg for a in helper.args.args]
        mapped = [params[i] for i, a in enumerate(call.args) if i < len(params) and self._is_list(a)]
        mapped += [k.arg for k in call.keywords if k.arg and self._is_list(k.value)]
        if len(mapped) != 1:
            return False
        inner = AfterReader(helper, mapped[0], self.module, {}, self.depth + 1).run()
        self.crossings.extend((why, self.conds.get(id(call), ())) for why, _ in inner)
        return True

    def _check_state(self) -> None:
        """An effect on the list decided by state that outlives the call."""
        parents: Dict[int, ast.AST] = {}
        for parent in ast.walk(self.func):
            for child in ast.iter_child_nodes(parent):
                parents[id(child)] = parent
        for node in ast.walk(self.func):
            if not self._effect(node):
                continue
            deciding = [node]
            at = parents.get(id(node))
            while at is not None:
                if isinstance(at, (ast.If, ast.While)):
                    deciding.append(at.test)
                elif isinstance(at, (ast.For, ast.AsyncFor, ast.comprehension)):
                    deciding.append(at.iter)
                at = parents.get(id(at))
            for d in deciding:
                name = self._state_read(d)
                if name:
                    self.fail(f"decides on {name}, which outlives the call", node)
                    return

    def _effect(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and self._is_list(node.func.value):
            return node.func.attr not in ("index", "count", "copy")
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            return any(isinstance(t, ast.Subscript) and self._is_list(t.value) for t in targets) \
                or (isinstance(node, ast.AugAssign) and self._is_list(node.target))
        return False

    def _state_read(self, node: ast.AST) -> str:
        roots = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute)}
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in self.own_names \
                    and n.id not in self.state_roots:
                return n.id
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in self.state_roots \
                    and id(n) not in roots:
                return n.id
            if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and _root_name(n) in self.state_roots:
                dotted = _dotted(n)
                if dotted.split(".")[1:2] == ["config"]:
                    continue  # session.config, self.config: options are inputs
                return dotted or _root_name(n)
        return ""
