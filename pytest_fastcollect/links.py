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
import collections
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

CONTAINERS = (list, dict, set, bytearray, collections.deque)
_MUTATORS = {"append", "add", "extend", "update", "insert", "setdefault", "pop", "popitem", "remove", "discard",
             "clear", "appendleft", "extendleft", "sort", "reverse", "rotate", "difference_update",
             "intersection_update", "symmetric_difference_update", "__setitem__", "__delitem__", "__iadd__"}
# Calls that read what they are given (test decorators, builtins, itertools).
_READERS = {"parametrize", "param", "fixture", "usefixtures", "list", "tuple", "set", "frozenset", "dict", "sorted",
            "len", "enumerate", "zip", "reversed", "iter", "any", "all", "min", "max", "sum", "map", "filter",
            "str", "repr", "isinstance", "product", "chain", "combinations", "permutations", "deepcopy", "copy",
            "print", "format", "join", "skipif", "xfail", "filterwarnings", "bool", "hash", "id"}


def _shallow(value: Any) -> Any:
    """What a change of the container shows in: its items' identities."""
    if isinstance(value, dict):
        return (len(value), hash(tuple(map(id, value))), hash(tuple(map(id, value.values()))))
    if isinstance(value, (set, frozenset)):
        return (len(value), sum(map(id, value)))
    if isinstance(value, bytearray):
        return bytes(value)
    return (len(value), hash(tuple(map(id, value))))


def _is_iterator(value: Any) -> bool:
    return hasattr(type(value), "__next__")


@dataclass
class Watch:
    """Watches the containers test modules hold, in windows: one per test
    module, from the start of its collection to the start of the next
    module's (its classes and items are collected in between).

    A container's shallow content is taken when a test module's namespace
    first shows it (before the module's items are made), or, for the
    containers of the project's own modules (below `project_dirs`, not test
    modules), when the module is first seen loaded at a window's start: a
    registry that test classes fill (`__init_subclass__`, decorators). It is
    compared again when a test module shows it (the first or a further
    one), and at the close of every window once two test modules hold it. A
    change is put on the windows it happened in (all windows since the last
    look, where it was not compared at every close)."""

    project_dirs: Tuple[str, ...] = ()  # each ends with a separator
    site_dirs: Tuple[str, ...] = ()  # of them, the collection roots' anchors (may be in site-packages)
    test_files: FrozenSet[str] = frozenset()
    windows: List[str] = field(default_factory=list)  # test modules, in collection order
    held: Dict[int, Any] = field(default_factory=dict)  # id -> the object (held: ids stay unique)
    known: Dict[int, Tuple[Any, int]] = field(default_factory=dict)  # id -> (content, window it was taken in)
    holders: Dict[int, int] = field(default_factory=dict)  # id -> test module namespaces that showed it
    changed_by: Dict[int, Set[str]] = field(default_factory=dict)  # id -> modules whose windows changed it
    _shared: Set[int] = field(default_factory=set)  # held by two or more test modules: compared at each close
    # Taken before any test module showed it (a project module's): a change
    # made by its first holder's own import shows in the first comparison.
    prior: Set[int] = field(default_factory=set)
    _tracked: Set[int] = field(default_factory=set)  # modules (id) whose namespace was read
    _modules_seen: int = 0  # how many entries of sys.modules were looked at

    def open_window(self, path: Optional[str]) -> None:
        """Closes the current window (None: the last one, collection over)."""
        if self.windows:
            for key in self._shared:
                self._compare(key)
        self._project_modules()
        if path is not None:
            self.windows.append(path)

    def _compare(self, key: int) -> None:
        content, since = self.known[key]
        now = _shallow(self.held[key])
        if now != content:
            self.changed_by.setdefault(key, set()).update(self.windows[max(since, 0):])
        self.known[key] = (now, len(self.windows) - 1)

    def _project_modules(self) -> None:
        """The project's modules loaded since the last look: their containers."""
        if not self.project_dirs:
            return
        loaded = list(sys.modules.values())
        fresh = loaded[self._modules_seen:] if len(loaded) >= self._modules_seen else loaded
        self._modules_seen = len(loaded)
        for module in fresh:
            file = getattr(module, "__file__", None)
            if not isinstance(file, str) or id(module) in self._tracked or file in self.test_files \
                    or not file.startswith(self.project_dirs):
                continue
            if not file.startswith(self.site_dirs) and ("site-packages" in file or "dist-packages" in file):
                continue  # a venv inside the project
            self._tracked.add(id(module))
            namespace = getattr(module, "__dict__", None)
            for name, value in list(namespace.items()) if isinstance(namespace, dict) else []:
                if not name.startswith("__") and isinstance(value, CONTAINERS) and id(value) not in self.held:
                    self.held[id(value)] = value
                    self.holders[id(value)] = 0
                    self.known[id(value)] = (_shallow(value), len(self.windows) - 1)

    def track(self, module: Any) -> None:
        """A test module's namespace, once, before its items are made."""
        if id(module) in self._tracked:
            return
        self._tracked.add(id(module))
        for name, value in list(vars(module).items()):
            if name.startswith("__") or not isinstance(value, CONTAINERS):
                continue
            key = id(value)
            if key not in self.held:
                self.held[key] = value
                self.holders[key] = 1
                self.known[key] = (_shallow(value), len(self.windows) - 1)
                continue
            if self.holders[key] == 0:
                self.prior.add(key)
            self.holders[key] += 1
            self._compare(key)
            if self.holders[key] == 2:
                self._shared.add(key)


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
    of imported modules it sets, as "mod.attr" ("mod.*": a computed name):
    `mod.attr = ...`, `del mod.attr`, `setattr(mod, ...)`). Unreadable
    source: ({"*"}, {"*"})."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {"*"}, {"*"}
    modules = {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    top = {id(stmt) for stmt in tree.body}
    changed: Set[str] = set()
    attrs: Set[str] = set()
    for node in _module_level(tree):
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
                dotted = _dotted(t)
                if isinstance(t, ast.Attribute) and dotted.split(".")[0] in modules:
                    attrs.add(dotted)
            value = getattr(node, "value", None)
            if isinstance(value, ast.Name) and not (id(node) in top and all(isinstance(t, ast.Name) for t in targets)):
                changed.add(value.id)  # another name for the object, where the namespace does not show it
        elif isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.iter, ast.Name) and _writes_through(node):
            changed.add(node.iter.id)
    changed.discard("")
    attrs.discard("")
    return changed, attrs


