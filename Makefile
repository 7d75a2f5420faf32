# Turnout — make run | make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint typecheck unit install install-dev bench clean assets

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: install, migrate the embedded SQLite database, serve API + console + workers on :8000
run: install
	$(BIN)/turnout db upgrade
	$(BIN)/turnout serve

## make test: lint, type-check and the whole test suite (two processes, a test file to each at a time:
## each process has its own databases; PYTEST_WORKERS=0 runs it in one process)
PYTEST_WORKERS ?= 2
test: install-dev lint typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-dev
	$(BIN)/mypy src tests

unit: install-dev
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

bench: install-dev
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

## make assets: reinstall the pinned browser packages (npm ci, from package-lock.json) and re-vendor
## them into static/vendor (commit the result; make run and CI need no npm)
assets:
	npm ci --no-audit --no-fund
	$(PYTHON) scripts/vendor_assets.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
