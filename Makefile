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
APT_PKGS := libtree-sitter-dev liblmdb-dev libxxhash-dev libgtest-dev pkg-config
SOURCES  := $(wildcard src/*.cpp src/*.h pytest_fastcollect/*.py) CMakeLists.txt pyproject.toml
JOBS     ?= 2

.PHONY: all demo test test-cpp facts-digest test-py test-pytest8 test-matrix test-real-slice bench verify-real docs docs-check asan deps install clean

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

$(BIN)/.ready: $(STAMPS)/deps
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "pytest>=9,<10" pytest-xdist cmake ninja "pybind11>=2.11" "scikit-build-core>=0.8"
	@touch $@

$(BIN8)/.ready: $(STAMPS)/deps
	$(PY) -m venv $(VENV8)
	$(BIN8)/python -m pip install -q --upgrade pip
	$(BIN8)/python -m pip install -q "pytest>=8,<9" pytest-xdist
	@touch $@

# One wheel, installed into both venvs (pytest 9 and pytest 8).
$(STAMPS)/wheel: $(BIN)/.ready $(SOURCES)
	rm -rf build/wheel
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pip wheel -q --no-build-isolation --no-deps -w build/wheel .
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

$(STAMPS)/wheel-matrix: $(STAMPS)/wheel $(VENVM)/.ready $(VENVM8)/.ready
	for v in $(VENVM) $(VENVM8); do \
	  $$v/bin/python -m pip install -q --force-reinstall --no-deps build/wheel/*.whl && \
	  $$v/bin/python -m pip install -q build/wheel/*.whl || exit 1; \
	done
	@touch $@

build/grammar/src/parser.c: $(BIN)/.ready
	tests/cpp/fetch_grammar.sh build/grammar $(BIN)/python

# C++ unit tests (GoogleTest through ctest).
test-cpp: $(BIN)/.ready build/grammar/src/parser.c
	$(BIN)/cmake -S . -B build/cpp -G Ninja -DCMAKE_MAKE_PROGRAM=$(CURDIR)/$(BIN)/ninja \
	  -DFASTCOLLECT_PYTHON=OFF -DFASTCOLLECT_TESTS=ON -DFASTCOLLECT_GRAMMAR_DIR=$(CURDIR)/build/grammar \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
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
$(TEST_PLUGINS)/.ready: $(BIN)/.ready
	rm -rf $(TEST_PLUGINS)
	$(BIN)/python -m pip install -q --no-deps --target $(TEST_PLUGINS) "pytest-repeat==0.9.4"
	@touch $@

# Python tests under pytest 9 (xdist spreads them over the cores).
test-py: install $(TEST_PLUGINS)/.ready
	$(BIN)/pytest tests --ignore=tests/matrix -n $(JOBS) -p no:randomly

# The same tests under pytest 8.
test-pytest8: $(STAMPS)/wheel8 $(TEST_PLUGINS)/.ready
	$(BIN8)/pytest tests --ignore=tests/matrix -n $(JOBS) -p no:randomly

test-matrix: $(STAMPS)/wheel-matrix
	$(VENVM)/bin/pytest tests/matrix -n $(JOBS) -p no:randomly
	$(VENVM8)/bin/pytest tests/matrix -n $(JOBS) -p no:randomly

# A small slice of verify-real: one installed suite, a few expressions.
test-real-slice: install
	$(BIN)/python -m pip install -q networkx
	$(BIN)/python benchmarks/real/verify_real.py networkx-slice --python $(BIN)/python --expressions 6 --plain-checks 1

test: docs-check test-cpp test-py test-pytest8 test-matrix test-real-slice

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

# Tables and plot in docs/benchmarks.md (about 30 minutes), then the index throughput.
bench: install $(STAMPS)/wheel-real build/venv-old/.ready
	$(BIN)/python -m pip install -q matplotlib
	$(BIN)/python benchmarks/bench.py
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

clean:
	rm -rf build $(VENV) $(VENV8)
