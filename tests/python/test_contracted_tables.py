"""A contracted table gets its contract's types and not-null columns, and a null fails its build.

tests/dbt_fixtures/contracts builds two contracted tables from a seed with the project's
macros: one whose only constraints are not-nulls (every mart of the project), which
PostgreSQL builds with `create table as` and then sets the not-null columns (decision 0016),
and one with a primary key, which keeps dbt's create-then-insert. What each table holds
and how its columns are declared are read back from the warehouse's catalog and compared
with the seed file and the contract in the fixture's YAML, not with what the build says.
"""

from __future__ import annotations

import csv
from decimal import Decimal

import yaml

from conftest import FIXTURE_PROJECTS_DIR

FIXTURE_PROJECT = FIXTURE_PROJECTS_DIR / "contracts"
NOT_NULL_ONLY = "contracted_order_amounts"
WITH_PRIMARY_KEY = "contracted_with_primary_key"


def seed_rows() -> list[tuple]:
    with (FIXTURE_PROJECT / "seeds" / "order_amounts.csv").open(newline="") as seed:
        return [
            (int(row["order_id"]), int(row["line_count"]), Decimal(row["amount"]), row["note"] or None)
            for row in csv.DictReader(seed)
        ]


def contract_not_nulls() -> dict[str, set[str]]:
    """Each fixture model's columns that its contract declares not null."""
    models = yaml.safe_load((FIXTURE_PROJECT / "models" / "_models.yml").read_text())["models"]
    return {
        model["name"]: {
            column["name"]
            for column in model["columns"]
            if any(constraint["type"] == "not_null" for constraint in column.get("constraints", []))
        }
        for model in models
    }


def test_contracted_tables_hold_the_contract_and_a_null_fails_the_build(engine) -> None:
    target, workspace, query = engine

    def columns_of(table: str) -> dict[str, tuple[str, str, int | None, int | None]]:
        rows = query(
            "select column_name, is_nullable, data_type, numeric_precision, numeric_scale "
            f"from information_schema.columns where table_name = '{table}'"
        )
        return {name: (nullable, data_type.lower(), *numeric) for name, nullable, data_type, *numeric in rows}

    seeded = workspace.dbt(target, "seed", project_dir=FIXTURE_PROJECT)
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    built = workspace.dbt(target, "run", project_dir=FIXTURE_PROJECT)
    assert built.returncode == 0, built.stdout[-3000:]

    expected_rows = seed_rows()
    assert sorted(query(f"select order_id, line_count, amount, note from {NOT_NULL_ONLY}")) == expected_rows
    assert sorted(query(f"select order_id, amount from {WITH_PRIMARY_KEY}")) == [
        (order_id, amount) for order_id, _, amount, _ in expected_rows
    ]

    for table, not_nulls in contract_not_nulls().items():
        columns = columns_of(table)
        assert {name for name, (nullable, *_) in columns.items() if nullable == "NO"} == not_nulls, (table, columns)
    columns = columns_of(NOT_NULL_ONLY)
    assert columns["order_id"][1] == "bigint" and columns["line_count"][1] == "integer", columns
    assert columns["amount"][2:] == (15, 2), columns
    key_constraints = query(
        "select count(*) from information_schema.table_constraints "
        f"where table_name = '{WITH_PRIMARY_KEY}' and constraint_type = 'PRIMARY KEY'"
    )
    assert key_constraints == [(1,)]

    if target == "pg":
        # The not-null-only table took the `create table as` path; the primary key kept dbt's.
        run_dir = workspace.dbt_target_dir / "run" / "contract_fixtures" / "models"
        fast_path = (run_dir / f"{NOT_NULL_ONLY}.sql").read_text()
        assert " as\n    select" in fast_path and "alter column line_count set not null" in fast_path, fast_path
        assert "insert into" in (run_dir / f"{WITH_PRIMARY_KEY}.sql").read_text()

    # A null in a not-null column fails the build, and the table built before stays whole.
    planted = workspace.dbt(
        target, "run", "--select", NOT_NULL_ONLY, "--vars", "{plant_null: true}", project_dir=FIXTURE_PROJECT
    )
    assert planted.returncode == 1, planted.stdout[-3000:]
    assert "line_count" in planted.stdout, planted.stdout[-3000:]
    assert sorted(query(f"select order_id, line_count, amount, note from {NOT_NULL_ONLY}")) == expected_rows
