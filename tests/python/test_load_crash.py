"""A load killed at any moment leaves no partial batch, and a rerun ends equal to a clean load."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from conftest import ELT, PROJECT_DIR, fresh_postgres_database, warehouse_query
from elt.faults import KILL_AT_VARIABLE

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


# Where the loader can die: before anything is written, mid-transaction after some entities
# are written, just before the commit, and just after it (before the next batch starts).
KILL_POINTS = ("after-verify", "after-stage", "after-write-orders", "before-commit", "after-commit")


def test_killed_loads_then_rerun_equal_a_clean_load(engine, landed_days: Path) -> None:
    target, workspace, query = engine
    workspace.env["ELT_LANDING_DIR"] = str(landed_days)

    # Two rounds: the first dies in the export, the second in the first daily batch.
    for point in KILL_POINTS * 2:
        killed = subprocess.run(
            [str(ELT), "load", "--target", target],
            cwd=PROJECT_DIR,
            env={**workspace.env, KILL_AT_VARIABLE: point},
            capture_output=True,
            check=False,
        )
        assert killed.returncode == -signal.SIGKILL, (point, killed.returncode, killed.stderr[-2000:])

    workspace.elt("load", "--target", target)
    after_crashes = fingerprint(query)
    # Every ledger row is a complete batch: its rows are all in raw, no more, no less.
    for batch_id, entity, rows_in, rows_loaded, rows_quarantined in after_crashes["ledger"]:
        assert rows_in == rows_loaded + rows_quarantined
        loaded = query(f"select count(*) from raw.erp_{entity} where _batch_id = '{batch_id}'")
        assert loaded == [(rows_loaded,)], (batch_id, entity)

    # A clean load of the same landing area into a fresh warehouse gives the same raw content.
    if target == "dev":
        clean_env = {**workspace.env, "WAREHOUSE_DUCKDB_PATH": str(workspace.root / "clean.duckdb")}
        assert fingerprint(clean_load(workspace, target, clean_env)) == after_crashes
    else:
        with fresh_postgres_database(workspace.env) as database_env:
            clean_env = {**workspace.env, **database_env}
            assert fingerprint(clean_load(workspace, target, clean_env)) == after_crashes


def clean_load(workspace, target: str, env: dict[str, str]):
    workspace.env = env
    workspace.elt("load", "--target", target)
    return warehouse_query(target, env)
