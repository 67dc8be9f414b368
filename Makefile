# `make run` and `make test` set everything up themselves on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install browser lab run test lint bench chaos clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $(INSTALLED)

install: $(INSTALLED)

## Start the service on http://127.0.0.1:8001 (OFFLINETUBE_* variables configure it).
run: install
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
test: install browser lab
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

## Style and types.
lint: install
	$(BIN)/ruff check offlinetube_api tests bench
	$(BIN)/ruff format --check offlinetube_api tests bench
	$(BIN)/mypy offlinetube_api

## Benchmarks against nginx and the yt-dlp CLI, both modes (SQLite, and PostgreSQL on the
## machine's server or a throwaway one), written to bench/RESULTS.md (about 10 minutes;
## BENCH_QUICK=1 for a smoke run of a few minutes, BENCH_OUT=<file> to write elsewhere).
bench: install
	$(BIN)/python -m bench

## Crash consistency: rounds of kill -9 during 8 throttled downloads, each figure must read 0
## (3 rounds, about 2 minutes; CHAOS_ROUNDS=30 for the full run, CHAOS_OUT=<file> to keep it).
chaos: install
	$(BIN)/python -m bench.chaos

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
