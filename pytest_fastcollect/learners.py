"""Learning on every core: when a filtered run has many test modules to
learn, forked worker processes collect them in shares, and the main process
merges their records, decides on them and imports only what can match.

- **When**: the decision leaves more modules to learn (imported, with no
  valid record, recordable) than `MIN_PER_WORKER` per worker, the option or
  ini value `fast_collect_workers` asks for two or more, the platform forks,
  and xdist does not distribute this run (its workers each collect every
  module already).
- **Shares**: the modules to learn in path order, cut into contiguous runs
  of about equal size in bytes (neighbours share conftests and helpers).
  Modules that change process state at import (never recorded) and those
  imported on valid records are no share's: every worker imports them, in
  their turn, as the main process does.
- **Fork**, after start-up, at the decision: a worker is this process with
  the other shares skipped as well (learner_worker.py); it records exactly
  what this process would, under this process's snapshot of inputs.
- **One writer**: the main process merges the workers' payloads into one
  (union of dependencies, code that ran and inputs; links per worker) and
  writes it with one call of the core; then it decides again.
- **Across workers**: a worker whose share changed process state (sys.path,
  the environment, the working directory) keeps its records, and the other
  workers' records are dropped (their modules may have come after it); a
  module holding what a module of another share changed is dropped with
  its changer (crossings.py). Dropped modules are imported and learned here.
- **Faults**: a worker that dies, ends its collection otherwise, or does not
  report within `fast_collect_worker_timeout` seconds (killed then) loses
  its share's records only: those modules are imported here.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import pytest

from pytest_fastcollect import crossings, programs
from pytest_fastcollect.inputs import values_of
from pytest_fastcollect.learn import store

MIN_PER_WORKER = 2
DEFAULT_TIMEOUT = 600.0


def add_options(group: Any, parser: pytest.Parser) -> None:
    group.addoption(
        "--fast-collect-workers",
        action="store",
        default=None,
        dest="fast_collect_workers",
        metavar="N",
        help="worker processes that learn test modules in parallel: a number, or 'auto' for every usable CPU "
             "(default: the ini value fast_collect_workers, else 1: none)",
    )
    parser.addini("fast_collect_workers", type="string", default="1",
                  help="worker processes learning test modules in parallel ('auto': usable CPUs; 1: none)")
    parser.addini("fast_collect_worker_timeout", type="string", default=str(int(DEFAULT_TIMEOUT)),
                  help="seconds a learning worker may take before its share is imported in the main process")


def worker_count(config: pytest.Config) -> int:
    raw = getattr(config.option, "fast_collect_workers", None)
    if raw is None:
        raw = config.getini("fast_collect_workers")
    text = str(raw).strip().lower()
    if text == "auto":
        try:
            return len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            return os.cpu_count() or 1
    try:
        return max(1, int(text))
    except ValueError:
        return 1


def timeout(config: pytest.Config) -> float:
    try:
        return max(0.1, float(config.getini("fast_collect_worker_timeout")))
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT


@dataclass
class Outcome:
    """What parallel learning did, for the report line and --fast-collect-explain."""

    workers: int = 0
    modules: int = 0  # in all shares
    written: int = 0  # test modules recorded
    ms: float = 0.0
    failed: List[str] = field(default_factory=list)  # why a share was not learned
    dropped: Dict[str, str] = field(default_factory=dict)  # module -> why its worker's record was not kept
    seconds: Dict[str, float] = field(default_factory=dict)  # collection time of the modules workers learned
    # Phases, in seconds: "start" (the fork, from the start of collection),
    # per worker "collect"/"report" (its collection, its payload), "merge".
    phases: Dict[str, Any] = field(default_factory=dict)

    def timeline(self) -> str:
        p = self.phases
        workers = "; ".join(f"worker {k + 1}: collected in {c:.1f} s, reported in {r:.1f} s"
                            for k, (c, r) in enumerate(p.get("workers", [])) if c is not None)
        return (f"{self.workers} workers forked {p.get('start', 0):.1f} s into collection; {workers}; "
                f"merged and written in {p.get('merge', 0):.1f} s")
    error: str = ""


def xdist_distributes(config: pytest.Config) -> bool:
    numprocesses = getattr(config.option, "numprocesses", None)
    dist = getattr(config.option, "dist", "no")
    return bool(numprocesses) or (dist not in (None, "no"))


CHUNKS_PER_WORKER = 8


# pytest's cache: per test module, the seconds its last recorded collection took.
SECONDS_KEY = "fastcollect/collection-seconds"


def load_seconds(config: pytest.Config) -> Dict[str, float]:
    cache = getattr(config, "cache", None)
    got = cache.get(SECONDS_KEY, {}) if cache is not None else {}
    return {p: float(t) for p, t in got.items() if isinstance(t, (int, float))} if isinstance(got, dict) else {}


def store_seconds(config: pytest.Config, seconds: Dict[str, float]) -> None:
    """Keeps what this run measured (and what earlier runs did, for the rest)."""
    cache = getattr(config, "cache", None)
    if cache is None or not seconds:
        return
    known = load_seconds(config)
    known.update({p: round(t, 4) for p, t in seconds.items()})
    cache.set(SECONDS_KEY, known)


def weights(paths: Sequence[str], seconds: Dict[str, float]) -> List[float]:
    """Each module's expected collection time: its last one, else its size
    at the seconds per byte of the modules timed (bytes when none is)."""
    sizes = []
    for p in paths:
        try:
            sizes.append(max(1, os.path.getsize(p)))
        except OSError:
            sizes.append(1)
    timed = [(seconds[p], s) for p, s in zip(paths, sizes) if p in seconds]
    per_byte = sum(t for t, _ in timed) / sum(s for _, s in timed) if timed else 1.0
    return [max(seconds[p], 1e-4) if p in seconds else s * per_byte for p, s in zip(paths, sizes)]


def plan(learnable: Sequence[str], count: int, seconds: Dict[str, float]) -> Tuple[int, List[List[str]]]:
    """(workers, chunks): the paths (sorted) cut into contiguous chunks of
    about equal expected time, several per worker; (0, []) when there is too
    little to learn for two workers."""
    paths = sorted(learnable)
    count = min(count, len(paths) // MIN_PER_WORKER)
    if count < 2:
        return 0, []
    expected = weights(paths, seconds)
    total = sum(expected)
    n = min(len(paths), count * CHUNKS_PER_WORKER)
    chunks: List[List[str]] = [[] for _ in range(n)]
    done = 0.0
    for path, weight in zip(paths, expected):  # (by its middle: a long module starts a chunk of its own)
        chunks[min(n - 1, int((done + weight / 2) * n / total))].append(path)
        done += weight
    return count, [c for c in chunks if c]


class Claims:
    """Which worker learns which chunk: the first whose walk reaches one of
    its modules takes it (a file created exclusively, holding the worker's
    number), so a worker that ends early takes more. Made before fork."""

    def __init__(self, chunks: List[List[str]]) -> None:
        self.chunks = chunks
        self.chunk_of = {p: c for c, paths in enumerate(chunks) for p in paths}
        self.where = tempfile.mkdtemp(prefix="fastcollect-claims-")
        self.asked: Dict[int, bool] = {}  # chunk -> this worker's
        self.worker = -1

    def mine(self, path: str) -> bool:
        """In a worker: is `path`'s chunk this worker's (taken now, when no
        worker took it yet)?"""
        c = self.chunk_of[path]
        if c not in self.asked:
            self.asked[c] = self._take(c)
        return self.asked[c]

    def _take(self, c: int) -> bool:
        try:
            fd = os.open(os.path.join(self.where, str(c)), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except OSError:
            return False
        try:
            os.write(fd, str(self.worker).encode())
        finally:
            os.close(fd)
        return True

    def shares(self, workers: int) -> List[List[str]]:
        """Here, once the workers are done: each one's modules (a chunk whose
        file holds no worker's number is nobody's: imported here)."""
        out: List[List[str]] = [[] for _ in range(workers)]
        for c, paths in enumerate(self.chunks):
            try:
                with open(os.path.join(self.where, str(c))) as f:
                    k = int(f.read() or -1)
            except (OSError, ValueError):
                continue
            if 0 <= k < workers:
                out[k].extend(paths)
        return out

    def remove(self) -> None:
        shutil.rmtree(self.where, ignore_errors=True)


def start(workers: int) -> Tuple[Optional[Tuple[int, Any]], List[Tuple[int, Any]], str]:
    """Forks the workers. In a worker: ((its number, its connection), [], "");
    here: (None, [(pid, connection)] for those started, why none could be)."""
    from multiprocessing.connection import Pipe  # (not on every run's start-up: ~6 ms of imports)

    started: List[Tuple[int, Any]] = []
    gc.freeze()  # what exists now is never traversed by a worker's collector (no copy of its pages)
    try:
        for k in range(workers):
            here, there = Pipe()
            try:
                with warnings.catch_warnings():
                    # (3.12+ warns of fork with threads running; under a project's
                    # filterwarnings = error that warning would be an error.)
                    warnings.simplefilter("ignore", DeprecationWarning)
                    pid = os.fork()
            except OSError as exc:
                here.close()
                there.close()
                if not started:
                    return None, [], f"{type(exc).__name__}: {exc}"
                break
            if pid == 0:
                try:
                    here.close()
                    for _, conn in started:
                        conn.close()
                except BaseException:  # noqa: BLE001 - a worker never returns into pytest by accident
                    os._exit(1)
                return (k, there), [], ""
            there.close()
            started.append((pid, here))
    finally:
        if started or workers == 0:
            gc.unfreeze()
    return None, started, ""


def gather(started: List[Tuple[int, Any]], timeout: float, progress: Any) -> List[Optional[Dict[str, Any]]]:
    """Each worker's message (None: died, broke or timed out: killed)."""
    from multiprocessing.connection import wait

    results: List[Optional[Dict[str, Any]]] = [None] * len(started)
    pending = {conn: k for k, (_, conn) in enumerate(started)}
    begin = time.monotonic()
    shown = False
    try:
        while pending:
            elapsed = time.monotonic() - begin
            if elapsed >= timeout:
                break
            if not shown and elapsed >= 1.0:
                progress()
                shown = True
            step = timeout - elapsed if shown else min(1.0, timeout - elapsed)
            for conn in wait(list(pending), timeout=step):
                k = pending.pop(conn)  # type: ignore[call-overload]
                try:
                    message = conn.recv()
                except Exception:  # noqa: BLE001 - a worker that died mid-message
                    message = None
                results[k] = message if isinstance(message, dict) else None
    finally:
        for pid, conn in started:
            if conn in pending:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            conn.close()
        for pid, _ in started:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
    return results


