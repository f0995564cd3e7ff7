"""Differential testing: the same project collected by plain pytest and by
pytest with fastcollect must select exactly the same node IDs, and the
plugin must have acted: its report line is there, says it decided every
module pytest collected, and accounts for every module it kept pytest from
importing. Equal IDs alone would also hold with the plugin silently off."""

from __future__ import annotations

import os
import random
import re
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import pytest


def write(root: Path, files: Dict[str, str]) -> None:
    """Writes a project: relative path -> source (dedented)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def without_root_read_override() -> List[str]:
    """A command prefix under which file modes hold: root reads and writes
    anything through CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so drop both (the
    uid stays 0 and the interpreter under /root stays reachable)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test file permissions as root"
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


# The line of pytest_fastcollect/plugin.py's _summary after a decision.
REPORT = re.compile(
    r"^fastcollect: imported (?P<imported>\d+) of (?P<total>\d+) test files, skipped (?P<skipped>\d+); "
    r"index: (?P<parsed>\d+) parsed, (?P<from_index>\d+) from index, (?P<learned>\d+) decided by learned items; "
    r"(?P<ms>\d+) ms$"
)


@dataclass(frozen=True)
class Report:
    """The plugin's report line: what it decided and skipped."""

    imported: int
    total: int  # test modules the plugin decided about
    skipped: int  # modules it kept pytest from importing
    parsed: int  # modules and conftests parsed (not answered from the index)
    from_index: int  # facts read from the index
    learned: int  # modules decided by learned items
    line: str


def reports_of(lines: Iterable[str]) -> Tuple[List[Report], List[str]]:
    """The decision lines and every other fastcollect line of an output."""
    found: List[Report] = []
    other: List[str] = []
    for line in lines:
        if not line.startswith("fastcollect:"):
            continue
        m = REPORT.match(line)
        if m is None:
            other.append(line)
            continue
        n = {k: int(v) for k, v in m.groupdict().items() if k != "ms"}
        found.append(Report(line=line, **n))
    return found, other


@dataclass
class Collected:
    ids: List[str]
    modules: Set[str]  # test modules pytest imported
    files: Set[str] = field(default_factory=set)  # their real paths (a symlink loop repeats modules)
    outcomes: Optional[Tuple[List[str], List[str], List[str]]] = None
    report: Optional[Report] = None  # the plugin's decision line, if it printed one
    lines: List[str] = field(default_factory=list)  # every fastcollect: line
    output: str = ""
    ret: int = 0


class _Recorder:
    def __init__(self) -> None:
        self.ids: List[str] = []
        self.modules: Set[str] = set()
        self.files: Set[str] = set()  # real paths of the test modules collected

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ids = [item.nodeid for item in session.items]
        # (No collection hook here: the plugin would take it for a foreign
        # one that may change items, and stop skipping.)
        root = session.config.rootpath
        self.files = {os.path.realpath(root / m) for m in self.modules}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # One report per collector; modules are the ones named *.py.
        if report.nodeid.endswith(".py"):
            self.modules.add(report.nodeid)


def collect(pytester: pytest.Pytester, *args: str, run: bool = False) -> Collected:
    rec = _Recorder()
    extra = [] if run else ["--collect-only"]
    # In-process, with the terminal output kept: the plugin's report line.
    result_ = pytester.runpytest_inprocess(*extra, "-p", "no:randomly", *args, plugins=[rec])
    reprec = result_.reprec  # type: ignore[attr-defined]
    reports, _ = reports_of(result_.outlines)
    assert len(reports) <= 1, f"more than one fastcollect report line:\n{result_.stdout.str()}"
    result = Collected(rec.ids, rec.modules, rec.files, report=reports[0] if reports else None,
                       lines=[line for line in result_.outlines if line.startswith("fastcollect:")],
                       output=result_.stdout.str(), ret=int(result_.ret))
    if run:
        passed, skipped, failed = reprec.listoutcomes()
        result.outcomes = (
            sorted(r.nodeid for r in passed),
            sorted(r.nodeid for r in skipped),
            sorted(r.nodeid for r in failed),
        )
    return result


def _items_only(outcomes: Optional[Tuple[List[str], List[str], List[str]]]) -> Optional[Tuple[List[str], ...]]:
    """Outcomes of test items, without collectors' (a skipped directory's report)."""
    if outcomes is None:
        return None
    return tuple([n for n in nodeids if "::" in n] for nodeids in outcomes)


