#!/usr/bin/env bash
# Runs both fuzzers for the given seconds each (sequentially, one core).
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS_EXTRACT SECONDS_EXPR
set -euo pipefail
b=$1
mkdir -p "$b/corpus-extract" "$b/corpus-expr" "$b/artifacts"
here=$(cd "$(dirname "$0")" && pwd)
ASAN_OPTIONS=detect_leaks=1 "$b/fuzz_extract" -max_total_time="$2" -max_len=65536 -timeout=20 \
  -artifact_prefix="$b/artifacts/" -dict="$here/python.dict" "$b/corpus-extract" "$here/seeds/extract" 2>&1 | tail -n 5
ASAN_OPTIONS=detect_leaks=1 "$b/fuzz_expr" -max_total_time="$3" -max_len=4096 \
  -artifact_prefix="$b/artifacts/" "$b/corpus-expr" "$here/seeds/expr" 2>&1 | tail -n 5
