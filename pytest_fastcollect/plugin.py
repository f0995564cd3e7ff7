"""The pytest plugin.

With a -k or -m filter, the native core decides before collection which test
modules cannot hold a selected item; ``pytest_ignore_collect`` keeps pytest
from importing exactly those. Everything else - collecting the imported
files, deselecting, running, reporting - is pytest's own work.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, Generator, List, Optional, Set, Tuple

import pytest

from pytest_fastcollect import (cache_options, directories, distributed, env_effects, environment, hook_cache, hooks,
                                learner_worker, learners, programs)
from pytest_fastcollect.inputs import Recorder, current_values
from pytest_fastcollect.learn import (Learner, Scanned, does_not_compile, learning_allowed, record, refused_before,
                                      session_key)
from pytest_fastcollect.native import Native, load

WORKERINPUT_KEY = distributed.SKIP_KEY


@dataclass
class State:
    """Everything the plugin knows during one run (kept in config.stash)."""

    active: bool  # a filter was given and the plugin is enabled
    explain: bool = False
    native: Optional[Native] = None
    disabled: Optional[str] = None  # why nothing is skipped, when not a normal decision
    decided: bool = False
    skip: FrozenSet[str] = frozenset()
    # Directories pytest may leave unwalked -> the skipped modules below them (directories.py).
    skip_dirs: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    conftest_effects: Dict[str, str] = field(default_factory=dict)  # why a conftest keeps directories walked
    imported: List[Tuple[str, str]] = field(default_factory=list)
    steps: Dict[str, Tuple[str, str]] = field(default_factory=dict)  # path -> (deciding step, reason)
    stats: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    skipped: int = 0
    collected_modules: Set[str] = field(default_factory=set)  # test files pytest made a Module of
    # Environment effects of recorded modules (env_effects.py), loaded at the
    # first skip; those of skipped modules, waiting for their turn.
    env_effects: Optional[Dict[str, Dict[str, Any]]] = None
    env_pending: List[Tuple[str, env_effects.Delta]] = field(default_factory=list)
    elapsed_ms: float = 0.0
    from_controller: bool = False
    handed_to_workers: bool = False  # this process is an xdist controller
    index_dir: Optional[str] = None
    hashes: Dict[str, int] = field(default_factory=dict)  # imported modules' content hashes
    conftests: List[str] = field(default_factory=list)
    conftest_fp: int = 0
    input_names: List[str] = field(default_factory=list)  # inputs the stored generation depends on
    snapshot: Dict[str, str] = field(default_factory=dict)  # every input's value when deciding
    learned_status: str = ""  # why stored learned items were not used, if they were not
    learned_current: FrozenSet[str] = frozenset()  # imported on learned items whose record is still valid
    # Skipped by resolving imported names, which holds while the import
    # system is as it was when deciding (environment.import_state).
    resolved: FrozenSet[str] = frozenset()
    import_state: Optional[List[Any]] = None
    basedirs: FrozenSet[str] = frozenset()  # sys.path entries pytest's import mode may add
    session_key: int = 0  # computed once, for the scan and for recording
    hook_key: str = ""  # what kept readings of the conftests' hooks depend on besides them (hook_cache.py)
    hooks_kept: bool = False  # the scan was given a kept reading of the conftests' hooks
    hooks_read: str = ""  # how the conftests' hooks were read, for --fast-collect-explain
    learner: Optional[Learner] = None
    warnings_shown: int = 0  # how many warnings the collection report line already showed
    learned_written: int = 0  # test modules whose items this run recorded
    learn_ms: float = 0.0  # time spent recording them (surfaces included)
    for_workers: bool = False  # deciding on an xdist controller, for its workers
    worker_count: int = 0  # how many (xdist's workercount)
    controller_terminal: Optional[Dict[str, Optional[str]]] = None  # COLUMNS/LINES on the controller
    verify: Optional[Dict[str, Any]] = None  # on a worker: the inputs the controller's decision relies on
    worker_lines: List[str] = field(default_factory=list)  # what the recording xdist worker reported
    learning: Optional[learners.Outcome] = None  # what learning workers did (learners.py)
    learning_tried: bool = False
    worker_conn: Any = None  # in a learning worker: its connection to the main process
    claims: Optional[learners.Claims] = None  # in a learning worker: the chunks it may take
    collection_began: float = 0.0  # time.time() when collection started


STATE_KEY = pytest.StashKey[State]()
RECORDER_KEY = pytest.StashKey[Recorder]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fastcollect", "fast selective collection (pytest-fastcollect)")
    group.addoption(
        "--no-fast-collect",
        action="store_true",
        default=False,
        dest="no_fast_collect",
        help="import every test file as plain pytest does, even with -k/-m",
    )
    group.addoption(
        "--fast-collect-explain",
        action="store_true",
        default=False,
        dest="fast_collect_explain",
        help="list why each imported test file could not be skipped",
    )
    learners.add_options(group, parser)
    parser.addini(
        "fast_collect",
        type="bool",
        default=True,
        help="skip importing test files that cannot match -k/-m (default: true)",
    )


def _has_filter(config: pytest.Config, options: Any = None) -> bool:
    options = config.option if options is None else options
    keyword = (getattr(options, "keyword", None) or "").lstrip()
    return bool(keyword) or bool(getattr(options, "markexpr", None))


def _enabled(config: pytest.Config, options: Any = None) -> bool:
    options = config.option if options is None else options
    if getattr(options, "no_fast_collect", False):
        return False
    if os.environ.get("PYTEST_FASTCOLLECT", "").strip().lower() in ("0", "false", "no", "off"):
        return False
    try:
        return bool(config.getini("fast_collect"))
    except (ValueError, KeyError):
        return True


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # What start-up reads (conftests loaded now, pytest_configure hooks) can
    # shape items too: watch from here, before any conftest runs. (On an
    # xdist worker `workerinput` is set only after this hook: it watches too,
    # and keeps watching if the controller chose it to record.)
    options = early_config.known_args_namespace
    if _enabled(early_config, options) and _has_filter(early_config, options) and not hasattr(early_config, "workerinput"):
        native = load()
        recorder = Recorder()
        recorder.start(early_config, None if isinstance(native, str) else native.core)
        early_config.stash[RECORDER_KEY] = recorder


def _stop_recording(config: pytest.Config) -> None:
    recorder = config.stash.get(RECORDER_KEY, None)
    if recorder is not None:
        recorder.stop()


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    state = State(active=_enabled(config) and _has_filter(config))
    state.explain = bool(config.option.fast_collect_explain)
    config.stash[STATE_KEY] = state
    try:
        _configure(config, state)
    finally:
        if state.learner is None:
            _stop_recording(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_recording(config)


def _configure(config: pytest.Config, state: State) -> None:
    if not state.active:
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        # An xdist worker: take the controller's decision, never make one.
        skip = workerinput.get(WORKERINPUT_KEY)
        state.decided = True
        state.from_controller = True
        if skip is None:
            state.active = False
        else:
            state.skip = frozenset(skip)
            state.skip_dirs = directories.below(workerinput.get(distributed.DIRS_KEY) or (), state.skip)
            resolved = workerinput.get(distributed.RESOLVED_KEY)
            if resolved:
                state.resolved = frozenset(resolved[0])
                state.import_state = resolved[1]
                state.basedirs = frozenset(resolved[2])
            state.verify = workerinput.get(distributed.VERIFY_KEY)
            _worker_learner(config, state, workerinput)
        return
    if getattr(config.option, "doctestmodules", False):
        state.disabled = "--doctest-modules collects every module"
        state.active = False
        return
    native = load()
    if isinstance(native, str):
        state.disabled = native
        state.active = False
        return
    state.native = native
    recorder = config.stash.get(RECORDER_KEY, None)
    why_not = learning_allowed(config)
    if recorder is not None and why_not is None:
        state.learner = Learner(config, recorder)
        state.learner.record_off = cache_options.recording_blocked(config) or ""
        config.pluginmanager.register(state.learner, "fastcollect-learner")
    else:
        state.learned_status = f"learning is off: {why_not or 'inputs were not watched from start-up'}"
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistController(config), "fastcollect-xdist")


def _worker_learner(config: pytest.Config, state: State, workerinput: Dict[str, Any]) -> None:
    """On the xdist worker the controller chose to record (distributed.py):
    a learner keyed by the controller's scan."""
    data = workerinput.get(distributed.LEARN_KEY)
    if not data:
        return
    output: Dict[str, Any] = {"worker": workerinput.get("workerid", "?")}
    workeroutput = getattr(config, "workeroutput", None)
    if isinstance(workeroutput, dict):
        workeroutput[distributed.OUTPUT_KEY] = output
    recorder = config.stash.get(RECORDER_KEY, None)
    native = load()
    why_not = learning_allowed(config)
    if recorder is None:
        why_not = why_not or "inputs were not watched from start-up"
    elif isinstance(native, str):
        why_not = why_not or native
    else:
        recorder.paused = True  # our own reading is no input
        try:
            own_key = session_key(config)
        finally:
            recorder.paused = False
        if own_key != data["session_key"]:
            why_not = why_not or "the session key of this xdist worker differs from the controller's"
    if why_not:
        output["off"] = why_not
        return
    assert recorder is not None and not isinstance(native, str)
    state.native = native
    state.index_dir = data["index_dir"]
    state.session_key = data["session_key"]
    learner = Learner(config, recorder)
    learner.view = dict(data["snapshot"])
    learner.scanned = Scanned(
        hashes={path: int(h) for path, h in data["hashes"].items()},
        test_files=frozenset(data["test_files"]),
        conftests=tuple(data["conftests"]),
        conftest_fp=int(data["conftest_fp"]),
        input_names=tuple(data["input_names"]),
        snapshot=learner.view,
        learned_current=frozenset(data["learned_current"]),
        session_key=int(data["session_key"]),
        state_changers=frozenset(data.get("state_changers", ())),
        in_place=frozenset(data.get("in_place", ())),
        writers=frozenset(data["writers"]) if "writers" in data else None,
    )
    state.learner = learner
    config.pluginmanager.register(learner, "fastcollect-learner")


