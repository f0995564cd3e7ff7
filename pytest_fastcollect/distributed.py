"""Learning under pytest-xdist.

The controller decides once for every worker but collects nothing; the
workers collect. So one worker (the first the controller configures)
records the items it collected, under the key the controller computed: the
scan's content hashes, session key, conftests and input snapshot travel to it
through ``workerinput``, so it does not scan again.

A worker is not the controller: xdist sets ``PYTEST_XDIST_WORKER``,
``PYTEST_XDIST_WORKER_COUNT`` and ``PYTEST_XDIST_TESTRUNUID`` in its
environment (and ``COLUMNS``/``LINES`` appear there), and changes some of its
options (``dist``, ``numprocesses``, ``basetemp``, ...). Two rules keep
records exact across the two kinds of process:

- The controller checks stored generations against the *worker view* of its
  snapshot: every input that differs on workers gets a value no run ever
  stores, so a generation whose collection read one (learned in-process, where
  ``PYTEST_XDIST_WORKER`` was unset) never decides for workers.
- A worker records only when every input its collection read has, in its own
  snapshot, the value of the worker view (so never when it read one of the
  inputs above); then its items are what a process with the controller's
  values collects, and the generation holds for the controller and for a run
  without xdist alike. Its session key must equal the controller's too.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from pytest_fastcollect.inputs import WHOLE_ENVIRONMENT

# workerinput keys
SKIP_KEY = "fastcollect_skip"
LEARN_KEY = "fastcollect_learn"
# workeroutput key: what the recording worker did
OUTPUT_KEY = "fastcollect_learned"

# Set in every worker's environment by xdist (remote.py) or found there.
WORKER_ENV = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "COLUMNS", "LINES")
# Options xdist's remote.setup_config changes on every worker.
WORKER_OPTIONS = ("loadgroup", "looponfail", "usepdb", "dist", "distload", "numprocesses", "maxprocesses", "basetemp")
# A value no snapshot ever holds.
DIFFERS = "<differs between xdist workers and the controller>"

DIFFERING_NAMES = frozenset(
    [f"env:{n}" for n in WORKER_ENV] + [f"opt:{n}" for n in WORKER_OPTIONS] + [WHOLE_ENVIRONMENT]
)


def worker_view(snapshot: Dict[str, str]) -> Dict[str, str]:
    """The controller's snapshot as the inputs of its workers' collection:
    inputs that differ on workers never match a stored value."""
    view = dict(snapshot)
    for name in DIFFERING_NAMES:
        view[name] = DIFFERS
    return view


def worker_mismatch(names: Iterable[str], own: Dict[str, str], view: Dict[str, str]) -> Optional[str]:
    """The first input this worker read whose value here is not the one the
    controller keys the record by, or None."""
    for name in sorted(names):
        if own.get(name) != view.get(name):
            return f"this xdist worker read input {name}, whose value differs from the controller's"
    return None


def learn_input(
    *,
    index_dir: str,
    session_key: int,
    hashes: Dict[str, int],
    test_files: Iterable[str],
    conftests: Iterable[str],
    conftest_fp: int,
    input_names: Iterable[str],
    snapshot: Dict[str, str],
    learned_current: Iterable[str],
) -> Dict[str, Any]:
    """What the recording worker needs of the controller's scan, in types
    execnet can send."""
    return {
        "index_dir": index_dir,
        "session_key": session_key,
        "hashes": dict(hashes),
        "test_files": sorted(test_files),
        "conftests": list(conftests),
        "conftest_fp": conftest_fp,
        "input_names": sorted(input_names),
        "snapshot": dict(snapshot),
        "learned_current": sorted(learned_current),
    }


def summary_of(output: Dict[str, Any]) -> List[str]:
    """Lines for the controller's explain section from a worker's report."""
    lines = []
    if output.get("written"):
        lines.append(
            f"learned the items of {output['written']} test files in {output.get('ms', 0):.0f} ms "
            f"(xdist worker {output.get('worker', '?')})"
        )
    if output.get("off"):
        lines.append(f"xdist worker {output.get('worker', '?')} recorded nothing: {output['off']}")
    return lines
