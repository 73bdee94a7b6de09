"""Every `elt run` leaves its metrics in audit.run_history, checked against the landed files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

RAW_TABLES = (
    "erp_regions",
    "erp_nations",
    "erp_customers",
    "erp_suppliers",
    "erp_parts",
    "erp_part_suppliers",
    "erp_orders",
    "erp_order_lines",
    "finance_sales_targets",
    "carrier_shipment_events",
)


def file_rows(path: Path) -> int:
    """Data rows in a landed file, read with the file type's own reader (parquet footer, CSV records, JSON lines)."""
    if path.suffix == ".parquet":
        return pq.read_metadata(path).num_rows
    if path.suffix == ".jsonl":
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1  # the header


@pytest.mark.e2e
def test_a_run_records_its_batches_rows_quality_and_tests(
    engine, landed_dirty: Path, start_from_built_dirty_run
) -> None:
    target, workspace, query = engine
    # The whole job over the dirty feed, docs and dashboards included: the run records each of its stages.
    start_from_built_dirty_run(target, workspace)
    workspace.env["ELT_LANDING_DIR"] = str(landed_dirty)

    (row,) = query(
        "select status, batches_loaded, batches_failed, rows_in, rows_loaded, rows_quarantined, quarantine_rate, "
        "completeness, dbt_builds, tests_failed, tests_passed, published_version, stage_seconds, error "
        "from audit.run_history"
    )
    (status, loaded, failed, rows_in, rows_loaded, quarantined, quarantine_rate, completeness, builds,
     tests_failed, tests_passed, published, stage_seconds, error) = row  # fmt: skip

    # Batches and rows, from the files themselves and the tables, not from the loader's ledger.
    loaded_batches = [batch for (batch,) in query("select distinct batch_id from audit.load_batches")]
    landed_rows = sum(
        file_rows(path)
        for batch in loaded_batches
        for path in (workspace.landing_dir / batch).iterdir()
        if path.suffix in {".parquet", ".csv", ".jsonl"}
    )
    raw_rows = sum(query(f"select count(*) from raw.{table}")[0][0] for table in RAW_TABLES)
    quarantine_rows = query("select count(*) from audit.quarantine")[0][0]
    failed_batches = query("select count(distinct batch_id) from audit.load_failures")[0][0]
    assert (status, error) == ("success", None)
    assert loaded == len(loaded_batches) and failed == failed_batches > 0
    assert (rows_in, rows_loaded, quarantined) == (landed_rows, raw_rows, quarantine_rows)
    assert quarantined > 0
    assert quarantine_rate == pytest.approx(quarantine_rows / landed_rows)
    assert completeness == pytest.approx(raw_rows / landed_rows)
    # One build over every loaded batch (decision 0022), green, and the version it published is the live one.
    assert builds == 1 and tests_failed == 0
    assert published == query("select version from audit.publish_log where status = 'live'")[0][0]
    assert set(json.loads(stage_seconds)) == {"generate", "load + build", "publish", "docs", "dashboards"}

    # Per-node results of the last build equal dbt's own run_results.json.
    last_build = json.loads((workspace.dbt_target_dir / "build_run_results.json").read_text())
    recorded = dict(
        query(
            "select unique_id, status from audit.run_node_results "
            "where build_number = (select max(build_number) from audit.run_node_results)"
        )
    )
    assert recorded == {result["unique_id"]: result["status"] for result in last_build["results"]}
    passed_in_builds = query(
        "select count(*) from audit.run_node_results where resource_type in ('test', 'unit_test') and status = 'pass'"
    )[0][0]
    assert tests_passed == passed_in_builds > 0

    status_output = workspace.elt("status", "--target", target).stdout
    assert f"Live marts version: {published}" in status_output
    assert "Freshness of erp OK" in status_output
