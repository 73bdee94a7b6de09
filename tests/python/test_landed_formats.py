"""CSV and JSON Lines files as a contract declares them: read exactly, or refused with where and why.

tests/python/test_source_contracts.py loads the same batches from parquet, CSV and JSON Lines
and compares the warehouses; these tests try what only a text format can get wrong: a
header that is not the contract's, a file with no header, quoting that never ends, numbers
written for a person to read. Each file is read by `elt.load.formats` and staged by the
loader's own validation on an in-memory DuckDB, as `elt load` does, and the quarantine is
read back from it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from elt.entities import Column, CsvDialect, Entity
from elt.errors import EltError
from elt.load.formats import readable_as_parquet
from elt.load.validate import BatchContext, stage_entity

TARGETS = Entity(
    name="targets",
    source="finance",
    key=("month", "region"),
    columns=(
        Column("month", "date"),
        Column("region", "varchar"),
        Column("revenue_target", "decimal(15, 2)", check="{col} >= 0", check_reason="must not be negative"),
        Column("note", "varchar", required=False),
    ),
    description="Monthly revenue targets per region.",
    file_format="csv",
    csv_dialect=CsvDialect(delimiter=";"),
)


def staged(path: Path, entity: Entity, tmp_path: Path) -> tuple[list[tuple], list[tuple]]:
    """(loaded rows, quarantined (row, reasons)) of one file, by the loader's own validation."""
    con = duckdb.connect()
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    readable = readable_as_parquet(path, entity, scratch)
    batch = BatchContext("20260101-monthly", date(2026, 1, 1), "insert", datetime(2026, 1, 1, tzinfo=UTC))
    result = stage_entity(con, readable, entity, "0" * 64, batch, delivered=path)
    loaded = con.execute(
        f"select {', '.join(entity.column_names)}, _source_file, _source_row from ({result.valid_rows_sql}) "
        "order by _source_row",
        result.parameters,
    ).fetchall()
    quarantined = con.execute(f"select source_row, reasons from {result.quarantine_table} order by 1").fetchall()
    return loaded, quarantined


def test_a_csv_is_read_as_written_and_its_numbers_for_people_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    path.write_text(
        " Month ;REGION;revenue_target;note\n"  # header cells matched without case or spaces
        '2026-01-01;EUROPE;1250000.50;"a; quoted; note"\n'
        "2026-01-01;ASIA;1,250,000.00;\n"  # a thousands separator: not a plain number
        '2026-01-01;AMERICA;900000.00;""\n'  # a quoted empty text is text, an empty field is missing
        "2026-01-01; AFRICA ;-5.00;\n",  # a value's spaces are kept; the check still applies
        encoding="utf-8",
    )

    loaded, quarantined = staged(path, TARGETS, tmp_path)

    source_file = "20260101-monthly/targets.csv"
    assert [row[:4] for row in loaded] == [
        (date(2026, 1, 1), "EUROPE", pytest.approx(1250000.50), "a; quoted; note"),
        (date(2026, 1, 1), "AMERICA", pytest.approx(900000.00), ""),
    ]
    assert [row[4:] for row in loaded] == [(source_file, 1), (source_file, 3)]
    assert [row for row, _ in quarantined] == [2, 4]
    assert "revenue_target" in quarantined[0][1] and "must not be negative" in quarantined[1][1]


def test_a_csv_without_a_header_has_the_contracts_columns_in_order(tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    path.write_text("2026-02-01;EUROPE;10.00;\n2026-02-01;ASIA;20.00;fine\n", encoding="utf-8")
    headless = Entity(**{**TARGETS.__dict__, "csv_dialect": CsvDialect(delimiter=";", header=False)})

    loaded, quarantined = staged(path, headless, tmp_path)

    assert [row[1:4] for row in loaded] == [("EUROPE", pytest.approx(10), None), ("ASIA", pytest.approx(20), "fine")]
    assert quarantined == []


CSV_REFUSALS = {
    "renamed header": (
        "month;area;revenue_target;note\n2026-01-01;EUROPE;1.00;\n",
        ("targets.csv: breaking schema change", "['region'] are missing", "['area']: a rename?"),
    ),
    "header repeated": (
        "month;region;region;note\n2026-01-01;EUROPE;1.00;\n",
        ("targets.csv: column(s) ['region'] appear more than once in the header row", "nothing was loaded"),
    ),
    "quote never closed": (
        'month;region;revenue_target;note\n2026-01-01;EUROPE;1.00;"open\n',
        ("targets.csv: not a readable CSV file as its source's contract declares one", "delimiter ';'", "nothing was"),
    ),
    "empty file": ("", ("targets.csv: the file is empty", "nothing was loaded")),
}


@pytest.mark.parametrize("case", CSV_REFUSALS, ids=lambda case: case.replace(" ", "-"))
def test_a_csv_that_cannot_be_read_as_declared_is_refused_with_where_and_why(case: str, tmp_path: Path) -> None:
    text, expected = CSV_REFUSALS[case]
    path = tmp_path / "targets.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(EltError) as refused:
        staged(path, TARGETS, tmp_path)

    message = str(refused.value)
    assert message.startswith(str(path)), message
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_json_lines_keep_each_value_as_written(tmp_path: Path) -> None:
    path = tmp_path / "targets.jsonl"
    path.write_text(
        '{"month": "2026-03-01", "region": "EUROPE", "revenue_target": 12.5, "note": null}\n'
        '{"month": "2026-03-01", "region": "ASIA", "revenue_target": 1e3}\n'  # an exponent: not a plain number
        '{"month": "2026-03-01", "region": "OCEANIA", "revenue_target": 1234567890123456.78}\n'  # no double holds it
        '{"month": "2026-03-01", "region": "AFRICA", "revenue_target": "7.25", "note": "as text"}\n',
        encoding="utf-8",
    )
    wide = Column("revenue_target", "decimal(18, 2)", check="{col} >= 0", check_reason="must not be negative")
    columns = tuple(wide if column.name == wide.name else column for column in TARGETS.columns)
    json_lines = Entity(**{**TARGETS.__dict__, "columns": columns, "file_format": "jsonl", "csv_dialect": None})

    loaded, quarantined = staged(path, json_lines, tmp_path)

    assert [(row[1], str(row[2]), row[3]) for row in loaded] == [
        ("EUROPE", "12.50", None),
        ("OCEANIA", "1234567890123456.78", None),
        ("AFRICA", "7.25", "as text"),
    ]
    assert [row for row, _ in quarantined] == [2]
    assert "revenue_target" in quarantined[0][1]
