"""Fingerprints of a warehouse, to compare a faulted run with a clean one.

`fingerprint` covers the raw layer and the load ledger (what `elt load` writes);
`warehouse_fingerprint` every table and view in raw, snapshots and marts (what `elt run` writes).
"""

from __future__ import annotations

import subprocess

from conftest import ELT, PROJECT_DIR, fresh_postgres_database, warehouse_query

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
    ledger = query("select batch_id, entity, rows_in, rows_loaded, rows_quarantined from audit.load_batches")
    for batch_id, entity, rows_in, rows_loaded, rows_quarantined in ledger:
        assert rows_in == rows_loaded + rows_quarantined, (batch_id, entity)
        loaded = query(f"select count(*) from raw.erp_{entity} where _batch_id = '{batch_id}'")
        assert loaded == [(rows_loaded,)], (batch_id, entity)


def clean_fingerprint(workspace, target: str) -> dict[str, tuple]:
    """The fingerprint of the workspace's landing area loaded once into a fresh, empty warehouse."""
    command = [str(ELT), "load", "--target", target]
    if target == "dev":
        env = {**workspace.env, "WAREHOUSE_DUCKDB_PATH": str(workspace.root / "clean.duckdb")}
        subprocess.run(command, cwd=PROJECT_DIR, env=env, check=True, capture_output=True)
        return fingerprint(warehouse_query(target, env))
    with fresh_postgres_database(workspace.env) as database_env:
        env = {**workspace.env, **database_env}
        subprocess.run(command, cwd=PROJECT_DIR, env=env, check=True, capture_output=True)
        return fingerprint(warehouse_query(target, env))


# What a consumer or the next run can read: the loaded rows, their history and the marts.
WAREHOUSE_SCHEMAS = ("raw", "snapshots", "marts")
# Columns stamped with the wall-clock time of the run that wrote them, so they differ between
# two runs of the same data: the loader's _loaded_at in raw, carried into the snapshots as
# loaded_at. Everything else, snapshot validity included, derives from business dates.
WALL_CLOCK_COLUMNS = frozenset({"_loaded_at", "loaded_at"})
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
# Each row becomes the md5 of its values as text, and the relation's hash is the md5 of those
# row hashes sorted: the same rows in any physical order give the same hash, and a row
# doubled or lost changes it.
CONTENT_QUERY = """
    with row_hashes as (
        select md5({row_text}) as row_hash
        from {schema}.{table}
    )
    select count(*), coalesce(md5(string_agg(row_hash, ',' order by row_hash)), '')
    from row_hashes
"""


def _value_as_text(column: str) -> str:
    # cast(... as varchar) prints dates, timestamps, decimals and booleans alike on DuckDB and
    # PostgreSQL ('1998-08-02 00:00:00', '12.50', 'true'), the same in every run.
    return f"coalesce(cast(\"{column}\" as varchar), '<null>')"


def relation_fingerprint(query, schema: str, table: str) -> tuple[tuple[tuple[str, str], ...], int, str]:
    """(columns with their types, row count, content hash) of one table or view, wall-clock columns left out."""
    columns = tuple(
        (name, data_type)
        for name, data_type in query(COLUMNS_QUERY.format(schema=schema, table=table))
        if name not in WALL_CLOCK_COLUMNS
    )
    # The unit separator (chr 31) between values: it occurs in no text the ERP sends, so
    # ('a', 'bc') and ('ab', 'c') hash differently.
    row_text = " || chr(31) || ".join(_value_as_text(name) for name, _ in columns)
    rows, content_hash = query(CONTENT_QUERY.format(row_text=row_text, schema=schema, table=table))[0]
    return columns, rows, content_hash


def warehouse_fingerprint(query, schemas: tuple[str, ...] = WAREHOUSE_SCHEMAS) -> dict[str, tuple]:
    """schema.relation -> relation_fingerprint for every table and view in `schemas`, as listed by the database."""
    listed = ", ".join(f"'{schema}'" for schema in schemas)
    return {
        f"{schema}.{table}": relation_fingerprint(query, schema, table)
        for schema, table in query(RELATIONS_QUERY.format(schemas=listed))
    }


def differences(left: dict[str, tuple], right: dict[str, tuple]) -> dict[str, tuple]:
    """The relations whose fingerprints differ (or exist on one side only), for readable assertion messages."""
    return {
        name: (left.get(name, (None, None, None))[1:], right.get(name, (None, None, None))[1:])
        for name in sorted(left.keys() | right.keys())
        if left.get(name) != right.get(name)
    }
