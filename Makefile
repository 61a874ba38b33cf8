# The two commands of the README. Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

demo: $(VENV)/.installed
	$(PY) data/demo/prepare.py
	$(PY) parse.py
	$(PY) animate.py --poses=data/demo/poses/$$(cd data/demo/poses && ls | head -1)

test: $(VENV)/.installed
	$(PY) -m pytest -q tests
