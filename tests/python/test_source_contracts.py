"""A landed source's contract lives in its dbt sources file, and the loader enforces what it says.

The ERP's contract is models/staging/erp/_erp__sources.yml (decision 0028). These tests read
that file with a YAML parser of their own and compare it with what the loader built in the
warehouse's catalog, so a registry that misread the file would fail them; they add a second
source with a contract file alone, no Python; and they break the contract in each way an
author could, expecting an error that names the file, the table or column, and the fix.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT_DIR
from elt.sources import ContractError, sources

ERP_CONTRACT = Path("models/staging/erp/_erp__sources.yml")
NOT_IN_A_COPY = shutil.ignore_patterns(
    ".git", ".venv", "target", "logs", "landing", "state", "*.duckdb*", ".local-pg", "__pycache__", "benchmarks",
)  # fmt: skip

# A second source, declared the way docs/runbooks/add-a-source.md says: one YAML file.
SHOP_CONTRACT = """
sources:
  - name: shop
    description: A web shop's order export.
    schema: raw
    config:
      loaded_at_field: _loaded_at
      meta:
        contract:
          format: parquet
    tables:
      - name: shop_web_orders
        description: One row per web order version delivered.
        config:
          meta:
            contract:
              key: [web_order_id]
        columns:
          - name: web_order_id
            data_type: bigint
          - name: placed_on
            data_type: date
          - name: basket_value
            data_type: decimal(12, 2)
            config: {meta: {check: "{col} >= 0", check_reason: "must not be negative"}}
          - name: voucher_code
            data_type: varchar
            config: {meta: {nullable: true}}
