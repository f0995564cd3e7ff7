"""Parametrize values written as names (issue #13): `[nx.DiGraph, parse]`,
`range(3)`, a module-level list. pytest's id for such a value is its
`__name__`, its str(), or argname+index; the core computes it where the name
surely is what it reads (resolved through imports, or the running object when
its module is loaded), and imports the module otherwise. Each case runs plain
pytest and the plugin and compares node IDs; the "hostile" ones make the id
something else than a reading of the source would guess."""

from __future__ import annotations

from typing import Dict, List

import pytest

from differential import compare, skipped, write

INI = "[pytest]\npythonpath = .\n"

# The project: a package whose names the test modules pass as values.
PROJ = {
    "pytest.ini": INI,
    "proj/__init__.py": "from proj.core import parse, Table\n",
    "proj/core.py": """
        NAME = "str_value_id"

        def parse(text):
            return text

        class Table:
            pass

        def helper():
            pass
    """,
    # The test the -k of the positive cases picks, in a module of its own.
    "tests/test_target.py": "def test_target():\n    pass\n",
}

# Loads the project before the plugin decides: the running objects answer.
LOADED = {"conftest.py": "import proj.core\n"}


def project(pytester: pytest.Pytester, extra: Dict[str, str], loaded: bool = False) -> None:
    files = dict(PROJ)
    if loaded:
        files.update(LOADED)
    files.update(extra)
    write(pytester.path, files)


PLAIN_CASES = {
    "from_import": """
        import pytest
        from proj.core import parse, Table

        @pytest.mark.parametrize("f", [parse, Table])
        def test_values(f):
            pass
    """,
    "module_attribute": """
        import pytest
        import proj.core as core

        @pytest.mark.parametrize("f", [core.parse, core.Table], ids=None)
        def test_values(f):
            pass
    """,
    "package_reexport": """
        import pytest
        import proj

        @pytest.mark.parametrize("f, n", [(proj.parse, 1), (proj.Table, 2)])
        def test_values(f, n):
            pass
    """,
    "builtins_and_range": """
        import pytest

        @pytest.mark.parametrize("f", [sum, max, int])
        @pytest.mark.parametrize("n", range(1, 4))
        def test_values(f, n):
            pass
    """,
    "module_list": """
        import pytest

        CASES = [1, 2]
        TABLE = {"a": 1}

        @pytest.mark.parametrize("c", [CASES, TABLE])
        def test_values(c):
            pass
    """,
    "class_method": """
        import pytest
        from proj.core import parse

        class TestValues:
            @pytest.mark.parametrize("f", [parse, pytest.param(parse, id="again")])
            def test_values(self, f):
                pass
    """,
}


@pytest.mark.parametrize("loaded", [False, True], ids=["static", "live"])
@pytest.mark.parametrize("case", sorted(PLAIN_CASES))
def test_values_resolved_and_skipped(pytester: pytest.Pytester, case: str, loaded: bool) -> None:
    """Names that resolve: the module is skipped for an unrelated -k, and each
    of its computed ids selects what plain pytest selects."""
    project(pytester, {"tests/test_values.py": PLAIN_CASES[case]}, loaded)
    fast = compare(pytester, ["-k", "test_target"])
    assert fast.ids == ["tests/test_target.py::test_target"]
    assert skipped(fast) == 1, fast.lines
    plain_ids: List[str] = compare(pytester, ["-k", "test_values"]).ids
    assert plain_ids, "the case collects no test"
    parts = {p for nodeid in plain_ids for p in nodeid.split("[", 1)[1].rstrip("]").split("-")}
    for part in sorted(p for p in parts if p.isidentifier()):
        sel = compare(pytester, ["--cache-clear", "-k", f"test_values and {part}"])  # static, not learned
        assert sel.ids and all(part in i for i in sel.ids), sel.ids


