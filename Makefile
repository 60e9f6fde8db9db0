# Clinicflow: every target installs what it needs first (uv, then the locked environment).
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PY_RUN = $(UV) run --frozen

.PHONY: run test check lint typecheck contracts bench install uv clean-db

uv:
	@command -v $(UV) >/dev/null 2>&1 || { echo "installing uv with pip ..."; python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --break-system-packages --user uv; }

install: uv
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

bench: install
	@$(PY_RUN) python -m bench

clean-db:
	rm -rf var/postgres
