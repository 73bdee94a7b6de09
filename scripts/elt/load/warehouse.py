"""The two warehouse engines behind one small interface the loader drives.

DuckDB validates every batch (it reads parquet natively and applies the contract as SQL).
On the DuckDB target the staged rows are inserted straight from the same connection; on
PostgreSQL they are exported from DuckDB as CSV and streamed with COPY. Either way a
batch is written in one transaction: all of its entities and its ledger rows, or nothing.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import duckdb
import psycopg
import psycopg.sql

from elt.errors import EltError
from elt.faults import fault_point
from elt.generate.manifest import Manifest
from elt.load.ddl import FAILURES_TABLE, LEDGER_TABLE, QUARANTINE_TABLE, create_statements, identifier, raw_table
from elt.load.validate import QUARANTINE_COLUMNS, StagedEntity, quarantine_rows_query
from elt.sources import all_entities

LEDGER_COLUMNS = (
    "batch_id, entity, batch_kind, business_date, content_sha256, source_file, file_sha256, "
    "rows_in, rows_loaded, rows_quarantined, status, started_at, finished_at, added_columns, source"
)
RAW_COLUMNS_QUERY = """
    select column_name from information_schema.columns
    where table_schema = 'raw' and table_name = {placeholder}
"""


def one_line(error: object) -> str:
    """An error's text on one line: DuckDB's and libpq's messages often hold line breaks."""
    return " ".join(str(error).split())


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
            ", ".join(f"{column.name} {column.sql_type}" for column in item.added_columns) or None,
            manifest.source,
        )
        for item in staged
    ]


def check_written(staged: StagedEntity, written: int) -> None:
    """rows_in = rows_loaded + rows_quarantined, checked against what the engine says it wrote."""
    if written != staged.rows_valid:
        raise EltError(
            f"{staged.source_file}: {written} rows written to raw, expected {staged.rows_valid} "
            f"({staged.rows_in} in, {staged.rows_invalid} quarantined); the batch was rolled back. "
            "This is a loader bug: keep the batch and report it."
        )


def added_column_statements(staged: StagedEntity, existing: set[str]) -> list[str]:
    """ALTER TABLE for additive drift: new columns join raw as nullable, so old rows read as null."""
    return [
        f"alter table {raw_table(staged.entity)} add column {identifier(column.name)} {column.sql_type}"
        for column in staged.added_columns
        if column.name not in existing
    ]


class Warehouse(Protocol):
    stage_connection: duckdb.DuckDBPyConnection

    def loaded_batches(self) -> dict[str, str]:
        """content_sha256 -> batch_id of every batch already in the ledger."""

    def query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        """Run a read-only query of our own on the warehouse."""

    def write_batch(self, manifest: Manifest, staged: list[StagedEntity], started_at: datetime) -> None:
        """Append the batch's rows, quarantine and ledger rows in one transaction."""

    def record_failure(self, batch_id: str, business_date: date | None, error: str) -> None:
        """Note a batch that could not be loaded, in its own transaction."""

    def append_rows(self, statements: tuple[str, ...], rows_by_table: dict[str, list[tuple]]) -> None:
        """Run the statements (DDL) and append the rows to each table, in one transaction."""


def _inserts(rows_by_table: dict[str, list[tuple]], placeholder: str) -> list[tuple[str, list[tuple]]]:
    """(insert statement, rows) per table that has rows, in the engine's placeholder style."""
    return [
        (f"insert into {table} values ({', '.join(placeholder for _ in rows[0])})", rows)
        for table, rows in rows_by_table.items()
        if rows
    ]


def _failure_row(batch_id: str, business_date: date | None, error: str) -> tuple:
    return (batch_id, business_date, error, utc_now())