"""


INVOICES = {
    "name": "erp_invoices",
    "description": "Invoices, one row per invoice version delivered.",
    "config": {"meta": {"contract": {"key": ["i_invoicekey"]}}},
    "columns": [
        {"name": "i_invoicekey", "data_type": "bigint"},
        {"name": "i_orderkey", "data_type": "bigint"},
        {"name": "i_amount", "data_type": "decimal(15, 2)"},
    ],
}


def declared_tables(contract_text: str) -> dict[str, list[tuple[str, str]]]:
    """raw table -> [(column, type)] as the file declares them, read without elt."""
    return {
        table["name"]: [(column["name"], column["data_type"]) for column in table["columns"]]
        for source in yaml.safe_load(contract_text)["sources"]
        for table in source["tables"]
    }


def normalised_type(catalog_type: str, precision, scale) -> str:
    """information_schema's spelling on either engine, in the contract's spelling."""
    spelled = catalog_type.lower()
    if spelled.startswith(("decimal", "numeric")):
        return f"decimal({precision}, {scale})"
    return {"character varying": "varchar", "text": "varchar", "int4": "integer", "int8": "bigint"}.get(
        spelled, spelled
    )


def catalog_columns(query, table: str) -> list[tuple[str, str]]:
    rows = query(
        "select column_name, data_type, numeric_precision, numeric_scale "
        f"from information_schema.columns where table_schema = 'raw' and table_name = '{table}' "
        "and column_name not like '\\_%' escape '\\' order by ordinal_position"
    )
    return [(name, normalised_type(kind, precision, scale)) for name, kind, precision, scale in rows]


def test_a_source_added_with_a_contract_file_alone_gets_raw_tables_as_declared(
    engine, landed_export: Path, tmp_path: Path
) -> None:
    target, workspace, query = engine
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=NOT_IN_A_COPY)
    (project / "models" / "staging" / "shop").mkdir()
    (project / "models" / "staging" / "shop" / "_shop__sources.yml").write_text(SHOP_CONTRACT)
    # And an entity the simulated ERP does not produce, added to the ERP's contract.
    erp_contract = yaml.safe_load((project / ERP_CONTRACT).read_text())
    erp_contract["sources"][0]["tables"].append(INVOICES)
    (project / ERP_CONTRACT).write_text(yaml.safe_dump(erp_contract, sort_keys=False))
    workspace.env["ELT_PROJECT_DIR"] = str(project)
    workspace.env["ELT_LANDING_DIR"] = str(tmp_path / "landing")

    workspace.elt("generate", "--days", "1")
    workspace.elt("load", "--target", target)

    delivered = {item["entity"] for path in (tmp_path / "landing").glob("*/manifest.json")
                 for item in json.loads(path.read_text())["files"]}  # fmt: skip
    assert "invoices" not in delivered and "order_lines" in delivered
    declared = declared_tables((project / ERP_CONTRACT).read_text()) | declared_tables(SHOP_CONTRACT)
    assert {"shop_web_orders", "erp_invoices", "erp_order_lines"} <= set(declared)
    # The loader's metadata columns (_batch_id, ...) follow each table's declared ones.
    assert {table: catalog_columns(query, table) for table in declared} == declared
    assert query("select count(*) from raw.shop_web_orders") == query("select count(*) from raw.erp_invoices") == [(0,)]
    assert query("select count(distinct _batch_id) from raw.erp_customers") == [(2,)]


def _erp(document: dict) -> dict:
    return document["sources"][0]


def _table(document: dict, name: str) -> dict:
    return next(table for table in _erp(document)["tables"] if table["name"] == name)


def _column(document: dict, table: str, name: str) -> dict:
    return next(column for column in _table(document, table)["columns"] if column["name"] == name)


def _set(target: dict, **values) -> None:
    target.update(values)


def _column_meta(document: dict, table: str, column: str, **meta) -> None:
    _column(document, table, column)["config"] = {"meta": meta}


BROKEN_CONTRACTS: dict[str, tuple[Callable[[dict], None], tuple[str, ...]]] = {
    "source name with an underscore": (
        lambda doc: _set(_erp(doc), name="erp_v2"),
        ("source 'erp_v2'", "no underscore"),
    ),
    "format the loader cannot read": (
        lambda doc: _set(_erp(doc)["config"]["meta"]["contract"], format="xlsx"),
        ("source 'erp'", "format is 'xlsx'", "['parquet']"),
    ),
    "table not named after its source": (
        lambda doc: _set(_table(doc, "erp_orders"), name="orders"),
        ("table 'orders'", "erp_<entity>"),
    ),
    "type one engine would read differently": (
        lambda doc: _set(_column(doc, "erp_customers", "c_acctbal"), data_type="money"),
        ("table 'erp_customers'", "(c_acctbal)", "data_type is 'money'", "decimal(precision, scale)"),
    ),
    "no key": (
        lambda doc: _table(doc, "erp_customers")["config"]["meta"].pop("contract"),
        ("table 'erp_customers'", "config.meta.contract.key must list", "[c_custkey]"),
    ),
    "key naming no column": (
        lambda doc: _set(_table(doc, "erp_customers")["config"]["meta"]["contract"], key=["c_id"]),
        ("table 'erp_customers'", "key column 'c_id' is not among its columns"),
    ),
    "nullable key": (
        lambda doc: _column_meta(doc, "erp_customers", "c_custkey", nullable=True),
        ("table 'erp_customers'", "key column 'c_custkey' is nullable"),
    ),
    "check that is not a predicate over the column": (
        lambda doc: _column_meta(doc, "erp_parts", "p_size", check="p_size > 0", check_reason="must be positive"),
        ("table 'erp_parts'", "(p_size)", "check must be a SQL predicate over {col}"),
    ),
    "check without the reason a quarantined row is given": (
        lambda doc: _column_meta(doc, "erp_parts", "p_size", check="{col} > 0"),
        ("table 'erp_parts'", "(p_size)", "check and check_reason go together"),
    ),
    "misspelled contract key": (
        lambda doc: _column_meta(doc, "erp_parts", "p_comment", nulable=True),
        ("table 'erp_parts'", "(p_comment)", "unknown config.meta key(s) ['nulable']"),
    ),
    "column listed twice": (
        lambda doc: _table(doc, "erp_regions")["columns"].append(copy.deepcopy(_column(doc, "erp_regions", "r_name"))),
        ("table 'erp_regions'", "column(s) ['r_name'] are listed twice"),
    ),
    "column named like the loader's metadata": (
        lambda doc: _set(_column(doc, "erp_regions", "r_comment"), name="_comment"),
        ("table 'erp_regions'", "column name '_comment'", "loader's metadata columns"),
    ),
}


@pytest.mark.parametrize("case", BROKEN_CONTRACTS, ids=lambda case: case.replace(" ", "-"))
def test_a_broken_contract_is_refused_with_where_and_what_to_do(case: str, tmp_path: Path) -> None:
    edit, expected = BROKEN_CONTRACTS[case]
    document = yaml.safe_load((PROJECT_DIR / ERP_CONTRACT).read_text())
    edit(document)
    (tmp_path / ERP_CONTRACT).parent.mkdir(parents=True)
    (tmp_path / ERP_CONTRACT).write_text(yaml.safe_dump(document, sort_keys=False))

    with pytest.raises(ContractError) as refused:
        sources(tmp_path)

    message = str(refused.value)
    assert message.startswith(f"{ERP_CONTRACT}: "), message
    for fragment in expected:
        assert fragment in message, (fragment, message)
    assert "\n" not in message and not re.search(r"Traceback|Error\(", message)


def test_a_contract_outside_its_sources_own_file_is_refused(tmp_path: Path) -> None:
    misplaced = tmp_path / "models" / "staging" / "shop" / "_shop__sources.yml"
    misplaced.parent.mkdir(parents=True)
    misplaced.write_text((PROJECT_DIR / ERP_CONTRACT).read_text())

    with pytest.raises(
        ContractError,
        match=r"^models/staging/shop/_shop__sources.yml: source 'erp' .*"
        r"belongs in models/staging/erp/_erp__sources.yml",
    ):
        sources(tmp_path)


def test_the_project_declares_the_erp_and_nothing_it_does_not_load() -> None:
    """Every sources file with a landing contract is a source the registry returns, and the reverse."""
    with_contract = {
        entry["name"]
        for path in PROJECT_DIR.glob("models/**/*.yml")
        for entry in (yaml.safe_load(path.read_text()) or {}).get("sources") or []
        if "contract" in ((entry.get("config") or {}).get("meta") or {})
    }
    assert with_contract == {item.name for item in sources(PROJECT_DIR)} == {"erp"}
