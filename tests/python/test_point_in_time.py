"""A fact row joins the dimension version valid on its order date, not the current one.

The test moves one customer to another market segment in the third daily batch. That
customer ordered in the export and orders again on day 3 itself. After `elt run`, its
earlier order lines must still carry the old segment, the day-3 lines the new one, and
"as of now" the customer is in the new segment. The expectations come from the landed
files, not from the warehouse.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batches import erp_batches
from conftest import TEST_DAYS, TEST_SCALE_FACTOR, TEST_SEED
from elt.generate.daily import SEGMENTS
from elt.generate.manifest import describe_file, read_manifest, write_manifest
from expected import replay

# The whole pipeline, over and over: in `make test`, not in `make test-fast`.
pytestmark = pytest.mark.e2e


def batch_dirs(landing_dir: Path) -> list[Path]:
    return erp_batches(landing_dir)


def rows(batch_dir: Path, entity: str) -> list[dict]:
    path = batch_dir / f"{entity}.parquet"
    return pq.read_table(path).to_pylist() if path.is_file() else []


def move_a_customer_on_day(landing_dir: Path, day: int) -> tuple[int, str, str, date]:
    """Rewrite daily batch `day` so that one customer with earlier orders changes segment.

    Returns (customer id, old segment, new segment, business date of the change).
    """
    batches = batch_dirs(landing_dir)
    export, changed_batch = batches[0], batches[day]
    manifest = read_manifest(changed_batch)
    earlier_customers: dict[int, dict] = {}
    for batch_dir in batches[:day]:
        earlier_customers.update({row["c_custkey"]: row for row in rows(batch_dir, "customers")})
    ordered_before = {row["o_custkey"] for row in rows(export, "orders")}
    day_customers = rows(changed_batch, "customers")
    already_changing = {row["c_custkey"] for row in day_customers}
    ordering_today = [
        row["o_custkey"]
        for row in rows(changed_batch, "orders")
        if row["_op"] == "insert" and row["o_orderdate"] == manifest.business_date
    ]
    customer_id = next(key for key in ordering_today if key in ordered_before and key not in already_changing)
    before = earlier_customers[customer_id]
    old_segment = before["c_mktsegment"]
    new_segment = next(segment for segment in SEGMENTS if segment != old_segment)

    path = changed_batch / "customers.parquet"
    schema = pq.read_schema(path)
    moved = {**before, "c_mktsegment": new_segment, "_op": "update"}
    pq.write_table(pa.Table.from_pylist([*day_customers, moved], schema=schema), path)
    files = tuple(
        describe_file(changed_batch, item.entity, item.path) if item.entity == "customers" else item
        for item in manifest.files
    )
    write_manifest(changed_batch, manifest.__class__(**{**manifest.__dict__, "files": files}))
    return customer_id, old_segment, new_segment, manifest.business_date


def test_order_lines_keep_the_segment_valid_on_their_order_date(engine, landed_days: Path) -> None:
    target, workspace, query = engine
    landing = workspace.root / "landing"
    shutil.copytree(landed_days, landing)
    workspace.env["ELT_LANDING_DIR"] = str(landing)
    day = int(TEST_DAYS)
    customer_id, old_segment, new_segment, change_date = move_a_customer_on_day(landing, day)

    workspace.elt(
        "run", "--target", target, "--scale-factor", TEST_SCALE_FACTOR, "--days", TEST_DAYS, "--seed", TEST_SEED
    )

    segments_by_order_date = query(
        f"""
        select lines.order_date >= date '{change_date}' as on_or_after_change, customers.market_segment, count(*)
        from marts.fct_order_lines as lines
        inner join marts.dim_customers as customers on lines.customer_sk = customers.customer_sk
        where lines.customer_id = {customer_id}
        group by 1, 2
        order by 1, 2
        """
    )
    orders = replay(landing, "orders", ("o_orderkey",))
    order_dates = {key: row["o_orderdate"] for (key,), row in orders.items() if row["o_custkey"] == customer_id}
    expected_lines: dict[bool, int] = {}
    for order_key, _ in replay(landing, "order_lines", ("l_orderkey", "l_linenumber")):
        if order_key in order_dates:
            on_or_after = order_dates[order_key] >= change_date
            expected_lines[on_or_after] = expected_lines.get(on_or_after, 0) + 1
    assert expected_lines.get(False) and expected_lines.get(True), expected_lines
    assert segments_by_order_date == [
        (False, old_segment, expected_lines[False]),
        (True, new_segment, expected_lines[True]),
    ]

    # "As of now" the customer is in the new segment; its history holds both versions, split on the change date.
    assert query(f"select market_segment from marts.dim_customers_current where customer_id = {customer_id}") == [
        (new_segment,)
    ]
    history = query(
        f"select market_segment, valid_from, valid_to, is_current from marts.dim_customers "
        f"where customer_id = {customer_id} order by valid_from"
    )
    assert [(segment, is_current) for segment, _, _, is_current in history][-2:] == [
        (old_segment, False),
        (new_segment, True),
    ]
    assert history[-2][2] == history[-1][1] == change_date