def _index_dir(config: pytest.Config, state: State) -> Optional[str]:
    cache = getattr(config, "cache", None)
    if cache is None:
        state.warnings.append("cache plugin disabled: running without an index")
        return None
    try:
        return str(cache.mkdir("fastcollect"))
    except OSError as exc:
        state.warnings.append(f"cache directory not usable ({exc.strerror}): running without an index")
        return None


_HOOK_RULE = " defines hook pytest_collection_modifyitems (sees every item)"
_FINISH_RULE = " defines hook pytest_collection_finish (sees every item)"
# The core's kProcessState and kChangesMadeObject: such modules are never recorded.
_PROCESS_STATE = ("changes process state at import", "changes in place an object made at import")
_GENERATE_RULE = ": defines hook pytest_generate_tests"
# Process-state writes the learner compares around each module's collection
# itself (learn._process_state): a module the static model flags for writing
# the environment through os.environ (a variable's earlier value is an input,
# its change replayed: env_effects.py) or for naming sys.path while calling
# code at import is recorded where its collection changed none of that, like
# any module. Direct writes of sys.path or the working directory stay
# unrecorded: "no change" may hold only for the learning run's sys.path or
# working directory (`if HERE not in sys.path`, `os.chdir(HERE)`), which the
# key does not hold. So do in-place changes of other modules' objects,
# putenv and addsitedir.
_CHECKED_AT_RUN = tuple(f"{_PROCESS_STATE[0]} ({what}" for what in ("environ", "names sys.path, calls "))


