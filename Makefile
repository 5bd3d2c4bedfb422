# Two commands for a fresh machine with Python 3.11+: `make run` and `make test`.
# Both create (or reuse) .venv from requirements.lock; nothing needs installing first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCALE  ?= 0.02
SEED   ?= 42
LANDING ?= data/landing

.PHONY: run test venv generate ui clean calibration benchmark

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/cin-outcomes run --scale $(SCALE) --seed $(SEED) --landing $(LANDING)

generate: $(STAMP)
	$(BIN)/cin-outcomes generate --scale $(SCALE) --seed $(SEED) --out $(LANDING)

# The Dagster UI on the instance `make run` used: http://127.0.0.1:3000
ui: $(STAMP)
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

test: $(STAMP)
	$(BIN)/python -m pytest

calibration: $(STAMP)
	$(BIN)/cin-outcomes calibration --scale $(SCALE) --seed $(SEED)

benchmark: $(STAMP)
	$(BIN)/python benchmarks/generate_national.py

clean:
	rm -rf $(VENV) data warehouse output .dagster_home .pytest_cache
