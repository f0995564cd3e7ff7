"""Test modules outside the rootdir, as with `pytest --pyargs pkg` of an
installed package run from another directory: the rootdir is the invocation
directory, the package's conftests are conftests all the same (pytest loads
every conftest.py from the package's directories and their ancestors up to
the confcutdir), and the static model decides these modules cold as it does
with --rootdir at the package."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

from differential import compare, skipped, write

PACKAGE = {
    "site/pkg/__init__.py": "",
    "site/pkg/conftest.py": """
        import pytest
        @pytest.fixture(params=["sweet", "sour"])
        def flavor(request):
            return request.param
    """,
    "site/pkg/tests/conftest.py": """
        import pytest
        @pytest.fixture(params=["low", "high"])
        def level(request):
            return request.param
    """,
    "site/pkg/tests/__init__.py": "",
    "site/pkg/tests/test_flavors.py": """
        def test_taste(flavor):
            pass
    """,
    "site/pkg/tests/test_levels.py": """
        def test_climb(level):
            pass
    """,
    "site/pkg/tests/test_plain.py": """
        import pytest
        @pytest.mark.parametrize("n", [1, 2])
        def test_count(n):
            pass
        def test_only_plain():
            pass
    """,
    "site/pkg/tests/deep/__init__.py": "",
    "site/pkg/tests/deep/test_deep.py": """
        def test_deep_taste(flavor, level):
            pass
    """,
}

EXPRESSIONS = ["sweet", "not sour", "high", "low and taste", "only_plain", "count and 2", "deep", "not climb",
               "tests", "pkg", "site", "deep and sweet-high", "taste and not deep"]


@pytest.fixture
def installed(pytester: pytest.Pytester) -> List[str]:
    write(pytester.path, PACKAGE)
    run_dir = pytester.path / "run"
    run_dir.mkdir()
    pytester.syspathinsert(pytester.path / "site")
    os.chdir(run_dir)
    return ["--pyargs", "pkg", "-p", "no:randomly"]


def node_scoped_conftests() -> bool:
    """pytest 9.1+ scopes a conftest's fixtures to its Directory node; earlier
    ones by base node ID, empty for a conftest outside the rootdir (every item
    collected after it loaded sees its fixtures): the plugin leaves modules
    outside the rootdir to pytest there, until learned."""
    from _pytest.fixtures import FixtureManager

    return hasattr(FixtureManager, "_flush_pending_conftests_to_session")


def test_pyargs_from_another_directory_decides_cold(pytester: pytest.Pytester, installed: List[str]) -> None:
    if not node_scoped_conftests():
        fast = compare(pytester, [*installed, "--cache-clear", "-k", "only_plain"])
        assert skipped(fast) == 0, fast.report
        return
    total = 0
    for expr in EXPRESSIONS:
        fast = compare(pytester, [*installed, "--cache-clear", "-k", expr])
        assert fast.report is not None and fast.report.learned == 0, fast.report
        total += skipped(fast)
    # The static model, with the package's root conftest folded into
    # tests/: test_flavors.py has known ids (pkg/conftest.py is loaded at
    # start-up: pytest's own ids). test_levels.py's fixture is read from
    # source (ids not computed) and test_deep.py combines two parametrized
    # fixtures: both are left to pytest.
    fast = compare(pytester, [*installed, "--cache-clear", "-k", "only_plain"])
    assert skipped(fast) == 1 and "tests/test_flavors.py" not in fast.modules, fast.report
    assert total > 0


def test_pyargs_from_another_directory_learns(pytester: pytest.Pytester, installed: List[str]) -> None:
    compare(pytester, [*installed, "-k", "zzz_learn"])
    for expr in EXPRESSIONS:
        compare(pytester, [*installed, "-k", expr])
    fast = compare(pytester, [*installed, "-k", "climb"])
    assert skipped(fast) == 3, fast.report  # learned


def test_conftest_above_the_package(pytester: pytest.Pytester, installed: List[str]) -> None:
    """A conftest above the package (pytest loads it while collecting, not at
    start-up): pytest 9.1+ parses none of its fixtures (no Directory node
    holds it), pytest 8 gives them to every item collected after it loaded.
    A model that folded its parametrized autouse fixture into the package's
    modules would skip test_plain.py for the last expression."""
    (pytester.path / "site" / "conftest.py").write_text(
        "import pytest\n"
        "@pytest.fixture(autouse=True, params=['north', 'south'])\ndef wind(request):\n    return request.param\n"
    )
    for expr in ("north", "only_plain and south", "not north", "count and 2-north",
                 "only_plain and not north and not south"):
        compare(pytester, [*installed, "--cache-clear", "-k", expr])


def test_conftest_above_the_confcutdir_is_not_folded(pytester: pytest.Pytester, installed: List[str]) -> None:
    """--confcutdir at the package: pytest no longer loads site/conftest.py
    (test_climb errors: no fixture 'level'); the model must not fold it."""
    cut = str(Path(pytester.path) / "site" / "pkg")
    for expr in ("high", "not high", "climb", "only_plain"):
        compare(pytester, [*installed, "--confcutdir", cut, "--cache-clear", "-k", expr])


def test_noconftest_folds_no_conftest(pytester: pytest.Pytester, installed: List[str]) -> None:
    for expr in ("sweet", "not sweet", "taste", "count"):
        compare(pytester, [*installed, "--noconftest", "--cache-clear", "-k", expr])


def test_conftest_outside_the_rootdir_reaches_rootdir_items(pytester: pytest.Pytester) -> None:
    """`pytest ../other tests` from the project: on pytest < 9.1 other/sub's
    conftest (outside the rootdir, an empty base node ID) gives its autouse
    parameters to the rootdir's items collected after it loaded (found in
    review); on 9.1+ it stays in its directory. Exact on both."""
    write(pytester.path, {
        "proj/pytest.ini": "[pytest]\n",
        "proj/tests/test_a.py": "def test_one(): pass\n",
        "other/sub/conftest.py": """
            import pytest
            @pytest.fixture(autouse=True, params=["alpha", "beta"])
            def flavour(request):
                return request.param
        """,
        "other/sub/test_o.py": "def test_other(): pass\n",
    })
    os.chdir(pytester.path / "proj")
    for expr in ("alpha", "test_one and not beta", "not alpha"):
        compare(pytester, ["../other", "tests", "-p", "no:randomly", "--cache-clear", "-k", expr])
    compare(pytester, ["../other", "tests", "-p", "no:randomly", "-k", "zzz_learn"])
    compare(pytester, ["../other", "tests", "-p", "no:randomly", "-k", "alpha"])
