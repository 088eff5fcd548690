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
# ROS 2 Kilted from PyPI (rclpy, messages, Fast DDS) for the live node's tests, in a venv of its own:
# the wheels' bootstrapper re-executes every Python process of the venv they are installed in.
ROS_VENV ?= .venv-ros
ROS_BIN := $(ROS_VENV)/bin
ROS_CONSTRAINTS ?= constraints-ros.txt
ROS_PACKAGES := ros-kilted-rclpy ros-kilted-sensor-msgs ros-kilted-diagnostic-msgs ros-kilted-rmw-fastrtps-cpp

.PHONY: install install-ros demo test test-ros test-all lint bench bench-node weights constraints clean

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

$(ROS_BIN)/python:
	$(PYTHON) -m venv $(ROS_VENV)
	$(ROS_BIN)/python -m pip install --quiet pip==26.3

$(ROS_VENV)/.installed: $(ROS_BIN)/python setup.py $(ROS_CONSTRAINTS)
	$(ROS_BIN)/pip install --quiet $(if $(ROS_CONSTRAINTS),-c $(ROS_CONSTRAINTS)) $(ROS_PACKAGES) pytest -e .
	touch $@

install-ros: $(ROS_VENV)/.installed

demo: $(VENV)/.installed-base
	$(BIN)/python -m warp_refine_ros.cli.demo --out $(DEMO)

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)
	$(MAKE) test-ros

# The real label_node over DDS, each run in a loopback-only network namespace (skipped, with the
# reason, where one cannot be made).
test-ros: install-ros
	$(ROS_BIN)/pytest -m ros tests/node_ros tests/node $(PYTEST_ARGS)

test-all: install
	$(BIN)/pytest -m "" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/bench_engines.py
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_session.py

# The real node over DDS at 640x480 and 1280x720 (about 15 minutes; see README, Performance).
bench-node: install-ros
	$(ROS_BIN)/python bench/bench_node.py

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
	rm -rf $(VENV) $(ROS_VENV) $(RESOLVE_VENV) $(DEMO) build *.egg-info .pytest_cache .ruff_cache
