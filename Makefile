# adsignal — every target sets itself up: only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/.data/dagster

.PHONY: help install demo test ui bench bench-warehouse bench-alerts bench-replay bench-budget bench-imports bench-collector bench-profiles lint fmt docs clean

help:
	@echo "make demo   run the whole pipeline on the embedded sandbox and print what it produced"
	@echo "make test   run the test suite against real PostgreSQL"
	@echo "make ui     start the Dagster UI (webserver + daemon) on the same database and sandbox"
	@echo "make lint   ruff"
	@echo "make bench  benchmarks, not part of make test (bench-warehouse, bench-alerts, bench-replay, bench-budget, bench-imports, bench-collector, bench-profiles)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "adsignal needs Python 3.11+")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/adsignal demo

# Three processes (pytest-xdist) on two cores: many tests wait (sandbox stalls, killed subprocesses),
# so a third process fills the gaps (idle, 2026-12-07: 12 min 21 s with 2, 11 min 31 s with 3). A test
# module stays in one process (its module fixtures build one warehouse), and the modules go out in
# tests/conftest.py's order, longest first (--no-loadscope-reorder). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 3
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

ui: $(STAMP)
	$(BIN)/adsignal ui

bench: bench-warehouse bench-alerts bench-replay bench-budget bench-imports bench-collector bench-profiles

# Warehouse: loader vs bare COPY, peak RSS of a sync, dbt backfill and daily-run times, daily run over 365
# vs 30 days of history (tier S: ~15 min; TIER=M: 3.65 M ad-days, ~30 min and ~10 GB of disk).
bench-warehouse: $(STAMP)
	$(BIN)/python -m pipeline.bench.warehouse --tier $(or $(TIER),S) --out .data/bench/warehouse.json

# Alert quality vs a plain 3-sigma z-score on four scenario families: the sandbox, 'compound' and the
# held-out 'funnel' and 'retail' (pipeline/bench/families; FAMILY=compound to run one; ~10 minutes).
FAMILY ?= sandbox,compound,funnel,retail
bench-alerts: $(STAMP)
	$(BIN)/python -m pipeline.bench.alerts --family $(FAMILY) --out .data/bench/alerts.json

# Alert replay: 120 mornings x 200 campaigns in one replay vs one detector run per morning (a few minutes).
bench-replay: $(STAMP)
	$(BIN)/python -m pipeline.bench.replay --out .data/bench/replay.json

# Budget allocation: captured uplift vs the oracle on simulated campaigns with known curves, then the
# experiment loop (two weeks of budget experiments, then the allocation) on three world families, the
# third (market_dense) held out, with where each gap comes from (~35 min on 2 cores).
bench-budget: $(STAMP)
	$(BIN)/python -m pipeline.bench.budget --out .data/bench/budget.json
	$(BIN)/python -m pipeline.bench.budget_loop --seeds 30 --workers 2 --thompson --families sandbox,market,market_dense --out .data/bench/budget_loop.json

# CSV import: peak RSS and rows/s of one import per file size (IMPORT_ROWS=...); flat memory = ratio ~1
# (~40 min on 2 busy cores, ~5 GB of disk at 5 M rows).
IMPORT_ROWS ?= 200000,1000000,5000000
bench-imports: $(STAMP)
	$(BIN)/python -m pipeline.bench.imports --rows $(IMPORT_ROWS) --out .data/bench/imports.json

# dbt docs (models, columns, lineage, exposures) in dbt_project/target/index.html; run make demo first.
docs: $(STAMP)
	$(BIN)/adsignal dbt docs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf .data dbt_project/target dbt_project/logs

# Event collector: sustained events/s of 100-event batches over HTTP vs direct inserts (~1 min).
bench-collector: $(STAMP)
	$(BIN)/python -m pipeline.bench.collector --out .data/bench/collector.json

# Identity resolution: 1 M events of 200 k people into profiles (first run and the next day's), peak RSS.
bench-profiles: $(STAMP)
	$(BIN)/python -m pipeline.bench.profiles --out .data/bench/profiles.json
