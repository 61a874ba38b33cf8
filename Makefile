# The two commands of the README. Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test extract-install

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

demo: $(VENV)/.installed
	$(PY) data/demo/prepare.py
	$(PY) parse.py
	$(PY) animate.py --poses=data/demo/poses/$$(cd data/demo/poses && ls | head -1)

# The pip pose extractor (MediaPipe) is kept out of the main install: --no-deps plus its few pinned needs.
$(VENV)/.extract-installed: requirements-extract.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --no-deps -r requirements-extract.txt
	touch $@

extract-install: $(VENV)/.extract-installed

test: $(VENV)/.installed $(VENV)/.extract-installed
	$(PY) -m pytest -q tests
