# Tandem. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: run test lint types bench load clean node

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Tandem needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_STAMP)

run: $(STAMP)
	$(BIN)/tandem serve --demo

lint: $(STAMP)
	$(BIN)/ruff check ot server tests loadtests
	$(BIN)/ruff format --check ot server tests loadtests

types: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint types
	@if command -v node >/dev/null 2>&1; then $(MAKE) --no-print-directory node; fi
	$(BIN)/python -m pytest

bench: $(STAMP) node
	$(BIN)/python -m loadtests.bench

load: $(STAMP)
	$(BIN)/python -m loadtests.load

clean:
	rm -rf $(VENV) .tandem .pytest_cache .mypy_cache .ruff_cache .hypothesis tests/node/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
