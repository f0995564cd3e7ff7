"""A library first imported while one test module is collected: what its
import does must link that module with the others exactly where another
module's collection can see it (links.Watch.hook_imports).

A project module is looked at when the import statement that ran its body
returns. Its content then is what its own import makes, wherever it is first
imported: no link. A change after that (a sibling submodule's import, the
test module's own code, a module loaded by `importlib.import_module` and
changed before any statement named it) is put on the window, and links.

An environment variable a library sets at its first import (scikit-learn,
joblib and threadpoolctl `os.environ.setdefault` theirs) is recorded with the
module whose collection set it, and applied where the plugin skips that
module, before the next node in collection order starts
(pytest_fastcollect/env_effects.py): modules after it see it set, modules
before it unset, as in plain pytest.

Every case: a learning run, then plain pytest and the plugin compared
(differential.compare, which asserts the plugin's report line)."""

from __future__ import annotations

from typing import Dict, List

import pytest

from differential import compare, skipped, write

LIB = {
    "pytest.ini": "[pytest]\npythonpath = .\n",
    "lib/__init__.py": "",
    "lib/pkg/__init__.py": "",
    "lib/pkg/reg.py": "NAMES = ['a']\n",
    "lib/pkg/other.py": "OTHER = [1, 2]\n",
    "lib/pkg/filler.py": "from lib.pkg import reg\nreg.NAMES.append('b')\n",
    "lib/pkg2/__init__.py": "ITEMS = ['x']\n",
    "lib/pkg2/sub.py": "import lib.pkg2 as parent\nparent.ITEMS.append('y')\n",
    "lib/pkg3/__init__.py": "",
    "lib/pkg3/reg.py": "NAMES = ['p']\n",
    "lib/sneaky.py": "import importlib\nimportlib.import_module('lib.pkg3.reg').NAMES.append('q')\n"
                     "from lib.pkg3 import reg\n",
    "lib/envlib.py": "import os\nos.environ.setdefault('FC_FIRST_IMPORT_FLAG', 'set')\n",
    # Each in-process run starts without the variable, as a new process does.
    # (A value set before the run, by the test below, stays.)
    "conftest.py": "import os\nimport lib\n\n\ndef pytest_unconfigure(config):\n"
                   "    if os.environ.get('FC_FIRST_IMPORT_FLAG') == 'set':\n"
                   "        del os.environ['FC_FIRST_IMPORT_FLAG']\n",
}


def plain_modules(n: int) -> Dict[str, str]:
    return {f"tests/test_m{i}.py": f"def test_m{i}_one():\n    pass\ndef test_m{i}_two():\n    pass\n" for i in range(n)}


def reader(module: str, name: str) -> Dict[str, str]:
    return {"tests/test_z_reader.py": f"""
        import pytest
        from {module} import {name}

        @pytest.mark.parametrize("v", list({name}))
        def test_reader(v):
            pass
    """}


def loader(statements: str) -> Dict[str, str]:
    # Ids static reading cannot settle: the learning run collects the loader
    # before the others (a loader the static model skips is a known gap of
    # its own, docs/design.md: "Not seen").
    return {"tests/test_a_loader.py": statements + "\nimport pytest\n\n"
            "def values():\n    return [1, 2]\n\n"
            "@pytest.mark.parametrize('v', values())\ndef test_loader(v):\n    pass\n"}


def learn_and_compare(pytester: pytest.Pytester, files: Dict[str, str], expressions: List[str]) -> List[int]:
    write(pytester.path, {**LIB, **plain_modules(3), **files})
    compare(pytester, ["-k", "zzz_learn"])
    return [skipped(compare(pytester, ["-k", expr])) for expr in expressions]


@pytest.mark.parametrize("statements", [
    "from lib.pkg import reg, other",
    "import lib.pkg.reg\nimport lib.pkg.other",
    "from lib.pkg.reg import NAMES",
])
def test_a_library_loaded_and_left_alone_links_nothing(pytester: pytest.Pytester, statements: str) -> None:
    skips = learn_and_compare(pytester, {**loader(statements), **reader("lib.pkg.reg", "NAMES")},
                              ["test_reader", "a", "loader"])
    assert skips[0] == 4, skips  # only the reader imported: the loader is not linked with it
    assert skips[2] == 4, skips


@pytest.mark.parametrize("statements", [
    "from lib.pkg import reg, filler",  # a sibling submodule changes reg after reg ran
    "import lib.pkg.reg\nimport lib.pkg.filler",
    "from lib.pkg import reg\nreg.NAMES.append('b')",  # the test module itself
])
def test_a_change_after_the_load_links(pytester: pytest.Pytester, statements: str) -> None:
    skips = learn_and_compare(pytester, {**loader(statements), **reader("lib.pkg.reg", "NAMES")},
                              ["test_reader", "b", "loader and not b"])
    assert skips[0] == 3, skips  # the reader with the loader it depends on


