# osaccess developer commands. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install bytecode constraints sandbox sandbox-stop sandbox-status sandbox-reset demo lint format test test-matrix unit integration bench clean

install: $(STAMP)

# constraints.txt pins the versions the test suite last passed with, so that CI and a newcomer
# install exactly those (regenerate: make constraints).
# A clean install prints nothing: a build warning fails it, so that it is seen and fixed. uv (from
# PyPI, pinned) installs the same packages as pip, from the same index and constraints, in a
# quarter of the time (pip: 36 s, uv: 8 s, fresh venv). It compiles the byte code at install, as
# pip does (about 7 s): where PYTHONDONTWRITEBYTECODE is set, nothing is cached at first import,
# and every osaccess command then compiled some 400 modules again (0.45 s of CPU a command, about
# 100 s of the test suite's CPU).
UV_VERSION := 0.13.9
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -c constraints.txt -e '.[dev,sandbox]' \
		> $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; exit 1; }
	@cat $(VENV)/install.log
	@if grep -qi 'warning' $(VENV)/install.log; then \
		echo "make install: the build printed warnings (above); fix them" >&2; exit 1; fi
	touch $@

constraints: install
	$(PY) -m pip freeze --exclude-editable > constraints.txt

## The local sandbox: OpenSearch + security plugin (from Maven Central), IAM gateway, STS.
sandbox: install
	scripts/sandbox.sh start

sandbox-stop:
	scripts/sandbox.sh stop

sandbox-status:
	scripts/sandbox.sh status

sandbox-reset: install
	scripts/sandbox.sh reset

demo: sandbox
	scripts/demo.sh

lint: install
	$(VENV)/bin/ruff check osaccess sandbox tests benchmarks scripts
	$(VENV)/bin/ruff format --check osaccess sandbox tests benchmarks scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache  # the layers (pyproject.toml [tool.importlinter])

format: install
	$(VENV)/bin/ruff format osaccess sandbox tests benchmarks scripts
	$(VENV)/bin/ruff check --fix osaccess sandbox tests benchmarks scripts

# The project's own byte code (the packages' is compiled at install): the tests run osaccess as a
# command hundreds of times, and nothing is cached where PYTHONDONTWRITEBYTECODE is set.
bytecode: install
	$(PY) -m compileall -q osaccess sandbox tests benchmarks scripts

## Everything: lint, unit tests, and integration tests against the sandbox (started if needed;
## lint runs while it starts). Two parts: everything that may share the sandbox, in parallel
## workers (pytest-xdist), then the tests marked `serial` (whole-cluster reads, the shipped
## mappings, a node restart, exact counts) alone. Together they are every test. (Running the
## serial part at the same time on a second node was measured slower: the CPU is the limit.)
TEST_WORKERS ?= 4
# The tests' node compiles with C1 only: in a node that lives for minutes, C2 compilation was
# about 40 % of its CPU (20 of 52 s in the first minute) and the CPU is the limit (the shared
# part: 129 s -> 114 s). Benchmarks and `make demo` run the node with the default JIT; the
# sandbox restarts when asked for other JVM options.
TEST_JAVA_OPTS ?= -Xms512m -Xmx512m -XX:TieredStopAtLevel=1
test integration test-matrix: export OSACCESS_SANDBOX_JAVA_OPTS = $(TEST_JAVA_OPTS)
test: install
	$(MAKE) --no-print-directory -j2 --output-sync=target lint sandbox bytecode
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not serial"
	$(PY) -m pytest -m serial

## The integration tests against every OpenSearch of MATRIX_VERSIONS (sandbox/versions.env), in
## turn, each in a sandbox of its own (OSACCESS_SANDBOX_VERSION=... make sandbox starts one by hand).
test-matrix: install bytecode
	scripts/test-matrix.sh

unit: install bytecode
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not integration"

integration: sandbox bytecode
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal -m "integration and not serial"
	$(PY) -m pytest -m "integration and serial"

clean: sandbox-stop
	rm -rf .sandbox $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

## Benchmarks against the sandbox (plan/apply versus a per-role PUT loop); prints figures.
bench: sandbox
	$(PY) -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(PY) -m benchmarks.bench_reconcile
	$(PY) -m benchmarks.bench_iam
	$(PY) -m benchmarks.bench_parallel
	$(PY) -m benchmarks.bench_permissions
