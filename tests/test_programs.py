"""Which programs collection starts are inputs (pytest_fastcollect/programs.py):
known read-only ones by their output, missing ones by their absence; any
other is none (recording stops: tests/test_learned_inputs.py)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from pytest_fastcollect import programs


def popen(argv: list, env: object = None, cwd: object = None) -> tuple:
    """A `subprocess.Popen` audit event's arguments: (executable, args, cwd, env)."""
    return (argv[0], argv, cwd, env)


def spec(name: str) -> list:
    assert name.startswith(programs.PREFIX), name
    return json.loads(name[len(programs.PREFIX):])


@pytest.mark.parametrize("argv", [["locale", "-a"], ["lscpu", "--parse=core"], ["uname", "-p"],
                                  ["gcc", "-print-multiarch"], ["git", "rev-parse", "HEAD"]])
def test_read_only_programs_are_inputs_by_their_output(argv: list, tmp_path: Path) -> None:
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed here")
    name = programs.input_name("subprocess.Popen", popen(argv, cwd=str(tmp_path)))
    where = str(tmp_path) if argv[0] == "git" else ""  # (only git's output depends on the directory)
    assert name is not None and spec(name) == [programs.RUN, where, argv, None]
    value = programs.output_value(name)
    assert value == programs.output_value(name) and ":" in value  # (exit status: digest of the output)


@pytest.mark.parametrize("argv", [[sys.executable, "-c", "print(1)"], ["ldconfig"], ["git", "config", "a.b", "c"],
                                  ["gcc", "-o", "x", "x.c"], ["file", "-C", "-m", "magic"]])
def test_other_programs_that_are_there_are_no_inputs(argv: list) -> None:
    if shutil.which(argv[0]) is None and not os.path.isfile(argv[0]):
        pytest.skip(f"{argv[0]} is not installed here")
    assert programs.input_name("subprocess.Popen", popen(argv)) is None


def test_a_missing_program_is_an_input_by_its_absence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    name = programs.input_name("subprocess.Popen", popen(["x13as", "spec.spc"]))
    assert name is not None and spec(name)[0] == programs.ABSENT and spec(name)[2] == ["x13as"]
    assert programs.output_value(name) == programs.ABSENT
    tool = tmp_path / "x13as"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    assert programs.output_value(name) == "present"  # (looked up, not run)


def test_an_environment_given_as_a_change_of_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """platform.architecture() runs `file -b` with dict(os.environ, LC_ALL="C");
    ctypes runs `ldconfig -p` with LC_ALL and LANG only; an environment that
    differs in many variables is not expressible (no input)."""
    if shutil.which("file") is None:
        pytest.skip("file is not installed here")
    monkeypatch.delenv("LC_ALL", raising=False)
    changed = programs.input_name("subprocess.Popen", popen(["file", "-b", sys.executable],
                                                            env=dict(os.environ, LC_ALL="C")))
    assert changed is not None and spec(changed)[3] == {"set": {"LC_ALL": "C"}, "unset": []}
    only = programs.input_name("subprocess.Popen", popen(["file", "-b", sys.executable],
                                                         env={"LC_ALL": "C", "LANG": "C"}))
    assert only is not None and spec(only)[3] == {"only": {"LANG": "C", "LC_ALL": "C"}}
    many = {f"FC_VAR_{n}": str(n) for n in range(programs.MAX_ENV + 1)}
    assert programs.input_name("subprocess.Popen", popen(["file", "-b", sys.executable],
                                                         env=dict(os.environ, **many))) is None


def test_programs_some_record_depends_on_are_listed_beside_the_index(tmp_path: Path) -> None:
    first = programs.PREFIX + json.dumps([programs.RUN, "/", ["uname"], None])
    programs.remember(str(tmp_path), [first, "env:PATH"])
    second = programs.PREFIX + json.dumps([programs.ABSENT, "/", ["x13as"], None])
    programs.remember(str(tmp_path), [second])
    assert programs.listed(str(tmp_path)) == sorted([first, second])
    (tmp_path / programs.FILE).write_text("{not json")
    assert programs.listed(str(tmp_path)) == []  # unreadable: no value, so no record depending on one decides


def test_subprocess_starting_a_read_only_program_by_posix_spawn(tmp_path: Path) -> None:
    """subprocess may start a program with os.posix_spawn (close_fds=False, no
    cwd): the second audit event names the program its Popen event named,
    and the input stands (the recorder, not only input_name)."""
    from pytest_fastcollect.inputs import Recorder

    if shutil.which("uname") is None:
        pytest.skip("uname is not installed here")
    rec = Recorder()
    path = shutil.which("uname")

    def audited(event: str, args: tuple) -> None:
        rec.on_program(event, args)  # (as the audit hook calls it: the caller, this test, is the starter)

    audited("subprocess.Popen", (path, [path, "-p"], None, None))
    audited("os.posix_spawn", (path, [path, "-p"], dict(os.environ)))
    assert rec.programs == [] and len(rec.program_inputs) == 1, (rec.programs, rec.program_inputs)
    audited("os.posix_spawn", (path, [path, "-a"], dict(os.environ)))  # no Popen event named it
    assert [p for _, p in rec.programs] == [f"{path} -a"]


def test_a_run_that_fails_or_is_no_read_only_program_never_matches(tmp_path: Path) -> None:
    """programs.json is a cache: a name that is not a read-only program is
    not run; a read-only one that cannot run gets a value nothing equals."""
    marker = tmp_path / "ran"
    foreign = programs.PREFIX + json.dumps([programs.RUN, "", [sys.executable, "-c",
                                                              f"open({str(marker)!r}, 'w')"], None])
    assert programs.output_value(foreign) != programs.output_value(foreign) and not marker.exists()
    gone = programs.PREFIX + json.dumps([programs.RUN, str(tmp_path / "gone"), ["git", "rev-parse"], None])
    assert programs.output_value(gone).startswith("failed:") and programs.output_value(gone) != programs.output_value(gone)


def test_a_program_started_under_another_name_or_from_a_project_path(tmp_path: Path) -> None:
    """`executable=` that is not argv[0], or a project's own `tools/git`: no
    read-only program, and there, so no input."""
    tool = tmp_path / "tools" / "git"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert programs.input_name("subprocess.Popen", (str(tool), [str(tool), "describe"], None, None)) is None
    uname = shutil.which("uname")
    if uname is not None:
        assert programs.input_name("subprocess.Popen", (str(tool), ["uname"], None, None)) is None


def test_installed_packages_below_the_standard_library_are_not_standard_library() -> None:
    """pyenv or a Docker image without a venv keep site-packages below os's
    directory: a plugin there that starts a program or lists a directory is
    not the standard library."""
    from pytest_fastcollect import inputs

    stdlib = os.path.dirname(os.path.abspath(os.__file__))
    assert inputs._stdlib(os.path.join(stdlib, "subprocess.py"))
    assert not inputs._stdlib(os.path.join(stdlib, "site-packages", "plugin", "hooks.py"))
