"""The edit-run loop: learned items survive edits that collection never ran.

A learned generation depends on the collection surface of each file that
collection loaded: module and class level code, signatures, decorators,
docstrings and the bodies of the functions that ran (pytest_fastcollect/
trace.py, src/surface.cpp). Each case learns on a project shaped like real
code (from-imports of the package under test, a conftest with parametrized
fixtures and a collection hook), edits one file, and runs plain pytest and
pytest with the plugin on the same command: the node IDs must be equal. An
edit outside the surface must keep the learned records (files skipped, no
relearning); an edit of code that ran must relearn.

Every plugin run must print the plugin's report line (report_of), so no
case passes with the plugin silently off.
"""

from __future__ import annotations

import re
import shutil
from typing import Dict, List, Optional, Sequence

import pytest

import forked
from test_hook_inputs import Report, ids_fast, ids_plain, report_of, write

PROJECT = {
    "pyproject.toml": """
        [tool.pytest.ini_options]
        markers = ["slow: slow tests"]
    """,
    "proj/__init__.py": """
        from proj.core import Table, make_cases
    """,
    "proj/core.py": """
        import functools


        def _base():
            return [1, 2]


        def make_cases():
            return _base() + [3]


        def ids_for(cases):
            return [f"case{c}" for c in cases]


        class Table:
            def __init__(self, rows):
                self.rows = rows

            def render(self):
                return "|".join(str(r) for r in self.rows)


        def never_called():
            return 0
    """,
    "conftest.py": """
        import pytest
        from proj.core import Table


        @pytest.fixture(params=["x", "y"])
        def table(request):
            return Table([request.param])


        def pytest_collection_modifyitems(items):
            for item in items:
                if "case3" in item.name:
                    item.add_marker(pytest.mark.slow)
    """,
    "tests/test_render.py": """
        import pytest
        from proj.core import ids_for, make_cases


        @pytest.mark.parametrize("c", make_cases(), ids=ids_for(make_cases()))
        def test_render(c):
            pass
    """,
    "tests/test_table.py": """
        from proj import Table


        def test_table(table):
            assert Table([1]).render() == "1"
    """,
    "tests/test_other.py": """
        from proj.core import Table


        def test_other():
            pass
    """,
}

NOT_USED = "learned items not used:"


def _learn(pytester: pytest.Pytester, files: Dict[str, str], args: Sequence[str], confirm: bool = False) -> None:
    """The learning run; with `confirm`, a second run that must decide by
    learned items (_after_edit checks that itself: either the records are
    used, or "learned items not used" names why)."""
    shutil.rmtree(pytester.path / ".pytest_cache", ignore_errors=True)
    write(pytester.path, files)
    ids_fast(pytester, *args)  # the learning run
    if confirm:
        ids, out = ids_fast(pytester, *args)
        rep = report_of(out)
        assert rep.learned > 0 and rep.skipped > 0, f"learning did not take:\n{out}"


def _after_edit(pytester: pytest.Pytester, edit: Dict[str, str], args: Sequence[str], relearn: bool,
                changed: Optional[str] = None) -> Report:
    write(pytester.path, edit)
    plain, _ = ids_plain(pytester, *args)
    ids, out = ids_fast(pytester, *args, "--fast-collect-explain")
    assert ids == plain, f"after the edit {sorted(edit)}: plain={plain} plugin={ids}\n{out}"
    rep = report_of(out)
    if relearn:
        assert NOT_USED in out, f"an edit of the surface kept the learned records:\n{out}"
        if changed:
            assert re.search(rf"{NOT_USED} .*{re.escape(changed)}", out), out
        # ... and the next run decides on the records it learned.
        ids, out = ids_fast(pytester, *args)
        assert ids == plain, out
        assert report_of(out).skipped > 0, out
    else:
        assert NOT_USED not in out, f"an edit outside the surface threw the learned records away:\n{out}"
        assert rep.skipped > 0, f"nothing skipped after an edit outside the surface:\n{out}"
        # Decided on the records (directly, or through the decision cache).
        assert rep.learned > 0 or re.search(r": (a|no) learned item (may|can) match", out), (
            f"learned items did not decide after an edit outside the surface:\n{out}")
    return rep


def _edited(path: str, old: str, new: str, base: Dict[str, str] = PROJECT) -> Dict[str, str]:
    assert old in base[path], old
    return {path: base[path].replace(old, new)}


KEEPS = {
    "body-of-a-method-that-never-ran": _edited(
        "proj/core.py", 'return "|".join(str(r) for r in self.rows)', 'sep = "|"\n                return sep.join(map(str, self.rows))'),
    "body-of-a-function-never-called": _edited("proj/core.py", "return 0", "x = 1\n            return x"),
    "fixture-body": _edited("conftest.py", "return Table([request.param])", "t = Table([request.param])\n            return t"),
    "only-line-numbers-and-comments": _edited("proj/core.py", "import functools\n", "# a comment\n\n\n        import functools  # here\n"),
}

