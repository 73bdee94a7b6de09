"""`elt generate --dirty`: the faults a real ERP feed has, injected at known rates and reported.

Row faults go into each daily batch's orders and order lines: null and malformed keys,
unparseable dates, negative quantities and prices, exact duplicate rows. Delivery faults go
to chosen days: a batch sent twice under a new name, a column added (and kept from then on),
a column renamed, a truncated parquet file, a manifest whose checksum or row count is wrong.
A broken delivery is followed by a corrected one (`<batch>-redelivered`, which `replaces`
it), as a supplier does when asked. Lines that arrive a day before or after their order
are made by the daily simulator itself (it holds rows back a day).

Every fault is written to landing/dirty-report.json with the batch, entity, source rows and
the outcome the loader must produce, so tests can hold the loader to it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import duckdb

from elt.entities import OP_COLUMN
from elt.generate.manifest import Manifest, describe_file, sha256_of, write_manifest
from elt.generate.simulated import simulated_entity

REPORT_NAME = "dirty-report.json"
# Share of a file's change rows hit by each row fault (at least one row per fault per file).
ROW_FAULT_RATE = 0.002
# Share of each day's new orders whose lines, or whose header, arrive a day late.
LATE_ARRIVAL_RATE = 0.05
ADDED_COLUMN = ("orders", "o_sales_channel")
RENAMED_COLUMN = ("order_lines", "l_shipmode", "l_ship_mode")
REDELIVERED_SUFFIX = "-redelivered"
RESENT_SUFFIX = "-resent"

# Which delivery fault lands on which day (1-based); days beyond a short run get none.
DELIVERY_FAULTS = {
    1: "added_column",
    2: "renamed_column",
    3: "truncated_parquet",
    4: "checksum_mismatch",
    5: "row_count_mismatch",
}
BREAKING_FAULTS = ("renamed_column", "truncated_parquet", "checksum_mismatch", "row_count_mismatch")
RESENT_DAY = 1  # this day's batch is delivered a second time, unchanged, under a new name


@dataclass(frozen=True)
class Injection:
    batch_id: str
    kind: str
    expected: str  # quarantine | batch failure | skipped | accepted
    entity: str | None = None
    source_rows: tuple[int, ...] = ()
    reason: str = ""  # a fragment of the quarantine reason or failure message the loader must give
    detail: str = ""
    order_keys: tuple[int, ...] = ()  # orders whose lines or header were held back a day


@dataclass
class DirtyReport:
    seed: int
    row_fault_rate: float = ROW_FAULT_RATE
    late_arrival_rate: float = LATE_ARRIVAL_RATE
    injections: list[Injection] = field(default_factory=list)

    def write(self, landing_dir: Path) -> None:
        """Merge into the landing area's report: batches generated now replace their old entries."""
        path = landing_dir / REPORT_NAME
        batches = {item.batch_id for item in self.injections}
        kept = []
        if path.is_file():
            kept = [item for item in json.loads(path.read_text())["injections"] if item["batch_id"] not in batches]
        document = {
            "seed": self.seed,
            "row_fault_rate": self.row_fault_rate,
            "late_arrival_rate": self.late_arrival_rate,
            "injections": sorted(kept + [asdict(item) for item in self.injections], key=_report_order),
        }
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        partial.replace(path)


def _report_order(item: dict) -> tuple:
    return (item["batch_id"], item["kind"], item["entity"] or "")


def read_report(landing_dir: Path) -> list[Injection]:
    path = landing_dir / REPORT_NAME
    if not path.is_file():
        return []
    return [
        Injection(**{**item, "source_rows": tuple(item["source_rows"]), "order_keys": tuple(item["order_keys"])})
        for item in json.loads(path.read_text())["injections"]
    ]


