"""What collection read: the inputs a learned record depends on.

From the moment pytest loads the initial conftests (before `pytest_configure`
hooks run) to the end of collection, a recorder notes

- environment variables looked up (``os.environ`` and ``os.environb``),
- command-line option values read by conftests and plugins (``config.option``,
  ``config.getoption``), and the options pytest itself reads that can change
  which items a module yields,
- files opened for reading, except the outputs of this very process: a file
  it created or wrote before first reading it, or one under a directory it
  created (a ``mkdtemp()`` scratch file is gone, and named differently, next
  run). A file read first and rewritten later (a cache) stays an input.
  Files read as data rather than imported (``open``, ``linecache``,
  ``inspect.getsource``) count as their whole content, not their surface;
- the code that ran (trace.py), and code objects read as data
  (``func.__code__`` outside signature inspection and pytest itself).

Values are taken from one snapshot made when the plugin decides (after
start-up code ran): the key of a learned generation is the value each input
had at that point, and the next run compares the values at the same point.
A variable collection itself sets later (``os.environ.setdefault``) is then
an output, not an input.
"""

from __future__ import annotations

import argparse
import builtins
import os
import sys
import threading
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import pytest

from pytest_fastcollect import env_readers, programs
from pytest_fastcollect.environment import OPTIONS_NOT_INPUTS
from pytest_fastcollect.trace import Traced, Tracer

# Options pytest itself reads while collecting that do not change any
# module's items, keywords or markers (reporting, the filter it applies after
# the snapshot of items, ...). Any other option pytest reads is an input.
# A name missing here costs a relearn, never an answer.
PYTEST_HARMLESS_OPTIONS = frozenset({
    "keyword", "markexpr", "verbose", "quiet", "collectonly", "color", "code_highlight", "tbstyle",
    "showlocals", "reportchars", "capture", "no_header", "no_summary", "fulltrace", "showcapture",
    "disable_warnings", "durations", "durations_min", "debug", "traceconfig", "usepdb", "usepdb_cls",
    "trace", "setuponly", "setupshow", "setupplan", "show_fixtures_per_test", "showfixtures",
    "maxfail", "exitfirst", "continue_on_collection_errors", "runxfail", "xmlpath", "junitprefix",
    "pastebin", "basetemp", "log_level", "log_format", "log_date_format", "log_cli_level",
    "log_file", "log_file_level", "log_file_format", "log_file_date_format", "log_auto_indent",
    "log_file_mode", "logger_disable", "strict", "strict_markers", "strict_config", "version",
    "help", "override_ini", "inifilename", "rootdir", "confcutdir", "noconftest", "importmode",
    "pyargs", "plugins", "cacheshow", "cacheclear", "no_fast_collect", "fast_collect_explain",
    "assertmode", "xfail_tb", "force_short_summary", "deselect_count", "fold_skipped",
    "verbosity_assertions", "verbosity_test_cases", "numprocesses", "dist", "maxprocesses",
    "tx", "rsyncdir", "rsyncignore", "looponfail", "maxschedchunk", "loadgroup", "distload",
    # Which files are collected, not what a module yields.
    "file_or_dir", "ignore", "ignore_glob", "collect_in_virtualenv", "markers", "log_cli_format",
    "log_cli_date_format", "doctestglob", "stepwise_reset",
    # Act on the items -k/-m selected (--ff, --nf reorder them), or in
    # sessions that record nothing (--lf, --sw: cache_options.py); --deselect
    # drops items learned records add back (learn.py).
    "lf", "failedfirst", "newfirst", "last_failed_no_failures", "stepwise", "stepwise_skip", "deselect",
})