# (edit, the file the report names, a filter that selects only what the
# edit brings: stale records would skip the file that holds it).
RELEARNS = {
    "helper-that-computes-ids": (
        _edited("proj/core.py", 'f"case{c}"', 'f"kase{c}"'), "proj/core.py", ("-k", "kase2")),
    "function-called-by-a-function-that-ran": (
        _edited("proj/core.py", "return [1, 2]", "return [1, 2, 4]"), "proj/core.py", ("-k", "case4")),
    "fixture-params": (
        _edited("conftest.py", 'params=["x", "y"]', 'params=["x", "y", "z"]'), "conftest.py", ("-k", "table and z")),
    "conftest-hook-body": (
        _edited("conftest.py", 'if "case3" in item.name', 'if "case2" in item.name'), "conftest.py", ("-m", "slow")),
    "module-level-code": (
        _edited("proj/__init__.py", "make_cases", "make_cases\n        EXTRA = len(make_cases())"), "proj/__init__.py", ("-k", "case2")),
}


@pytest.mark.parametrize("edit", list(KEEPS.values()), ids=list(KEEPS))
def test_edit_outside_the_surface_keeps_learned_items(pytester: pytest.Pytester, edit: Dict[str, str]) -> None:
    args = ("-k", "case2 or table")
    _learn(pytester, PROJECT, args)
    _after_edit(pytester, edit, args, relearn=False)
    # And -m, on the same records.
    plain, _ = ids_plain(pytester, "-m", "slow")
    ids, out = ids_fast(pytester, "-m", "slow")
    assert ids == plain, out


@pytest.mark.parametrize("edit,changed,args", list(RELEARNS.values()), ids=list(RELEARNS))
def test_edit_of_code_that_ran_relearns(pytester: pytest.Pytester, edit: Dict[str, str], changed: str,
                                        args: Sequence[str]) -> None:
    _learn(pytester, PROJECT, args)
    _after_edit(pytester, edit, args, relearn=True, changed=changed)


# Ways code runs at import that a tracer must see. Each helper module
# computes the parametrization of tests/test_mech.py; `edit` changes the body
# of the function that ran, which must change the selection.
MECHANISMS = {
    "decorator": ("""
        def register(f):
            f.cases = f()
            return f

        @register
        def cases():
            return ["m1", "m2"]

        CASES = cases.cases
    """, '["m1", "m2"]', '["m1", "m3"]'),
    "class-decorator": ("""
        def fill(cls):
            cls.CASES = ["m1", "m2"]
            return cls

        @fill
        class Holder:
            pass

        CASES = Holder.CASES
    """, '["m1", "m2"]', '["m1", "m3"]'),
    "metaclass": ("""
        class Meta(type):
            def __new__(mcs, name, bases, ns):
                ns["CASES"] = ["m1", "m2"]
                return super().__new__(mcs, name, bases, ns)

        class Holder(metaclass=Meta):
            pass

        CASES = Holder.CASES
    """, '["m1", "m2"]', '["m1", "m3"]'),
    "init-subclass": ("""
        class Base:
            def __init_subclass__(cls):
                cls.CASES = ["m1", "m2"]

        class Holder(Base):
            pass

        CASES = Holder.CASES
    """, '["m1", "m2"]', '["m1", "m3"]'),
    "set-name": ("""
        class Field:
            def __set_name__(self, owner, name):
                owner.CASES = [name + "1", name + "2"]

        class Holder:
            m = Field()

        CASES = Holder.CASES
    """, 'name + "2"', 'name + "3"'),
    "descriptor": ("""
        class Cases:
            def __get__(self, obj, owner):
                return ["m1", "m2"]

        class Holder:
            CASES = Cases()

        CASES = Holder.CASES
    """, '["m1", "m2"]', '["m1", "m3"]'),
    "functools-cache": ("""
        import functools

        @functools.lru_cache(maxsize=None)
        def cases():
            return ("m1", "m2")

        CASES = list(cases())
    """, '("m1", "m2")', '("m1", "m3")'),
    "default-argument-lambda": ("""
        def cases(make=lambda: ["m1", "m2"]):
            return make()

        CASES = cases()
    """, '["m1", "m2"]', '["m1", "m3"]'),
    "generator-consumed-at-import": ("""
        def gen():
            yield "m1"
            yield "m2"

        CASES = list(gen())
    """, 'yield "m2"', 'yield "m3"'),
    "comprehension-in-a-function": ("""
        def cases():
            return [f"m{i}" for i in (1, 2)]

        CASES = cases()
    """, "(1, 2)", "(1, 3)"),
    "defined-twice-second-wins": ("""
        def cases():
            return ["m1", "m9"]

        def cases():
            return ["m1", "m2"]

        CASES = cases()
    """, '["m1", "m2"]', '["m1", "m3"]'),
    "exec-of-text": ("""
        def source():
            return "CASES = ['m1', 'm2']"

        exec(source())
    """, "'m2'", "'m3'"),
    "ids-from-a-docstring": ("""
        def m2():
            '''m2'''

        CASES = ["m1", m2.__doc__]
    """, "'''m2'''", "'''m3'''"),
    "code-object-read-as-data": ("""
        def cases():
            return ("m1", "m2")

        CASES = [c for c in cases.__code__.co_consts if isinstance(c, str)]
    """, '("m1", "m2")', '("m1", "m3")'),
}


