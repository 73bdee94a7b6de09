"""Sources load apart: each in its own business-date order, with its own failures, replays and freshness.

A second source (a shop's CSV export, declared by one YAML file) lands through `elt land`
and loads beside the simulated ERP on both engines. Its batches are dated decades after the
ERP's; one of them is broken. What must hold: the ERP's days keep loading, the broken batch
holds back only the shop's later batches, `elt replay --source shop` leaves the ERP's raw
and ledger as they were, and `elt status` judges each source by its own freshness.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from batches import erp_batches
from conftest import (
    PROJECT_DIR,
    duckdb_file,
    fresh_postgres_database,
    make_workspace,
    pg_connect,
    warehouse_query,
)
from elt.generate.manifest import SCHEMA_SHOWN, read_manifest
from fingerprints import differences, warehouse_fingerprint
from test_source_contracts import SHOP_CONTRACT, project_copy

# The shop's contract as a CSV source with thresholds of its own: stale after a day.
SHOP_CSV_CONTRACT = SHOP_CONTRACT.replace(
    "format: parquet",
    "format: csv\n      freshness:\n        warn_after: {count: 1, period: day}\n"
    "        error_after: {count: 2, period: day}",
)
HEADER = "web_order_id,placed_on,basket_value,voucher_code\n"
# Four rows, two of which the contract quarantines: a negative basket, a thousands separator.
FIRST_DELIVERY = HEADER + '1,2026-11-30,10.50,\n2,2026-11-30,-3.00,X\n3,2026-12-01,"1,234.50",\n4,2026-12-01,7.00,Y\n'
BROKEN_DELIVERY = "web_order_id,basket_value\n5,1.00\n"  # the placed_on column left out
LATER_DELIVERY = HEADER + "5,2026-12-02,12.00,\n6,2026-12-02,99.99,Z\n"


def _shop_project(workspace, tmp_path: Path) -> Path:
    """A copy of the project with the shop's contract, and a landing directory of the test's own."""
    workspace.env["ELT_LANDING_DIR"] = str(tmp_path / "landing")
    project = project_copy(tmp_path / "project")
    (project / "models" / "staging" / "shop").mkdir()
    (project / "models" / "staging" / "shop" / "_shop__sources.yml").write_text(SHOP_CSV_CONTRACT)
    return project


def _file(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "delivered" / name
    folder.mkdir(parents=True)
    (folder / "web_orders.csv").write_text(text)
    return folder / "web_orders.csv"


def _erp_state(query) -> dict[str, list[tuple]]:
    """The ERP's raw rows, quarantine and ledger rows, every column but the load's clock."""
    state = {}
    for (table,) in query(
        "select table_name from information_schema.tables where table_schema = 'raw' and table_name like 'erp%'"
    ):
        columns = [
            name
            for (name,) in query(
                "select column_name from information_schema.columns where table_schema = 'raw' "
                f"and table_name = '{table}' and column_name <> '_loaded_at' order by ordinal_position"
            )
        ]
        state[table] = sorted(query(f"select {', '.join(columns)} from raw.{table}"), key=repr)
    state["ledger"] = sorted(
        query(
            "select batch_id, entity, content_sha256, rows_in, rows_loaded, rows_quarantined, finished_at "
            "from audit.load_batches where source = 'erp'"
        )
    )
    state["quarantine"] = sorted(
        query("select batch_id, entity, source_row, reasons from audit.quarantine where entity <> 'web_orders'")
    )
    return state


def _execute(target: str, env: dict[str, str], sql: str) -> None:
    if target == "pg":
        with pg_connect(env) as connection:
            connection.execute(sql)
    else:
        with duckdb.connect(str(duckdb_file(env))) as connection:
            connection.execute(sql)


@pytest.mark.e2e
def test_one_source_far_ahead_or_broken_holds_back_only_itself(engine, landed_days: Path, tmp_path: Path) -> None:
    target, workspace, query = engine
    workspace.env["ELT_PROJECT_DIR"] = str(_shop_project(workspace, tmp_path))
    erp = erp_batches(landed_days)
    assert len(erp) >= 3, "the ERP's later days are what must keep loading"
    # The ERP's first two days, and the other simulated sources' deliveries (landed beside them
    # by `elt generate`: finance's targets, the carrier's events).
    others = {
        batch: json.loads((batch / "manifest.json").read_text())["source"]
        for batch in sorted(set(path.parent for path in landed_days.glob("*/manifest.json")) - set(erp))
    }
    assert set(others.values()) == {"finance", "carrier"}
    for batch in [*erp[:2], *others]:
        shutil.copytree(batch, workspace.landing_dir / batch.name)
    today = datetime.now(UTC).date()

    first = workspace.elt("land", "shop", str(_file(tmp_path, "first", FIRST_DELIVERY)), "--business-date", str(today))
    first_id = f"{today:%Y%m%d}-shop"
    assert first_id in first.stdout
    manifest = json.loads((workspace.landing_dir / first_id / "manifest.json").read_text())
    assert manifest["source"] == "shop" and manifest["files"][0]["rows"] == FIRST_DELIVERY.count("\n") - 1
    workspace.elt("load", "--target", target)
    assert query(
        "select source, count(distinct batch_id) from audit.load_batches group by source order by 1"
    ) == sorted([("erp", 2), ("shop", 1), *Counter(others.values()).items()])
    assert query("select rows_in, rows_loaded, rows_quarantined from audit.load_batches where source = 'shop'") == [
        (4, 2, 2)
    ]
    assert query("select count(*) from raw.shop_web_orders") == [(2,)]

    # The shop's next delivery is broken, one after it waits; the ERP's remaining days land.
    workspace.elt("land", "shop", str(_file(tmp_path, "broken", BROKEN_DELIVERY)), "--business-date", str(today))
    workspace.elt("land", "shop", str(_file(tmp_path, "later", LATER_DELIVERY)), "--business-date", str(today))
    for batch in erp[2:]:
        shutil.copytree(batch, workspace.landing_dir / batch.name)
    failed = workspace.elt("load", "--target", target, check=False)
    output = " ".join((failed.stdout + failed.stderr).split())
    assert failed.returncode == 1, output
    assert f"batch {first_id}-02 failed" in output and "placed_on" in output
    assert "1 later batch(es) stay pending so source shop's history loads in order" in output
    assert f"{len(erp) - 2} batch(es) of other sources loaded" in output
    loaded = query("select distinct source, batch_id from audit.load_batches order by 2")
    landed = [*(("erp", batch.name) for batch in erp), *((name, batch.name) for batch, name in others.items())]
    assert loaded == [*sorted(landed, key=lambda row: row[1]), ("shop", first_id)]
    assert query("select batch_id from audit.load_failures") == [(f"{first_id}-02",)]

    # Replaying the shop unloads the shop alone.
    erp_before = _erp_state(query)
    workspace.elt("replay", "--target", target, "--source", "shop", "--from-date", str(today))
    assert _erp_state(query) == erp_before
    assert query("select count(*) from raw.shop_web_orders") == [(0,)]
    assert query("select count(*) from audit.load_batches where source = 'shop'") == [(0,)]
    assert query("select count(*) from audit.quarantine where entity = 'web_orders'") == [(0,)]

    # The operator removes the broken delivery: the shop's batches load again, in order.
    shutil.rmtree(workspace.landing_dir / f"{first_id}-02")
    workspace.elt("load", "--target", target)
    assert query("select batch_id, rows_loaded from audit.load_batches where source = 'shop' order by 1") == [
        (first_id, 2),
        (f"{first_id}-03", 2),
    ]
    assert _erp_state(query) == erp_before

    # Freshness by each source's own thresholds: the shop's last load made three days old.
    _execute(
        target,
        workspace.env,
        "update audit.load_batches set finished_at = finished_at - interval '3 days' where source = 'shop'",
    )
    status = " ".join(workspace.elt("status", "--target", target).stdout.split())
    assert "Freshness of erp OK" in status and "warn after 26 h, error after 72 h" in status
    assert "Freshness of shop ERROR" in status and "warn after 24 h, error after 48 h" in status

    # Built and published, the ERP's history and marts are those of a warehouse that never had a shop.
    workspace.elt("run", "--target", target)
    with ExitStack() as stack:
        reference = make_workspace(tmp_path / "reference", landing_dir=landed_days)
        if target == "pg":
            server_env = {key: value for key, value in workspace.env.items() if key.startswith("PG")}
            reference.env.update(stack.enter_context(fresh_postgres_database(server_env)))
        reference.elt("run", "--target", target)
        want = warehouse_fingerprint(warehouse_query(target, reference.env), ("intermediate", "marts", "marts_build"))
    got = warehouse_fingerprint(query, ("intermediate", "marts", "marts_build"))
    assert want and not differences(got, want), differences(got, want)


def test_elt_land_refuses_what_it_cannot_seal_and_leaves_nothing(workspace, tmp_path: Path) -> None:
    workspace.env["ELT_PROJECT_DIR"] = str(_shop_project(workspace, tmp_path))
    good = _file(tmp_path, "good", FIRST_DELIVERY)
    misnamed = good.with_name("orders-export.csv")
    shutil.copyfile(good, misnamed)
    ragged = _file(tmp_path, "ragged", HEADER + "1,2026-11-30\n2,2026-11-30,1.00,,extra\n")
    cases = {
        ("land", "warehouse", str(good)): "no source 'warehouse' has a landing contract",
        ("land", "shop", str(misnamed)): "name the file after its entity, or land it alone with --entity",
        ("land", "shop", str(ragged)): "Ask for a corrected delivery",
        ("land", "shop", str(good), "--entity", "baskets"): "source shop has no such entity",
        ("land", "shop", str(good), "--business-date", "3 Dec"): "is not a date",
        ("land", "shop", str(tmp_path / "nowhere")): "no such file or directory",
    }
    for args, expected in cases.items():
        result = workspace.elt(*args, check=False)
        message = " ".join(result.stderr.split())
        assert result.returncode == 1 and expected in message, (args, message)
        assert "Traceback" not in result.stderr, args
        assert not workspace.landing_dir.exists() or not any(workspace.landing_dir.iterdir()), args

    # A file under any name lands as the entity --entity names.
    workspace.elt("land", "shop", str(misnamed), "--entity", "web_orders", "--business-date", "2026-12-01")
    landed = json.loads((workspace.landing_dir / "20261201-shop" / "manifest.json").read_text())
    assert [item["path"] for item in landed["files"]] == ["web_orders.csv"]


@pytest.mark.parametrize("batch_order", ["business_date", "arrival"])
def test_a_late_batch_waits_for_a_replay_or_loads_as_its_contract_orders(
    workspace, tmp_path: Path, batch_order: str
) -> None:
    project = _shop_project(workspace, tmp_path)
    contract = project / "models" / "staging" / "shop" / "_shop__sources.yml"
    contract.write_text(
        contract.read_text().replace("format: csv", f"format: csv\n          batch_order: {batch_order}")
    )
    workspace.env["ELT_PROJECT_DIR"] = str(project)
    workspace.elt("land", "shop", str(_file(tmp_path, "first", FIRST_DELIVERY)), "--business-date", "2026-12-02")
    workspace.elt("load")
    # Delivered after the 2nd's batch, about the 1st: late.
    workspace.elt("land", "shop", str(_file(tmp_path, "late", LATER_DELIVERY)), "--business-date", "2026-12-01")
    late = workspace.elt("load", check=False)
    loaded = warehouse_query("dev", workspace.env)("select batch_id from audit.load_batches order by 1")
    if batch_order == "arrival":
        assert late.returncode == 0, late.stderr
        assert loaded == [("20261201-shop",), ("20261202-shop",)]
    else:
        said = " ".join(late.stderr.split())
        assert late.returncode == 1 and "elt replay --source shop --from-date 2026-12-01" in said, said
        assert loaded == [("20261202-shop",)]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda document: document.pop("batch_kind"), "the top level: 'batch_kind' is a required property"),
        (lambda document: document.update(delivered_by="shop"), "'delivered_by' was unexpected"),
        (lambda document: document["files"][0].update(sha256="ABC"), "files.0.sha256 is 'ABC', not as the format"),
        (lambda document: document.update(source="Shop Inc"), "source is 'Shop Inc', not as the format describes"),
        (lambda document: document.update(source="warehouse"), "source 'warehouse' has no landing contract"),
    ],
)
def test_a_manifest_is_checked_against_its_json_schema(landed_export: Path, tmp_path: Path, change, expected) -> None:
    export = next(path.parent for path in landed_export.glob("*/manifest.json"))
    batch = tmp_path / export.name
    shutil.copytree(export, batch)
    document = json.loads((batch / "manifest.json").read_text())
    change(document)
    (batch / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(Exception) as refused:
        read_manifest(batch)
    message = str(refused.value)
    assert "\n" not in message and expected in message, message
    assert message.startswith(f"{batch / 'manifest.json'}: ")
    if "has no landing contract" not in expected:
        assert SCHEMA_SHOWN in message


EXAMPLE = PROJECT_DIR / "docs" / "runbooks" / "add-a-source-example"


def _files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


@pytest.mark.e2e
def test_a_new_source_from_the_runbooks_files_alone_is_checked_built_and_published(
    engine, landed_export: Path, tmp_path: Path
) -> None:
    """docs/runbooks/add-a-source.md's example: a contract (the sources YAML), a staging model, a mart; no Python."""
    target, workspace, query = engine
    project = project_copy(tmp_path / "project")
    before = _files_under(project)
    shutil.copytree(EXAMPLE, project, dirs_exist_ok=True)
    added = _files_under(project) - before
    assert added == _files_under(EXAMPLE) and all(name.startswith("models/") for name in added), added
    assert {name for name in added if name.endswith(".sql")} == {
        "models/staging/shop/stg_shop__web_orders.sql",
        "models/marts/shop/fct_web_orders.sql",
    }
    workspace.env["ELT_PROJECT_DIR"] = str(project)
    workspace.env["ELT_LANDING_DIR"] = str(tmp_path / "landing")
    shutil.copytree(landed_export, tmp_path / "landing")

    # The new staging folder and mart area pass the project's checks with dbt-bouncer.yml untouched.
    assert "project checks passed" in workspace.elt("check", "--project-dir", str(project)).stdout
    workspace.elt("land", "shop", str(_file(tmp_path, "first", FIRST_DELIVERY)))
    ran = " ".join(workspace.elt("run", "--target", target).stdout.split())
    assert f"Loaded {datetime.now(UTC):%Y%m%d}-shop" in ran

    # What consumers read, against the file: the rows the contract accepts, as delivered.
    accepted = [
        (1, date(2026, 11, 30), Decimal("10.50"), None, False),
        (4, date(2026, 12, 1), Decimal("7.00"), "Y", True),
    ]
    assert query("select * from marts.fct_web_orders order by web_order_id") == accepted
    assert query("select count(*) from audit.quarantine where entity = 'web_orders'") == [(2,)]
