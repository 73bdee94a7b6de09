"""Apply an entity's contract to a landed file, in DuckDB SQL, without touching the warehouse.

Staging reads the parquet file where it lies and produces two queries for the writers:
the valid rows, typed, with the loader's metadata columns, and the quarantine rows, each
with its original values as JSON and every reason it breaks the contract.

Speed comes from the split. Whether a row is valid is one boolean expression; where the
file's types already are the contract's types, DuckDB checks it against the parquet
statistics and skips row groups that cannot hold a bad row, so a clean file costs little
more than a plain copy. The reasons (strings, one per broken rule) are worked out only
for the few rows that fail. Both sides use the same expression, and the writers check
that rows_in = rows_loaded + rows_quarantined before they commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from elt.entities import OP_COLUMN, TEXT, Column, Entity
from elt.errors import EltError
from elt.load.ddl import IDENTIFIER, identifier, raw_columns

OPS = ("insert", "update", "delete")


@dataclass(frozen=True)
class AddedColumn:
    """A column the file has and the contract does not: additive drift, loaded as it comes."""

    name: str
    sql_type: str


@dataclass(frozen=True)
class BatchContext:
    """What the loader stamps on every row of a batch (the `_` metadata columns)."""

    batch_id: str
    business_date: date
    op: str
    loaded_at: datetime


@dataclass(frozen=True)
class StagedEntity:
    entity: Entity
    source_file: str
    file_sha256: str
    rows_in: int
    rows_invalid: int
    added_columns: tuple[AddedColumn, ...]
    valid_rows_sql: str
    quarantine_table: str
    parameters: dict

    @property
    def rows_valid(self) -> int:
        return self.rows_in - self.rows_invalid

    @property
    def insert_columns(self) -> list[str]:
        """The raw table's columns the valid rows fill, in the order valid_rows_sql gives them."""
        return raw_columns(self.entity) + [column.name for column in self.added_columns]


def _sql_string(text: str) -> str:
    """Quote a constant that we wrote ourselves (contract reasons), never data from a file."""
    return "'" + text.replace("'", "''") + "'"


def _shown(value_sql: str) -> str:
    """A delivered value quoted in a reason: its first 80 characters, a NUL as \\0 (PostgreSQL stores no NUL)."""
    return f"replace(left(cast({value_sql} as varchar), 80), chr(0), '\\0')"


def _normalised(sql_type: str) -> str:
    return sql_type.replace(" ", "").upper()


# How a column the contract does not know is typed in raw, portable to both engines.
_PORTABLE_TYPES = {
    "BIGINT": "bigint",
    "INTEGER": "bigint",
    "SMALLINT": "bigint",
    "TINYINT": "bigint",
    "DOUBLE": "double precision",
    "FLOAT": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
    "VARCHAR": "varchar",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")
# File types a cast value can be cast back to and compared with, to prove the cast lost nothing.
_SCALAR = re.compile(
    r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|DATE|TIMESTAMP(_S|_MS|_NS)?|BOOLEAN)$"
)


# What a file's column may be, per kind of contract column, for its values to be comparable
# with what they become; any other type cannot hold the contract's value exactly, and the
# batch fails (decision 0024). A text column takes any type.
_INTEGERS = re.compile(r"^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$")
_TIMESTAMPS = re.compile(r"^TIMESTAMP(_S|_MS|_NS)?$")
# Significand bits: a float holds every whole number up to 2^bits, and beyond it neighbours share a value.
_FLOAT_BITS = {"FLOAT": 24, "DOUBLE": 53}
_TAKES = {
    "whole number": "whole or decimal numbers, floating-point numbers or text",
    "decimal": "whole or decimal numbers, floating-point numbers or text",
    "date": "dates, timestamps without a time zone, or text YYYY-MM-DD",
    "timestamp": "timestamps without a time zone, dates, or text YYYY-MM-DDTHH:MM:SS[.ffffff][Z] in UTC",
}
# Numbers and dates as text, written plainly: DuckDB's casts read much more ('9.0000105e7',
# '90_000_107', '+7', ' 7', '1998/08/03', '1998-08-03T00:00:00+02'), and a text like those has
# been through something on its way (a float, a locale, a time zone) that the loader cannot undo.
_PLAIN_WHOLE = "0|-?[1-9][0-9]*"
_PLAIN_DECIMAL = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?"
_PLAIN_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
# A UTC time as ISO 8601 writes it (T or a space, up to microseconds, an optional Z). DuckDB's
# cast would also take '+02:00' and drop it, storing a local time as if it were UTC.
_PLAIN_TIMESTAMP = _PLAIN_DATE + r"[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z?"


