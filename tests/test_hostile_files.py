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
