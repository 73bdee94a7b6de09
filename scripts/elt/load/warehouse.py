"""The two warehouse engines behind one small interface the loader drives.

DuckDB validates every batch (it reads parquet natively and applies the contract as SQL).
On the DuckDB target the staged rows are inserted straight from the same connection; on
PostgreSQL they are exported from DuckDB as CSV and streamed with COPY. Either way a
batch is written in one transaction: all of its entities and its ledger rows, or nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import duckdb
import psycopg

from elt.entities import ENTITIES
from elt.errors import EltError
from elt.generate.manifest import Manifest
from elt.load.ddl import LEDGER_TABLE, QUARANTINE_TABLE, create_statements, raw_columns, raw_table
from elt.load.validate import StagedEntity, quarantine_rows_query, valid_rows_query

# Any constant works; it only has to be the same for every loader of one database.
POSTGRES_LOAD_LOCK_KEY = 7_301_946_185

LEDGER_COLUMNS = (
    "batch_id, entity, batch_kind, business_date, content_sha256, source_file, file_sha256, "
    "rows_in, rows_loaded, rows_quarantined, status, started_at, finished_at"
)


def utc_now() -> datetime:
    """Audit timestamps are naive UTC, the same on both engines whatever the server's time zone."""
    return datetime.now(UTC).replace(tzinfo=None)


def ledger_rows(manifest: Manifest, staged: list[StagedEntity], started_at: datetime) -> list[tuple]:
    finished_at = utc_now()
    return [
        (
            manifest.batch_id,
            item.entity.name,
            manifest.batch_kind,
            manifest.business_date,
            manifest.content_sha256,
            f"{manifest.batch_id}/{item.source_file}",
            item.file_sha256,
            item.rows_in,
            item.rows_valid,
            item.rows_invalid,
            "loaded",
            started_at,
            finished_at,
        )
        for item in staged
    ]


class Warehouse(Protocol):
    stage_connection: duckdb.DuckDBPyConnection

    def loaded_batches(self) -> dict[str, str]:
        """content_sha256 -> batch_id of every batch already in the ledger."""

    def query(self, sql: str) -> list[tuple]:
        """Run a read-only query of our own on the warehouse."""

    def write_batch(self, manifest: Manifest, staged: list[StagedEntity], started_at: datetime) -> None:
        """Append the batch's rows, quarantine and ledger rows in one transaction."""


class DuckDBWarehouse:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.stage_connection = connection
        for statement in create_statements(ENTITIES):
            connection.execute(statement)

    def query(self, sql: str) -> list[tuple]:
        return self.connection.execute(sql).fetchall()

    def loaded_batches(self) -> dict[str, str]:
        return dict(self.query(f"select distinct content_sha256, batch_id from {LEDGER_TABLE}"))

    def write_batch(self, manifest: Manifest, staged: list[StagedEntity], started_at: datetime) -> None:
        con = self.connection
        con.begin()
        try:
            for item in staged:
                columns = ", ".join(raw_columns(item.entity))
                con.execute(f"insert into {raw_table(item.entity)} ({columns}) {valid_rows_query(item)}")
                con.execute(f"insert into {QUARANTINE_TABLE} {quarantine_rows_query(item)}")
            placeholders = ", ".join("?" for _ in LEDGER_COLUMNS.split(","))
            con.executemany(
                f"insert into {LEDGER_TABLE} ({LEDGER_COLUMNS}) values ({placeholders})",
                ledger_rows(manifest, staged, started_at),
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise


class PostgresWarehouse:
    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection
        self.stage_connection = duckdb.connect()
        with connection.transaction():
            for statement in create_statements(ENTITIES):
                connection.execute(statement)

    def query(self, sql: str) -> list[tuple]:
        rows = self.connection.execute(sql).fetchall()
        self.connection.commit()
        return rows

    def loaded_batches(self) -> dict[str, str]:
        return dict(self.query(f"select distinct content_sha256, batch_id from {LEDGER_TABLE}"))

    def _copy(self, cursor: psycopg.Cursor, table: str, columns: str, query: str, scratch: Path) -> None:
        csv_path = scratch / "rows.csv"
        quoted_path = "'" + str(csv_path).replace("'", "''") + "'"
        self.stage_connection.execute(f"copy ({query}) to {quoted_path} (format csv, header false)")
        with cursor.copy(f"copy {table} ({columns}) from stdin (format csv)") as copy, csv_path.open("rb") as rows:
            for chunk in iter(lambda: rows.read(1 << 20), b""):
                copy.write(chunk)

    def write_batch(self, manifest: Manifest, staged: list[StagedEntity], started_at: datetime) -> None:
        quarantine_columns = "batch_id, entity, source_file, source_row, record, reasons, quarantined_at"
        with tempfile.TemporaryDirectory(prefix="elt-copy-") as scratch, self.connection.transaction():
            cursor = self.connection.cursor()
            for item in staged:
                columns = ", ".join(raw_columns(item.entity))
                self._copy(cursor, raw_table(item.entity), columns, valid_rows_query(item), Path(scratch))
                self._copy(cursor, QUARANTINE_TABLE, quarantine_columns, quarantine_rows_query(item), Path(scratch))
            placeholders = ", ".join("%s" for _ in LEDGER_COLUMNS.split(","))
            cursor.executemany(
                f"insert into {LEDGER_TABLE} ({LEDGER_COLUMNS}) values ({placeholders})",
                ledger_rows(manifest, staged, started_at),
            )


@contextmanager
def open_duckdb(path: Path) -> Iterator[DuckDBWarehouse]:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = duckdb.connect(str(path))
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise EltError(
                f"{path} is in use by another process (another `elt load`/`elt run`, or an open DuckDB "
                "session). Wait for it to finish or close it, then run again."
            ) from error
        raise EltError(f"{path}: cannot open the DuckDB warehouse ({error}).") from error
    try:
        yield DuckDBWarehouse(connection)
    finally:
        connection.close()


@contextmanager
def open_postgres(connection_kwargs: dict) -> Iterator[PostgresWarehouse]:
    where = "{user}@{host}:{port}/{dbname}".format(**connection_kwargs)
    try:
        connection = psycopg.connect(**connection_kwargs, connect_timeout=15)
    except psycopg.OperationalError as error:
        raise EltError(f"cannot connect to PostgreSQL at {where}: {error}".strip()) from error
    try:
        locked = connection.execute("select pg_try_advisory_lock(%s)", (POSTGRES_LOAD_LOCK_KEY,)).fetchone()[0]
        connection.commit()
        if not locked:
            raise EltError(
                f"another load is running against {where} (it holds the load lock). "
                "Wait for it to finish, then run again; nothing was written."
            )
        yield PostgresWarehouse(connection)
    finally:
        connection.close()