# Row faults per entity: (kind, column, how the value is spoiled, the loader's reason).
ROW_FAULTS = {
    "order_lines": (
        ("null_key", "l_orderkey", "null", "l_orderkey: missing"),
        ("malformed_key", "l_orderkey", "'ORD-' || l_orderkey", "l_orderkey: not a bigint"),
        ("unparseable_date", "l_shipdate", "strftime(cast(l_shipdate as date), '%d.%m.%Y')", "l_shipdate: not a date"),
        ("negative_quantity", "l_quantity", "-l_quantity", "l_quantity: must be positive"),
        ("negative_price", "l_extendedprice", "-l_extendedprice", "l_extendedprice: must not be negative"),
        ("exact_duplicate", None, None, "exact duplicate of source row"),
    ),
    "orders": (
        (
            "unparseable_date",
            "o_orderdate",
            "strftime(cast(o_orderdate as date), '%d.%m.%Y')",
            "o_orderdate: not a date",
        ),
        ("negative_price", "o_totalprice", "-o_totalprice", "o_totalprice: must not be negative"),
        ("exact_duplicate", None, None, "exact duplicate of source row"),
    ),
}
# Spoiled values that are text in a numeric or date column make the whole column text.
TEXT_COLUMNS = {"l_orderkey", "l_shipdate", "o_orderdate"}


def _random(seed: int, day: int, purpose: str) -> str:
    return f"md5_number('{seed}:{day}:{purpose}:' || cast(position as varchar))"


def spoil_rows(path: Path, entity_name: str, seed: int, day: int, batch_id: str) -> list[Injection]:
    """Rewrite one change file with row faults; returns where each landed (1-based source rows)."""
    faults = ROW_FAULTS.get(entity_name)
    if faults is None or not path.is_file():
        return []
    con = duckdb.connect()
    con.execute("set threads = 1")
    con.execute(
        "create table rows as select *, file_row_number as position, 0 as copy, null::varchar as fault "
        "from read_parquet($path, file_row_number = true)",
        {"path": str(path)},
    )
    con.execute("alter table rows drop column file_row_number")
    eligible = con.execute(f"select count(*) from rows where {OP_COLUMN} <> 'delete'").fetchone()[0]
    per_fault = max(1, round(eligible * ROW_FAULT_RATE))
    for column in TEXT_COLUMNS:
        if column in simulated_entity(entity_name).column_names:
            con.execute(f"alter table rows alter column {column} type varchar")
    for kind, column, spoiled, _ in faults:
        con.execute(
            f"""update rows set fault = '{kind}' where position in (
                select position from rows where fault is null and {OP_COLUMN} <> 'delete'
                order by {_random(seed, day, kind)}, position limit {per_fault})"""
        )
        if column is not None:
            con.execute(f"update rows set {column} = {spoiled} where fault = '{kind}'")
        else:
            con.execute("insert into rows select * replace (1 as copy) from rows where fault = 'exact_duplicate'")
    columns = [name for (name,) in con.execute("select column_name from (describe rows)").fetchall()]
    data_columns = ", ".join(name for name in columns if name not in ("position", "copy", "fault"))
    con.execute(
        "create table numbered as select *, row_number() over (order by position, copy) as source_row from rows"
    )
    target = str(path).replace("'", "''")
    con.execute(f"copy (select {data_columns} from numbered order by source_row) to '{target}' (format parquet)")
    injections = []
    for kind, _, _, reason in faults:
        # A duplicate's copy is the row quarantined; the original loads.
        hit = "copy = 1" if kind == "exact_duplicate" else "copy = 0"
        rows = con.execute(
            f"select source_row from numbered where fault = '{kind}' and {hit} order by source_row"
        ).fetchall()
        injections.append(Injection(batch_id, kind, "quarantine", entity_name, tuple(row[0] for row in rows), reason))
    con.close()
    return injections


def add_column(path: Path, seed: int, day: int) -> None:
    """The ERP starts sending a sales channel on orders: additive drift the loader must keep."""
    channel = f"['web', 'phone', 'edi'][1 + cast(md5_number('{seed}:{day}:channel:' || o_orderkey) % 3 as integer)]"
    con = duckdb.connect()
    con.execute("set threads = 1")
    con.execute(
        f"create table rows as select *, case when {OP_COLUMN} = 'delete' then null else {channel} end "
        f"as {ADDED_COLUMN[1]} from read_parquet($path)",
        {"path": str(path)},
    )
    target = str(path).replace("'", "''")
    con.execute(f"copy rows to '{target}' (format parquet)")
    con.close()