def test_a_package_changed_by_its_submodule_links(pytester: pytest.Pytester) -> None:
    """`import lib.pkg2.sub`: the package ran first, then its submodule
    changed it; the statement names the submodule only."""
    skips = learn_and_compare(pytester, {**loader("import lib.pkg2.sub"), **reader("lib.pkg2", "ITEMS")},
                              ["test_reader", "y", "x"])
    assert skips[0] == 3, skips


def test_a_module_loaded_by_import_module_and_changed_before_a_statement_named_it(
        pytester: pytest.Pytester) -> None:
    skips = learn_and_compare(pytester, {**loader("import lib.sneaky"), **reader("lib.pkg3.reg", "NAMES")},
                              ["test_reader", "q", "p"])
    assert skips[0] == 3, skips


ENV_READERS = {
    "lookup": "os.environ.get('FC_FIRST_IMPORT_FLAG')",
    "membership": "'FC_FIRST_IMPORT_FLAG' in os.environ",
    "whole environment": "dict(os.environ).get('FC_FIRST_IMPORT_FLAG')",
    "getenv": "os.getenv('FC_FIRST_IMPORT_FLAG')",
}


def env_reader(name: str, read: str) -> Dict[str, str]:
    return {f"tests/{name}.py": f"""
        import os
        import pytest

        @pytest.mark.parametrize("v", [repr({ENV_READERS[read]})])
        def test_env(v):
            pass
    """}


def test_an_environment_variable_a_library_sets_is_learned(pytester: pytest.Pytester) -> None:
    write(pytester.path, {**LIB, **plain_modules(3), **loader("import lib.envlib")})
    compare(pytester, ["-k", "zzz_learn"])
    assert skipped(compare(pytester, ["-k", "test_m1_one"])) == 3  # the loader is not imported
    assert list((pytester.path / ".pytest_cache" / "d" / "fastcollect").glob("env_effects/*.json"))


@pytest.mark.parametrize("read", sorted(ENV_READERS))
def test_an_environment_variable_a_library_sets_and_a_later_module_reads(pytester: pytest.Pytester,
                                                                         read: str) -> None:
    """The reader comes after the loader: the loader's effect is replayed."""
    files = {**loader("import lib.envlib"), **env_reader("test_z_env", read)}
    skips = learn_and_compare(pytester, files, ["test_env", "set or True", "test_m1_one", "test_env"])
    assert skips == [4, 4, 4, 4], skips  # only the reader (or test_m1) imported


def test_a_module_before_the_one_that_sets_it_sees_it_unset(pytester: pytest.Pytester) -> None:
    files = {**loader("import lib.envlib"), **env_reader("test_0_env", "lookup"),
             **env_reader("test_z_env", "lookup")}
    skips = learn_and_compare(pytester, files, ["test_env", "test_0_env", "test_z_env"])
    assert skips == [4, 5, 5], skips


def test_the_last_module_of_the_walk_has_its_effect_applied_as_the_walk_ends(pytester: pytest.Pytester) -> None:
    """No node follows the loader: its effect is applied as the walk ends,
    before the collection hooks; the tests that then run see it, as in plain
    pytest (outcomes compared)."""
    files = {"tests/test_zz_loader.py": loader("import lib.envlib")["tests/test_a_loader.py"],
             "tests/test_b_check.py": "import os\n\ndef test_check():\n"
                                      "    assert os.environ.get('FC_FIRST_IMPORT_FLAG') == 'set'\n"}
    write(pytester.path, {**LIB, **plain_modules(3), **files})
    compare(pytester, ["-k", "zzz_learn"])
    fast = compare(pytester, ["-k", "test_check"], run=True)
    assert fast.outcomes is not None and fast.outcomes[0] == ["tests/test_b_check.py::test_check"], fast.output
    assert skipped(fast) == 4, fast.report  # the loader too


