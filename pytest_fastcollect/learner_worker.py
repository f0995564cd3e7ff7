"""A forked learning worker (learners.py): the main process's decision with
the other workers' shares skipped as well, collected through pytest's own
path; its records go back to the main process, which alone writes the index.

The worker leaves at the end of collection by ``os._exit``: no test runs, no
end-of-session hook (junitxml, pytest's cache, coverage data) and no
terminal output (its descriptors 1 and 2, and pytest's capture files, are
its own, pointed at /dev/null and at new temporary files).
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from typing import Any, Dict, Optional

import pytest

from pytest_fastcollect import crossings
from pytest_fastcollect.learn import Learner, loaded_by_file


def detach_output(config: pytest.Config) -> None:
    """Output of this process goes nowhere; pytest's capture files (shared
    with the main process after fork) are replaced by private ones."""
    capman = config.pluginmanager.getplugin("capturemanager")
    capturing = getattr(capman, "_global_capturing", None)
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for name in ("out", "err", "in_"):
            cap = getattr(capturing, name, None)
            saved = getattr(cap, "targetfd_save", None)
            if isinstance(saved, int):
                os.dup2(devnull, saved)
            tmpfile = getattr(cap, "tmpfile", None)
            try:
                fd = tmpfile.fileno() if tmpfile is not None else None
            except (OSError, ValueError, AttributeError):
                fd = None
            if isinstance(fd, int) and fd > 2:
                with tempfile.TemporaryFile() as private:
                    os.dup2(private.fileno(), fd)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    finally:
        os.close(devnull)


class WorkerGuard:
    """Registered in a worker: whatever ends its collection, it never goes on
    to run tests or end the session."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self) -> None:
        leave(self.conn, {"off": "the worker's collection ended without a report"})

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        leave(self.conn, {"off": "the worker's session ended before its collection did"})


def leave(conn: Any, message: Dict[str, Any]) -> None:
    """Sends `message` to the main process and ends this process."""
    code = 0
    try:
        conn.send(message)
        conn.close()
    except Exception:  # noqa: BLE001 - the main process then imports this share
        code = 1
    os._exit(code)


def finish(learner: Optional[Learner], conn: Any) -> None:
    """At the end of the worker's collection: what it learned, for the main
    process to merge (learners.merge)."""
    try:
        message = _report(learner)
    except Exception as exc:  # noqa: BLE001 - never a broken run: the share is imported
        message = {"off": f"internal error in a learning worker ({type(exc).__name__}: {exc})"}
    leave(conn, message)


def _report(learner: Optional[Learner]) -> Dict[str, Any]:
    if learner is None or learner.off or learner.record_off or learner.idle:
        return {"off": (learner.off or learner.record_off) if learner is not None else "nothing recorded"}
    finished = time.time()
    gc.disable()  # (as learn.gc_paused: many small lists, none cyclic; the worker leaves by os._exit)
    learner.recorder.stop()  # collection is over: what ran is known
    if learner.refuse_programs():
        return {"off": learner.record_off}
    payload = learner.payload()
    state = learner.scanned
    loaded = {}
    if state is not None:
        at = loaded_by_file()
        loaded = {p: at[p] for p in sorted(state.test_files) if p in at}
    return {
        "payload": payload,
        "env_effects": dict(learner.env_effects),
        "changed_state": sorted(learner.changed_state | set(learner.env_effects)),
        "seconds": dict(learner.seconds),
        "finished_at": finished,
        "report_seconds": time.time() - finished,
        "crossings": crossings.report(loaded, learner.watch, state.writers if state is not None else None),
    }
