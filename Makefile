# Development setup: a virtual environment with the pinned CPU build of PyTorch.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup test reproduce bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

reproduce: setup
	$(BIN)/descentlab reproduce

bench: setup
	$(BIN)/descentlab bench

clean:
	rm -rf $(VENV) report .pytest_cache
