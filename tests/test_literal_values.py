"""Parametrize values the core reads without any name: float literals (pytest's
id is `str(value)`, CPython's shortest repr), list arithmetic (`[3] * 12`,
an id of argname+index), a splat of a display (`(*(1, 2), 3)`), operators that
could be a user type's (their marks are unknown). Plain pytest and the plugin
run on the same project; each module's -k names the id pytest makes, so a
wrong id in the core is a missed test."""

from __future__ import annotations

import builtins
import random
import textwrap
import struct
from typing import Dict, List, Tuple

import pytest

from differential import compare, ids_decided_statically, skipped, write

# Float literals as written, including spellings whose repr differs from the
# text and values at every edge of CPython's repr (exponent from 1e16 and
# below 1e-4, ".0" on integral values, 17 significant digits).
SPELLED = [
    "0.2", "0.1", "1.5", "-2.5", "1.", ".5", "5.0", "1_000.5", "1e5", "1E5", "1e-5", "1e-4", "0.0001",
    "0.00001", "1e16", "1e15", "9999999999999998.0", "1234567890123456.0", "12345678901234567.0",
    "123456789012345678.0", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308", "0.0", "-0.0",
    "0.30000000000000004", "1.0000000000000002", "100.0", "1e22", "1e23", "3.14159265358979323846",
    "-1e-7", "0e0", "00.5", "1_0e1_0", "0.1e-3", "123.456e2",
]


def random_floats(count: int, seed: int) -> List[str]:
    """repr() of doubles spread over every exponent (raw bit patterns) and of
    short decimals."""
    rng = random.Random(seed)
    out: List[str] = []
    while len(out) < count:
        if len(out) % 2:
            value = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(63)))[0]
        else:
            value = round(rng.uniform(-1000, 1000), rng.randint(0, 6))
        if value == value and abs(value) != float("inf"):
            out.append(repr(value))
    return out


def float_modules(literals: List[str]) -> Tuple[Dict[str, str], List[Tuple[str, str]]]:
    """One module per literal, named so no test name holds another's; returns
    the files and each test's (function name, the id plain pytest gives)."""
    files: Dict[str, str] = {"tests/test_target.py": "def test_target():\n    pass\n"}
    picks: List[Tuple[str, str]] = []
    for n, text in enumerate(literals):
        fn = f"test_f{n}_x"
        files[f"tests/test_float_{n}.py"] = (
            f"import pytest\n\n@pytest.mark.parametrize('v', [{text}])\ndef {fn}(v):\n    pass\n"
        )
        picks.append((fn, str(eval(text))))
    return files, picks


@pytest.mark.parametrize("which", ["spelled", "random"])
def test_float_ids(pytester: pytest.Pytester, which: str) -> None:
    literals = SPELLED if which == "spelled" else random_floats(120, 13)
    files, picks = float_modules(literals)
    write(pytester.path, files)
    fast = compare(pytester, ["-k", "test_target"])
    assert skipped(fast) == len(literals), fast.lines  # every id computed
    # Each clause can only match its own module: a wrong id skips the module.
    expr = " or ".join(f"({fn} and {ident})" for fn, ident in picks)
    fast = compare(pytester, ["-k", expr])
    assert len(fast.ids) == len(literals) and skipped(fast) == 1, fast.lines  # only test_target


# Ids that hold no float: the module is skipped for a near miss and selected
# for the real id (repr, not the text as written).
@pytest.mark.parametrize("text, real, near", [
    ("1e-5", "1e-05", "1e-5]"), ("1_000.5", "1000.5", "1_000"), ("1e16", "1e+16", "10000000000000000"),
    ("5.", "5.0", "v0"), ("-0.0", "-0.0", "v0"),
])
def test_float_id_spelling(pytester: pytest.Pytester, text: str, real: str, near: str) -> None:
    files, _ = float_modules([text])
    write(pytester.path, files)
    assert compare(pytester, ["-k", f"test_f0_x and {real}"]).ids
    fast = compare(pytester, ["-k", f"test_f0_x and {near}"])
    assert fast.ids == [] and skipped(fast) == 2, fast.lines


# Values of known type (list arithmetic, splats of displays, comprehensions):
# ids of argname+index. Each case must be skipped for an unrelated -k and
# select what plain pytest selects by its ids.
KNOWN_TYPE = {
    "list_times": ("@pytest.mark.parametrize('deg', [[3] * 12, [2, 0], 2 * [1]])", "deg"),
    "list_plus": ("@pytest.mark.parametrize('deg', [[1] + [2], (1,) + (2,)])", "deg"),
    "splat_tuple": ("@pytest.mark.parametrize('a, b, c', [(*(1, 2), 3), (*[4], 5, 6)])", "a, b, c"),
    "splat_values": ("@pytest.mark.parametrize('n', [*(7, 8), 9])", "n"),
    "comprehension": ("@pytest.mark.parametrize('deg', [[i for i in range(3)], {k: 1 for k in 'ab'}])", "deg"),
    "stacked_floats": ("@pytest.mark.parametrize('seed', [1, 13])\n"
                       "@pytest.mark.parametrize('n,k,p', [(10, 3, 0.2), (100, 10, 0.7)])", "n, k, p, seed"),
}


