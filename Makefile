# kiban — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KIBAN := $(BIN)/kiban

.PHONY: run test lint typecheck pytest browser-deps clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kiban needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[test]'
	@touch $@ $(VENV)/.installed-run

## make run: install, migrate the SQLite demo database, serve on http://127.0.0.1:8000
run: $(VENV)/.installed-run
	@mkdir -p var
	$(KIBAN) db upgrade
	KIBAN_DEMO_WALLET=true $(KIBAN) seed --demo
	KIBAN_DEMO_WALLET=true $(KIBAN) serve

## make test: install with test extras, then lint, type-check and run every test on SQLite and PostgreSQL
test: $(VENV)/.installed-test browser-deps lint typecheck pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

# End-to-end tests drive Debian's Chromium through Playwright; nothing is downloaded by Playwright itself.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
