"""Finance's monthly sales targets: a second simulated source, a hand-edited CSV spreadsheet.

`elt generate` lands finance's targets beside the ERP's batches (elt.generate.finance); the
loader takes them through the CSV contract in models/staging/finance/; dbt turns them into
fct_sales_targets and rpt_revenue_against_target. What is checked here is read back from the
CSV files themselves (Python's csv module), not from anything the pipeline wrote.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

PLAIN_AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
SEGMENT_NAMES = {"AUTOMOTIVE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY"}


def finance_batches(landing: Path) -> list[Path]:
    return sorted(
        path.parent
        for path in landing.glob("*/manifest.json")
        if json.loads(path.read_text()).get("source") == "finance"
    )


def spreadsheet(batch: Path) -> tuple[list[str], list[list[str]]]:
    with (batch / "sales_targets.csv").open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def test_the_spreadsheet_is_generated_with_the_dirt_a_person_leaves(landed_days: Path, landed_dirty: Path) -> None:
    clean = finance_batches(landed_days)
    assert [path.name for path in clean] == [clean[0].name] and clean[0].name.endswith("-finance")
    header, rows = spreadsheet(clean[0])
    assert header == ["target_month", "region", "segment", "revenue_target"]
    months = {row[0] for row in rows}
    assert min(months) == "1992-01-01" and len(rows) == 25 * len(months)
    assert all(PLAIN_AMOUNT.match(row[3]) and row[1] == row[1].strip() for row in rows)

    # --dirty: the export day's stays clean; the next day the last three months come revised,
    # under a renamed header first, then corrected in header and hand-edited in its cells.
    export_day, revision, corrected = finance_batches(landed_dirty)
    assert spreadsheet(export_day) == (header, rows)
    assert spreadsheet(revision)[0][3] == "revenue target (USD)"
    revised = spreadsheet(revision)[1]
    assert len(revised) == 3 * 25 and {row[0] for row in revised} == set(sorted(months)[-3:])
    assert [row[3] for row in revised] != [row[3] for row in rows if row[0] in {r[0] for r in revised}]
    corrected_header, edited = spreadsheet(corrected)
    assert corrected_header == header and len(edited) == len(revised)
    assert len([row for row in edited if "," in row[3]]) == 3
    assert len([row for row in edited if row[3] != row[3].strip()]) == 2
    assert len([row for row in edited if row[1] != row[1].strip()]) == 3
    untouched = [(a, b) for a, b in zip(edited, revised, strict=True) if a == b]
    assert len(untouched) == len(revised) - 8
    assert json.loads((corrected / "manifest.json").read_text())["replaces"] == revision.name


def expected_targets(landing: Path, loaded: set[str]) -> dict[tuple[date, str, str], Decimal]:
    """(month, REGION, SEGMENT) -> the newest plainly written target of the batches that loaded."""
    targets: dict[tuple[date, str, str], Decimal] = {}
    for batch in finance_batches(landing):
        if batch.name not in loaded:
            continue
        for month, region, segment, amount in spreadsheet(batch)[1]:
            if PLAIN_AMOUNT.match(amount):
                targets[(date.fromisoformat(month), region.strip().upper(), segment.strip().upper())] = Decimal(amount)
    return targets


@pytest.mark.e2e
def test_finance_targets_load_with_their_dirt_accounted_and_reach_the_report(
    engine, landed_dirty: Path, start_from_built_dirty_run
) -> None:
    target, workspace, query = engine
    start_from_built_dirty_run(target, workspace)  # `elt run --dirty` over landed_dirty
    export_day, revision, corrected = finance_batches(landed_dirty)

    # Every row of every finance delivery that loaded is in raw or in quarantine, with a reason.
    ledger = query(
        "select batch_id, rows_in, rows_loaded, rows_quarantined from audit.load_batches "
        "where source = 'finance' order by batch_id"
    )
    assert [row[0] for row in ledger] == [export_day.name, corrected.name]
    for batch_id, rows_in, rows_loaded, rows_quarantined in ledger:
        rows = spreadsheet(landed_dirty / batch_id)[1]
        assert rows_in == len(rows) == rows_loaded + rows_quarantined
        refused = [number for number, row in enumerate(rows, start=1) if not PLAIN_AMOUNT.match(row[3])]
        quarantined = query(
            f"select source_row, reasons from audit.quarantine where batch_id = '{batch_id}' order by source_row"
        )
        assert [row[0] for row in quarantined] == refused and rows_quarantined == len(refused)
        for number, reasons in quarantined:
            amount = rows[number - 1][3]
            # A separator is no number at all; stray spaces around one are not plainly written.
            said = "not a decimal(15, 2)" if "," in amount else "not written as a plain decimal number"
            assert f"revenue_target: {said}" in reasons and amount in reasons, (number, reasons)
    assert query("select count(*) from raw.finance_sales_targets") == [(sum(row[2] for row in ledger),)]
    failures = dict(query("select batch_id, error from audit.load_failures"))
    assert "'revenue_target'" in failures[revision.name] and "revenue target (usd)" in failures[revision.name]

    # The report: finance's newest targets against the monthly revenue report, to the cent.
    want = expected_targets(landed_dirty, {row[0] for row in ledger})
    assert {key[2] for key in want} == SEGMENT_NAMES
    report = {
        (month, region, segment.upper()): (revenue, target, over, attainment)
        for month, region, segment, revenue, target, over, attainment in query(
            "select report_month, region_name, market_segment_name, net_revenue, revenue_target, "
            "revenue_over_target, target_attainment from marts.rpt_revenue_against_target"
        )
    }
    assert {key: row[1] for key, row in report.items() if row[1] is not None} == want
    revenue = {
        (month, region, segment.upper()): amount
        for month, region, segment, amount in query(
            "select order_month, region_name, market_segment_name, net_revenue "
            "from marts.rpt_monthly_revenue_by_region_segment"
        )
    }
    assert {key: row[0] for key, row in report.items() if key in revenue} == revenue
    for key, (net, goal, over, attainment) in report.items():
        if goal is None:
            assert over is None and attainment is None, key
            continue
        assert net == revenue.get(key, Decimal("0.00")), key
        assert over == net - goal, key
        # A presentation ratio: DuckDB divides decimals as doubles, so the 4th decimal may round either way
        # at an exact half; the money columns above are exact.
        assert abs(attainment - (net / goal).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)) <= Decimal(
            "0.0001"
        ), key
