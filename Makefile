# `make run` and `make test` set everything up themselves on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME_LOCK := requirements/runtime.txt
TEST_LOCK := requirements/test.txt
RUNTIME_INSTALLED := $(VENV)/.installed-runtime
TEST_INSTALLED := $(VENV)/.installed-test

.PHONY: install install-test lock vendor browser lab run test lint bench bench-smoke chaos clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The locked versions, each checked against its hash; then the project itself, resolving
# nothing more. `pip check` stops here when pyproject.toml names a dependency the lock lacks.
$(RUNTIME_INSTALLED): $(RUNTIME_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(RUNTIME_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

# What the tests, the linters and the benchmarks add, in the same .venv: `make run` after
# `make test` finds everything it needs there already.
$(TEST_INSTALLED): $(TEST_LOCK) $(RUNTIME_INSTALLED)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	touch $@

## The runtime dependencies only.
install: $(RUNTIME_INSTALLED)

## And those of the tests, the linters and the benchmarks.
install-test: $(TEST_INSTALLED)

## Compile the lock files again from pyproject.toml after a change to its dependencies: the
## versions locked already stay where they still fit (`make lock UPGRADE=1` takes the newest of
## every package). Both resolve for Python 3.11 and later on every platform, with every file's hash.
LOCK_FLAGS = --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra test --extra dev $(LOCK_FLAGS) -o $(TEST_LOCK)
	$(BIN)/uv pip compile pyproject.toml -c $(TEST_LOCK) $(LOCK_FLAGS) -o $(RUNTIME_LOCK)

## Fetch again the Swagger UI and ReDoc files /docs and /redoc load, at the versions pinned in
## tools/vendor.py, from the npm registry, each tarball checked against the registry's integrity
## hash (Python's standard library: no Node); commit offlinetube_api/api/docs_assets/ after.
vendor: | $(BIN)/python
	$(BIN)/python -m tools.vendor

## Start the service on http://127.0.0.1:8001 (OFFLINETUBE_* variables configure it).
run: $(RUNTIME_INSTALLED)
	$(BIN)/offlinetube-api

## Headless Chromium for the tests that play videos: Debian's package (Playwright only drives it,
## nothing runs `playwright install`). Installed with apt-get when missing and running as root.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| { echo "the tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; }

## The multi-host tests make network namespaces with iproute2's `ip` and run a throwaway
## PostgreSQL server from Debian's binaries: both installed with apt-get when missing, as root.
lab:
	@command -v ip >/dev/null || { [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2; } \
		|| { echo "the tests need iproute2: sudo apt-get install iproute2" >&2; exit 1; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
		|| { echo "the tests need PostgreSQL: sudo apt-get install postgresql" >&2; exit 1; }

## Run the whole test suite: every test that starts the service once on SQLite (embedded mode)
## and once on PostgreSQL (distributed mode), in TEST_WORKERS processes at once (pytest-xdist):
## most tests wait on throttled downloads and subprocesses, not on the CPU.
TEST_WORKERS ?= 4
test: $(TEST_INSTALLED) browser lab
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=30

## Style and types.
lint: $(TEST_INSTALLED)
	$(BIN)/ruff check offlinetube_api tests bench tools
	$(BIN)/ruff format --check offlinetube_api tests bench tools
	$(BIN)/mypy offlinetube_api tools

## Benchmarks against nginx and the yt-dlp CLI, both modes (SQLite, and PostgreSQL on the
## machine's server or a throwaway one), written to bench/RESULTS.md (about 40 minutes on 2
## cores; BENCH_QUICK=1 for a smoke run of a few minutes, BENCH_OUT=<file> to write elsewhere).
bench: $(TEST_INSTALLED)
	$(BIN)/python -m bench

## The benchmark suite's quick mode run as a test (about 3 minutes, both modes): it proves the
## suite works end to end, not how fast anything is. Kept out of `make test` (marker `bench`).
bench-smoke: $(TEST_INSTALLED)
	$(BIN)/python -m pytest -m bench

## Crash consistency: rounds of kill -9 during 8 throttled downloads, each figure must read 0
## (3 rounds, about 2 minutes; CHAOS_ROUNDS=30 for the full run, CHAOS_OUT=<file> to keep it).
chaos: $(TEST_INSTALLED)
	$(BIN)/python -m bench.chaos

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
