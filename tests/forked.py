"""pytest in a process of its own, forked from this one instead of started.

A learning run and the run after it must be separate processes (the plugin's
hooks, the modules collection imported, the tracer's state), as
`Pytester.runpytest_subprocess` makes them; most of that subprocess's second
is the interpreter's start-up and pytest's imports, which this process has
done already. `run` forks instead: the child is given what a fresh
`python -m pytest` in the project directory would have (sys.path,
sys.argv, warning filters, no module of this test suite or of an earlier
project, PYTHONPATH as pytester sets it, stdin on /dev/null, stdout and
stderr to files), runs `pytest.main` and leaves by `os._exit`. Nothing it
imports, patches or registers reaches this process.

Where fork is missing, or FASTCOLLECT_TEST_FORK=0, the subprocess runs.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import traceback
import warnings
from functools import lru_cache
from typing import Any, List, Sequence

import pytest

_TESTS = os.path.dirname(os.path.abspath(__file__))


@lru_cache(maxsize=1)
def _fresh_sys_path() -> List[str]:
    """sys.path of a fresh interpreter, without its first entry (the script
    directory or the working directory)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sys.path))"],
                         capture_output=True, text=True, env=env, check=True, timeout=60).stdout
    return list(json.loads(out))[1:]


def enabled() -> bool:
    return hasattr(os, "fork") and os.environ.get("FASTCOLLECT_TEST_FORK", "1") != "0"


def _default_warning_filters() -> None:
    """The filters a Python started without -W has (this process's carry
    this test session's)."""
    warnings.resetwarnings()
    for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning, DeprecationWarning):
        warnings.simplefilter("ignore", category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    sys.warnoptions[:] = []


def _forget_modules(roots: Sequence[str]) -> None:
    """Modules of this test suite and of any project it wrote (their files
    under `roots`), and the assertion rewriters of this session."""
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if any(path.startswith(r + os.sep) for r in roots) or name == "conftest":
            del sys.modules[name]
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "AssertionRewritingHook"]


def _child(cwd: str, args: List[str], out: str, err: str, roots: Sequence[str], path: List[str]) -> None:
    """In the child: become a fresh `python -m pytest ARGS` run, then exit."""
    code = 3
    try:
        # This process's objects are its parent's: no collection in the
        # child visits them (each visit would copy their pages).
        gc.freeze()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, name in ((1, out), (2, err)):
            target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        os.environ["PYTHONPATH"] = os.pathsep.join([cwd, *extra])
        sys.path[:] = [cwd, cwd, *(os.path.abspath(p) for p in extra), *path]
        sys.argv[:] = [os.path.join(os.path.dirname(pytest.__file__), "__main__.py"), *args]
        _default_warning_filters()
        _forget_modules(roots)
        code = int(pytest.main(args))
    except BaseException:  # noqa: B036 - the child reports everything, then exits
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise pytest.Pytester.TimeoutExpired(f"forked pytest did not finish in {timeout} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def run(pytester: pytest.Pytester, *args: str, timeout: float = 120) -> Any:
    """Like `pytester.runpytest_subprocess(*args, timeout=timeout)`."""
    if not enabled():
        return pytester.runpytest_subprocess(*args, timeout=timeout)
    from _pytest.pathlib import make_numbered_dir  # what runpytest_subprocess uses

    base = make_numbered_dir(root=pytester.path, prefix="runpytest-", mode=0o700)
    argv = [f"--basetemp={base}", *args]
    cwd = os.getcwd()
    out, err = str(pytester.path / "stdout"), str(pytester.path / "stderr")
    roots = [_TESTS, os.path.dirname(str(pytester.path))]
    path = _fresh_sys_path()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork of a process with threads
        pid = os.fork()
    if pid == 0:
        _child(cwd, argv, out, err, roots, path)
    ret = _wait(pid, timeout)
    with open(out, encoding="utf-8", errors="replace") as f:
        outlines = f.read().splitlines()
    with open(err, encoding="utf-8", errors="replace") as f:
        errlines = f.read().splitlines()
    return pytest.RunResult(ret, outlines, errlines, time.monotonic() - start)
