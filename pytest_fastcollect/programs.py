"""Programs that collection starts.

What a program prints depends on files and state this process does not see
(pandas parametrizes four test modules over `locale -a`, the system's
locales, and caches the answer for the rest of the session). A record cannot
be keyed by what it cannot see, so the test modules collected from one that
started a program on are not recorded (Learner.after_programs), nor anything
when it started outside any test module (Learner.refuse_programs), with two
exceptions that are inputs of the generation like an environment variable
(``run:<json of [kind, cwd, argv, env]>``), valued as when they started:
- a known read-only program (READ_ONLY): its value is the digest of the exit
  status and standard output, and the plugin runs it again when deciding;
- a program that is not there (statsmodels looks for `x13as` on PATH): its
  value is whether it is there now, and nothing is run.
The programs some record depends on are listed in the index's directory
(FILE), so that a decision knows which to look at.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

PREFIX = "run:"
FILE = "programs.json"
TIMEOUT_SECONDS = 10.0


def _any(args: List[str]) -> bool:
    return True


def _compiler_query(args: List[str]) -> bool:
    """`gcc -print-multiarch` (numpy.distutils), `cc -dumpmachine`: one query, nothing built."""
    return len(args) == 1 and args[0].startswith(("-print-", "-dump"))


_GIT_QUERIES = frozenset(("rev-parse", "describe", "ls-files", "log", "show", "rev-list", "symbolic-ref", "version",
                          "--version"))


def _git_query(args: List[str]) -> bool:
    """`git describe`, `git rev-parse HEAD` (setuptools-scm, a conftest naming
    the commit): a query; not `--output=F` (writes F), `--dirty` (refreshes
    the index), `--stdin` (its input is not known)."""
    return bool(args) and args[0] in _GIT_QUERIES and not any(
        a.startswith("--output") or a in ("--dirty", "--broken", "--stdin") or a.startswith(("--dirty=", "--broken="))
        for a in args)


# Read-only programs by name, with the arguments they are taken read-only with.
READ_ONLY: Dict[str, Callable[[List[str]], bool]] = {
    "locale": _any,  # pandas' get_locales: `locale -a`
    "lscpu": _any,  # joblib's (loky's) count of physical cores: `lscpu --parse=core`
    "nproc": _any,
    "uname": _any,  # platform.uname().processor: `uname -p`
    "ldconfig": lambda args: args == ["-p"],  # ctypes.util.find_library (without -p it rewrites the cache)
    # platform.architecture(): `file -b <python>` (not `-`: standard input)
    "file": lambda args: len(args) == 2 and args[0] == "-b" and args[1] != "-",
    "gcc": _compiler_query,
    "cc": _compiler_query,
    "git": _git_query,
}
# Their output depends on the working directory (a relative path, the repository).
CWD_MATTERS = frozenset(("git", "file"))
# A read-only program is one found on PATH or in these (not a project's own `tools/git`).
SYSTEM_DIRS = ("/usr/", "/bin/", "/sbin/", "/lib/", "/opt/")
RUN, ABSENT = "run", "absent"
MAX_ENV = 8  # a program given its own environment: at most this many locale variables
# The variables a program's own environment may name: locale settings, whose
# values are no secrets (a name holds them in the clear, to start it again).
_LOCALE_VARIABLES = ("LANG", "LANGUAGE", "LC_")


def _text(value: Any) -> Optional[str]:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        return os.fsdecode(value)
    return value if isinstance(value, str) else None


def _argv(args: Tuple[Any, ...]) -> Optional[List[str]]:
    """The program's arguments from a `subprocess.Popen` event (executable,
    args, cwd, env), when `executable` starts argv[0] itself."""
    if len(args) < 4 or not isinstance(args[1], (list, tuple)):
        return None
    argv = [_text(a) for a in args[1]]
    if not argv or any(a is None for a in argv) or not argv[0]:
        return None
    executable = _text(args[0]) if args[0] is not None else argv[0]
    return argv if executable == argv[0] else None  # type: ignore[return-value]


def input_name(event: str, args: Tuple[Any, ...]) -> Optional[str]:
    """The input a `subprocess.Popen` audit event (executable, args, cwd,
    env) stands for: a known read-only program's output, or the absence of
    a program that is not there; None for any other."""
    argv = _argv(args) if event == "subprocess.Popen" else None
    env = _env_change(args[3]) if argv is not None else False
    if argv is None or env is False:
        return None
    cwd = os.path.abspath(_text(args[2]) or os.getcwd())
    program = os.path.basename(argv[0])
    path_like = os.sep in argv[0]
    allowed = READ_ONLY.get(program)
    system = not path_like or (os.path.isabs(argv[0]) and argv[0].startswith(SYSTEM_DIRS))
    # The directory is part of the input only where it matters (a scratch
    # directory would make a new input in every session).
    where = cwd if path_like or program in CWD_MATTERS else ""
    if allowed is not None and system and allowed(argv[1:]):
        return PREFIX + json.dumps([RUN, where, argv, env], sort_keys=True)
    if _absent(argv[0], cwd, env):
        return PREFIX + json.dumps([ABSENT, cwd if path_like else "", argv[:1], env], sort_keys=True)
    return None


def _env_change(env: Any) -> Any:
    """A program's own environment as locale settings: all its variables,
    or a change of this process's (None: it inherits it; False: anything
    else). `platform.architecture()` runs `file` with
    `dict(os.environ, LC_ALL="C")`; ctypes runs `ldconfig -p` with LC_ALL
    and LANG only."""
    if env is None:
        return None
    if not isinstance(env, dict):
        return False
    given = {_text(k): _text(v) for k, v in env.items()}
    if any(k is None or v is None for k, v in given.items()):
        return False
    if len(given) <= MAX_ENV and all(k.startswith(_LOCALE_VARIABLES) for k in given):  # type: ignore[union-attr]
        return {"only": dict(sorted(given.items()))}  # type: ignore[arg-type]
    now = dict(os.environ)
    change = {"set": {k: v for k, v in sorted(given.items()) if now.get(k) != v},  # type: ignore[arg-type]
              "unset": sorted(k for k in now if k not in given)}
    if change["unset"] or len(change["set"]) > MAX_ENV or not all(
            k.startswith(_LOCALE_VARIABLES) for k in change["set"]):
        return False
    return change


def _environment(change: Optional[Dict[str, Any]]) -> Optional[Dict[str, str]]:
    """The environment a program is started with now (None: this process's)."""
    if change is None:
        return None
    if "only" in change:
        return dict(change["only"])
    env = dict(os.environ)
    env.update(change["set"])
    for name in change["unset"]:
        env.pop(name, None)
    return env


def _absent(program: str, cwd: str, change: Optional[Dict[str, Any]]) -> bool:
    """Is there no program to start under this name (as subprocess finds it)?"""
    if os.sep in program:
        path = os.path.join(cwd or os.getcwd(), program)
        return not (os.path.isfile(path) and os.access(path, os.X_OK))
    env = _environment(change)
    search = (env if env is not None else os.environ).get("PATH", os.defpath)
    return shutil.which(program, path=search) is None


def output_value(name: str) -> str:
    """The digest of what the program an input names prints now, or whether
    it is there. A program that cannot run as named (it failed, timed out,
    or the name is not one input_name makes) gets a value no other equals."""
    try:
        kind, cwd, argv, env = json.loads(name[len(PREFIX):])
        if kind == ABSENT:
            return ABSENT if _absent(argv[0], cwd, env) else "present"
        program = os.path.basename(argv[0])
        allowed = READ_ONLY.get(program)
        if kind != RUN or allowed is None or not allowed(argv[1:]) or (
                os.sep in argv[0] and not (os.path.isabs(argv[0]) and argv[0].startswith(SYSTEM_DIRS))):
            return _never_equal("not a read-only program")  # (programs.json is a cache: not trusted)
        done = subprocess.run(argv, cwd=cwd or None, env=_environment(env), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=TIMEOUT_SECONDS, check=False)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OSError, subprocess.SubprocessError) as exc:
        return _never_equal(type(exc).__name__)
    digest = hashlib.blake2b(done.stdout, digest_size=16).hexdigest()
    return f"{done.returncode}:{digest}"


