"""The bad-input corpus: each way a delivery can be wrong, and the outcome the loader owes it.

Every case starts from good rows (its own slice of the SF 0.01 export, so no two deliveries
have the same content), spoils them in one way and lands the result as its own batch. The
outcomes:

- quarantined: the batch loads; the spoiled rows are in audit.quarantine with the reason
  given, every other row is in raw.
- batch failed: nothing of the batch is written; audit.load_failures holds a message that
  names the file and says what to do. A corrected delivery that `replaces` it then loads,
  so the rest of the corpus loads too (a failed day without one stops every later day).
- accepted: every row reaches raw, the odd values exactly as delivered.
- skipped: the same content is already loaded under another batch id.
- waits: a directory without a manifest is not a batch yet; it loads once the manifest lands.

Where the contract's answer is not obvious, the choices are these:
- A key sent again in a later batch is a new version of that row, accepted: raw is
  append-only and keeps every version, staging picks the latest (DESIGN.md, data flow). The
  same key twice in one file is quarantined, because which version is meant is unknowable.
- Dates are accepted whatever the business would think of them (1900, 2999, before the
  export's first order) as long as the date type holds them on both engines (years 1 to
  9999). Plausibility is a question for dbt tests, not for the loader.
- Text is stored as delivered (quotes, SQL, emoji, 100,000 characters), except a NUL
  character, which PostgreSQL cannot store: quarantined on both engines alike.
- A value the contract type cannot hold exactly (1.005 as money, 1.5 as a key, a time of
  day in a date) is quarantined rather than rounded.
- A number or date delivered as text must be written plainly: a whole number as digits with
  an optional leading '-' (no '+', spaces, leading zeros, '.0', exponent or '_'), a decimal
  the same with one '.' between digits, a date as YYYY-MM-DD. Anything else is quarantined,
  even where the value it reads as is right: such a text has been through something (a
  float, a locale, a time zone) on its way, and the loader cannot tell what it did.
- A whole number delivered as a float loads only within the range where that float holds
  every whole number (2^53 for a double, 2^24 for a float).
- A column whose file type cannot hold the contract's value exactly at all (a timestamp
  with time zone, an integer or a boolean where a date or a number is expected) fails the
  batch: it is a delivery problem, like a renamed column, and a corrected delivery then
  replaces it (decision 0024). A column with no value in it loads whatever its type.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from elt.entities import BIGINT, DATE, INTEGER, MONEY, OP_COLUMN, TEXT
from elt.sources import erp_entity

QUARANTINED = "quarantined"
BATCH_FAILED = "batch failed"
ACCEPTED = "accepted"
SKIPPED = "skipped"
WAITS = "waits for its manifest"

ARROW_TYPES = {
    BIGINT: pa.int64(),
    INTEGER: pa.int32(),
    MONEY: pa.decimal128(15, 2),
    DATE: pa.date32(),
    TEXT: pa.string(),
}
INJECTION = "'); drop table raw.erp_orders; --"


@dataclass
class Delivery:
    """One case's batch directory as the case writes it: files first, the manifest last."""

    landing_dir: Path
    batch_id: str
    good: dict[str, list[dict]]
    # file name -> (entity, rows written), what the manifest will list
    files: dict[str, tuple[str, int]] = field(default_factory=dict)
    # batches this case lands before its own (a first delivery to repeat or update)
    priors: list[Delivery] = field(default_factory=list)

    @property
    def batch_dir(self) -> Path:
        return self.landing_dir / self.batch_id

    @property
    def business_date(self) -> date:
        return date.fromisoformat(self.batch_id[:8])

    def rows(self, entity: str = "orders") -> list[dict]:
        return [dict(row) for row in self.good[entity]]

    def table(self, entity: str, rows: list[dict], types: dict[str, pa.DataType] | None = None) -> pa.Table:
        """Rows typed as the contract says (the way the ERP's extract writes them), `types` overriding."""
        contract = {column.name: ARROW_TYPES[column.sql_type] for column in erp_entity(entity).columns}
        chosen = {**contract, OP_COLUMN: pa.string(), **(types or {})}
        names = list(rows[0]) if rows else list(chosen)
        return pa.Table.from_pylist(rows, schema=pa.schema([(name, chosen.get(name, pa.string())) for name in names]))

    def write(self, entity: str, rows: list[dict], types: dict[str, pa.DataType] | None = None) -> Path:
        return self.write_table(entity, self.table(entity, rows, types))

    def write_table(self, entity: str, table: pa.Table, file_name: str | None = None) -> Path:
        path = self._path(file_name or f"{entity}.parquet")
        pq.write_table(table, path)
        self.files[path.name] = (entity, table.num_rows)
        return path

    def write_bytes(self, entity: str, file_name: str, data: bytes, rows: int) -> Path:
        path = self._path(file_name)
        path.write_bytes(data)
        self.files[file_name] = (entity, rows)
        return path

    def _path(self, file_name: str) -> Path:
        self.batch_dir.mkdir(parents=True, exist_ok=True)
        return self.batch_dir / file_name

    def manifest(self, **fields) -> dict:
        """The manifest an honest extract writes for the files so far; `fields` replace top-level keys."""
        files = []
        for file_name, (entity, rows) in sorted(self.files.items()):
            path = self.batch_dir / file_name
            files.append(
                {
                    "entity": entity,
                    "path": file_name,
                    "rows": rows,
                    "sha256": sha256_of(path),
                    "bytes": path.stat().st_size,
                }
            )
        document = {
            "batch_id": self.batch_id,
            "batch_kind": "daily",
            "business_date": self.business_date.isoformat(),
            "schema_version": 1,
            "scale_factor": 0.01,
            "generator": "bad-input corpus",
            "files": files,
        }
        return {**document, **fields}

    def seal(self, **fields) -> None:
        self.write_manifest(json.dumps(self.manifest(**fields), indent=2))

    def write_manifest(self, text: str | bytes) -> None:
        path = self._path("manifest.json")
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)

    def land_prior(self, suffix: str, rows: dict[str, list[dict]]) -> Delivery:
        """A good batch dated the day before this one, which loads first."""
        day_before = date.fromordinal(self.business_date.toordinal() - 1)
        prior = Delivery(self.landing_dir, f"{day_before:%Y%m%d}{self.batch_id[8:]}-{suffix}", self.good)
        for entity, entity_rows in rows.items():
            prior.write(entity, entity_rows)
        prior.seal()
        self.priors.append(prior)
        return prior


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


