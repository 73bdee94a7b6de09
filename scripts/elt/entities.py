"""What a landed entity's contract holds, and the columns the loader adds to every raw row.

Contracts are declared per source in its dbt sources file and read by `elt.sources`
(decision 0028). Landing files keep the source's own column names (the ERP's `c_custkey`,
...); renaming to the warehouse's vocabulary is the staging layer's job. Types are those
that mean the same in DuckDB and PostgreSQL, because one DDL creates raw on both engines.
"""

from __future__ import annotations

from dataclasses import dataclass

BIGINT = "bigint"
INTEGER = "integer"
MONEY = "decimal(15, 2)"
DATE = "date"
TEXT = "varchar"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    required: bool = True
    # A SQL predicate over the typed value (`{col}` is replaced by the column); rows
    # breaking it are quarantined, not loaded.
    check: str | None = None
    check_reason: str | None = None


# The file formats a contract may declare, and the extension of each entity's file.
FILE_EXTENSIONS = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str = ","
    quote: str = '"'
    escape: str = '"'
    encoding: str = "utf-8"
    header: bool = True

    def described(self) -> str:
        return (
            f"delimiter {self.delimiter!r}, quote {self.quote!r}, escape {self.escape!r}, "
            f"encoding {self.encoding}, {'a' if self.header else 'no'} header row"
        )


@dataclass(frozen=True)
class Entity:
    name: str
    source: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str
    file_format: str = "parquet"
    csv_dialect: CsvDialect | None = None

    @property
    def raw_table(self) -> str:
        return f"{self.source}_{self.name}"

    @property
    def file_name(self) -> str:
        return f"{self.name}.{FILE_EXTENSIONS[self.file_format]}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


# A change batch's per-row operation (insert, update, delete); an export has no such column.
OP_COLUMN = "_op"

# Columns the loader adds to every raw row: where it came from and what it did.
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_batch_id", TEXT),
    ("_business_date", DATE),
    ("_op", TEXT),
    ("_source_file", TEXT),
    ("_source_row", BIGINT),
    ("_loaded_at", "timestamp"),
    ("_row_hash", BIGINT),
)
