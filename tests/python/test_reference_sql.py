"""The hand-written reference SQL builds exactly the marts dbt builds, on both engines.

`elt bench` times the dbt pipeline against benchmarks/reference/<engine>/*.sql, which
build `reference_marts` straight from raw. The comparison is fair only if both produce the
same thing: here a dirty feed (deletes, lines a day before or after their order, attribute
changes on every SCD2 dimension) goes through `elt run`, then the reference SQL runs, and
every mart must match its reference table in name, columns, types and rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import PROJECT_DIR, Query, warehouse_execute
from elt.bench.reference import reference_files, run_reference
from elt.settings import Paths
from fingerprints import WALL_CLOCK_COLUMNS

ENGINES = ("duckdb", "postgres")


def relations(query: Query, schema: str) -> dict[str, str]:
    """Table or view, by name, of every relation in the schema."""
    rows = query(f"select table_name, table_type from information_schema.tables where table_schema = '{schema}'")
    return dict(rows)


def columns(query: Query, schema: str, table: str) -> list[tuple]:
    return query(
        "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
    )


# dbt's marts as built and tested; the published views in `marts` mask personal data.
BUILT = "marts_build"


def differences(query: Query, tables: list[str]) -> dict[str, str]:
    """What differs between marts_build.<table> and reference_marts.<table>, for each table that does."""
    found = {}
    for table in tables:
        if columns(query, BUILT, table) != columns(query, "reference_marts", table):
            found[table] = (
                f"columns: {BUILT} {columns(query, BUILT, table)}, reference {columns(query, 'reference_marts', table)}"
            )
            continue
        # Rows are compared without the build's wall-clock stamp (built_at), which no two runs share.
        compared = ", ".join(name for name, *_ in columns(query, BUILT, table) if name not in WALL_CLOCK_COLUMNS)
        only = {}
        for left, right in ((BUILT, "reference_marts"), ("reference_marts", BUILT)):
            only[left] = query(
                f"select * from (select {compared} from {left}.{table} except all "
                f"select {compared} from {right}.{table}) as only_here limit 3"
            )
        if only[BUILT] or only["reference_marts"]:
            found[table] = f"only in {BUILT}: {only[BUILT]}; only in reference_marts: {only['reference_marts']}"
    return found


@pytest.mark.e2e
def test_reference_sql_builds_the_same_marts_as_dbt(
    engine, landed_dirty: Path, start_from_built_dirty_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, workspace, query = engine
    start_from_built_dirty_run(target, workspace)  # `elt run --dirty` over landed_dirty
    workspace.env["ELT_LANDING_DIR"] = str(landed_dirty)
    deletes = query("select count(*) from raw.erp_order_lines where _op = 'delete'")[0][0]
    versions = query("select count(*) from marts.dim_customers where not is_current")[0][0]
    assert deletes > 0 and versions > 0, "the feed must cancel orders and change customers"

    for name, value in workspace.env.items():
        if name.startswith("PG"):
            monkeypatch.setenv(name, value)
    paths = Paths(PROJECT_DIR, workspace.landing_dir, workspace.duckdb_path, workspace.root / "state")
    seconds = run_reference(target, paths)
    assert seconds > 0

    marts = relations(query, BUILT)
    assert relations(query, "reference_marts") == marts
    tables = sorted(marts)
    empty = [table for table in tables if query(f"select count(*) from reference_marts.{table}") == [(0,)]]
    assert not empty, f"nothing to compare in {empty}"
    assert differences(query, tables) == {}
    # PostgreSQL's working tables (DuckDB's are temp tables) are dropped at the end.
    assert not relations(query, "reference_scratch")

    # The comparison notices a single cent.
    warehouse_execute(
        target,
        workspace.env,
        "update reference_marts.fct_orders set net_revenue = net_revenue + 0.01 "
        "where order_id = (select min(order_id) from reference_marts.fct_orders)",
    )
    assert list(differences(query, tables)) == ["fct_orders"]


def test_reference_sql_reads_only_raw_and_is_kept_alike_on_both_engines() -> None:
    """The reference runs on a warehouse that holds raw alone (the benchmark loads nothing
    else), and each engine has the same steps."""
    names = {engine: [path.name for path in reference_files(PROJECT_DIR, engine)] for engine in ENGINES}
    assert names["duckdb"] == names["postgres"]
    for engine in ENGINES:
        for path in reference_files(PROJECT_DIR, engine):
            sql = re.sub(r"--[^\n]*", "", path.read_text())
            sql = re.sub(r"extract\(\s*\w+\s+from", "extract(", sql, flags=re.IGNORECASE)
            schemas = set(re.findall(r"\b(?:from|join)\s+(\w+)\.\w+", sql, flags=re.IGNORECASE))
            assert schemas <= {"raw", "reference_marts"}, f"{path.relative_to(PROJECT_DIR)} reads {schemas}"
