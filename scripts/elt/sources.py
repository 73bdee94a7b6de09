"""The source registry: every landed source's contract, read from its dbt source definition.

A source that elt lands and loads declares its contract in its dbt sources file
(models/staging/<source>/_<source>__sources.yml, decision 0028): the file format under the
source's `config.meta.contract`, each table's key under the table's `config.meta.contract`,
and each column's type (`data_type`), nullability and row check (`config.meta`). The same file
is what dbt reads, so the docs site shows the contract the loader enforces, and adding a
source or an entity needs no Python.

Names are derived, not declared: the raw table of entity <entity> of source <source> is
raw.<source>_<entity>, the dbt source table's name. Source names have no underscore, so a
raw table's name says which source and entity it holds.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml

from elt.entities import FILE_EXTENSIONS, Column, CsvDialect, Entity
from elt.errors import EltError
from elt.settings import find_project_dir

# Where contracts live, relative to the project: one dbt sources file per source folder.
CONTRACT_FILES = "models/staging/*/_*__sources.yml"
# The source whose batches elt generates and whose landing layout is landing/<batch_id>/.
ERP = "erp"

CSV_OPTIONS = {"delimiter", "quote", "escape", "encoding", "header"}
# What DuckDB's CSV reader decodes.
CSV_ENCODINGS = ("utf-8", "utf-16", "latin-1")
SOURCE_NAME = re.compile(r"^[a-z][a-z0-9]{0,29}$")
ENTITY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Types that mean the same on DuckDB and PostgreSQL (one DDL creates raw on both), each of a
# kind the loader proves a value is loaded exactly in (elt.load.validate.column_kind).
SQL_TYPE = re.compile(r"^(bigint|integer|varchar|date|timestamp|decimal\([1-9][0-9]?, ?[0-9]{1,2}\))$")
SQL_TYPES_HELP = "bigint, integer, varchar, date, timestamp (UTC, no time zone) or decimal(precision, scale)"
COLUMN_META_KEYS = {"nullable", "check", "check_reason"}
BUSINESS_DATE_ORDER, ARRIVAL_ORDER = "business_date", "arrival"
BATCH_ORDERS = (BUSINESS_DATE_ORDER, ARRIVAL_ORDER)


class ContractError(EltError):
    """A source contract that cannot be enforced as written."""


@dataclass(frozen=True)
class Source:
    name: str
    file_format: str
    entities: tuple[Entity, ...]
    contract_path: Path
    csv_dialect: CsvDialect | None = None
    # (warn after, error after): the ages `dbt source freshness` and `elt status` judge it by.
    freshness: tuple[timedelta, timedelta] | None = None
    # business_date: a batch older than the source's newest loaded one is refused (its history
    # would be written out of order); arrival: batches load as they land, whatever their date
    # (events that are facts once delivered, never versions of a record). Decision 0029.
    batch_order: str = "business_date"

    def entity(self, name: str) -> Entity | None:
        return next((entity for entity in self.entities if entity.name == name), None)


@functools.cache
def _registry(project_dir: Path) -> tuple[Source, ...]:
    sources: list[Source] = []
    for path in sorted(project_dir.glob(CONTRACT_FILES)):
        sources.extend(_read_contract_file(path, project_dir))
    names = [source.name for source in sources]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ContractError(f"source(s) {repeated} are declared in more than one file under models/staging/; keep one.")
    return tuple(sources)


def sources(project_dir: Path | None = None) -> tuple[Source, ...]:
    """Every source with a landing contract, in the order of their files."""
    return _registry((project_dir or find_project_dir()).resolve())


def source(name: str, project_dir: Path | None = None) -> Source:
    found = next((candidate for candidate in sources(project_dir) if candidate.name == name), None)
    if found is None:
        known = [candidate.name for candidate in sources(project_dir)]
        raise ContractError(
            f"no source {name!r} has a landing contract (known: {known}); declare it in "
            f"models/staging/{name}/_{name}__sources.yml (docs/runbooks/add-a-source.md)."
        )
    return found


def erp_entities(project_dir: Path | None = None) -> tuple[Entity, ...]:
    return source(ERP, project_dir).entities


def erp_entity(name: str, project_dir: Path | None = None) -> Entity | None:
    return source(ERP, project_dir).entity(name)


def all_entities(project_dir: Path | None = None) -> tuple[Entity, ...]:
    return tuple(entity for item in sources(project_dir) for entity in item.entities)


def _read_contract_file(path: Path, project_dir: Path) -> list[Source]:
    shown = path.relative_to(project_dir)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ContractError(f"{shown}: not valid YAML ({error}); fix the file.") from error
    found = [
        _source(entry, path, f"{shown}: source {entry.get('name')!r}")
        for entry in document.get("sources") or []
        if isinstance(entry, dict) and _meta(entry).get("contract") is not None
    ]
    for item in found:
        # Errors, runbooks and the staging folder all point at a source's contract by its name.
        if path.parent.name != item.name or path.name != f"_{item.name}__sources.yml":
            raise ContractError(
                f"{shown}: source {item.name!r} declares a landing contract here; it belongs in "
                f"models/staging/{item.name}/_{item.name}__sources.yml, one source per file. Move it there."
            )
    return found


def _meta(node: dict) -> dict:
    """A node's meta, under `config:` (what dbt 1.10+ reads) or at the top level."""
    config = node.get("config") or {}
    return {**(node.get("meta") or {}), **(config.get("meta") or {})}


