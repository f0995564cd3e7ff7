"""Learning on several cores (pytest_fastcollect/learners.py): forked
workers collect chunks of the modules to learn, the main process merges
their records and decides on them. Every run compares the plugin's node IDs
with plain pytest's and asserts the plugin's report lines: how many modules
the workers learned, what failed, what was dropped."""

from __future__ import annotations

import os
import re
import time
from typing import Dict, List, Sequence, Tuple

import pytest

from test_hook_inputs import Report, _node_ids, _run, ids_plain, report_of, write

# The learning line (plugin.py's _learning_line).
LEARNED = re.compile(r"^fastcollect: learned (?P<written>\d+) test files on (?P<workers>\d+) workers in [\d.]+ s"
                     r"(?: \((?P<failed>\d+) workers failed, (?P<dropped>\d+) records dropped: imported here\))?$", re.M)
WORKERS = ("--fast-collect-workers", "2")


def module(n: int, sleep: float = 0.0) -> str:
    """A test module the static model cannot decide (parameters a helper
    computes), slow to import when `sleep` is given."""
    return f"""
        import time
        import pytest
        from helpers import values
        time.sleep({sleep})
        @pytest.mark.parametrize("x", values({n}), ids=str)
        def test_mod(x):
            assert x
    """


def project(count: int, sleep: float = 0.0) -> Dict[str, str]:
    files = {"helpers.py": """
        def values(n):
            return [f"v{n}x{i}" for i in range(3)]
    """}
    files.update({f"test_m{n:02d}.py": module(n, sleep) for n in range(count)})
    return files


def learned_line(out: str) -> Dict[str, int]:
    found = [m.groupdict() for m in LEARNED.finditer(out)]
    assert len(found) == 1, f"expected one learning line:\n{out}"
    return {k: int(v or 0) for k, v in found[0].items()}


def same(pytester: pytest.Pytester, args: Sequence[str], quiet: bool = True) -> str:
    """Plain pytest and the plugin select the same ids; the plugin's output.
    (The plugin runs first: a module that acts once acts in its run.)"""
    out = _run(pytester, list(args), quiet=quiet)
    plain, _ = ids_plain(pytester, *[a for a in args if a != "--cache-clear"])  # (the index stays)
    report_of(out)
    if quiet:
        ids = _node_ids(out)
        assert ids == plain, f"{list(args)}: plain {plain}, plugin {ids}\n{out}"
    else:
        assert f" / {len(plain)} selected" in out, f"{list(args)}: plain {plain}\n{out}"
    assert plain, "the case selects nothing: it proves nothing"
    return out


def test_workers_learn_and_the_next_run_decides_on_their_records(pytester: pytest.Pytester) -> None:
    write(pytester.path, project(12))
    out = same(pytester, ["--cache-clear", *WORKERS, "-k", "v3x1"])
    got = learned_line(out)
    assert got["workers"] == 2 and got["written"] == 12 and not got["failed"] and not got["dropped"], out
    rep = report_of(out)  # decided again on what the workers recorded
    assert (rep.learned, rep.imported, rep.skipped) == (12, 1, 11), out
    out = same(pytester, ["-k", "v7x2 or v9x0"])  # one process, on the workers' records
    rep = report_of(out)
    assert not LEARNED.search(out) and (rep.learned, rep.imported) == (12, 2), out


def test_no_worker_starts_with_little_to_learn(pytester: pytest.Pytester) -> None:
    write(pytester.path, project(12))
    same(pytester, ["--cache-clear", *WORKERS, "-k", "v3x1"])
    write(pytester.path, {"test_m05.py": module(50)})
    out = same(pytester, [*WORKERS, "-k", "v50x1"])  # one module to learn again
    rep = report_of(out)
    assert not LEARNED.search(out) and rep.learned == 11, out


def _passed_under_xdist(pytester: pytest.Pytester, *args: str) -> Tuple[List[str], str]:
    """The node IDs that passed under `-n 2`, and the output."""
    result = pytester.runpytest_subprocess("-n", "2", "-v", "-p", "no:randomly", *args)
    out = result.stdout.str()
    assert result.ret == 0, out
    return sorted(set(re.findall(r"PASSED (\S+::\S+)", out))), out


def test_under_xdist_no_learning_worker_starts(pytester: pytest.Pytester) -> None:
    """`-n 2` with workers asked for: xdist's workers each collect everything
    (the recording xdist worker learns); no learning worker is forked, by the
    controller or by an xdist worker, and the selection is plain pytest's,
    cold and then on what the xdist worker recorded."""
    pytest.importorskip("xdist")
    write(pytester.path, project(12))
    pytester.syspathinsert()
    # (No --cache-clear: under xdist every worker would clear the cache again.)
    for n, args in enumerate((["-k", "v3x1 or v8x0"], ["-k", "v5x2"])):
        plain, _ = _passed_under_xdist(pytester, "--no-fast-collect", *args)
        fast, out = _passed_under_xdist(pytester, *WORKERS, *args)
        assert plain and fast == plain, out
        assert not LEARNED.search(out) and "learning worker" not in out, out
        rep = report_of(out)
        assert (rep.learned, rep.imported) == ((0, 12) if n == 0 else (12, 1)), out


