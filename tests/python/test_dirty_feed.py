"""A dirty feed (`elt generate --dirty`): every injected fault ends where the report says it must.

The injector's report says what it did; these tests read the landed files themselves to check
the report is true, then hold the loader's quarantine, ledger and failure log to it, on both
engines. Nothing may be quarantined that the injector did not spoil, and no row may go missing.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from batches import erp_batches
from conftest import DIRTY_DAYS, DIRTY_SEED, make_workspace


def report(landing: Path) -> list[dict]:
    return json.loads((landing / "dirty-report.json").read_text())["injections"]


def test_dirty_generation_is_deterministic_and_covers_every_fault(tmp_path: Path, landed_export: Path, landed_dirty):
    again = make_workspace(tmp_path)
    shutil.copytree(landed_export, again.landing_dir)
    again.elt("generate", "--days", DIRTY_DAYS, "--seed", DIRTY_SEED, "--dirty")
    comparison = filecmp.dircmp(landed_dirty, again.landing_dir)
    assert comparison.left_only == comparison.right_only == []
    for batch in comparison.common_dirs:
        files = sorted(path.name for path in (landed_dirty / batch).iterdir())
        _, mismatched, errors = filecmp.cmpfiles(landed_dirty / batch, again.landing_dir / batch, files, shallow=False)
        assert mismatched == errors == [], batch
    assert filecmp.cmp(landed_dirty / "dirty-report.json", again.landing_dir / "dirty-report.json", shallow=False)

    kinds = {item["kind"] for item in report(landed_dirty)}
    assert kinds >= {
        "null_key",
        "malformed_key",
        "unparseable_date",
        "negative_quantity",
        "negative_price",
        "exact_duplicate",
        "delivered_twice",
        "lines_after_their_order",
        "lines_before_their_order",
        "added_column",
        "renamed_column",
        "truncated_parquet",
        "checksum_mismatch",
        "row_count_mismatch",
    }


def test_the_report_tells_the_truth_about_the_files(landed_dirty: Path) -> None:
    """Read each spoiled row from the parquet file itself, independently of the injector."""
    for item in report(landed_dirty):
        if item["expected"] != "quarantine":
            continue
        table = pq.read_table(landed_dirty / item["batch_id"] / f"{item['entity']}.parquet").to_pylist()
        for source_row in item["source_rows"]:
            row = table[source_row - 1]
            kind = item["kind"]
            if kind == "null_key":
                assert row["l_orderkey"] is None
            elif kind == "malformed_key":
                assert not str(row["l_orderkey"]).isdigit()
            elif kind == "unparseable_date":
                column = "l_shipdate" if item["entity"] == "order_lines" else "o_orderdate"
                assert "." in row[column]
            elif kind == "negative_quantity":
                assert row["l_quantity"] < 0
            elif kind == "negative_price":
                column = "l_extendedprice" if item["entity"] == "order_lines" else "o_totalprice"
                assert row[column] < 0
            elif kind == "exact_duplicate":
                assert row in table[: source_row - 1]

    # Held-back lines: the order's header is in its day's batch, its lines only in a later one.
    late = [item for item in report(landed_dirty) if item["kind"] == "lines_after_their_order" and item["order_keys"]]
    assert late, "no late lines injected"
    for item in late:
        day = item["batch_id"]
        orders_that_day = pq.read_table(landed_dirty / day / "orders.parquet").column("o_orderkey").to_pylist()
        later_lines = set()
        for batch in loaded_batches(landed_dirty):
            keys = set(map(str, pq.read_table(batch / "order_lines.parquet").column("l_orderkey").to_pylist()))
            if batch.name == day:
                assert keys.isdisjoint(map(str, item["order_keys"]))
            elif batch.name > day:
                later_lines |= keys
        assert set(item["order_keys"]) <= set(orders_that_day)
        if item["batch_id"] != loaded_batches(landed_dirty)[-1].name:  # the last day's are still in flight
            assert set(map(str, item["order_keys"])) <= later_lines


def loaded_batches(landing: Path) -> list[Path]:
    """The ERP's deliveries that must load: every batch except broken ones and the resent copy."""
    failing = {item["batch_id"] for item in report(landing) if item["expected"] in ("batch failure", "skipped")}
    return [path for path in erp_batches(landing) if path.name not in failing]