def _source(entry: dict, path: Path, where: str) -> Source:
    name = entry.get("name")
    if not isinstance(name, str) or not SOURCE_NAME.match(name):
        raise ContractError(
            f"{where}: a source name is lower-case letters and digits, starting with a letter, no underscore "
            "(raw tables are named <source>_<entity>); rename the source."
        )
    contract = _meta(entry)["contract"]
    if not isinstance(contract, dict):
        raise ContractError(f"{where}: config.meta.contract must be a mapping (format: ...).")
    file_format = contract.get("format")
    if file_format not in FILE_EXTENSIONS:
        raise ContractError(
            f"{where}: config.meta.contract.format is {file_format!r}; the loader reads {sorted(FILE_EXTENSIONS)}."
        )
    if file_format != "csv" and contract.get("csv") is not None:
        raise ContractError(f"{where}: config.meta.contract.csv is for format csv, and this source's is {file_format}.")
    dialect = _csv_dialect(contract.get("csv"), where) if file_format == "csv" else None
    tables = entry.get("tables") or []
    if not tables:
        raise ContractError(f"{where}: declares a landing contract but no tables; list each entity under tables:.")
    entities = tuple(_entity(table, name, file_format, dialect, where) for table in tables)
    entity_names = [entity.name for entity in entities]
    repeated = sorted({entity for entity in entity_names if entity_names.count(entity) > 1})
    if repeated:
        raise ContractError(f"{where}: table(s) {repeated} are listed twice; keep one.")
    batch_order = contract.get("batch_order", BUSINESS_DATE_ORDER)
    if batch_order not in BATCH_ORDERS:
        raise ContractError(
            f"{where}: config.meta.contract.batch_order is {batch_order!r}; write {' or '.join(BATCH_ORDERS)} "
            "(docs/decisions/0029-each-source-loads-in-its-own-order.md)."
        )
    return Source(name, file_format, entities, path, dialect, _freshness(entry, where), batch_order)


FRESHNESS_PERIODS = ("minute", "hour", "day")