def _read_hooks(config: pytest.Config, state: State, result: Dict[str, Any], scan_config: Dict[str, Any]) -> bool:
    """Reads the conftests' collection hooks (pytest_fastcollect/hooks.py):
    a hook that may act across items stops learned decisions; hooks that act
    per item and only add known markers let the static model decide under
    them. True when the scan must run again with what was read."""
    learner = state.learner if scan_config.get("session_key") else None
    hook_rule = any(reason.endswith((_HOOK_RULE, _FINISH_RULE)) for _, reason in result["imported"])
    again = False
    if "generate_gates" not in scan_config and any(
            reason.endswith(_GENERATE_RULE) for _, reason in result["imported"]):
        gates = hooks.read_generate_tests(list(result["conftests"]))
        scan_config["generate_gates"] = gates
        again = bool(gates)
    if learner is None and not hook_rule:
        return again
    if learner is not None and not result["learned_status"] and not hook_rule:
        # A valid generation was recorded with these very inputs (every value
        # a hook's conditions read is one), conftests and installed plugins:
        # their hooks could not cross items then, so they cannot now. The
        # warm path reads only plugin objects registered at run time.
        learner.recorder.paused = True  # our own reading is no input
        try:
            cross = hooks.foreign_crossing(config, environment.known_module)
        finally:
            learner.recorder.paused = False
        return _learning_off(learner, cross, result, scan_config) if cross else again
    if state.hooks_kept and not hook_rule:
        return again  # a reading of these conftests under these conditions found no crossing
    if learner is not None:
        learner.recorder.paused = True  # our own reading is no input
    noting = hook_cache.NotingConfig(config)
    state.hooks_read = "read in this run"
    try:
        readings = hooks.read_conftests(list(result["conftests"]))
        cross = hooks.cross_item_hook(noting, environment.known_module, readings) if learner is not None else None
        read = hooks.static_marks(noting, readings) if hook_rule else {}
        finish = hooks.adding_nothing(noting, readings, "pytest_collection_finish") if hook_rule else []
        if learner is not None and hook_rule and not cross and state.hook_key:
            found = {"read_hooks": read, "read_finish": finish, "generate_gates": scan_config.get("generate_gates")}
            hook_cache.store(state.index_dir, state.hook_key, list(result["conftests"]), noting.noted, found)
    finally:
        if learner is not None:
            learner.recorder.paused = False
    if cross and learner is not None:
        again = _learning_off(learner, cross, result, scan_config) or again
    if read and read != scan_config.get("read_hooks"):
        scan_config["read_hooks"] = read
        again = True
    if finish and finish != scan_config.get("read_finish"):
        scan_config["read_finish"] = finish
        again = True
    return again


def _learning_off(learner: Learner, cross: str, result: Dict[str, Any], scan_config: Dict[str, Any]) -> bool:
    """A hook may act across items: its effect on an item depends on the
    other items, so learned records neither decide nor get written while it
    can act. True when the scan must run again without them."""
    learner.off = f"learning is off: {cross}"
    if result["stats"].get("learned", 0) or result["stats"].get("cached_decisions", 0):
        scan_config["session_key"] = 0
        return True
    return False


def _broken_source(config: pytest.Config, state: State, result: Dict[str, Any]) -> bool:
    """A file the learned generation keeps by its surface no longer compiles:
    every test module importing it would now fail to import. Learned items
    neither decide nor get recorded in this session."""
    assert state.learner is not None
    state.learner.recorder.paused = True  # our own reading is no input
    try:
        bad = does_not_compile(config, [tuple(k) for k in result["surface_kept"]])
    finally:
        state.learner.recorder.paused = False
    if bad is None:
        return False
    state.learner.off = f"{bad} does not compile"
    return True


