"""Directories left unwalked (pytest_fastcollect/directories.py): where every
test module below a directory is skipped and no conftest below it can act
outside it, pytest is told to ignore the whole directory, so its conftests
are not imported. Every case compares node IDs with plain pytest (compare
asserts the plugin's report line); the hostile ones must walk the directory
and import its conftest, exactly as plain pytest does."""

from __future__ import annotations

import textwrap
from typing import Dict, List

import pytest

from differential import collect, compare, skipped, write
from pytest_fastcollect.directories import unwalked

LOADED = "CONFTEST-A-LOADED"

# tests/a holds two modules and a conftest with fixtures only; tests/b the match.
# One package: every module's and conftest's basedir is the root, where
# pytest's prepend mode puts it before importing each.
BASE = {
    # Each in-process run starts without the variable, as a new process does.
    "conftest.py": "import os\n\n\ndef pytest_unconfigure(config):\n    os.environ.pop('FC_DIR_CASE', None)\n",
    "tests/__init__.py": "",
    "tests/a/__init__.py": "",
    "tests/a/deep/__init__.py": "",
    "tests/b/__init__.py": "",
    "tests/a/conftest.py": f"""
        import pytest

        print("{LOADED}")

        @pytest.fixture(params=[1, 2])
        def number(request):
            return request.param
    """,
    "tests/a/test_one.py": "def test_one(number): pass\n",
    # (Ids static reading cannot settle: decided by learned items, whose
    # skips hold whatever the import system does, unlike resolved ones.)
    "tests/a/deep/test_two.py": "import pytest\n\n\ndef values():\n    return [1]\n\n\n"
                                "@pytest.mark.parametrize('v', values())\ndef test_two(v): pass\n",
    "tests/b/test_three.py": "import pytest\n\n@pytest.mark.amark\ndef test_three(): pass\n",
}


def plus(lines: str) -> str:
    """tests/a's conftest with unindented lines added."""
    return textwrap.dedent(BASE["tests/a/conftest.py"]) + "\n" + lines


def loaded(pytester: pytest.Pytester, *args: str) -> bool:
    """Did a run with the plugin import tests/a/conftest.py?"""
    out = pytester.runpytest_inprocess("--co", "-q", "-s", "-p", "no:randomly", *args)
    return any(LOADED in line for line in out.outlines)


def test_a_directory_with_a_fixture_conftest_is_not_walked(pytester: pytest.Pytester) -> None:
    write(pytester.path, {**BASE, "pytest.ini": "[pytest]\nmarkers =\n  amark\n"})
    compare(pytester, ["-k", "zzz_learn"])  # (test_one's parametrized fixture: learned, not read)
    fast = compare(pytester, ["-k", "three"])
    assert fast.ids == ["tests/b/test_three.py::test_three"]
    assert skipped(fast) == 2, fast.lines  # both modules of tests/a, counted though never asked about
    assert not loaded(pytester, "-k", "three")
    assert loaded(pytester, "-k", "one")
    assert loaded(pytester, "--no-fast-collect", "-k", "three")