# Variables of the shell session, not of the project: when collection iterates
# the whole environment (`dict(os.environ)` in `platform.architecture()`,
# dask's config reading `os.environ.items()`), their names and the values read
# along are left out of the inputs. Looked up by name, any of them is an input.
SHELL_VARIABLES = frozenset({
    "_", "OLDPWD", "PWD", "SHLVL", "TERM", "COLUMNS", "LINES", "SHELL", "HISTFILE", "HISTSIZE",
    "HISTFILESIZE", "HISTCONTROL", "PS1", "PS2", "PS4", "PROMPT_COMMAND", "TERM_PROGRAM",
    "TERM_PROGRAM_VERSION", "TERM_SESSION_ID", "WINDOWID", "TMUX", "TMUX_PANE", "STY", "COLORTERM",
    "LS_COLORS", "LESS", "LESSOPEN", "LESSCLOSE", "MAIL", "SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY",
    "SSH_AUTH_SOCK", "SSH_AGENT_PID", "XDG_SESSION_ID", "XDG_SESSION_TYPE", "XDG_VTNR", "DISPLAY",
    "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "PYTEST_CURRENT_TEST", "PYTEST_VERSION", "INVOCATION_ID",
    "JOURNAL_STREAM", "VSCODE_PID", "VSCODE_IPC_HOOK_CLI", "GPG_TTY", "MANPATH",
})
# Variables a known plugin sets in every run to a fresh value for itself (a
# new temporary directory): outputs of that run, never inputs, whether looked
# up by name or read with the whole environment.
PLUGIN_OUTPUT_VARIABLES = frozenset({
    "MEMRAY_RESULT_PATH",  # pytest-memray's pytest_configure: a TemporaryDirectory per session
})
# The terminal size, which pytest's own terminal writer looks up
# (shutil.get_terminal_size) while configuring: not an input when pytest reads
# it (xdist workers have COLUMNS=80, LINES=24 where the controller has none).
# Looked up by anyone else, it is one.
PYTEST_HARMLESS_ENV = frozenset({"COLUMNS", "LINES"})
_SHUTIL = os.sep + "shutil.py"
_XDIST_REMOTE = os.path.join("xdist", "remote.py")

# Kernel views (per process, per boot): /proc/self/maps differs in every
# process. Reading them is not reading a project input.
PSEUDO_FILESYSTEMS = ("/proc/", "/sys/", "/dev/")
# Iterating the environment reads which variables exist: one input, their
# names (the shell's own left out). A value is an input where it is looked up,
# also while iterating (items(), dict()): a PATH changed by a profiler or an
# activated venv no longer stales what only listed the names. (A copy reads
# every value: fsspec's config, under pandas' and statsmodels' collection,
# copies the environment before it picks the FSSPEC_* names: a known reader,
# env_readers.py, whose input is the names with its prefix.)
ENVIRONMENT_NAMES = "env:*names"

# Audit hooks cannot be removed: one per process forwards events to the
# recorder that is watching at that moment (none outside a filtered session).
_watching: List["Recorder"] = []
_audit_hook_added: List[bool] = []


def _pytest_dirs() -> Tuple[str, ...]:
    import _pytest
    import pluggy

    return (
        os.path.dirname(os.path.abspath(_pytest.__file__)) + os.sep,
        os.path.dirname(os.path.abspath(pluggy.__file__)) + os.sep,
    )


_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _audit(event: str, args: Tuple[Any, ...]) -> None:
    if not _watching:  # cheap outside collection
        return
    rec = _watching[-1]
    if event == "open":
        rec.on_open(args)
    elif event == "os.mkdir":
        rec.on_mkdir(args)
    elif event in ("os.rename", "shutil.copyfile", "shutil.move"):
        if len(args) > 1:
            rec.on_written(args[1])
    elif event == "object.__getattr__":
        if len(args) > 1 and args[1] == "__code__":
            rec.on_code_read(args[0])
    elif event in ("os.listdir", "os.scandir"):
        rec.on_listing(args[0] if args else None)
    elif event in PROGRAM_EVENTS:
        rec.on_program(event, args)


