"""Strange files next to ordinary ones: the selection stays pytest's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from differential import compare, reports_of, skipped, without_root_read_override


def test_binary_huge_non_utf8_and_symlink_loop(pytester: pytest.Pytester) -> None:
    root = pytester.path
    (root / "test_ok.py").write_text("def test_ok(): pass\ndef test_other(): pass\n")
    (root / "test_binary.py").write_bytes(bytes(range(256)) * 64)
    # 50 MB of comments around one test: over the parse limit, so always imported.
    with open(root / "test_huge.py", "w") as f:
        f.write("def test_huge(): pass\n")
        line = "# " + "x" * 98 + "\n"
        f.write(line * (50 * 1024 * 1024 // len(line)))
    (root / "test_latin1.py").write_bytes(b"# -*- coding: latin-1 -*-\nS = '\xe9'\ndef test_latin(): pass\n")
    (root / "loop").mkdir()
    os.symlink(root / "loop", root / "loop" / "again")
    (root / "loop" / "test_in_loop.py").write_text("def test_in_loop(): pass\n")
    first = compare(pytester, ["-k", "ok"])
    assert "test_huge.py" in first.modules  # over the parse limit: not decided statically
    assert "test_binary.py" in first.modules  # unparseable: pytest reports it
    # Decided statically and skipped: the latin-1 file and the loop's module
    # (its copies through the symlink, loop/again/..., are other paths).
    assert "test_latin1.py" not in first.modules and "loop/test_in_loop.py" not in first.modules
    assert skipped(first) == 2, first.report
    # Later runs may decide these modules from what the first run learned.
    for k in ("huge", "latin", "in_loop", "not ok", "nothing"):
        compare(pytester, ["-k", k])


class _ChangesFilesDuringCollection:
    """After the first module is collected (the plugin has already scanned
    every file), deletes one test file and replaces another with garbage.
    test_a.py or test_w.py comes first: neither is changed."""

    def __init__(self, root) -> None:
        self.root = root
        self.done = False

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not self.done and report.nodeid.endswith(".py"):
            self.done = True
            (self.root / "test_z.py").unlink()
            (self.root / "test_y.py").write_bytes(b"\x00\xff def (:\n")


@pytest.mark.parametrize("k", ["a", "a or y or z", "not a", "w"])
def test_files_deleted_or_broken_between_scan_and_collection(pytester: pytest.Pytester, k: str) -> None:
    from differential import _Recorder

    def run(*args: str) -> tuple:
        for name in ("a", "w", "y", "z"):
            (pytester.path / f"test_{name}.py").write_text(f"def test_{name}(): pass\n")
        rec = _Recorder()
        result = pytester.runpytest_inprocess("--collect-only", "-p", "no:randomly", "-k", k, *args,
                                              plugins=[rec, _ChangesFilesDuringCollection(pytester.path)])
        reprec = result.reprec  # type: ignore[attr-defined]
        failed = sorted(r.nodeid for r in reprec.getreports("pytest_collectreport") if r.failed)
        return rec.ids, failed, reports_of(result.outlines)[0]

    plain_ids, plain_errors, plain_reports = run("--no-fast-collect")
    assert plain_reports == []
    for _ in range(2):  # cold, then with an index that knew the files before they changed
        ids, errors, reports = run()
        assert ids == plain_ids
        # The plugin decided all four files before two of them changed.
        assert len(reports) == 1 and reports[0].total == 4, reports
        if k in ("a", "w"):
            assert reports[0].skipped > 0, reports  # only one file can hold a selected test
        # Files the plugin skipped cannot report errors; every error it shows, plain pytest shows.
        assert set(errors) <= set(plain_errors)
        if "y" in k:
            assert errors == plain_errors


_UNREADABLE_PLUGIN = '''
import json, os
import pytest

class _Watch:
    def __init__(self):
        self.done = False
        self.ids = []
        self.failed = []

    def pytest_collectreport(self, report):
        if report.failed:
            self.failed.append(report.nodeid)
        # After the first module (the plugin has scanned every file already).
        if not self.done and report.nodeid.endswith(".py") and os.environ.get("FC_CHMOD_LATE"):
            self.done = True
            os.chmod("test_y.py", 0)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        self.ids = [item.nodeid for item in session.items]

    def pytest_sessionfinish(self):
        with open(os.environ["FC_OUT"], "w") as f:
            json.dump({"ids": self.ids, "failed": sorted(self.failed)}, f)

def pytest_configure(config):
    config.pluginmanager.register(_Watch(), "fc_watch_recorder")
'''


def _pytest_subprocess(root, *args: str, **env: str) -> subprocess.CompletedProcess:
    """pytest in a new process where file modes hold, even for root."""
    cmd = without_root_read_override() + [sys.executable, "-m", "pytest", "-p", "no:randomly", *args]
    return subprocess.run(cmd, cwd=root, env=dict(os.environ, PYTEST_ADDOPTS="", **env), capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("late", [False, True], ids=["before-the-run", "between-scan-and-collection"])
@pytest.mark.parametrize("k", ["a", "a or y", "not a", "w"])
def test_unreadable_file(pytester: pytest.Pytester, k: str, late: bool) -> None:
    """A test file without read permission: made so before the run (the index
    knew it readable), or by a plugin after the scan, while pytest collects."""
    root = pytester.path
    (root / "fc_watch.py").write_text(_UNREADABLE_PLUGIN)
    out = root / "out.json"

    def run(*args: str) -> tuple:
        for name in ("a", "w", "y", "z"):
            path = root / f"test_{name}.py"
            if path.exists():
                path.chmod(0o644)
            path.write_text(f"def test_{name}(): pass\n")
        if not late:
            (root / "test_y.py").chmod(0)
        env = dict(FC_OUT=str(out), PYTHONPATH=str(root))
        if late:
            env["FC_CHMOD_LATE"] = "1"
        proc = _pytest_subprocess(root, "--collect-only", "-q", "-p", "fc_watch", "-k", k, *args, **env)
        assert proc.returncode in (0, 2, 5), proc.stdout + proc.stderr  # 2: interrupted by errors
        data = json.loads(out.read_text())
        return data["ids"], data["failed"], proc.stdout

    plain_ids, plain_errors, plain_out = run("--no-fast-collect")
    assert plain_errors == ["test_y.py"], plain_out  # the file really was unreadable
    assert "PermissionError" in plain_out or "Permission denied" in plain_out
    for _ in range(2):  # cold, then with an index that knew test_y.py readable
        ids, errors, text = run()
        assert ids == plain_ids, text
        # Files the plugin skipped cannot report errors; every error it shows, plain pytest shows.
        assert set(errors) <= set(plain_errors), text
        if "y" in k:
            assert errors == plain_errors, text
        assert "INTERNALERROR" not in text
        # The plugin was active and decided all four files (unreadable or not).
        reports = reports_of(text.splitlines())[0]
        assert len(reports) == 1 and reports[0].total == 4, text
        if k in ("a", "w"):
            assert reports[0].skipped > 0, text  # only one file can hold a selected test


def test_read_only_cache_dir_with_modes_enforced(pytester: pytest.Pytester) -> None:
    """`cache_dir` inside a directory nobody may write to (enforced even for
    root): one line says so, the selection is plain pytest's."""
    root = pytester.path
    for name in ("alpha", "beta", "gamma"):
        (root / f"test_{name}.py").write_text(f"def test_{name}(): pass\n")
    readonly = root / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)

    def run(*args: str) -> subprocess.CompletedProcess:
        return _pytest_subprocess(root, "-q", "-o", f"cache_dir={readonly}/cache", "-k", "alpha or gamma", *args)

    try:
        plain, fast = run("--no-fast-collect"), run()
    finally:
        readonly.chmod(0o700)
    assert plain.returncode == fast.returncode == 0, fast.stdout + fast.stderr
    assert "2 passed" in plain.stdout and "2 passed" in fast.stdout, fast.stdout
    assert "fastcollect: imported 2 of 3 test files, skipped 1;" in fast.stdout, fast.stdout  # static reading alone
    assert fast.stdout.count("cache directory not usable") == 1, fast.stdout
    assert "running without an index" in fast.stdout
    assert not (readonly / "cache").exists()  # nothing was written after all
