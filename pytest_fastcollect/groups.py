"""pytest_collection_modifyitems implementations that rebuild items per
module or per class: what can be shown about them.

The shape (a project's test plugin that expands each test class into
generated per-configuration subclasses, written into the module's
namespace, and rebuilds the item list from their collect()):

    groups = {}
    for item in items:                        # (1) grouping
        if <the item's own data>: continue
        groups.setdefault(<KEY>, []).append(item)
    rebuilt = []
    for key, its_items in groups.items():     # (2) one group at a time
        ... rebuilt.append(...) / rebuilt.extend(...)
    items[:] = rebuilt                        # (3)

The items it leaves for module M depend only on M's items when

- KEY is a node of one module (`item.parent`, `item.getparent(pytest.Class)`,
  `item.getparent(pytest.Module)`, `item.module`, `item.path`, `item.fspath`;
  not `item.cls`, which a class imported into another module shares): every
  group lies inside one module;
- the grouping loop decides from the item alone (reads rooted at the item,
  constants) and only appends the item to its group;
- the group loop reads only its key and group, names it binds itself,
  `config`, and module-level names that nothing rebinds or changes
  (imports, defs, classes, constant literals); it carries nothing from one
  group to the next but what it appends to the result lists; it writes
  only into objects reached from its key or group (the module's namespace);
- the item list receives exactly the result lists.

Then each group's output is a function of that group, so skipping a module
(none of whose items -k/-m could select) changes neither which items the
other modules get nor their names and markers; learned records, taken where
-k/-m sees the rebuilt items, stay exact. Anything else is not shown.
"""

from __future__ import annotations

import ast
import builtins
from typing import Dict, List, Optional, Set

# Expressions of an item that name a node of exactly one module.
_MODULE_KEYS = {"parent", "module", "path", "fspath"}
_GETPARENT_KINDS = {"Class", "Module"}
_BUILTINS = set(dir(builtins))
_MUTATORS = {"append", "add", "extend", "update", "insert", "setdefault", "pop", "popitem", "remove", "discard",
             "clear", "appendleft", "extendleft", "sort", "reverse", "__setitem__"}


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else ""


def _root(node: ast.AST) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call, ast.Starred)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return _name(node)


