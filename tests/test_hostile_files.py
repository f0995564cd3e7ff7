"""Strange files next to ordinary ones: the selection stays pytest's."""

from __future__ import annotations

import os

import pytest

from differential import compare


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
        reprec = pytester.inline_run("--collect-only", "-p", "no:randomly", "-k", k, *args,
                                     plugins=[rec, _ChangesFilesDuringCollection(pytester.path)])
        failed = sorted(r.nodeid for r in reprec.getreports("pytest_collectreport") if r.failed)
        return rec.ids, failed

    plain_ids, plain_errors = run("--no-fast-collect")
    for _ in range(2):  # cold, then with an index that knew the files before they changed
        ids, errors = run()
        assert ids == plain_ids
        # Files the plugin skipped cannot report errors; every error it shows, plain pytest shows.
        assert set(errors) <= set(plain_errors)
        if "y" in k:
            assert errors == plain_errors
