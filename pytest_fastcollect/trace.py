"""Which code ran during collection: the collection surface of each file.

A learned generation depends on the files collection loaded, but mostly on
little of them: the module and class bodies that ran, and the functions that
were called. While a filtered session collects, every code object that
starts or resumes is noted once:

- Python 3.12+: ``sys.monitoring`` (PY_START and PY_RESUME, each location
  disabled after its first event, so each code object costs one callback);
- Python 3.9-3.11: a frame-evaluation hook in the native core
  (``trace_hook.c``), which sees every frame of every thread.

What the tracer cannot see makes a file count as its whole content: a module
whose body ran before tracing began, and every file when the tracing was
displaced (another frame-evaluation hook installed meanwhile). Reading a
function's code object as data (``func.__code__`` outside signature
inspection) counts as running it: its body becomes part of the surface.
"""

from __future__ import annotations

import dis
import os
import sys
from typing import Any, Dict, List, Optional, Set, Tuple

# Code that is part of a surface wherever it sits (no name to look up).
ANONYMOUS = frozenset({"<module>", "<lambda>", "<genexpr>", "<listcomp>", "<dictcomp>", "<setcomp>"})

Ran = Dict[str, List[Tuple[str, int]]]  # file -> [(co_name, co_firstlineno)]
# Beside the code that ran, a file's entries name the functions whose
# docstring collection read, prefixed (surface.h: RanCode), or all of them.
DOC_READ = "\x01"
ALL_DOCS_READ = DOC_READ + "*"
# typing.TYPE_CHECKING was true while collecting (src/surface.h: kTypeCheckingRuns).
TYPE_CHECKING_RUNS = "\x02TYPE_CHECKING"


# Lookups in the code's own globals (a module or class body's LOAD_NAME reads
# its module too; `del` of a missing name raises); storing a name reads
# nothing. Reads of other modules' attributes are recorded by the core's
# module hook, as every getattr on a module is (module_reads.c).
_OWN = frozenset(dis.opmap[n] for n in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS", "DELETE_NAME",
                                         "DELETE_GLOBAL") if n in dis.opmap)
# LOAD_GLOBAL's argument holds the name's index shifted left (3.11+).
_SHIFTED = {dis.opmap["LOAD_GLOBAL"]: 1} if sys.version_info >= (3, 11) else {}
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]


def _own_table() -> bytes:
    """The opcode table of the core's own_reads (module_reads.c)."""
    table = bytearray(256)
    for op in _OWN:
        table[op] = 1 + _SHIFTED.get(op, 0)
    table[_EXTENDED_ARG] = 255
    return bytes(table)


_OWN_TABLE = _own_table()


class Traced:
    """What one session ran: per file, the named code objects that ran, and
    the files whose module body ran while tracing."""

    def __init__(self, codes: List[Any], preloaded: Optional[Set[str]] = None, core: Any = None) -> None:
        self.ran: Ran = {}
        self.module_ran: Set[str] = set()
        # Names exec'd text looked up in whatever globals it ran with (bindings.h).
        self.names: Set[str] = set()
        self.own_names: Dict[str, Set[str]] = {}  # file -> names its code read from its globals
        self.preloaded: Set[str] = preloaded if preloaded is not None else set()
        unique = list({id(c): c for c in codes}.values())  # (the tracer may give one more than once)
        self._reads_of(unique, core)
        # Grouped by file: each file's path is made once, each (name, line)
        # kept once (7,540 code objects in a pandas learning run).
        by_file: Dict[str, Set[Tuple[str, int]]] = {}
        for code in unique:
            by_file.setdefault(code.co_filename, set()).add((code.co_name, code.co_firstlineno))
        cwd = os.getcwd()
        for filename, named in by_file.items():
            if not filename or filename.startswith("<"):
                continue  # exec'd text, frozen modules
            path = filename if os.path.isabs(filename) else os.path.normpath(os.path.join(cwd, filename))
            if any(name == "<module>" for name, _ in named):
                self.module_ran.add(path)
            ran = sorted(item for item in named if item[0] not in ANONYMOUS)
            if ran:
                self.ran.setdefault(path, []).extend(ran)

    def _reads_of(self, codes: List[Any], core: Any) -> None:
        """Every code object's lookups in its own globals, by file (the
        core scans the bytecode: module_reads.c). Without the core nothing
        is learned, so nothing is needed."""
        scan = getattr(core, "own_reads", None)
        by_file = scan(codes, _OWN_TABLE) if scan is not None else {}
        for filename, names in by_file.items():
            if not filename or filename.startswith("<"):
                self.names.update(names)  # exec'd text: run in some other module's globals
            else:
                self.own_names.setdefault(os.path.abspath(filename), set()).update(names)

    def of(self, path: str) -> Optional[List[Tuple[str, int]]]:
        """The named code that ran in `path`, or None when the file has no
        surface (its module body did not run while tracing)."""
        if path not in self.module_ran:
            return None
        return self.ran.get(path, [])


class Tracer:
    """Notes every code object that runs between start() and stop()."""

    def __init__(self, core: Any) -> None:
        self._core = core
        self._tool: Optional[int] = None
        self._native = False
        self._codes: List[Any] = []
        self.code_reads: List[Any] = []  # code objects read as data (see inputs.py)
        self.preloaded: Set[str] = set()  # modules loaded before tracing began

    def start(self) -> bool:
        self.preloaded = {name for name, m in list(sys.modules.items()) if m is not None}
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is not None:
            return self._start_monitoring(monitoring)
        if self._core is not None and self._core.trace_start():
            self._native = True
            return True
        return False

    def _start_monitoring(self, monitoring: Any) -> bool:
        for tool in (4, 3):  # not claimed by the debugger, coverage, profiler or optimizer ids
            if monitoring.get_tool(tool) is None:
                break
        else:
            return False
        monitoring.use_tool_id(tool, "pytest-fastcollect")
        codes = self._codes
        disable = monitoring.DISABLE

        def seen(code: Any, offset: int) -> Any:
            codes.append(code)
            return disable

        events = monitoring.events
        monitoring.register_callback(tool, events.PY_START, seen)
        monitoring.register_callback(tool, events.PY_RESUME, seen)
        # Locations disabled by an earlier session of this process fire again.
        monitoring.restart_events()
        monitoring.set_events(tool, events.PY_START | events.PY_RESUME)
        self._tool = tool
        return True

    def stop(self, keep: bool = True) -> Optional[Traced]:
        """What ran (not gathered unless kept), or None when the tracing was
        not complete."""
        if self._tool is not None:
            monitoring = sys.monitoring  # type: ignore[attr-defined]
            monitoring.set_events(self._tool, 0)
            monitoring.register_callback(self._tool, monitoring.events.PY_START, None)
            monitoring.register_callback(self._tool, monitoring.events.PY_RESUME, None)
            monitoring.free_tool_id(self._tool)
            self._tool = None
            codes, self._codes = self._codes, []
            return Traced(codes + self.code_reads, self.preloaded, self._core) if keep else None
        if self._native:
            self._native = False
            displaced = self._core.trace_displaced()
            codes = self._core.trace_stop()
            return None if displaced or not keep else Traced(codes + self.code_reads, self.preloaded, self._core)
        return None
