# Quick start: `make demo` runs the product on its embedded default; `make test` runs the tests.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demo needs only the core (no torch): `pip install -e .`; `make test` installs everything.
CORE_STAMP := $(VENV)/.installed-core
# The CPU build (a multi-GB CUDA build otherwise); set TORCH_VERSION for another one.
TORCH_VERSION ?= 2.13.0
# pytest worker processes (pytest-xdist): most end-to-end tests wait on brokers, browsers and
# subprocesses, so three workers pay even on two cores. Each test module stays on one worker
# (--dist loadscope: its fixtures are built once), in the order tests/conftest.py gives
# (longest modules first; --no-loadscope-reorder keeps it). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 3

.PHONY: install demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(CORE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(CORE_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(CORE_STAMP)

install: $(STAMP)

demo: $(CORE_STAMP)
	bash scripts/install-apertium.sh
	$(BIN)/hemicycle demo

test: $(STAMP)
	bash scripts/install-system-deps.sh
	$(BIN)/ruff check pipeline moderator_ui tests benchmarks
	$(BIN)/ruff format --check pipeline moderator_ui tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

bench: $(STAMP)
	taskset -c 0 $(BIN)/python benchmarks/langid.py
	taskset -c 0 $(BIN)/python benchmarks/bus.py
	$(BIN)/python benchmarks/translate.py
	$(BIN)/python benchmarks/score.py
	$(BIN)/python benchmarks/ui.py
	$(BIN)/python benchmarks/api.py --toxicity
	$(BIN)/python benchmarks/triage.py
	$(BIN)/python benchmarks/replay.py

clean:
	rm -rf $(VENV) .hemicycle .pytest_cache .ruff_cache