def _rename_column(path: Path) -> None:
    con = duckdb.connect()
    con.execute("set threads = 1")
    _, old, new = RENAMED_COLUMN
    target = str(path).replace("'", "''")
    con.execute(
        f"copy (select * rename ({old} as {new}) from read_parquet($path)) to '{target}' (format parquet)",
        {"path": str(path)},
    )
    con.close()


def deliver_broken(
    landing_dir: Path, work_dir: Path, manifest: Manifest, kind: str
) -> tuple[Manifest, list[Injection]]:
    """Land a broken delivery of the day as `manifest.batch_id` and the corrected one beside it.

    Returns the corrected delivery's manifest, written into `work_dir` (the caller moves it into
    place), and the report entries.
    """
    batch_id = manifest.batch_id
    broken_dir = landing_dir / batch_id
    shutil.copytree(work_dir, broken_dir)
    files = {item.entity: item for item in manifest.files}
    if kind == "renamed_column":
        entity, old, new = RENAMED_COLUMN
        _rename_column(broken_dir / files[entity].path)
        broken_files = {**files, entity: describe_file(broken_dir, entity, files[entity].path)}
        reason, detail = "breaking schema change", f"{entity}.{old} renamed to {new}"
    elif kind == "truncated_parquet":
        entity = "order_lines"
        path = broken_dir / files[entity].path
        path.write_bytes(path.read_bytes()[: files[entity].bytes // 2])
        # Sealed after the cut, so the checksum matches and only reading the file finds the fault.
        truncated = replace(files[entity], sha256=sha256_of(path), bytes=path.stat().st_size)
        broken_files = {**files, entity: truncated}
        reason, detail = "not a readable parquet file", f"{entity} cut to half its bytes"
    elif kind == "checksum_mismatch":
        entity = "orders"
        broken_files = {**files, entity: replace(files[entity], sha256="0" * 64)}
        reason, detail = "sha256", f"{entity}'s checksum in the manifest is wrong"
    elif kind == "row_count_mismatch":
        entity = "orders"
        broken_files = {**files, entity: replace(files[entity], rows=files[entity].rows + 1)}
        reason, detail = "the manifest says", f"{entity}'s row count in the manifest is one too many"
    else:
        raise ValueError(kind)
    write_manifest(broken_dir, replace(manifest, files=tuple(broken_files[item.entity] for item in manifest.files)))
    corrected = replace(manifest, batch_id=f"{batch_id}{REDELIVERED_SUFFIX}", replaces=batch_id)
    injections = [
        Injection(batch_id, kind, "batch failure", entity, (), reason, detail),
        Injection(corrected.batch_id, "redelivery", "accepted", None, (), "", f"corrected delivery of {batch_id}"),
    ]
    return corrected, injections


def resend(landing_dir: Path, batch_dir: Path) -> Injection:
    """The same delivery again under another name: same files, same manifest."""
    copy_dir = landing_dir / f"{batch_dir.name}{RESENT_SUFFIX}"
    if not copy_dir.exists():
        shutil.copytree(batch_dir, copy_dir)
    return Injection(
        copy_dir.name, "delivered_twice", "skipped", None, (), "same content as", f"copy of {batch_dir.name}"
    )


def late_arrival_injections(batch_id: str, late_lines: list[int], late_headers: list[int]) -> list[Injection]:
    detail = "held back to the next day's batch"
    return [
        Injection(
            batch_id,
            "lines_after_their_order",
            "accepted",
            "order_lines",
            detail=f"lines {detail}",
            order_keys=tuple(late_lines),
        ),
        Injection(
            batch_id,
            "lines_before_their_order",
            "accepted",
            "orders",
            detail=f"order headers {detail}",
            order_keys=tuple(late_headers),
        ),
    ]
