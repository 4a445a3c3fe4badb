# Two entry points for a fresh machine (Python 3.10+):
#   make train  - set up .venv, fetch UTD-MHAD when absent, run the main job (CMC on UTD-MHAD)
#   make test   - set up .venv and run the fast test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export TFHAR_DATA_DIR ?= $(CURDIR)/data
ARGS ?=

.PHONY: setup train test test-slow lint clean

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test]"
	touch $@

setup: $(VENV)/.installed

train: setup
	$(BIN)/python -m tfhar.data download utd_mhad --root "$(TFHAR_DATA_DIR)/utd_mhad"
	$(BIN)/python -m tfhar.train $(ARGS)

test: setup
	$(BIN)/python -m pytest -q --durations=15
	$(BIN)/ruff check .

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
