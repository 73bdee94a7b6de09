# The two set-up commands are `make run` and `make test`; both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SQL_DIRS := models macros tests/dbt analyses snapshots

.PHONY: run run-pg dagster test test-fast sql-tests lint fix check precommit ci-slim docs clean bench bench-load

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## run: generate -> load -> dbt build -> publish -> dbt docs and dashboards, on the embedded DuckDB warehouse
run: $(STAMP)
	$(BIN)/elt run --target dev

## run-pg: the same on a local PostgreSQL (started from the pgserver wheel unless PGHOST is set)
run-pg: $(STAMP)
	$(BIN)/elt run --target pg

## dagster: the orchestrator on http://127.0.0.1:3000 (UI, daily schedule, landing sensor; docs/orchestration.md); run history in DAGSTER_HOME
DAGSTER_HOME ?= $(CURDIR)/state/dagster
dagster: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -f orchestration/definitions.py -h 127.0.0.1 -p 3000

## test: every test, on both engines, in TEST_WORKERS parallel pytest-xdist workers (one per core, at least two); each worker starts its own throwaway PostgreSQL server (docs/testing.md)
# The tests are CPU-bound (dbt's Python): one worker per core, so a larger CI runner finishes sooner.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -gt 2 ] && echo $$n || echo 2)
test: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=30

## test-fast: the edit loop, under 3 minutes: lint and every test not marked e2e, on DuckDB only (docs/testing.md)
test-fast: $(STAMP)
	$(BIN)/pytest tests/python -n $(TEST_WORKERS) --dist loadgroup --engine dev -m "not e2e" --durations=10

## bench: every scenario on both engines (full, daily, the 1M-line KPI, scale to SF10); results in benchmarks/
RUNS ?= 3
bench: $(STAMP)
	$(BIN)/elt bench --scenario full --scenario daily --scenario kpi --scenario scale --runs $(RUNS)

## bench-load: load throughput at SF1 against DuckDB CTAS and PostgreSQL COPY (see benchmarks/README.md)
bench-load: $(STAMP)
	$(BIN)/python benchmarks/load_throughput.py --scale-factor 1 --runs 3

## sql-tests: the tests only a change to the SQL can fail, on a built warehouse: dbt's unit tests and the data tests tagged implied_by_parent_tests; CI runs them, the scheduled job does not (decisions 0018, 0021)
TARGET ?= dev
sql-tests: $(STAMP)
	$(BIN)/dbt test --select test_type:unit tag:implied_by_parent_tests --profiles-dir . --target $(TARGET)

## lint: sqlfluff over every SQL file, ruff over the Python
lint: $(STAMP)
	$(BIN)/sqlfluff lint $(SQL_DIRS)
	$(BIN)/ruff check scripts tests/python orchestration
	$(BIN)/ruff format --check scripts tests/python orchestration

## check: project rules over dbt's manifest (dbt-bouncer.yml): descriptions, grain tests, layers, names, contracts, freshness
check: $(STAMP)
	$(BIN)/elt check

## precommit: every pre-commit hook on every file, as CI runs them
precommit: $(STAMP)
	$(BIN)/pre-commit run --all-files

## ci-slim: build only what this checkout changed (state:modified+, --defer) against BASE, built first as production
BASE ?= origin/main
ci-slim: $(STAMP)
	.ci/slim $(BASE) dev

## fix: let sqlfluff and ruff rewrite what they can
fix: $(STAMP)
	$(BIN)/sqlfluff fix $(SQL_DIRS)
	$(BIN)/ruff check --fix scripts tests/python orchestration
	$(BIN)/ruff format scripts tests/python orchestration

## docs: generate the dbt docs site (also a single static_index.html) and serve it on :8080
docs: $(STAMP)
	$(BIN)/dbt docs generate --static
	$(BIN)/dbt docs serve --port 8080 --no-browser

clean:
	rm -rf target logs landing state warehouse.duckdb warehouse.duckdb.wal warehouse.duckdb.run.lock
