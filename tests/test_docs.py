"""docs/benchmarks.md holds no figure typed by hand: it is what
benchmarks/bench_docs.py makes of docs/results/*.json, and the prose of
docs/benchmarks-notes.md names figures only through placeholders."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_docs  # noqa: E402

# Numbers the prose may hold: limits and versions, not measurements.
CONSTANTS = ["30 minutes", "2-core", "30+ expressions", "pytest 8 and 9"]


def test_benchmarks_page_is_generated_from_the_results() -> None:
    page = (ROOT / "docs" / "benchmarks.md").read_text()
    assert page == bench_docs.render(), "docs/benchmarks.md is out of date with docs/results/*.json: run `make docs`"


def test_notes_hold_no_figure_typed_by_hand() -> None:
    text = (ROOT / "docs" / "benchmarks-notes.md").read_text()
    text = bench_docs.PLACEHOLDER.sub("", text)
    text = re.sub(r"`[^`]*`", "", text)  # code: commands, file names, identifiers
    text = re.sub(r"\s+", " ", text)
    for phrase in CONSTANTS:
        text = text.replace(phrase, "")
    assert not re.findall(r"\S*\d\S*", text), "a number in the notes that no results file gives"


def test_a_figure_no_results_file_gives_is_an_error() -> None:
    with pytest.raises(KeyError, match="no_such_figure"):
        bench_docs.fill("{{no_such_figure}}", {"known": "1"})