Deliver = Callable[[Delivery], None]


@dataclass(frozen=True)
class BadInput:
    name: str
    problem: str  # what is wrong with the delivery, in words
    expected: str
    deliver: Deliver
    entity: str = "orders"  # the file the case is about
    # quarantined: 1-based source row -> a fragment of its reasons; no other row may be quarantined
    quarantined: dict[int, str] = field(default_factory=dict)
    # batch failed: fragments the failure message must hold (the file it names, what is wrong)
    message: tuple[str, ...] = ()
    # accepted or quarantined: columns whose delivered values must reach raw exactly
    unchanged: tuple[str, ...] = ()
    # a second step after the first load, then `elt load --batch` of this case alone
    afterwards: Deliver | None = None


# --- helpers the cases share -------------------------------------------------------------


def orders_with(d: Delivery, column: str, values: list, arrow_type: pa.DataType | None = None) -> None:
    """The case's orders, `column` taking `values` row by row, the file sealed."""
    rows = d.rows()
    for row, value in zip(rows, values, strict=True):
        row[column] = value
    d.write("orders", rows, {column: arrow_type} if arrow_type is not None else None)
    d.seal()


def good_orders(d: Delivery) -> Path:
    return d.write("orders", d.rows())


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def csv_named_parquet(encoding: str, names: tuple[str, ...] = ()) -> Deliver:
    """A CSV export of the orders (customers' names in the comments), under the name orders.parquet."""

    def deliver(d: Delivery) -> None:
        rows = d.rows()
        for row, name in zip(rows, names, strict=False):
            row["o_comment"] = name
        d.write_bytes("orders", "orders.parquet", csv_text(rows).encode(encoding), rows=len(rows))
        d.seal()

    return deliver


def parquet_bytes(d: Delivery) -> bytes:
    """The case's good orders as the parquet file they would have been."""
    sink = io.BytesIO()
    pq.write_table(d.table("orders", d.rows()), sink)
    return sink.getvalue()


# --- malformed files -------------------------------------------------------------------------


def empty_file(d: Delivery) -> None:
    d.write("orders", [])
    d.seal()


def zero_byte_file(d: Delivery) -> None:
    d.write_bytes("orders", "orders.parquet", b"", rows=0)
    d.seal()