def column_kind(sql_type: str) -> str:
    """What a contract column holds: a whole number, a decimal, a date, a timestamp, or text."""
    normalised = _normalised(sql_type)
    if normalised in ("BIGINT", "INTEGER"):
        return "whole number"
    if _DECIMAL.match(normalised):
        return "decimal"
    return {"DATE": "date", "TIMESTAMP": "timestamp"}.get(normalised, "text")


def _takes(kind: str, source_type: str) -> bool:
    """Whether a file column of `source_type` can hold a value of that kind exactly (value by value)."""
    if kind == "text" or source_type == "VARCHAR":
        return True
    if kind in ("date", "timestamp"):
        return source_type == "DATE" or bool(_TIMESTAMPS.match(source_type))
    return bool(_INTEGERS.match(source_type) or _DECIMAL.match(source_type) or source_type in _FLOAT_BITS)


def _type_refusal(path: Path, column: Column, file_type: str) -> EltError:
    name, kind = column.name, column_kind(column.sql_type)
    if _normalised(file_type).startswith("TIMESTAMPWITHTIMEZONE") and kind == "timestamp":
        return EltError(
            f"{path}: column {name} is TIMESTAMP WITH TIME ZONE where the contract has a timestamp, which is "
            "UTC; ask for a corrected delivery that writes it as a timestamp in UTC (or as text "
            "YYYY-MM-DDTHH:MM:SSZ); nothing was loaded."
        )
    if _normalised(file_type).startswith("TIMESTAMPWITHTIMEZONE") and kind == "date":
        return EltError(
            f"{path}: column {name} is TIMESTAMP WITH TIME ZONE where the contract has a date; such a value is "
            "an instant, and which calendar day an instant falls on depends on a time zone the file does not "
            f"give, so none of its values can load exactly. Ask for a corrected delivery that writes {name} as a "
            "date; nothing was loaded."
        )
    return EltError(
        f"{path}: column {name} is {file_type}, which cannot hold {column.sql_type} values exactly (a {kind} "
        f"column takes {_TAKES[kind]}). Ask for a corrected delivery that writes {name} as {column.sql_type}; "
        "nothing was loaded."
    )


def check_types(
    con: duckdb.DuckDBPyConnection, path: Path, entity: Entity, schema: dict[str, str], shown: Path | None = None
) -> frozenset[str]:
    """Fail the batch on a column whose file type cannot hold the contract's values; return such columns left empty.

    A column with no value at all loads as null whatever its type: a writer gives a column of
    nulls no type (DuckDB reads an integer), as in a file of deletes that carry only keys.
    `shown` is the delivered file when `path` is its parquet rewrite (elt.load.formats).
    """
    shown = shown or path
    empty = set()
    for column in entity.columns:
        file_type = schema[column.name]
        if _takes(column_kind(column.sql_type), _normalised(file_type)):
            continue
        try:
            values = con.execute(
                f"select count({identifier(column.name)}) from read_parquet($path)", {"path": str(path)}
            ).fetchone()[0]
        except duckdb.Error as error:
            raise EltError(f"{shown}: could not be read ({error}). Ask for the batch to be re-delivered.") from error
        if values:
            raise _type_refusal(shown, column, file_type)
        empty.add(column.name)
    return frozenset(empty)


def portable_type(duckdb_type: str) -> str:
    """The raw column type for an added column; anything exotic is kept as text."""
    normalised = _normalised(duckdb_type)
    decimal = _DECIMAL.match(normalised)
    if decimal:
        return f"decimal({decimal.group(1)}, {decimal.group(2)})"
    return _PORTABLE_TYPES.get(normalised, "varchar")