class DuckDBWarehouse:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.stage_connection = connection
        for statement in create_statements(all_entities()):
            connection.execute(statement)

    def append_rows(self, statements: tuple[str, ...], rows_by_table: dict[str, list[tuple]]) -> None:
        con = self.connection
        con.begin()
        try:
            for statement in statements:
                con.execute(statement)
            for insert, rows in _inserts(rows_by_table, "?"):
                con.executemany(insert, rows)
            con.commit()
        except BaseException:
            con.rollback()
            raise

    def query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        return self.connection.execute(sql, parameters).fetchall()

    def loaded_batches(self) -> dict[str, str]:
        return dict(self.query(f"select distinct content_sha256, batch_id from {LEDGER_TABLE}"))

    def record_failure(self, batch_id: str, business_date: date | None, error: str) -> None:
        self.connection.execute(
            f"insert into {FAILURES_TABLE} values (?, ?, ?, ?)", _failure_row(batch_id, business_date, error)
        )

    def write_batch(self, manifest: Manifest, staged: list[StagedEntity], started_at: datetime) -> None:
        con = self.connection
        con.begin()
        try:
            for item in staged:
                query = RAW_COLUMNS_QUERY.format(placeholder="?")
                existing = {row[0] for row in self.query(query, (item.entity.raw_table,))}
                for statement in added_column_statements(item, existing):
                    con.execute(statement)
                columns = ", ".join(item.insert_columns)
                written = con.execute(
                    f"insert into {raw_table(item.entity)} ({columns}) {item.valid_rows_sql}", item.parameters
                ).fetchone()[0]
                check_written(item, written)
                con.execute(f"insert into {QUARANTINE_TABLE} ({QUARANTINE_COLUMNS}) {quarantine_rows_query(item)}")
                fault_point(f"after-write-{item.entity.name}")
            placeholders = ", ".join("?" for _ in LEDGER_COLUMNS.split(","))
            con.executemany(
                f"insert into {LEDGER_TABLE} ({LEDGER_COLUMNS}) values ({placeholders})",
                ledger_rows(manifest, staged, started_at),
            )
            fault_point("before-commit")
            con.commit()
        except BaseException:
            # A COMMIT that failed (the disk full, say) has already ended the transaction, and a
            # second rollback would raise "no transaction is active" in place of the real cause.
            with suppress(duckdb.Error):
                con.rollback()
            raise


class PostgresWarehouse:
    def __init__(self, connection: psycopg.Connection, reads_only: bool = False) -> None:
        self.connection = connection
        self.stage_connection = duckdb.connect()
        try:
            with connection.transaction():
                if reads_only:
                    # `elt status` must not queue behind a load's open transaction (the ALTER in
                    # create_statements waits for it); a loader holding the ledger ran them itself.
                    connection.execute("set local lock_timeout = '500ms'")
                for statement in create_statements(all_entities()):
                    connection.execute(statement)
        except psycopg.errors.LockNotAvailable:
            if not reads_only:
                raise

    def query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        rows = self.connection.execute(sql, parameters).fetchall()
        self.connection.commit()
        return rows

    def loaded_batches(self) -> dict[str, str]:
        return dict(self.query(f"select distinct content_sha256, batch_id from {LEDGER_TABLE}"))

    def append_rows(self, statements: tuple[str, ...], rows_by_table: dict[str, list[tuple]]) -> None:
        with self.connection.transaction(), self.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            for insert, rows in _inserts(rows_by_table, "%s"):
                cursor.executemany(insert, rows)

    def record_failure(self, batch_id: str, business_date: date | None, error: str) -> None:
        with self.connection.transaction():
            self.connection.execute(
                f"insert into {FAILURES_TABLE} values (%s, %s, %s, %s)", _failure_row(batch_id, business_date, error)
            )

    def _copy(
        self, cursor: psycopg.Cursor, table: str, columns: str, query: str, parameters: dict, scratch: Path
    ) -> int:
        """Stream the rows from DuckDB into COPY as CSV; returns the rows PostgreSQL copied.

        DuckDB writes the CSV into a named pipe from a second thread while this one feeds it
        to PostgreSQL, so the export and the COPY overlap instead of taking turns.
        """
        pipe = scratch / f"rows-{threading.get_ident()}.csv"
        os.mkfifo(pipe)
        quoted_pipe = "'" + str(pipe).replace("'", "''") + "'"
        failures: list[BaseException] = []

        def export() -> None:
            try:
                self.stage_connection.execute(f"copy ({query}) to {quoted_pipe} (format csv, header false)", parameters)
            except BaseException as error:  # handed to the reading thread, which raises it
                failures.append(error)
                # If DuckDB failed before opening the pipe, the reader still waits for a writer.
                with suppress(OSError):
                    os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))

        exporter = threading.Thread(target=export, name=f"export-{table}", daemon=True)
        exporter.start()
        try:
            with cursor.copy(f"copy {table} ({columns}) from stdin (format csv)") as copy, pipe.open("rb") as rows:
                for chunk in iter(lambda: rows.read(1 << 20), b""):
                    copy.write(chunk)
                exporter.join()
                if failures:
                    raise failures[0]
        finally:
            exporter.join(timeout=60)
            pipe.unlink(missing_ok=True)
        return cursor.rowcount

    def write_batch(self, manifest: Manifest, staged: list[StagedEntity], started_at: datetime) -> None:
        with tempfile.TemporaryDirectory(prefix="elt-copy-") as scratch, self.connection.transaction():
            cursor = self.connection.cursor()
            for item in staged:
                query = RAW_COLUMNS_QUERY.format(placeholder="%s")
                existing = {row[0] for row in cursor.execute(query, (item.entity.raw_table,)).fetchall()}
                for statement in added_column_statements(item, existing):
                    cursor.execute(statement)
                columns = ", ".join(item.insert_columns)
                written = self._copy(
                    cursor, raw_table(item.entity), columns, item.valid_rows_sql, item.parameters, Path(scratch)
                )
                check_written(item, written)
                query = quarantine_rows_query(item)
                self._copy(cursor, QUARANTINE_TABLE, QUARANTINE_COLUMNS, query, {}, Path(scratch))
                fault_point(f"after-write-{item.entity.name}")
            placeholders = ", ".join("%s" for _ in LEDGER_COLUMNS.split(","))
            cursor.executemany(
                f"insert into {LEDGER_TABLE} ({LEDGER_COLUMNS}) values ({placeholders})",
                ledger_rows(manifest, staged, started_at),
            )
            fault_point("before-commit")


