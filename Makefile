# The course's commands. On a fresh machine with Python 3.11 and make:
#   make course   set everything up, execute every notebook, print the results table
#   make test     set everything up, lint, unit tests, every notebook in fast mode
# Also: make lab, make data, make bench, make clean.

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
export MPLBACKEND := Agg

.PHONY: all setup course test lint unit notebooks book test-book bench-dask lab data bench clean help

all: help

help:
	@echo "make course  - execute every notebook (full mode), HTML copies in build/, results table"
	@echo "make test    - ruff, unit tests, every notebook in fast mode (COURSE_FAST=1)"
	@echo "make lab     - start JupyterLab"
	@echo "make data    - prepare every dataset cache ahead of time"
	@echo "make bench   - time and memory of each notebook in fast mode (build/bench.json)"
	@echo "make book    - the course as a website in build/book/_build/html (BOOK_MODE=fast|full)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
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

unit: $(STAMP)
	$(BIN)/python -m pytest tests -n $(NPROC) --dist loadgroup

notebooks: $(STAMP)
	COURSE_FAST=1 $(BIN)/python -m pytest -p no:cacheprovider -m notebook -n $(NB_WORKERS) tests/test_notebooks.py

BOOK_MODE ?= fast
book: $(STAMP)
	$(BIN)/python scripts/book.py --mode $(BOOK_MODE)

test-book: book
	$(BIN)/python -m pytest -p no:cacheprovider -m book tests/test_book.py

test: export COURSE_FAST := 1
test: $(STAMP)
	$(BIN)/ruff check course_utils tests scripts notebooks
	$(BIN)/python -m pytest tests -n $(NPROC) --dist loadgroup
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout=900 -n $(NB_WORKERS) --dist loadfile $(NOTEBOOKS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

data: $(STAMP)
	$(BIN)/python scripts/prepare_data.py

bench-dask: $(STAMP)
	$(BIN)/python scripts/bench_dask.py $(BENCH_ARGS)

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(BENCH_ARGS) $(NOTEBOOKS)

clean:
	rm -rf build .pytest_cache .ruff_cache
