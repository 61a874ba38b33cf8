# The two commands of the README. Both create .venv and install the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test extract-install bench-dwm

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# The whole pipeline on the synthetic demo data (under 10 minutes on 2 CPU cores once installed):
# data -> poses -> music features -> move vocabulary -> move classifier -> pose GAN -> sequence GAN -> benchmark
# report (bench.py runs eval.py for every dancer), then one dance with its song as an MP4.
demo: $(VENV)/.installed
	$(PY) data/demo/prepare.py
	$(PY) parse.py
	$(PY) process_waves.py
	$(PY) cluster.py --unit=beats --beats_per_clip=1
	$(PY) train.py
	$(PY) train_pose.py
	$(PY) train_seq.py
	$(PY) bench.py
	$(PY) eval.py --music=data/demo/audio/hiphop_05.wav
	@echo "benchmark report: out/demo/report.md (beats.png, kinetic.png, compare.mp4 beside it)"

# The same on the real Dance with Melody dances in ../shared (see ../shared/README.md).
bench-dwm: $(VENV)/.installed
	$(PY) data/dance_with_melody/prepare.py
	$(PY) process_waves.py --dataset=dance_with_melody
	$(PY) cluster.py --dataset=dance_with_melody
	$(PY) train.py --dataset=dance_with_melody
	$(PY) train_pose.py --dataset=dance_with_melody
	$(PY) train_seq.py --dataset=dance_with_melody --seq_len=50
	$(PY) bench.py --dataset=dance_with_melody

# The pip pose extractor (MediaPipe) is kept out of the main install: --no-deps plus its few pinned needs.
$(VENV)/.extract-installed: requirements-extract.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --no-deps -r requirements-extract.txt
	touch $@

extract-install: $(VENV)/.extract-installed

test: $(VENV)/.installed $(VENV)/.extract-installed
	$(PY) -m pytest -q tests