def _scan(config: pytest.Config, state: State, scan_config: Dict[str, Any]) -> Dict[str, Any]:
    """The core's scan, again as long as reading the conftests' hooks (or
    finding a kept dependency broken) changes what it is given."""
    core, language = state.native.core, state.native.language  # type: ignore[union-attr]
    kept = None
    if state.session_key and state.learner is not None:
        state.learner.recorder.paused = True  # our own reading is no input
        try:
            state.hook_key = hook_cache.key(state.session_key, config)
            kept = hook_cache.load(state.index_dir, state.hook_key, config)
        finally:
            state.learner.recorder.paused = False
        if kept is not None:
            scan_config.update(kept[1])  # what the last reading of these conftests found
            state.hooks_kept = True
            state.hooks_read = f"as an earlier run read them ({hook_cache.FILE})"
    result = core.scan(language, scan_config)
    if kept is not None and not result["error"] and sorted(result["conftests"]) != kept[0]:
        for name in kept[1]:  # read from other conftests: scan without them
            del scan_config[name]
        state.hooks_kept, state.hooks_read = False, ""
        result = core.scan(language, scan_config)
    for _ in range(2):  # what a first reading uncovers may need a reading of its own
        if result["error"] or not _read_hooks(config, state, result, scan_config):
            break
        result = core.scan(language, scan_config)
    if not result["error"] and result["surface_kept"] and _broken_source(config, state, result):
        scan_config["session_key"] = 0
        result = core.scan(language, scan_config)
    return result


def decide(config: pytest.Config, state: State) -> None:
    """Makes the decision once per run; every failure leaves plain pytest behaviour."""
    if state.decided:
        return
    state.decided = True
    start = time.perf_counter()
    try:
        assert state.native is not None
        effects = environment.plugin_effects(config)
        if effects.all_off:
            state.disabled = effects.all_off
            return
        if cache_options.stepwise_active(config):
            state.disabled = cache_options.STEPWISE_REASON
            return
        state.index_dir = _index_dir(config, state)
        scan_config = environment.scan_config(config, state.index_dir, effects)
        # A plugin hook the static model cannot see: only learned items decide.
        scan_config["static_unknown"] = effects.static_off or environment.unscoped_outside_rootdir(
            config, scan_config) or ""
        learning = bool(state.index_dir) and state.learner is not None
        if learning:
            assert state.learner is not None
            state.session_key = session_key(config, scan_config["anchors"])  # the arguments resolved once
            scan_config["session_key"] = state.session_key
            state.snapshot = state.learner.recorder.snapshot(config)
            # The programs some record depends on, run again (programs.py).
            state.snapshot.update(state.learner.recorder.program_values(programs.listed(state.index_dir)))
            if state.for_workers:  # the workers collect: check what they will read
                cache = getattr(config, "cache", None)
                terminal = cache.get(distributed.TERMINAL_CACHE, None) if cache is not None else None
                state.controller_terminal = distributed.terminal_values(state.snapshot)
                state.snapshot = distributed.worker_view(state.snapshot, state.worker_count, terminal)
            scan_config["inputs"] = state.snapshot
        result = _scan(config, state, scan_config)
    except Exception as exc:  # noqa: BLE001 - never break a run
        state.disabled = f"internal error, importing everything ({type(exc).__name__}: {exc})"
        return
    finally:
        state.elapsed_ms = (time.perf_counter() - start) * 1000
    state.warnings.extend(result["warnings"])
    state.stats = result["stats"]
    if result["error"]:
        state.disabled = result["error"]
        return
    state.skip = frozenset(result["skip"])
    state.imported = list(result["imported"])
    state.steps = dict(result["steps"])
    _collect_last_failed(config, state)
    state.resolved = frozenset(result["resolved"])
    state.import_state = scan_config["import_state"] if state.resolved else None
    state.basedirs = frozenset(result["basedirs"])
    state.hashes = dict(result["hashes"])
    state.conftests = list(result["conftests"])
    state.conftest_fp = int(result["conftest_fp"])
    state.input_names = list(result["input_names"])
    state.learned_current = frozenset(result["learned_current"])
    state.skip_dirs = _unwalked(config, state, result, scan_config)
    if state.learner is not None:
        state.learned_status = state.learner.off or str(result["learned_status"])
        state.learner.scanned = Scanned(
            hashes=state.hashes,
            test_files=frozenset(state.skip) | {p for p, _ in state.imported},
            conftests=tuple(state.conftests),
            conftest_fp=state.conftest_fp,
            input_names=tuple(state.input_names),
            snapshot=state.snapshot,
            learned_current=state.learned_current,
            session_key=state.session_key,
            state_changers=frozenset(p for p, reason in state.imported
                                     if reason.startswith(_PROCESS_STATE) and not reason.startswith(_CHECKED_AT_RUN)),
            in_place=frozenset(p for p, reason in state.imported
                               if reason.startswith(_PROCESS_STATE) and reason.endswith(" in place)")),
            writers=frozenset(p for p, reason in state.imported if reason.startswith(_PROCESS_STATE)),
        )
        refused = refused_before(config)
        unrecorded = set(state.hashes) - state.learned_current
        if not state.learner.off and not state.learner.record_off \
                and all(refused.get(p) == state.hashes[p] for p in unrecorded):
            # Every module imported has a still-valid record, or is one an
            # earlier learning run refused as it is: nothing to learn, so no
            # tracing, watching or recording for the rest of collection.
            state.learner.idle = True
            state.learner.recorder.stop(keep=False)
    _learn_in_parallel(config, state, len(result["warnings"]))


