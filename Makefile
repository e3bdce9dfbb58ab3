# genrekit: `make demo` runs the main job on generated data, `make test` runs the tests.
# Both create .venv (Python 3.11 if present) and install everything on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The CPU build of PyTorch; installed first so nothing pulls a CUDA build (see DEVELOPERS.md).
TORCH  := torch==2.13.0

.PHONY: setup demo test test-all bench clean

setup: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/genrekit demo

test: setup
	$(PY) -m pytest -q

test-all: setup
	$(PY) -m pytest -q -m ''

bench: setup
	$(PY) benchmarks/features.py

clean:
	rm -rf .demo .pytest_cache build src/*.egg-info
