"""Expected results computed straight from the landed parquet files, independently of the loader and dbt."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

CENT = Decimal("0.01")

__all__ = ["distinct_count", "net_revenue_of", "net_revenue_total", "parquet_rows", "replay"]


def parquet_rows(path: Path) -> int:
    return pq.read_metadata(path).num_rows


def net_revenue_total(order_lines_path: Path) -> Decimal:
    """Sum over lines of extended_price * (1 - discount), each rounded half-up to the cent."""
    table = pq.read_table(order_lines_path, columns=["l_extendedprice", "l_discount"])
    prices = table.column("l_extendedprice").to_pylist()
    discounts = table.column("l_discount").to_pylist()
    return net_revenue_of(zip(prices, discounts, strict=True))


def net_revenue_of(lines: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """Sum over (extended price, discount) pairs of the net revenue, each rounded half-up to the cent."""
    net = ((price * (1 - discount)).quantize(CENT, rounding=ROUND_HALF_UP) for price, discount in lines)
    return sum(net, Decimal(0))


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