class _Proof:
    """Checks one function against the shape above; `why` says what fails."""

    def __init__(self, func: ast.FunctionDef, items: str, module: Dict[str, ast.AST],
                 constants: Set[str]) -> None:
        self.func = func
        self.items = items
        self.module = module  # module-level defs and classes
        self.constants = constants  # module-level names bound once to literals, imports
        self.groups: Dict[str, str] = {}  # dict name -> key kind
        self.results: Set[str] = set()  # lists the group loops append to
        self.config = {a.arg for a in func.args.args + func.args.kwonlyargs} - {items}
        self.why = ""

    def fail(self, why: str, node: Optional[ast.AST] = None) -> bool:
        if not self.why:
            self.why = f"{why} (line {getattr(node, 'lineno', '?')})"
        return False

    def run(self) -> Optional[str]:
        body = [s for s in self.func.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]  # docstring
        stage = 0
        for stmt in body:
            if stage <= 1 and self._init(stmt):
                continue
            if stage <= 1 and isinstance(stmt, ast.For) and _name(stmt.iter) == self.items:
                if not self._grouping(stmt):
                    return self.why
                stage = 1
                continue
            if stage >= 1 and isinstance(stmt, ast.For) and self._group_iter(stmt.iter):
                if not self._group_loop(stmt):
                    return self.why
                stage = 2
                continue
            if stage == 2 and self._final(stmt):
                stage = 3
                continue
            self.fail("a statement outside the shape", stmt)
            return self.why
        return None if stage == 3 else (self.why or "not a per-group rebuild")

    # -- (0) initial empty containers --------------------------------------
    def _init(self, stmt: ast.stmt) -> bool:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            return False
        v, name = stmt.value, stmt.targets[0].id
        if isinstance(v, ast.List) and not v.elts:
            self.results.add(name)
            return True
        empty_dict = isinstance(v, ast.Dict) and not v.keys
        if isinstance(v, ast.Call) and not v.keywords:
            callee = v.func.attr if isinstance(v.func, ast.Attribute) else _name(v.func)
            empty_dict = (callee == "dict" and not v.args) or \
                (callee == "defaultdict" and [_name(a) for a in v.args] == ["list"])
        if empty_dict:
            self.groups[name] = ""
        return empty_dict

    # -- (1) the grouping loop ----------------------------------------------
    def _per_item(self, node: ast.AST, var: str, temps: Set[str]) -> bool:
        """Reads only the item (and temporaries made from it), constants, builtins."""
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                if n.id not in {var} | temps | self.constants | set(self.module) | _BUILTINS:
                    return self.fail(f"the grouping reads {n.id!r}", n)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _MUTATORS:
                return self.fail("the grouping changes something", n)
        return True

    def _module_key(self, key: ast.AST, var: str, temps: Dict[str, ast.AST]) -> bool:
        if isinstance(key, ast.Name) and key.id in temps:
            return self._module_key(temps[key.id], var, temps)
        if isinstance(key, ast.Tuple):
            return any(self._module_key(e, var, temps) for e in key.elts)
        if isinstance(key, ast.Attribute) and _name(key.value) == var and key.attr in _MODULE_KEYS:
            return True
        if isinstance(key, ast.Call) and isinstance(key.func, ast.Attribute) and key.func.attr == "getparent" \
                and _name(key.func.value) == var and len(key.args) == 1:
            kind = key.args[0]
            return (isinstance(kind, ast.Attribute) and kind.attr in _GETPARENT_KINDS) or _name(kind) in _GETPARENT_KINDS
        return False

    def _grouping(self, loop: ast.For) -> bool:
        var = _name(loop.target)
        if not var or loop.orelse:
            return self.fail("the grouping loop's target", loop)
        temps: Dict[str, ast.AST] = {}
        appended = False
        for stmt in loop.body:
            if isinstance(stmt, ast.If) and len(stmt.body) == 1 and isinstance(stmt.body[0], ast.Continue) \
                    and not stmt.orelse:
                if not self._per_item(stmt.test, var, set(temps)):
                    return False
                continue
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                    and stmt.targets[0].id not in self.groups | {var}:
                if not self._per_item(stmt.value, var, set(temps)):
                    return False
                temps[stmt.targets[0].id] = stmt.value
                continue
            key = self._append_to_group(stmt, var)
            if key is None:
                return self.fail("the grouping loop does more than group", stmt)
            if not self._per_item(key, var, set(temps)) or not self._module_key(key, var, temps):
                return self.fail("groups by something wider than a module", stmt)
            appended = True
        return appended or self.fail("the grouping loop groups nothing", loop)

    def _append_to_group(self, stmt: ast.stmt, var: str) -> Optional[ast.AST]:
        """KEY of `groups.setdefault(KEY, []).append(var)` / `groups[KEY].append(var)`."""
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            return None
        call = stmt.value
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "append"
                and [_name(a) for a in call.args] == [var] and not call.keywords):
            return None
        owner = call.func.value
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Attribute) and owner.func.attr == "setdefault" \
                and _name(owner.func.value) in self.groups and len(owner.args) == 2 \
                and isinstance(owner.args[1], ast.List) and not owner.args[1].elts:
            return owner.args[0]
        if isinstance(owner, ast.Subscript) and _name(owner.value) in self.groups:
            return owner.slice
        return None

    # -- (2) one group at a time --------------------------------------------
    def _group_iter(self, it: ast.AST) -> bool:
        return isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) \
            and it.func.attr in ("items", "values") and _name(it.func.value) in self.groups and not it.args

    def _group_loop(self, loop: ast.For) -> bool:
        if loop.orelse:
            return self.fail("the group loop has an else", loop)
        own = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
        body = ast.Module(body=loop.body, type_ignores=[])  # (its iterable reads the groups, as it may)
        bound = {n.id for n in ast.walk(body) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - own
        allowed = own | bound | self.config | self.constants | set(self.module) | _BUILTINS
        for node in ast.walk(body):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id in self.results:
                    if not self._appended(node, body):
                        return self.fail(f"the group loop reads {node.id!r}", node)
                elif node.id not in allowed:
                    return self.fail(f"the group loop reads {node.id!r}", node)
            if isinstance(node, (ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await, ast.Try,
                                 ast.Lambda, ast.FunctionDef, ast.ClassDef)):
                return self.fail("the group loop reaches outside the call", node)
        derived = self._group_derived(body, own)
        for node in ast.walk(body):
            if not self._write_inside(node, derived):
                return False
        return self._definitely_bound(loop.body, set(own), bound)

    def _group_derived(self, loop: ast.AST, own: Set[str]) -> Set[str]:
        """Names bound in the loop only to objects reached from its key or
        group (`module = node.parent`), not to a call's result or a global."""
        derived = set(own)
        stores: Dict[str, List[ast.AST]] = {}
        for node in ast.walk(loop):
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            stores.setdefault(n.id, []).append(node.value if t is n else ast.Constant(None))
            elif isinstance(node, (ast.For, ast.comprehension)):
                for n in ast.walk(node.target):
                    if isinstance(n, ast.Name):
                        stores.setdefault(n.id, []).append(node.iter)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                for n in ast.walk(node.optional_vars):
                    if isinstance(n, ast.Name):
                        stores.setdefault(n.id, []).append(ast.Constant(None))
        for _ in range(4):
            for name, values in stores.items():
                if name not in derived and all(self._reached(v, derived) for v in values):
                    derived.add(name)
        return derived

    @staticmethod
    def _reached(value: ast.AST, derived: Set[str]) -> bool:
        while isinstance(value, (ast.Attribute, ast.Subscript)):
            value = value.value
        return isinstance(value, ast.Name) and value.id in derived

    def _write_inside(self, node: ast.AST, derived: Set[str]) -> bool:
        """A write only into the group's own objects (or a result list)."""
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if not isinstance(t, (ast.Name, ast.Tuple, ast.List)) and _root(t) not in derived:
                    return self.fail("the group loop writes outside its group", node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            owner = _root(node.func.value)
            if owner not in derived and not (owner in self.results and node.func.attr in ("append", "extend")):
                return self.fail("the group loop changes something outside its group", node)
        if isinstance(node, ast.Call) and _name(node.func) in ("setattr", "delattr") and node.args \
                and _root(node.args[0]) not in derived:
            return self.fail("the group loop sets attributes outside its group", node)
        return True

    def _appended(self, name: ast.Name, loop: ast.AST) -> bool:
        """`result.append(x)` / `result.extend(x)`: the only use of a result list in a group loop."""
        for node in ast.walk(loop):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.value is name \
                    and node.func.attr in ("append", "extend"):
                return True
        return False

    def _loads_defined(self, node: ast.AST, defined: Set[str], bound: Set[str]) -> bool:
        inner = {n.id for c in ast.walk(node) if isinstance(c, ast.comprehension)
                 for n in ast.walk(c.target) if isinstance(n, ast.Name)}
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in bound \
                    and n.id not in defined | inner:
                return self.fail(f"the group loop may carry {n.id!r} from one group to the next", n)
        return True

    def _definitely_bound(self, stmts: List[ast.stmt], defined: Set[str], bound: Set[str]) -> bool:
        """Every name bound in the loop is read only where this group's pass
        has surely bound it (else it could hold the previous group's value)."""
        for stmt in stmts:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                value = stmt.value if stmt.value is not None else ast.Constant(None)
                if not self._loads_defined(value, defined, bound):
                    return False
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if isinstance(stmt, ast.AugAssign) and not self._loads_defined(
                        ast.Name(id=_root(stmt.target), ctx=ast.Load()), defined, bound):
                    return False
                for t in targets:
                    if not isinstance(t, (ast.Name, ast.Tuple, ast.List)) and not self._loads_defined(t, defined, bound):
                        return False
                    defined |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            elif isinstance(stmt, ast.For):
                if stmt.orelse or not self._loads_defined(stmt.iter, defined, bound):
                    return self.fail("a loop's else or its iterable", stmt) if stmt.orelse else False
                targets = {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)}
                if not self._definitely_bound(stmt.body, defined | targets, bound):
                    return False
            elif isinstance(stmt, ast.If):
                if not self._loads_defined(stmt.test, defined, bound):
                    return False
                a, b = set(defined), set(defined)
                if not self._definitely_bound(stmt.body, a, bound) or not self._definitely_bound(stmt.orelse, b, bound):
                    return False
                defined |= a & b
            elif isinstance(stmt, (ast.Expr, ast.Return, ast.Continue, ast.Break, ast.Pass)):
                if not self._loads_defined(stmt, defined, bound):
                    return False
            else:
                return self.fail("a statement the group loop is not read through", stmt)
        return True

    # -- (3) the item list receives the results ------------------------------
    def _final(self, stmt: ast.stmt) -> bool:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            t = stmt.targets[0]
            if isinstance(t, ast.Subscript) and _name(t.value) == self.items and isinstance(t.slice, ast.Slice) \
                    and t.slice.lower is None and t.slice.upper is None and t.slice.step is None:
                return self._results_only(stmt.value)
        return False

    def _results_only(self, value: ast.AST) -> bool:
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            return self._results_only(value.left) and self._results_only(value.right)
        return _name(value) in self.results


def per_group(func: ast.FunctionDef, items: str, module: Dict[str, ast.AST], constants: Set[str]) -> Optional[str]:
    """None when the hook is shown to rebuild items per module or per class
    (see the module's doc); otherwise what fails."""
    return _Proof(func, items, module, constants).run()


def module_constants(tree_body: List[ast.stmt]) -> Set[str]:
    """Module-level names a hook may read without reading state other
    modules' collection can change: pytest (and names imported from it),
    and names bound exactly once, to a literal, that no function or
    statement of the module changes (a mutating method call, a global
    statement, a subscript store). Other imports are not: an imported
    module's attributes may be filled by test modules' imports."""
    counts: Dict[str, int] = {}
    literal: Set[str] = set()
    names: Set[str] = set()
    for stmt in tree_body:
        if isinstance(stmt, ast.Import):
            names.update(a.asname or a.name for a in stmt.names if a.name == "pytest")
        elif isinstance(stmt, ast.ImportFrom) and stmt.module in ("pytest", "_pytest") and not stmt.level:
            names.update(a.asname or a.name for a in stmt.names if a.name != "*")
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            n = stmt.targets[0].id
            counts[n] = counts.get(n, 0) + 1
            try:
                ast.literal_eval(stmt.value)
                literal.add(n)
            except (ValueError, SyntaxError, TypeError):
                pass
    changed: Set[str] = set()
    for node in ast.walk(ast.Module(body=tree_body, type_ignores=[])):
        if isinstance(node, ast.Global):
            changed.update(node.names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            changed.add(_root(node.func.value))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            changed.update(_root(t) for t in targets if not isinstance(t, ast.Name))
    return names | {n for n in literal if counts.get(n) == 1} - changed