@pytest.mark.parametrize("case", sorted(KNOWN_TYPE))
def test_known_type_values(pytester: pytest.Pytester, case: str) -> None:
    decorators, params = KNOWN_TYPE[case]
    files, _ = float_modules([])
    files["tests/test_values.py"] = f"import pytest\n\n{decorators}\ndef test_values({params}):\n    pass\n"
    write(pytester.path, files)
    ids_decided_statically(pytester)


# An operator on a user's type may return anything, a ParameterSet with marks
# among them: -m must import the module. Literal operators, `not` and list
# arithmetic cannot.
MARKED = {"pytest.ini": "[pytest]\npythonpath = tests\nmarkers =\n    slowish\n", "tests/helper.py": """
    import pytest

    class Maker:
        def __add__(self, other):
            return pytest.param(1, marks=pytest.mark.slowish)

        def __neg__(self):
            return pytest.param(2, marks=pytest.mark.slowish)

    made = Maker()
""", "tests/conftest.py": "import helper  # loaded: the running object says made is no fixture\n"}


@pytest.mark.parametrize("value, selected", [
    ("made + 1", True), ("-made", True), ("(made + 1) if True else 1", True), ("1 + 2", False), ("[made] * 2", False),
    ("-1.5", False), ("not made", False), ("(1, 2) * 2", False),
])
def test_operator_marks(pytester: pytest.Pytester, value: str, selected: bool) -> None:
    files, _ = float_modules([])
    files.update(MARKED)
    head = "from helper import made\n" if "made" in value else ""
    files["tests/test_values.py"] = (
        f"import pytest\n{head}\n@pytest.mark.parametrize('v', [{value}])\ndef test_values(v):\n    pass\n"
    )
    write(pytester.path, files)
    fast = compare(pytester, ["-m", "slowish"])
    assert bool(fast.ids) == selected, fast.ids
    if not selected:
        assert skipped(fast) == 2, fast.lines


# argvalues / params given by a name bound to a display: read from the display
# where nothing else can reach the list. Skipped for an unrelated -k, and each
# computed id selects what plain pytest selects.
PROJ = {
    "pytest.ini": "[pytest]\npythonpath = .\n",
    "proj/__init__.py": "",
    "proj/core.py": "def parse(text):\n    return text\n\n\nclass Table:\n    pass\n",
}
NAMED_LISTS = {
    "module_strings": """
        METHODS = ("tracemin_pcg", "lanczos")

        @pytest.mark.parametrize("method", METHODS)
        def test_values(method):
            pass
    """,
    "module_refs_in_class": """
        from proj.core import parse, Table

        KINDS = [parse, Table]

        class TestV:
            @pytest.mark.parametrize("kind", KINDS)
            def test_values(self, kind):
                pass
    """,
    "class_level": """
        class TestV:
            cases = [(1, 0.5), (2, 1e-7)]

            @pytest.mark.parametrize("n, x", cases)
            def test_values(self, n, x):
                pass
    """,
    "used_twice": """
        SEEDS = [1, 2]

        @pytest.mark.parametrize("seed", SEEDS)
        @pytest.mark.parametrize("other", SEEDS)
        def test_values(seed, other):
            pass
    """,
    "builtin_calls": """
        @pytest.mark.parametrize("n", (4, range(4), {0, 1}, set(), list((1, 2)), frozenset([3])))
        def test_values(n):
            pass
    """,
}


@pytest.mark.parametrize("case", sorted(NAMED_LISTS))
def test_named_lists(pytester: pytest.Pytester, case: str) -> None:
    files, _ = float_modules([])
    files.update(PROJ)
    files["tests/test_values.py"] = "import pytest\n" + textwrap.dedent(NAMED_LISTS[case])
    write(pytester.path, files)
    ids_decided_statically(pytester)


