"""pytest's own options that act on collection (--lf, --ff, --nf, --sw,
--sw-skip, --deselect, --ignore, --ignore-glob) combined with -k/-m.

--lf, --nf and --sw keep state in pytest's cache between runs, so each case
runs its steps twice, in two copies of one project (plain pytest in one,
the plugin in the other; each copy has its own .pytest_cache), and compares
every step's node IDs and outcomes and, at the end, what pytest wrote into
its cache. "Cold" cases start with an empty fastcollect index, "warm" ones
after a filtered run learned the items the static model cannot read."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

from differential import Collected, collect, write

# test_cases.py's ids come from a call the static model cannot read: only
# learned items (or importing it) decide it.
PROJECT = {
    "pytest.ini": "[pytest]\npythonpath = .\nmarkers =\n  slow\n",
    "helpers.py": """
        def make(prefix):
            return [prefix + "_one", prefix + "_two"]
    """,
    "tests/test_f.py": """
        def test_fails_one():
            assert 0
        def test_passes_one():
            pass
    """,
    "tests/test_g.py": """
        def test_fails_two():
            assert 0
    """,
    "tests/test_h.py": """
        def test_one_h():
            pass
    """,
    "tests/test_cases.py": """
        import pytest
        import helpers
        @pytest.mark.parametrize("c", helpers.make("case"))
        def test_case(c):
            assert c != "case_two"
    """,
    "tests/sub/test_deep.py": """
        import pytest
        @pytest.mark.slow
        def test_deep_one():
            pass
        def test_deep_two():
            assert 0
    """,
}


class Twin:
    """One project in two copies: plain pytest runs in one, the plugin in the other."""

    def __init__(self, pytester: pytest.Pytester, files: Dict[str, str]) -> None:
        self.pytester = pytester
        self.plain = pytester.path / "plain"
        self.fast = pytester.path / "fast"
        for root in (self.plain, self.fast):
            write(root, files)

    def _in(self, root: Path, args: Sequence[str], run: bool) -> Collected:
        old = os.getcwd()
        os.chdir(root)
        try:
            return collect(self.pytester, *args, run=run)
        finally:
            os.chdir(old)

    def step(self, *args: str, run: bool = False) -> Tuple[Collected, Collected]:
        plain = self._in(self.plain, ["--no-fast-collect", *args], run)
        fast = self._in(self.fast, list(args), run)
        missed = [i for i in plain.ids if i not in fast.ids]
        extra = [i for i in fast.ids if i not in plain.ids]
        assert not missed and not extra, f"{list(args)}: missed={missed} extra={extra}\n{fast.output}"
        assert fast.ids == plain.ids, f"{list(args)}: order differs"
        if run:
            assert fast.outcomes == plain.outcomes, f"{list(args)}: outcomes differ"
        assert not plain.lines, plain.lines
        if "-k" in args or "-m" in args:
            assert fast.report is not None or any("importing every test file" in line for line in fast.lines), (
                f"{list(args)}: no fastcollect line (plugin off?): {fast.output}")
        else:
            assert not fast.lines, f"{list(args)}: the plugin acted without a filter: {fast.lines}"
        return plain, fast

    def forget_index(self) -> None:
        """An empty fastcollect index, pytest's own cache entries kept."""
        shutil.rmtree(self.fast / ".pytest_cache" / "v" / "fastcollect", ignore_errors=True)

    def cache_entries(self, root: Path) -> Dict[str, object]:
        out: Dict[str, object] = {}
        for name in ("lastfailed", "stepwise", "nodeids"):
            path = root / ".pytest_cache" / "v" / "cache" / name
            if path.exists():
                value = json.loads(path.read_text())
                if isinstance(value, dict):
                    value.pop("last_cache_date_str", None)  # stepwise's date
                out[name] = value
        return out

    def assert_same_cache(self) -> None:
        """pytest wrote the same --lf/--nf/--sw state in both copies: the next
        run, with or without the plugin, starts from the same place."""
        assert self.cache_entries(self.fast) == self.cache_entries(self.plain)


def report_of(fast: Collected) -> str:
    return fast.report.line if fast.report is not None else "\n".join(fast.lines)


