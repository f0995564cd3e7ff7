"""Learning takes when collection makes its own outputs, and relearns when a
real input changes.

A learned record is keyed by what collection read. Files and environment
variables that collection itself creates (a scratch file under mkdtemp(), a
cache it writes when missing, a variable it sets with setdefault) are
outputs of the run: keying on them would make every record stale at once.
Files the user edits and variables exported before the run are inputs: a
change must be seen. Subprocess runs throughout: an in-process run does not
restore os.environ, and the atexit clean-up must really happen.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from typing import List, Optional, Sequence

import pytest

from plugins_dir import PLUGINS_DIR
from test_hook_inputs import Report, ids_fast, ids_plain, report_of, write

BASE = {
    "test_alpha.py": """
        def test_alpha(): pass
    """,
    "test_beta.py": """
        def test_beta(): pass
    """,
}
ALPHA = ["test_alpha.py::test_alpha"]
BETA = ["test_beta.py::test_beta"]


def exact(pytester: pytest.Pytester, args: Sequence[str], expect: List[str], total: int, label: str,
          plain: Optional[List[str]] = None) -> Report:
    """Plain and plugin select the same ids (plain's answer may be given when
    an earlier plain run of the same command and state produced it)."""
    if plain is None:
        plain, out = ids_plain(pytester, *args)
        assert plain == expect, f"plain pytest {list(args)} selected {plain}, the case expects {expect}\n{out}"
    ids, out = ids_fast(pytester, *args)
    missed = [i for i in plain if i not in ids]
    extra = [i for i in ids if i not in plain]
    assert not missed and not extra, f"{label} {list(args)}: missed={missed} extra={extra}\n{out}"
    assert ids == plain, f"{label} {list(args)}: order differs"
    rep = report_of(out)
    assert rep.total == total, f"{label}: the plugin saw {rep.total} test files, the project has {total}\n{out}"
    assert rep.imported + rep.skipped == rep.total, out
    return rep


def assert_learning_took(rep: Report, selected: List[str], label: str) -> None:
    """Every module held by a learned record was decided by it: exactly the
    files that hold selected items were imported, the rest skipped."""
    files = {i.split("::", 1)[0] for i in selected}
    assert rep.learned > 0, f"{label}: nothing decided by learned items: {rep}"
    assert rep.skipped > 0, f"{label}: nothing skipped: {rep}"
    assert rep.imported == len(files), (
        f"{label}: imported {rep.imported} test files, only {sorted(files)} hold selected items: {rep}"
    )


def decided_by_records(pytester: pytest.Pytester, total: int, label: str,
                       plain: Optional[List[str]] = None) -> Report:
    """`-k alpha` after learning: exact, and decided by the records (only
    test_alpha.py imported)."""
    rep = exact(pytester, ["-k", "alpha"], ALPHA, total, label, plain=plain)
    assert_learning_took(rep, ALPHA, label)
    return rep


def learn(pytester: pytest.Pytester, args: Sequence[str], expect: List[str], total: int) -> Report:
    """The first filtered run after --cache-clear (it learns); the plugin runs
    first, so collection's outputs are created by the learning run itself."""
    ids, out = ids_fast(pytester, "--cache-clear", *args)
    rep = report_of(out)
    assert rep.learned == 0 and rep.total == total, out
    plain, pout = ids_plain(pytester, *args)
    assert plain == expect, f"plain pytest {list(args)} selected {plain}, the case expects {expect}\n{pout}"
    assert ids == plain, f"learning run {list(args)}: plain={plain} fast={ids}\n{out}"
    return rep


