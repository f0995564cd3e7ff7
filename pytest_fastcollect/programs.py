"""Programs that collection starts.

What a program prints depends on files and state this process does not see
(pandas parametrizes four test modules over `locale -a`, the system's
locales, and caches the answer for the rest of the session). A record cannot
be keyed by what it cannot see, so a program started while collecting stops
recording for the session (Learner.refuse_programs), with two exceptions
that are inputs of the generation like an environment variable
(``run:<json of [kind, cwd, argv, env]>``):
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
    """`git describe`, `git rev-parse HEAD` (setuptools-scm, a conftest naming the commit): a query."""
    return bool(args) and args[0] in _GIT_QUERIES


# Read-only programs by name, with the arguments they are taken read-only with.
READ_ONLY: Dict[str, Callable[[List[str]], bool]] = {
    "locale": _any,  # pandas' get_locales: `locale -a`
    "lscpu": _any,  # joblib's (loky's) count of physical cores: `lscpu --parse=core`
    "nproc": _any,
    "uname": _any,  # platform.uname().processor: `uname -p`
    "ldconfig": lambda args: args == ["-p"],  # ctypes.util.find_library (without -p it rewrites the cache)
    "file": lambda args: len(args) == 2 and args[0] == "-b",  # platform.architecture(): `file -b <python>`
    "gcc": _compiler_query,
    "cc": _compiler_query,
    "git": _git_query,
}
CWD_MATTERS = frozenset(("git",))  # (the others' output does not depend on the working directory)
RUN, ABSENT = "run", "absent"
MAX_ENV = 8  # a program given its own environment: at most this many changes (ctypes sets LC_ALL, LANG)


def _text(value: Any) -> Optional[str]:
    if isinstance(value, bytes):
        return os.fsdecode(value)
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)  # type: ignore[arg-type]
    return None


def input_name(event: str, args: Tuple[Any, ...]) -> Optional[str]:
    """The input a `subprocess.Popen` audit event (executable, args, cwd,
    env) stands for: a known read-only program's output, or the absence of
    a program that is not there; None for any other."""
    if event != "subprocess.Popen" or len(args) < 4 or not isinstance(args[1], (list, tuple)):
        return None
    argv = [_text(a) for a in args[1]]
    if not argv or any(a is None for a in argv):
        return None
    executable = _text(args[0])
    if executable is not None and os.path.basename(executable) != os.path.basename(argv[0] or ""):
        return None  # another program under this name
    env = _env_change(args[3])
    if env is False:
        return None
    cwd = os.path.abspath(_text(args[2]) if args[2] is not None else os.getcwd())
    program = os.path.basename(argv[0] or "")
    allowed = READ_ONLY.get(program)
    # The directory is part of the input only where it matters (a scratch
    # directory would make a new input in every session).
    if allowed is None or not allowed(argv[1:]):  # type: ignore[arg-type]
        if not _absent(argv[0] or "", cwd, env):  # type: ignore[arg-type]
            return None
        where = cwd if os.sep in (argv[0] or "") else ""
        return PREFIX + json.dumps([ABSENT, where, argv[:1], env], sort_keys=True)
    return PREFIX + json.dumps([RUN, cwd if program in CWD_MATTERS else "", argv, env], sort_keys=True)


def _env_change(env: Any) -> Any:
    """A program's own environment in a few variables: all of them, or as a
    change of this process's (None: it inherits it; False: not expressible).
    Such an environment is mostly a copy with one change
    (`platform.architecture()` runs `file` with `dict(os.environ, LC_ALL="C")`)."""
    if env is None:
        return None
    if not isinstance(env, dict):
        return False
    given = {_text(k): _text(v) for k, v in env.items()}
    if any(k is None or v is None for k, v in given.items()):
        return False
    if len(given) <= MAX_ENV:
        return {"only": dict(sorted(given.items()))}  # (ctypes runs `ldconfig -p` with LC_ALL and LANG only)
    now = dict(os.environ)
    change = {"set": {k: v for k, v in sorted(given.items()) if now.get(k) != v},
              "unset": sorted(k for k in now if k not in given)}
    return change if len(change["set"]) + len(change["unset"]) <= MAX_ENV else False


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
    """The digest of what the program an input names prints, now."""
    try:
        kind, cwd, argv, env = json.loads(name[len(PREFIX):])
        if kind == ABSENT:
            return ABSENT if _absent(argv[0], cwd, env) else "present"
        if kind != RUN:
            return "unknown"
        done = subprocess.run(argv, cwd=cwd or None, env=_environment(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=TIMEOUT_SECONDS, check=False)
    except (ValueError, TypeError, KeyError) as exc:
        return f"unreadable:{type(exc).__name__}"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"failed:{type(exc).__name__}"
    digest = hashlib.blake2b(done.stdout, digest_size=16).hexdigest()
    return f"{done.returncode}:{digest}"


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


def for_worker(names: Iterable[str], own: Dict[str, str], view: Dict[str, str]) -> None:
    """On an xdist worker: its own outputs of the programs among `names`
    (compared with the controller's by the worker check), and the view
    given them where the controller had none (a program first run here)."""
    names = [n for n in names if n.startswith(PREFIX)]
    fill(names, own)
    for name in names:
        view.setdefault(name, own[name])


def fill(names: Sequence[str], snapshot: Dict[str, str]) -> None:
    """The values of programs a payload depends on that the snapshot lacks
    (first learned in this session), run now."""
    for name in names:
        if name.startswith(PREFIX) and name not in snapshot:
            snapshot[name] = output_value(name)
