"""Programs that collection starts (pytest_fastcollect/programs.py), end to
end: a read-only program's output and a missing program's absence are
inputs of the generation; any other program leaves the modules collected
from it on unrecorded (the whole session when it starts outside any test
module). Each case compares the plugin with plain pytest and asserts its
report lines; the old code missed the changed parameters."""

from __future__ import annotations

import os
import re

import pytest

from test_hook_inputs import ids_fast, write
from test_learned_inputs import ALPHA, BASE, decided_by_records, exact, learn


PROGRAM_OUTPUT = """
    import functools
    import os
    import subprocess
    import sys

    @functools.lru_cache(maxsize=None)
    def program_output():
        # A program whose output is a data file's content, cached for the
        # session as pandas caches `locale -a`'s (its system's locales).
        data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "langs.txt")
        code = "import sys; print(open(sys.argv[1]).read())"
        return tuple(subprocess.check_output([sys.executable, "-c", code, data], text=True).split())
"""
LANGS_MODULES = {
    "test_langs.py": """
        import pytest
        from helper_program import program_output

        @pytest.mark.parametrize("lang", program_output())
        def test_lang(lang): pass
    """,
    # Reads the cached output: its collection runs no program.
    "test_more_langs.py": """
        import pytest
        from helper_program import program_output

        @pytest.mark.parametrize("lang", program_output())
        def test_more(lang): pass
    """,
}


@pytest.mark.parametrize("where", ["test module", "thread", "conftest"])
def test_a_program_run_while_collecting_is_no_record_s_input(pytester: pytest.Pytester, where: str) -> None:
    """What a program prints depends on files and state the learner cannot
    see (another process), and outlives the module that ran it (here a cache
    test_more_langs.py reads without running anything). Modules collected
    from that program on get no record (test_cases.py, collected before it,
    still learns); one started outside any test module (a conftest) leaves
    the session unrecorded. The reason is named; the old code missed the
    new parameters after the program's data changed."""
    helper = PROGRAM_OUTPUT
    if where == "thread":  # (a thread's stack holds no test module: only the standard library)
        helper = helper.replace("subprocess.check_output([sys.executable, \"-c\", code, data], text=True)",
                                "__import__('concurrent.futures').futures.ThreadPoolExecutor(1).submit(\n"
                                "            subprocess.check_output, [sys.executable, \"-c\", code, data], text=True).result()")
        assert helper != PROGRAM_OUTPUT
    files = {**BASE, "langs.txt": "en\nfr\n", "helper_program.py": helper, **LANGS_MODULES,
             "test_cases.py": """
        import pytest

        def cases():
            return ["c_one", "c_two"]

        @pytest.mark.parametrize("c", cases())  # (not read statically: only a record skips it)
        def test_case(c): pass
    """}
    if where == "conftest":
        files["conftest.py"] = """
            from helper_program import program_output

            program_output()
        """
    write(pytester.path, files)
    pytester.syspathinsert()
    expect = ["test_langs.py::test_lang[fr]", "test_more_langs.py::test_more[fr]"]
    ids, out = ids_fast(pytester, "--cache-clear", "-k", "fr", "--fast-collect-explain")  # would learn
    assert ids == expect, out
    if where == "conftest":
        assert re.search(r"nothing learned in this session: collection ran a program outside a test module "
                         r"\(.*python.*\), whose output", out), out
    else:
        for name in ("test_langs", "test_more_langs"):
            assert re.search(rf"not learned: {name}\.py: collected after a program ran \(.*python.* started while "
                             r"collecting .*test_langs\.py\)", out), out
        assert "not learned: test_cases.py" not in out, out
    rep = exact(pytester, ["-k", "alpha"], ALPHA, 5, "second run")
    assert rep.learned == (0 if where == "conftest" else 1), f"test_cases.py decided by its record or not: {rep}"
    (pytester.path / "langs.txt").write_text("en\nfr\nde\n")
    exact(pytester, ["-k", "de"], ["test_langs.py::test_lang[de]", "test_more_langs.py::test_more[de]"], 5,
          "after the program's data changed")


def test_a_read_only_programs_output_is_an_input(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A known read-only program (`locale`, as pandas runs `locale -a`): its
    output is an input of the generation, read again when deciding. Here a
    `locale` on PATH prints a data file, so its output changes."""
    bin_dir = pytester.path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "locale"
    fake.write_text(f"#!/bin/sh\ncat '{pytester.path / 'langs.txt'}'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    helper = PROGRAM_OUTPUT.replace('subprocess.check_output([sys.executable, "-c", code, data], text=True)',
                                    'subprocess.check_output(["locale", "-a"], text=True)')
    assert helper != PROGRAM_OUTPUT
    write(pytester.path, {**BASE, "langs.txt": "en\nfr\n", "helper_program.py": helper, **LANGS_MODULES})
    pytester.syspathinsert()
    learn(pytester, ["-k", "fr"], ["test_langs.py::test_lang[fr]", "test_more_langs.py::test_more[fr]"], 4)
    decided_by_records(pytester, 4, "second run")
    (pytester.path / "langs.txt").write_text("en\nfr\nde\n")
    ids, out = ids_fast(pytester, "-k", "de", "--fast-collect-explain")
    assert ids == ["test_langs.py::test_lang[de]", "test_more_langs.py::test_more[de]"], out
    assert "a program collection started changed" in out and '"locale", "-a"' in out, out
    decided_by_records(pytester, 4, "relearned")


def test_a_program_that_is_not_there_is_an_input(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """statsmodels looks for `x13as` on PATH by starting it: a program that is
    not there is keyed by its absence (nothing is run when deciding); once
    it is installed, the module relearns."""
    bin_dir = pytester.path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    write(pytester.path, {**BASE, "test_tool.py": """
        import subprocess
        import pytest

        try:
            subprocess.run(["fc-tool-not-here"], capture_output=True)
            MODES = ["tool_there"]
        except FileNotFoundError:
            MODES = ["tool_missing"]

        @pytest.mark.parametrize("mode", MODES)
        def test_tool(mode): pass
    """})
    learn(pytester, ["-k", "tool"], ["test_tool.py::test_tool[tool_missing]"], 3)
    decided_by_records(pytester, 3, "second run")
    tool = bin_dir / "fc-tool-not-here"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    ids, out = ids_fast(pytester, "-k", "tool", "--fast-collect-explain")
    assert ids == ["test_tool.py::test_tool[tool_there]"], out
    assert "a program collection started changed" in out and "fc-tool-not-here" in out, out