def _freshness(entry: dict, where: str) -> tuple[timedelta, timedelta] | None:
    """The source's config.freshness as two ages; None when it declares none (nothing to judge it by)."""
    freshness = (entry.get("config") or {}).get("freshness") or entry.get("freshness")
    if not freshness:
        return None
    ages = []
    for rule_name in ("warn_after", "error_after"):
        rule = freshness.get(rule_name) if isinstance(freshness, dict) else None
        count = rule.get("count") if isinstance(rule, dict) else None
        period = rule.get("period") if isinstance(rule, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0 or period not in FRESHNESS_PERIODS:
            raise ContractError(
                f"{where}: config.freshness.{rule_name} is {rule!r}; write it as {{count: <whole number>, period: "
                f"{' | '.join(FRESHNESS_PERIODS)}}}, as dbt's source freshness reads it."
            )
        ages.append(timedelta(**{f"{period}s": count}))
    return ages[0], ages[1]


def _csv_dialect(options: object, where: str) -> CsvDialect:
    where = f"{where}: config.meta.contract.csv"
    if options is None:
        return CsvDialect()
    if not isinstance(options, dict):
        raise ContractError(f"{where} must be a mapping of {sorted(CSV_OPTIONS)}.")
    unknown = sorted(set(options) - CSV_OPTIONS)
    if unknown:
        raise ContractError(f"{where}: unknown option(s) {unknown}; it takes {sorted(CSV_OPTIONS)}.")
    dialect = CsvDialect(**options)
    for option in ("delimiter", "quote", "escape"):
        value = getattr(dialect, option)
        if not isinstance(value, str) or len(value) != 1 or value in ("\r", "\n"):
            raise ContractError(f"{where}.{option} must be one character (not a line break), not {value!r}.")
    if dialect.encoding not in CSV_ENCODINGS:
        raise ContractError(f"{where}.encoding is {dialect.encoding!r}; the loader decodes {list(CSV_ENCODINGS)}.")
    if not isinstance(dialect.header, bool):
        raise ContractError(f"{where}.header must be true or false, not {dialect.header!r}.")
    if dialect.delimiter == dialect.quote:
        raise ContractError(f"{where}: the delimiter and the quote are both {dialect.delimiter!r}.")
    return dialect


def _entity(table: dict, source_name: str, file_format: str, dialect: CsvDialect | None, where: str) -> Entity:
    table_name = table.get("name") if isinstance(table, dict) else None
    prefix = f"{source_name}_"
    if not isinstance(table_name, str) or not table_name.startswith(prefix):
        raise ContractError(
            f"{where}, table {table_name!r}: a landed table is named {prefix}<entity> (its raw table); rename it."
        )
    entity_name = table_name.removeprefix(prefix)
    where = f"{where}, table {table_name!r}"
    if not ENTITY_NAME.match(entity_name):
        raise ContractError(f"{where}: the entity name {entity_name!r} must be lower-case letters, digits and _.")
    declared = table.get("columns") or []
    columns = tuple(_column(column, f"{where}, column {index + 1}") for index, column in enumerate(declared))
    if not columns:
        raise ContractError(f"{where}: no columns; list each column with its data_type.")
    column_names = [column.name for column in columns]
    repeated = sorted({column for column in column_names if column_names.count(column) > 1})
    if repeated:
        raise ContractError(f"{where}: column(s) {repeated} are listed twice; keep one.")
    contract = _meta(table).get("contract") or {}
    key = contract.get("key") if isinstance(contract, dict) else None
    if not isinstance(key, list) or not key or not all(isinstance(part, str) for part in key):
        raise ContractError(
            f"{where}: config.meta.contract.key must list the column(s) that identify a record, "
            f"e.g. [{column_names[0]}]."
        )
    by_name = {column.name: column for column in columns}
    for part in key:
        if part not in by_name:
            raise ContractError(f"{where}: key column {part!r} is not among its columns {column_names}.")
        if not by_name[part].required:
            raise ContractError(f"{where}: key column {part!r} is nullable; a key must always be delivered.")
    description = table.get("description") or ""
    return Entity(
        name=entity_name,
        source=source_name,
        key=tuple(key),
        columns=columns,
        description=description.strip(),
        file_format=file_format,
        csv_dialect=dialect,
    )


def _column(column: dict, where: str) -> Column:
    name = column.get("name") if isinstance(column, dict) else None
    if not isinstance(name, str) or not COLUMN_NAME.match(name):
        raise ContractError(
            f"{where}: column name {name!r} must be lower-case letters, digits and _, starting with a letter "
            "(names starting with _ are the loader's metadata columns)."
        )
    where = f"{where} ({name})"
    data_type = column.get("data_type")
    if not isinstance(data_type, str) or not SQL_TYPE.match(data_type.strip().lower()):
        raise ContractError(f"{where}: data_type is {data_type!r}; use one of {SQL_TYPES_HELP}.")
    meta = _meta(column)
    unknown = sorted(set(meta) - COLUMN_META_KEYS - {"contains_pii"})
    if unknown:
        raise ContractError(
            f"{where}: unknown config.meta key(s) {unknown}; a column's contract takes {sorted(COLUMN_META_KEYS)}."
        )
    nullable = meta.get("nullable", False)
    if not isinstance(nullable, bool):
        raise ContractError(f"{where}: nullable must be true or false, not {nullable!r}.")
    check, reason = meta.get("check"), meta.get("check_reason")
    if check is not None and (not isinstance(check, str) or "{col}" not in check):
        raise ContractError(f'{where}: check must be a SQL predicate over {{col}}, e.g. "{{col}} >= 0"; got {check!r}.')
    if (check is None) != (reason is None) or (reason is not None and not isinstance(reason, str)):
        raise ContractError(
            f"{where}: check and check_reason go together: the reason is what a quarantined row is told."
        )
    return Column(name, data_type.strip().lower(), required=not nullable, check=check, check_reason=reason)