def _learn_in_parallel(config: pytest.Config, state: State, warnings_added: int) -> None:
    """Many modules to learn: worker processes learn them (learners.py);
    then the decision is made again on what they recorded."""
    learner = state.learner
    if state.learning_tried or learner is None or learner.idle or learner.off or learner.record_off \
            or not state.index_dir or state.for_workers or state.disabled or not hasattr(os, "fork"):
        return
    state.learning_tried = True
    learner.recorder.paused = True  # our own reading is no input
    try:
        if learners.xdist_distributes(config):
            return
        workers, chunks = learners.plan(_learnable(state), learners.worker_count(config),
                                        learners.load_seconds(config))
        if not chunks:
            return
        claims = learners.Claims(chunks)
        try:
            mine, started, why_none = learners.start(workers)
            if mine is not None:
                _become_worker(config, state, claims, *mine)
                return
            # (none could start: this process learns, as without workers)
            state.learning = _learn_with(config, state, claims, started) if started else learners.Outcome(
                error=why_none)
        finally:
            if state.claims is None:
                claims.remove()
    finally:
        learner.recorder.paused = False
    if state.learning is not None and state.learning.written:
        del state.warnings[len(state.warnings) - warnings_added:]
        state.decided = False
        decide(config, state)


def _learnable(state: State) -> List[str]:
    """The modules a worker may learn: imported, recordable, no valid
    record. (Those changing process state at import are never recorded:
    every worker imports them in their turn.)"""
    return [p for p, reason in state.imported
            if p in state.hashes and p not in state.learned_current and not reason.startswith(_PROCESS_STATE)]


def _become_worker(config: pytest.Config, state: State, claims: learners.Claims, k: int, conn: Any) -> None:
    """In a forked worker: skip every chunk until it takes one, and leave at
    the end of collection (learner_worker.py)."""
    try:
        learner_worker.detach_output(config)
        claims.worker = k
        state.claims = claims
        state.worker_conn = conn
        if state.learner is not None:
            state.learner.watch.compare_all = True  # (crossings.py)
        config.pluginmanager.register(learner_worker.WorkerGuard(conn), "fastcollect-worker-guard")
    except BaseException:  # noqa: BLE001 - a worker never returns into pytest broken
        os._exit(1)


def _learn_with(config: pytest.Config, state: State, claims: learners.Claims, started: List[Tuple[int, Any]]
                ) -> learners.Outcome:
    """Here, in the main process: the workers' records, merged and written."""
    begin = time.perf_counter()
    chunked = set(claims.chunk_of)
    outcome = learners.Outcome(workers=len(started), modules=len(chunked))
    total = len(state.skip) + len(state.imported)

    def progress() -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and config.get_verbosity() >= 0:
            reporter.write_line(f"fastcollect: learning {outcome.modules} of {total} test modules "
                                f"on {outcome.workers} workers")

    forked = time.time()
    try:
        results = learners.gather(started, learners.timeout(config), progress)
        gathered = time.time()
        shares = claims.shares(len(started))
        payload, effects = learners.merge(results, shares, chunked, state.snapshot, outcome)
        if payload is not None:
            assert state.native is not None and state.index_dir
            error, outcome.written = learners.write(state.native.core, state.native.language, state.index_dir,
                                                    payload, effects)
            outcome.error = error
        outcome.phases = {
            "start": forked - (state.collection_began or forked), "merge": time.time() - gathered,
            "workers": [(r["finished_at"] - forked, r["report_seconds"]) if r and "finished_at" in r else (None, None)
                        for r in results]}
    except Exception as exc:  # noqa: BLE001 - learning is an optimisation only
        outcome.error = f"{type(exc).__name__}: {exc}"
    if outcome.error:
        state.warnings.append(f"could not record what learning workers learned ({outcome.error})")
    learners.store_seconds(config, outcome.seconds)
    outcome.ms = (time.perf_counter() - begin) * 1000
    return outcome


def _unwalked(config: pytest.Config, state: State, result: Dict[str, Any],
              scan_config: Dict[str, Any]) -> Dict[str, Tuple[str, ...]]:
    """Directories pytest may leave unwalked, with the test modules below
    them (directories.py)."""
    if not state.skip or directories.plugin_collects(config) or scan_config.get("static_unknown"):
        return {}  # (a plugin's hook, or pytest < 9.1's conftest outside the rootdir, reaches every item)
    effects = {str(p): (str(why), bool(collects)) for p, (why, collects) in result["conftest_effects"].items()}
    effects.update(directories.loading_effects(result["conftest_imports"]))
    effects.update(directories.import_effects([c for c in result["conftests"] if c not in effects],
                                              getattr(config.option, "importmode", "prepend"),
                                              [p for p, _ in state.imported]))
    state.conftest_effects = {p: why for p, (why, _) in effects.items()}
    if state.env_effects is None:
        state.env_effects = env_effects.load(state.index_dir)
    keep = [p for p, _ in state.imported] + list(result["others"]) + list(state.resolved) + list(state.env_effects)
    roots = [r for r in scan_config["roots"] if os.path.isdir(r)]
    return directories.unwalked(roots, state.skip, keep, effects)