def test_every_fault_ends_in_quarantine_or_a_clear_batch_failure(engine, landed_dirty: Path) -> None:
    target, workspace, query = engine
    workspace.env["ELT_LANDING_DIR"] = str(landed_dirty)
    result = workspace.elt("load", "--target", target)
    injections = report(landed_dirty)

    # Quarantine holds exactly the spoiled rows, each with the reason the report predicts.
    expected = {
        (item["batch_id"], item["entity"], row): item["reason"]
        for item in injections
        if item["expected"] == "quarantine"
        for row in item["source_rows"]
    }
    quarantined = {
        (batch, entity, row): reasons
        for batch, entity, row, reasons in query(
            "select batch_id, entity, source_row, reasons from audit.quarantine "
            "where batch_id in (select batch_id from audit.load_batches where source = 'erp')"
        )
    }
    assert quarantined.keys() == expected.keys()
    for key, reason in expected.items():
        assert reason in quarantined[key], (key, quarantined[key])

    # Broken deliveries failed with a message naming the problem, wrote nothing, and were replaced.
    erp = {path.name for path in erp_batches(landed_dirty)}
    recorded = query("select batch_id, error from audit.load_failures")
    failures = {batch: error for batch, error in recorded if batch in erp}
    ledger_batches = {row[0] for row in query("select distinct batch_id from audit.load_batches")}
    for item in injections:
        if item["expected"] == "batch failure":
            assert item["reason"] in failures[item["batch_id"]]
            assert item["batch_id"] not in ledger_batches
            assert f"{item['batch_id']}-redelivered" in ledger_batches
        elif item["expected"] == "skipped":
            assert item["batch_id"] not in ledger_batches
            assert f"{item['batch_id']}: same content as" in " ".join(result.stdout.split())
    assert set(failures) == {item["batch_id"] for item in injections if item["expected"] == "batch failure"}

    # No row lost: every row of every delivery that loads is in raw or in quarantine.
    ledger = query(
        "select batch_id, entity, rows_in, rows_loaded, rows_quarantined from audit.load_batches where source = 'erp'"
    )
    assert {row[0] for row in ledger} == {path.name for path in loaded_batches(landed_dirty)}
    for batch_id, entity, rows_in, rows_loaded, rows_quarantined in ledger:
        assert rows_in == pq.read_metadata(landed_dirty / batch_id / f"{entity}.parquet").num_rows
        assert rows_in == rows_loaded + rows_quarantined
        assert query(f"select count(*) from raw.erp_{entity} where _batch_id = '{batch_id}'") == [(rows_loaded,)]
        in_quarantine = query(
            f"select count(*) from audit.quarantine where batch_id = '{batch_id}' and entity = '{entity}'"
        )
        assert in_quarantine == [(rows_quarantined,)]

    # The added column was loaded: present from its first batch on, null before.
    channel = Counter(
        dict(query("select _batch_id like '%export', count(o_sales_channel) from raw.erp_orders group by 1"))
    )
    assert channel[True] == 0 and channel[False] > 0
    added = query(
        "select distinct added_columns from audit.load_batches where entity = 'orders' and batch_kind = 'daily'"
    )
    assert added == [("o_sales_channel varchar",)]

    # Loading again changes nothing.
    counts = query("select (select count(*) from raw.erp_order_lines), (select count(*) from audit.quarantine)")
    workspace.elt("load", "--target", target)
    assert query("select (select count(*) from raw.erp_order_lines), (select count(*) from audit.quarantine)") == counts
    assert sorted(query("select batch_id, error from audit.load_failures")) == sorted(recorded)


def test_a_failed_batch_without_a_replacement_stops_the_load_in_order(engine, landed_dirty: Path) -> None:
    target, workspace, query = engine
    landing = workspace.root / "landing"
    shutil.copytree(landed_dirty, landing)
    workspace.env["ELT_LANDING_DIR"] = str(landing)
    broken = next(item["batch_id"] for item in report(landing) if item["kind"] == "truncated_parquet")
    shutil.rmtree(landing / f"{broken}-redelivered")

    result = workspace.elt("load", "--target", target, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert f"batch {broken} failed" in message and "not a readable parquet file" in message
    assert "stay pending" in message
    loaded = {row[0] for row in query("select distinct _business_date from raw.erp_orders")}
    assert max(loaded).strftime("%Y%m%d") < broken[:8], "a later business day loaded past the failed one"
