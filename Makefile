# finlite: set-up, demo, tests and benchmarks. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.finlite-installed

.PHONY: demo test test-fast bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The exact torch build lives here, not in the package (pyproject declares the supported range in
# the `train` extra): torch first and pinned, because this machine's pip resolves torch==2.13.0
# to a local CPU wheel while any other spec pulls the CUDA build. Then finlite with training and
# the test tools (pytest, mypy, ruff), and its bytecode compiled once, as a wheel install does:
# where PYTHONDONTWRITEBYTECODE is set, an editable install otherwise compiles finlite's modules
# on every command (about 0.04 s of `finlite score`'s start-up). The stamp makes a second run a no-op.
TORCH := torch==2.13.0

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[train,markets,test]'
	$(BIN)/python -m compileall -q src/finlite >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/finlite demo --out runs/demo

# Everything, the slow end-to-end tests included. pytest-xdist runs one worker per core (at most
# 4: each holds torch and the tests' teachers in memory, and the Ray tests start a 2-CPU Ray),
# each test file whole on one worker so that its module fixtures are built once.
PYTEST := $(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile

test: $(STAMP)
	$(PYTEST)

# Skips the tests marked slow (training real models, starting Ray): for the edit-test loop.
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

# lleaves (a peer in bench/peers.py) needs llvmlite < 0.45; finlite needs 0.45 or later (its compiled
# block fill, and numba). So lleaves gets its own venv, and bench/peers.py times it there in a subprocess.
PEERS       := .venv-peers
PEERS_STAMP := $(PEERS)/.finlite-peers-installed

$(PEERS_STAMP):
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS)/bin/python -m pip install --quiet numpy 'lightgbm>=4.3' 'lleaves>=1.3' 'llvmlite>=0.42,<0.45'
	touch $(PEERS_STAMP)

bench: $(STAMP) $(PEERS_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/german_credit.py
	$(BIN)/python bench/fraud.py
	$(BIN)/python bench/sba.py
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/import_parity.py
	$(BIN)/python bench/extremes.py
	$(BIN)/python bench/deploy.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/int8.py
	$(BIN)/python bench/service.py
	$(BIN)/python bench/markets.py
	$(BIN)/python bench/forecast_history.py
	$(BIN)/python bench/panel_scoring.py
	$(BIN)/python bench/report.py
	$(BIN)/python -m pip install --quiet -e '.[ray]'
	$(BIN)/python bench/ray_scale.py

# ruff over the code, tests and benchmarks; mypy strict over src/ (settings in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

clean:
	rm -rf runs build dist .pytest_cache .hypothesis