def _merge_deps(payloads: List[Dict[str, Any]]) -> List[Tuple[str, bool, List[Any], bool]]:
    by_path: Dict[str, Tuple[bool, Set[Any], bool]] = {}
    for payload in payloads:
        for path, surface, ran, opaque in payload["deps"]:
            had = by_path.get(path)
            code = {tuple(r) for r in ran}
            if had is None:
                by_path[path] = (bool(surface), code, bool(opaque))
            else:
                by_path[path] = (had[0] and bool(surface), had[1] | code, had[2] or bool(opaque))
    return [(p, s, sorted(r) if s else [], o) for p, (s, r, o) in sorted(by_path.items())]


def _merge_observed(payloads: List[Dict[str, Any]]) -> Any:
    parts = [p["observed"] for p in payloads]
    if any(o is None for o in parts):
        return None
    names: Set[str] = set()
    preloaded = set(parts[0][1])
    own: Dict[str, Set[str]] = {}
    for read, loaded, per_file in parts:
        names.update(read)
        preloaded &= set(loaded)
        for f, n in per_file.items():
            own.setdefault(f, set()).update(n)
    return sorted(names), sorted(preloaded), {f: sorted(n) for f, n in own.items()}


def _program_values(payloads: List[Dict[str, Any]], snapshot: Dict[str, str]) -> Dict[str, str]:
    """The outputs of programs a worker ran first (programs.fill there): the
    main process's snapshot has them only when some record already did."""
    out: Dict[str, str] = {}
    for p in payloads:
        for name, value in p["inputs"].items():
            if name.startswith(programs.PREFIX) and name not in snapshot:
                out.setdefault(name, value)
    return out


