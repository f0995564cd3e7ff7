"""Random projects (seeded): plugin and plain pytest select the same node IDs
for random -k and -m expressions, cold and warm."""

from __future__ import annotations

import os
import random
from typing import Dict

import pytest

from differential import Collected, collect, compare, expressions, identifiers, skipped
from generator import MARKS, Generator

# Each seed is one generated project (~6 s); `FASTCOLLECT_SEEDS=200 make test-py` for a longer hunt.
SEEDS = int(os.environ.get("FASTCOLLECT_SEEDS", "16"))


def write_and_collect(pytester: pytest.Pytester, files: Dict[str, str]) -> Collected:
    """Writes the project and collects it with plain pytest."""
    for rel, text in files.items():
        path = pytester.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    pytester.syspathinsert()
    return collect(pytester, "--no-fast-collect")


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_project(pytester: pytest.Pytester, seed: int) -> None:
    files = Generator(seed).project()
    plain = write_and_collect(pytester, files)
    rng = random.Random(seed)
    idents = identifiers(plain.ids, MARKS)
    runs = [compare(pytester, ["-k", k]) for k in expressions(rng, idents, 12)]
    runs += [compare(pytester, ["-m", m]) for m in expressions(rng, MARKS, 4) + ["slow", "not slow"]]
    # compare() checked each run's report line against what pytest imported.
    # No generated hook acts across items, so what the first run learned
    # decides later runs, and over 18 filters some file is skipped (each of
    # the 40 default seeds skips files in 8 or more of its 18 runs).
    assert sum(skipped(r) for r in runs) > 0, [r.report for r in runs]
    assert any(r.report is not None and r.report.learned > 0 for r in runs[1:]), [r.report for r in runs]


@pytest.mark.parametrize("seed", [1000, 1002])  # 88 and 109 modules, 14 and 22 conftests
def test_wide_project(pytester: pytest.Pytester, seed: int) -> None:
    """Dozens of directories with conftests at several levels: modules are decided
    by the scanning threads as they are parsed, sharing the folded conftest scopes."""
    files = Generator(seed, global_hooks=False).project(breadth=40, unique_modules=True)
    assert sum(rel.endswith(".py") and "/test_" in rel for rel in files) >= 40
    plain = write_and_collect(pytester, files)
    rng = random.Random(seed)
    idents = identifiers(plain.ids, MARKS)
    imported = [len(compare(pytester, ["-k", k]).modules) for k in expressions(rng, idents, 6)]
    imported += [len(compare(pytester, ["-m", m]).modules) for m in ["slow", "not db"]]
    # The static model decided: some runs imported fewer modules than plain pytest.
    assert min(imported) < len(plain.modules), imported
