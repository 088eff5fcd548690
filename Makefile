# Two commands on a fresh machine: `make demo` (label the embedded demo drive) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch; a bare `torch` requirement would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
DEMO ?= demo
# The tested versions of every dependency (CPython 3.11); `make CONSTRAINTS=` installs the newest instead.
CONSTRAINTS ?= constraints.txt
PIP_CONSTRAINTS := $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
PYTEST_ARGS ?=

.PHONY: install demo test test-all lint bench weights clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3

$(VENV)/.installed: $(BIN)/python setup.py $(CONSTRAINTS)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet $(PIP_CONSTRAINTS) -e ".[dev,train,cluster]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python -m warp_refine_ros.cli.demo --out $(DEMO)

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

test-all: install
	$(BIN)/pytest -m "" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/bench_engines.py
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_session.py

# Retrain the shipped models/ (about 75 minutes on two CPU cores; see models/*.md).
weights: install
	PYTHON=$(BIN)/python bash scripts/make_weights.sh

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info .pytest_cache .ruff_cache
