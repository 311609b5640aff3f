# Two commands: `make run` (dashboard on sample data) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
SAMPLE_ROWS ?= 1000000
SAMPLE_SEED ?= 7
SCREENSHOT_QUERY ?= start=2025-11-01&end=2026-10-31
export SALES_DATA_DIR ?= ./data

.PHONY: screenshots run test test-fast lint format bench sample deps dev-deps chromium clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

deps: $(VENV)/.runtime
dev-deps: $(VENV)/.dev

chromium:
	scripts/install-chromium.sh

sample: deps
	$(PY) -m ingest.sample_setup --rows $(SAMPLE_ROWS) --seed $(SAMPLE_SEED)

run: sample
	$(PY) -m core.users init
	$(VENV)/bin/streamlit run server.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# pytest exits 5 when it collects no test: that is not a failure of the suite.
test: dev-deps chromium
	$(PY) -m pytest -q -ra $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then exit 0; fi; exit $$rc

test-fast: dev-deps
	$(PY) -m pytest -q -m "not browser and not druid and not slow" $(PYTEST_ARGS)

# pip-audit checks the installed packages against PyPI's vulnerability data: it
# needs the network, so it runs here and not in `make test`. --strict fails when
# a package cannot be checked, rather than passing without checking it.
lint: dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pip-audit --strict --progress-spinner off

format: dev-deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Pictures of every page for the README, from the dashboard `make run` serves.
screenshots: dev-deps chromium
	$(PY) -m scripts.screenshots http://localhost:$(PORT) docs --query "$(SCREENSHOT_QUERY)"

bench: dev-deps chromium
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

-include mk/druid.mk