@pytest.mark.parametrize("source,old,new", list(MECHANISMS.values()), ids=list(MECHANISMS))
def test_code_run_at_import_is_part_of_the_surface(pytester: pytest.Pytester, source: str, old: str, new: str) -> None:
    files = dict(PROJECT)
    files["proj/mech.py"] = source
    files["tests/test_mech.py"] = """
        import pytest
        from proj.mech import CASES


        @pytest.mark.parametrize("m", CASES)
        def test_mech(m):
            pass
    """
    args = ("-k", "m3")  # only the edit brings it: stale records would skip test_mech.py
    _learn(pytester, files, args)
    _after_edit(pytester, _edited("proj/mech.py", old, new, files), args, relearn=True, changed="proj/mech.py")


def test_line_numbers_read_through_source_relearn(pytester: pytest.Pytester) -> None:
    """Ids built from a line number read with inspect (the source read as
    data): the file counts whole, so shifting lines relearns."""
    files = dict(PROJECT)
    files["proj/lines.py"] = """
        import inspect


        def anchor():
            return 0


        CASES = [f"line{inspect.getsourcelines(anchor)[1]}"]
    """
    files["tests/test_lines.py"] = """
        import pytest
        from proj.lines import CASES


        @pytest.mark.parametrize("m", CASES)
        def test_lines(m):
            pass
    """
    args = ("-k", "line7")
    _learn(pytester, files, args)
    _after_edit(pytester, _edited("proj/lines.py", "import inspect\n", "import inspect\n\n\n", files), args,
                relearn=True, changed="proj/lines.py")


def test_a_file_newly_imported_joins_the_surface(pytester: pytest.Pytester) -> None:
    """An edit that makes collection import another module relearns, and
    that module's code is then part of the key."""
    files = dict(PROJECT)
    files["proj/extra.py"] = """
        def extra_cases():
            return ["e1", "e2"]
    """
    args = ("-k", "e3 or case4")
    _learn(pytester, files, args)
    edit = _edited("proj/core.py", "return _base() + [3]",
                   "from proj.extra import extra_cases\n            return _base() + [3] + extra_cases()", files)
    _after_edit(pytester, edit, args, relearn=True, changed="proj/core.py")
    files.update(edit)
    _after_edit(pytester, _edited("proj/extra.py", '"e2"]', '"e3"]', files), args, relearn=True, changed="proj/extra.py")


def test_a_body_that_no_longer_compiles_is_seen(pytester: pytest.Pytester) -> None:
    """`await` in a plain function parses for tree-sitter, not for Python:
    the surface is unchanged, yet every module importing the file now fails
    to import. Plain pytest reports each; so must the plugin."""
    files = dict(PROJECT)
    files["proj/util.py"] = """
        def helper():
            return 0
    """
    # Ids the model cannot compute: the learning run imports the module (and
    # learns it depends on proj/util.py), as the import alone no longer does.
    files["tests/test_util.py"] = """
        import pytest

        from proj.util import helper

        CASES = list(range(2))


        @pytest.mark.parametrize("n", CASES)
        def test_util(n):
            pass
    """
    args = ("-k", "case2")
    _learn(pytester, files, args)
    write(pytester.path, _edited("proj/util.py", "return 0", "return await something()", files))
    common = ("-p", "no:randomly", "-p", "no:xdist", "--co", "-q", *args)
    plain = forked.run(pytester, "--no-fast-collect", *common, timeout=120)
    fast = forked.run(pytester, "--fast-collect-explain", *common, timeout=120)

    def errors(result: pytest.RunResult) -> List[str]:
        return sorted(line.split(" - ")[0] for line in result.stdout.lines if line.startswith("ERROR "))

    assert plain.ret == 2 and errors(plain), plain.stdout.str()
    assert (fast.ret, errors(fast)) == (plain.ret, errors(plain)), fast.stdout.str()
    out = fast.stdout.str()
    report_of(out)
    assert "proj/util.py does not compile" in out, out