# Values whose id is not what the source suggests; the -k names the real id.
HOSTILE = [
    ("renamed", {"proj/extra.py": "def helper():\n    pass\n\nhelper.__name__ = 'renamed_xyz'\n"},
     "from proj.extra import helper\n", "[helper]", "renamed_xyz"),
    ("wrapped", {"proj/extra.py": """
        import functools

        def other_name_w():
            pass

        def helper():
            pass

        functools.update_wrapper(helper, other_name_w)
    """}, "from proj.extra import helper\n", "[helper]", "other_name_w"),
    ("rebound", {"proj/extra.py": "def helper():\n    pass\n\ndef gone_q():\n    pass\n\nhelper = gone_q\n"},
     "from proj.extra import helper\n", "[helper]", "gone_q"),
    ("string_constant", {}, "from proj.core import NAME\n", "[NAME]", "str_value_id"),
    ("conditional_import", {"proj/extra.py": "def fallback_c():\n    pass\n"},
     "try:\n    from proj.missing import helper\nexcept ImportError:\n    from proj.extra import fallback_c as helper\n",
     "[helper]", "fallback_c"),
    ("range_rebound", {}, "def range(n):\n    return ['r_a', 'r_b']\n", "range(2)", "r_b"),
    ("builtin_rebound", {"proj/extra.py": "def sum_other():\n    pass\n"},
     "from proj.extra import sum_other as sum\n", "[sum]", "sum_other"),
    ("class_attribute", {}, "from proj.core import parse\n", "CLASS", "Table"),
    ("duplicate_ids", {}, "from proj.core import parse\n", "[parse, parse]", "parse1"),
    ("string_module_list", {}, "CASES = 'list_like_str'\n", "[CASES]", "list_like_str"),
    ("instance_with_name", {"proj/extra.py": "class Named:\n    __name__ = 'inst_named'\n\nhelper = Named()\n"},
     "from proj.extra import helper\n", "[helper]", "inst_named"),
    ("star_import", {"proj/extra.py": "def star_s():\n    pass\n\nparse = star_s\n"},
     "from proj.core import parse\nfrom proj.extra import *\n", "[parse]", "star_s"),
    ("defined_after", {}, "", "[late_l]", "late_l"),
]


@pytest.mark.parametrize("loaded", [False, True], ids=["static", "live"])
@pytest.mark.parametrize("name, files, head, values, ident", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_values(pytester: pytest.Pytester, name: str, files: Dict[str, str], head: str, values: str,
                        ident: str, loaded: bool) -> None:
    if values == "CLASS":
        body = (
            "import pytest\n" + head + "from proj.core import Table\n\n"
            "class TestV:\n    parse = Table\n\n"
            "    @pytest.mark.parametrize('f', [parse])\n    def test_v(self, f):\n        pass\n"
        )
    else:
        body = "import pytest\n" + head + f"\n@pytest.mark.parametrize('f', {values})\ndef test_v(f):\n    pass\n"
        if name == "defined_after":
            body += "\ndef late_l():\n    pass\n"
    project(pytester, {**files, "tests/test_values.py": body}, loaded)
    fast = compare(pytester, ["-k", ident])
    if name == "defined_after":
        assert fast.ids == []  # a NameError at import: nothing collected, the module imported
        assert "tests/test_values.py" in fast.modules, fast.lines
    else:
        assert len(fast.ids) >= 1 and all(i.startswith("tests/test_values.py::") for i in fast.ids), fast.ids


# In-place methods of a module-level display are harmless calls; on anything
# else a call may bind names (here: a test made by the call).
MUTATING = {
    "display": ("CASES = [1]\nCASES.append(2)\nCASES.extend([3])\n", 1),
    "rebound": ("from proj.maker import Maker\n\nCASES = [1]\nCASES = Maker()\nCASES.append(2)\n", 0),
    "class_body": ("from proj.maker import Maker\n\nCASES = [1]\n\nclass TestK:\n    CASES = Maker()\n"
                   "    CASES.append(2)\n\n    def test_k(self):\n        pass\n", 0),
}
# Its append defines a test in the caller's module; loaded by the conftest, so
# the running class answers what its source (frame access) cannot.
MAKER = {"conftest.py": "import proj.maker\n", "proj/maker.py": """
    import sys

    class Maker:
        def append(self, x):
            sys._getframe(1).f_globals["test_made_m"] = lambda: None
"""}


@pytest.mark.parametrize("case", sorted(MUTATING))
def test_container_method_calls(pytester: pytest.Pytester, case: str) -> None:
    body, skips = MUTATING[case]
    project(pytester, {**MAKER, "tests/test_values.py": "import pytest\n\n" + body +
                       "\n@pytest.mark.parametrize('c', [1, 2])\ndef test_cases(c):\n    pass\n"})
    fast = compare(pytester, ["-k", "test_target"])
    assert skipped(fast) == skips, fast.lines
    made = compare(pytester, ["-k", "test_made_m"]).ids
    assert bool(made) == (case != "display"), made
    compare(pytester, ["-k", "test_cases"])
