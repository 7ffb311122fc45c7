# attendance-hub: the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PLUGINS := sims one myconcern cpoms
SOURCES := hub contracts/hub_contracts $(foreach p,$(PLUGINS),plugins/$(p)/hub_$(p)) bench

.PHONY: install test lint typecheck pytest demo bench soak schema docs clean

install: $(STAMP)

$(STAMP): pyproject.toml contracts/pyproject.toml $(foreach p,$(PLUGINS),plugins/$(p)/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e contracts -e '.[dev]' $(foreach p,$(PLUGINS),-e plugins/$(p))
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy $(SOURCES)

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

demo: install
	$(BIN)/hub demo

bench: install
	$(BIN)/python -m bench

soak: install
	$(BIN)/python -m soak

schema: install
	$(BIN)/python -m hub_contracts.schema

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

docs: install
	$(BIN)/python -m hub.docs_update
