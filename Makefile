# Clinicflow: every target installs what it needs first (uv, then the locked environment).
# scripts/uv finds uv or installs it into .tools/ on first use, and makes it trust the
# system's certificate store.
SHELL := /bin/bash
UV := $(CURDIR)/scripts/uv
PY_RUN = $(UV) run --frozen --quiet

.PHONY: run test check lint typecheck contracts bench install clean-db

install:
	@[ -d .venv ] || echo "installing the locked environment into .venv ..." >&2
	@$(UV) sync --frozen --quiet

## Start Clinicflow on the embedded PostgreSQL (or DATABASE_URL) with demo data.
run: install
	@$(PY_RUN) clinicflow serve --demo

## Install everything, run the quality gates and the whole test suite.
test: install check
	@$(PY_RUN) pytest

check: lint typecheck contracts

lint: install
	@$(PY_RUN) ruff check src tests bench
	@$(PY_RUN) ruff format --check src tests bench

typecheck: install
	@$(PY_RUN) mypy

contracts: install
	@$(PY_RUN) lint-imports

## Every benchmark suite, one report; e.g. make bench BENCH_ARGS="--suite booking --seconds 3 --rounds 3".
bench: install
	@$(PY_RUN) python -m bench $(BENCH_ARGS)

clean-db:
	rm -rf var/postgres