def _collect_last_failed(config: pytest.Config, state: State) -> None:
    """With --lf, the files holding recorded failures are collected as plain
    pytest collects them (cache_options.py)."""
    files, why = cache_options.last_failed_files(config)
    if files is None:
        state.disabled = why
        state.skip = frozenset()
        return
    for path in sorted(state.skip & files):
        state.imported.append((path, cache_options.LF_REASON))
        state.steps[path] = ("option", cache_options.LF_REASON)
    state.skip = state.skip - files


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE_KEY, None)
    if state is not None and state.worker_conn is not None:
        learner_worker.finish(state.learner, state.worker_conn)  # (a learning worker: never returns)
    if state is None or state.learner is None or not state.decided or state.disabled or not state.index_dir:
        return
    start = time.perf_counter()
    try:
        assert state.native is not None
        error, state.learned_written = record(state.learner, state.native.core, state.native.language, state.index_dir)
    except Exception as exc:  # noqa: BLE001 - learning is an optimisation only
        error = f"{type(exc).__name__}: {exc}"
    state.learner.release()
    if state.learned_written:
        learners.store_seconds(session.config, {p: t for p, t in state.learner.seconds.items() if p in state.hashes})
    state.learn_ms = (time.perf_counter() - start) * 1000
    if error:
        state.warnings.append(f"could not record learned items ({error})")
    if state.learner.failure:
        state.warnings.append(f"nothing learned: {state.learner.failure}")
    workeroutput = getattr(session.config, "workeroutput", None)
    if state.from_controller and isinstance(workeroutput, dict) and distributed.OUTPUT_KEY in workeroutput:
        workeroutput[distributed.OUTPUT_KEY].update(
            written=state.learned_written, ms=state.learn_ms, off=state.learner.off, warnings=list(state.warnings),
            terminal=distributed.terminal_values(state.learner.own) if state.learner.own is not None else None,
        )


# tryfirst: a conftest that answers this firstresult hook (pyarrow's returns
# False for every file it does not ignore) would otherwise stop it reaching us.
# Returning True only for files proven empty of selected items is safe
# whatever later implementations would have said.
@pytest.hookimpl(tryfirst=True)
def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> Optional[bool]:
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return None
    if not state.decided:
        decide(config, state)
    if state.verify is not None:
        _verify_on_worker(config, state)
    path = str(collection_path)
    if path in state.skip:
        if path in state.resolved and not environment.same_import_state(state.import_state, state.basedirs):
            return None  # sys.path (or the like) changed since: the import may find other modules
        if already_imported(collection_path):
            return None  # it ran before its turn: leave it to pytest (importing it again is free)
        if not _effect_replayed(config, state, path):
            return None  # its recorded environment effect cannot be replayed: pytest imports it
        state.skipped += 1
        return True
    return None


# tryfirst: before pytest's own, which imports the directory's conftests.
@pytest.hookimpl(tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Optional[pytest.CollectReport]:
    """A directory left unwalked (directories.py) is answered when pytest
    reaches it in its walk, as its files' pytest_ignore_collect would be: an
    empty report, no conftest imported. pytest asks pytest_ignore_collect
    about a directory earlier, when listing its parent, before the modules
    sorted ahead of it are collected (one of which may import a module
    below it: then it is walked, and that module collected)."""
    state = collector.config.stash.get(STATE_KEY, None)
    if state is not None and state.claims is not None and isinstance(collector, pytest.Module):
        return _claimed(state.claims, collector)
    if state is None or not state.skip_dirs or not isinstance(collector, pytest.Directory):
        return None
    below = state.skip_dirs.get(str(collector.path))
    if below is None or collector.session.isinitpath(collector.path, with_parents=True):
        return None
    if any(already_imported(Path(p)) for p in below):
        return None
    state.skipped += len(below)
    return pytest.CollectReport(collector.nodeid, "passed", None, [])


def _claimed(claims: learners.Claims, collector: pytest.Module) -> Optional[pytest.CollectReport]:
    """In a learning worker, as a module is about to be imported: None (it
    is imported) when its chunk is this worker's, or taken by it now; an
    empty report (not imported) when another worker took it. (Claimed here,
    not when pytest lists its directory: a worker takes chunks as it goes.)"""
    path = str(collector.path)
    if path not in claims.chunk_of or claims.mine(path):
        return None
    return pytest.CollectReport(collector.nodeid, "passed", None, [])


def _effect_replayed(config: pytest.Config, state: State, path: str) -> bool:
    """May this module be skipped as far as the environment goes: it set no
    variable when recorded, or its effect will be applied in its turn
    (pytest_collectstart)?"""
    if state.env_effects is None:
        state.env_effects = env_effects.load(state.index_dir)
    entry = state.env_effects.get(path)
    if entry is None:
        return True
    # One collection root: its walk's order is the order of the paths.
    if len(config.args) != 1 or not env_effects.can_replay(entry, path, state.snapshot):
        return False
    state.env_pending.append((path, entry["delta"]))
    return True


def already_imported(path: Path) -> bool:
    """Did some code import this test module before pytest collects it
    (`import test_a` in another test file, or a conftest)? Whatever that code
    did with its objects (`test_a.CASES.append(3)`) is not part of the
    decision. A module of this file is named by a tail of its path
    (`test_a`, `tests.test_a`, ...: prepend and importlib modes alike)."""
    target = os.path.abspath(path)
    parts = os.path.splitext(target)[0].split(os.sep)[1:]
    name = ""
    for part in reversed(parts):  # the tails, shortest first
        name = f"{part}.{name}" if name else part
        module = sys.modules.get(name)
        if module is None:
            continue
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and os.path.abspath(file) == target:
            return True
    return False


def pytest_collectstart(collector: pytest.Collector) -> None:
    state = collector.config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return
    if isinstance(collector, pytest.Module):
        state.collected_modules.add(str(collector.path))
    if state.env_pending:
        # Skipped modules that plain pytest would have collected by now.
        for _, delta in env_effects.due(state.env_pending, str(collector.path)):
            env_effects.apply(delta)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config) -> Generator[None, None, None]:
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.env_pending:
        # Skipped modules after the last node collected: their turn came as
        # the walk ended, before any collection hook sees the items.
        for _, delta in state.env_pending:
            env_effects.apply(delta)
        state.env_pending.clear()
    return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE_KEY, None)
    if state is not None:
        state.collection_began = time.time()
    if state is not None and state.verify is not None:
        # At the point matching the controller's snapshot: start-up code has
        # run, collection (and the conftests it loads) has not.
        _verify_on_worker(session.config, state)