def test_a_registry_filled_in_one_worker_and_read_in_another(pytester: pytest.Pytester) -> None:
    """Modules that register cases into a project registry at import (a
    call, not a statement the static model reads) and modules that
    parametrize over it, alternating in collection order: wherever the
    workers' chunks fall, a reader's items include every earlier module's
    registration, as in one process."""
    files = {"lib.py": """
        REG = ["base"]
        def register(name):
            REG.append(name)
    """}
    for n in range(0, 12, 2):
        files[f"test_m{n:02d}.py"] = f"""
            import os, time
            import lib
            time.sleep(0.2 if os.path.exists("slow") else 0)
            lib.register("reg{n}")
            def test_writer_{n}():
                pass
        """
        files[f"test_m{n + 1:02d}.py"] = f"""
            import os, time
            import pytest
            from lib import REG
            time.sleep(0.2 if os.path.exists("slow") else 0)
            @pytest.mark.parametrize("x", list(REG), ids=str)
            def test_reader_{n + 1}(x):
                pass
        """
    files["slow"] = ""  # (while learning: the workers take chunks in turn)
    write(pytester.path, files)
    out = same(pytester, ["--cache-clear", *WORKERS, "-k", "reg4 and reader_11"])
    got = learned_line(out)
    assert got["workers"] == 2, out
    (pytester.path / "slow").unlink()
    for expr in ("reg4 and reader_11", "reg10 and reader_11", "base and reader_3"):
        out = same(pytester, ["-k", expr])
        assert not LEARNED.search(out), out


def once(n: int, action: str) -> str:
    """Module n, doing `action` the first time a process imports it (with
    the plugin running first, a learning worker)."""
    return module(n).replace("import time", f"""import os, time
        if not os.path.exists("acted"):
            open("acted", "w").close()
            {action}""")


def test_a_worker_that_dies_loses_only_its_chunk(pytester: pytest.Pytester) -> None:
    files = project(12)
    files["test_m04.py"] = once(4, "os._exit(3)")
    write(pytester.path, files)
    out = same(pytester, ["--cache-clear", *WORKERS, "-k", "v4x1 or v9x2"])
    got = learned_line(out)
    assert got["failed"] == 1 and 0 < got["written"] < 12, out
    out = same(pytester, ["-k", "v4x1 or v9x2"])
    assert report_of(out).imported == 2, out


def test_a_worker_that_hangs_is_stopped_after_the_timeout(pytester: pytest.Pytester) -> None:
    files = project(12)
    files["test_m04.py"] = once(4, "time.sleep(60)")
    files["pytest.ini"] = """
        [pytest]
        fast_collect_worker_timeout = 3
    """
    write(pytester.path, files)
    begin = time.monotonic()
    out = same(pytester, ["--cache-clear", *WORKERS, "-k", "v4x1 or v9x2"], quiet=False)
    assert time.monotonic() - begin < 40, "the hanging worker was waited for"
    got = learned_line(out)
    assert got["failed"] == 1, out
    assert "fastcollect: learning 12 of 12 test modules on 2 workers" in out, out
    same(pytester, ["-k", "v4x1 or v9x2"])


def test_workers_that_cannot_start(pytester: pytest.Pytester) -> None:
    files = project(12)
    files["conftest.py"] = """
        import os
        def _no_fork():
            raise OSError(11, "Resource temporarily unavailable")
        os.fork = _no_fork
    """
    write(pytester.path, files)
    out = same(pytester, ["--cache-clear", *WORKERS, "-k", "v4x1"])
    assert "fastcollect: no learning worker started" in out, out
    rep = report_of(out)
    assert rep.imported == 12 and rep.learned == 0, out
    out = same(pytester, ["-k", "v4x1"])  # learned here, in one process
    assert report_of(out).learned == 12, out


def test_a_module_changing_the_environment_keeps_the_order(pytester: pytest.Pytester) -> None:
    """A module that sets a variable at import (found at run time, not by the
    static model) and later modules that read it: records of modules another
    worker learned without that variable are not kept."""
    files = project(12, sleep=0.1)
    files["helpers.py"] += """
        def enable():
            import os
            os.environ["FC_LEARNERS_MODE"] = "on"
    """
    files["test_m02.py"] = """
        import time
        from helpers import enable
        time.sleep(0.1)
        enable()
        def test_setter():
            pass
    """
    files["test_m09.py"] = """
        import os, time
        import pytest
        time.sleep(0.1)
        @pytest.mark.parametrize("x", [os.environ.get("FC_LEARNERS_MODE", "off")], ids=str)
        def test_reader(x):
            pass
    """
    write(pytester.path, files)
    for expr in ("on", "off or v3x1"):
        out = same(pytester, ["--cache-clear", *WORKERS, "-k", expr])
        learned_line(out)
        out = same(pytester, ["-k", expr])
        assert not LEARNED.search(out), out


