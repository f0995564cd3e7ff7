"""Module-level edits that collection could not observe keep learned items.

A binding statement (src/bindings.h) - an undecorated def whose body never
ran, `name = <literal>`, `import a.b` of a module loaded before collection -
is out of a file's surface hash; a later content whose statements differ
only in names collection could not have read keeps the generation. Each case
learns, edits, and runs plain pytest and pytest with the plugin on the same
command: node IDs must be equal. KEEPS must keep the records (files skipped,
"learned items not used" absent); OBSERVED edits are names collection read,
enumerated or could not know, and must relearn, with a filter that selects
only what the edit brings (stale records would skip the file that holds it).

Every plugin run prints the plugin's report line (test_surfaces._after_edit).
"""

from __future__ import annotations

import re
from typing import Dict, Sequence

import pytest

import forked
from test_hook_inputs import COMMON, ids_fast, report_of, write
from test_surfaces import PROJECT, _after_edit, _learn


def _appended(path: str, text: str, base: Dict[str, str] = PROJECT) -> Dict[str, str]:
    return {path: base[path] + "\n" + text}


KEEPS = {
    "new-function": _appended("proj/core.py", "        def _helper(x):\n            return x + 1\n"),
    "new-import-of-a-loaded-module": _appended("proj/core.py", "        import keyword as _kw\n"),
    "new-constant": _appended("proj/core.py", "        _LIMIT = 17\n"),
    "signature-of-a-function-never-read": {
        "proj/core.py": PROJECT["proj/core.py"].replace("def never_called():", "def never_called(a=1, *, b=None):")},
    "new-class-without-bases": _appended(
        "proj/core.py", "        class _Spec:\n            size = 3\n\n            def render(self, x=1):\n"
                        "                return x\n"),
    "new-from-import-of-a-loaded-module": _appended("proj/core.py", "        from keyword import iskeyword as _isk\n"),
    "new-table-of-lambdas": _appended(
        "proj/core.py", "        _KNOWN = {'airyai': [(lambda x: True, 'AiryAi')], 'gcd': [(lambda *x: True, 'GCD')]}\n"),
    "removed-function-never-read": {
        "proj/core.py": PROJECT["proj/core.py"].replace("def never_called():\n            return 0\n", "")},
}


@pytest.mark.parametrize("edit", list(KEEPS.values()), ids=list(KEEPS))
def test_binding_nobody_read_keeps_learned_items(pytester: pytest.Pytester, edit: Dict[str, str]) -> None:
    args = ("-k", "case2 or table")
    _learn(pytester, PROJECT, args)
    _after_edit(pytester, edit, args, relearn=False)


def test_a_name_read_only_in_another_module_keeps_learned_items(pytester: pytest.Pytester) -> None:
    """A module's own global lookups count for that module only: another
    module reading its own `_helper` at import does not make a new
    `_helper` in proj/core.py observable."""
    files = dict(PROJECT)
    files["proj/other.py"] = """
        def _helper():
            return 1


        VALUE = _helper()
    """
    files["conftest.py"] = PROJECT["conftest.py"].replace("import pytest", "import pytest\n        import proj.other", 1)
    args = ("-k", "case2 or table")
    _learn(pytester, files, args)
    _after_edit(pytester, _appended("proj/core.py", "        def _helper(x):\n            return x\n"), args,
                relearn=False)


def test_edits_one_after_another_keep_learned_items(pytester: pytest.Pytester) -> None:
    """The three edits of issue 25's pandas table, applied in turn."""
    args = ("-k", "case2 or table")
    _learn(pytester, PROJECT, args)
    core = PROJECT["proj/core.py"]
    for text in ("        def _helper(x):\n            return x + 1\n", "        import keyword as _kw\n",
                 "        _LIMIT = 17\n"):
        core += "\n" + text
        _after_edit(pytester, {"proj/core.py": core}, args, relearn=False)


TEST_NEW = """
    import pytest
    from proj import reader


    @pytest.mark.parametrize("name", reader.NAMES)
    def test_name(name):
        pass
"""

