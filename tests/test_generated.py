"""Random projects (seeded): plugin and plain pytest select the same node IDs
for random -k and -m expressions, cold and warm."""

from __future__ import annotations

import os
import random

import pytest

from differential import collect, compare, expressions, identifiers
from generator import MARKS, Generator

SEEDS = int(os.environ.get("FASTCOLLECT_SEEDS", "40"))


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_project(pytester: pytest.Pytester, seed: int) -> None:
    files = Generator(seed).project()
    for rel, text in files.items():
        path = pytester.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    pytester.syspathinsert()
    plain = collect(pytester, "--no-fast-collect")
    rng = random.Random(seed)
    idents = identifiers(plain.ids, MARKS)
    for k in expressions(rng, idents, 12):
        compare(pytester, ["-k", k])
    for m in expressions(rng, MARKS, 4) + ["slow", "not slow"]:
        compare(pytester, ["-m", m])
