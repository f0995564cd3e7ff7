#!/usr/bin/env bash
# Runs the Python tests against an extension built with ASan/UBSan.
# Usage: run_asan_python.sh PYTHON BUILD_DIR
set -euo pipefail
repo=$(pwd)
py=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
build=$(realpath "$2")
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
so=$(ls "$build"/_core*.so)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A private copy of the package with the sanitized extension next to it.
cp -r "$site/pytest_fastcollect" "$work/"
rm -f "$work"/pytest_fastcollect/_core*.so
cp "$so" "$work/pytest_fastcollect/"
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
# Leak checking is off: CPython itself keeps memory alive until exit.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYTHONPATH="$work"
# Run from outside the repository so its source tree does not shadow the copy.
cd "$work"
LD_PRELOAD="$asan $ubsan" "$py" -c "import pytest_fastcollect._core as c; print('sanitized core:', c.__file__)"
LD_PRELOAD="$asan $ubsan" "$py" -m pytest "$repo/tests" --ignore="$repo/tests/matrix" -p no:randomly -p no:xdist -p no:cacheprovider -q -x
