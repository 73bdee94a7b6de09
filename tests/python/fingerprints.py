"""Fingerprints of a warehouse's raw layer and ledger, to compare a faulted run with a clean one."""

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