def source_schema(con: duckdb.DuckDBPyConnection, path: Path, shown: Path | None = None) -> dict[str, str]:
    """The file's column names and DuckDB types, in file order."""
    try:
        rows = con.execute(
            "select column_name, column_type from (describe select * from read_parquet($path))", {"path": str(path)}
        ).fetchall()
    except duckdb.Error as error:
        raise EltError(
            f"{shown or path}: cannot read the parquet schema ({error}). Ask for the batch to be re-delivered."
        ) from error
    return dict(rows)


def _check_schema(path: Path, entity: Entity, schema: dict[str, str]) -> tuple[AddedColumn, ...]:
    """Breaking drift stops the batch; additive drift (new, well-named columns) is returned to be loaded."""
    missing = [name for name in entity.column_names if name not in schema]
    extra = [name for name in schema if name not in (*entity.column_names, OP_COLUMN)]
    if missing:
        hint = f" The file has new column(s) {extra}: a rename?" if extra else ""
        raise EltError(
            f"{path}: breaking schema change, required column(s) {missing} are missing.{hint} "
            f"Ask for a corrected delivery, or change the contract (models/staging/{entity.source}/"
            f"_{entity.source}__sources.yml) and the staging model."
        )
    unsafe = [name for name in extra if not IDENTIFIER.match(name) or name.startswith("_")]
    if unsafe:
        raise EltError(
            f"{path}: new column name(s) {unsafe} are not safe identifiers (lower case letters, digits and _, "
            "not starting with _). Ask for a corrected delivery; nothing was loaded."
        )
    return tuple(AddedColumn(name, portable_type(schema[name])) for name in extra)


