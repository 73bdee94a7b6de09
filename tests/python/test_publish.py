"""Write-audit-publish on each engine: consumers see only tested marts, and a rollback takes seconds."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml

from batches import land_batch
from conftest import PROJECT_DIR, warehouse_execute
from fingerprints import content_fingerprint, relation_fingerprint

PII_COLUMNS = ("customer_name", "customer_address", "customer_phone")


# What the build keeps for itself (dbt_project.yml's build_internal_columns): no consumer view shows it.
INTERNAL_COLUMNS = frozenset({"built_at", "last_changed_date"})


def published_marts(query, schema: str = "marts") -> list[str]:
    rows = query(
        f"select table_name from information_schema.tables where table_schema = '{schema}' order by table_name"
    )
    return [row[0] for row in rows]


def columns_of(query, schema: str, table: str) -> list[str]:
    rows = query(
        "select column_name from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
    )
    return [row[0] for row in rows]


def consumer_state(query) -> dict[str, tuple]:
    """What consumers read, without the wall-clock stamps (built_at) that a rebuild of the same data renews."""
    return {name: content_fingerprint(query, "marts", name) for name in published_marts(query)}


def live_version(query) -> int:
    return query("select version from audit.publish_log where status = 'live'")[0][0]


def order_from_1850(entity: str, table: pa.Table) -> pa.Table:
    """Move one new order that has lines to 1850-01-01.

    The loader accepts the date (it is a valid date), and the point-in-time join then finds no
    customer version for that order: the fact's test on unknown members fails after the fact
    was rebuilt, which is the case write-audit-publish exists for.
    """
    if entity != "orders":
        return table
    victim = pc.min(pc.filter(table["o_orderkey"], pc.equal(table["_op"], "insert"))).as_py()
    long_ago = pa.scalar(-43829, pa.int32()).cast(pa.date32())  # 1850-01-01
    dates = pc.if_else(pc.equal(table["o_orderkey"], victim), long_ago, table["o_orderdate"])
    return table.set_column(table.schema.get_field_index("o_orderdate"), "o_orderdate", dates)


@pytest.mark.e2e
def test_consumers_see_only_tested_versions_and_rollback_is_quick(engine, landed_days: Path) -> None:
    target, workspace, query = engine
    days = sorted(path for path in landed_days.iterdir() if path.name.endswith("-daily"))
    landing = workspace.root / "landing"
    landing.mkdir()
    workspace.env["ELT_LANDING_DIR"] = str(landing)
    land_batch(landed_days / "19980802-export", landing)

    # Run 1: the export, built, tested and published.
    workspace.elt("run", "--target", target)
    first = live_version(query)
    export_state = consumer_state(query)
    # Every mart is published (the run generated finance's targets beside the landed export).
    marts = len(list((PROJECT_DIR / "models" / "marts").rglob("*.sql")))
    assert len(export_state) == marts
    # Consumers read views over a version schema, never dbt's build schema.
    assert query("select count(*) from information_schema.views where table_schema = 'marts'") == [(marts,)]
    # The published rows are dbt's tested rows; only personal data differs, masked.
    for name in published_marts(query):
        listed = query(
            f"select column_name from information_schema.columns where table_schema = 'marts' and table_name = '{name}'"
        )
        columns = [row[0] for row in listed if row[0] not in PII_COLUMNS]
        assert relation_fingerprint(query, f"marts.{name}", columns) == relation_fingerprint(
            query, f"marts_build.{name}", columns
        ), name
    for column in PII_COLUMNS:
        masked = query(f"select count(*), count(distinct {column}) from marts.dim_customers where customer_id <> -1")
        real = query(f"select count(distinct {column}) from marts_build.dim_customers where customer_id <> -1")
        assert masked[0][1] == 1 and real[0][0] > 1, column
        assert query(f"select distinct {column} from marts.dim_customers where customer_id <> -1") == [("***",)]
    # marts_pii shows the same views unmasked, for the roles that may read personal data; neither
    # consumer schema shows the build's bookkeeping columns.
    assert published_marts(query, "marts_pii") == published_marts(query)
    for name in published_marts(query):
        built = columns_of(query, "marts_build", name)
        business = [column for column in built if column not in INTERNAL_COLUMNS]
        assert columns_of(query, "marts", name) == columns_of(query, "marts_pii", name) == business, name
        assert relation_fingerprint(query, f"marts_pii.{name}", business) == relation_fingerprint(
            query, f"marts_build.{name}", business
        ), name
    assert any(set(columns_of(query, "marts_build", name)) >= INTERNAL_COLUMNS for name in published_marts(query))

    # Older versions are dropped beyond the three kept; the live one never is. Each version
    # is a new build (publishing the live builds again publishes nothing: decision 0023).
    for _ in range(3):
        assert workspace.dbt(target, "build", "--select", "dim_dates").returncode == 0
        workspace.elt("publish", "--target", target)
    kept = query("select schema_name from information_schema.schemata where schema_name like 'marts_v%'")
    assert len(kept) == 3
    assert query(f"select status from audit.publish_log where version = {first}") == [("retired",)]
    assert consumer_state(query) == export_state

    # Run 2: a good day, published as a new version. The fact's rows that the day cancelled
    # were recorded by its post-hook, so the publication did not have to compare whole tables.
    land_batch(days[0], landing)
    day_one = workspace.elt("run", "--target", target)
    assert "left the build unrecorded" not in day_one.stdout
    day_one_version = live_version(query)
    day_one_state = consumer_state(query)
    assert day_one_state != export_state

    # Rollback: the views show the export's version again, in seconds.
    started = time.perf_counter()
    rolled = workspace.elt("rollback", "--target", target)
    rollback_seconds = time.perf_counter() - started
    assert live_version(query) < day_one_version
    assert consumer_state(query) == export_state
    assert "Live marts version" in rolled.stdout
    assert rollback_seconds < 60, rollback_seconds  # generous: the target is minutes; this is a sanity bound

    # Publication is on hold after a rollback: a scheduled run builds but does not publish.
    held = workspace.elt("run", "--target", target)
    assert "Not published" in held.stdout
    assert consumer_state(query) == export_state
    # Publishing on purpose releases the hold.
    workspace.elt("publish", "--target", target)
    assert consumer_state(query) == day_one_state
    live_before_failure = live_version(query)

    # Run 3: a day whose data fails a test on the fact, after the fact was rebuilt.
    land_batch(days[1], landing, order_from_1850)
    failed = workspace.elt("run", "--target", target, check=False)
    assert failed.returncode == 1
    assert "Nothing was published" in " ".join(failed.stderr.split())
    # Consumers still see the last good version, untouched...
    assert live_version(query) == live_before_failure
    assert consumer_state(query) == day_one_state
    # ...while the build schema holds the new, failed build.
    assert query("select count(*) from marts_build.fct_order_lines") != query(
        "select count(*) from marts.fct_order_lines"
    )
    # The failed run is in the run history, with its failed test, and the last build cannot be published.
    status, tests_failed, error = query(
        "select status, tests_failed, error from audit.run_history order by started_at desc limit 1"
    )[0]
    assert status == "failed" and tests_failed >= 1 and "Nothing was published" in error
    refused = workspace.elt("publish", "--target", target, check=False)
    # The console wraps long lines wherever the message's names push them: compare words.
    refusal = " ".join(refused.stderr.split())
    assert refused.returncode == 1 and "cannot publish" in refusal and "fct_order_lines" in refusal
    assert "failed their tests" in refusal
    assert consumer_state(query) == day_one_state


def stand_in_for_a_build(target: str, env: dict[str, str], query, *marts: str) -> None:
    """What a build of `marts` and its passing tests would record, for changes made to marts_build by hand.

    A change in SQL behind dbt's back is not a build, so publish would neither take it as
    new nor find its tests passed (decision 0023). The tests' passes move to a new stamp.
    """
    for mart in marts:
        relation = f"marts_build.{mart}"
        (old,) = query(f"select build_id from audit.mart_builds where relation_name = '{relation}'")[0]
        new = f"by-hand-{uuid.uuid4().hex}"
        warehouse_execute(
            target,
            env,
            f"update audit.mart_test_audits set signature = replace(signature, '{relation}={old}', '{relation}={new}')",
        )
        warehouse_execute(
            target, env, f"update audit.mart_builds set build_id = '{new}' where relation_name = '{relation}'"
        )


def history_tables(query, mart: str) -> list[str]:
    rows = query(
        "select table_name from information_schema.tables where table_schema = 'marts_history' order by table_name"
    )
    return [row[0] for row in rows if row[0].startswith(f"{mart}__from_v")]


@pytest.mark.e2e
def test_incremental_marts_are_published_by_row_versions(engine, start_from_built_export) -> None:
    """Each version of the fact shows exactly the rows its build had, without a copy per version.

    The changes are made to the build schema by hand, the way an incremental build makes
    them (rows of some keys rewritten with a newer stamp, rows of a key removed), so the
    test controls which path the publication takes; every expectation is read from the
    build as it was when that version was published.
    """
    target, workspace, query = engine

    def execute(sql: str) -> None:
        warehouse_execute(target, workspace.env, sql)

    start_from_built_export(target, workspace)
    first = live_version(query)
    lines = "fct_order_lines"
    build_lines = f"marts_build.{lines}"
    at_first = relation_fingerprint(query, build_lines)
    exported_rows = at_first[0]
    # Consumers see the build's rows without its bookkeeping columns.
    shown = columns_of(query, "marts", lines)
    assert relation_fingerprint(query, f"marts.{lines}") == relation_fingerprint(query, build_lines, shown)
    assert query(f"select count(*) from marts_history.{lines}__from_v{first}") == [(exported_rows,)]

    # The next build rewrites the lines of two orders with a newer stamp and removes the lines of another.
    execute(
        f"update {build_lines} set quantity = quantity + 1, built_at = built_at + interval '1 hour'"
        f" where order_id in (select order_id from {build_lines} group by order_id order by order_id limit 2)"
    )
    rewritten = query(f"select count(*) from {build_lines} where built_at > (select min(built_at) from {build_lines})")
    removed_order = query(f"select max(order_id) from {build_lines}")[0][0]
    execute(f"delete from {build_lines} where order_id = {removed_order}")
    stand_in_for_a_build(target, workspace.env, query, lines)
    published = workspace.elt("publish", "--target", target)
    # Removed behind dbt's back, so unrecorded: the publication compares the whole table.
    assert f"{lines}: some rows left the build unrecorded" in published.stdout
    second = live_version(query)
    at_second = relation_fingerprint(query, build_lines)
    assert at_second != at_first
    shown_at_second = relation_fingerprint(query, build_lines, shown)
    assert relation_fingerprint(query, f"marts.{lines}") == shown_at_second
    assert relation_fingerprint(query, f"marts_v{second}.{lines}") == at_second
    assert relation_fingerprint(query, f"marts_v{first}.{lines}") == at_first
    # Only the rewritten lines were added to the history; the rest were not copied again.
    assert query(f"select count(*) from marts_history.{lines}__from_v{first}") == [(exported_rows + rewritten[0][0],)]

    # New columns start a new history table; the versions before it keep reading the old one.
    orders_first = relation_fingerprint(query, f"marts_v{first}.fct_orders")
    execute(f"alter table marts_history.fct_orders__from_v{first} add column added_by_test integer")
    stand_in_for_a_build(target, workspace.env, query, "fct_orders")
    workspace.elt("publish", "--target", target)
    third = live_version(query)
    assert history_tables(query, "fct_orders") == [f"fct_orders__from_v{first}", f"fct_orders__from_v{third}"]
    assert relation_fingerprint(query, f"marts_v{first}.fct_orders") == orders_first
    assert relation_fingerprint(query, "marts.fct_orders") == relation_fingerprint(
        query, "marts_build.fct_orders", columns_of(query, "marts", "fct_orders")
    )

    # Retiring the versions before it drops the old table and the rows only they showed.
    for _ in range(2):
        stand_in_for_a_build(target, workspace.env, query, "dim_dates")
        workspace.elt("publish", "--target", target)
    assert history_tables(query, "fct_orders") == [f"fct_orders__from_v{third}"]
    kept = query("select min(version) from audit.publish_log where status <> 'retired'")[0][0]
    assert kept == third
    assert query(f"select count(*) from marts_history.{lines}__from_v{first} where published_to_version <= {kept}") == [
        (0,)
    ]
    assert relation_fingerprint(query, f"marts.{lines}") == shown_at_second

    # A build changed behind dbt's back (a row with an old stamp that was never published) is refused.
    live = live_version(query)
    execute(
        f"insert into {build_lines} select * from {build_lines}"
        f" where order_id = (select min(order_id) from {build_lines}) and line_number = 1"
    )
    stand_in_for_a_build(target, workspace.env, query, lines)
    refused = workspace.elt("publish", "--target", target, check=False)
    assert refused.returncode == 1
    assert f"cannot publish {lines}" in " ".join((refused.stdout + refused.stderr).split())
    assert live_version(query) == live
    assert relation_fingerprint(query, f"marts.{lines}") == shown_at_second


def test_the_security_doc_lists_every_masked_column() -> None:
    """docs/security.md's table of masked columns is the YAML's contains_pii marks, no more and no less."""
    marked: dict[str, list[str]] = {}
    for path in sorted((PROJECT_DIR / "models" / "marts").rglob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            columns = [
                column["name"]
                for column in model.get("columns", [])
                if {**column.get("meta", {}), **column.get("config", {}).get("meta", {})}.get("contains_pii")
            ]
            if columns:
                marked[model["name"]] = columns
    assert marked, "no mart column is marked as personal data"
    section = (PROJECT_DIR / "docs" / "security.md").read_text().split("## Personal data", 1)[1]
    listed: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith(("`dim_", "`fct_", "`rpt_")):
            for model in cells[0].split(","):
                listed[model.strip(" `")] = [column.strip(" `") for column in cells[1].split(",")]
    assert listed == marked