def test_chunks_follow_path_order_and_split_by_time(tmp_path: pytest.TempPathFactory) -> None:
    from pytest_fastcollect import learners

    paths = [str(tmp_path / f"test_{n:02d}.py") for n in range(40)]  # type: ignore[operator]
    for p in paths:
        with open(p, "w") as f:
            f.write("x = 1\n")
    seconds = {p: 0.1 for p in paths}
    seconds[paths[3]] = 4.0  # one slow module: about as long as all the others
    workers, chunks = learners.plan(list(reversed(paths)), 2, seconds)
    assert workers == 2 and 2 < len(chunks) <= 2 * learners.CHUNKS_PER_WORKER
    assert [p for chunk in chunks for p in chunk] == sorted(paths)
    times = [sum(seconds[p] for p in chunk) for chunk in chunks]
    assert max(times) <= seconds[paths[3]] + 0.1 * 2, times  # the slow one shares its chunk with little
    assert learners.plan(paths[:3], 2, seconds) == (0, [])  # too little to learn for two workers


def test_crossings_drop_holders_and_changers_in_other_workers() -> None:
    from pytest_fastcollect import crossings

    shares = [["a.py", "b.py"], ["c.py", "d.py"]]

    def rep(objects, holds, changed, changed_names=None, reads=None):  # type: ignore[no-untyped-def]
        return {"objects": objects, "holds": holds, "changed": changed,
                "changed_names": changed_names or {}, "reads": reads or {}}

    # a.py changed lib.REG, which c.py (another worker) holds: both dropped.
    reports = [rep([["lib.REG", "a.REG"]], {"a.py": [0], "b.py": []}, {0: ["a.py"]}),
               rep([["lib.REG", "c.REG"]], {"c.py": [0], "d.py": []}, {})]
    assert crossings.crossed(reports, shares) == {"a.py", "c.py"}
    # The same change where only a module of its own worker holds it: nothing crossed.
    reports[1]["holds"]["c.py"] = []
    assert crossings.crossed(reports, shares) == set()
    # A change no module of the worker's chunks made (a module every worker imports): nothing crossed.
    reports = [rep([["lib.REG"]], {"a.py": []}, {0: ["e.py"]}), rep([["lib.REG"]], {"c.py": [0]}, {})]
    assert crossings.crossed(reports, shares) == set()
    # A change the worker cannot put on one module: its whole share goes.
    reports[0]["changed"] = {0: [crossings.UNKNOWN]}
    assert crossings.crossed(reports, shares) == {"a.py", "b.py", "c.py"}
    # A module rebound by a module of one worker, read by a module of another.
    reports = [rep([], {"a.py": []}, {}, changed_names={"module:lib": ["b.py"]}),
               rep([], {"d.py": []}, {}, reads={"d.py": ["module:lib", "attr:x"]})]
    assert crossings.crossed(reports, shares) == {"b.py", "d.py"}


def test_a_read_only_program_run_in_the_workers_is_an_input(pytester: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The modules' parameters come from `locale -a` (as pandas' do), first
    run in the workers: the merged generation holds its output (the main
    process had none), the next run decides on it, and a new output relearns."""
    bin_dir = pytester.path / "bin"
    bin_dir.mkdir()
    data = pytester.path / "langs.txt"
    data.write_text("en\n")
    (bin_dir / "locale").write_text(f"#!/bin/sh\ncat '{data}'\n")
    (bin_dir / "locale").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    files = project(12)
    files["helpers.py"] = """
        import functools
        import subprocess

        @functools.lru_cache(maxsize=None)
        def langs():
            return subprocess.check_output(["locale", "-a"], text=True).split()

        def values(n):
            return [f"v{n}x{i}" for i in range(3)] + [f"v{n}{lang}" for lang in langs()]
    """
    write(pytester.path, files)
    out = same(pytester, ["--cache-clear", *WORKERS, "-k", "v3x1"])
    got = learned_line(out)
    assert got["workers"] == 2 and got["written"] == 12 and not got["failed"] and not got["dropped"], out
    out = same(pytester, ["-k", "v7en"])
    rep = report_of(out)
    assert not LEARNED.search(out) and (rep.learned, rep.imported) == (12, 1), out
    data.write_text("en\nde\n")
    out = same(pytester, ["-k", "v5de"])
    assert report_of(out).learned == 0, out
