# The commands of the README. Each creates .venv and installs the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# pip options for installing torch only. Empty: pip's own choice, the CUDA build from PyPI on Linux (a CUDA user
# needs nothing more). A CPU-only machine saves gigabytes of NVIDIA libraries with PyTorch's CPU wheels:
#   make demo TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_PIP_ARGS ?=
# Every install is held to constraints.txt, the versions of every package the requirements pull in (numba,
# llvmlite, soxr, ...), so that two installs a month apart compute the same features. `make lock` remakes it.
PIP_INSTALL = $(PY) -m pip install --quiet -c constraints.txt
# torch first and alone (its dependencies come from the ordinary index with the rest), so that TORCH_PIP_ARGS
# may name an index that holds nothing but torch.
TORCH_REQUIREMENT = "$$(grep '^torch==' requirements.txt)"

.PHONY: demo test install extract-install bench-dwm lock

# The motion tokens of both pipelines: four residual codebooks, pose losses in torso lengths (train_vqvae.py says
# what each measured on held-out training dances of both datasets).
TOKENIZER_ARGS := --n_books=4 --residual=True --pose_in_torso_lengths=True --hidden=128

$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --no-deps $(TORCH_PIP_ARGS) $(TORCH_REQUIREMENT)
	$(PIP_INSTALL) -r requirements.txt
	touch $@

install: $(VENV)/.installed

# The whole pipeline on the synthetic demo data (under 10 minutes on 2 CPU cores once installed):
# data -> poses -> music features -> move vocabularies -> the dancers' training -> benchmark report (bench.py dances
# every dancer of models/dancers.py), then one dance with its song as an MP4.
demo: $(VENV)/.installed
	$(PY) data/demo/prepare.py
	$(PY) parse.py
	$(PY) process_waves.py
	$(PY) cluster.py --unit=beats --beats_per_clip=1
	$(PY) cluster.py --dancer=original --unit=seconds --clip_s=1.0 --gallery=False
	$(MAKE) --no-print-directory -j2 -Otarget train-moves train-gan train-tokens \
		VQVAE_ARGS="$(TOKENIZER_ARGS) --energy_weight=0.1"
	$(PY) bench.py
	$(PY) eval.py --music=data/demo/audio/hiphop_05.wav
	@echo "benchmark report: out/demo/report.md (beats.png, kinetic.png, compare.mp4 beside it)"

# The same on the real Dance with Melody dances in ../shared (see ../shared/README.md).
bench-dwm: $(VENV)/.installed
	$(PY) data/dance_with_melody/prepare.py
	$(PY) process_waves.py --dataset=dance_with_melody
	$(PY) cluster.py --dataset=dance_with_melody
	$(PY) cluster.py --dataset=dance_with_melody --dancer=original --unit=seconds --clip_s=1.0 --gallery=False
	$(MAKE) --no-print-directory -j2 -Otarget train-moves train-gan train-tokens DATASET=dance_with_melody \
		SEQ_ARGS=--seq_len=50 VQVAE_ARGS="--max_steps=1200 --lr_decay_steps=1200 $(TOKENIZER_ARGS) --root_weight=8" \
		GPT_ARGS="--max_steps=1000 --grid_shifts=1"
	$(PY) bench.py --dataset=dance_with_melody

# The dancers' training, one chain per family. The trainers use one CPU thread each, so `make -j2` trains two
# families at a time on a 2-core laptop; -Otarget prints each chain's output when it ends (its progress bars then
# log a line every few seconds rather than redrawing).
DATASET ?= demo
SEQ_ARGS ?=
VQVAE_ARGS ?=
GPT_ARGS ?=
.PHONY: train-moves train-gan train-tokens
train-moves: $(VENV)/.installed
	$(PY) train.py --dataset=$(DATASET)
	$(PY) train.py --dataset=$(DATASET) --dancer=original --context=8.0 --music_rows=48

train-gan: $(VENV)/.installed
	$(PY) train_pose.py --dataset=$(DATASET)
	$(PY) train_seq.py --dataset=$(DATASET) $(SEQ_ARGS)

train-tokens: $(VENV)/.installed
	$(PY) train_vqvae.py --dataset=$(DATASET) $(VQVAE_ARGS)
	$(PY) train_gpt.py --dataset=$(DATASET) $(GPT_ARGS)

# The pip pose extractor (MediaPipe) is kept out of the main install: --no-deps plus its few pinned needs.
$(VENV)/.extract-installed: requirements-extract.txt constraints.txt $(VENV)/.installed
	$(PIP_INSTALL) --no-deps -r requirements-extract.txt
	touch $@

extract-install: $(VENV)/.extract-installed

# What developers need beyond a user's install (pytest).
$(VENV)/.dev-installed: requirements-dev.txt constraints.txt $(VENV)/.installed
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

test: $(VENV)/.installed $(VENV)/.extract-installed $(VENV)/.dev-installed
	$(PY) -m pytest -q tests

# Remake constraints.txt: install the requirements afresh, unconstrained, into a temporary environment and pin
# everything pip chose there (torch without its +cpu/+cu tag, so the file serves CPU and CUDA installs alike).
lock:
	set -e; lock_venv=$$(mktemp -d); trap 'rm -rf "$$lock_venv"' EXIT; \
	$(PYTHON) -m venv "$$lock_venv"; \
	"$$lock_venv/bin/python" -m pip install --quiet --no-deps $(TORCH_PIP_ARGS) $(TORCH_REQUIREMENT); \
	"$$lock_venv/bin/python" -m pip install --quiet -r requirements.txt -r requirements-dev.txt; \
	"$$lock_venv/bin/python" -m pip install --quiet --no-deps -r requirements-extract.txt; \
	{ echo "# Every package of requirements*.txt and their dependencies, pinned. Made by \`make lock\`, do not edit."; \
	  "$$lock_venv/bin/python" -m pip freeze | sed 's/^\([^=]*==[^+]*\)+.*/\1/'; } > constraints.txt.tmp; \
	mv constraints.txt.tmp constraints.txt
	@echo "constraints.txt remade: review its changes with git diff constraints.txt"
