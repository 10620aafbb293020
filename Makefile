# Quick start: `make run` (the example config in the foreground) and `make test`
# (lint and the whole suite). Both create .venv on first use and reinstall godpy
# (editable, with the test extra) only when setup.cfg or pyproject.toml changed.

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test install clean

run: $(STAMP)
	$(VENV)/bin/godpy -c examples/quickstart.god.py -D

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -q

install: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# A new entry point in setup.cfg only exists after a reinstall: hence the dependency.
$(STAMP): setup.cfg pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