def _verify_on_worker(config: pytest.Config, state: State) -> None:
    """Before an xdist worker collects: do the inputs of the generation the
    controller decided with have here the values it assumed? If not, the
    skip list is not for this process: import every test file."""
    check, state.verify = state.verify, None
    assert check is not None
    learner = state.learner
    own = learner.recorder.snapshot(config) if learner is not None else current_values(config)
    own.update(learner.recorder.program_values(check["names"]) if learner is not None
               else programs.values_of(check["names"]))  # (this worker's outputs)
    bad = distributed.worker_mismatch(check["names"], own, check["values"])
    if bad is None:
        return
    state.skip = frozenset()
    if learner is not None:
        learner.off = bad
    workeroutput = getattr(config, "workeroutput", None)
    if isinstance(workeroutput, dict):
        workeroutput[distributed.VERIFY_KEY] = f"imported every test file: {bad}"


def _summary(state: State) -> List[str]:
    if state.disabled and not state.skip:
        lines = [f"fastcollect: importing every test file: {state.disabled}"]
    elif state.from_controller:
        lines = [f"fastcollect: skipped {state.skipped} test files (decided by the xdist controller)"]
    else:
        s = state.stats
        total = len(state.skip) + len(state.imported)
        # Files named on the command line are collected even when decided
        # skippable (pytest never asks to ignore them), files below a
        # directory its conftest skips are never asked about nor imported:
        # count what happened.
        # (The controller counts what it handed to the workers.)
        skipped = len(state.skip - state.collected_modules)
        imported = total - skipped
        lines = [
            f"fastcollect: imported {imported} of {total} test files, skipped {skipped}; "
            f"index: {s.get('parsed', 0)} parsed, {s.get('from_index', 0)} from index, "
            f"{s.get('learned', 0)} decided by learned items; "
            f"{state.elapsed_ms:.0f} ms"
        ]
    if state.learning is not None:
        lines.append(_learning_line(state.learning))
    lines.extend(f"fastcollect: warning: {w}" for w in state.warnings)
    state.warnings_shown = len(state.warnings)
    return lines


def _learning_line(outcome: learners.Outcome) -> str:
    if not outcome.workers:
        return f"fastcollect: no learning worker started ({outcome.error}): learning in this process"
    line = (f"fastcollect: learned {outcome.written} test files on {outcome.workers} workers "
            f"in {outcome.ms / 1000:.1f} s")
    if outcome.failed or outcome.dropped:
        line += f" ({len(outcome.failed)} workers failed, {len(outcome.dropped)} records dropped: imported here)"
    return line


def pytest_report_collectionfinish(config: pytest.Config) -> List[str]:
    state = config.stash.get(STATE_KEY, None)
    if state is None or (not state.active and not state.disabled):
        return []
    return _summary(state)


_QUOTED = re.compile(r"'[^']*'|\S+\.py\b|@\S+")


def rule_of(reason: str) -> str:
    """A reason with names and paths taken out, to count which rules import most."""
    text = reason.split(": ", 1)[1] if reason.startswith("cannot decide ") else reason
    return _QUOTED.sub("…", text)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return
    for w in state.warnings[state.warnings_shown:]:  # raised after the report line (learning)
        terminalreporter.write_line(f"fastcollect: warning: {w}")
    state.warnings_shown = len(state.warnings)
    if not state.explain:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fastcollect explain")
    if state.disabled:
        write(f"nothing skipped: {state.disabled}")
    if state.learned_status:
        write(f"learned items not used: {state.learned_status}")
    if state.hooks_read:
        write(f"conftest collection hooks: {state.hooks_read}")
    if state.learner is not None and state.learner.record_off:
        write(f"nothing learned in this session: {state.learner.record_off}")
    rootpath = str(config.rootpath) + os.sep
    # Every test file with the step that decided it (decide.h): cached,
    # learned, conftest-or-plugin effect, static model, collected together.
    for path, (step, reason) in sorted(state.steps.items()):
        verdict = "skipped, " if path in state.skip else ""
        write(f"{path[len(rootpath):] if path.startswith(rootpath) else path}: {verdict}{reason} [{step}]")
    counts = Counter(rule_of(reason) for _, reason in state.imported)
    if counts:
        write("imports by rule:")
        for rule, n in counts.most_common():
            write(f"  {n:6d}  {rule}")
    by_step = Counter(step for step, _ in state.steps.values())
    if by_step:
        write("decided by step: " + ", ".join(f"{step} {n}" for step, n in by_step.most_common()))
    write(f"skipped {len(state.skip)} test files")
    if state.skip_dirs:
        tops = [d for d in state.skip_dirs if os.path.dirname(d) not in state.skip_dirs]
        write(f"left {len(tops)} directories unwalked (their conftests not imported)")
    for path, why in sorted(state.conftest_effects.items()):
        write(f"conftest may act outside its directory: {path[len(rootpath):] if path.startswith(rootpath) else path}: "
              f"{why}")
    if state.learned_written:
        write(f"learned the items of {state.learned_written} test files in {state.learn_ms:.0f} ms")
    elif state.learner is not None and state.learner.idle:
        write("nothing to learn: every module imported has a valid record, or was not recordable as it is")
    if state.learner is not None and not state.learner.idle:
        for path, why in sorted(state.learner.not_recorded().items()):
            write(f"not learned: {path[len(rootpath):] if path.startswith(rootpath) else path}: {why}")
    _explain_links(state, write, rootpath)
    if state.learning is not None:
        if state.learning.workers:
            write(f"learning workers: {state.learning.timeline()}")
        for why in state.learning.failed:
            write(f"learning workers: {why}")
        for path, why in sorted(state.learning.dropped.items()):
            write(f"not kept from a learning worker: {path[len(rootpath):] if path.startswith(rootpath) else path}: "
                  f"{why}")
    for line in state.worker_lines:
        write(line)


