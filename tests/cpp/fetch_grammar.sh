#!/usr/bin/env bash
# Fetches the tree-sitter-python grammar sources (for the C++ unit tests,
# which link the grammar directly) and the matching tree-sitter parser headers,
# both from PyPI sdists. Usage: fetch_grammar.sh OUTDIR PYTHON
set -euo pipefail
out=$1
py=${2:-python3}
grammar_version=0.23.6
headers_version=0.23.2
if [ -f "$out/src/parser.c" ] && [ -f "$out/include/tree_sitter/parser.h" ]; then exit 0; fi
rm -rf "$out" && mkdir -p "$out/dl" "$out/include/tree_sitter"
"$py" -m pip download -q --no-binary :all: --no-deps -d "$out/dl" \
  "tree-sitter-python==$grammar_version" "tree-sitter==$headers_version" 2>&1 | grep -v "^WARNING: Location" || true
tar xzf "$out"/dl/tree_sitter_python-$grammar_version.tar.gz -C "$out/dl"
tar xzf "$out"/dl/tree[-_]sitter-$headers_version.tar.gz -C "$out/dl"
mkdir -p "$out/src"
cp "$out"/dl/tree_sitter_python-$grammar_version/src/parser.c "$out"/dl/tree_sitter_python-$grammar_version/src/scanner.c "$out/src/"
hdr=$(echo "$out"/dl/tree[-_]sitter-$headers_version/tree_sitter/core/lib/src)
cp "$hdr"/parser.h "$hdr"/array.h "$hdr"/alloc.h "$hdr"/ts_assert.h "$out/include/tree_sitter/"