# Audit events of a program started (or the process forked): what it prints
# depends on files and state this process does not see, so no input can key it.
PROGRAM_EVENTS = frozenset(("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                            "os.forkpty"))
# Programs started by these are the test run's machinery (xdist's workers), not collection's.
_NOT_SPAWNERS = ("execnet", "xdist", "__channelexec__")  # (xdist.remote runs as __channelexec__)


def program_text(event: str, args: Tuple[Any, ...]) -> str:
    """A short name of the program an audit event started, for the explain line."""
    if event in ("os.fork", "os.forkpty"):
        return event[3:]
    if event == "os.system":
        command = args[0] if args else ""
    else:  # Popen: (executable, args, ...); os.exec, os.posix_spawn: (path, argv, env); os.spawn: (mode, ...)
        argv = args[2] if event == "os.spawn" and len(args) > 2 else args[1] if len(args) > 1 else None
        if isinstance(argv, (list, tuple)):
            command = " ".join(os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in argv)
        else:
            command = argv if argv is not None else (args[0] if args else "")
    if isinstance(command, bytes):
        command = os.fsdecode(command)
    text = str(command)
    return text if len(text) <= 80 else text[:77] + "..."


# Reading a source file through these is importing it, not reading it as data.
_IMPORT_READERS = (
    "<frozen importlib._bootstrap_external>", "<frozen importlib._bootstrap>", "<frozen zipimport>",
    os.path.join("importlib", "_bootstrap_external.py"), os.path.join("_pytest", "assertion", "rewrite.py"),
)
# Readers of source files whose reading cannot shape items: Hypothesis's
# pytest plugin reads every local module's source while collecting, to seed
# its example generation with the constants it finds (test runs, not items).
_HARMLESS_READERS = (os.path.join("hypothesis", "internal", "constants_ast.py"),)
# Reading a function's __code__ here looks at its signature or kind (part of
# its surface), not at its body.
_SIGNATURE_READERS = (os.sep + "inspect.py", os.sep + "functools.py", os.sep + "typing.py", os.sep + "dataclasses.py")


# os.environ's class gets its lookup and iteration hooks once per process;
# they report to the recorder watching now (none: one list test). Assigning
# them per session changed the class's type version each time, and CPython
# 3.13.0 stops calling a reassigned __getitem__ from specialized code once the
# class has used up its version tags (about 1000 changes: 500 sessions in one
# process, as in a pytester-heavy test suite); environment reads then went
# unrecorded and learned items outlived a changed variable.
_env_hooks_installed: List[bool] = []


def _install_env_hooks() -> None:
    if _env_hooks_installed:
        return
    environ_type = type(os.environ)
    original = environ_type.__getitem__
    original_iter = environ_type.__iter__
    original_len = environ_type.__len__
    original_repr = environ_type.__repr__
    environb = getattr(os, "environb", None)

    def getitem(mapping: Any, key: Any) -> Any:
        __tracebackhide__ = True  # a KeyError's traceback shows the user's frames only, as without it
        if _watching:
            _watching[-1].on_env_lookup(mapping, key, environb)
        return original(mapping, key)

    def watcher(mapping: Any) -> Optional["Recorder"]:
        """The recorder watching now, if `mapping` is the environment and it is not paused."""
        recorder = _watching[-1] if _watching else None
        if recorder is None or recorder.paused or not (mapping is os.environ or mapping is environb):
            return None
        return recorder

    def iterate(mapping: Any) -> Any:
        __tracebackhide__ = True
        # Iterating reads the names (one input: ENVIRONMENT_NAMES); the values
        # looked up while iterating or right after (dict(), items(), copy())
        # are inputs one by one, the shell's own variables left out.
        recorder = watcher(mapping)
        if recorder is None:
            yield from original_iter(mapping)
            return
        reader = recorder.names_read(env_readers.caller(1))
        recorder._iterating.append(reader)
        keys = []
        try:
            for key in original_iter(mapping):
                keys.append(key)
                yield key
        finally:
            recorder._iterating.remove(reader)  # iterators may be closed out of order
        recorder._pending, recorder._pending_at, recorder._pending_reader = keys, 0, reader
        recorder._pending_position = env_readers.position(env_readers.caller(1))

    def length(mapping: Any) -> int:
        # len(os.environ), bool(os.environ): how many names there are
        recorder = watcher(mapping)
        if recorder is not None:
            recorder.names_read(env_readers.caller(1))
        return original_len(mapping)  # type: ignore[no-any-return]

    def text(mapping: Any) -> str:
        # repr(os.environ), str(os.environ): every name and value, read
        # past __iter__ and __getitem__
        if _watching and mapping is os.environ:
            for key in list(mapping):  # as a copy: the names, then each value
                mapping[key]
        return original_repr(mapping)  # type: ignore[no-any-return]

    environ_type.__getitem__ = getitem  # type: ignore[method-assign]
    environ_type.__iter__ = iterate  # type: ignore[method-assign]
    environ_type.__len__ = length  # type: ignore[method-assign]
    environ_type.__repr__ = text  # type: ignore[method-assign]
    _env_hooks_installed.append(True)


_NOT_READERS = ("pytest_fastcollect", "importlib._bootstrap", "importlib._bootstrap_external")
# Listings that are not collection's own: the import system's finders (any
# importlib frame on the way), pytest's directory walk, this plugin.
_NOT_LISTERS = ("importlib", "zipimport", "_pytest", "pytest_fastcollect", "pluggy")
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
_SITE_DIRS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


def _stdlib(filename: str) -> bool:
    """Standard library code (frozen, or below os's directory, but not an
    installed package there: pyenv or a Docker image without a venv keep
    site-packages below it)."""
    return filename.startswith("<frozen") or (filename.startswith(_STDLIB_DIR)
                                              and not any(d in filename for d in _SITE_DIRS))


def _exempt(module: str) -> bool:
    """pytest's, pluggy's, this plugin's or xdist's code (its programs and
    listings are not collection's)."""
    return any(module == p or module.startswith(p + ".") for p in _NOT_LISTERS + _NOT_SPAWNERS)


class Recorder:
    """Records the inputs of one session; installed only while watching."""

    def __init__(self) -> None:
        self.env: Set[str] = set()
        self.env_iterated = False  # the names of the environment were read (iteration, copy)
        self.env_prefixes: Set[str] = set()  # ... by a known reader keeping these prefixes only
        self._readers: Dict[env_readers.Where, Optional[str]] = {}  # function -> its prefix (env_readers.py)
        # (code that iterates, its prefix or None) of each iteration running now
        self._iterating: List[Tuple[Any, Optional[str]]] = []
        self._pending: List[Any] = []  # keys of a finished iteration, looked up next in order
        self._pending_at = 0
        self._pending_reader: Tuple[Any, Optional[str]] = (None, None)
        self._pending_position: Optional[Tuple[int, int]] = None  # env_readers.position at its end
        self._digesting: Optional[int] = None  # the thread reading a reader's source (no input)
        self.options: Set[str] = set()
        self.files: Set[str] = set()  # read, and not an output of this process
        self.written: Set[str] = set()  # created or written before any read
        self.created_dirs: List[str] = []
        self.listed: Set[str] = set()  # directories collection code listed (not imports, not pytest)
        self.data_reads: Set[str] = set()  # source files read other than by importing them
        # Programs collection started whose output nothing keys (programs.py):
        # (the test module being collected then, or None outside any, the program).
        self.programs: List[Tuple[Optional[str], str]] = []
        # Read-only or missing ones: their output or absence is an input (its value when started).
        self.program_inputs: Dict[str, str] = {}
        self.window: Optional[str] = None  # the test module being collected (set by the learner)
        self._last_popen: Optional[Tuple[Any, List[Any]]] = None  # (executable, argv) of the last Popen event
        self.tracer: Optional[Tracer] = None
        self.traced: Optional[Traced] = None  # what ran, once stopped (None: unknown)
        # Modules whose namespace dir/vars/globals/locals read (by name);
        # None: not watched, so every namespace counts as read.
        self.enumerated: Optional[List[str]] = None
        self._builtins: Dict[str, Any] = {}  # the originals while watched
        # {module: names read from it} (module_reads.c); None: not recorded.
        self.module_reads: Optional[Dict[Any, Set[str]]] = None
        self._module_reads_core: Any = None
        # Code objects of the functions whose docstring collection read
        # (doc_reads.c); None: not recorded, so every docstring counts.
        self.doc_reads: Optional[List[Any]] = None
        self._doc_reads_core: Any = None
        self._reading_code = False
        self.paused = False
        self._namespace: Optional[argparse.Namespace] = None
        self._namespace_class: Optional[type] = None
        self._pytest_dirs = _pytest_dirs()
        self._config_file = os.path.join(self._pytest_dirs[0], "config", "__init__.py")

    # -- files ---------------------------------------------------------------
    @staticmethod
    def _path(file: Any) -> Optional[str]:
        if not isinstance(file, (str, bytes, os.PathLike)):
            return None  # a file descriptor
        try:
            return os.path.abspath(os.fsdecode(file))
        except (TypeError, ValueError):
            return None

    def is_output(self, path: str) -> bool:
        """Not an input: written by this process first, or a kernel view."""
        return (
            path in self.written
            or path.startswith(PSEUDO_FILESYSTEMS)
            or any(path.startswith(d) for d in self.created_dirs)
        )

    def on_open(self, args: Tuple[Any, ...]) -> None:
        if self.paused or not args or (self._digesting is not None and self._digesting == threading.get_ident()):
            return
        path = self._path(args[0])
        if path is None:
            return
        mode = args[1] if len(args) > 1 else None
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        if isinstance(mode, str):
            # "w" and "x" start from nothing: whatever is read back is this process's output.
            fresh = "w" in mode or "x" in mode
            reads = not fresh and ("r" in mode or "+" in mode)
        else:
            fresh = bool(flags & os.O_TRUNC) or (flags & (os.O_CREAT | os.O_EXCL)) == (os.O_CREAT | os.O_EXCL)
            reads = not fresh and not (flags & os.O_WRONLY)
        if reads and not self._imports():
            self.data_reads.add(path)
        if path in self.files:
            return  # read first: an input, even if rewritten later
        if reads:
            if not self.is_output(path):
                self.files.add(path)
        elif fresh or not os.path.lexists(path):  # appending to an existing file is not a fresh start
            self.written.add(path)

    @staticmethod
    def _imports() -> bool:
        """Is the file being opened by the import system (or pytest's
        assertion rewriter, which imports test modules and conftests), or
        by a reader known not to shape items?"""
        frame = sys._getframe(3)  # the code that called open()
        for _ in range(6):
            if frame is None:
                return False
            if frame.f_code.co_filename.endswith(_IMPORT_READERS + _HARMLESS_READERS):
                return True
            frame = frame.f_back
        return False

    def on_code_read(self, function: Any) -> None:
        """A function's code object read as data (a JIT compiles its body
        without running it): the body counts as having run."""
        if self.paused or self._reading_code or self.tracer is None:
            return
        where = sys._getframe(2).f_code.co_filename
        if where.endswith(_SIGNATURE_READERS) or where.startswith(self._pytest_dirs) or where.startswith(_OWN_DIR):
            return
        self._reading_code = True
        try:
            code = getattr(function, "__code__", None)
        finally:
            self._reading_code = False
        if code is not None:
            self.tracer.code_reads.append(code)

    def on_mkdir(self, args: Tuple[Any, ...]) -> None:
        path = self._path(args[0]) if args else None
        if path is not None and not self.paused and not os.path.lexists(path):
            self.created_dirs.append(path.rstrip(os.sep) + os.sep)

    def on_listing(self, path: Any) -> None:
        """A directory listed (os.listdir, os.scandir, so glob, os.walk,
        pkgutil.walk_packages): its names are an input, unless the import
        system or pytest's own walk listed it (a new file there is the
        scan's business), or this plugin did."""
        if self.paused or isinstance(path, int):
            return  # a file descriptor: not followed
        where = self._lister()
        if where is None:
            return
        listed = self._path(path if path is not None else ".")
        if listed is not None:
            self.listed.add(listed)

    def on_program(self, event: str, args: Tuple[Any, ...]) -> None:
        """A program started (or the process forked) by collection code, not
        by pytest, this plugin or xdist's machinery."""
        if self.paused or not self._collection_starts():
            return
        try:
            name = self._program_input(event, args)
        except Exception:  # noqa: BLE001 - what cannot be read stops recording (the hook must not raise)
            name = ""
        if name is None:
            return
        if name:
            self.program_inputs.setdefault(name[0], name[1])
            return
        try:
            text = program_text(event, args)
        except Exception:  # noqa: BLE001 - an argument whose str() fails: the event names it
            text = event
        self.programs.append((self.window, text))

    def _program_input(self, event: str, args: Tuple[Any, ...]) -> Optional[Any]:
        """(input, its value now) for a program that is one; "" for any
        other; None for subprocess's own posix_spawn of the program its Popen
        event named."""
        argv = list(args[1]) if len(args) > 1 and isinstance(args[1], (list, tuple)) else None
        started = (args[0], argv) if argv is not None else None
        if event == "subprocess.Popen":
            self._last_popen = started
        elif event == "os.posix_spawn" and started is not None and started == self._last_popen:
            self._last_popen = None
            return None
        self.paused = True  # (its own look at the environment, and its run now, are no inputs)
        try:
            name = programs.input_name(event, args)
            # Its value as this program sees it (a later module may change it).
            return (name, programs.output_value(name)) if name is not None else ""
        finally:
            self.paused = False

    def _collection_starts(self) -> bool:
        """Did collection code start this program (not pytest, this plugin,
        xdist's machinery)? A thread's stack that reaches none of them counts
        as collection's (a pool started by a test module)."""
        frame: Any = sys._getframe(3)  # on_program <- _audit <- the call's caller
        while frame is not None:
            name = frame.f_globals.get("__name__", "")
            if _exempt(name):
                return False
            if not _stdlib(frame.f_code.co_filename):
                return True
            frame = frame.f_back
        return True

    def _lister(self) -> Optional[str]:
        """The module responsible for a listing or a program: the first caller outside
        the standard library (None: the import system, pytest, this plugin)."""
        frame = sys._getframe(3)  # on_listing or on_program <- _audit <- the call's caller
        while frame is not None:
            name = frame.f_globals.get("__name__", "")
            if name.startswith(_NOT_LISTERS):
                return None
            if not _stdlib(frame.f_code.co_filename):
                return name
            frame = frame.f_back
        return None

    def on_written(self, file: Any) -> None:
        path = self._path(file)
        if path is not None and not self.paused and path not in self.files:
            self.written.add(path)

    # -- attribution of option reads -----------------------------------------
    def _option_read(self, name: str) -> None:
        if self.paused or name.startswith("__") or name in self.options:
            return  # (already an input: no frame walk)
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename == self._config_file \
                and frame.f_code.co_name in ("getoption", "getvalue", "getvalueorskip"):
            frame = frame.f_back  # who asked?
        where = frame.f_code.co_filename if frame is not None else ""
        if where.startswith(_OWN_DIR) or where.endswith(("argparse.py", "copy.py")):
            return
        if frame is not None and frame.f_globals.get("__name__") in OPTIONS_NOT_INPUTS:
            return  # read and known not to change items (environment.py)
        if where.endswith(_XDIST_REMOTE):
            return  # xdist.remote on a worker, run by execnet as __channelexec__
        if where.startswith(self._pytest_dirs) and name in PYTEST_HARMLESS_OPTIONS:
            return
        self.options.add(name)

    def on_env_lookup(self, mapping: Any, key: Any, environb: Any) -> None:
        if self.paused:
            return
        reader = self._iteration_of(key)
        bulk, prefix = reader is not None, reader[1] if reader is not None else None
        if mapping is environb and environb is not None and isinstance(key, bytes):
            key = os.fsdecode(key)
        elif mapping is not os.environ or not isinstance(key, str):
            return
        if key in PLUGIN_OUTPUT_VARIABLES or (bulk and key in SHELL_VARIABLES):
            return
        if prefix is not None and not key.startswith(prefix):
            return  # a known reader's iteration: it keeps only the names with its prefix
        if not bulk and key in PYTEST_HARMLESS_ENV and self._terminal_size_for_pytest():
            return
        self.env.add(key)

    def _iteration_of(self, key: str) -> Optional[Tuple[Any, Optional[str]]]:
        """The iteration this lookup is part of, as (its code, its prefix):
        made by the code that iterates, while it iterates (items(), a loop
        over the names) or right after, in the order of the names it listed
        (dict(os.environ) lists the keys, then looks each up). None for any
        other lookup, which is an input as it is (other code asking for the
        next name in that order too)."""
        pending = self._pending
        in_order = bool(pending) and self._pending_at < len(pending) and pending[self._pending_at] == key
        if not in_order:
            self._pending = []
            if not self._iterating:
                return None
        frame = env_readers.caller(3)  # _iteration_of <- on_env_lookup <- the environ hook <- the reader
        code = env_readers.reader_code(frame)
        if self._iterating and self._iterating[-1][0] is code:
            return self._iterating[-1]
        if in_order and self._pending_position is not None and env_readers.position(frame) == self._pending_position:
            self._pending_at += 1
            return self._pending_reader  # dict(os.environ): the copy of a known reader keeps its prefix
        if in_order and self._pending_reader[0] is code:
            # `for k in list(os.environ): os.environ[k]` (repr() too): the
            # iterating code's own lookups in order, read along (the shell's
            # variables left out), but not under a known reader's prefix:
            # networkx looks a variable up by name after its loop.
            self._pending_at += 1
            return code, None
        self._pending = []
        return None

    def names_read(self, frame: Any) -> Tuple[Any, Optional[str]]:
        """The environment's names were read (iterated, sized) by the code of
        `frame`: by a known reader, the names with its prefix, else every
        name. Returns (the reader's code, its prefix or None)."""
        code = env_readers.reader_code(frame)
        before, self._digesting = self._digesting, threading.get_ident()  # reading its source is no input
        try:
            prefix = None if code is None else env_readers.known_prefix(code, self._readers)
        finally:
            self._digesting = before
        if prefix is None:
            self.env_iterated = True
        else:
            self.env_prefixes.add(prefix)
        return code, prefix

    def _terminal_size_for_pytest(self) -> bool:
        """Is this lookup shutil.get_terminal_size called by pytest?"""
        frame = sys._getframe(3)  # on_env_lookup <- the environ hook <- the reader
        if frame is None or not frame.f_code.co_filename.endswith(_SHUTIL):
            return False
        caller = frame.f_back
        return caller is not None and caller.f_code.co_filename.startswith(self._pytest_dirs)

    # -- start and stop -------------------------------------------------------
    def start(self, config: pytest.Config, core: Any = None) -> None:
        tracer = Tracer(core)
        if tracer.start():
            self.tracer = tracer
            self._watch_namespaces(core)
        if not _audit_hook_added:
            # The core's hook compares event names in C and calls _audit for
            # the few events recorded (collection raises millions of others).
            install = getattr(core, "audit_install", None)
            if install is None or not install(_audit):
                sys.addaudithook(_audit)
            _audit_hook_added.append(True)
        _install_env_hooks()
        recorder = self

        namespace = config.option
        base = type(namespace)

        def getattribute(obj: Any, name: str) -> Any:
            recorder._option_read(name)
            return base.__getattribute__(obj, name)

        def reduce(obj: Any) -> Any:  # pickled or copied as what it is outside recording (all options read)
            return argparse.Namespace, (), dict(base.__getattribute__(obj, "__dict__"))

        if base is argparse.Namespace:  # anything else: someone else's; leave it
            namespace.__class__ = type("RecordedOptions", (argparse.Namespace,),
                                       {"__getattribute__": getattribute, "__reduce__": reduce})
            self._namespace, self._namespace_class = namespace, base
        _watching.append(self)

    def _watch_namespaces(self, core: Any) -> None:
        """Note which modules' namespaces collection enumerates: builtins
        dir, vars, globals and locals, replaced until stop() by wrappers of
        the core that call the originals (bindings.h)."""
        noting = getattr(core, "noting", None)
        # Not noted: this plugin's reads (links.py compares namespaces) and the
        # import system's (exec_module runs a module in its own __dict__).
        if noting is None or not core.module_reads_start(_NOT_READERS):
            return
        self._module_reads_core = core
        notes: List[str] = []
        for name, caller in (("dir", False), ("vars", False), ("locals", False), ("globals", True)):
            original = getattr(builtins, name)
            self._builtins[name] = original
            setattr(builtins, name, noting(original, notes, caller))
        self.enumerated = notes
        if core.doc_reads_start(_NOT_READERS):
            self._doc_reads_core = core

    def _unwatch_namespaces(self) -> None:
        for name, original in self._builtins.items():
            setattr(builtins, name, original)
        self._builtins = {}
        core, self._module_reads_core = self._module_reads_core, None
        if core is not None:
            self.module_reads = core.module_reads_stop()
            if self.module_reads is None:
                self.enumerated = None  # displaced: nothing is known
        core, self._doc_reads_core = self._doc_reads_core, None
        if core is not None:
            self.doc_reads = core.doc_reads_stop()

    def stop(self, keep: bool = True) -> None:
        """Stops watching; `keep`: gather what ran (a session with nothing
        to record does not need it)."""
        self._unwatch_namespaces()
        if self.tracer is not None:
            self.traced = self.tracer.stop(keep)
            self.tracer = None
            # Sources linecache holds were read as data (inspect.getsource, tracebacks).
            import linecache

            self.data_reads.update(os.path.abspath(f) for f in list(linecache.cache) if not f.startswith("<"))
        if self in _watching:
            _watching.remove(self)
        if self._namespace is not None:
            self._namespace.__class__ = self._namespace_class  # type: ignore[assignment]
            self._namespace = None

    # -- values ---------------------------------------------------------------
    def snapshot(self, config: pytest.Config) -> Dict[str, str]:
        """Every environment variable and option value, now (not recorded)."""
        self.paused = True
        try:
            return current_values(config)
        finally:
            self.paused = False

    def program_values(self, names: Iterable[str]) -> Dict[str, str]:
        """The outputs now of the programs among these inputs, run unrecorded."""
        was, self.paused = self.paused, True
        try:
            return programs.values_of(names)
        finally:
            self.paused = was

    def input_names(self) -> List[str]:
        names = [f"env:{n}" for n in self.env] + [f"opt:{n}" for n in self.options]
        if self.env_iterated:
            names.append(ENVIRONMENT_NAMES)
        names.extend(env_readers.names_input(p) for p in self.env_prefixes)
        names.extend(self.program_inputs)
        return sorted(names)


def current_values(config: pytest.Config) -> Dict[str, str]:
    """Every environment variable and option value, now (a recorder watching
    must be paused: Recorder.snapshot)."""
    env = dict(os.environ)
    out = {f"env:{k}": v for k, v in env.items()}
    out[ENVIRONMENT_NAMES] = repr(sorted(k for k in env if k not in SHELL_VARIABLES and k not in PLUGIN_OUTPUT_VARIABLES))
    out.update(env_readers.names_values(k for k in env if k not in PLUGIN_OUTPUT_VARIABLES))
    for name, value in vars(config.option).items():
        out[f"opt:{name}"] = _value_text(value)
    return out


def _value_text(value: Any) -> str:
    try:
        return f"{type(value).__name__}:{value!r}"
    except Exception:  # noqa: BLE001 - an unprintable value never matches
        return repr(os.urandom(8))


def values_of(names: List[str], snapshot: Dict[str, str]) -> Dict[str, str]:
    """The snapshot's values of these inputs (unset ones are left out)."""
    return {n: snapshot[n] for n in names if n in snapshot}