# name -> (proj/reader.py computing NAMES from proj/core.py, text appended to
# proj/core.py, a -k expression only that text brings)
OBSERVED = {
    "dir-of-the-module": (
        "from proj import core\nNAMES = [n for n in dir(core) if n.startswith('case_')]\n",
        "def case_new():\n    pass\n", "case_new"),
    "vars-of-the-module": (
        "from proj import core\nNAMES = [n for n in vars(core) if n.startswith('case_')]\n",
        "def case_new():\n    pass\n", "case_new"),
    "inspect-getmembers": (
        "import inspect\nfrom proj import core\nNAMES = [n for n, _ in inspect.getmembers(core) if n.startswith('case_')]\n",
        "def case_new():\n    pass\n", "case_new"),
    "getattr-with-a-literal-name": (
        "from proj import core\nNAMES = ['n%d' % i for i in range(getattr(core, 'LIMIT', 2))]\n",
        "LIMIT = 4\n", "n3"),
    "hasattr-in-a-parametrize-list": (
        "from proj import core\nNAMES = ['n1'] + (['extra'] if hasattr(core, 'EXTRA') else [])\n",
        "EXTRA = 1\n", "extra"),
    "from-import-of-a-constant": (
        "from proj.core import LIMIT\nNAMES = ['n%d' % i for i in range(LIMIT)]\n",
        "LIMIT = 4\n", "n3"),
    "exec-of-text-naming-it": (
        "from proj import core\nns = {}\nexec('n = core.LIMIT', {'core': core}, ns)\nNAMES = ['n%d' % i for i in range(ns['n'])]\n",
        "LIMIT = 4\n", "n3"),
    "pep562-getattr-shadowed": (
        "from proj import core\nNAMES = [str(core.dynamic)]\n",
        "dynamic = 'shadowed'\n", "shadowed"),
    "star-import-without-all": (
        "from proj.core import *\nNAMES = [n for n in dict(globals()) if n.startswith('case_')]\n",
        "def case_new():\n    pass\n", "case_new"),
    "import-of-a-module-not-loaded-before": (
        "from proj import core\nfrom proj.names import NAMES\n",
        "import proj.side as _side\n", "side"),
    "from-import-of-a-module-not-loaded-before": (
        "from proj import core\nfrom proj.names import NAMES\n",
        "from proj.side import names as _names\n", "side"),
}

OBSERVED["table-of-lambdas-read-by-collection"] = (
    "from proj import core\nNAMES = [lab for ((check, lab),) in getattr(core, 'KNOWN', {}).values() if check()] or ['n1']\n",
    "KNOWN = {'a': [(lambda *x: True, 'lam_new')]}\n", "lam_new")

OBSERVED["builtin-shadowed-where-its-code-reads-it"] = (
    "from proj import core\nNAMES = core.kinds()\n",
    "credits = 3\n", "int")

OBSERVED["subclass-registered-by-init-subclass"] = (
    "from proj import core\nNAMES = [c.__name__ for c in core.REGISTRY]\n",
    "class NewCase(Base):\n    pass\n", "NewCase")

BASE_CORE = PROJECT["proj/core.py"] + """


        REGISTRY = []


        class Base:
            def __init_subclass__(cls):
                REGISTRY.append(cls)


        def kinds():
            return [type(credits).__name__]
        LIMIT = 3


        def __getattr__(name):
            if name == "dynamic":
                return "computed"
            raise AttributeError(name)
"""


def _observed_project(reader: str) -> Dict[str, str]:
    files = dict(PROJECT)
    files["proj/core.py"] = BASE_CORE
    files["proj/reader.py"] = reader
    files["proj/names.py"] = "NAMES = ['n1']\n"
    files["proj/side.py"] = "from proj import names\nnames.NAMES.append('side')\n"
    files["tests/test_new.py"] = TEST_NEW
    return files


@pytest.mark.parametrize("reader,text,expr", list(OBSERVED.values()), ids=list(OBSERVED))
def test_binding_collection_could_observe_relearns(pytester: pytest.Pytester, reader: str, text: str,
                                                    expr: str) -> None:
    files = _observed_project(reader)
    args: Sequence[str] = ("-k", expr)
    _learn(pytester, files, ("-k", "case2 or table"))
    ids_fast(pytester, *args)  # records for this filter's session too
    edit = {"proj/core.py": BASE_CORE + "\n" + "\n".join("        " + line for line in text.splitlines()) + "\n"}
    rep = _after_edit(pytester, edit, args, relearn=True, changed="proj/core.py")
    assert rep.imported > 0


def test_star_import_of_a_name_added_to_all_relearns(pytester: pytest.Pytester) -> None:
    """A test module that star-imports a helper collects the names its
    `__all__` exports: a test function added there is a new item."""
    files = dict(PROJECT)
    files["proj/checks.py"] = """
        __all__ = ["test_first"]


        def test_first():
            pass


        def test_second():
            pass
    """
    files["tests/test_star.py"] = "from proj.checks import *\n"
    args = ("-k", "test_second")
    _learn(pytester, files, ("-k", "case2 or table"))
    ids_fast(pytester, *args)
    edit = {"proj/checks.py": files["proj/checks.py"].replace('["test_first"]', '["test_first", "test_second"]')}
    _after_edit(pytester, edit, args, relearn=True, changed="proj/checks.py")