# The list is changed or rebound before pytest reads it, or the name is not
# the list: the -k names an id that only the real value gives.
NAMED_HOSTILE = [
    ("appended", 'CASES = ["a"]\nCASES.append("mut_m")\n', "mut_m"),
    ("augmented", 'CASES = ["a"]\nCASES += ["aug_a"]\n', "aug_a"),
    ("rebound", 'CASES = ["a"]\nCASES = ["reb_r"]\n', "reb_r"),
    ("conditional", 'CASES = ["a"]\nif True:\n    CASES = ["cond_c"]\n', "cond_c"),
    ("globals", 'CASES = ["a"]\nglobals()["CASES"].append("glob_g")\n', "glob_g"),
    ("star_import", 'CASES = ["a"]\nfrom proj.extra import *\n', "star_s"),
    ("function_at_import", 'CASES = ["a"]\n\ndef add():\n    CASES.append("fn_f")\n\nadd()\n', "fn_f"),
    ("helper_holds_it", 'from proj.extra import keep\n\nCASES = ["a"]\nkeep(CASES)\n', "kept_k"),
    ("frame", 'import sys\nCASES = ["a"]\nsys._getframe(0).f_locals["CASES"].append("frm_f")\n', "frm_f"),
    ("class_shadows_ref", 'from proj.core import Table\n\nCASES = [Table]\n', "Table"),
    ("class_rebinds_ref", 'from proj.core import Table, parse\n\nCASES = [Table]\n', "Table"),
    ("builtin_rebound", 'def set(*a):\n    return "str_id_s"\n\nCASES = [set()]\n', "str_id_s"),
]
EXTRA = "CASES = ['star_s']\n\ndef keep(x):\n    x.append('kept_k')\n"


@pytest.mark.parametrize("name, head, ident", NAMED_HOSTILE, ids=[h[0] for h in NAMED_HOSTILE])
def test_named_lists_hostile(pytester: pytest.Pytester, name: str, head: str, ident: str) -> None:
    files, _ = float_modules([])
    files.update(PROJ)
    files["proj/extra.py"] = EXTRA
    if name.startswith("class_"):
        # The display was read at module level: the class's Table is not it.
        value = "1" if name == "class_shadows_ref" else "parse"
        body = (f"class TestV:\n    Table = {value}\n\n    @pytest.mark.parametrize('f', CASES)\n"
                "    def test_v(self, f):\n        pass\n")
    else:
        body = "@pytest.mark.parametrize('f', CASES)\ndef test_v(f):\n    pass\n"
    files["tests/test_values.py"] = "import pytest\n" + head + "\n\n" + body
    write(pytester.path, files)
    fast = compare(pytester, ["-k", ident])
    assert len(fast.ids) >= 1 and all(i.startswith("tests/test_values.py::") for i in fast.ids), fast.ids


# Found by a review of this work (each was a missed test): names in a named
# display looked up where the name is used instead of where the display was
# built; a display changed by a test module collected earlier (another
# directory); an NFKC spelling of the name; argnames given as a list of one
# (pytest unpacks every set); a conftest replacing builtins.range.
REVIEWED = {
    "names_looked_up_late": ({
        "tests/helpers.py": "def foo():\n    pass\n",
        "tests/test_v.py": "import pytest\n\nVALS = [max, 3]\nfrom helpers import foo as max\n\n"
                           "@pytest.mark.parametrize('x', VALS)\ndef test_v(x):\n    pass\n",
    }, "test_v and max", "tests/test_v.py::test_v[max]"),
    "changed_by_earlier_module": ({
        "pytest.ini": "[pytest]\npythonpath = tests/b\n",
        "tests/a/test_0.py": "import test_v\n\ntest_v.VALS.append(3)\n\n\ndef test_zero():\n    pass\n",
        "tests/b/test_v.py": "import pytest\n\nVALS = [1, 2]\n\n\n@pytest.mark.parametrize('x', VALS)\n"
                             "def test_v(x):\n    pass\n",
    }, "test_v and 3", "tests/b/test_v.py::test_v[3]"),
    "nfkc_name": ({
        "tests/test_v.py": "import pytest\n\nVALS = [1, 2]\n\uff36ALS = [4, 5]\n\n"
                           "@pytest.mark.parametrize('x', VALS)\ndef test_v(x):\n    pass\n",
    }, "test_v and 4", "tests/test_v.py::test_v[4]"),
    "argnames_list_of_one": ({
        "tests/test_v.py": "import pytest\n\n@pytest.mark.parametrize(['x'], [(1,), [3] * 1, (2.5,)])\n"
                           "def test_v(x):\n    pass\n",
    }, "test_v and 2.5", "tests/test_v.py::test_v[2.5]"),
    "conftest_replaces_range": ({
        "tests/conftest.py": "import builtins\n\n_range = builtins.range\n\n\ndef range(*a):\n"
                             "    return 'four' if a == (7, 8) else _range(*a)\n\n\nbuiltins.range = range\n",
        "tests/test_v.py": "import pytest\n\n@pytest.mark.parametrize('x', [range(7, 8), 5])\n"
                           "def test_v(x):\n    pass\n",
    }, "four", "tests/test_v.py::test_v[four]"),
}


@pytest.mark.parametrize("case", sorted(REVIEWED))
def test_reviewed_cases(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    # In-process runs share builtins: put range back after the conftest's.
    monkeypatch.setattr(builtins, "range", builtins.range)
    files, expr, nodeid = REVIEWED[case]
    write(pytester.path, {"tests/test_target.py": "def test_target():\n    pass\n", **files})
    fast = compare(pytester, ["-k", expr])
    assert nodeid in fast.ids, fast.lines