# Each: files added to BASE under which tests/a must be walked (its conftest
# imported) for `-k` or `-m` to select what plain pytest selects.
HOSTILE: Dict[str, Dict[str, str]] = {
    # A marker registered by the conftest's pytest_configure (historic: it
    # runs as the conftest loads), used by a later module under --strict-markers.
    "registers_a_marker": {
        "pytest.ini": "[pytest]\naddopts = --strict-markers\n",
        "tests/a/conftest.py": BASE["tests/a/conftest.py"] + """
        def pytest_configure(config):
            config.addinivalue_line("markers", "amark: registered by tests/a")
        """,
    },
    # The environment a later module's parametrization reads.
    "sets_the_environment": {
        "pytest.ini": "[pytest]\nmarkers =\n  amark\n",
        "tests/a/conftest.py": plus("import os\nos.environ['FC_DIR_CASE'] = 'set'\n"),
        "tests/b/test_env.py": """
            import os
            import pytest

            @pytest.mark.parametrize("v", [os.environ.get("FC_DIR_CASE", "unset")])
            def test_env(v): pass
        """,
    },
    # A hook pytest calls with every item, wherever the conftest sits.
    "marks_every_item": {
        "pytest.ini": "[pytest]\nmarkers =\n  amark\n  fromdir\n",
        "tests/a/conftest.py": BASE["tests/a/conftest.py"] + """
        def pytest_collection_modifyitems(items):
            for item in items:
                item.add_marker(pytest.mark.fromdir)
        """,
    },
    # A collector of its own below the directory.
    "collects_yaml_files": {
        "pytest.ini": "[pytest]\nmarkers =\n  amark\n",
        "tests/a/conftest.py": BASE["tests/a/conftest.py"] + """
        class YamlItem(pytest.Item):
            def runtest(self):
                pass

        class YamlFile(pytest.File):
            def collect(self):
                yield YamlItem.from_parent(self, name="test_from_yaml")

        def pytest_collect_file(parent, file_path):
            if file_path.suffix == ".yaml":
                return YamlFile.from_parent(parent, path=file_path)
        """,
        "tests/a/cases.yaml": "x: 1\n",
    },
    # pytest's doctest plugin collects test*.txt files.
    "doctest_text_file": {
        "pytest.ini": "[pytest]\nmarkers =\n  amark\n",
        "tests/a/deep/test_doc.txt": ">>> 1 + 1\n2\n",
    },
    # A module of the project loaded by the conftest's import statement, whose
    # own import fills a registry a later module parametrizes over.
    "imports_a_helper": {
        "pytest.ini": "[pytest]\nmarkers =\n  amark\n",
        "tests/registry.py": "NAMES = ['base']\n",
        "tests/a/helper_reg.py": "from tests import registry\nregistry.NAMES.append('by_import')\n",
        "tests/a/conftest.py": plus("from tests.a import helper_reg\n"),
        "tests/b/test_reg.py": """
            import pytest
            from tests import registry

            @pytest.mark.parametrize("v", list(registry.NAMES))
            def test_reg(v): pass
        """,
    },
    # No packages: loading tests/a's conftest puts tests/a on sys.path
    # (prepend mode), where tests/b's module finds a module beside it.
    "basedir_on_sys_path": {
        "pytest.ini": "[pytest]\nmarkers =\n  amark\n",
        "tests/__init__.py": None, "tests/a/__init__.py": None, "tests/a/deep/__init__.py": None,
        "tests/b/__init__.py": None,
        "tests/a/fc_beside.py": "VALUES = ['b1', 'b2']\n",
        "tests/b/test_beside.py": """
            import pytest
            from fc_beside import VALUES

            @pytest.mark.parametrize("v", VALUES)
            def test_beside(v): pass
        """,
    },
    # Code the model does not read, run as the conftest loads.
    "calls_a_helper": {
        "pytest.ini": "[pytest]\npythonpath = .\nmarkers =\n  amark\n",
        "helpers.py": "import os\n\ndef setup():\n    os.environ['FC_DIR_CASE'] = 'helper'\n",
        "tests/a/conftest.py": plus("import helpers\nhelpers.setup()\n"),
        "tests/b/test_env.py": """
            import os
            import pytest

            @pytest.mark.parametrize("v", [os.environ.get("FC_DIR_CASE", "unset")])
            def test_env(v): pass
        """,
    },
}

