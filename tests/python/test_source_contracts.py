"""A landed source's contract lives in its dbt sources file, and the loader enforces what it says.

The ERP's contract is models/staging/erp/_erp__sources.yml (decision 0028). These tests read
that file with a YAML parser of their own and compare it with what the loader built in the
warehouse's catalog, so a registry that misread the file would fail them; they add a second
source with a contract file alone, no Python; and they break the contract in each way an
author could, expecting an error that names the file, the table or column, and the fix.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml

from batches import erp_batches, land_batch
from conftest import PROJECT_DIR, fresh_postgres_database, make_workspace, warehouse_query
from elt.generate.manifest import ManifestFile, read_manifest, sha256_of, write_manifest
from elt.sources import ContractError, sources

ERP_CONTRACT = Path("models/staging/erp/_erp__sources.yml")
NOT_IN_A_COPY = shutil.ignore_patterns(
    ".git", ".venv", "target", "logs", "landing", "state", "*.duckdb*", ".local-pg", "__pycache__", "benchmarks",
)  # fmt: skip


def project_copy(destination: Path) -> Path:
    """A copy of the project's files (no venv, warehouse, landing or dbt output) to change in a test."""
    shutil.copytree(PROJECT_DIR, destination, ignore=NOT_IN_A_COPY)
    return destination


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
    project = project_copy(tmp_path / "project")
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
        ("source 'erp'", "format is 'xlsx'", "['csv', 'jsonl', 'parquet']"),
    ),
    "csv options on a parquet source": (
        lambda doc: _set(_erp(doc)["config"]["meta"]["contract"], csv={"delimiter": ";"}),
        ("source 'erp'", "config.meta.contract.csv is for format csv"),
    ),
    "csv encoding the reader cannot decode": (
        lambda doc: _set(_erp(doc)["config"]["meta"]["contract"], format="csv", csv={"encoding": "ebcdic"}),
        ("source 'erp'", "csv.encoding is 'ebcdic'", "utf-8"),
    ),
    "csv option misspelled": (
        lambda doc: _set(_erp(doc)["config"]["meta"]["contract"], format="csv", csv={"delimeter": ";"}),
        ("source 'erp'", "unknown option(s) ['delimeter']"),
    ),
    "batch order the loader has no rule for": (
        lambda doc: _set(_erp(doc)["config"]["meta"]["contract"], batch_order="newest_first"),
        ("source 'erp'", "batch_order is 'newest_first'", "business_date or arrival"),
    ),
    "freshness dbt could not read": (
        lambda doc: _set(_erp(doc)["config"]["freshness"], warn_after={"count": 26, "period": "fortnight"}),
        ("source 'erp'", "config.freshness.warn_after", "period: minute | hour | day"),
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
    assert with_contract == {item.name for item in sources(PROJECT_DIR)} == {"erp", "finance", "carrier"}


def server_env_of(workspace) -> dict[str, str]:
    return {key: value for key, value in workspace.env.items() if key.startswith("PG")}


def _with_bad_order_lines(entity: str, table: pa.Table) -> pa.Table:
    """Day one's order lines with a row of each kind the contract quarantines."""
    if entity != "order_lines":
        return table
    rows = table.to_pylist()
    rows[3]["l_quantity"] = Decimal("-1.00")  # breaks a check
    rows[5]["l_shipmode"] = None  # a required value missing
    rows.append(dict(rows[7]))  # the same key twice
    return pa.Table.from_pylist(rows, schema=table.schema)


def _rewritten(reference: Path, landing: Path, file_format: str, copy_options: str) -> None:
    """Every batch of `reference`, each file rewritten in `file_format` by DuckDB, resealed."""
    con = duckdb.connect()
    for batch in sorted(path.parent for path in reference.glob("*/manifest.json")):
        manifest = read_manifest(batch)
        (landing / batch.name).mkdir(parents=True)
        files = []
        for item in manifest.files:
            name = f"{item.entity}.{file_format}"
            written = landing / batch.name / name
            con.execute(f"copy (select * from read_parquet('{batch / item.path}')) to '{written}' ({copy_options})")
            files.append(ManifestFile(item.entity, name, item.rows, sha256_of(written), written.stat().st_size))
        write_manifest(landing / batch.name, dataclasses.replace(manifest, files=tuple(files)))


FORMATS = {
    # A semicolon-separated, Latin-1 export, as a European spreadsheet writes one.
    "csv": ({"format": "csv", "csv": {"delimiter": ";", "encoding": "latin-1"}}, "header, delimiter ';'"),
    "jsonl": ({"format": "jsonl"}, "format json"),
}


def _loaded(query) -> dict[str, list[tuple]]:
    """Raw and the quarantine as a loader made them, without what names the file or the clock."""
    tables = {}
    for (table,) in query("select table_name from information_schema.tables where table_schema = 'raw'"):
        columns = [
            name
            for (name,) in query(
                "select column_name from information_schema.columns where table_schema = 'raw' "
                f"and table_name = '{table}' and column_name not in ('_source_file', '_loaded_at') "
                "order by ordinal_position"
            )
        ]
        tables[table] = sorted(query(f"select {', '.join(columns)} from raw.{table}"), key=repr)
    tables["quarantine"] = sorted(query("select batch_id, entity, source_row, reasons from audit.quarantine"))
    tables["ledger"] = sorted(
        query("select batch_id, entity, rows_in, rows_loaded, rows_quarantined, status from audit.load_batches")
    )
    return tables


@pytest.mark.parametrize("file_format", FORMATS)
def test_the_same_batches_as_csv_or_json_lines_load_as_their_parquet_does(
    engine, landed_days: Path, file_format: str, tmp_path: Path
) -> None:
    target, workspace, query = engine
    batches = erp_batches(landed_days)
    reference = tmp_path / "parquet"
    for batch in batches:
        land_batch(batch, reference, _with_bad_order_lines if batch == batches[1] else None)
    workspace.env["ELT_LANDING_DIR"] = str(reference)
    workspace.elt("load", "--target", target)
    from_parquet = _loaded(query)
    assert from_parquet["quarantine"], "the reference quarantined nothing: the comparison would prove little"

    contract, copy_options = FORMATS[file_format]
    project = project_copy(tmp_path / "project")
    document = yaml.safe_load((project / ERP_CONTRACT).read_text())
    document["sources"][0]["config"]["meta"]["contract"] = contract
    (project / ERP_CONTRACT).write_text(yaml.safe_dump(document, sort_keys=False))
    _rewritten(reference, tmp_path / file_format, file_format, copy_options)
    other = make_workspace(tmp_path / f"{file_format}-workspace", landing_dir=tmp_path / file_format)
    other.env["ELT_PROJECT_DIR"] = str(project)
    with ExitStack() as stack:
        if target == "pg":
            other.env.update(stack.enter_context(fresh_postgres_database(server_env_of(workspace))))
        other.elt("load", "--target", target)
        assert _loaded(warehouse_query(target, other.env)) == from_parquet
