# Every target bootstraps .venv from pyproject.toml, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast lint bench mutate pictures clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The comparison tools (frictionless, pyinstrument) only for benchmarks.
$(VENV)/.bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(VENV)/.bench

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m importer.run_samples

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m 'not slow'

lint: $(STAMP)
	$(BIN)/ruff check importer schemas gateway tests benchmarks scripts
	$(BIN)/ruff format --check importer schemas gateway tests benchmarks scripts
	$(BIN)/mypy

bench: $(VENV)/.bench
	$(BIN)/python -m benchmarks.run

# cosmic-ray, only for mutation testing.
$(VENV)/.mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,mutate]'
	touch $(VENV)/.mutate

# Mutation testing of the modules that decide outcomes; writes tests/MUTATION.md. Not in CI: it
# takes hours. `make mutate TARGETS="prune plan"` runs some (names in scripts/mutate.py); the
# others' results stay in scripts/mutation_results/.
mutate: $(VENV)/.mutate
	$(BIN)/python scripts/mutate.py $(TARGETS)

# Renders docs/template.png and docs/rejections.png (needs libreoffice-calc and poppler-utils).
pictures: $(STAMP)
	bash docs/make_pictures.sh

clean:
	rm -rf $(VENV) reports .sip-import .mutation .pytest_cache .mypy_cache .ruff_cache