def test_scratch_file_under_mkdtemp(pytester: pytest.Pytester) -> None:
    """A helper writes a file into a fresh mkdtemp() directory, reads it back,
    and removes the directory at exit: the file is gone (and named
    differently) next run, and was never an input."""
    write(pytester.path, {**BASE, "scratch.py": """
        import atexit
        import os
        import shutil
        import tempfile

        _dir = tempfile.mkdtemp(prefix="fc-scratch-")
        atexit.register(shutil.rmtree, _dir, True)
        _path = os.path.join(_dir, "cases.txt")
        with open(_path, "w") as f:
            f.write("t_one,t_two")
        with open(_path) as f:
            CASES = f.read().split(",")
    """, "test_scratch.py": """
        import pytest
        import scratch

        @pytest.mark.parametrize("c", scratch.CASES)
        def test_scratch(c): pass
    """})
    learn(pytester, ["-k", "t_two"], ["test_scratch.py::test_scratch[t_two]"], 3)
    decided_by_records(pytester, 3, "second run")
    rep = exact(pytester, ["-k", "beta"], BETA, 3, "third run")
    assert_learning_took(rep, BETA, "third run")


def test_cache_written_into_the_project_when_missing(pytester: pytest.Pytester) -> None:
    """A helper writes .mycache/data.json when it is missing, then reads it."""
    write(pytester.path, {**BASE, "mycache.py": """
        import json
        import os

        _dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".mycache")
        _path = os.path.join(_dir, "data.json")
        if not os.path.exists(_path):
            os.makedirs(_dir, exist_ok=True)
            with open(_path, "w") as f:
                json.dump(["c_one", "c_two"], f)
        with open(_path) as f:
            CASES = json.load(f)
    """, "test_cached.py": """
        import pytest
        import mycache

        @pytest.mark.parametrize("c", mycache.CASES)
        def test_cached(c): pass
    """})
    assert not (pytester.path / ".mycache").exists()
    learn(pytester, ["-k", "c_two"], ["test_cached.py::test_cached[c_two]"], 3)
    assert (pytester.path / ".mycache" / "data.json").exists()
    decided_by_records(pytester, 3, "second run")
    rep = exact(pytester, ["-k", "beta"], BETA, 3, "third run")
    assert_learning_took(rep, BETA, "third run")


def test_data_file_read_at_import_changes(pytester: pytest.Pytester) -> None:
    write(pytester.path, {**BASE, "cases.json": json.dumps(["d_one", "d_two"]), "test_data.py": """
        import json
        import os
        import pytest

        with open(os.path.join(os.path.dirname(__file__), "cases.json")) as f:
            CASES = json.load(f)

        @pytest.mark.parametrize("c", CASES)
        def test_data(c): pass
    """})
    learn(pytester, ["-k", "d_two"], ["test_data.py::test_data[d_two]"], 3)
    plain_alpha, _ = ids_plain(pytester, "-k", "alpha")
    decided_by_records(pytester, 3, "second run", plain=plain_alpha)
    (pytester.path / "cases.json").write_text(json.dumps(["d_one", "d_three", "d_four"]))
    exact(pytester, ["-k", "d_three or d_four"], ["test_data.py::test_data[d_three]", "test_data.py::test_data[d_four]"],
          3, "after the edit")
    decided_by_records(pytester, 3, "relearned", plain=plain_alpha)


def test_cache_read_then_rewritten_and_edited_by_the_user(pytester: pytest.Pytester) -> None:
    """The module reads cache.json, then rewrites it with the same content
    (every run): it stays an input, and a user's edit is seen."""
    content = json.dumps(["w_one", "w_two"])
    write(pytester.path, {**BASE, "cache.json": content, "test_rewrite.py": """
        import json
        import os
        import pytest

        _path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cache.json")
        with open(_path) as f:
            CASES = json.load(f)
        with open(_path, "w") as f:
            json.dump(CASES, f)

        @pytest.mark.parametrize("c", CASES)
        def test_rewrite(c): pass
    """})
    learn(pytester, ["-k", "w_two"], ["test_rewrite.py::test_rewrite[w_two]"], 3)
    assert (pytester.path / "cache.json").read_text() == content  # rewritten, same content
    plain_alpha, _ = ids_plain(pytester, "-k", "alpha")
    decided_by_records(pytester, 3, "second run", plain=plain_alpha)
    (pytester.path / "cache.json").write_text(json.dumps(["w_one", "w_three"]))
    exact(pytester, ["-k", "w_three"], ["test_rewrite.py::test_rewrite[w_three]"], 3, "after the user's edit")
    decided_by_records(pytester, 3, "relearned", plain=plain_alpha)