def test_globals_of_a_module_enumerated_at_import_relearns(pytester: pytest.Pytester) -> None:
    """A module that lists its own functions (a registry built from
    globals()) makes every binding in it observable."""
    files = dict(PROJECT)
    files["proj/registry.py"] = """
        def case_one():
            pass


        CASES = sorted(n for n in globals() if n.startswith("case_"))
    """
    files["tests/test_registry.py"] = """
        import pytest
        from proj.registry import CASES


        @pytest.mark.parametrize("c", CASES)
        def test_registry(c):
            pass
    """
    args = ("-k", "case_two")
    _learn(pytester, files, ("-k", "case2 or table"))
    ids_fast(pytester, *args)
    edit = {"proj/registry.py": files["proj/registry.py"].replace(
        "def case_one():", "def case_two():\n            pass\n\n\n        def case_one():")}
    _after_edit(pytester, edit, args, relearn=True, changed="proj/registry.py")


def test_removed_function_a_test_module_imports_errors_in_both(pytester: pytest.Pytester) -> None:
    """Whether or not collection read the name (here the importer was not
    collected while learning), the importer is imported and fails as in
    plain pytest."""
    files = dict(PROJECT)
    files["tests/test_imports_it.py"] = """
        from proj.core import never_called


        def test_imports_it():
            pass
    """
    args = ("-k", "case2 or table")
    _learn(pytester, files, args, confirm=True)
    write(pytester.path, {"proj/core.py": PROJECT["proj/core.py"].replace("def never_called():\n            return 0\n", "")})
    plain = forked.run(pytester, *COMMON, "--co", "-q", "--no-fast-collect", *args)
    fast = forked.run(pytester, *COMMON, "--co", "-q", "--fast-collect-explain", *args)
    assert "ImportError" in plain.stdout.str() and "ImportError" in fast.stdout.str(), fast.stdout.str()
    assert plain.ret == fast.ret != 0
    report_of(fast.stdout.str())


def test_configuration_keys_on_pytests_section_only(pytester: pytest.Pytester) -> None:
    """A dependency line added to pyproject.toml (pytest's configuration file
    here) keeps learned items; a change to pytest's own section relearns."""
    args = ("-k", "case2 or table")
    _learn(pytester, PROJECT, args)
    toml = PROJECT["pyproject.toml"]
    project = '\n        [project]\n        name = "proj"\n        dependencies = ["requests"]\n'
    _after_edit(pytester, {"pyproject.toml": project + toml}, args, relearn=False)
    rep = _after_edit(pytester, {"pyproject.toml": project + toml.replace(
        'markers = ["slow: slow tests"]', 'markers = ["slow: slow tests"]\n        python_functions = ["test_*", "check_*"]')},
        args, relearn=True)
    assert rep.total > 0


LISTERS = {
    "os-listdir": "import os\nNAMES = sorted(f[:-3] for f in os.listdir(os.path.dirname(__file__) + '/plugins') if f.endswith('.py'))\n",
    "pkgutil-walk-packages": (
        "import pkgutil\nimport proj.plugins as p\n"
        "NAMES = sorted(m.name.rpartition('.')[2] for m in pkgutil.walk_packages(p.__path__, 'proj.plugins.'))\n"),
    "glob": "import glob, os\nNAMES = sorted(os.path.basename(f)[:-3] for f in glob.glob(os.path.dirname(__file__) + '/plugins/*.py'))\n",
}


@pytest.mark.parametrize("reader", list(LISTERS.values()), ids=list(LISTERS))
def test_a_new_file_in_a_listed_directory_relearns(pytester: pytest.Pytester, reader: str) -> None:
    """Directory listings made while collecting are inputs (scikit-learn's
    all_estimators walks its packages): a new file there is a new item; a
    new file nothing listed keeps learned items."""
    files = dict(PROJECT)
    files["proj/plugins/__init__.py"] = ""
    files["proj/plugins/alpha.py"] = ""
    files["proj/reader.py"] = reader
    files["tests/test_new.py"] = TEST_NEW
    _learn(pytester, files, ("-k", "case2 or table"))
    args = ("-k", "beta")
    ids_fast(pytester, *args)
    _after_edit(pytester, {"proj/unlisted.py": "X = 1\n"}, ("-k", "case2 or table"), relearn=False)
    rep = _after_edit(pytester, {"proj/plugins/beta.py": ""}, args, relearn=True, changed="proj/plugins")
    assert rep.imported > 0