def _explain_links(state: State, write: Any, rootpath: str) -> None:
    """The links this session's records got (links.py), per module and per rule."""
    links = state.learner.links if state.learner is not None else None
    if links is None or not links.why:
        return
    for path, why in sorted(links.why.items()):
        write(f"linked when learned: {path[len(rootpath):] if path.startswith(rootpath) else path}: {why}")
    counts = Counter(rule_of(why) for why in links.why.values())
    write("links by rule: " + ", ".join(f"{n} {rule}" for rule, n in counts.most_common()))


class XdistController:
    """Registered on the xdist controller: decides once, hands the decision to
    every worker through workerinput, so all workers collect the same files."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.recorder_chosen = False  # one worker records what it collected

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        state = self.config.stash.get(STATE_KEY, None)
        node.workerinput[distributed.LEARN_KEY] = None
        if state is None or not state.active:
            node.workerinput[WORKERINPUT_KEY] = None
            return
        state.for_workers = True
        state.worker_count = int(node.workerinput.get("workercount", 0) or 0)
        decide(self.config, state)
        state.handed_to_workers = True
        # Modules recorded with an environment effect are collected on the
        # workers (its replay is this process's: env_effects.py).
        with_effects = set(env_effects.load(state.index_dir))
        state.collected_modules |= with_effects & state.skip
        node.workerinput[WORKERINPUT_KEY] = None if state.disabled else sorted(state.skip - with_effects)
        node.workerinput[distributed.DIRS_KEY] = [] if state.disabled else sorted(state.skip_dirs)
        if not state.disabled and state.resolved:
            node.workerinput[distributed.RESOLVED_KEY] = [sorted(state.resolved), state.import_state,
                                                          sorted(state.basedirs)]
        if not state.disabled and state.input_names:
            node.workerinput[distributed.VERIFY_KEY] = distributed.verify_input(state.input_names, state.snapshot)
        learner = state.learner
        if self.recorder_chosen or learner is None or learner.off or learner.scanned is None:
            return
        if state.disabled or not state.index_dir or not state.session_key:
            return
        # The first worker configured records; a replacement for a crashed
        # worker does not (the record is written once).
        self.recorder_chosen = True
        scanned = learner.scanned
        node.workerinput[distributed.LEARN_KEY] = distributed.learn_input(
            index_dir=state.index_dir,
            session_key=state.session_key,
            hashes=scanned.hashes,
            test_files=scanned.test_files,
            conftests=scanned.conftests,
            conftest_fp=scanned.conftest_fp,
            input_names=scanned.input_names,
            snapshot=scanned.snapshot,
            learned_current=scanned.learned_current,
            state_changers=scanned.state_changers,
            in_place=scanned.in_place,
            writers=scanned.writers,
        )

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        state = self.config.stash.get(STATE_KEY, None)
        output = getattr(node, "workeroutput", None)
        if state is None or not isinstance(output, dict):
            return
        worker = node.workerinput.get("workerid", "?")
        if output.get(distributed.VERIFY_KEY):
            state.warnings.append(f"xdist worker {worker} {output[distributed.VERIFY_KEY]}")
        report = output.get(distributed.OUTPUT_KEY)
        if not isinstance(report, dict):
            return
        state.worker_lines.extend(distributed.summary_of(report))
        state.warnings.extend(f"xdist worker {worker}: {w}" for w in report.get("warnings", []))
        # What COLUMNS/LINES the workers of this controller read (distributed.worker_view).
        cache = getattr(self.config, "cache", None)
        terminal = report.get("terminal")
        if cache is not None and isinstance(terminal, dict) and state.controller_terminal is not None:
            value = {"controller": state.controller_terminal, "worker": terminal}
            if cache.get(distributed.TERMINAL_CACHE, None) != value:
                cache.set(distributed.TERMINAL_CACHE, value)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        state = self.config.stash.get(STATE_KEY, None)
        if state is not None and state.handed_to_workers:
            for line in _summary(state):
                terminalreporter.write_line(line)
