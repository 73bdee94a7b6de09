"""SCD history does not depend on how often the pipeline runs.

`elt run` builds (snapshots included) after every batch it loads, so one run that catches
up several business days must leave the same snapshot history as one run per day. A load
of all the days followed by a single build keeps fewer versions, and the test checks that
difference too, so it can tell the two apart.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

from conftest import TEST_DAYS, TEST_SEED, fresh_postgres_database, make_workspace, warehouse_query

HISTORY = {
    "snp_erp__customers": "customer_id, customer_address, account_balance, market_segment",
    "snp_erp__suppliers": "supplier_id, supplier_address, account_balance",
    "snp_erp__parts": "part_id, retail_price",
    "snp_erp__part_suppliers": "part_id, supplier_id, available_quantity, supply_cost",
}
VERSION_COLUMNS = "is_deleted, source_business_date, dbt_valid_from, dbt_valid_to, dbt_scd_id"


def history(query) -> dict[str, list[tuple]]:
    return {
        table: query(f"select {columns}, {VERSION_COLUMNS} from snapshots.{table} order by {columns}, dbt_valid_from")
        for table, columns in HISTORY.items()
    }


def pipeline(root: Path, landed_export: Path, target: str, server_env: dict, stack: ExitStack):
    """A workspace with its own landing copy of the export and its own, empty warehouse."""
    shutil.copytree(landed_export, root / "landing")
    workspace = make_workspace(root)
    if target == "pg":
        workspace.env.update(stack.enter_context(fresh_postgres_database(server_env)))
    return workspace, warehouse_query(target, workspace.env)


def test_catching_up_gives_the_same_history_as_daily_runs(engine, landed_export: Path, tmp_path: Path) -> None:
    target, first, _ = engine
    server_env = {key: value for key, value in first.env.items() if key.startswith("PG")}
    with ExitStack() as stack:
        catch_up, catch_up_query = pipeline(tmp_path / "catch-up", landed_export, target, server_env, stack)
        catch_up.elt("run", "--target", target, "--days", TEST_DAYS, "--seed", TEST_SEED)

        daily, daily_query = pipeline(tmp_path / "daily", landed_export, target, server_env, stack)
        for days in range(int(TEST_DAYS) + 1):
            daily.elt("run", "--target", target, "--days", str(days), "--seed", TEST_SEED)

        once, once_query = pipeline(tmp_path / "built-once", landed_export, target, server_env, stack)
        once.elt("generate", "--days", TEST_DAYS, "--seed", TEST_SEED)
        once.elt("load", "--target", target)
        once.elt("run", "--target", target, "--days", TEST_DAYS, "--seed", TEST_SEED)

        caught_up = history(catch_up_query)
        assert caught_up == history(daily_query)
        versions = sum(len(rows) for rows in caught_up.values())
        keys = sum(
            len({row[0] if table != "snp_erp__part_suppliers" else row[:2] for row in rows})
            for table, rows in caught_up.items()
        )
        assert versions > keys, "no record changed: the history has nothing to compare"
        assert history(once_query) != caught_up, "building once after all loads should lose versions"