def _errors_after(pytester: pytest.Pytester, files: Dict[str, str], edit: Dict[str, str]) -> str:
    """Learns `files`, applies `edit`, and checks that the plugin reports the
    collection errors plain pytest reports (tests/test_extra.py's); returns
    the plugin's output."""
    args = ("-k", "case2 or table")
    _learn(pytester, files, args, confirm=True)
    write(pytester.path, edit)
    errors = re.compile(r"^ERROR (\S+)", re.M)
    plain_out = forked.run(pytester, *COMMON, "--co", "-q", "--no-fast-collect", *args, timeout=120).stdout.str()
    out = forked.run(pytester, *COMMON, "--co", "-q", "--fast-collect-explain", *args, timeout=120).stdout.str()
    report_of(out)
    assert errors.findall(plain_out) == ["tests/test_extra.py"], plain_out
    assert errors.findall(out) == errors.findall(plain_out), out
    return out


def test_a_definition_moved_below_its_reader_relearns(pytester: pytest.Pytester) -> None:
    """A def is a binding statement; moved below module code that reads it,
    the module fails at import (NameError): the records of the test module
    that imports it must not decide (the same move under `try/except
    NameError` would change a value silently; the error shows it here)."""
    files = dict(PROJECT)
    files["proj/extra.py"] = "def helper():\n    return 1\n\n\nALIAS = helper\n"
    files["tests/test_extra.py"] = "from proj.extra import ALIAS\n\n\ndef test_extra():\n    pass\n"
    _errors_after(pytester, files, {"proj/extra.py": "ALIAS = helper\n\n\ndef helper():\n    return 1\n"})


def test_a_name_added_to_a_from_import_whose_other_name_is_read(pytester: pytest.Pytester) -> None:
    """Each name of a from-import is its own binding: module code reads
    `reduce` at import; adding `wraps` to the same statement changes no name
    collection read (functools is loaded before collection and holds it)."""
    files = dict(PROJECT)
    files["proj/core.py"] = PROJECT["proj/core.py"] + (
        "\n        from functools import reduce\n        TOTAL = reduce(lambda a, b: a + b, [1, 2])\n")
    args = ("-k", "case2 or table")
    _learn(pytester, files, args, confirm=True)
    edit = {"proj/core.py": files["proj/core.py"].replace("import reduce\n", "import reduce, wraps\n")}
    _after_edit(pytester, edit, args, relearn=False)


def test_a_from_import_of_a_name_the_module_lacks_relearns(pytester: pytest.Pytester) -> None:
    """`from keyword import no_such_name` fails at import (ImportError) where
    the old content did not: the records of the test module that imports it
    must not decide."""
    files = dict(PROJECT)
    files["proj/extra.py"] = "from keyword import iskeyword\n"
    files["tests/test_extra.py"] = (  # ids the static model cannot compute: learned records decide
        "import pytest\nfrom proj.extra import iskeyword\n\n\n"
        "@pytest.mark.parametrize('w', ['a'], ids=[str(iskeyword('a'))])\ndef test_extra(w):\n    pass\n")
    out = _errors_after(pytester, files, {"proj/extra.py": "from keyword import iskeyword, no_such_name\n"})
    assert "not in its namespace" in out, out


TYPE_CHECKED_CORE = PROJECT["proj/core.py"].replace("import functools\n", """import functools
        from typing import TYPE_CHECKING

        EXTRA = []
        if TYPE_CHECKING:
            EXTRA.append(7)
""").replace("return _base() + [3]", "return _base() + [3] + EXTRA")


@pytest.mark.parametrize("conftest_sets_it", [False, True], ids=["typing-default", "set-by-a-conftest"])
def test_an_edit_under_type_checking(pytester: pytest.Pytester, conftest_sets_it: bool) -> None:
    """`if TYPE_CHECKING:` bodies never run, unless something set
    typing.TYPE_CHECKING (here the root conftest, before it imports the
    project): then an edit there changes the items (case8) and relearns."""
    files = dict(PROJECT)
    files["proj/core.py"] = TYPE_CHECKED_CORE
    if conftest_sets_it:
        files["conftest.py"] = PROJECT["conftest.py"].replace(
            "import pytest\n", "import pytest\n        import typing\n        typing.TYPE_CHECKING = True\n", 1)
    args = ("-k", "case8") if conftest_sets_it else ("-k", "case2 or table")
    _learn(pytester, files, ("-k", "case2 or table"), confirm=True)
    ids_fast(pytester, *args)  # records for this filter's session too
    edit = {"proj/core.py": TYPE_CHECKED_CORE.replace("EXTRA.append(7)", "EXTRA.append(8)")}
    _after_edit(pytester, edit, args, relearn=conftest_sets_it, changed="proj/core.py" if conftest_sets_it else None)
