# Development setup: a virtual environment with the pinned CPU build of PyTorch.
#   make setup     .venv with descentlab and the development tools (requirements-dev.txt)
#   make test      the default tier: every test but the slow ones, two workers (within 10 minutes on 2 cores)
#   make test-all  what CI runs: CI's packages (requirements-ci.txt), every test, then the documentation site
#   make docs      the documentation site into site/, warnings as errors
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CISTAMP := $(VENV)/.installed-ci
PYTEST  := $(BIN)/python -m pytest -n 2 --dist loadgroup --durations=15

.PHONY: setup setup-ci test test-all docs screenshots reproduce bench clean

setup: $(STAMP)
	@echo "descentlab is installed in $(VENV): run $(BIN)/descentlab, or '. $(BIN)/activate' to put it on the PATH"

$(STAMP): pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup-ci: $(CISTAMP)

$(CISTAMP): $(STAMP) requirements-ci.txt
	$(BIN)/python -m pip install --quiet -r requirements-ci.txt
	touch $(CISTAMP)

test: setup
	$(PYTEST) -m "not slow"

test-all: setup-ci
	$(PYTEST)
	$(MAKE) docs

docs: setup-ci
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

# the README's and the docs' screenshots, from the browser tests' latest run (the tests write only test-artifacts/)
screenshots: setup
	$(BIN)/python -m pytest -q tests/test_report_browser.py tests/test_explore_browser.py
	cp test-artifacts/report-excerpt.png test-artifacts/report-zh.png test-artifacts/explore.png test-artifacts/explore-zh.png \
	   test-artifacts/explore-420.png test-artifacts/explore-zh-420.png docs/

reproduce: setup
	$(BIN)/descentlab reproduce || { code=$$?; echo "descentlab reproduce exited with code $$code (see its message above; make itself can only exit 2)"; exit $$code; }

bench: setup
	$(BIN)/descentlab bench

clean:
	rm -rf $(VENV) report site .pytest_cache
