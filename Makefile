# The course's commands. On a fresh machine with Python 3.11 or 3.12 and make:
#   make course   set everything up (the learner's stack), execute every notebook, print the results table
#   make test     set everything up (with the maintainers' tools), then lint, unit, notebooks (fast mode)
#                 and the site (test-book)
# Also: make unit-fast, make check-install, make lab, make data, make book, make bench, make bench-full,
# make bench-dask, make clean; for teachers: make classroom, make grade SUBMISSIONS=folder,
# make classroom-check (scripts/classroom.py, nbgrader's format).
# Kernels draw with the inline backend: MPLBACKEND is never exported here (with Agg,
# the executed copies in build/ would hold no figure).

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# torch: PyPI's Linux wheel is the CUDA build (several GB of nvidia-* wheels). On Linux without an
# NVIDIA driver (no nvidia-smi), setup takes the CPU build from PyTorch's index first.
# make setup TORCH=cuda keeps PyPI's build; TORCH=pypi does the same on any system.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH ?= $(if $(filter Linux,$(shell uname -s)),$(if $(shell command -v nvidia-smi),cuda,cpu),pypi)
NPROC  := $(shell nproc 2>/dev/null || echo 2)
# Notebooks run one per pytest-xdist worker, one worker per core.
NB_WORKERS ?= $(NPROC)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))

export PYTHONUNBUFFERED := 1
export TF_CPP_MIN_LOG_LEVEL := 2

# The course supports Python 3.11 and 3.12 (requirements.txt resolves on both): stop early, with a
# clear message, on another Python (the one of an existing .venv, else $(PYTHON) that would create it).
python-version:
	@if [ -x $(BIN)/python ]; then py=$(BIN)/python; else py="$(PYTHON)"; fi; \
	"$$py" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' 2>/dev/null || { \
	  echo "error: the course needs Python 3.11 or 3.12, but '$$py' is $$("$$py" --version 2>/dev/null || echo 'not found')."; \
	  echo "       Install Python 3.11 or 3.12, then: rm -rf $(VENV) (if it exists) and make PYTHON=/path/to/python3.12 $(MAKECMDGOALS)"; \
	  exit 1; }

.PHONY: all python-version setup setup-dev course test lint unit unit-fast notebooks check-install check-colab book test-book lab data bench bench-full bench-dask clean help classroom grade classroom-check

all: help

help:
	@echo "make setup   - the learner's stack in .venv (requirements.txt; CPU torch on Linux without NVIDIA, TORCH=cuda for CUDA)"
	@echo "make setup-dev - the same, plus the maintainers' tools (requirements-dev.txt; make test does it)"
	@echo "make course  - execute every notebook (full mode), HTML copies in build/, results table"
	@echo "make test    - ruff, lint-imports, unit tests, every notebook in fast mode, the site checked in Chromium"
	@echo "make unit-fast - unit tests without the slow ones (inner loop)"
	@echo "make check-install - what pip would install from PyPI (platform table, Python 3.11/3.12, Colab, Binder): needs PyPI"
	@echo "make lab     - start JupyterLab"
	@echo "make data    - prepare every dataset cache ahead of time"
	@echo "make bench   - time and memory of each notebook in fast mode (build/bench-fast.json)"
	@echo "make bench-full - the same in full mode (= make bench BENCH_ARGS=--full, build/bench-full.json)"
	@echo "make book    - the course as a website in build/book/_build/html (BOOK_MODE=fast|full)"
	@echo "make test-book - build the site and check every page in Chromium (part of make test)"
	@echo "make bench-dask - throughput of notebook 01b's Dask analysis, 1 and 2 workers vs one process"
	@echo "make check-colab - notebooks 00, 01, 03b, 04, 07 on Colab's packages (Python 3.12) after the first cell's install"
	@echo "make classroom - build/classroom/: student/ (starters instead of solutions), teacher/, autograder/"
	@echo "make grade SUBMISSIONS=folder - grade folder/<student>/NN_name.ipynb (fast, offline): grades.csv, grades.html"
	@echo "make classroom-check - every notebook: teacher full marks, student zero, solved/raising/looping exercises"

$(BIN)/python: | python-version
	$(PYTHON) -m venv $(VENV)

# python-version is order-only: checked on every run, without forcing a reinstall.
# The learner's stack (requirements.txt); torch first, from the CPU index when TORCH=cpu (when that
# index cannot be reached, pip takes torch from the indexes it is configured with, and says so).
$(STAMP): requirements.txt pyproject.toml | python-version $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	@if [ "$(TORCH)" = cpu ]; then \
	  torch=$$(grep -E '^torch==' requirements.txt | cut -d' ' -f1); \
	  if $(BIN)/python -c "import socket; socket.create_connection(('download.pytorch.org', 443), 5)" 2>/dev/null; then \
	    echo "torch: the CPU build ($$torch from $(TORCH_CPU_INDEX); make setup TORCH=cuda for PyPI's CUDA build)"; \
	    $(BIN)/python -m pip install --extra-index-url $(TORCH_CPU_INDEX) "$$torch"; \
	  else \
	    echo "torch: $(TORCH_CPU_INDEX) cannot be reached; $$torch comes from pip's configured indexes"; \
	  fi; \
	fi
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cours)"
	touch $(STAMP)

