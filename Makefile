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
# Scratch environment of `make constraints`.
RESOLVE_VENV ?= .venv-resolve

.PHONY: install demo test test-all lint bench weights constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3

# The package alone: what the demo runs on (ONNX Runtime and OpenCV engines; no PyTorch).
$(VENV)/.installed-base: $(BIN)/python setup.py $(CONSTRAINTS)
	$(BIN)/pip install --quiet $(PIP_CONSTRAINTS) -e .
	touch $@

# Everything: PyTorch and the training, Ray and test extras (the full set holds the base one too).
$(VENV)/.installed: $(BIN)/python setup.py $(CONSTRAINTS)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet $(PIP_CONSTRAINTS) -e ".[dev,train,cluster]"
	touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed

demo: $(VENV)/.installed-base
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

# Re-resolve every dependency to its newest release in a scratch environment and write those versions
# to constraints.txt (its comment lines kept; torch stays pinned above). Then `make clean test`, and
# read the diff before committing it (README, *Pinned dependencies*).
constraints:
	rm -rf $(RESOLVE_VENV)
	$(PYTHON) -m venv $(RESOLVE_VENV)
	$(RESOLVE_VENV)/bin/python -m pip install --quiet pip==26.3
	$(RESOLVE_VENV)/bin/pip install --quiet $(TORCH)
	$(RESOLVE_VENV)/bin/pip install --quiet -e ".[dev,train,cluster]"
	{ grep '^#' constraints.txt; $(RESOLVE_VENV)/bin/pip freeze --exclude-editable | grep -iv '^torch=='; } \
		> constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(RESOLVE_VENV)

clean:
	rm -rf $(VENV) $(RESOLVE_VENV) $(DEMO) build *.egg-info .pytest_cache .ruff_cache
