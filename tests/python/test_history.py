"""SCD2 history is derived from raw, so it does not depend on how or when the pipeline ran.

Each dimension's history (intermediate.int_<entity>__versioned) must equal the versions
decision 0022 defines, computed independently in Python from the landed files
(expected.expected_history), whether the batches were loaded and built
- by one `elt run` that catches up every day,
- by one `elt run` per day,
- by `elt load` and then `elt run` (one build over everything loaded),
- by a run killed right after the export's load committed, then run again;
and the published marts and dbt's build of them must be the same in all four.

Out-of-order deliveries follow the rule too: two batches on one business date (the later
one wins), an update delivered a day before its insert (the insert is the first version,
the update a later change), a delete of a key never delivered (nothing to close); each
appears in int_deliveries__out_of_order with the rule that applied.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batches import erp_batches, land_batch
from conftest import TEST_DAYS, TEST_SEED, fresh_postgres_database, make_workspace, warehouse_query
from elt.faults import KILL_AT_VARIABLE
from elt.generate.manifest import Manifest, describe_file, read_manifest, write_manifest
from expected import expected_history
from fingerprints import differences, relation_fingerprint, warehouse_fingerprint

# The whole pipeline, over and over: in `make test`, not in `make test-fast`.
pytestmark = pytest.mark.e2e

# history model -> (landing key columns, landing attribute columns, the model's names for both)
HISTORY = {
    "int_customers__versioned": (
        ("c_custkey",),
        ("c_name", "c_address", "c_phone", "c_acctbal", "c_mktsegment"),
        "customer_id, customer_name, customer_address, customer_phone, account_balance, market_segment",
    ),
    "int_suppliers__versioned": (
        ("s_suppkey",),
        ("s_name", "s_address", "s_phone", "s_acctbal"),
        "supplier_id, supplier_name, supplier_address, supplier_phone, account_balance",
    ),
    "int_parts__versioned": (("p_partkey",), ("p_name", "p_retailprice"), "part_id, part_name, retail_price"),
    "int_part_suppliers__versioned": (
        ("ps_partkey", "ps_suppkey"),
        ("ps_availqty", "ps_supplycost"),
        "part_id, supplier_id, available_quantity, supply_cost",
    ),
}
ENTITY_OF = {
    "int_customers__versioned": "customers",
    "int_suppliers__versioned": "suppliers",
    "int_parts__versioned": "parts",
    "int_part_suppliers__versioned": "part_suppliers",
}


def history(query) -> dict[str, list[tuple]]:
    """Every version of each historied entity, as the warehouse derived it."""
    return {
        model: sorted(query(f"select {columns}, valid_from, valid_to from intermediate.{model}"))
        for model, (_, _, columns) in HISTORY.items()
    }


def expected(landing_dir: Path) -> dict[str, list[tuple]]:
    return {
        model: expected_history(landing_dir, ENTITY_OF[model], key, attributes)
        for model, (key, attributes, _) in HISTORY.items()
    }


def published(query) -> dict[str, tuple]:
    """What consumers read (marts) and what the next incremental run starts from (marts_build)."""
    return warehouse_fingerprint(query, ("marts", "marts_build"))


def landed_bytes(landing_dir: Path) -> dict[str, bytes]:
    """Every landed file, manifests included, by batch and name."""
    return {str(path.relative_to(landing_dir)): path.read_bytes() for path in sorted(landing_dir.glob("*/*"))}


def pipeline(root: Path, landing: Path, target: str, server_env: dict, stack: ExitStack):
    """A workspace with its own landing copy and its own, empty warehouse."""
    shutil.copytree(landing, root / "landing")
    workspace = make_workspace(root)
    if target == "pg":
        workspace.env.update(stack.enter_context(fresh_postgres_database(server_env)))
    return workspace, warehouse_query(target, workspace.env)


def test_history_is_the_same_however_the_days_were_loaded(
    engine, landed_export: Path, landed_days: Path, start_from_built_export, tmp_path: Path
) -> None:
    target, first, _ = engine
    server_env = {key: value for key, value in first.env.items() if key.startswith("PG")}
    run_args = ("run", "--target", target, "--days", TEST_DAYS, "--seed", TEST_SEED)
    with ExitStack() as stack:
        catch_up, catch_up_query = pipeline(tmp_path / "catch-up", landed_days, target, server_env, stack)
        catch_up.elt(*run_args)
        want = expected(catch_up.landing_dir)
        versions = sum(len(rows) for rows in want.values())
        keys = sum(len({row[: len(HISTORY[model][0])] for row in rows}) for model, rows in want.items())
        assert versions > keys, "no record changed: the history has nothing to compare"
        assert history(catch_up_query) == want
        reference = published(catch_up_query)

        # One run per day: the export alone is landed and built (the session's build of it),
        # then each run lands the next day (`--days N` generates what is missing) and builds it.
        daily = first
        daily.env["ELT_LANDING_DIR"] = str(tmp_path / "daily-landing")
        shutil.copytree(landed_export, daily.landing_dir)
        start_from_built_export(target, daily)
        daily_query = warehouse_query(target, daily.env)
        for days in range(1, int(TEST_DAYS) + 1):
            daily.elt("run", "--target", target, "--days", str(days), "--seed", TEST_SEED)
            assert len(erp_batches(daily.landing_dir)) == days + 1, "each run lands one more day, not all of them"
        # The days landed one run at a time are the bytes the catch-up landed at once.
        assert landed_bytes(daily.landing_dir) == landed_bytes(catch_up.landing_dir)

        loaded_first, loaded_first_query = pipeline(tmp_path / "load-then-run", landed_days, target, server_env, stack)
        loaded_first.elt("load", "--target", target)
        loaded_first.elt(*run_args)

        # Case 1 of the issue: killed after the export's load committed, before any build.
        killed, killed_query = pipeline(tmp_path / "killed", landed_days, target, server_env, stack)
        killed.env[KILL_AT_VARIABLE] = "after-commit"
        assert killed.elt(*run_args, check=False).returncode != 0
        del killed.env[KILL_AT_VARIABLE]
        killed.elt(*run_args)

        for name, query in (("daily", daily_query), ("load-then-run", loaded_first_query), ("killed", killed_query)):
            assert history(query) == want, name
            assert not differences(published(query), reference), (name, differences(published(query), reference))


def _land(landing_dir: Path, batch_id: str, rows: dict[str, list[dict]]) -> None:
    """A well-formed batch of hand-made rows, sealed with a manifest as the generator seals one."""
    export_dir = erp_batches(landing_dir)[0]
    export = read_manifest(export_dir)
    batch_dir = landing_dir / batch_id
    batch_dir.mkdir()
    files = []
    for entity, entity_rows in rows.items():
        # Nullable, as the daily extracts write them: a tombstone carries only its key.
        exported = pq.read_schema(export_dir / f"{entity}.parquet")
        schema = pa.schema([pa.field(field.name, field.type) for field in exported] + [pa.field("_op", pa.string())])
        pq.write_table(pa.Table.from_pylist(entity_rows, schema=schema), batch_dir / f"{entity}.parquet")
        files.append(describe_file(batch_dir, entity, f"{entity}.parquet"))
    business_date = date.fromisoformat(f"{batch_id[:4]}-{batch_id[4:6]}-{batch_id[6:8]}")
    manifest = Manifest(
        **{
            **dataclasses.asdict(export),
            "batch_id": batch_id,
            "batch_kind": "daily",
            "business_date": business_date,
            "files": tuple(files),
        }
    )
    write_manifest(batch_dir, manifest)


def test_out_of_order_deliveries_follow_the_history_rule(engine, landed_export: Path) -> None:
    target, workspace, query = engine
    workspace.env["ELT_LANDING_DIR"] = str(workspace.root / "landing")
    shutil.copytree(landed_export, workspace.landing_dir)
    export_dir = erp_batches(workspace.landing_dir)[0]
    customers = pq.read_table(export_dir / "customers.parquet").to_pylist()
    changed, kept = customers[0], customers[1]
    day_1 = read_manifest(export_dir).business_date + timedelta(days=1)
    day_2 = day_1 + timedelta(days=1)
    new_key = max(row["c_custkey"] for row in customers) + 1
    unknown_key = new_key + 1
    created = {**kept, "c_custkey": new_key, "c_name": "Created", "c_mktsegment": "BUILDING", "_op": "insert"}
    updated = {**created, "c_address": "Moved before its insert arrived", "c_mktsegment": "MACHINERY", "_op": "update"}
    morning = {**changed, "c_mktsegment": "AUTOMOBILE", "_op": "update"}
    evening = {**changed, "c_mktsegment": "HOUSEHOLD", "c_phone": "10-000-000-0000", "_op": "update"}
    tombstone = {name: None for name in changed} | {"c_custkey": unknown_key, "_op": "delete"}

    # Case 3: two batches on one business date change one customer; case 4: an update a day before its insert.
    _land(workspace.landing_dir, f"{day_1:%Y%m%d}-daily", {"customers": [morning, updated]})
    _land(workspace.landing_dir, f"{day_1:%Y%m%d}-daily-2", {"customers": [evening]})
    _land(workspace.landing_dir, f"{day_2:%Y%m%d}-daily", {"customers": [created, tombstone]})

    workspace.elt("run", "--target", target, "--days", "0")

    assert history(query)["int_customers__versioned"] == expected(workspace.landing_dir)["int_customers__versioned"]
    first_day = date(1900, 1, 1)
    versions = query(
        "select customer_id, market_segment, customer_address, valid_from, valid_to from marts_build.dim_customers "
        f"where customer_id in ({changed['c_custkey']}, {new_key}, {unknown_key}) order by customer_id, valid_from"
    )
    assert versions == [
        (changed["c_custkey"], changed["c_mktsegment"], changed["c_address"], first_day, day_1),
        (changed["c_custkey"], "HOUSEHOLD", changed["c_address"], day_1, date(9999, 12, 31)),
        (new_key, "BUILDING", kept["c_address"], first_day, day_1),
        (new_key, "MACHINERY", "Moved before its insert arrived", day_1, date(9999, 12, 31)),
    ]
    # (marts_build: the published marts mask the address.) The current state and the
    # history agree: "as of now" is the last version.
    assert query(
        "select customer_id, market_segment from marts.dim_customers_current "
        f"where customer_id in ({changed['c_custkey']}, {new_key}, {unknown_key}) order by customer_id"
    ) == [(changed["c_custkey"], "HOUSEHOLD"), (new_key, "MACHINERY")]
    assert query(
        "select record_key, source_batch_id, rule_applied from intermediate.int_deliveries__out_of_order "
        "order by source_batch_id, source_row"
    ) == [
        (str(changed["c_custkey"]), f"{day_1:%Y%m%d}-daily", "superseded_same_day"),
        (str(new_key), f"{day_2:%Y%m%d}-daily", "insert_after_update"),
        (str(unknown_key), f"{day_2:%Y%m%d}-daily", "delete_of_unknown_key"),
    ]


def test_an_insert_after_its_updates_reaches_fact_lines_older_than_the_lookback(
    engine, landed_export: Path, tmp_path: Path
) -> None:
    """Customer C's insert arrives five days after its update: the history gains a version in
    the past, and the incremental fact must move C's lines ordered since the update onto
    it, though they are older than the fact's lookback window. Equal to a build from scratch."""
    target, workspace, query = engine
    generated = make_workspace(tmp_path / "generated")
    shutil.copytree(landed_export, generated.landing_dir)
    generated.elt("generate", "--days", "6", "--seed", "17")
    batches = erp_batches(generated.landing_dir)
    export, day_one, last_day = batches[0], batches[1], batches[6]
    day_one_date = read_manifest(day_one).business_date
    changed_daily = {
        row["c_custkey"] for batch in batches[1:] for row in pq.read_table(batch / "customers.parquet").to_pylist()
    }
    # Orders that nothing after day one touches: their lines stay older than the lookback window.
    touched_later = {
        row[key]
        for batch in batches[2:]
        for entity, key in (("orders", "o_orderkey"), ("order_lines", "l_orderkey"))
        for row in pq.read_table(batch / f"{entity}.parquet", columns=[key]).to_pylist()
    }
    ordering = [
        row["o_custkey"]
        for row in pq.read_table(day_one / "orders.parquet").to_pylist()
        if row["_op"] == "insert" and row["o_orderdate"] == day_one_date and row["o_orderkey"] not in touched_later
    ]
    exported = {row["c_custkey"]: row for row in pq.read_table(export / "customers.parquet").to_pylist()}
    customer = next(key for key in ordering if key in exported and key not in changed_daily)
    created = exported[customer]
    updated = {**created, "c_mktsegment": "MACHINERY" if created["c_mktsegment"] != "MACHINERY" else "BUILDING"}

    def without_the_customer(entity: str, table: pa.Table) -> pa.Table:
        if entity != "customers":
            return table
        return pa.Table.from_pylist([row for row in table.to_pylist() if row["c_custkey"] != customer], table.schema)

    def with_row(row: dict) -> Callable[[str, pa.Table], pa.Table]:
        def edit(entity: str, table: pa.Table) -> pa.Table:
            if entity != "customers":
                return table
            return pa.concat_tables([table, pa.Table.from_pylist([row], schema=table.schema)])

        return edit

    landing = tmp_path / "landing"
    landing.mkdir()
    edits = {
        export.name: without_the_customer,
        day_one.name: with_row({**updated, "_op": "update"}),
        last_day.name: with_row({**created, "_op": "insert"}),
    }
    workspace.env["ELT_LANDING_DIR"] = str(landing)
    for batch in batches:
        land_batch(batch, landing, edits.get(batch.name))
        workspace.elt("run", "--target", target, "--days", "0")

    with ExitStack() as stack:
        scratch, scratch_query = pipeline(tmp_path / "scratch", landing, target, server_env_of(workspace), stack)
        scratch.elt("run", "--target", target, "--days", "0")
        columns = [
            name
            for (name,) in query(
                "select column_name from information_schema.columns where table_schema = 'marts_build' "
                "and table_name = 'fct_order_lines' and column_name <> 'built_at' order by ordinal_position"
            )
        ]
        incremental = relation_fingerprint(query, "marts_build.fct_order_lines", columns)
        assert incremental == relation_fingerprint(scratch_query, "marts_build.fct_order_lines", columns)

    joined = query(
        "select lines.order_date >= customers.valid_from, customers.valid_from, customers.market_segment, count(*) "
        "from marts_build.fct_order_lines as lines inner join marts_build.dim_customers as customers "
        f"on lines.customer_sk = customers.customer_sk where lines.customer_id = {customer} "
        f"and lines.order_date >= date '{day_one_date}' group by 1, 2, 3"
    )
    assert joined and all(
        valid_from == day_one_date and segment == updated["c_mktsegment"] for _, valid_from, segment, _ in joined
    ), joined


def server_env_of(workspace) -> dict[str, str]:
    return {key: value for key, value in workspace.env.items() if key.startswith("PG")}