def module_stores(source: str) -> Optional[Set[str]]:
    """The root names of what the module-level code changes in place
    (attribute or subscript targets of assignments and del, augmented
    assignment targets): the core's FileFacts.stores. None: unreadable."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    out: Set[str] = set()
    for node in _module_level(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                for e in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
                    if isinstance(e, (ast.Attribute, ast.Subscript)) or isinstance(node, ast.AugAssign):
                        out.add(_root(e))
    out.discard("")
    return out


_IMMUTABLE = (int, float, complex, str, bytes, bool, tuple, frozenset, type(None))


def _stored_objects(module: Any, path: str) -> Optional[List[Any]]:
    """The mutable objects the module's top-level code changes in place, or
    None when one of them is a module or not found (never its own)."""
    try:
        with open(path, "rb") as f:
            names = module_stores(f.read().decode("utf-8", "replace"))
    except OSError:
        return None
    if names is None:
        return None
    namespace = vars(module)
    out = []
    for name in names:
        if name not in namespace or isinstance(namespace[name], type(sys)):
            return None
        if not isinstance(namespace[name], _IMMUTABLE):
            out.append(namespace[name])
    return out


def own_changers(candidates: Dict[str, Any]) -> Set[str]:
    """Of these test modules (path -> module), the ones that change in place
    only objects no other module holds (`iris = load_iris(); iris.data =
    ...`): not in another module's namespace, nor one level inside one of
    its containers (a helper's cache). Skipping such a module changes
    nothing the others see. An object reached some other way is not seen
    here (docs/design.md)."""
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
        namespace = getattr(other, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for value in list(namespace.values()):
            inner = list(value.values()) if isinstance(value, dict) else \
                list(value) if isinstance(value, (list, set, tuple)) and len(value) < 100000 else []
            for v in [value, *inner]:
                if id(v) in wanted:
                    holders.setdefault(id(v), set()).add(id(other))
    return {path for path, objects in stored.items()
            if all(holders.get(id(v), set()) <= {id(candidates[path])} for v in objects)}


def owner_of(value: Any, test_modules: Set[str]) -> str:
    """`module.attribute` naming the object outside this process (the first
    non-test module that holds it), or its type when none does."""
    for name, mod in list(sys.modules.items()):
        namespace = getattr(mod, "__dict__", None)
        if not isinstance(namespace, dict) or getattr(mod, "__file__", None) in test_modules:
            continue
        for attr, held in list(namespace.items()):
            if held is value:
                return f"{name}.{attr}"
    return type(value).__name__


@dataclass
class Links:
    """Per test module: the modules it must be collected with, and why."""

    linked: Dict[str, Set[str]] = field(default_factory=dict)
    why: Dict[str, str] = field(default_factory=dict)  # module -> the first rule that linked it

    def join(self, group: Iterable[str], why: str) -> None:
        members = set(group)
        if len(members) < 2:
            return
        for p in members:
            self.linked.setdefault(p, set()).update(members - {p})
            self.why.setdefault(p, why)


# Module-level text that may set an attribute of an imported module (a
# statement starting at column 0 with a dotted target, setattr, del): only
# such sources are parsed for attribute writes.
_ATTRIBUTE_WRITE = re.compile(
    r"^(?:del\s+[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\s*[-+*/|&]?=(?!=))|setattr\(", re.M)


class _Sources:
    """Each test module's module-level writes, read once and only when asked."""

    def __init__(self) -> None:
        self._read: Dict[str, Tuple[Set[str], Set[str]]] = {}
        self._text: Dict[str, Optional[str]] = {}

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
        text = self.text(path)
        return text is None or _ATTRIBUTE_WRITE.search(text) is not None


def find_links(modules: Dict[str, Any], watch: Optional[Watch]) -> Links:
    """The links between these test modules (path -> module object), from
    what `watch` saw during collection and what their sources write."""
    holders: Dict[int, Dict[str, List[str]]] = {}  # id -> holder path -> names bound to it
    objects: Dict[int, Any] = {}
    module_holders: Dict[int, Set[str]] = {}  # id of a module object -> test modules holding it
    for path, module in modules.items():
        for name, value in list(vars(module).items()):
            if name.startswith("__"):
                continue
            if isinstance(value, type(sys)):
                module_holders.setdefault(id(value), set()).add(path)
            elif _is_iterator(value) or isinstance(value, CONTAINERS):
                objects[id(value)] = value
                holders.setdefault(id(value), {}).setdefault(path, []).append(name)
    links = Links()
    shared = {k: h for k, h in holders.items() if len(h) > 1}
    sources = _Sources()
    test_files = set(modules)
    for key, by_path in holders.items():
        value = objects[key]
        if _is_iterator(value):
            if len(by_path) > 1:
                links.join(by_path, f"shares the iterator {owner_of(value, test_files)}")
            continue
        if watch is None:
            changers = set(by_path) if key in shared else set()
        else:
            changers = set(watch.changed_by.get(key, ()))
        if key in shared and (watch is None or key not in watch.prior):
            # Not watched before its first holder's import: its source tells.
            changers |= {p for p, names in by_path.items() if sources.writes(p)[0] & ({"*"} | set(names))}
        if changers and (key in shared or changers - set(by_path)):
            links.join(set(by_path) | changers, f"shares {owner_of(value, test_files)}, which "
                                                f"{', '.join(sorted(_short(p) for p in changers))} may change")
    _defined_in_tests(modules, holders, objects, links)
    _attribute_writers(modules, sources, module_holders, links)
    return links


def _defined_in_tests(modules: Dict[str, Any], holders: Dict[int, Dict[str, List[str]]], objects: Dict[int, Any],
                      links: Links) -> None:
    """A container holding classes or functions another test module defined
    (a registry its classes or decorators filled), linked with that module."""
    by_name = {getattr(m, "__name__", ""): p for p, m in modules.items()}
    for key, by_path in holders.items():
        value = objects[key]
        if _is_iterator(value):
            continue
        elements = list(value.values()) + list(value) if isinstance(value, dict) else list(value)
        for element in elements[:10000]:
            owner = getattr(element, "__module__", None) if callable(element) else None
            path = by_name.get(owner) if isinstance(owner, str) else None
            if path is not None and path not in by_path:
                links.join(set(by_path) | {path}, f"holds {getattr(element, '__qualname__', '?')} "
                                                   f"defined in {_short(path)}")


def _written_module(namespace: Dict[str, Any], dotted: str) -> Tuple[Any, str]:
    """(the deepest module on the path of a written attribute, the attribute
    of it written or "*"): `lib.fixes.MODE` -> (lib.fixes, "MODE"),
    `pd.options.x = 1` -> (pandas, "*")."""
    parts = dotted.split(".")
    target = namespace.get(parts[0])
    if not isinstance(target, type(sys)):
        return None, ""
    for part in parts[1:-1]:
        inner = getattr(target, part, None)
        if not isinstance(inner, type(sys)):
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
                pairs = [(v, "*") for v in namespace.values() if isinstance(v, type(sys))]
            else:
                pairs = [_written_module(namespace, written)]
            for target, attr in pairs:
                if not isinstance(target, type(sys)):
                    continue
                readers: Set[str] = set()
                chain = target.__name__.split(".")
                for i in range(1, len(chain) + 1):
                    package = sys.modules.get(".".join(chain[:i]))
                    readers |= module_holders.get(id(package), set()) if package is not None else set()
                if attr != "*":
                    readers |= {other for other, mod in modules.items() if attr in vars(mod)}
                links.join(readers | {path}, f"{_short(path)} sets attributes of {target.__name__}")


def _short(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[-2:])