@pytest.fixture
def twin(pytester: pytest.Pytester) -> Twin:
    return Twin(pytester, PROJECT)


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_lf_with_k_reproduction(twin: Twin, warm: bool) -> None:
    """The reproduction of the issue: a failure recorded in a file -k does not
    select changes which other files --lf collects."""
    if warm:
        twin.step("-k", "nothing_matches")  # learns every module
    twin.step("-k", "one", run=True)  # test_fails_one fails
    if not warm:
        twin.forget_index()
    plain, fast = twin.step("--lf", "-k", "two")
    assert plain.ids == []
    assert "tests/test_f.py" in fast.modules  # holds the recorded failure: collected as pytest does
    twin.step("--lf", "-k", "two", run=True)
    twin.assert_same_cache()


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("expr", ["two", "one", "case", "fails", "not fails", "deep", "case_two or one_h"])
def test_lf_with_k(twin: Twin, warm: bool, expr: str) -> None:
    if warm:
        twin.step("-k", "nothing_matches")
    twin.step(run=True)  # every failure recorded
    twin.step("-k", "fails_one", run=True)  # one fixed? no: still failing; lastfailed keeps all
    if not warm:
        twin.forget_index()
    plain, fast = twin.step("--lf", "-k", expr, run=True)
    twin.assert_same_cache()
    if warm:
        assert fast.report is not None and fast.report.learned > 0, report_of(fast)


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_lf_learned_records_decide_and_lf_records_nothing(twin: Twin, warm: bool) -> None:
    """Under --lf, files without recorded failures are decided by records
    learned without it (when warm), and an --lf run records nothing: its
    items are filtered while collecting."""
    twin.step(run=True)
    if warm:
        twin.step("-k", "nothing_matches")
    else:
        twin.forget_index()
    plain, fast = twin.step("--lf", "-k", "case_one", run=True)
    assert fast.report is not None
    if warm:
        assert fast.report.learned > 0, report_of(fast)
    # A later run without --lf is not decided by anything the --lf run saw.
    twin.step("-k", "case_one or deep_one", run=True)
    twin.step("-k", "passes", run=True)


def test_sw_with_k_reproduction(pytester: pytest.Pytester) -> None:
    twin = Twin(pytester, {
        "tests/test_a.py": "def test_match():\n    pass\n",
        "tests/test_b.py": "def test_fail():\n    assert 0\n",
    })
    twin.step("--sw", run=True)
    plain, fast = twin.step("--sw", "-k", "match", run=True)
    assert plain.ids == []
    twin.assert_same_cache()


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("flags", [["--sw"], ["--sw-skip"], ["--sw", "--sw-reset"]])
def test_sw_with_k(twin: Twin, warm: bool, flags: List[str]) -> None:
    if warm:
        twin.step("-k", "nothing_matches")
    for expr in ("fails or case", "case", "one", "deep", "case"):
        plain, fast = twin.step(*flags, "-k", expr, run=True)
        twin.assert_same_cache()
    # Filtered --sw runs import every file (stepwise compares counts) and learn:
    # a later run without --sw is decided by what they recorded.
    plain, fast = twin.step("-k", "one_h")
    assert fast.report is not None and fast.report.skipped > 0, report_of(fast)


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_ff_and_nf_with_k(twin: Twin, warm: bool) -> None:
    if warm:
        twin.step("-k", "nothing_matches")
    twin.step(run=True)
    if not warm:
        twin.forget_index()
    (twin.plain / "tests" / "test_new.py").write_text("def test_new_one():\n    pass\n")
    (twin.fast / "tests" / "test_new.py").write_text("def test_new_one():\n    pass\n")
    for flags, expr in ((["--ff"], "one or case"), (["--nf"], "case or h"), (["--ff", "--nf"], "case_one or new")):
        plain, fast = twin.step(*flags, "-k", expr, run=True)
        assert fast.report is not None and fast.report.skipped > 0, report_of(fast)
        if warm:
            assert fast.report.learned > 0, report_of(fast)
        twin.assert_same_cache()


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("args", [
    ["--deselect", "tests/test_cases.py::test_case[case_one]", "-k", "case"],
    ["--deselect", "tests/test_f.py", "-k", "one"],
    ["--ignore", "tests/sub", "-k", "deep or one"],
    ["--ignore", "tests/test_cases.py", "-k", "case or one"],
    ["--ignore-glob", "*/test_c*.py", "-k", "case or one_h"],
    ["--ignore-glob", "*/sub/*", "-m", "slow"],
])
def test_deselect_and_ignore_with_filters(twin: Twin, warm: bool, args: List[str]) -> None:
    if warm:
        twin.step("-k", "nothing_matches")
    plain, fast = twin.step(*args, run=True)
    assert fast.report is not None and fast.report.skipped > 0, report_of(fast)
    if warm:
        assert fast.report.learned > 0, report_of(fast)
    # What a run under --deselect/--ignore learned decides a run without them.
    selected = "case" if "case" in args[-1] else "one"
    plain, fast = twin.step("-k", selected, run=True)
    assert fast.report is not None and fast.report.skipped > 0, report_of(fast)