EXPRESSIONS = {
    "registers_a_marker": ["-m", "amark"],
    "sets_the_environment": ["-k", "set"],
    "marks_every_item": ["-m", "fromdir and amark"],
    "collects_yaml_files": ["-k", "from_yaml or three"],
    "doctest_text_file": ["-k", "doc or three"],
    "calls_a_helper": ["-k", "helper"],
    "imports_a_helper": ["-k", "test_reg"],
    "basedir_on_sys_path": ["-k", "b2"],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_directory_that_acts_outside_itself_is_walked(pytester: pytest.Pytester, case: str) -> None:
    files = {**BASE, **HOSTILE[case]}
    write(pytester.path, {rel: text for rel, text in files.items() if text is not None})
    args = EXPRESSIONS[case]
    compare(pytester, ["-k", "zzz_learn"])
    for run in range(2):  # cold (learning), then on learned records
        fast = compare(pytester, args)
        assert fast.ids, (case, run)
    assert loaded(pytester, *args), case


def test_an_init_module_python_files_names_keeps_its_directory_walked(pytester: pytest.Pytester) -> None:
    # pytest collects such an __init__.py as a module; the plugin decides
    # nothing about it (compare's count check would fail), only walks on.
    write(pytester.path, {**BASE, "pytest.ini": "[pytest]\npython_files = test_*.py __init__.py\nmarkers =\n  amark\n",
                          "tests/a/deep/__init__.py": "def test_in_init(): pass\n"})
    for args in (["-k", "zzz_learn"], ["-k", "in_init or three"], ["-k", "in_init or three"]):
        plain = collect(pytester, "--no-fast-collect", *args)
        fast = collect(pytester, *args)
        assert fast.ids == plain.ids, args
        assert fast.report is not None and fast.report.total == 3, fast.lines
    assert "tests/a/deep/__init__.py::test_in_init" in fast.ids


def test_a_module_imported_before_the_directory_is_reached_is_collected(pytester: pytest.Pytester) -> None:
    # tests/a/test_0.py (imported: it changes test_v in place) imports
    # tests/b/test_v.py, which static reading skips: pytest asks to ignore
    # tests/b before test_0 is imported, and must still collect test_v.
    write(pytester.path, {
        "pytest.ini": "[pytest]\npythonpath = tests/b\n",
        "tests/a/test_0.py": "import test_v\n\ntest_v.VALS.append(3)\n\n\ndef test_zero():\n    pass\n",
        "tests/b/test_v.py": "import pytest\n\nVALS = [1, 2]\n\n\n@pytest.mark.parametrize('x', VALS)\n"
                             "def test_v(x):\n    pass\n",
        "tests/c/test_target.py": "def test_target():\n    pass\n",
    })
    fast = compare(pytester, ["-k", "test_v and 3"])
    assert fast.ids == ["tests/b/test_v.py::test_v[3]"]
    fast = compare(pytester, ["-k", "zero"])
    assert skipped(fast) == 1 and "tests/b/test_v.py" in fast.modules, fast.lines  # imported before its turn


def test_a_directory_above_an_argument_is_walked(pytester: pytest.Pytester) -> None:
    write(pytester.path, {**BASE, "pytest.ini": "[pytest]\nmarkers =\n  amark\n"})
    compare(pytester, ["-k", "zzz_learn"])
    # Which items overlapping arguments give differs between pytest 8 and 9
    # (pytest 8.4 collects only the file here): compare holds the plugin to
    # plain pytest's answer either way. The argument is decided skippable,
    # then not; the directory above it is never left unwalked (a guard: with
    # these arguments pytest gives the same answers without it).
    for expr in ("three", "three or two"):
        fast = compare(pytester, ["tests", "tests/a/deep/test_two.py", "-k", expr])
        assert fast.ret in (0, 5), fast.output


def test_a_symlinked_directory_is_collected_twice_as_plain_pytest_does(pytester: pytest.Pytester) -> None:
    write(pytester.path, {**BASE, "pytest.ini": "[pytest]\nmarkers =\n  amark\n"})
    (pytester.path / "tests" / "c").symlink_to(pytester.path / "tests" / "a", target_is_directory=True)
    for args in (["-k", "three"], ["-k", "two"], ["-k", "one and 2"]):
        fast = compare(pytester, args)
        assert fast.ids, args


def test_xdist_workers_leave_the_directory_unwalked(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    write(pytester.path, {**BASE, "pytest.ini": "[pytest]\nmarkers =\n  amark\n"})
    compare(pytester, ["-k", "zzz_learn"])
    plain = pytester.runpytest_subprocess("-n", "2", "-s", "-k", "three", "--no-fast-collect", "-p", "no:randomly")
    fast = pytester.runpytest_subprocess("-n", "2", "-s", "-k", "three", "-p", "no:randomly")
    plain.assert_outcomes(passed=1)
    fast.assert_outcomes(passed=1)
    fast.stdout.fnmatch_lines(["fastcollect: imported 1 of 3 test files, skipped 2*"])
    assert LOADED not in fast.stdout.str() + fast.stderr.str()


def _unwalked(skip: List[str], keep: List[str], effects: Dict[str, tuple]) -> List[str]:
    return sorted(unwalked(["/r"], frozenset(skip), keep, effects))


def test_unwalked_directories() -> None:
    skip = ["/r/a/test_1.py", "/r/a/b/test_2.py", "/r/c/test_3.py"]
    assert _unwalked(skip, ["/r/c/test_4.py"], {}) == ["/r/a", "/r/a/b"]
    assert _unwalked(skip, ["/r/a/b/doc.txt"], {}) == ["/r/c"]  # a/b and a hold another collected file
    assert _unwalked(skip, [], {"/r/a/b/conftest.py": ("defines hook pytest_configure", False)}) == ["/r/c"]
    assert _unwalked(skip, [], {"/r/conftest.py": ("defines hook pytest_ignore_collect", True)}) == []
    # A collecting conftest below the root: its directory's subtree and the
    # directories above it stay walked, the others do not.
    assert _unwalked(skip, [], {"/r/a/b/conftest.py": ("defines hook pytest_collect_file", True)}) == ["/r/c"]
    assert _unwalked(skip, [], {"/r/c/conftest.py": ("defines hook pytest_ignore_collect", True)}) == ["/r/a",
                                                                                                       "/r/a/b"]
    assert _unwalked(["/elsewhere/test_5.py"], [], {}) == []  # only below a collection root


def test_a_conftest_outside_the_rootdir_keeps_every_directory_walked(pytester: pytest.Pytester) -> None:
    """pytest < 9.1 scopes the fixtures of a conftest outside the rootdir to
    the whole session: tests/a's autouse fixture parametrizes tests/b's test
    too, whether or not tests/a is walked. No directory is left unwalked
    while such a conftest may act (pytest 9.1+ scopes it to its directory)."""
    write(pytester.path, {
        "tests/a/conftest.py": """
            import pytest

            @pytest.fixture(autouse=True, params=[1, 2])
            def everywhere(request):
                return request.param
        """,
        "tests/a/test_a.py": "def test_a(): pass\n",
        "tests/b/test_b.py": "def test_b(): pass\n",
        "tests/__init__.py": "", "tests/a/__init__.py": "", "tests/b/__init__.py": "",  # (one basedir)
    })
    args = ["--rootdir", "tests/b", "tests", "-k"]
    compare(pytester, [*args, "zzz_learn"])
    fast = compare(pytester, [*args, "test_b"])
    assert fast.ids, fast.output