def test_a_variable_set_before_the_run_is_not_overwritten(pytester: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    files = {**loader("import lib.envlib"), **env_reader("test_z_env", "lookup")}
    learn_and_compare(pytester, files, ["test_env"])
    monkeypatch.setenv("FC_FIRST_IMPORT_FLAG", "from the shell")
    for expr in ("test_env", "test_m1_one", "test_env"):
        compare(pytester, ["-k", expr])


def test_an_object_that_cannot_be_read_leaves_the_import_alone(pytester: pytest.Pytester) -> None:
    """A library object whose `__dict__` raises: the watch cannot read it
    when the import statement returns; the statement must not fail (the
    hook is taken off), and the answers stay plain pytest's."""
    files = {
        "lib/odd.py": "class Odd:\n    @property\n    def __dict__(self):\n        raise RuntimeError('no')\n\n"
                      "ODD = Odd()\nNAMES = ['o']\n",
        **loader("import lib.odd"),
        **reader("lib.odd", "NAMES"),
    }
    learn_and_compare(pytester, files, ["test_reader", "loader", "o"])


def test_errors_raised_through_the_hooks_show_the_users_frames_only(pytester: pytest.Pytester) -> None:
    """An import error or a missing environment variable in a test module,
    raised through the plugin's import hook or its environment wrapper while
    learning: pytest's error report shows the same frames as without the
    plugin (the wrappers hide theirs, `__tracebackhide__`)."""
    write(pytester.path, {
        **LIB,
        "tests/test_broken_import.py": "import lib.pkg.missing_module\n\ndef test_never(): pass\n",
        "tests/test_broken_env.py": "import os\n\nVALUE = os.environ['FC_NEVER_SET_ANYWHERE']\n\n"
                                    "def test_never_either(): pass\n",
        "tests/test_fine.py": "import lib.pkg.reg\n\ndef test_fine(): pass\n",
    })
    fast = compare(pytester, ["--cache-clear", "-k", "never or fine"])
    assert fast.report is not None and fast.report.imported == 3, fast.lines  # all three, learning
    assert "ERROR collecting tests/test_broken_import.py" in fast.output
    assert "ERROR collecting tests/test_broken_env.py" in fast.output
    assert "pytest_fastcollect" not in fast.output.replace("fastcollect:", ""), fast.output


def test_a_run_of_one_file_keeps_the_suites_records(pytester: pytest.Pytester) -> None:
    """The library's first importer differs with the files collected: run
    alone, tests/test_second.py sets the variable; in the whole suite,
    tests/test_a_loader.py (sorted first) does. The run of one file records
    test_second's effect in its own file, a dependency of test_second's
    record only: the next whole-suite run is warm (the loader's record and
    every other still hold), not relearning every module. Under another
    session key (an ini override) the same."""
    write(pytester.path, {**LIB, **plain_modules(3), **loader("import lib.envlib"),
                          "tests/test_second.py": "import lib.envlib\n\ndef test_second(): pass\n"})
    compare(pytester, ["-k", "zzz_learn"])
    for alone in (["tests/test_second.py"], ["-o", "console_output_style=classic", "tests/test_second.py"]):
        warm = compare(pytester, ["-k", "test_m1_one"])
        assert warm.report is not None and warm.report.learned >= 1 and warm.report.imported == 1, warm.lines
        compare(pytester, [*alone, "-k", "second"])  # learns the file alone
        again = compare(pytester, ["-k", "test_m1_one"])
        assert again.report is not None and again.report.learned >= 1 and again.report.imported == 1, again.lines
    fast = compare(pytester, ["-k", "second"], run=True)  # exact: the suite's test_second sets nothing
    assert fast.ids == ["tests/test_second.py::test_second"]


def test_an_effect_recorded_under_other_inputs_is_not_replayed(pytester: pytest.Pytester,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/test_b_second.py imports the library (which sets the variable)
    only under FC_MODE=b. Learned under a (no effect), then under b (its
    effect kept): a run under a skips it on its a-record, which has no
    effect; the file the b-run kept must not be replayed there (the reader
    after it would see the variable set), its inputs are not this run's."""
    write(pytester.path, {**LIB, **plain_modules(2), **env_reader("test_z_env", "lookup"),
                          "tests/test_b_second.py": "import os\nimport pytest\n\nif os.environ.get('FC_MODE') == 'b':\n"
                                                    "    import lib.envlib\n\n\ndef values():\n    return [1, 2]\n\n\n"
                                                    "@pytest.mark.parametrize('v', values())\n"
                                                    "def test_second(v): pass\n"})
    monkeypatch.setenv("FC_MODE", "a")
    compare(pytester, ["-k", "zzz_learn"])
    monkeypatch.setenv("FC_MODE", "b")
    compare(pytester, ["-k", "zzz_learn"])
    assert list((pytester.path / ".pytest_cache" / "d" / "fastcollect").glob("env_effects/*.json"))
    monkeypatch.setenv("FC_MODE", "a")
    fast = compare(pytester, ["-k", "test_env"])
    assert fast.ids == ["tests/test_z_env.py::test_env[None]"], fast.ids
    monkeypatch.setenv("FC_MODE", "b")
    fast = compare(pytester, ["-k", "test_env"])
    assert fast.ids == ["tests/test_z_env.py::test_env['set']"], fast.ids
