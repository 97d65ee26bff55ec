# finlite: set-up, demo, tests and benchmarks. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.finlite-installed

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: this machine's pip resolves torch==2.13.0 to a local CPU wheel,
# while any other spec pulls the CUDA build. The stamp makes a second run a no-op.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/finlite demo --out runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/german_credit.py
	$(BIN)/python bench/fraud.py
	$(BIN)/python bench/sba.py
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/deploy.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/int8.py
	$(BIN)/python bench/service.py
	$(BIN)/python -m pip install --quiet -e '.[ray]'
	$(BIN)/python bench/ray_scale.py

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check src tests bench

clean:
	rm -rf runs build dist .pytest_cache .hypothesis
