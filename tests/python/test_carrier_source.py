"""The carrier's shipment-tracking events: a third simulated source, a JSON Lines feed.

`elt generate` lands the carrier's files beside the ERP's batches (elt.generate.carrier);
the loader takes them through the JSON Lines contract in models/staging/carrier/; dbt turns
them into fct_shipment_events, fct_shipments and rpt_carrier_on_time_delivery. What is
checked here is read back from the landed files themselves (Python's json module, pyarrow),
not from anything the pipeline wrote.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import pytest

from batches import erp_batches
from conftest import TEST_DAYS, TEST_SEED, make_workspace
from expected import replay

EVENT_TYPES = {"picked_up", "in_transit", "exception", "delivered"}
UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z?")
CARRIED_MODES = {"TRUCK", "RAIL"}


def carrier_batches(landing: Path) -> list[Path]:
    return sorted(
        path.parent
        for path in landing.glob("*/manifest.json")
        if json.loads(path.read_text()).get("source") == "carrier"
    )


def lines_of(batch: Path) -> list[str]:
    return [line for line in (batch / "shipment_events.jsonl").read_text(encoding="utf-8").splitlines() if line]


def events_of(batch: Path) -> list[dict]:
    return [json.loads(line) for line in lines_of(batch)]


def day_of(event: dict) -> date:
    return date.fromisoformat(event["event_at"][:10])


def file_day(batch: Path) -> date:
    return date.fromisoformat(f"{batch.name[:4]}-{batch.name[4:6]}-{batch.name[6:8]}")


def expected_refusals(lines: list[str]) -> dict[int, list[str]]:
    """Source row -> what the contract must say of it: the loader's rules, written again from the contract."""
    refusals: dict[int, list[str]] = {}
    first_copy: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        event = json.loads(line)
        reasons = []
        if line in first_copy:
            reasons.append(f"exact duplicate of source row {first_copy[line]}")
        first_copy.setdefault(line, number)
        if event["event_type"] not in EVENT_TYPES:
            reasons.append("event_type: not an event type of the contract")
        if not UTC_TIME.fullmatch(event["event_at"]):
            reasons.append("event_at: not written as a UTC timestamp")
        if event["order_key"] is None:
            reasons.append("order_key: missing")
        if reasons:
            refusals[number] = reasons
    return refusals


def in_event_order(events: list[dict]) -> list[dict]:
    """A shipment's events as fct_shipment_events numbers them: by event time, then id."""
    return sorted(events, key=lambda event: (event["event_at"], event["event_id"]))


def test_a_day_of_the_feed_depends_only_on_the_days_before_it(tmp_path: Path, landed_export: Path, landed_days: Path):
    """Landing one day, then the rest, gives the files of landing them all at once, byte for byte."""
    stepwise = make_workspace(tmp_path)
    shutil.copytree(landed_export, stepwise.landing_dir)
    stepwise.elt("generate", "--days", "1", "--seed", TEST_SEED)
    stepwise.elt("generate", "--days", TEST_DAYS, "--seed", TEST_SEED)
    expected = carrier_batches(landed_days)
    assert [path.name for path in carrier_batches(stepwise.landing_dir)] == [path.name for path in expected]
    for batch in expected:
        assert (stepwise.landing_dir / batch.name / "shipment_events.jsonl").read_bytes() == (
            batch / "shipment_events.jsonl"
        ).read_bytes(), batch.name