def compare(pytester: pytest.Pytester, args: Sequence[str], run: bool = False, items_only: bool = False) -> Collected:
    """Runs plain and plugin collection; asserts identical selections and
    that the plugin decided (its report line). Callers that know the plugin
    can skip files assert `skipped(...)` or the report's counts as well.
    `items_only`: outcomes are compared for test items only (collectors'
    reports from unimported files are an allowed difference)."""
    plain = collect(pytester, "--no-fast-collect", *args, run=run)
    fast = collect(pytester, *args, run=run)
    missed = [i for i in plain.ids if i not in fast.ids]
    extra = [i for i in fast.ids if i not in plain.ids]
    assert not missed and not extra, f"args={list(args)}: missed={missed} extra={extra}"
    assert fast.ids == plain.ids, f"args={list(args)}: order differs"
    if run and items_only:
        assert _items_only(fast.outcomes) == _items_only(plain.outcomes), f"args={list(args)}: outcomes differ"
    elif run:
        assert fast.outcomes == plain.outcomes, f"args={list(args)}: outcomes differ"
    # (Exit statuses may differ: a collection error in a file the plugin
    # skipped is an allowed difference, shared/CONTRACT.md.)
    assert plain.report is None and not plain.lines, f"--no-fast-collect printed {plain.lines}"
    declined = _declined_expression(args, plain.ret)
    if declined:
        # pytest rejects the expression (the plugin leaves every file to
        # pytest, which reports its own error), or it is non-ASCII, which
        # the core refuses on purpose (docs/design.md): the plugin must say so.
        assert fast.ret == plain.ret, f"args={list(args)}: exit {fast.ret}, plain pytest {plain.ret}"
        assert fast.report is None and any(line.startswith("fastcollect: importing every test file: ")
                                           and declined in line for line in fast.lines), (
            f"args={list(args)}: expected the plugin to import everything ({declined}), it printed {fast.lines}")
        return fast
    acted(fast, plain, args)
    return fast


def _declined_expression(args: Sequence[str], ret: int) -> str:
    """What the plugin's line must say when it cannot decide the filter: "" if it must decide."""
    if ret == pytest.ExitCode.USAGE_ERROR:
        return "expression"
    for flag, value in zip(args, args[1:]):
        if flag in ("-k", "-m") and not value.isascii():
            return "non-ASCII expression"
    return ""


def acted(fast: Collected, plain: Collected, args: Sequence[str] = ()) -> Report:
    """The plugin decided: one report line, covering every test module plain
    pytest collected, and every module plain pytest collected but this run did
    not is one the plugin skipped."""
    rep = fast.report
    assert rep is not None, f"args={list(args)}: no fastcollect report line (plugin off?): {fast.lines}\n{fast.output}"
    assert rep.imported + rep.skipped == rep.total, f"args={list(args)}: {rep.line}"
    assert rep.total >= len(plain.files), (
        f"args={list(args)}: the plugin decided {rep.total} test files, pytest collects {len(plain.files)}: {rep.line}"
    )
    gone = plain.modules - fast.modules
    # A file a conftest's pytest_ignore_collect would also have dropped can
    # count as skipped without being in plain pytest's modules.
    assert rep.skipped >= len(gone), f"args={list(args)}: {sorted(gone)} not imported, the plugin says {rep.line}"
    return rep


def ids_decided_statically(pytester: pytest.Pytester, name: str = "test_values") -> List[str]:
    """The project's module holding `name` is skipped for an unrelated -k
    (tests/test_target.py's), and every id plain pytest gives `name` selects
    its item with the plugin on a cleared cache: the static model's ids, not
    learned items. Returns those node IDs."""
    fast = compare(pytester, ["-k", "test_target"])
    assert skipped(fast) == 1, fast.lines
    plain_ids = compare(pytester, ["-k", name]).ids
    assert plain_ids, f"no test named {name}"
    for nodeid in plain_ids:
        ident = nodeid.split("[", 1)[1].rstrip("]")
        sel = compare(pytester, ["--cache-clear", "-k", f"{name} and {ident}"])
        assert nodeid in sel.ids, sel.ids
    return plain_ids


def skipped(fast: Collected) -> int:
    """Files the plugin kept pytest from importing, by its own report (0 for
    a run compare() accepted as declined: an expression pytest rejects)."""
    return fast.report.skipped if fast.report is not None else 0


_SPLIT = re.compile(r"::|/|\[|\]|-|\.py")


def identifiers(ids: Iterable[str], extra: Iterable[str] = ()) -> List[str]:
    """Identifier candidates taken from real node IDs (and marker names)."""
    out: Set[str] = set(extra)
    for nodeid in ids:
        for part in _SPLIT.split(nodeid):
            if part and re.fullmatch(r"[\w:+.\[\]\\/-]+", part) and part not in ("and", "or", "not"):
                out.add(part)
                if len(part) > 4:
                    out.add(part[1:-1])  # substrings match too
    return sorted(out)


def expressions(rng: random.Random, idents: Sequence[str], count: int) -> List[str]:
    """Random -k style expressions over the identifiers."""
    if not idents:
        return []

    def term(depth: int) -> str:
        roll = rng.random()
        if depth > 2 or roll < 0.5:
            word = rng.choice(idents)
            return word.upper() if rng.random() < 0.1 else word
        if roll < 0.65:
            return "not " + term(depth + 1)
        if roll < 0.8:
            return f"({term(depth + 1)} or {term(depth + 1)})"
        return f"{term(depth + 1)} and {term(depth + 1)}"

    return [term(0) for _ in range(count)]


def check_expressions(
    pytester: pytest.Pytester,
    keywords: Sequence[str] = (),
    marks: Sequence[str] = (),
    args: Sequence[str] = (),
) -> int:
    """Compares every -k and -m expression; returns how many files the
    plugin skipped over all runs (tests use it to prove the plugin acted)."""
    plain_all = collect(pytester, "--no-fast-collect", *args)
    total = 0
    for k in keywords:
        fast = compare(pytester, [*args, "-k", k])
        assert skipped(fast) == len(plain_all.modules - fast.modules), fast.report
        total += skipped(fast)
    for m in marks:
        fast = compare(pytester, [*args, "-m", m])
        assert skipped(fast) == len(plain_all.modules - fast.modules), fast.report
        total += skipped(fast)
    return total
