"""Expected results computed straight from the landed parquet files, independently of the loader and dbt."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = [
    "deliveries",
    "distinct_count",
    "expected_history",
    "net_revenue_of",
    "net_revenue_total",
    "parquet_rows",
    "replay",
]


def parquet_rows(path: Path) -> int:
    return pq.read_metadata(path).num_rows


def net_revenue_total(order_lines_path: Path) -> Decimal:
    """Sum over lines of extended_price * (1 - discount), exact."""
    table = pq.read_table(order_lines_path, columns=["l_extendedprice", "l_discount"])
    prices = table.column("l_extendedprice").to_pylist()
    discounts = table.column("l_discount").to_pylist()
    return net_revenue_of(zip(prices, discounts, strict=True))


def net_revenue_of(lines: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """Sum over (extended price, discount) pairs of the net revenue, exact (no line is rounded)."""
    return sum((price * (1 - discount) for price, discount in lines), Decimal(0))


def distinct_count(path: Path, column: str) -> int:
    return len(pc.unique(pq.read_table(path, columns=[column]).column(column)))


def replay(landing_dir: Path, entity: str, key: tuple[str, ...]) -> dict[tuple, dict]:
    """The ERP's current rows of an entity, replayed from the landed files in batch order."""
    current: dict[tuple, dict] = {}
    for batch_dir in sorted(path for path in landing_dir.iterdir() if (path / "manifest.json").is_file()):
        path = batch_dir / f"{entity}.parquet"
        if not path.is_file():
            continue
        for row in pq.read_table(path).to_pylist():
            row_key = tuple(row[name] for name in key)
            if row.get("_op") == "delete":
                current.pop(row_key, None)
            else:
                current[row_key] = row
    return current


FIRST_DAY = date(1900, 1, 1)
END_OF_TIME = date(9999, 12, 31)


def deliveries(landing_dir: Path, entity: str) -> list[tuple[date, str, int, dict]]:
    """Every row landed for an entity: (business date, batch id, file row from 1, row), in delivery order."""
    delivered = []
    for batch_dir in sorted(path for path in landing_dir.iterdir() if (path / "manifest.json").is_file()):
        path = batch_dir / f"{entity}.parquet"
        if not path.is_file():
            continue
        business_date = date(int(batch_dir.name[:4]), int(batch_dir.name[4:6]), int(batch_dir.name[6:8]))
        for number, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            delivered.append((business_date, batch_dir.name, number, row))
    return sorted(delivered, key=lambda item: item[:3])


def expected_history(landing_dir: Path, entity: str, key: tuple[str, ...], attributes: tuple[str, ...]) -> list[tuple]:
    """The SCD2 versions decision 0022 defines, computed here in Python from the landed files.

    Per key: the first insert goes first (it is the record's creation), the rest follow in
    delivery order; of several versions on one business date the last is kept; a delete
    closes the version before it; the first version is valid from 1900-01-01. One tuple per
    version: key values, attribute values, valid_from, valid_to, sorted.
    """
    by_key: dict[tuple, list[tuple[date, str, int, dict]]] = {}
    for item in deliveries(landing_dir, entity):
        by_key.setdefault(tuple(item[3][name] for name in key), []).append(item)
    versions = []
    for record_key, items in by_key.items():
        inserts = [item for item in items if item[3].get("_op", "insert") == "insert"]
        first_insert = inserts[0] if inserts else None
        effective = []
        for item in items:
            business_date, batch_id, number, row = item
            if first_insert is not None and row.get("_op", "insert") == "insert" and business_date == first_insert[0]:
                business_date = FIRST_DAY
            effective.append((business_date, batch_id, number, row))
        last_of_day: dict[date, tuple] = {}
        for item in sorted(effective, key=lambda entry: entry[:3]):
            last_of_day[item[0]] = item
        days = sorted(last_of_day)
        for index, day in enumerate(days):
            row = last_of_day[day][3]
            if row.get("_op") == "delete":
                continue
            valid_from = FIRST_DAY if index == 0 else day
            valid_to = days[index + 1] if index + 1 < len(days) else END_OF_TIME
            versions.append((*record_key, *(row[name] for name in attributes), valid_from, valid_to))
    return sorted(versions)