class _Expressions:
    """SQL for one entity's file: typed values, the validity test and the reasons a row fails."""

    def __init__(
        self,
        entity: Entity,
        schema: dict[str, str],
        default_op: str,
        added: tuple[AddedColumn, ...] = (),
        empty: frozenset[str] = frozenset(),
    ) -> None:
        self.entity = entity
        self.schema = schema
        self.added = added
        # Columns of a type that cannot hold the contract's values and hold none (check_types).
        self.empty = empty
        self.has_op = OP_COLUMN in schema
        self.op = f"source.{OP_COLUMN}" if self.has_op else _sql_string(default_op)
        # An export is all inserts; in a change file a delete (tombstone) carries only its key.
        self.is_delete = f"coalesce({self.op} = 'delete', false)" if self.has_op else None

    def needs_cast(self, column: Column) -> bool:
        return _normalised(self.schema[column.name]) != _normalised(column.sql_type)

    def typed(self, column: Column) -> str:
        name = f"source.{identifier(column.name)}"
        if not self.needs_cast(column):
            return name
        if column.name in self.empty:
            return f"cast(null as {column.sql_type})"
        if column.sql_type == TEXT and _normalised(self.schema[column.name]) == "BLOB":
            # Text stored as plain bytes: decoded as UTF-8 (null if it is not); a cast would write
            # every byte above 0x7f as the four characters \xNN.
            return f"try(decode({name}))"
        return f"try_cast({name} as {column.sql_type})"

    def exact_checks(self, column: Column) -> list[tuple[str, str]]:
        """(condition, reason) pairs: a cast value loads only if every condition holds; each reason says why not.

        DuckDB's casts round: 1.005 becomes 1.01 as a decimal(15, 2), '1.5' becomes the key 2,
        a timestamp becomes its date, and they read text in many forms. A loaded value must be
        the delivered one, so a row whose value the contract's type cannot hold exactly, or
        whose text is not plainly written, is quarantined. Conditions and reasons are SQL; a
        condition is only asked of a value that cast (null otherwise), and may be null itself.
        """
        if not self.needs_cast(column) or column.name in self.empty:
            return []
        source_type = _normalised(self.schema[column.name])
        name, typed, kind = f"source.{column.name}", self.typed(column), column_kind(column.sql_type)
        shown = f"cast({typed} as varchar) || ': ' || {_shown(name)}"

        def reason(text: str) -> str:
            return f"{_sql_string(f'{column.name}: {text}, it would be stored as ')} || {shown}"

        def matches(pattern: str) -> str:
            return f"regexp_full_match({name}, {_sql_string(pattern)})"

        not_exactly = reason(f"not exactly a {column.sql_type}")
        if source_type == "VARCHAR":
            if kind == "whole number":
                plain = reason("not written as a plain whole number (digits and an optional leading -)")
                return [(matches(_PLAIN_WHOLE), plain)]
            if kind == "decimal":
                plain = reason(
                    "not written as a plain decimal number (digits, an optional leading -, a . between digits)"
                )
                scale = int(_DECIMAL.match(_normalised(column.sql_type)).group(2))
                # Plainly written, it may have more decimals than the column if the extra ones are zeros.
                within_scale = matches(rf"-?[0-9]+(\.[0-9]{{0,{scale}}}0*)?")
                return [
                    (matches(_PLAIN_DECIMAL), plain),
                    (f"(not {matches(_PLAIN_DECIMAL)} or {within_scale})", not_exactly),
                ]
            if kind == "date":
                return [(matches(_PLAIN_DATE), reason("not written as a date (YYYY-MM-DD)"))]
            if kind == "timestamp":
                written = "not written as a UTC timestamp (YYYY-MM-DDTHH:MM:SS, optional .ffffff and Z, no offset)"
                return [(matches(_PLAIN_TIMESTAMP), reason(written))]
            return []
        checks = []
        if _SCALAR.match(source_type):
            checks.append((f"try_cast({typed} as {source_type}) = {name}", not_exactly))
        if kind == "whole number" and source_type in _FLOAT_BITS:
            bits = _FLOAT_BITS[source_type]
            beyond = _sql_string(
                f"{column.name}: not exactly a {column.sql_type}: a {source_type} holds every whole number only "
                f"up to 2^{bits} ({2**bits}), beyond it neighbours share one value: "
            )
            checks.append((f"abs({name}) <= {2**bits}", f"{beyond} || {_shown(name)}"))
        return checks

    def texts(self) -> list[tuple[str, str]]:
        """(name, typed value) of every text column a row brings to raw, the file's new columns included."""
        contract = [(column.name, self.typed(column)) for column in self.entity.columns if column.sql_type == TEXT]
        # As the valid rows query writes them: anything exotic becomes text.
        added = [(c.name, f"try_cast(source.{c.name} as varchar)") for c in self.added if c.sql_type == TEXT]
        return contract + added

    def _unless_delete(self, condition: str) -> str:
        return condition if self.is_delete is None else f"({self.is_delete} or {condition})"

    def valid(self) -> str:
        """True or false for every row, never null: the rows it lets through are exactly raw's."""
        parts = []
        if self.has_op:
            allowed = ", ".join(_sql_string(op) for op in OPS)
            parts.append(f"coalesce({self.op} in ({allowed}), false)")
        for column in self.entity.columns:
            typed = self.typed(column)
            if self.needs_cast(column):
                kept = [
                    f"{typed} is not null",
                    *(f"coalesce({check}, false)" for check, _ in self.exact_checks(column)),
                ]
                parts.append(f"(source.{column.name} is null or ({' and '.join(kept)}))")
            if column.name in self.entity.key:
                parts.append(f"{typed} is not null")
            elif column.required:
                parts.append(self._unless_delete(f"{typed} is not null"))
            if column.check:
                parts.append(self._unless_delete(f"({typed} is null or {column.check.format(col=typed)})"))
        # PostgreSQL cannot store a NUL character in text; DuckDB could, but both engines refuse it alike.
        parts += [f"coalesce(not contains({typed}, chr(0)), true)" for _, typed in self.texts()]
        return " and ".join(parts) if parts else "true"

    def reasons(self, extra: tuple[str, ...] = ()) -> str:
        """Every broken rule, as text naming the column, joined with '; '; empty for a valid row.

        `extra` are more reason expressions, null when they do not apply, like the rest.
        concat_ws skips the nulls. A list comprehension filtering nulls out of a list of
        CASEs did the same on DuckDB 2.0, but on DuckDB 1.5 it kept a null in the list for
        some rows of a join, which left their reasons empty.
        """
        cases = []
        if self.has_op:
            allowed = ", ".join(_sql_string(op) for op in OPS)
            message = _sql_string(f"{OP_COLUMN}: must be one of {', '.join(OPS)}: ")
            cases.append(
                f"case when {self.op} is null or {self.op} not in ({allowed}) "
                f"then {message} || coalesce({_shown(self.op)}, 'null') end"
            )
        not_a_delete = "true" if self.is_delete is None else f"not {self.is_delete}"
        for column in self.entity.columns:
            name, typed = column.name, self.typed(column)
            if self.needs_cast(column):
                cases.append(
                    f"case when source.{name} is not null and {typed} is null then "
                    f"{_sql_string(f'{name}: not a {column.sql_type}: ')} || {_shown(f'source.{name}')} end"
                )
                cases.extend(
                    f"case when {typed} is not null and not coalesce({check}, false) then {reason} end"
                    for check, reason in self.exact_checks(column)
                )
            if column.name in self.entity.key:
                cases.append(f"case when source.{name} is null then {_sql_string(f'{name}: missing')} end")
            elif column.required:
                cases.append(
                    f"case when source.{name} is null and {not_a_delete} then {_sql_string(f'{name}: missing')} end"
                )
            if column.check:
                predicate = column.check.format(col=typed)
                reason = _sql_string(f"{name}: {column.check_reason}")
                cases.append(f"case when {not_a_delete} and not ({predicate}) then {reason} end")
        for name, typed in self.texts():
            reason = _sql_string(f"{name}: contains a NUL character (U+0000), which PostgreSQL cannot store")
            cases.append(f"case when contains({typed}, chr(0)) then {reason} end")
        cases.extend(extra)
        return f"concat_ws('; ', {', '.join(cases)})"

    def record(self) -> str:
        """The row exactly as the file had it, every column, for the quarantine."""
        return "to_json(struct_pack(" + ", ".join(f"{identifier(name)} := source.{name}" for name in self.schema) + "))"

    def row_hash(self) -> str:
        # DuckDB's 64-bit hash of the typed business columns, folded into a signed bigint so
        # both engines store it; an md5 of the row text costs more than the whole load.
        typed = ", ".join(self.typed(column) for column in self.entity.columns)
        return f"cast(hash({typed}) >> 1 as bigint)"


