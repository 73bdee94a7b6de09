"""Finance's monthly sales targets, simulated: the spreadsheet export a finance team sends.

One CSV per delivery (source `finance`, models/staging/finance/_finance__sources.yml): a
revenue target per month, sales region and market segment, as finance labels them
("Asia", "Building"). The first delivery, on the ERP export's business date, holds every
month of the ERP's history up to the export's month; then one delivery on each first day of
a month the daily batches reach. Targets are set near what the ERP actually sold in that
cell (its export, net of discount), times a factor drawn per cell from the seed, rounded to
a thousand dollars, so the report of actual against target has something to say.

With --dirty, on the day after the export finance re-sends its last three months, revised
and hand-edited as spreadsheets are: first under a renamed header (the batch fails), then,
the same day, as a corrected re-delivery that replaces it, in which some amounts carry a
thousands separator or stray spaces (the loader quarantines them: a number is taken only as
plainly written) and some labels carry stray spaces (accepted; staging trims them). The
export day's delivery stays clean, as the ERP's export does.
"""

from __future__ import annotations

import csv
import random
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from elt.generate.manifest import MANIFEST_NAME, Manifest, read_manifest
from elt.land import land_files

FINANCE = "finance"
MONTHLY_KIND = "monthly"
HEADER = ("target_month", "region", "segment", "revenue_target")
RENAMED_HEADER = ("target_month", "region", "segment", "revenue target (USD)")
# The first month of the ERP's orders (TPC-H order dates start on 1992-01-01).
FIRST_MONTH = date(1992, 1, 1)
SEGMENT_LABELS = {
    "AUTOMOBILE": "Automotive",
    "BUILDING": "Building",
    "FURNITURE": "Furniture",
    "HOUSEHOLD": "Household",
    "MACHINERY": "Machinery",
}

ACTUALS = """
    select
        cast(date_trunc('month', orders.o_orderdate) as date) as order_month,
        regions.r_name as region,
        customers.c_mktsegment as segment,
        sum(lines.l_extendedprice * (1 - lines.l_discount)) as net_revenue
    from read_parquet($order_lines) as lines
    inner join read_parquet($orders) as orders on lines.l_orderkey = orders.o_orderkey
    inner join read_parquet($customers) as customers on orders.o_custkey = customers.c_custkey
    inner join read_parquet($nations) as nations on customers.c_nationkey = nations.n_nationkey
    inner join read_parquet($regions) as regions on nations.n_regionkey = regions.r_regionkey
    group by all
"""


def generate_finance(
    landing_dir: Path, export: Manifest, days: int, seed: int, dirty: bool
) -> list[tuple[Manifest, bool]]:
    """Land finance's deliveries up to `days` after the export, those not landed yet."""
    deliveries = [(export.business_date, _months(FIRST_MONTH, export.business_date))]
    for day in range(1, days + 1):
        business_date = export.business_date + timedelta(days=day)
        if business_date.day == 1:
            deliveries.append((business_date, [business_date]))
    pending = [item for item in deliveries if not _landed(landing_dir, item[0])]
    revision_date = export.business_date + timedelta(days=1)
    # (On a month's first day the revision would share its id with that month's delivery.)
    revising = dirty and days >= 1 and revision_date.day != 1 and not _landed(landing_dir, revision_date)
    results = [
        (read_manifest(path.parent), False) for path in sorted(landing_dir.glob(f"*-{FINANCE}*/{MANIFEST_NAME}"))
    ]
    if not pending and not revising:
        return results
    actuals = _actuals(landing_dir / export.batch_id)
    open_month = date(export.business_date.year, export.business_date.month, 1)
    for business_date, months in pending:
        rows = [_row(month, *cell, actuals, seed, open_month) for month in months for cell in _cells(actuals)]
        results.append((_land(landing_dir, business_date, HEADER, rows), True))
    if revising:
        # The last three months revised, under a header finance renamed: refused. Then the fix.
        first = _months(FIRST_MONTH, open_month)[-3]
        revised = f"{seed}:revised"
        months = _months(first, open_month)
        rows = [_row(month, *cell, actuals, revised, open_month) for month in months for cell in _cells(actuals)]
        broken = _land(landing_dir, revision_date, RENAMED_HEADER, rows)
        results.append((broken, True))
        fixed = _land(landing_dir, revision_date, HEADER, _hand_edited(rows, seed), replaces=broken.batch_id)
        results.append((fixed, True))
    return results


def _months(first: date, last_day: date) -> list[date]:
    months, month = [], first
    while month <= last_day:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def _batch_dir(landing_dir: Path, business_date: date) -> Path:
    return landing_dir / f"{business_date:%Y%m%d}-{FINANCE}"


def _landed(landing_dir: Path, business_date: date) -> bool:
    return (_batch_dir(landing_dir, business_date) / MANIFEST_NAME).is_file()


def _actuals(export_dir: Path) -> dict[tuple[date, str, str], Decimal]:
    names = ("order_lines", "orders", "customers", "nations", "regions")
    files = {name: str(export_dir / f"{name}.parquet") for name in names}
    with duckdb.connect() as con:
        rows = con.execute(ACTUALS, files).fetchall()
    return {(month, region, segment): Decimal(revenue) for month, region, segment, revenue in rows}


def _cells(actuals: dict[tuple[date, str, str], Decimal]) -> list[tuple[str, str]]:
    regions = sorted({region for _, region, _ in actuals})
    return [(region, segment) for region in regions for segment in sorted(SEGMENT_LABELS)]


def _row(month: date, region: str, segment: str, actuals: dict, seed: int | str, open_month: date) -> list[str]:
    """One cell: near the month's actual; from the export's month on (not over yet), near the twelve before's mean."""
    actual = actuals.get((month, region, segment)) if month < open_month else None
    if actual is None:
        closed = (
            (key[0], value) for key, value in actuals.items() if key[1:] == (region, segment) and key[0] < open_month
        )
        history = sorted(closed)[-12:]
        actual = sum((value for _, value in history), Decimal(0)) / max(len(history), 1)
    factor = Decimal(str(round(random.Random(f"{seed}:{month}:{region}:{segment}").uniform(0.92, 1.12), 3)))
    target = (actual * factor / 1000).quantize(Decimal(1)) * 1000
    return [month.isoformat(), region.title(), SEGMENT_LABELS[segment], f"{target:.2f}"]


def _hand_edited(rows: list[list[str]], seed: int) -> list[list[str]]:
    """Some cells as a person editing the spreadsheet leaves them."""
    rng = random.Random(f"{seed}:finance-dirt")
    edited = [list(row) for row in rows]
    picks = rng.sample(range(len(edited)), 8)
    for position in picks[:3]:  # a thousands separator: refused, a number is taken as plainly written
        edited[position][3] = f"{Decimal(edited[position][3]):,.2f}"
    for position in picks[3:5]:  # stray spaces around an amount: refused too
        edited[position][3] = f" {edited[position][3]}  "
    for position in picks[5:]:  # stray spaces around a label: accepted, trimmed in staging
        edited[position][1] = f"  {edited[position][1]} "
    return edited


def _land(
    landing_dir: Path, business_date: date, header: tuple[str, ...], rows: list[list[str]], replaces: str | None = None
) -> Manifest:
    with tempfile.TemporaryDirectory(prefix="elt-finance-") as scratch:
        path = Path(scratch) / "sales_targets.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        return land_files(
            landing_dir,
            FINANCE,
            path,
            business_date,
            replaces=replaces,
            batch_kind=MONTHLY_KIND,
            generator="elt generate (finance)",
        )
