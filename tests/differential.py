"""Differential testing: the same project collected by plain pytest and by
pytest with fastcollect must select exactly the same node IDs."""

from __future__ import annotations

import os
import random
import re
import shutil
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Set, Tuple

import pytest


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


@dataclass
class Collected:
    ids: List[str]
    modules: Set[str]  # test modules pytest imported
    outcomes: Optional[Tuple[List[str], List[str], List[str]]] = None


class _Recorder:
    def __init__(self) -> None:
        self.ids: List[str] = []
        self.modules: Set[str] = set()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ids = [item.nodeid for item in session.items]

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # One report per collector; modules are the ones named *.py.
        if report.nodeid.endswith(".py"):
            self.modules.add(report.nodeid)


def collect(pytester: pytest.Pytester, *args: str, run: bool = False) -> Collected:
    rec = _Recorder()
    extra = [] if run else ["--collect-only"]
    reprec = pytester.inline_run(*extra, "-p", "no:randomly", *args, plugins=[rec])
    result = Collected(rec.ids, rec.modules)
    if run:
        passed, skipped, failed = reprec.listoutcomes()
        result.outcomes = (
            sorted(r.nodeid for r in passed),
            sorted(r.nodeid for r in skipped),
            sorted(r.nodeid for r in failed),
        )
    return result


def compare(pytester: pytest.Pytester, args: Sequence[str], run: bool = False) -> Collected:
    """Runs plain and plugin collection; asserts identical selections."""
    plain = collect(pytester, "--no-fast-collect", *args, run=run)
    fast = collect(pytester, *args, run=run)
    missed = [i for i in plain.ids if i not in fast.ids]
    extra = [i for i in fast.ids if i not in plain.ids]
    assert not missed and not extra, f"args={list(args)}: missed={missed} extra={extra}"
    assert fast.ids == plain.ids, f"args={list(args)}: order differs"
    if run:
        assert fast.outcomes == plain.outcomes, f"args={list(args)}: outcomes differ"
    return fast


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
    skipped = 0
    for k in keywords:
        fast = compare(pytester, [*args, "-k", k])
        skipped += len(plain_all.modules - fast.modules)
    for m in marks:
        fast = compare(pytester, [*args, "-m", m])
        skipped += len(plain_all.modules - fast.modules)
    return skipped
