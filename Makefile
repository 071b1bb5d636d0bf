# nameclf: `make demo` (install, download, train, predict) and `make test` (install, run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, pinned: this build is on the machine already and is CPU-only; a looser requirement
# resolved by pip alone could pull several GB of CUDA packages.
TORCH_VERSION ?= 2.13.0
# Where torch comes from: pip's usual sources when empty (on this project's machines a CPU wheel on
# disk); elsewhere set TORCH_INDEX=https://download.pytorch.org/whl/cpu for the CPU-only build.
TORCH_INDEX ?=

.PHONY: install demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/nameclf download
	$(BIN)/nameclf train
	$(BIN)/nameclf predict Tribbiani

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check ruff
	$(BIN)/ruff check nameclf tests benchmarks

bench: install
	$(BIN)/python benchmarks/predict_speed.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