def merge_payloads(payloads: List[Dict[str, Any]], collected: Set[str], drop: Set[str],
                   snapshot: Dict[str, str]) -> Optional[Dict[str, Any]]:
    """One payload (learn.Learner.payload's form) from the workers' kept ones."""
    if not payloads:
        return None
    names = sorted({n for p in payloads for n in p["input_names"]})
    files: Dict[str, Any] = {}
    for p in payloads:
        for entry in p["files"]:
            if entry[0] not in drop:
                files.setdefault(entry[0], entry)
    if not files:
        return None
    return {
        "session_key": payloads[0]["session_key"],
        "conftest_fp": payloads[0]["conftest_fp"],
        "input_names": names,
        "inputs": {**values_of(names, snapshot), **_program_values(payloads, snapshot)},
        "deps": _merge_deps(payloads),
        "observed": _merge_observed(payloads),
        "listings": sorted({d for p in payloads for d in p["listings"]}),
        "files": [files[k] for k in sorted(files)],
        "collected": sorted(collected - drop),
    }


def judge(results: List[Optional[Dict[str, Any]]], shares: List[List[str]], outcome: Outcome) -> Tuple[
        List[int], Set[str]]:
    """The workers whose records are kept, and the modules dropped from them."""
    ok = []
    for k, message in enumerate(results):
        if message is None:
            outcome.failed.append(f"worker {k + 1} died or timed out: its {len(shares[k])} modules are imported here")
        elif not message.get("payload") and not shares[k] and "off" not in message:
            continue  # it took no chunk: the others were quicker
        elif "off" in message or not message.get("payload"):
            why = message.get("off") or "it recorded nothing"
            outcome.failed.append(f"worker {k + 1}: {why}")
        else:
            ok.append(k)
    drop: Set[str] = set()
    changers = {k: sorted(set(results[k]["changed_state"]) & set(shares[k])) for k in ok}  # type: ignore[index]
    for k in ok:
        if any(changers[j] for j in ok if j != k):
            first = next(changers[j][0] for j in ok if j != k and changers[j])
            for p in shares[k]:
                outcome.dropped[p] = f"another worker's module changed process state ({first})"
            drop |= set(shares[k])
    crossing = crossings.crossed([results[k]["crossings"] if k in ok else None for k in range(len(shares))],
                                 shares)
    for p in sorted(crossing - drop):
        outcome.dropped[p] = "holds or changes what a module learned in another worker changes or holds"
    return ok, drop | crossing