def test_variable_set_by_setdefault_during_collection(pytester: pytest.Pytester,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper sets FC_SETDEFAULT with os.environ.setdefault; the test module
    reads it back. It is unset before every run: an output, not an input. A
    module collected later reads it too: test_sd.py, whose collection sets it,
    is recorded with that effect (env_effects.py) and skipped, the effect
    applied in its turn (before the next module starts, or as the walk
    ends)."""
    monkeypatch.delenv("FC_SETDEFAULT", raising=False)
    write(pytester.path, {**BASE, "envsetup.py": """
        import os

        os.environ.setdefault("FC_SETDEFAULT", "1")
    """, "test_sd.py": """
        import os
        import pytest
        import envsetup

        @pytest.mark.parametrize("v", ["s_" + os.environ["FC_SETDEFAULT"]])
        def test_sd(v): pass
    """, "test_zread.py": """
        import os
        import pytest

        @pytest.mark.parametrize("v", ["z_" + os.environ.get("FC_SETDEFAULT", "unset")])
        def test_zread(v): pass
    """})
    learn(pytester, ["-k", "s_1"], ["test_sd.py::test_sd[s_1]"], 4)
    for args, expect, label in ((["-k", "alpha"], ALPHA, "second run"), (["-k", "beta"], BETA, "third run"),
                                (["-k", "z_1"], ["test_zread.py::test_zread[z_1]"], "fourth run")):
        rep = exact(pytester, args, expect, 4, label)
        files = {i.split("::", 1)[0] for i in expect}
        assert rep.learned > 0 and rep.skipped > 0 and rep.imported == len(files), (label, rep)


def test_variable_exported_after_learning(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """FC_NEWVAR was unset while learning; exporting it changes the items."""
    monkeypatch.delenv("FC_NEWVAR", raising=False)
    write(pytester.path, {**BASE, "test_nv.py": """
        import os
        import pytest

        @pytest.mark.parametrize("v", os.environ.get("FC_NEWVAR", "nv_a").split(","))
        def test_nv(v): pass
    """})
    learn(pytester, ["-k", "nv_a"], ["test_nv.py::test_nv[nv_a]"], 3)
    plain_alpha, _ = ids_plain(pytester, "-k", "alpha")
    decided_by_records(pytester, 3, "second run", plain=plain_alpha)
    monkeypatch.setenv("FC_NEWVAR", "nv_a,nv_b")
    exact(pytester, ["-k", "nv_b"], ["test_nv.py::test_nv[nv_b]"], 3, "after the export")
    decided_by_records(pytester, 3, "relearned", plain=plain_alpha)


def test_whole_environment_read_by_iteration(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module that reads the whole environment (dict(os.environ), as
    platform.architecture() does; os.environ.items(), as dask's config does)
    depends on every variable but the shell's own bookkeeping: learning takes
    across shells (OLDPWD, SHLVL), a new project variable relearns."""
    monkeypatch.delenv("FC_ITER_EXTRA", raising=False)
    write(pytester.path, {**BASE, "test_it.py": """
        import os
        import pytest

        SNAP = dict(os.environ)
        FC = sorted(k.lower() for k, v in os.environ.items() if k.startswith("FC_ITER"))

        @pytest.mark.parametrize("name", FC or ["none"])
        def test_it(name): pass
    """})
    monkeypatch.setenv("OLDPWD", "/one")
    monkeypatch.setenv("SHLVL", "1")
    learn(pytester, ["-k", "none"], ["test_it.py::test_it[none]"], 3)
    monkeypatch.setenv("OLDPWD", "/two")
    monkeypatch.setenv("SHLVL", "2")
    decided_by_records(pytester, 3, "another shell")
    monkeypatch.setenv("FC_ITER_EXTRA", "1")
    exact(pytester, ["-k", "fc_iter_extra"], ["test_it.py::test_it[fc_iter_extra]"], 3, "a project variable")
    rep = exact(pytester, ["-k", "beta"], BETA, 3, "relearned")
    assert_learning_took(rep, BETA, "relearned")


def test_names_of_the_environment_read_by_iteration(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module iterates the environment's names and looks up only those
    with its prefix (fsspec's config does, after copying the whole
    environment, which reads every value). A changed value of a variable it
    never looked up (PATH under perf, an activated venv) keeps the record;
    a variable added, or a changed value it looked up, relearns."""
    monkeypatch.delenv("FC_NAMES_NEW", raising=False)
    monkeypatch.setenv("FC_NAMES_OTHER", "one")
    monkeypatch.setenv("FCCONF_MODE", "m1")
    write(pytester.path, {**BASE, "test_conf.py": """
        import os
        import pytest

        CONF = {}
        for key in os.environ:
            if key.startswith("FCCONF_"):
                CONF[key[7:].lower()] = os.environ[key]

        @pytest.mark.parametrize("v", sorted(CONF.values()) or ["none"])
        def test_conf(v): pass
    """})
    learn(pytester, ["-k", "m1"], ["test_conf.py::test_conf[m1]"], 3)
    monkeypatch.setenv("FC_NAMES_OTHER", "two")
    decided_by_records(pytester, 3, "another value, never looked up")
    monkeypatch.setenv("FCCONF_MODE", "m2")
    exact(pytester, ["-k", "m2"], ["test_conf.py::test_conf[m2]"], 3, "a value looked up while iterating")
    rep = exact(pytester, ["-k", "beta"], BETA, 3, "relearned after the value")
    assert_learning_took(rep, BETA, "relearned after the value")
    monkeypatch.setenv("FC_NAMES_NEW", "1")
    rep = exact(pytester, ["-k", "alpha"], ALPHA, 3, "a new name")
    assert rep.learned == 0, f"a variable added: the names were read, the record must not decide: {rep}"
    monkeypatch.setenv("FCCONF_EXTRA", "m3")
    exact(pytester, ["-k", "m3"], ["test_conf.py::test_conf[m3]"], 3, "a new name with the prefix")


# fsspec's config iterates the environment at import and keeps the FSSPEC*
# names (pandas' and statsmodels' collection import it): 2025.9.0 loops over
# os.environ, 2026.9.0 copies it first (dict(envdict): keys(), len(), then
# every value). Installed by `make build/test-plugins/.ready`, one directory each.
FSSPEC_CASES = [
    pytest.param("2025.9.0", False, id="loop"),
    pytest.param("2026.9.0", False, id="copy", marks=pytest.mark.skipif(
        sys.version_info < (3, 10), reason="fsspec 2026.9.0 needs Python 3.10")),
    pytest.param("2025.9.0", True, id="another-text"),
]


@pytest.mark.parametrize(("release", "edited"), FSSPEC_CASES)
def test_a_known_reader_of_the_environment_keeps_its_prefix(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, release: str, edited: bool) -> None:
    """Where a known library function (env_readers.py) iterates the
    environment, the names with its prefix are the input: a variable added
    elsewhere keeps the records, one with the prefix relearns. The same
    function with another text (its docstring edited here) reads every name."""
    for name in ("FC_UNRELATED", "FSSPEC_MEMORY"):
        monkeypatch.delenv(name, raising=False)
    source = PLUGINS_DIR / f"fsspec-{release}"
    assert (source / "fsspec" / "config.py").is_file(), f"run `make {PLUGINS_DIR.parent.name}/test-plugins/.ready`"
    lib = pytester.path / "lib"
    shutil.copytree(source / "fsspec", lib / "fsspec")
    if edited:
        config = lib / "fsspec" / "config.py"
        text = config.read_text()
        assert text.count('"""Set config values from environment variables') == 1
        config.write_text(text.replace('"""Set config values from environment variables',
                                       '"""Set the config values from environment variables'))
    pytester.syspathinsert(lib)
    write(pytester.path, {**BASE, "test_fs.py": """
        import fsspec.config
        import pytest

        @pytest.mark.parametrize("proto", sorted(fsspec.config.conf) or ["none"])
        def test_fs(proto): pass
    """})
    learn(pytester, ["-k", "none"], ["test_fs.py::test_fs[none]"], 3)
    monkeypatch.setenv("FC_UNRELATED", "1")
    rep = exact(pytester, ["-k", "alpha"], ALPHA, 3, "a variable without the prefix")
    if edited:
        assert rep.learned == 0, f"another text of the function: every name is an input: {rep}"
        return
    assert_learning_took(rep, ALPHA, "a variable without the prefix")
    monkeypatch.setenv("FSSPEC_MEMORY", '{"root": "/m"}')
    rep = exact(pytester, ["-k", "memory"], ["test_fs.py::test_fs[memory]"], 3, "a variable with the prefix")
    assert rep.learned == 0, f"a name with the reader's prefix added: the record must not decide: {rep}"
    rep = exact(pytester, ["-k", "beta"], BETA, 3, "relearned")
    assert_learning_took(rep, BETA, "relearned")


def test_a_lookup_right_after_a_known_readers_loop_is_an_input(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """After fsspec's loop over the environment, the first name it iterated
    looked up by other code (as a copy would look it up next) is an input
    like any lookup, not a name the reader's prefix leaves out."""
    from pytest_fastcollect.inputs import SHELL_VARIABLES

    while next(iter(os.environ)) in SHELL_VARIABLES:  # a shell variable is left out of iterations anyway
        monkeypatch.delenv(next(iter(os.environ)))
    first = next(iter(os.environ))
    monkeypatch.setenv(first, "one")  # keeps its place in the order
    shutil.copytree(PLUGINS_DIR / "fsspec-2025.9.0" / "fsspec", pytester.path / "lib" / "fsspec")
    write(pytester.path, {**BASE, "test_after.py": f"""
        import importlib.util
        import os
        import pytest

        # fsspec's config module alone: nothing looks the environment up
        # between its loop and the lookup below.
        path = os.path.join(os.path.dirname(__file__), "lib", "fsspec", "config.py")
        spec = importlib.util.spec_from_file_location("fs_config", path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        VALUE = os.environ.get({first!r}, "unset")

        @pytest.mark.parametrize("v", ["v_" + VALUE])
        def test_after(v): pass
    """})
    learn(pytester, ["-k", "one"], ["test_after.py::test_after[v_one]"], 3)
    decided_by_records(pytester, 3, "nothing changed")
    monkeypatch.setenv(first, "two")
    rep = exact(pytester, ["-k", "two"], ["test_after.py::test_after[v_two]"], 3, "the value looked up changed")
    assert rep.learned == 0, f"the value looked up changed: the record must not decide: {rep}"


def test_a_shell_variable_looked_up_by_other_code_during_an_iteration(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell's own variables are left out of what an iteration reads
    along; a helper called inside the loop that looks one up by name is not
    the iteration: that value is an input."""
    monkeypatch.setenv("FC_LOOPVAR_A", "1")
    monkeypatch.setenv("SHLVL", "1")
    write(pytester.path, {**BASE, "test_loop.py": """
        import os
        import pytest

        def level(name):
            return os.environ.get("SHLVL", "none")

        LEVELS = [level(k) for k in os.environ if k.startswith("FC_LOOPVAR")]

        @pytest.mark.parametrize("v", ["s_" + v for v in LEVELS])
        def test_loop(v): pass
    """})
    learn(pytester, ["-k", "s_1"], ["test_loop.py::test_loop[s_1]"], 3)
    decided_by_records(pytester, 3, "nothing changed")
    monkeypatch.setenv("SHLVL", "2")
    rep = exact(pytester, ["-k", "s_2"], ["test_loop.py::test_loop[s_2]"], 3, "the looked-up value changed")
    assert rep.learned == 0, f"the value looked up changed: the record must not decide: {rep}"


def test_a_listed_copy_of_the_environment_leaves_the_shell_out(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Code that lists the names and then looks each up (`list(os.environ)`,
    a loop over it) reads them along its iteration, the shell's own
    variables left out as in dict(os.environ): another shell keeps the
    record, a project variable added relearns."""
    monkeypatch.delenv("FC_LISTED_NEW", raising=False)
    monkeypatch.setenv("OLDPWD", "/one")
    write(pytester.path, {**BASE, "test_listed.py": """
        import os
        import pytest

        VALUES = {}
        for key in list(os.environ):
            VALUES[key] = os.environ[key]

        @pytest.mark.parametrize("v", [k.lower() for k in sorted(VALUES) if k.startswith("FC_LISTED")] or ["none"])
        def test_listed(v): pass
    """})
    learn(pytester, ["-k", "none"], ["test_listed.py::test_listed[none]"], 3)
    monkeypatch.setenv("OLDPWD", "/two")
    decided_by_records(pytester, 3, "another shell")
    monkeypatch.setenv("FC_LISTED_NEW", "1")
    rep = exact(pytester, ["-k", "fc_listed_new"], ["test_listed.py::test_listed[fc_listed_new]"], 3, "a new name")
    assert rep.learned == 0, f"a variable added: the names were read, the record must not decide: {rep}"


def test_explain_names_the_change_that_matters_here(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs alternate between two shells (a variable set in one), so two
    generations are kept. After an edit, the explain line names the edited
    file, which is why this shell's generation fails, not the variable that
    the other shell's newer generation was learned with."""
    monkeypatch.delenv("FC_OTHER_SHELL", raising=False)
    write(pytester.path, {**BASE, "helper.py": """
        CASES = ["c1", "c2"]
    """, "test_cases.py": """
        import os
        import pytest
        from helper import CASES

        NAMES = [k for k in os.environ if k.startswith("FC_CASE_")]

        @pytest.mark.parametrize("c", CASES + NAMES)
        def test_case(c): pass
    """})
    pytester.syspathinsert()
    learn(pytester, ["-k", "c1"], ["test_cases.py::test_case[c1]"], 3)
    monkeypatch.setenv("FC_OTHER_SHELL", "1")
    exact(pytester, ["-k", "c2"], ["test_cases.py::test_case[c2]"], 3, "the other shell learns")
    decided_by_records(pytester, 3, "the other shell, warm")
    monkeypatch.delenv("FC_OTHER_SHELL")
    write(pytester.path, {"helper.py": """
        CASES = ["c1", "c2", "c3"]
    """})
    plain, _ = ids_plain(pytester, "-k", "c3")
    assert plain == ["test_cases.py::test_case[c3]"]
    ids, out = ids_fast(pytester, "-k", "c3", "--fast-collect-explain")
    assert ids == plain, out
    assert re.search(r"^learned items not used: dependency \S*helper\.py", out, re.M), out


def test_len_and_str_of_the_environment_are_reads(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """len(os.environ) reads how many names there are, str(os.environ) every
    name and value (neither through __iter__ nor __getitem__): a variable
    added changes the items, so the record must not decide."""
    monkeypatch.delenv("FC_LEN_NEW", raising=False)
    write(pytester.path, {**BASE, "test_len.py": """
        import os

        exec(f"def test_vars_{len(os.environ)}(): pass")
    """, "test_text.py": """
        import os

        TEXT = str(os.environ)
        exec(f"def test_text_{'FC_LEN_NEW' in TEXT}(): pass")
    """})
    ids, out = ids_fast(pytester, "--cache-clear", "-k", "vars")
    assert len(ids) == 1 and ids[0].startswith("test_len.py::test_vars_"), out
    before = ids[0]
    decided_by_records(pytester, 4, "second run")
    monkeypatch.setenv("FC_LEN_NEW", "1")
    exact(pytester, ["-k", "text_True"], ["test_text.py::test_text_True"], 4, "a variable added, read as text")
    plain, _ = ids_plain(pytester, "-k", "vars")
    assert len(plain) == 1 and plain != [before], "the new variable should change the test's name"
    exact(pytester, ["-k", plain[0].split("::")[1]], plain, 4, "a variable added")


def test_kernel_views_are_not_inputs(pytester: pytest.Pytester) -> None:
    """/proc/self/maps differs in every process (threadpoolctl reads it under
    scikit-learn's pytest_configure): reading it must not make learning stale."""
    write(pytester.path, {**BASE, "conftest.py": """
        def pytest_configure(config):
            with open("/proc/self/maps") as f:
                f.read()
    """, "test_maps.py": """
        with open("/proc/self/stat") as f:
            STAT = f.read()

        def test_maps(): pass
    """})
    learn(pytester, ["-k", "maps"], ["test_maps.py::test_maps"], 3)
    decided_by_records(pytester, 3, "second run")


def test_modules_sharing_a_generator_are_collected_together(pytester: pytest.Pytester) -> None:
    """Found on SciPy: optimize/tests/test_linear_assignment.py imports the
    `itertools.product` of sparse/csgraph/tests/test_matching.py and both
    parametrize with it; whichever is collected first consumes it, so the
    other gets an empty parameter set. Skipping the first (its items cannot
    match) would give the second ten items plain pytest does not have."""
    write(pytester.path, {
        "conftest.py": """
            import os, sys
            sys.path.insert(0, os.path.join(os.path.dirname(__file__), "z_sparse"))
        """,
        "a_opt/test_assign.py": """
            import pytest
            from test_match import CASES

            @pytest.mark.parametrize("case", CASES)
            def test_assign(case): pass
        """,
        "z_sparse/test_match.py": """
            from itertools import product
            import pytest

            CASES = product(["m1", "m2"], ["v"])

            @pytest.mark.parametrize("case", CASES)
            def test_match(case): pass

            def test_other(): pass
        """,
        "z_sparse/test_plain.py": """
            def test_plain(): pass
        """,
    })
    plain, _ = ids_plain(pytester, "-k", "not a_opt")
    assert "z_sparse/test_match.py::test_match[NOTSET]" in plain  # the premise: test_assign consumed it
    # The learning run imports both (static reading alone would skip
    # test_assign.py for `-k "not a_opt"`: a documented limit, the pattern is
    # deprecated by pytest).
    everything, _ = ids_plain(pytester, "-k", "assign or match or plain or other")
    learn(pytester, ["-k", "assign or match or plain or other"], everything, 3)
    for args in (["-k", "not a_opt"], ["-k", "test_match or test_plain"], ["-k", "plain"], ["-k", "m1"]):
        expect, _ = ids_plain(pytester, *args)
        rep = exact(pytester, args, expect, 3, "after learning", plain=expect)
        assert rep.learned > 0 or rep.skipped > 0, rep
    # Nothing in either module can match: the pair is skipped together.
    rep = exact(pytester, ["-k", "plain"], ["z_sparse/test_plain.py::test_plain"], 3, "pair skipped")
    assert rep.skipped == 2, rep


def test_options_pickled_or_copied_during_collection(pytester: pytest.Pytester) -> None:
    """While collection is recorded, the options namespace's class is the
    recorder's (reads noted). A conftest that pickles or deep-copies
    `config.option` before deselection (a plugin handing options to another
    process) gets a plain namespace; with the recorder's class as it was,
    pickling it was an INTERNALERROR."""
    write(pytester.path, {**BASE, "conftest.py": """
        import copy
        import pickle

        def pytest_collection_modifyitems(config, items):
            for clone in (pickle.loads(pickle.dumps(config.option)), copy.deepcopy(config.option)):
                assert type(clone).__name__ == "Namespace" and clone.keyword == config.option.keyword
    """})
    for expr in ("beta", "alpha"):  # a learning run, then a run on its records
        plain, _ = ids_plain(pytester, "-k", expr)
        fast, out = ids_fast(pytester, "-k", expr)
        assert plain and fast == plain, out


