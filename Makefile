# The two commands of README.md: `make demo` (set up, run the demo on the bundled model) and
# `make test` (set up, lint, run the whole test suite). Both install what they need themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: setup system-deps demo test lint format bench cv clean

# FFmpeg (decoding, the pipeline's file input) and Chromium (the browser test), through apt
# when missing. Needs root or sudo; says what to install when neither is available.
system-deps:
	@need=""; \
	command -v ffmpeg >/dev/null || need="$$need ffmpeg"; \
	command -v chromium >/dev/null || need="$$need chromium chromium-driver"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "Please install:$$need (apt-get install$$need)"; exit 1; fi; \
	  echo "installing with apt:$$need"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$need >/dev/null; \
	fi

# constraints.txt pins the resolution the suite was last run with (torch 2.14.1 + torchaudio 2.11 +
# torchcodec 0.17 work together); pyproject.toml itself keeps lower bounds only.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]" -c constraints.txt
	touch $(STAMP)

setup: system-deps $(STAMP)

demo: setup
	$(PY) demo/app.py

lint: $(STAMP)
	$(VENV)/bin/ruff check ser_hf scripts demo tests benchmarks
	$(VENV)/bin/ruff format --check ser_hf scripts demo tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format ser_hf scripts demo tests benchmarks
	$(VENV)/bin/ruff check --fix ser_hf scripts demo tests benchmarks

test: setup lint
	$(PY) -m pytest -q -ra --durations=15 tests

bench: setup
	$(PY) -m ser_hf.cli bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
