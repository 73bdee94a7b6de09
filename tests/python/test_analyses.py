"""The 22 TPC-H questions in analyses/tpch/, asked of the marts, give the official queries' answers.

Each analysis reads only the marts; dbt compiles it during `elt run`'s docs step. The official
TPC-H query (its text, with the validation parameters) runs on the same warehouse over the
ERP's current rows, which the test writes into schema tpch_current from raw with no model or
macro of the project: the newest version of each key (latest business date, then batch, then
file row), unless that version is a delete. Two rules of the ERP itself apply, as the facts
apply them: a line belongs to an order that exists, and an order has at least one line.

The warehouse is an `elt run --dirty` over an SF 0.1 export and two dirty days (conftest's
start_from_built_tpch_run): changes, deletes, late and early lines and new versions of every
dimension, so the marts' current dimensions, their facts and the questions' joins all meet
history, and every question has an answer to compare. The answers must be equal row for
row, money to the cent (both sides sum exact decimals; ratios and averages are compared to
six decimals).

The official queries are in elt.bench.tpch, which benchmarks/tpch_questions.py times too.
"""

from __future__ import annotations

import duckdb
import pytest

from conftest import PROJECT_DIR, Query, duckdb_file, pg_connect, warehouse_execute
from elt.bench.tpch import OFFICIAL, RAW_TABLES, comparable

# Where the ERP's current rows are written, under TPC-H's table names, for the official queries.
CURRENT_SCHEMA = "tpch_current"
# On PostgreSQL, what the official queries' correlated subqueries look rows up by (a TPC-H
# database has these keys indexed; without them Q17 and Q20 rescan lineitem for every row).
POSTGRES_INDEXES = {
    "lineitem": [["l_orderkey"], ["l_partkey", "l_suppkey"]],
    "orders": [["o_orderkey"], ["o_custkey"]],
    "partsupp": [["ps_partkey", "ps_suppkey"]],
    "part": [["p_partkey"]],
    "supplier": [["s_suppkey"]],
    "customer": [["c_custkey"]],
}


def current_rows(raw_table: str, key: list[str]) -> str:
    """The newest version of each key of a raw table, unless it is a delete."""
    keys = ", ".join(key)
    return f"""
        select * from (
            select versions.*, row_number() over (
                partition by {keys} order by _business_date desc, _batch_id desc, _source_row desc
            ) as newest_first
            from raw.{raw_table} as versions
        ) as ranked
        where newest_first = 1 and _op <> 'delete'"""


def write_current_rows(target: str, env: dict[str, str]) -> None:
    """The ERP's current rows as tables named like TPC-H's, in CURRENT_SCHEMA."""
    statements = [f"create schema {CURRENT_SCHEMA}"]
    for name, (raw_table, key) in RAW_TABLES.items():
        statements.append(f"create table {CURRENT_SCHEMA}.{name} as {current_rows(raw_table, key)}")
    # The ERP's own rules, as the facts apply them: a line has an order, an order has a line.
    lines, orders = f"{CURRENT_SCHEMA}.lineitem", f"{CURRENT_SCHEMA}.orders"
    statements.append(
        f"delete from {lines} where not exists (select 1 from {orders} as o where o.o_orderkey = {lines}.l_orderkey)"
    )
    statements.append(
        f"delete from {orders} where not exists (select 1 from {lines} as l where l.l_orderkey = {orders}.o_orderkey)"
    )
    if target == "pg":
        for table, indexes in POSTGRES_INDEXES.items():
            for columns in indexes:
                statements.append(f"create index on {CURRENT_SCHEMA}.{table} ({', '.join(columns)})")
            statements.append(f"analyze {CURRENT_SCHEMA}.{table}")
    for statement in statements:
        warehouse_execute(target, env, statement)


def query_current_rows(target: str, env: dict[str, str]) -> Query:
    """query(sql) with TPC-H's table names resolving to CURRENT_SCHEMA."""
    if target == "pg":

        def query(sql: str) -> list[tuple]:
            with pg_connect(env, options=f"-c search_path={CURRENT_SCHEMA}") as connection:
                return connection.execute(sql).fetchall()

        return query

    def query(sql: str) -> list[tuple]:
        with duckdb.connect(str(duckdb_file(env)), read_only=True) as connection:
            connection.execute(f"set search_path = '{CURRENT_SCHEMA}'")
            return connection.execute(sql).fetchall()

    return query


def test_every_question_has_its_official_query() -> None:
    written = {path.stem for path in (PROJECT_DIR / "analyses" / "tpch").glob("*.sql")}
    assert written == OFFICIAL.keys()
    assert len(OFFICIAL) == 22


@pytest.mark.e2e
def test_each_analysis_matches_the_official_query_over_current_rows(engine, start_from_built_tpch_run) -> None:
    target, workspace, query = engine
    start_from_built_tpch_run(target, workspace)
    compiled_dir = workspace.dbt_target_dir / "compiled" / "wholesale" / "analyses" / "tpch"
    assert {path.stem for path in compiled_dir.glob("*.sql")} == OFFICIAL.keys()

    # History reached the current rows: without it, marts and raw would agree however they were joined.
    assert query("select count(*) from raw.erp_customers where _op = 'update'")[0][0] > 0
    assert query("select count(*) from raw.erp_order_lines where _op = 'delete'")[0][0] > 0

    write_current_rows(target, workspace.env)
    official = query_current_rows(target, workspace.env)
    mismatched, empty = [], []
    for name, official_sql in OFFICIAL.items():
        expected = comparable(official(official_sql))
        actual = comparable(query((compiled_dir / f"{name}.sql").read_text()))
        if actual != expected:
            mismatched.append(f"{name}: marts {actual[:3]} ... official {expected[:3]} ...")
        if not expected or all(value is None for value in expected[0]):
            empty.append(name)
    assert not mismatched, "\n".join(mismatched)
    # An empty answer agrees with anything: at SF 0.1 every question has one.
    assert not empty, empty