def warehouse_directory(path: Path) -> None:
    """Create the DuckDB file's directory, or say in one line why it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EltError(
            f"{path.parent}: cannot create the warehouse's directory ({error.strerror or error}). Point "
            "WAREHOUSE_DUCKDB_PATH at a directory this user can write (not on a read-only or full file system), "
            "then run again."
        ) from error


@contextmanager
def open_duckdb(path: Path, settings: dict[str, str] | None = None) -> Iterator[DuckDBWarehouse]:
    warehouse_directory(path)
    try:
        connection = duckdb.connect(str(path))
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise EltError(
                f"{path} is in use by another process (another `elt load`/`elt run`, or an open DuckDB "
                "session). Wait for it to finish or close it, then run again."
            ) from error
        raise EltError(
            f"{path}: cannot open the DuckDB warehouse ({one_line(error)}). Check that the file and "
            "its directory can be written (not on a read-only or full file system, not made immutable), or point "
            "WAREHOUSE_DUCKDB_PATH elsewhere; then run again."
        ) from error
    try:
        apply_duckdb_settings(connection, settings or {})
        try:
            warehouse = DuckDBWarehouse(connection)
        except duckdb.IOException as error:
            raise EltError(
                f"{path}: cannot create the raw and audit schemas ({one_line(error)}). Check that the "
                "file and its directory can be written (space, a read-only file system), then run again."
            ) from error
        yield warehouse
    finally:
        connection.close()


def apply_duckdb_settings(connection: duckdb.DuckDBPyConnection, settings: dict[str, str]) -> None:
    """SET each setting on an open connection.

    Not `duckdb.connect(config=...)`: `elt run` runs dbt in this process, and DuckDB refuses
    a second connection to an open database file with a different configuration."""
    for name, value in settings.items():
        if not name.replace("_", "").isalnum():
            raise EltError(f"DuckDB setting {name!r} in profiles.yml is not a setting name.")
        connection.execute(f"set {name} = $value", {"value": value})


@contextmanager
def open_postgres(
    connection_kwargs: dict, role: str | None = None, reads_only: bool = False
) -> Iterator[PostgresWarehouse]:
    where = "{user}@{host}:{port}/{dbname}".format(**connection_kwargs)
    try:
        connection = psycopg.connect(**connection_kwargs, connect_timeout=15)
    except psycopg.OperationalError as error:
        raise EltError(f"cannot connect to PostgreSQL at {where}: {one_line(error)}") from error
    try:
        if role:
            try:
                connection.execute(psycopg.sql.SQL("set role {}").format(psycopg.sql.Identifier(role)))
            except psycopg.Error as error:
                raise EltError(
                    f"{where} cannot switch to role {role!r} ({one_line(error)}): grant it to the loader's "
                    "user, or unset ELT_LOADER_PGROLE (docs/security.md)."
                ) from error
        connection.commit()  # so the role outlives a later rollback
        # No lock here: the loader runs under the warehouse lock (elt.locking), and `elt status`
        # reads through this same connection while a command holds it.
        yield PostgresWarehouse(connection, reads_only)
    finally:
        connection.close()