def test_the_feed_is_out_of_order_late_and_repeated_and_follows_the_erp(landed_days: Path) -> None:
    batches = carrier_batches(landed_days)
    assert [file_day(batch) for batch in batches] == [
        file_day(erp_batches(landed_days)[0]) + (file_day(batch) - file_day(batches[0])) for batch in batches
    ]
    assert len(batches) == int(TEST_DAYS) + 1
    files = [events_of(batch) for batch in batches]
    for batch, events in zip(batches, files, strict=True):
        # Clean: every event meets the contract; in no particular order; none dated after its file.
        assert all(event["event_type"] in EVENT_TYPES and UTC_TIME.fullmatch(event["event_at"]) for event in events)
        assert all(event["order_key"] is not None for event in events)
        assert [event["event_at"] for event in events] != sorted(event["event_at"] for event in events), batch.name
        assert max(day_of(event) for event in events) <= file_day(batch)
    # Some events are sent again the next day, a few twice in one file, some days late.
    sent_in = defaultdict(list)
    for batch, events in zip(batches, files, strict=True):
        for event in events:
            sent_in[event["event_id"]].append(batch.name)
    assert any(len(set(names)) > 1 for names in sent_in.values())
    assert any(count > 1 for names in sent_in.values() for count in Counter(names).values())
    first_seen = {event_id: names[0] for event_id, names in sent_in.items()}
    late = [
        event
        for batch, events in zip(batches[1:], files[1:], strict=True)
        for event in events
        if first_seen[event["event_id"]] == batch.name and day_of(event) < file_day(batch)
    ]
    assert late, "no scan reached the carrier's feed late"

    # The carrier's scans agree with the ERP's order lines: it carries TRUCK and RAIL freight,
    # picks up on the ERP's ship date, and delivers on or before the receipt date the ERP
    # holds (on it, unless the ERP completed the order after its delivery).
    lines = replay(landed_days, "order_lines", ("l_orderkey", "l_linenumber"))
    events = {event["event_id"]: event for file in files for event in file}.values()
    assert {lines[(event["order_key"], event["line_number"])]["l_shipmode"] for event in events} <= CARRIED_MODES
    picked_up = [event for event in events if event["event_type"] == "picked_up"]
    delivered = [event for event in events if event["event_type"] == "delivered"]
    assert picked_up and delivered
    for event in picked_up:
        assert day_of(event) == lines[(event["order_key"], event["line_number"])]["l_shipdate"], event
    same_day = 0
    for event in delivered:
        receipt = lines[(event["order_key"], event["line_number"])]["l_receiptdate"]
        assert day_of(event) <= receipt, event
        same_day += day_of(event) == receipt
    assert same_day > len(delivered) / 2
    # One tracking number per order line.
    tracking = {(event["order_key"], event["line_number"]): event["tracking_number"] for event in events}
    assert len(set(tracking.values())) == len(tracking)


def test_the_dirty_feed_refuses_events_and_cuts_a_file_off(landed_dirty: Path) -> None:
    backfill, refused_day, cut_off, corrected, *_ = carrier_batches(landed_dirty)
    events = events_of(refused_day)
    assert Counter(event["event_type"] for event in events)["out_for_delivery"] == 2
    assert len([event for event in events if event["event_at"].endswith("+02:00")]) == 2
    assert len([event for event in events if event["order_key"] is None]) == 1
    assert not expected_refusals(lines_of(backfill)).keys() - {
        number for number, reasons in expected_refusals(lines_of(backfill)).items() if "exact duplicate" in reasons[0]
    }
    # The cut-off file ends inside its last line; the corrected delivery holds the same lines, whole.
    broken = lines_of(cut_off)
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken[-1])
    whole = lines_of(corrected)
    assert whole[:-1] == broken[:-1] and whole[-1].startswith(broken[-1])
    assert json.loads((corrected / "manifest.json").read_text())["replaces"] == cut_off.name


