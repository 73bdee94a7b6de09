"""DDL for the raw and audit schemas, valid on DuckDB and PostgreSQL alike.

Every identifier here comes from the contract in `elt.entities`, never from a file, and is
checked against a strict pattern anyway before it is written into SQL.
"""

from __future__ import annotations

import re

from elt.entities import METADATA_COLUMNS, Entity
from elt.sources import ERP

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

LEDGER_TABLE = "audit.load_batches"
QUARANTINE_TABLE = "audit.quarantine"
FAILURES_TABLE = "audit.load_failures"


def identifier(name: str) -> str:
    if not IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a safe SQL identifier")
    return name


def raw_table(entity: Entity) -> str:
    return f"raw.{identifier(entity.raw_table)}"


def raw_columns(entity: Entity) -> list[str]:
    return [identifier(name) for name in (*entity.column_names, *(name for name, _ in METADATA_COLUMNS))]


def create_statements(entities: tuple[Entity, ...]) -> list[str]:
    statements = [
        "create schema if not exists raw",
        "create schema if not exists audit",
        f"""create table if not exists {LEDGER_TABLE} (
            batch_id varchar not null,
            entity varchar not null,
            batch_kind varchar not null,
            business_date date not null,
            content_sha256 varchar not null,
            source_file varchar not null,
            file_sha256 varchar not null,
            rows_in bigint not null,
            rows_loaded bigint not null,
            rows_quarantined bigint not null,
            status varchar not null,
            started_at timestamp not null,
            finished_at timestamp not null,
            added_columns varchar,
            primary key (batch_id, entity)
        )""",
        # Warehouses created before the ledger recorded schema drift gain the column.
        f"alter table {LEDGER_TABLE} add column if not exists added_columns varchar",
        # ... and before it named each batch's source: all theirs came from the ERP.
        f"alter table {LEDGER_TABLE} add column if not exists source varchar default '{ERP}'",
        f"""create table if not exists {FAILURES_TABLE} (
            batch_id varchar not null,
            business_date date,
            error varchar not null,
            failed_at timestamp not null
        )""",
        f"""create table if not exists {QUARANTINE_TABLE} (
            batch_id varchar not null,
            entity varchar not null,
            source_file varchar not null,
            source_row bigint not null,
            record varchar not null,
            reasons varchar not null,
            quarantined_at timestamp not null
        )""",
    ]
    for entity in entities:
        columns = [f"{identifier(c.name)} {c.sql_type}" for c in entity.columns]
        columns += [f"{identifier(name)} {sql_type} not null" for name, sql_type in METADATA_COLUMNS]
        statements.append(f"create table if not exists {raw_table(entity)} (\n    " + ",\n    ".join(columns) + "\n)")
    return statements
