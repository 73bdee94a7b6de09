"""Apply an entity's contract to a landed file, in DuckDB SQL, without touching the warehouse.

The result is a temp table `stage_<entity>` holding every source row once: typed columns,
the row's hash, its original values as JSON and the list of reasons it breaks the contract
(empty for a good row). Writers then split it into raw rows and quarantine rows, so
rows_in = rows_loaded + rows_quarantined by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from elt.entities import OP_COLUMN, Column, Entity
from elt.errors import EltError
from elt.load.ddl import identifier, raw_columns


@dataclass(frozen=True)
class StagedEntity:
    entity: Entity
    stage_table: str
    source_file: str
    file_sha256: str
    rows_in: int
    rows_invalid: int
    extra_columns: tuple[str, ...]

    @property
    def rows_valid(self) -> int:
        return self.rows_in - self.rows_invalid


def _sql_string(text: str) -> str:
    """Quote a constant that we wrote ourselves (contract reasons), never data from a file."""
    return "'" + text.replace("'", "''") + "'"


OPS = ("insert", "update", "delete")


def _reason_expressions(column: Column, is_key: bool, op_sql: str) -> list[str]:
    """Why a row breaks the contract on this column. A delete (tombstone) carries only its key,
    so beyond the key it is held to types alone."""
    name = identifier(column.name)
    source = f"source.{name}"
    typed = f"try_cast({source} as {column.sql_type})"
    not_a_delete = f"{op_sql} is distinct from 'delete'"
    reasons = [
        f"case when {source} is not null and {typed} is null then "
        f"{_sql_string(f'{name}: not a {column.sql_type}: ')} || left(cast({source} as varchar), 80) end"
    ]
    if is_key:
        reasons.append(f"case when {source} is null then {_sql_string(f'{name}: missing')} end")
    elif column.required:
        reasons.append(f"case when {source} is null and {not_a_delete} then {_sql_string(f'{name}: missing')} end")
    if column.check:
        predicate = column.check.format(col=typed)
        reasons.append(
            f"case when {not_a_delete} and not ({predicate}) then {_sql_string(f'{name}: {column.check_reason}')} end"
        )
    return reasons


def _op_reason(op_sql: str) -> str:
    allowed = ", ".join(_sql_string(op) for op in OPS)
    message = _sql_string(f"{OP_COLUMN}: must be one of {', '.join(OPS)}: ")
    return f"case when {op_sql} is null or {op_sql} not in ({allowed}) then {message} || coalesce({op_sql}, 'null') end"


def source_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    try:
        rows = con.execute("select column_name from (describe select * from read_parquet($path))", {"path": str(path)})
        return [row[0] for row in rows.fetchall()]
    except duckdb.Error as error:
        raise EltError(
            f"{path}: cannot read the parquet schema ({error}). Ask for the batch to be re-delivered."
        ) from error


@dataclass(frozen=True)
class BatchContext:
    """What the loader stamps on every row of a batch (the `_` metadata columns)."""

    batch_id: str
    business_date: date
    op: str
    loaded_at: datetime


def stage_entity(
    con: duckdb.DuckDBPyConnection, path: Path, entity: Entity, file_sha256: str, batch: BatchContext
) -> StagedEntity:
    present = source_columns(con, path)
    missing = [name for name in entity.column_names if name not in present]
    if missing:
        raise EltError(
            f"{path}: breaking schema change, required column(s) {missing} are missing "
            f"(the file has {present}). Fix the extract or update the contract in scripts/elt/entities.py."
        )
    # A change batch says per row what happened (`_op`); an export is all inserts.
    op_sql = f"source.{OP_COLUMN}" if OP_COLUMN in present else "cast($op as varchar)"
    extra = tuple(name for name in present if name not in (*entity.column_names, OP_COLUMN))

    stage_table = identifier(f"stage_{entity.name}")
    typed_columns = [f"try_cast(source.{identifier(c.name)} as {c.sql_type}) as {c.name}" for c in entity.columns]
    record = ", ".join(f"{identifier(c.name)} := source.{c.name}" for c in entity.columns)
    typed_record = ", ".join(f"{c.name} := try_cast(source.{c.name} as {c.sql_type})" for c in entity.columns)
    reasons = [_op_reason(op_sql)] + [
        expression
        for column in entity.columns
        for expression in _reason_expressions(column, column.name in entity.key, op_sql)
    ]
    sql = f"""
        create or replace temp table {stage_table} as
        select
            {", ".join(typed_columns)},
            cast($batch_id as varchar) as _batch_id,
            cast($business_date as date) as _business_date,
            {op_sql} as _op,
            cast($source_file as varchar) as _source_file,
            source.file_row_number + 1 as _source_row,
            cast($loaded_at as timestamp) as _loaded_at,
            md5(to_json(struct_pack({typed_record}))) as _row_hash,
            to_json(struct_pack({record})) as _record,
            [reason for reason in [{", ".join(reasons)}] if reason is not null] as _reasons
        from read_parquet($path, file_row_number = true) as source
    """
    parameters = {
        "path": str(path),
        "batch_id": batch.batch_id,
        "business_date": batch.business_date,
        "source_file": f"{batch.batch_id}/{path.name}",
        "loaded_at": batch.loaded_at,
    }
    if OP_COLUMN not in present:
        parameters["op"] = batch.op
    try:
        con.execute(sql, parameters)
    except (duckdb.IOException, duckdb.InvalidInputException) as error:
        raise EltError(f"{path}: could not be read ({error}). Ask for the batch to be re-delivered.") from error
    rows_in, rows_invalid = con.execute(
        f"select count(*), count(*) filter (where len(_reasons) > 0) from {stage_table}"
    ).fetchone()
    return StagedEntity(entity, stage_table, path.name, file_sha256, rows_in, rows_invalid, extra)


def valid_rows_query(staged: StagedEntity) -> str:
    """The rows that go to raw, with exactly the raw table's columns in order."""
    return f"select {', '.join(raw_columns(staged.entity))} from {staged.stage_table} where len(_reasons) = 0"


def quarantine_rows_query(staged: StagedEntity) -> str:
    """The rows that go to audit.quarantine, in that table's column order."""
    return f"""
        select _batch_id, {_sql_string(staged.entity.name)}, _source_file, _source_row,
            _record, array_to_string(_reasons, '; '), _loaded_at
        from {staged.stage_table}
        where len(_reasons) > 0
    """
