"""Learning under pytest-xdist.

The controller decides once for every worker but collects nothing; the
workers collect. So one worker (the first the controller configures)
records the items it collected, under the key the controller computed: the
scan's content hashes, session key, conftests and input snapshot travel to it
through ``workerinput``, so it does not scan again.

A worker is not the controller: xdist sets ``PYTEST_XDIST_WORKER``,
``PYTEST_XDIST_WORKER_COUNT`` and ``PYTEST_XDIST_TESTRUNUID`` in its
environment, ``COLUMNS``/``LINES`` are set there when the controller has none
(readline, which pytest imports early, sets them: 80x24 without a terminal),
and xdist changes some of its options (``dist``, ``numprocesses``,
``basetemp``, ...). Three rules keep records exact across the two kinds of
process:

- The controller checks stored generations against the *worker view* of its
  snapshot: what its workers will read. ``PYTEST_XDIST_WORKER_COUNT`` is the
  number of workers; ``COLUMNS``/``LINES`` are what the recording worker of an
  earlier run reported for the same controller values (kept in pytest's
  cache); every other input that differs on workers gets a value no run ever
  stores. So a generation whose collection read ``PYTEST_XDIST_WORKER``
  (learned in-process, where it was unset) never decides for workers.
- A worker records only when every input its collection read has, in its own
  snapshot, the value of the worker view (so never when it read the worker id,
  the run id, the whole environment or an option xdist changes); then its
  items are what a process with those values collects, and the generation
  holds for the controller and for a run without xdist alike. Its session key
  must equal the controller's too.
- Every worker checks, before it collects, that the inputs of the generation
  the controller decided with have here the values of the worker view; if one
  does not (the view's guess of COLUMNS was wrong), it ignores the
  controller's skip list and imports every test file.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from pytest_fastcollect import env_readers
from pytest_fastcollect.inputs import ENVIRONMENT_NAMES

# workerinput keys
SKIP_KEY = "fastcollect_skip"
# The skipped modules whose decision resolved imported names, and the import
# state it assumed (environment.import_state): a worker compares its own.
RESOLVED_KEY = "fastcollect_resolved"
LEARN_KEY = "fastcollect_learn"
DIRS_KEY = "fastcollect_skip_dirs"  # directories the workers may leave unwalked (directories.py)
VERIFY_KEY = "fastcollect_verify"  # also the workeroutput key of a failed check
# workeroutput key: what the recording worker did
OUTPUT_KEY = "fastcollect_learned"

# Different on every worker or in every run: never the same twice.
PER_WORKER_ENV = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_TESTRUNUID")
COUNT_ENV = "env:PYTEST_XDIST_WORKER_COUNT"
# Inherited from the controller, or set in the worker by readline.
TERMINAL_ENV = ("env:COLUMNS", "env:LINES")
# Options xdist's remote.setup_config changes on every worker.
WORKER_OPTIONS = ("loadgroup", "looponfail", "usepdb", "dist", "distload", "numprocesses", "maxprocesses", "basetemp")
# A value no snapshot ever holds.
DIFFERS = "<differs between xdist workers and the controller>"
# pytest's cache: {"controller": values of TERMINAL_ENV there, "worker": on its workers}
TERMINAL_CACHE = "fastcollect/xdist-terminal"

DIFFERING_NAMES = frozenset(
    [f"env:{n}" for n in PER_WORKER_ENV] + [f"opt:{n}" for n in WORKER_OPTIONS] + [ENVIRONMENT_NAMES]
    + list(TERMINAL_ENV)
    + env_readers.differing_on_workers([*PER_WORKER_ENV, COUNT_ENV[4:], *(n[4:] for n in TERMINAL_ENV)])
)


def terminal_values(snapshot: Dict[str, str]) -> Dict[str, Optional[str]]:
    return {name: snapshot.get(name) for name in TERMINAL_ENV}


def worker_view(snapshot: Dict[str, str], worker_count: int, terminal: Any = None) -> Dict[str, str]:
    """The controller's snapshot as the inputs of its workers' collection:
    inputs that differ on workers never match a stored value, unless the
    view knows their value there."""
    view = dict(snapshot)
    for name in DIFFERING_NAMES:
        view[name] = DIFFERS
    view[COUNT_ENV] = str(worker_count)
    if isinstance(terminal, dict) and terminal.get("controller") == terminal_values(snapshot):
        for name, value in dict(terminal.get("worker") or {}).items():
            if name not in TERMINAL_ENV:
                continue
            if value is None:
                view.pop(name, None)
            else:
                view[name] = str(value)
    return view


def adopt_terminal(view: Dict[str, str], own: Dict[str, str]) -> None:
    """On the recording worker, when the view did not know COLUMNS/LINES here
    (no earlier run reported them): the record is keyed by this worker's own
    values (every worker has the same: inherited or readline's), which the
    controller learns from this run's report for its next view."""
    for name in TERMINAL_ENV:
        if view.get(name) != DIFFERS:
            continue
        if own.get(name) is None:
            view.pop(name, None)
        else:
            view[name] = own[name]


def worker_mismatch(names: Iterable[str], own: Dict[str, str], view: Dict[str, str]) -> Optional[str]:
    """The first input this worker read whose value here is not the one the
    controller keys the record by, or None."""
    for name in sorted(names):
        if own.get(name) != view.get(name):
            return f"input {name} differs between this xdist worker and the controller"
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
    state_changers: Iterable[str] = (),
    in_place: Iterable[str] = (),
    writers: Optional[Iterable[str]] = None,
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
        "state_changers": sorted(state_changers),
        "in_place": sorted(in_place),
        **({"writers": sorted(writers)} if writers is not None else {}),
    }


def verify_input(names: Iterable[str], view: Dict[str, str]) -> Dict[str, Any]:
    """What every worker checks before it collects: the inputs of the
    generation the controller decided with, and their values in the view."""
    names = sorted(names)
    return {"names": names, "values": {n: view[n] for n in names if n in view}}


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