def truncated_parquet(d: Delivery) -> None:
    whole = parquet_bytes(d)
    # Sealed after the cut: the checksum matches, only reading the file finds the fault.
    d.write_bytes("orders", "orders.parquet", whole[: len(whole) // 2], rows=len(d.rows()))
    d.seal()


def corrupt_data_page(d: Delivery) -> None:
    whole = parquet_bytes(d)
    column = pq.ParquetFile(io.BytesIO(whole)).metadata.row_group(0).column(8)  # o_comment
    assert column.path_in_schema == "o_comment"
    start = column.data_page_offset
    # The page header is spoiled, the footer (schema, row counts) left intact.
    spoiled = whole[:start] + bytes(byte ^ 0xFF for byte in whole[start : start + 8]) + whole[start + 8 :]
    d.write_bytes("orders", "orders.parquet", spoiled, rows=len(d.rows()))
    d.seal()


def text_not_parquet(d: Delivery) -> None:
    d.write_bytes("orders", "orders.parquet", b"this is not a parquet file, it is a note\n", rows=len(d.rows()))
    d.seal()


def parquet_magic_garbage_inside(d: Delivery) -> None:
    d.write_bytes(
        "orders", "orders.parquet", b"PAR1" + b"\x00garbage" * 20 + b"\x10\x00\x00\x00PAR1", rows=len(d.rows())
    )
    d.seal()


def invalid_utf8_in_text(d: Delivery) -> None:
    table = d.table("orders", d.rows())
    # A string column holding bytes that are not UTF-8 (Latin-1 'café', a lone 0xff): what a
    # writer that does not validate its strings produces. pyarrow takes the buffers as they are.
    data = b"ok" + b"caf\xe9" + b"\xff"
    offsets = pa.array([0, 2, 6, 7], pa.int32()).buffers()[1]
    comments = pa.Array.from_buffers(pa.string(), 3, [None, offsets, pa.py_buffer(data)])
    d.write_table("orders", table.set_column(table.schema.get_field_index("o_comment"), "o_comment", comments))
    d.seal()


TEXT_AS_BYTES = ["Bäckerei Müller".encode(), "東京支店".encode(), b"caf\xe9"]


def text_as_binary(d: Delivery) -> None:
    orders_with(d, "o_comment", TEXT_AS_BYTES, pa.binary())


def duplicate_column(d: Delivery) -> None:
    table = d.table("orders", d.rows())
    twice = pa.Table.from_arrays([*table.columns, table.column("o_comment")], names=[*table.column_names, "o_comment"])
    d.write_table("orders", twice)
    d.seal()


# --- CSV and encodings -------------------------------------------------------------------------


def csv_instead_of_parquet(d: Delivery) -> None:
    rows = d.rows()
    d.write_bytes("orders", "orders.csv", csv_text(rows).encode(), rows=len(rows))
    d.seal()


def csv_header_only(d: Delivery) -> None:
    header = ",".join(d.rows()[0]) + "\r\n"
    d.write_bytes("orders", "orders.parquet", header.encode(), rows=0)
    d.seal()


def manifest_in_latin1(d: Delivery) -> None:
    good_orders(d)
    d.write_manifest(json.dumps(d.manifest(generator="ERP Gerätestamm"), ensure_ascii=False).encode("latin-1"))


# --- schema drift --------------------------------------------------------------------------


def missing_column(d: Delivery) -> None:
    d.write_table("orders", d.table("orders", d.rows()).drop_columns(["o_orderdate"]))
    d.seal()


def extra_column(d: Delivery) -> None:
    rows = d.rows()
    for row, channel in zip(rows, ("web", "phone", None), strict=True):
        row["o_sales_channel"] = channel
    d.write("orders", rows)
    d.seal()


INJECTION_COLUMN = 'x"; drop table raw.erp_orders; --'


def injection_column_name(d: Delivery) -> None:
    rows = d.rows()
    for row in rows:
        row[INJECTION_COLUMN] = INJECTION
    d.write("orders", rows)
    d.seal()


def metadata_column_in_file(d: Delivery) -> None:
    rows = d.rows()
    for row in rows:
        row["_batch_id"] = "19920101-export"  # trying to pass its rows off as another batch's
    d.write("orders", rows)
    d.seal()


# --- wrong types and contract rules, row by row ----------------------------------------------


def text_in_number(d: Delivery) -> None:
    rows = d.rows("order_lines")
    quantities = [f"{rows[0]['l_quantity']}", "12abc", f"{rows[2]['l_quantity']}"]
    for row, quantity in zip(rows, quantities, strict=True):
        row["l_quantity"] = quantity
    d.write("order_lines", rows, {"l_quantity": pa.string()})
    d.seal()


def fractional_key(d: Delivery) -> None:
    keys = [float(row["o_orderkey"]) for row in d.rows()]
    keys[1] += 0.5
    orders_with(d, "o_orderkey", keys, pa.float64())


def null_keys(d: Delivery) -> None:
    rows = d.rows("order_lines")
    rows[0]["l_orderkey"] = None
    rows[1]["l_linenumber"] = None
    d.write("order_lines", rows)
    d.seal()


def required_values_missing(d: Delivery) -> None:
    rows = d.rows()
    rows[0]["o_custkey"] = None
    rows[2]["o_orderdate"] = None
    rows[2]["o_comment"] = None  # optional in the contract: not a reason
    d.write("orders", rows)
    d.seal()


def non_positive_quantity(d: Delivery) -> None:
    rows = d.rows("order_lines")
    rows[0]["l_quantity"] = Decimal("0.00")
    rows[1]["l_quantity"] = Decimal("-1.00")
    d.write("order_lines", rows)
    d.seal()


def negative_money(d: Delivery) -> None:
    orders_with(d, "o_totalprice", [Decimal("-0.01"), Decimal("0.00"), Decimal("12.50")])


def rate_out_of_range(d: Delivery) -> None:
    rows = d.rows("order_lines")
    rows[0]["l_discount"] = Decimal("1.01")
    rows[2]["l_tax"] = Decimal("-0.01")
    d.write("order_lines", rows)
    d.seal()


def unknown_status(d: Delivery) -> None:
    orders_with(d, "o_orderstatus", ["X", "f", "F"])


def non_positive_part_size(d: Delivery) -> None:
    rows = d.rows("parts")
    rows[1]["p_size"] = 0
    d.write("parts", rows)
    d.seal()


def huge_money(d: Delivery) -> None:
    values = [Decimal("10000000000000.00"), Decimal("99999999999999999999.99"), Decimal("9999999999999.99")]
    orders_with(d, "o_totalprice", values, pa.decimal128(38, 2))


def huge_integers(d: Delivery) -> None:
    rows = d.rows()
    rows[0]["o_orderkey"] = 2**64 - 1
    rows[1]["o_shippriority"] = 2**40
    d.write("orders", rows, {"o_orderkey": pa.uint64(), "o_shippriority": pa.int64()})
    d.seal()


def nan_and_infinity(d: Delivery) -> None:
    orders_with(d, "o_totalprice", [float("nan"), float("inf"), float("-inf")], pa.float64())


def more_decimals_than_money(d: Delivery) -> None:
    orders_with(d, "o_totalprice", [Decimal("1.005"), Decimal("2.500"), Decimal("3.999")], pa.decimal128(18, 3))


EXTREME_NUMBERS = {
    "o_orderkey": 2**63 - 1,
    "o_totalprice": Decimal("9999999999999.99"),
    "o_shippriority": -(2**31),
}


def extreme_valid_numbers(d: Delivery) -> None:
    rows = d.rows()
    rows[0].update(EXTREME_NUMBERS)
    rows[1]["o_shippriority"] = 2**31 - 1
    rows[2]["o_totalprice"] = Decimal("0.00")
    d.write("orders", rows)
    d.seal()


def unparseable_dates(d: Delivery) -> None:
    orders_with(d, "o_orderdate", ["31.12.1998", "1998-02-30", "1998-08-03"], pa.string())


def date_with_time_of_day(d: Delivery) -> None:
    times = [datetime(1998, 8, 3, 13, 45), datetime(1998, 8, 3), datetime(1998, 8, 4)]  # noqa: DTZ001 (naive, as in the file)
    orders_with(d, "o_orderdate", times, pa.timestamp("us"))


# Numbers and dates as text load only when written plainly: the way the column would print
# them, give or take trailing zeros after a decimal point. DuckDB's casts read far more than
# that ('9.0000105e7', '90_000_107', '+7', ' 7', '1998/08/03', '1998-08-03T00:00Z'), and an
# extract that writes a key in exponent notation has been through a float on its way.


def orders_as_text(d: Delivery, values: dict[str, list[str]]) -> None:
    """The case's orders, each named column text, taking `values` row by row."""
    rows = d.rows()
    for column, texts in values.items():
        for row, text in zip(rows, texts, strict=True):
            row[column] = text
    d.write("orders", rows, dict.fromkeys(values, pa.string()))
    d.seal()


def keys_in_exponent_or_underscores(d: Delivery) -> None:
    keys = [str(row["o_orderkey"]) for row in d.rows()]
    # Each the row's own key, exactly: 7.57E+2 for 757, 7_58 for 758.
    exponent = f"{keys[0][0]}.{keys[0][1:]}E+{len(keys[0]) - 1}"
    orders_as_text(d, {"o_orderkey": [exponent, f"{keys[1][0]}_{keys[1][1:]}", keys[2]]})


def keys_signed_padded_or_decimal(d: Delivery) -> None:
    keys = [str(row["o_orderkey"]) for row in d.rows()]
    customers = [str(row["o_custkey"]) for row in d.rows()]
    orders_as_text(
        d,
        {
            "o_orderkey": [f"+{keys[0]}", f" {keys[1]}", f"{keys[2]}.0"],
            "o_custkey": [f"0{customers[0]}", f"{customers[1]} ", customers[2]],
        },
    )


def integer_negative_zero_or_exponent(d: Delivery) -> None:
    orders_as_text(d, {"o_shippriority": ["-0", "0e0", "0"]})


def money_in_exponent_or_separators(d: Delivery) -> None:
    price = str(d.rows()[2]["o_totalprice"])
    orders_as_text(d, {"o_totalprice": ["1.5e2", "1_000.00", price]})


def money_signed_or_padded(d: Delivery) -> None:
    orders_as_text(d, {"o_totalprice": ["+12.50", " 12.50", ".5"]})


def money_with_many_decimals(d: Delivery) -> None:
    # 19 decimals: more than the decimal(38, 18) a text is compared in, so a comparison alone would pass it.
    orders_as_text(d, {"o_totalprice": ["1.0000000000000000001", "2.50000000000000000000000", "3.99"]})


def dates_in_other_formats(d: Delivery) -> None:
    orders_as_text(d, {"o_orderdate": ["1998-8-3", "1998/08/03", "1998-08-03T00:00:00Z"]})


def dates_padded_or_zoned(d: Delivery) -> None:
    orders_as_text(d, {"o_orderdate": [" 1998-08-03", "1998-08-03 00:00:00+02", "1998-08-03"]})


def date_as_timestamp_with_time_zone(d: Delivery) -> None:
    # Midnight UTC is the evening before in New York: which day an instant is depends on a zone.
    instants = [datetime(1998, 8, day, hour, tzinfo=UTC) for day, hour in ((3, 0), (3, 22), (4, 0))]
    orders_with(d, "o_orderdate", instants, pa.timestamp("us", tz="UTC"))


def date_as_integer(d: Delivery) -> None:
    orders_with(d, "o_orderdate", [19980803, 19980804, 19980805], pa.int32())


def number_as_boolean(d: Delivery) -> None:
    orders_with(d, "o_shippriority", [True, False, False], pa.bool_())


def keys_as_floats_beyond_their_precision(d: Delivery) -> None:
    rows = [dict(row, o_orderkey=float(row["o_orderkey"]), o_custkey=float(row["o_custkey"])) for row in d.rows()]
    # 2^53 + 2 is a double, but so is every key from 2^53 + 1 to 2^53 + 3 written as one; the
    # same for a float beyond 2^24.
    rows[0]["o_orderkey"] = float(2**53 + 2)
    rows[1]["o_custkey"] = float(2**24 + 2)
    d.write("orders", rows, {"o_orderkey": pa.float64(), "o_custkey": pa.float32()})
    d.seal()


def date_column_without_a_type(d: Delivery) -> None:
    # Every value null: the writer gave the column no type, which DuckDB reads as an integer.
    orders_with(d, "o_orderdate", [None, None, None], pa.null())


def dates_at_type_limits(d: Delivery) -> None:
    orders_with(d, "o_orderdate", [date(1, 1, 1), date(9999, 12, 31), date(1970, 1, 1)])


def dates_implausible_but_valid(d: Delivery) -> None:
    # 1900, far future, and the day before the export's first order (1992-01-01).
    orders_with(d, "o_orderdate", [date(1900, 1, 1), date(2999, 12, 31), date(1991, 12, 31)])


def dates_beyond_year_9999(d: Delivery) -> None:
    # As days since 1970: year 10000, year 5,877,518 (beyond PostgreSQL's last date) and 4,713 BC.
    days = [date(9999, 12, 31).toordinal() - date(1970, 1, 1).toordinal() + 1, 2_146_000_000, -2_440_000]
    table = d.table("orders", d.rows())
    dates = pa.array(days, pa.int32()).cast(pa.date32())
    d.write_table("orders", table.set_column(table.schema.get_field_index("o_orderdate"), "o_orderdate", dates))
    d.seal()


def nul_in_text(d: Delivery) -> None:
    orders_with(d, "o_comment", ["before\x00after", "no nul here", None])


def nul_in_number_text(d: Delivery) -> None:
    rows = d.rows()
    keys = [str(row["o_orderkey"]) for row in rows]
    keys[0] = keys[0] + "\x00"
    orders_with(d, "o_orderkey", keys, pa.string())


def nul_in_new_column(d: Delivery) -> None:
    rows = d.rows()
    for row, channel in zip(rows, ("web\x00", "phone", None), strict=True):
        row["o_sales_channel"] = channel
    d.write("orders", rows)
    d.seal()


def duplicate_rows_in_file(d: Delivery) -> None:
    rows = d.rows()
    d.write("orders", [*rows, dict(rows[0])])
    d.seal()


def conflicting_key_in_file(d: Delivery) -> None:
    rows = d.rows()
    changed = dict(rows[1], o_orderstatus="F" if rows[1]["o_orderstatus"] != "F" else "O")
    d.write("orders", [*rows, changed])
    d.seal()


def invalid_op(d: Delivery) -> None:
    orders_with(d, OP_COLUMN, ["upsert", None, "insert"])


# --- odd values that must arrive unchanged -----------------------------------------------------

# Written as escapes so every code point can be reviewed (joiners and marks are invisible).
UNICODE_TEXT = [
    # a mechanic with a skin tone (two code points joined by U+200D), a package, an en dash, naïve café
    "\U0001f9d1\U0001f3fd\u200d\U0001f527 Ersatzteile \U0001f4e6 \u2013 na\u00efve caf\u00e9",
    # Arabic and Hebrew, right to left, around an em dash
    "\u0637\u0644\u0628\u064a\u0629 \u0639\u0627\u062c\u0644\u0629 \u2014 \u05d4\u05d6\u05de\u05e0\u05d4",
    # Z and a with stacked combining marks, Tokyo in kanji, Fraktur letters from the astral plane
    "Z\u0324\u0354\u0367\u0311a\u0308\u0356\u032d 東京 \U0001d518\U0001d52b\U0001d526",
]


def unicode_text(d: Delivery) -> None:
    rows = d.rows()
    for row, text in zip(rows, UNICODE_TEXT, strict=True):
        row["o_comment"] = text
        row["o_clerk"] = text[:20]
    d.write("orders", rows)
    d.seal()


INJECTION_VALUES = [
    INJECTION,
    "Robert'); DROP TABLE audit.load_batches;-- $$ $tag$ E'\\x00'",
    'a,b;"c"\r\n\\.\n\\N\ttab \\ backslash',
]


def injection_values(d: Delivery) -> None:
    rows = d.rows()
    for row, text in zip(rows, INJECTION_VALUES, strict=True):
        row["o_comment"] = text
        row["o_clerk"] = text
    d.write("orders", rows)
    d.seal()


def very_long_text(d: Delivery) -> None:
    orders_with(d, "o_comment", ["x" * 100_000, "ü" * 100_000, "🧾" * 25_000])


def empty_and_blank_text(d: Delivery) -> None:
    # Required text that is empty is still text, not missing: '' must not become null on either engine.
    orders_with(d, "o_clerk", ["", " ", "\t"])


# --- deliveries across batches -----------------------------------------------------------------


def key_updated_in_later_batch(d: Delivery) -> None:
    first = d.rows()
    d.land_prior("first", {"orders": first})
    updated = [dict(row, o_orderstatus="F", o_comment=f"updated: {row['o_comment']}", _op="update") for row in first]
    d.write("orders", updated)
    d.seal()


def same_content_new_name(d: Delivery) -> None:
    prior = d.land_prior("first", {"orders": d.rows()})
    d.write_bytes("orders", "orders.parquet", (prior.batch_dir / "orders.parquet").read_bytes(), rows=len(d.rows()))
    d.seal()


def batch_id_reused(d: Delivery) -> None:
    good_orders(d)
    d.seal()


def batch_id_reused_with_other_content(d: Delivery) -> None:
    rows = [dict(row, o_comment="changed after it was loaded") for row in d.rows()]
    d.write("orders", rows)
    d.seal()


def replaces_a_loaded_batch(d: Delivery) -> None:
    # Both deliveries differ from the good rows, which the corrected re-delivery after this one carries.
    prior = d.land_prior("first", {"orders": [dict(row, o_comment="first delivery") for row in d.rows()]})
    d.write("orders", [dict(row, o_comment="a correction, too late") for row in d.rows()])
    d.seal(replaces=prior.batch_id)


def manifest_missing(d: Delivery) -> None:
    good_orders(d)


def manifest_lands_later(d: Delivery) -> None:
    d.seal()


# --- manifests -----------------------------------------------------------------------------


def manifest_not_json(d: Delivery) -> None:
    good_orders(d)
    d.write_manifest("{'batch_id': '" + d.batch_id + "', files: [")


def manifest_wrong_checksum(d: Delivery) -> None:
    good_orders(d)
    document = d.manifest()
    document["files"][0]["sha256"] = "0" * 64
    d.write_manifest(json.dumps(document))


def manifest_wrong_row_count(d: Delivery) -> None:
    good_orders(d)
    document = d.manifest()
    document["files"][0]["rows"] += 1
    d.write_manifest(json.dumps(document))


def manifest_lists_missing_file(d: Delivery) -> None:
    good_orders(d)
    lines = d.write("order_lines", d.rows("order_lines"))
    document = d.manifest()
    lines.unlink()
    d.write_manifest(json.dumps(document))


def manifest_traversal_batch_id(d: Delivery) -> None:
    good_orders(d)
    d.seal(batch_id="../../../etc/passwd")


def manifest_traversal_file_path(d: Delivery) -> None:
    good_orders(d)
    document = d.manifest()
    document["files"][0]["path"] = "../../../etc/orders.parquet"
    d.write_manifest(json.dumps(document))


def manifest_unknown_entity(d: Delivery) -> None:
    good_orders(d)
    d.write_table("invoices", d.table("orders", d.rows()), "invoices.parquet")
    d.seal()


def file_not_in_manifest(d: Delivery) -> None:
    good_orders(d)
    document = d.manifest()
    d.write_bytes("invoices", "invoices.parquet", parquet_bytes(d), rows=len(d.rows()))
    d.write_manifest(json.dumps(document))


def manifest_names_other_batch(d: Delivery) -> None:
    good_orders(d)
    d.seal(batch_id="20300101-elsewhere", business_date="2030-01-01")


def manifest_date_not_batch_date(d: Delivery) -> None:
    good_orders(d)
    d.seal(business_date="1998-08-03")


def manifest_wrong_types(d: Delivery) -> None:
    good_orders(d)
    document = d.manifest()
    document["files"][0]["rows"] = str(document["files"][0]["rows"])
    d.write_manifest(json.dumps(document))


def manifest_future_schema_version(d: Delivery) -> None:
    good_orders(d)
    d.seal(schema_version=2)


def manifest_replaces_itself(d: Delivery) -> None:
    good_orders(d)
    d.seal(replaces=d.batch_id)


NOT_PARQUET = "not a readable parquet file"
PLAIN_WHOLE = "not written as a plain whole number"

CASES: tuple[BadInput, ...] = (
    # Malformed files
    BadInput("empty-file", "orders.parquet with its schema and no rows", ACCEPTED, empty_file),
    BadInput(
        "zero-byte-file",
        "orders.parquet is 0 bytes",
        BATCH_FAILED,
        zero_byte_file,
        message=("orders.parquet", NOT_PARQUET),
    ),
    BadInput(
        "truncated-parquet",
        "orders.parquet cut to half its bytes, the checksum sealed after the cut",
        BATCH_FAILED,
        truncated_parquet,
        message=("orders.parquet", NOT_PARQUET),
    ),
    BadInput(
        "corrupt-data-page",
        "a data page's header spoiled; footer, row count and checksum intact",
        BATCH_FAILED,
        corrupt_data_page,
        message=("orders.parquet", "could not be read"),
    ),
    BadInput(
        "text-not-parquet",
        "a text note under the name orders.parquet",
        BATCH_FAILED,
        text_not_parquet,
        message=("orders.parquet", NOT_PARQUET),
    ),
    BadInput(
        "parquet-magic-garbage-inside",
        "PAR1 at both ends of the file, garbage between",
        BATCH_FAILED,
        parquet_magic_garbage_inside,
        message=("orders.parquet", NOT_PARQUET),
    ),
    BadInput(
        "invalid-utf8-in-text",
        "a string column holding bytes that are not UTF-8 (latin-1 'café', 0xff)",
        BATCH_FAILED,
        invalid_utf8_in_text,
        message=("orders.parquet", "not valid UTF8"),
    ),
    BadInput(
        "text-as-binary",
        "o_comment written as binary, not string: two UTF-8 texts and one latin-1",
        QUARANTINED,
        text_as_binary,
        quarantined={3: "o_comment: not a varchar"},
        unchanged=("o_comment",),
    ),
    BadInput(
        "duplicate-column",
        "o_comment twice in the file",
        BATCH_FAILED,
        duplicate_column,
        message=("orders.parquet", "appear more than once"),
    ),
    # CSV and encodings
    BadInput(
        "csv-instead-of-parquet",
        "orders.csv (UTF-8, with a header) delivered and listed in the manifest",
        BATCH_FAILED,
        csv_instead_of_parquet,
        message=("orders.csv", "must be in 'orders.parquet'"),
    ),
    BadInput(
        "csv-named-parquet",
        "a UTF-8 CSV under the name orders.parquet",
        BATCH_FAILED,
        csv_named_parquet("utf-8"),
        message=("orders.parquet", NOT_PARQUET),
    ),
    BadInput(
        "csv-latin1",
        "a latin-1 CSV ('Müller', 'Ñandú' as single bytes) under the name orders.parquet",
        BATCH_FAILED,
        csv_named_parquet("latin-1", ("Müller", "Ñandú")),
        message=("orders.parquet", NOT_PARQUET),
    ),
    BadInput(
        "csv-utf16-bom",
        "a UTF-16 CSV with a byte-order mark under the name orders.parquet",
        BATCH_FAILED,
        csv_named_parquet("utf-16", ("Müller", "東京")),
        message=("orders.parquet", NOT_PARQUET),
    ),
    BadInput(
        "csv-header-only",
        "a CSV with only its header line, under the name orders.parquet",
        BATCH_FAILED,
        csv_header_only,
        message=("orders.parquet", NOT_PARQUET),
    ),
    BadInput(
        "manifest-latin1",
        "manifest.json written in latin-1 (an umlaut in the generator's name)",
        BATCH_FAILED,
        manifest_in_latin1,
        message=("manifest.json", "not valid UTF-8 JSON"),
    ),
    # Schema drift
    BadInput(
        "missing-column",
        "o_orderdate missing from orders.parquet",
        BATCH_FAILED,
        missing_column,
        message=("orders.parquet", "breaking schema change", "o_orderdate"),
    ),
    BadInput(
        "extra-column",
        "a new column o_sales_channel (additive drift)",
        ACCEPTED,
        extra_column,
        unchanged=("o_sales_channel", "o_comment"),
    ),
    BadInput(
        "injection-column-name",
        f"a column named {INJECTION_COLUMN}",
        BATCH_FAILED,
        injection_column_name,
        message=("orders.parquet", "not safe identifiers"),
    ),
    BadInput(
        "metadata-column-in-file",
        "a column _batch_id naming another batch (the loader's own metadata)",
        BATCH_FAILED,
        metadata_column_in_file,
        message=("orders.parquet", "not safe identifiers"),
    ),
    # Wrong types and contract rules, row by row
    BadInput(
        "text-in-number",
        "l_quantity as text, one value '12abc'",
        QUARANTINED,
        text_in_number,
        entity="order_lines",
        quarantined={2: "l_quantity: not a decimal(15, 2): 12abc"},
    ),
    BadInput(
        "fractional-key",
        "o_orderkey as a double, one value with .5 (a cast would round it to another key)",
        QUARANTINED,
        fractional_key,
        quarantined={2: "o_orderkey: not exactly a bigint"},
        unchanged=("o_orderkey",),
    ),
    BadInput(
        "null-keys",
        "l_orderkey null in one row, l_linenumber in another",
        QUARANTINED,
        null_keys,
        entity="order_lines",
        quarantined={1: "l_orderkey: missing", 2: "l_linenumber: missing"},
    ),
    BadInput(
        "required-values-missing",
        "o_custkey null in one row, o_orderdate in another",
        QUARANTINED,
        required_values_missing,
        quarantined={1: "o_custkey: missing", 3: "o_orderdate: missing"},
    ),
    BadInput(
        "non-positive-quantity",
        "l_quantity 0 and -1",
        QUARANTINED,
        non_positive_quantity,
        entity="order_lines",
        quarantined={1: "l_quantity: must be positive", 2: "l_quantity: must be positive"},
    ),
    BadInput(
        "negative-money",
        "o_totalprice -0.01 (0.00 is allowed)",
        QUARANTINED,
        negative_money,
        quarantined={1: "o_totalprice: must not be negative"},
        unchanged=("o_totalprice",),
    ),
    BadInput(
        "rate-out-of-range",
        "l_discount 1.01, l_tax -0.01",
        QUARANTINED,
        rate_out_of_range,
        entity="order_lines",
        quarantined={1: "l_discount: must be between 0 and 1", 3: "l_tax: must be between 0 and 1"},
    ),
    BadInput(
        "unknown-status",
        "o_orderstatus 'X' and lower-case 'f'",
        QUARANTINED,
        unknown_status,
        quarantined={1: "o_orderstatus: must be F, O or P", 2: "o_orderstatus: must be F, O or P"},
    ),
    BadInput(
        "non-positive-part-size",
        "p_size 0",
        QUARANTINED,
        non_positive_part_size,
        entity="parts",
        quarantined={2: "p_size: must be positive"},
    ),
    BadInput(
        "huge-money",
        "o_totalprice 10^13 and 10^20 in a decimal(38, 2) column (the contract holds < 10^13)",
        QUARANTINED,
        huge_money,
        quarantined={1: "o_totalprice: not a decimal(15, 2)", 2: "o_totalprice: not a decimal(15, 2)"},
        unchanged=("o_totalprice",),
    ),
    BadInput(
        "huge-integers",
        "o_orderkey 2^64-1 (unsigned), o_shippriority 2^40",
        QUARANTINED,
        huge_integers,
        quarantined={1: "o_orderkey: not a bigint", 2: "o_shippriority: not a integer"},
    ),
    BadInput(
        "nan-and-infinity",
        "o_totalprice NaN, +inf and -inf as doubles",
        QUARANTINED,
        nan_and_infinity,
        quarantined={1: "not a decimal(15, 2): nan", 2: "not a decimal(15, 2): inf", 3: "not a decimal(15, 2): -inf"},
    ),
    BadInput(
        "more-decimals-than-money",
        "o_totalprice 1.005 in a decimal(18, 3) column (would round to 1.01)",
        QUARANTINED,
        more_decimals_than_money,
        quarantined={1: "would be stored as 1.01", 3: "would be stored as 4.00"},
        unchanged=("o_totalprice",),
    ),
    BadInput(
        "extreme-valid-numbers",
        "bigint max key, 9999999999999.99, int32 min and max, 0.00",
        ACCEPTED,
        extreme_valid_numbers,
        unchanged=("o_orderkey", "o_totalprice", "o_shippriority"),
    ),
    BadInput(
        "unparseable-dates",
        "o_orderdate as text: '31.12.1998', '1998-02-30'",
        QUARANTINED,
        unparseable_dates,
        quarantined={1: "o_orderdate: not a date: 31.12.1998", 2: "o_orderdate: not a date: 1998-02-30"},
    ),
    BadInput(
        "date-with-time-of-day",
        "o_orderdate as a timestamp, one at 13:45",
        QUARANTINED,
        date_with_time_of_day,
        quarantined={1: "o_orderdate: not exactly a date"},
    ),
    BadInput(
        "keys-in-exponent-or-underscores",
        "o_orderkey as text, one in exponent notation (7.57E+2), one with an underscore (7_58)",
        QUARANTINED,
        keys_in_exponent_or_underscores,
        quarantined={1: f"o_orderkey: {PLAIN_WHOLE}", 2: f"o_orderkey: {PLAIN_WHOLE}"},
    ),
    BadInput(
        "keys-signed-padded-or-decimal",
        "keys as text with a '+', a leading or trailing space, a leading zero, a '.0'",
        QUARANTINED,
        keys_signed_padded_or_decimal,
        quarantined={1: f"o_orderkey: {PLAIN_WHOLE}", 2: f"o_custkey: {PLAIN_WHOLE}", 3: f"o_orderkey: {PLAIN_WHOLE}"},
    ),
    BadInput(
        "integer-negative-zero-or-exponent",
        "o_shippriority as text: '-0', '0e0' ('0' is fine)",
        QUARANTINED,
        integer_negative_zero_or_exponent,
        quarantined={1: f"o_shippriority: {PLAIN_WHOLE}", 2: f"o_shippriority: {PLAIN_WHOLE}"},
    ),
    BadInput(
        "money-in-exponent-or-separators",
        "o_totalprice as text: '1.5e2', '1_000.00'",
        QUARANTINED,
        money_in_exponent_or_separators,
        quarantined={index: "o_totalprice: not written as a plain decimal number" for index in (1, 2)},
    ),
    BadInput(
        "money-signed-or-padded",
        "o_totalprice as text: '+12.50', ' 12.50', '.5'",
        QUARANTINED,
        money_signed_or_padded,
        quarantined={index: "o_totalprice: not written as a plain decimal number" for index in (1, 2, 3)},
    ),
    BadInput(
        "money-with-many-decimals",
        "o_totalprice as text with 19 decimals (1.0000000000000000001), and 2.5 with 23",
        QUARANTINED,
        money_with_many_decimals,
        quarantined={1: "o_totalprice: not exactly a decimal(15, 2), it would be stored as 1.00"},
    ),
    BadInput(
        "dates-in-other-formats",
        "o_orderdate as text: '1998-8-3', '1998/08/03', '1998-08-03T00:00:00Z'",
        QUARANTINED,
        dates_in_other_formats,
        quarantined={index: "o_orderdate: not written as a date (YYYY-MM-DD)" for index in (1, 2, 3)},
    ),
    BadInput(
        "dates-padded-or-zoned",
        "o_orderdate as text: ' 1998-08-03', '1998-08-03 00:00:00+02'",
        QUARANTINED,
        dates_padded_or_zoned,
        quarantined={index: "o_orderdate: not written as a date (YYYY-MM-DD)" for index in (1, 2)},
    ),
    BadInput(
        "date-as-timestamp-with-time-zone",
        "o_orderdate as timestamps with time zone (UTC), one at midnight",
        BATCH_FAILED,
        date_as_timestamp_with_time_zone,
        message=("orders.parquet", "o_orderdate is TIMESTAMP WITH TIME ZONE", "an instant"),
    ),
    BadInput(
        "date-as-integer",
        "o_orderdate as the integers 19980803...",
        BATCH_FAILED,
        date_as_integer,
        message=("orders.parquet", "o_orderdate is INTEGER", "cannot hold date values"),
    ),
    BadInput(
        "number-as-boolean",
        "o_shippriority as booleans",
        BATCH_FAILED,
        number_as_boolean,
        message=("orders.parquet", "o_shippriority is BOOLEAN", "cannot hold integer values"),
    ),
    BadInput(
        "keys-as-floats-beyond-their-precision",
        "o_orderkey a double 2^53 + 2, o_custkey a float 2^24 + 2",
        QUARANTINED,
        keys_as_floats_beyond_their_precision,
        quarantined={1: "o_orderkey: not exactly a bigint: a DOUBLE", 2: "o_custkey: not exactly a bigint: a FLOAT"},
    ),
    BadInput(
        "date-column-without-a-type",
        "o_orderdate null in every row, written without a type (DuckDB reads an integer)",
        QUARANTINED,
        date_column_without_a_type,
        quarantined={index: "o_orderdate: missing" for index in (1, 2, 3)},
    ),
    BadInput(
        "dates-at-type-limits",
        "order dates 0001-01-01, 9999-12-31, 1970-01-01",
        ACCEPTED,
        dates_at_type_limits,
        unchanged=("o_orderdate",),
    ),
    BadInput(
        "dates-implausible",
        "order dates 1900-01-01, 2999-12-31 and the day before the export's first",
        ACCEPTED,
        dates_implausible_but_valid,
        unchanged=("o_orderdate",),
    ),
    BadInput(
        "dates-beyond-year-9999",
        "order dates in year 10000, year 5877518 and 4713 BC",
        QUARANTINED,
        dates_beyond_year_9999,
        quarantined={index: "o_orderdate: must be between 0001-01-01 and 9999-12-31" for index in (1, 2, 3)},
    ),
    BadInput(
        "nul-in-text",
        "o_comment with a NUL character inside",
        QUARANTINED,
        nul_in_text,
        quarantined={1: "o_comment: contains a NUL character"},
        unchanged=("o_comment",),
    ),
    BadInput(
        "nul-in-number-text",
        "o_orderkey as text, one value ending in a NUL character",
        QUARANTINED,
        nul_in_number_text,
        quarantined={1: "o_orderkey: not a bigint"},
    ),
    BadInput(
        "nul-in-new-column",
        "a new column o_sales_channel with a NUL character in one value",
        QUARANTINED,
        nul_in_new_column,
        quarantined={1: "o_sales_channel: contains a NUL character"},
        unchanged=("o_sales_channel",),
    ),
    BadInput(
        "duplicate-rows-in-file",
        "the first order twice, identical",
        QUARANTINED,
        duplicate_rows_in_file,
        quarantined={4: "exact duplicate of source row 1"},
    ),
    BadInput(
        "conflicting-key-in-file",
        "the second order twice, with different statuses",
        QUARANTINED,
        conflicting_key_in_file,
        quarantined={index: "appears 2 times in this file with different values" for index in (2, 4)},
    ),
    BadInput(
        "invalid-op",
        "_op 'upsert' and null",
        QUARANTINED,
        invalid_op,
        quarantined={1: "_op: must be one of insert, update, delete: upsert", 2: "_op: must be one of"},
    ),
    # Odd values that must arrive unchanged
    BadInput(
        "unicode-text",
        "emoji with joiners, right-to-left scripts, combining marks, astral characters",
        ACCEPTED,
        unicode_text,
        unchanged=("o_comment", "o_clerk"),
    ),
    BadInput(
        "injection-values",
        "SQL, quotes, dollar quotes, CSV and COPY escapes in text",
        ACCEPTED,
        injection_values,
        unchanged=("o_comment", "o_clerk"),
    ),
    BadInput(
        "very-long-text",
        "o_comment of 100,000 characters (ASCII, 2-byte, 4-byte)",
        ACCEPTED,
        very_long_text,
        unchanged=("o_comment",),
    ),
    BadInput(
        "empty-and-blank-text",
        "o_clerk (required) '', ' ' and a tab",
        ACCEPTED,
        empty_and_blank_text,
        unchanged=("o_clerk",),
    ),
    # Deliveries across batches
    BadInput(
        "key-updated-in-later-batch",
        "the orders of the day before again, changed, as updates",
        ACCEPTED,
        key_updated_in_later_batch,
        unchanged=("o_orderkey", "o_orderstatus", "o_comment", OP_COLUMN),
    ),
    BadInput(
        "same-content-new-name",
        "yesterday's files again under a new batch id",
        SKIPPED,
        same_content_new_name,
    ),
    BadInput(
        "batch-id-reused",
        "a loaded batch id delivered again with other content",
        BATCH_FAILED,
        batch_id_reused,
        message=("already loaded, with other content",),
        afterwards=batch_id_reused_with_other_content,
    ),
    BadInput(
        "replaces-a-loaded-batch",
        "a correction naming in replaces a batch that is already loaded",
        BATCH_FAILED,
        replaces_a_loaded_batch,
        message=("which is already loaded", "nothing was written"),
    ),
    BadInput(
        "manifest-missing",
        "files without a manifest; the manifest lands after a load",
        WAITS,
        manifest_missing,
        afterwards=manifest_lands_later,
    ),
    # Manifests
    BadInput(
        "manifest-not-json",
        "manifest.json is not JSON",
        BATCH_FAILED,
        manifest_not_json,
        message=("manifest.json", "not valid UTF-8 JSON"),
    ),
    BadInput(
        "manifest-wrong-checksum",
        "the sha256 in the manifest is not the file's",
        BATCH_FAILED,
        manifest_wrong_checksum,
        message=("orders.parquet", "sha256"),
    ),
    BadInput(
        "manifest-wrong-row-count",
        "the manifest promises one row more than the file holds",
        BATCH_FAILED,
        manifest_wrong_row_count,
        message=("orders.parquet", "holds 3 rows, the manifest says 4"),
    ),
    BadInput(
        "manifest-lists-missing-file",
        "the manifest lists order_lines.parquet, which is not there",
        BATCH_FAILED,
        manifest_lists_missing_file,
        message=("order_lines.parquet", "listed in the manifest but missing"),
    ),
    BadInput(
        "manifest-traversal-batch-id",
        "batch_id '../../../etc/passwd' in the manifest",
        BATCH_FAILED,
        manifest_traversal_batch_id,
        message=("manifest.json", "batch_id is '../../../etc/passwd', not as the format describes it"),
    ),
    BadInput(
        "manifest-traversal-file-path",
        "a file path '../../../etc/orders.parquet' in the manifest",
        BATCH_FAILED,
        manifest_traversal_file_path,
        message=("manifest.json", "must be in 'orders.parquet'"),
    ),
    BadInput(
        "manifest-unknown-entity",
        "invoices.parquet listed as entity 'invoices'",
        BATCH_FAILED,
        manifest_unknown_entity,
        message=("manifest.json", "unknown entity 'invoices'"),
    ),
    BadInput(
        "file-not-in-manifest",
        "invoices.parquet in the batch directory, not in the manifest",
        BATCH_FAILED,
        file_not_in_manifest,
        message=("invoices.parquet", "not in its manifest"),
    ),
    BadInput(
        "manifest-names-other-batch",
        "the manifest's batch_id is another batch's",
        BATCH_FAILED,
        manifest_names_other_batch,
        message=("manifest.json", "names batch 20300101-elsewhere"),
    ),
    BadInput(
        "manifest-date-not-batch-date",
        "business_date 1998-08-03 in a batch whose id has another date",
        BATCH_FAILED,
        manifest_date_not_batch_date,
        message=("manifest.json", "does not start with its business_date"),
    ),
    BadInput(
        "manifest-wrong-types",
        "a row count written as text in the manifest",
        BATCH_FAILED,
        manifest_wrong_types,
        message=("manifest.json", "malformed manifest, files.0.rows", "is not of type 'integer'"),
    ),
    BadInput(
        "manifest-future-schema",
        "schema_version 2, which this loader does not read",
        BATCH_FAILED,
        manifest_future_schema_version,
        message=("manifest.json", "schema_version 2"),
    ),
    BadInput(
        "manifest-replaces-itself",
        "a good delivery whose manifest says it replaces its own batch id",
        BATCH_FAILED,
        manifest_replaces_itself,
        message=("manifest.json", "replaces names its own batch"),
    ),
)
