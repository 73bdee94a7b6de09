"""Fingerprints of a warehouse, to compare a faulted run with a clean one.

`fingerprint` covers the raw layer and the load ledger (what `elt load` writes);
`relation_fingerprint` one table or view; `warehouse_fingerprint` every table and view in
raw, intermediate (the derived history), marts and marts_build (what `elt run` writes).
"""

from __future__ import annotations

import subprocess

from conftest import ELT, fresh_postgres_database, warehouse_query

# Order-independent fingerprint of raw: which versions of which rows arrived from which batch.
RAW_FINGERPRINT = """
    select count(*), md5(string_agg(_batch_id || ':' || _op || ':' || _row_hash, ',' order by
        _batch_id, _source_file, _source_row))
    from raw.{table}
"""
TABLES = ("erp_orders", "erp_order_lines", "erp_customers", "erp_parts", "erp_part_suppliers")


def fingerprint(query) -> dict[str, tuple]:
    state = {table: tuple(query(RAW_FINGERPRINT.format(table=table))[0]) for table in TABLES}
    state["ledger"] = tuple(
        query("select batch_id, entity, rows_in, rows_loaded, rows_quarantined from audit.load_batches order by 1, 2")
    )
    return state


def assert_every_ledger_batch_complete(query) -> None:
    """Every ledger row is a complete batch: its rows are all in raw, no more, no less."""
    ledger = query("select batch_id, source, entity, rows_in, rows_loaded, rows_quarantined from audit.load_batches")
    for batch_id, source, entity, rows_in, rows_loaded, rows_quarantined in ledger:
        assert rows_in == rows_loaded + rows_quarantined, (batch_id, entity)
        loaded = query(f"select count(*) from raw.{source}_{entity} where _batch_id = '{batch_id}'")
        assert loaded == [(rows_loaded,)], (batch_id, entity)


def clean_fingerprint(workspace, target: str) -> dict[str, tuple]:
    """The fingerprint of the workspace's landing area loaded once into a fresh, empty warehouse."""
    command = [str(ELT), "load", "--target", target]
    if target == "dev":
        env = {**workspace.env, "WAREHOUSE_DUCKDB_PATH": str(workspace.root / "clean.duckdb")}
        subprocess.run(command, cwd=workspace.root, env=env, check=True, capture_output=True)
        return fingerprint(warehouse_query(target, env))
    with fresh_postgres_database(workspace.env) as database_env:
        env = {**workspace.env, **database_env}
        subprocess.run(command, cwd=workspace.root, env=env, check=True, capture_output=True)
        return fingerprint(warehouse_query(target, env))


def relation_fingerprint(query, relation: str, columns: list[str] | None = None) -> tuple:
    """(row count, order-independent hash of the rows) of a table or view, or of some of its columns."""
    selected = ", ".join(columns) if columns else "*"
    # Each row as text (a row value on PostgreSQL, a struct on DuckDB), sorted, then hashed.
    return tuple(
        query(
            f"select count(*), md5(coalesce(string_agg(row_text, '|' order by row_text), '')) from ("
            f"select cast(row_value as varchar) as row_text from (select {selected} from {relation}) as row_value"
            ") as rows_as_text"
        )[0]
    )


# What a consumer or the next run reads: the loaded rows, their history (intermediate's
# int_<entity>__versioned), the published marts (views over the live version) and dbt's
# build of them, which the next incremental run starts from.
WAREHOUSE_SCHEMAS = ("raw", "intermediate", "marts", "marts_build")
# Columns stamped with the wall-clock time of the run that wrote them, so they differ between
# two runs of the same data: the loader's _loaded_at in raw, carried into staging as
# loaded_at, and built_at, the start of the dbt build that wrote a row of an incremental
# model. Everything else, history validity included, derives from business dates.
WALL_CLOCK_COLUMNS = frozenset({"_loaded_at", "loaded_at", "built_at"})
RELATIONS_QUERY = """
    select table_schema, table_name
    from information_schema.tables
    where table_schema in ({schemas})
    order by table_schema, table_name
"""
COLUMNS_QUERY = """
    select column_name, data_type
    from information_schema.columns
    where table_schema = '{schema}' and table_name = '{table}'
    order by ordinal_position
"""


def content_fingerprint(query, schema: str, table: str) -> tuple:
    """(columns with their types, row count, content hash) of one table or view, wall-clock columns left out."""
    columns = tuple(
        (name, data_type)
        for name, data_type in query(COLUMNS_QUERY.format(schema=schema, table=table))
        if name not in WALL_CLOCK_COLUMNS
    )
    rows, content_hash = relation_fingerprint(query, f"{schema}.{table}", [f'"{name}"' for name, _ in columns])
    return columns, rows, content_hash


def warehouse_fingerprint(query, schemas: tuple[str, ...] = WAREHOUSE_SCHEMAS) -> dict[str, tuple]:
    """schema.relation -> content_fingerprint for every table and view in `schemas`, as listed by the database."""
    listed = ", ".join(f"'{schema}'" for schema in schemas)
    return {
        f"{schema}.{table}": content_fingerprint(query, schema, table)
        for schema, table in query(RELATIONS_QUERY.format(schemas=listed))
    }


def differences(left: dict[str, tuple], right: dict[str, tuple]) -> dict[str, tuple]:
    """The relations whose fingerprints differ (or exist on one side only), for readable assertion messages."""
    return {
        name: (left.get(name, (None, None, None))[1:], right.get(name, (None, None, None))[1:])
        for name in sorted(left.keys() | right.keys())
        if left.get(name) != right.get(name)
    }
