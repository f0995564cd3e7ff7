#!/usr/bin/env bash
# Smoke test of one built wheel: a fresh venv of the given Python, the wheel
# installed into it (its dependencies from the package index), the extension
# checked with ldd, and `pytest -k` on a two-file project, where the plugin
# must skip the file that cannot match and say so in its report line.
#
#   tools/smoke_wheel.sh PYTHON WHEEL WORKDIR
set -euo pipefail
py=$1 wheel=$2 work=$3

rm -rf "$work"
"$py" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
"$work/venv/bin/python" -m pip install -q "$wheel"

# The extension must need nothing of tree-sitter, LMDB or xxHash at run time.
# (From $work: in the repository, the source tree would shadow the install.)
so=$(cd "$work" && "$work/venv/bin/python" -c 'import pytest_fastcollect._core as m; print(m.__file__)')
deps=$(ldd "$so")
if grep -Eiq 'tree-sitter|lmdb|xxhash|not found' <<<"$deps"; then
  echo "FAIL $wheel: the extension needs external libraries:" >&2
  echo "$deps" >&2
  exit 1
fi

# Two test files; `-k alpha` can only match the first.
mkdir -p "$work/project"
printf 'def test_alpha():\n    assert True\n' >"$work/project/test_alpha.py"
printf 'def test_beta():\n    assert True\n' >"$work/project/test_beta.py"
out=$(cd "$work/project" && "$work/venv/bin/python" -m pytest -k alpha -p no:randomly 2>&1) || {
  echo "FAIL $wheel: pytest -k alpha failed:" >&2
  echo "$out" >&2
  exit 1
}
report=$(grep '^fastcollect:' <<<"$out" || true)
if ! grep -q '^fastcollect: imported 1 of 2 test files, skipped 1;' <<<"$report" \
   || ! grep -Eq '(^|[^0-9])1 passed' <<<"$out"; then
  echo "FAIL $wheel: expected one file imported, one skipped, one test passed:" >&2
  echo "$out" >&2
  exit 1
fi
version=$(cd "$work" && "$work/venv/bin/python" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')
echo "ok   $(basename "$wheel") on Python $version: $report"
