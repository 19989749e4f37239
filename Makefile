# HRD Shield: the two set-up commands are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEV_ENV := HRDSHIELD_ENVIRONMENT=development HRDSHIELD_COOKIE_SECURE=false

.PHONY: run test install browser lint typecheck migrations-check pytest demo clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate, seed synthetic demo data and serve on http://127.0.0.1:8000
run: install
	$(DEV_ENV) $(BIN)/hrdshield migrate
	$(DEV_ENV) $(BIN)/hrdshield demo
	$(DEV_ENV) HRDSHIELD_DEMO=true $(BIN)/hrdshield serve --host 127.0.0.1 --port 8000

## make test: install, then lint, type-check, check migrations and run the whole suite
test: install browser lint typecheck migrations-check pytest

## browser: Chromium, chromedriver and axe-core for the page tests (installs only what is missing)
browser:
	bash .ci/install-browser

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

migrations-check: install
	@rm -rf $(VENV)/migrations-check
	HRDSHIELD_DATA_DIR=$(VENV)/migrations-check $(BIN)/hrdshield migrate
	HRDSHIELD_DATA_DIR=$(VENV)/migrations-check $(BIN)/hrdshield db check
	@rm -rf $(VENV)/migrations-check

pytest: install
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .mypy_cache .ruff_cache
