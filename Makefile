# The two commands of the README. Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test extract-install

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# The whole pipeline on the synthetic demo data (about 5 minutes on 2 CPU cores once installed).
demo: $(VENV)/.installed
	$(PY) data/demo/prepare.py
	$(PY) parse.py
	$(PY) process_waves.py
	$(PY) cluster.py --unit=beats --beats_per_clip=1
	$(PY) train.py
	$(PY) eval.py
	$(PY) bench.py

# The pip pose extractor (MediaPipe) is kept out of the main install: --no-deps plus its few pinned needs.
$(VENV)/.extract-installed: requirements-extract.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --no-deps -r requirements-extract.txt
	touch $@

extract-install: $(VENV)/.extract-installed

test: $(VENV)/.installed $(VENV)/.extract-installed
	$(PY) -m pytest -q tests
