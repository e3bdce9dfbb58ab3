# genrekit: `make demo` runs the main job on generated data, `make test` runs the tests.
# Both create .venv (Python 3.11 if present) and install everything on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The CPU build of PyTorch; installed first so nothing pulls a CUDA build (see DEVELOPERS.md).
TORCH  := torch==2.13.0

.PHONY: setup demo test test-all bench clean

setup: $(STAMP) $(VENV)/.browser-stamp

# tests/test_web_page.py drives a headless Chromium and is skipped without one. Best effort, once:
# install Debian's chromium when it is missing and apt-get runs as root; never fails the setup.
$(VENV)/.browser-stamp: | $(PY)
	@if [ -n "$$GENREKIT_CHROMIUM" ] || [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the web page test (apt-get)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
	    || echo "note: could not install chromium; tests/test_web_page.py will be skipped"; \
	else \
	  echo "note: no chromium found and no apt-get as root; tests/test_web_page.py will be skipped" \
	       "(install chromium or set GENREKIT_CHROMIUM)"; \
	fi
	@touch $@

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[test,ray]'
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
