# The course's commands. On a fresh machine with Python 3.11 and make:
#   make course   set everything up, execute every notebook, print the results table
#   make test     set everything up, then lint, unit and notebooks (fast mode)
# Also: make unit-fast, make lab, make data, make bench, make bench-full, make clean.
# Kernels draw with the inline backend: MPLBACKEND is never exported here (with Agg,
# the executed copies in build/ would hold no figure).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NPROC  := $(shell nproc 2>/dev/null || echo 2)
# Notebooks run one per pytest-xdist worker, one worker per core.
NB_WORKERS ?= $(NPROC)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))

export PYTHONUNBUFFERED := 1
export TF_CPP_MIN_LOG_LEVEL := 2

# The course is pinned for Python 3.11 (requirements.txt): stop early, with a clear message,
# on another Python (the one of an existing .venv, else $(PYTHON) that would create it).
python-version:
	@if [ -x $(BIN)/python ]; then py=$(BIN)/python; else py="$(PYTHON)"; fi; \
	"$$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { \
	  echo "error: the course needs Python 3.11, but '$$py' is $$("$$py" --version 2>/dev/null || echo 'not found')."; \
	  echo "       Install Python 3.11, then: rm -rf $(VENV) (if it exists) and make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)"; \
	  exit 1; }

.PHONY: all python-version setup course test lint unit unit-fast notebooks lab data bench bench-full clean help

all: help

help:
	@echo "make course  - execute every notebook (full mode), HTML copies in build/, results table"
	@echo "make test    - lint + unit + notebooks: ruff, lint-imports, unit tests, every notebook in fast mode"
	@echo "make unit-fast - unit tests without the slow ones (inner loop)"
	@echo "make lab     - start JupyterLab"
	@echo "make data    - prepare every dataset cache ahead of time"
	@echo "make bench   - time and memory of each notebook in fast mode (build/bench-fast.json)"
	@echo "make bench-full - the same in full mode (= make bench BENCH_ARGS=--full, build/bench-full.json)"

$(BIN)/python: | python-version
	$(PYTHON) -m venv $(VENV)

# python-version is order-only: checked on every run, without forcing a reinstall.
$(STAMP): requirements.txt pyproject.toml | python-version $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cours)"
	touch $(STAMP)

setup: $(STAMP)

course: $(STAMP)
	$(BIN)/python scripts/run_course.py $(NOTEBOOKS)

lint: $(STAMP)
	$(BIN)/ruff check course_utils tests scripts notebooks
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/python -m pytest tests -n $(NPROC) --dist loadgroup

unit-fast: $(STAMP)
	$(BIN)/python -m pytest tests -n $(NPROC) --dist loadgroup -m "not slow"

notebooks: $(STAMP)
	COURSE_FAST=1 $(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout=900 -n $(NB_WORKERS) --dist loadfile $(NOTEBOOKS)

# The three targets above (one after the other, unless make -j), in fast mode.
test: export COURSE_FAST := 1
test: lint unit notebooks

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

data: $(STAMP)
	$(BIN)/python scripts/prepare_data.py

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(BENCH_ARGS) $(NOTEBOOKS)

bench-full: BENCH_ARGS += --full
bench-full: bench

clean:
	rm -rf build .pytest_cache .ruff_cache