# The maintainers' tools (requirements-dev.txt: tests, lint, the website), for make test.
$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $(DEV_STAMP)

setup: $(STAMP)

setup-dev: $(DEV_STAMP)

course: $(STAMP)
	$(BIN)/python scripts/run_course.py $(NOTEBOOKS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check course_utils tests scripts notebooks
	$(BIN)/lint-imports

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest tests -n $(NPROC) --dist loadgroup

unit-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest tests -n $(NPROC) --dist loadgroup -m "not slow and not book and not pypi"

# The tests that ask PyPI (marker pypi), left out of make unit so that it stays offline.
check-install: $(DEV_STAMP)
	$(BIN)/python -m pytest tests/test_install.py tests/test_platforms.py -m pypi

# nbval executes every notebook (each code cell a test item; --nbval-lax: outputs are not compared),
# in the venv's own kernel, one notebook per xdist worker (--dist loadfile keeps a notebook's cells
# together). tests/conftest.py, loaded as a plugin, writes the executed copies to build/executed/fast/.
notebooks: $(DEV_STAMP)
	COURSE_FAST=1 PYTHONPATH=tests $(BIN)/python -m pytest -p no:cacheprovider -p conftest --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -n $(NB_WORKERS) --dist loadfile notebooks

BOOK_MODE ?= fast
book: $(DEV_STAMP)
	$(BIN)/python scripts/book.py --mode $(BOOK_MODE)

test-book: book
	$(BIN)/python -m pytest -p no:cacheprovider -m book tests/test_book.py

# lint, unit tests, every notebook (fast mode), then the site built from those executed
# notebooks and checked in a browser; one after the other, unless make -j.
test: export COURSE_FAST := 1
test: lint unit notebooks test-book

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

data: $(STAMP)
	$(BIN)/python scripts/prepare_data.py

bench-dask: $(STAMP)
	$(BIN)/python scripts/bench_dask.py $(BENCH_ARGS)

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(BENCH_ARGS) $(NOTEBOOKS)

bench-full: BENCH_ARGS += --full
bench-full: bench

clean:
	rm -rf build .pytest_cache .ruff_cache

# The notebooks' first cell on Colab's stack: a Python 3.12 venv (build/colab-venv, cached) with
# Colab's preinstalled versions (scripts/colab_packages.txt), course_utils[colab] installed from a
# wheel of this tree as the first cell does, then notebooks 00, 01, 03b, 04 and 07 in fast mode,
# offline. Skipped, with a message, where no Python 3.12 exists (COLAB_PYTHON=... names one).
# Needs only a Python 3.11+ to start the script (not the course's .venv).
check-colab:
	$(PYTHON) scripts/check_colab.py $(COLAB_NOTEBOOKS)

# The classroom kit (scripts/classroom.py; nbgrader's cell metadata, so nbgrader can also use the editions).
# make classroom: build/classroom/{student,teacher,autograder}/ from the notebooks and
# scripts/classroom_checks.toml. make grade SUBMISSIONS=folder: each folder/<student>/NN_name.ipynb in its
# own kernel, fast mode, offline, each exercise cell stopped after EXERCISE_TIMEOUT s; the table goes to
# GRADES (default: folder-grades/). make classroom-check: the kit's scenarios on every notebook
# (CLASSROOM_NOTEBOOKS="00 12" for some), four or five fast-mode runs of each: long.
CLASSROOM_OUT ?= build/classroom
EXERCISE_TIMEOUT ?= 120
classroom: $(STAMP)
	$(BIN)/python scripts/classroom.py build --out $(CLASSROOM_OUT)

grade: $(STAMP)
	@if [ -z "$(SUBMISSIONS)" ]; then echo "usage: make grade SUBMISSIONS=folder (folder/<student>/NN_name.ipynb)"; exit 2; fi
	COURSE_FAST=1 COURSE_OFFLINE=1 $(BIN)/python scripts/classroom.py grade "$(SUBMISSIONS)" --exercise-timeout $(EXERCISE_TIMEOUT) $(if $(GRADES),--out "$(GRADES)")

classroom-check: $(STAMP)
	COURSE_FAST=1 COURSE_OFFLINE=1 $(BIN)/python scripts/classroom.py check --out build/classroom-check $(CLASSROOM_NOTEBOOKS)