def _duplicate_rows_sql(entity: Entity, expressions: _Expressions, columns: list[str]) -> str:
    """Rows repeating a key in one file, with why: a copy of an earlier row, or a conflicting version."""
    keys = ", ".join(expressions.typed(column) for column in entity.columns if column.name in entity.key)
    every_column = ", ".join(f"source.{name}" for name in columns)
    key_names = ", ".join(entity.key)
    return f"""
        with keyed as (
            select
                source.file_row_number + 1 as source_row,
                {keys},
                min(source.file_row_number) over (partition by {every_column}) + 1 as first_copy,
                count(*) over (partition by {keys}) as key_rows,
                count(*) over (partition by {every_column}) as copies
            from read_parquet($path, file_row_number = true) as source
            where ({keys}) in (select ({key_names}) from duplicate_keys)
        )
        select
            source_row,
            case
                when copies = key_rows and source_row > first_copy
                    then 'exact duplicate of source row ' || first_copy
                when copies < key_rows
                    then 'key ({key_names}) appears ' || key_rows || ' times in this file with different values'
            end as reason
        from keyed
    """


# Errors that say our SQL or this machine is at fault, not the file: they propagate as they are.
_LOADER_FAULTS = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException, duckdb.OutOfMemoryException)


def stage_entity(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    entity: Entity,
    file_sha256: str,
    batch: BatchContext,
    delivered: Path | None = None,
) -> StagedEntity:
    """Stage the parquet file `path`: `delivered` is the landed file when `path` is its rewrite as parquet."""
    shown = delivered or path
    # Casts of a timestamp with time zone depend on the session's zone: UTC, not the machine's.
    con.execute("set TimeZone = 'UTC'")
    schema = source_schema(con, path, shown)
    added = _check_schema(shown, entity, schema)
    expressions = _Expressions(entity, schema, batch.op, added, check_types(con, path, entity, schema, shown))
    parameters: dict = {
        "path": str(path),
        "batch_id": batch.batch_id,
        "business_date": batch.business_date,
        "source_file": f"{batch.batch_id}/{shown.name}",
        "loaded_at": batch.loaded_at,
    }
    read_only_path = {"path": str(path)}

    duplicates = identifier(f"duplicate_rows_{entity.name}")
    key_columns = [column for column in entity.columns if column.name in entity.key]
    quarantine_table = identifier(f"quarantine_{entity.name}")
    valid = expressions.valid()
    try:
        con.execute(
            f"""create or replace temp table duplicate_keys as
            select {", ".join(f"{expressions.typed(column)} as {column.name}" for column in key_columns)}
            from read_parquet($path) as source
            where {" and ".join(f"{expressions.typed(column)} is not null" for column in key_columns)}
            group by all having count(*) > 1""",
            read_only_path,
        )
        has_duplicates = con.execute("select count(*) > 0 from duplicate_keys").fetchone()[0]
        if has_duplicates:
            con.execute(
                f"create or replace temp table {duplicates} as "
                f"select * from ({_duplicate_rows_sql(entity, expressions, list(schema))}) where reason is not null",
                read_only_path,
            )
            duplicate_join = (
                f"left join {duplicates} as duplicates on source.file_row_number + 1 = duplicates.source_row"
            )
            duplicate_reason, is_duplicate = ("duplicates.reason",), "duplicates.reason is not null"
        else:
            # Nothing to join: the quarantine filter stays a plain predicate DuckDB can check on statistics.
            duplicate_join, duplicate_reason, is_duplicate = "", (), "false"
        con.execute(
            f"""create or replace temp table {quarantine_table} as
            select
                cast($batch_id as varchar) as batch_id,
                {_sql_string(entity.name)} as entity,
                cast($source_file as varchar) as source_file,
                source.file_row_number + 1 as source_row,
                {expressions.record()} as record,
                {expressions.reasons(duplicate_reason)} as reasons,
                cast($loaded_at as timestamp) as quarantined_at
            from read_parquet($path, file_row_number = true) as source
            {duplicate_join}
            where not ({valid}) or {is_duplicate}
            order by source_row""",
            {key: value for key, value in parameters.items() if key != "business_date"},
        )
        rows_invalid = con.execute(f"select count(*) from {quarantine_table}").fetchone()[0]
        rows_in = con.execute("select count(*) from read_parquet($path)", read_only_path).fetchone()[0]
    except _LOADER_FAULTS:
        raise
    except duckdb.Error as error:
        # Corrupt pages surface as several error types, some of them the bare duckdb.Error.
        raise EltError(f"{shown}: could not be read ({error}). Ask for the batch to be re-delivered.") from error

    typed_columns = ", ".join(f"{expressions.typed(column)} as {column.name}" for column in entity.columns)
    not_duplicate = (
        f"and source.file_row_number + 1 not in (select source_row from {duplicates})" if has_duplicates else ""
    )
    added_columns = "".join(f", try_cast(source.{c.name} as {c.sql_type}) as {c.name}" for c in added)
    valid_rows_sql = f"""
        select
            {typed_columns},
            cast($batch_id as varchar) as _batch_id,
            cast($business_date as date) as _business_date,
            {expressions.op} as _op,
            cast($source_file as varchar) as _source_file,
            source.file_row_number + 1 as _source_row,
            cast($loaded_at as timestamp) as _loaded_at,
            {expressions.row_hash()} as _row_hash
            {added_columns}
        from read_parquet($path, file_row_number = true) as source
        where ({valid}) {not_duplicate}
    """
    return StagedEntity(
        entity, shown.name, file_sha256, rows_in, rows_invalid, added, valid_rows_sql, quarantine_table, parameters
    )


QUARANTINE_COLUMNS = "batch_id, entity, source_file, source_row, record, reasons, quarantined_at"


def quarantine_rows_query(staged: StagedEntity) -> str:
    """The rows that go to audit.quarantine, in QUARANTINE_COLUMNS order."""
    return f"select {QUARANTINE_COLUMNS} from {staged.quarantine_table}"
