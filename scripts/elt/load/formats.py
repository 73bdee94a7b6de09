"""Landed files in the formats a contract may declare, read as parquet by one validation path.

The loader validates and loads parquet (elt.load.validate). A CSV or JSON Lines file is first
rewritten, in delivery order, as a parquet file whose every column is text, exactly as the
file spelled it; the contract's types are then applied by the same checks a parquet file
of text columns gets, so a value in any format is accepted or quarantined for the same
reason (decision 0028). No value is trimmed, guessed or converted on the way: a CSV's
`1,234.50` stays that text and is refused as a number, as it would be in parquet. Header
names are matched to the contract without case or surrounding spaces; a CSV without a
header has the contract's columns in order (and `_op` last, in a change batch).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from elt.entities import OP_COLUMN, CsvDialect, Entity
from elt.errors import EltError

PARQUET, CSV, JSON_LINES = "parquet", "csv", "jsonl"


def readable_as_parquet(path: Path, entity: Entity, scratch_dir: Path) -> Path:
    """`path` itself if it is parquet, else its rows rewritten as text columns in scratch_dir."""
    if entity.file_format == PARQUET:
        return path
    readable = scratch_dir / f"{entity.name}.parquet"
    con = duckdb.connect()
    # One reader thread, insertion order kept: row N of the parquet is row N of the file, which
    # is what a quarantined row's source_row points at.
    con.execute("set threads = 1")
    try:
        if entity.file_format == CSV:
            select = _csv_select(con, path, entity, entity.csv_dialect or CsvDialect())
            con.execute(f"copy ({select}) to '{_quoted(readable)}' (format parquet)", {"path": str(path)})
        else:
            _json_lines_as_parquet(path, readable)
    finally:
        con.close()
    return readable


def _csv_select(con: duckdb.DuckDBPyConnection, path: Path, entity: Entity, dialect: CsvDialect) -> str:
    options = (
        f"delim = {_literal(dialect.delimiter)}, quote = {_literal(dialect.quote)}, "
        f"escape = {_literal(dialect.escape)}, encoding = {_literal(dialect.encoding)}, "
        # Every value as the file wrote it; an empty field is missing (null), a quoted "" is empty text.
        "all_varchar = true, allow_quoted_nulls = false, strict_mode = true, parallel = false"
    )
    refused = f"{path}: not a readable CSV file as its source's contract declares one ({dialect.described()})"
    try:
        first = con.execute(
            f"select * from read_csv($path, header = false, {options}) limit 1", {"path": str(path)}
        ).fetchone()
    except duckdb.Error as error:
        raise EltError(f"{refused}: {_first_line(error)}. Ask for a corrected delivery; nothing was loaded.") from error
    if first is None:
        raise EltError(f"{path}: the file is empty, not even a header row. Ask for a re-delivery; nothing was loaded.")
    if dialect.header:
        names = [str(value).strip().lower() if value is not None else "" for value in first]
    else:
        names = list(entity.column_names)
        if len(first) == len(names) + 1:
            names.append(OP_COLUMN)
        if len(first) != len(names):
            raise EltError(
                f"{path}: {len(first)} columns and no header row; the contract has {len(entity.columns)} columns "
                f"({', '.join(entity.column_names)}), in this order, and a change batch adds {OP_COLUMN} last. "
                "Ask for a corrected delivery; nothing was loaded."
            )
    if dialect.header:
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated or "" in names:
            problem = f"column(s) {repeated} appear more than once" if repeated else "a header cell is empty"
            raise EltError(
                f"{path}: {problem} in the header row, so which column holds what is unclear. "
                "Ask for a corrected delivery; nothing was loaded."
            )
    select = f"select * from read_csv($path, header = {str(dialect.header).lower()}, {options})"
    try:
        con.execute(f"select count(*) from ({select})", {"path": str(path)}).fetchone()
    except duckdb.Error as error:
        raise EltError(f"{refused}: {_first_line(error)}. Ask for a corrected delivery; nothing was loaded.") from error
    # DuckDB names columns from the header as written (or column0, ...): name them as the contract does.
    columns = [row[0] for row in con.execute(f"describe {select}", {"path": str(path)}).fetchall()]
    renamed = ", ".join(
        f'"{_identifier_text(column)}" as "{_identifier_text(name)}"'
        for column, name in zip(columns, names, strict=True)
    )
    return f"select {renamed} from ({select})"


def _json_lines_as_parquet(path: Path, readable: Path) -> None:
    """Each line's object as one row of text columns: numbers keep their digits as written.

    Python's parser, not DuckDB's reader, because DuckDB reads a JSON number as a double
    and writes it back rounded (1234567890123456.78 becomes 1234567890123456.8), which would
    change money silently; here a number stays the text it was, and the contract's checks
    decide what it may be (1e3 is refused as a whole number or decimal, as that text is in
    parquet)."""
    rows: list[dict[str, str | None]] = []
    keys: dict[str, None] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise EltError(
            f"{path}: not UTF-8 text ({error}); JSON Lines are UTF-8. Ask for a corrected delivery; nothing was loaded."
        ) from error
    exact = {"parse_float": str, "parse_int": str, "parse_constant": _refuse_constant}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=_unique_keys, **exact)
        except (ValueError, RecursionError) as error:
            raise EltError(
                f"{path}: line {number} is not one JSON object ({error}). Ask for a corrected delivery; "
                "nothing was loaded."
            ) from error
        if not isinstance(record, dict):
            raise EltError(
                f"{path}: line {number} is a JSON {type(record).__name__}, not an object of named values. "
                "Ask for a corrected delivery; nothing was loaded."
            )
        rows.append({key: _as_text(value) for key, value in record.items()})
        keys.update(dict.fromkeys(record))
    if not rows:
        raise EltError(f"{path}: the file holds no JSON object. Ask for a re-delivery; nothing was loaded.")
    columns = {key.strip().lower(): [row.get(key) for row in rows] for key in keys}
    if len(columns) != len(keys):
        raise EltError(
            f"{path}: keys {sorted(keys)} name some column twice (without case or spaces). "
            "Ask for a corrected delivery; nothing was loaded."
        )
    pq.write_table(pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()}), readable)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"key(s) {repeated} appear more than once in one object")
    return dict(pairs)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _as_text(value: object) -> str | None:
    """A JSON value as the text the contract's checks read (numbers are already their own text)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _identifier_text(name: str) -> str:
    return name.replace('"', '""')


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