@pytest.mark.e2e
def test_carrier_events_load_with_their_dirt_accounted_and_reconcile_with_the_erp(
    engine, landed_dirty: Path, start_from_built_dirty_run
) -> None:
    target, workspace, query = engine
    start_from_built_dirty_run(target, workspace)  # `elt run --dirty` over landed_dirty
    batches = carrier_batches(landed_dirty)
    cut_off = batches[2]

    # The cut-off file failed whole, with the line it could not read; every other file loaded,
    # each row in raw or in quarantine with the reasons the contract gives.
    failures = dict(query("select batch_id, error from audit.load_failures"))
    assert f"line {len(lines_of(cut_off))} is not one JSON object" in failures[cut_off.name]
    loaded = [batch for batch in batches if batch != cut_off]
    ledger = query(
        "select batch_id, rows_in, rows_loaded, rows_quarantined from audit.load_batches "
        "where source = 'carrier' order by batch_id"
    )
    assert [row[0] for row in ledger] == [batch.name for batch in loaded]
    valid: list[tuple[Path, dict]] = []
    for (batch_id, rows_in, rows_loaded, rows_quarantined), batch in zip(ledger, loaded, strict=True):
        lines = lines_of(batch)
        refusals = expected_refusals(lines)
        assert rows_in == len(lines) == rows_loaded + rows_quarantined and rows_quarantined == len(refusals)
        quarantined = dict(
            query(f"select source_row, reasons from audit.quarantine where batch_id = '{batch_id}' order by 1")
        )
        assert quarantined.keys() == refusals.keys(), batch_id
        for number, reasons in refusals.items():
            assert all(reason in quarantined[number] for reason in reasons), (batch_id, number, quarantined[number])
        valid += [(batch, json.loads(line)) for number, line in enumerate(lines, start=1) if number not in refusals]
    reasons = " ".join(row[0] for row in query("select reasons from audit.quarantine"))
    assert "event_type: not an event type" in reasons and "event_at: not written as a UTC timestamp" in reasons

    # The events fact: each event once (the first delivered copy), numbered by event time.
    first: dict[str, tuple[Path, dict]] = {}
    for batch, event in valid:
        first.setdefault(event["event_id"], (batch, event))
    by_shipment: dict[str, list[dict]] = defaultdict(list)
    for _, event in first.values():
        by_shipment[event["tracking_number"]].append(event)
    sequence = {}
    for shipment_events in by_shipment.values():
        ordered = in_event_order(shipment_events)
        sequence.update({event["event_id"]: number for number, event in enumerate(ordered, start=1)})
    want = {
        event_id: (
            event["tracking_number"],
            event["event_type"],
            sequence[event_id],
            file_day(batch),
            (file_day(batch) - day_of(event)).days,
        )
        for event_id, (batch, event) in first.items()
    }
    got = {
        row[0]: row[1:]
        for row in query(
            "select event_id, tracking_number, event_type, event_sequence, arrived_on, days_arrived_late "
            "from marts.fct_shipment_events"
        )
    }
    assert got == want

    # The shipments and their on-time measure, against the ERP's commit and receipt dates.
    erp = {(row[0], row[1]): row[2:] for row in query(
        "select order_id, line_number, commit_date, receipt_date from marts.fct_order_lines")}  # fmt: skip
    expected_shipments = {}
    erp_on_time: dict[str, bool | None] = {}
    for tracking_number, shipment_events in by_shipment.items():
        ordered = in_event_order(shipment_events)
        delivered = next((day_of(event) for event in ordered if event["event_type"] == "delivered"), None)
        key = (ordered[0]["order_key"], ordered[0]["line_number"])
        commit, receipt = erp.get(key, (None, None))
        measured = delivered is not None and key in erp
        expected_shipments[tracking_number] = (
            ordered[-1]["event_type"],
            delivered,
            key in erp,
            delivered <= commit if measured else None,
            receipt,
        )
        erp_on_time[tracking_number] = receipt <= commit if measured else None
    shipments = {
        row[0]: row[1:]
        for row in query(
            "select tracking_number, current_status, delivered_date, is_in_erp, is_delivered_on_time, "
            "erp_receipt_date from marts.fct_shipments"
        )
    }
    assert shipments == expected_shipments
    delivered_in_erp = [row for row in shipments.values() if row[1] is not None and row[2]]
    assert all(receipt >= delivered for _, delivered, _, _, receipt in delivered_in_erp)
    booked_later = [row for row in delivered_in_erp if row[4] != row[1]]
    assert booked_later, "the dirty feed's ERP completes some orders after the carrier delivered them"

    # The monthly report counts those shipments, exactly; the two on-time counts differ only
    # where the ERP booked a receipt on another day than the delivery.
    monthly: dict[date, Counter] = defaultdict(Counter)
    for tracking_number, (_, delivered, in_erp, on_time, receipt) in expected_shipments.items():
        if delivered is None:
            continue
        month = monthly[delivered.replace(day=1)]
        month["delivered"] += 1
        month["on_time"] += bool(on_time)
        month["erp_on_time"] += bool(erp_on_time[tracking_number])
        month["booked_another_day"] += in_erp and receipt != delivered
        month["not_in_erp"] += not in_erp
    report = query(
        "select delivery_month, delivered_shipment_count, on_time_shipment_count, erp_on_time_shipment_count, "
        "receipt_booked_another_day_count, not_in_erp_count from marts.rpt_carrier_on_time_delivery"
    )
    names = ("delivered", "on_time", "erp_on_time", "booked_another_day", "not_in_erp")
    assert {row[0]: row[1:] for row in report} == {
        month: tuple(counts[name] for name in names) for month, counts in monthly.items()
    }
