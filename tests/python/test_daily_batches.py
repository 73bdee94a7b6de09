"""Daily change batches: deterministic, and inserts, updates and deletes reach the marts exactly."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from batches import erp_batches
from conftest import TEST_DAYS, TEST_SCALE_FACTOR, TEST_SEED, make_workspace
from expected import net_revenue_of, replay


def landed_files(landing_dir: Path) -> list[Path]:
    return sorted(path.relative_to(landing_dir) for path in landing_dir.rglob("*") if path.is_file())


def test_daily_batches_are_deterministic_and_dated_after_the_export(tmp_path: Path, landed_export: Path, landed_days):
    again = make_workspace(tmp_path)
    shutil.copytree(landed_export, again.landing_dir)
    again.elt("generate", "--scale-factor", TEST_SCALE_FACTOR, "--days", TEST_DAYS, "--seed", TEST_SEED)
    files = landed_files(landed_days)
    assert files == landed_files(again.landing_dir)
    for relative in files:
        assert (landed_days / relative).read_bytes() == (again.landing_dir / relative).read_bytes(), relative

    manifests = [json.loads((path / "manifest.json").read_text()) for path in erp_batches(landed_days)]
    dates = [manifest["business_date"] for manifest in manifests]
    assert len(manifests) == 1 + int(TEST_DAYS)
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    for manifest in manifests[1:]:
        assert manifest["batch_kind"] == "daily"
        entities = {item["entity"] for item in manifest["files"]}
        assert {"orders", "order_lines", "customers", "parts", "part_suppliers"} <= entities


def test_changes_reach_staging_and_marts_on_each_engine(engine, landed_days: Path) -> None:
    target, workspace, query = engine
    workspace.env["ELT_LANDING_DIR"] = str(landed_days)
    workspace.elt("run", "--target", target, "--scale-factor", TEST_SCALE_FACTOR, "--days", TEST_DAYS)

    ops = dict(query("select _op, count(*) from raw.erp_orders group by _op"))
    assert ops.get("delete", 0) > 0 and ops.get("update", 0) > 0 and ops["insert"] > 15_000

    orders = replay(landed_days, "orders", ("o_orderkey",))
    lines = replay(landed_days, "order_lines", ("l_orderkey", "l_linenumber"))
    customers = replay(landed_days, "customers", ("c_custkey",))
    assert query("select count(*) from staging.stg_erp__orders where not is_deleted") == [(len(orders),)]
    assert query("select count(*) from marts.fct_order_lines") == [(len(lines),)]

    status_counts = query(
        "select order_status_code, count(*) from staging.stg_erp__orders where not is_deleted group by 1 order by 1"
    )
    expected_status: dict[str, int] = {}
    for row in orders.values():
        expected_status[row["o_orderstatus"]] = expected_status.get(row["o_orderstatus"], 0) + 1
    assert dict(status_counts) == expected_status

    revenue = net_revenue_of((row["l_extendedprice"], row["l_discount"]) for row in lines.values())
    assert query("select sum(net_revenue) from marts.fct_order_lines") == [(revenue,)]

    balances = sum((row["c_acctbal"] for row in customers.values()), Decimal(0))
    current = "select sum(account_balance), count(*) from marts.dim_customers_current"
    assert query(current) == [(balances, len(customers))]
    # One dimension version per batch a customer appears in (none is deleted), plus the unknown member.
    appearances = sum(
        pq.read_metadata(batch_dir / "customers.parquet").num_rows
        for batch_dir in landed_days.iterdir()
        if (batch_dir / "customers.parquet").is_file()
    )
    assert appearances > len(customers), "no customer changed: the history has nothing to show"
    assert query("select count(*) from marts.dim_customers") == [(appearances + 1,)]