def _never_equal(why: str) -> str:
    return f"failed:{why}:{os.urandom(8).hex()}"


def listed(index_dir: Optional[str]) -> List[str]:
    """The programs some record in the index depends on."""
    if not index_dir:
        return []
    try:
        with open(os.path.join(index_dir, FILE), encoding="utf-8") as f:
            names = json.load(f)
    except (OSError, ValueError):
        return []
    return sorted(n for n in names if isinstance(n, str) and n.startswith(PREFIX)) if isinstance(names, list) else []


def values_of(names: Iterable[str]) -> Dict[str, str]:
    """The outputs now of the programs among these inputs."""
    return {name: output_value(name) for name in names if name.startswith(PREFIX)}


def remember(index_dir: str, names: Iterable[str]) -> None:
    """Adds these programs to the list (kept while the index is: a few names)."""
    wanted = sorted(set(listed(index_dir)) | {n for n in names if n.startswith(PREFIX)})
    if wanted == listed(index_dir):
        return
    target = os.path.join(index_dir, FILE)
    scratch = f"{target}.{os.getpid()}.tmp"
    try:
        with open(scratch, "w", encoding="utf-8") as f:
            json.dump(wanted, f)
        os.replace(scratch, target)
    except OSError:  # not listed: a record depending on it does not decide (its value is missing)
        if os.path.exists(scratch):
            os.unlink(scratch)


def for_worker(names: Iterable[str], own: Dict[str, str], view: Dict[str, str], taken: Dict[str, str]) -> None:
    """On an xdist worker: its own outputs of the programs among `names`
    (compared with the controller's by the worker check), and the view
    given them where the controller had none (a program first run here)."""
    names = [n for n in names if n.startswith(PREFIX)]
    fill(names, own, taken)
    for name in names:
        view.setdefault(name, own[name])


def fill(names: Sequence[str], snapshot: Dict[str, str], taken: Dict[str, str]) -> None:
    """The values of the programs among `names`: as collection's program saw
    them (`taken` when it started), else the snapshot's, else run now."""
    for name in names:
        if name in taken:
            snapshot[name] = taken[name]
        elif name.startswith(PREFIX) and name not in snapshot:
            snapshot[name] = output_value(name)