def merge(results: List[Optional[Dict[str, Any]]], shares: List[List[str]], chunked: Set[str],
          snapshot: Dict[str, str], outcome: Outcome) -> Tuple[Optional[Dict[str, Any]], Dict[str, Any]]:
    """The payload to write and the environment effects of its modules.
    `chunked`: every module some worker was to learn (shares[k]: those
    worker k took); a worker's record of a module it did not take (imported
    by one it took) is not kept, nor what no kept worker took."""
    ok, drop = judge(results, shares, outcome)
    collected: Set[str] = set()
    effects: Dict[str, Any] = {}
    payloads = []
    for k in ok:
        message = results[k]
        assert message is not None
        others = chunked - set(shares[k])
        collected |= set(message["payload"]["collected"]) - others
        for path, delta in message["env_effects"].items():
            if path not in others:
                effects.setdefault(path, delta)
        payload = dict(message["payload"])
        payload["files"] = [f for f in payload["files"] if f[0] not in others]
        payloads.append(payload)
        outcome.seconds.update({p: t for p, t in message.get("seconds", {}).items() if p in shares[k]})
    lost = chunked - {p for k in ok for p in shares[k]}
    payload = merge_payloads(payloads, collected - lost, drop | lost, snapshot)
    return payload, effects


def write(core: Any, language: Any, index_dir: str, payload: Dict[str, Any], effects: Dict[str, Any]) -> Tuple[
        str, int]:
    return store(core, language, index_dir, payload, effects)
