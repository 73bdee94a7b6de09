"""Faults injected into `elt run` on real warehouses, each followed by a rerun compared with a clean run.

Every case starts from a warehouse that has loaded, built and published the export (the marts
consumers read exist), then runs `elt run` over the export and the daily batches with one
fault in the first daily batch's work or in the publish step. The daily batches are the
test session's with one change added: a customer changed on the first day changes again on
the second, so a rerun that merged both days into one version would lose one.

Each case checks that the failure is clean (a killed process, or exit 1 with an error that
says why) and that the consumer-facing `marts` schema still reads as before the faulted
run: write-audit-publish shows consumers a new version only in one transaction after a
green build. Then it runs `elt run` again, without the fault, and compares every table and
view in raw, intermediate (the derived history), marts and marts_build with a clean run of the same landing data in
a fresh warehouse.

SIGKILL during a load and the same batch loaded twice are covered by test_load_crash.py and
test_load_exactly_once.py; this file covers the faults inside and around `dbt build`.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import preforked
from batches import land_batch
from conftest import (
    ELT,
    BuiltExport,
    Query,
    Workspace,
    fresh_postgres_database,
    make_workspace,
    warehouse_query,
)
from elt import local_pg
from elt.dbt import PRODUCTION_BUILD_ARGS
from elt.faults import (
    KILL_AT_VARIABLE,
    PAUSE_AT_VARIABLE,
    PAUSE_MARKER_VARIABLE,
    PAUSE_SECONDS_VARIABLE,
    dbt_node_point,
)
from fingerprints import assert_every_ledger_batch_complete, content_fingerprint, differences, warehouse_fingerprint
from reliability.outcomes import engine_name, record

# The whole pipeline, over and over: in `make test`, not in `make test-fast`.
pytestmark = pytest.mark.e2e

FIRST_DAILY_BATCH = "19980803-daily"
SECOND_DAILY_BATCH = "19980804-daily"
# Where dbt builds the incremental fact table; consumers read a published copy of it.
FACT_BUILD_SCHEMA = "marts_build"
EXPECTED = "fails cleanly; marts unchanged until the rerun; rerun equals a clean run"


@pytest.fixture(scope="module")
def landed_days_with_a_repeated_change(tmp_path_factory: pytest.TempPathFactory, landed_days: Path) -> Path:
    """The session's export and daily batches, the second day also changing a customer the first day changed."""
    landing = tmp_path_factory.mktemp("landing-repeated-change")
    first_day_customers = pq.read_table(landed_days / FIRST_DAILY_BATCH / "customers.parquet")
    updates = [row for row in first_day_customers.to_pylist() if row["_op"] == "update"]
    changed_again = min(updates, key=lambda row: row["c_custkey"])
    changed_again["c_acctbal"] += 100

    def change_again(entity: str, table: pa.Table) -> pa.Table:
        if entity != "customers":
            return table
        return pa.concat_tables([table, pa.Table.from_pylist([changed_again], schema=table.schema)])

    for batch in sorted(landed_days.iterdir()):
        if batch.is_dir():
            land_batch(batch, landing, change_again if batch.name == SECOND_DAILY_BATCH else None)
    return landing


@pytest.fixture(scope="module")
def clean_run(
    tmp_path_factory: pytest.TempPathFactory, landed_days_with_a_repeated_change: Path, request
) -> Callable[[str], dict]:
    """target -> fingerprint of `elt run` over those batches in a fresh warehouse, once per engine and module."""
    fingerprints: dict[str, dict] = {}

    def fingerprint_of(target: str) -> dict:
        if target not in fingerprints:
            root = tmp_path_factory.mktemp(f"clean-run-{target}")
            workspace = make_workspace(root, landing_dir=landed_days_with_a_repeated_change)
            with ExitStack() as stack:
                if target == "pg":
                    server_env = request.getfixturevalue("postgres_server")
                    workspace.env.update(stack.enter_context(fresh_postgres_database(server_env)))
                workspace.elt("run", "--target", target)
                fingerprints[target] = warehouse_fingerprint(warehouse_query(target, workspace.env))
        return fingerprints[target]

    return fingerprint_of


@dataclass
class Pipeline:
    """A warehouse that has built the export, about to run the daily batches."""

    target: str
    workspace: Workspace
    query: Query
    marts_before: dict

    def run(
        self, extra_env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`elt run` over the export and daily batches, whatever its exit code."""
        return preforked.run(
            self.command(), cwd=self.workspace.root, env={**self.workspace.env, **(extra_env or {})}, preexec=preexec
        )

    def start(self, extra_env: dict[str, str]) -> preforked.PreforkedProcess:
        """`elt run` over the export and daily batches, started and left running."""
        return preforked.popen(self.command(), cwd=self.workspace.root, env={**self.workspace.env, **extra_env})

    def command(self) -> list[str]:
        return [str(ELT), "run", "--target", self.target]

    def marts(self) -> dict:
        return warehouse_fingerprint(self.query, ("marts",))


def built_export(
    target: str, workspace: Workspace, daily_landing: Path, start_from: BuiltExport | None = None
) -> Pipeline:
    """Build the export alone (the workspace lands on the shared export), or start from the
    session's copy of that build, then point it at the daily batches."""
    if start_from is None:
        workspace.elt("run", "--target", target)
    else:
        start_from(target, workspace)
    workspace.env["ELT_LANDING_DIR"] = str(daily_landing)
    query = warehouse_query(target, workspace.env)
    return Pipeline(target, workspace, query, warehouse_fingerprint(query, ("marts",)))


@pytest.fixture
def pipeline(engine, landed_days_with_a_repeated_change: Path, start_from_built_export: BuiltExport) -> Pipeline:
    target, workspace, _ = engine
    return built_export(target, workspace, landed_days_with_a_repeated_change, start_from_built_export)


def kept_rows(fingerprint: dict) -> dict[str, int]:
    """Row counts of what must never be lost: raw, and the SCD2 history derived from it."""
    return {
        name: rows
        for name, (_, rows, _) in fingerprint.items()
        if name.startswith("raw.") or (name.startswith("intermediate.") and name.endswith("__versioned"))
    }


def recover_and_compare(
    case: str, pipeline: Pipeline, clean: dict, fault_observed: str, expected: str = EXPECTED, faulted: bool = True
) -> None:
    """The common ending: marts as before the fault (when the run failed), then a rerun that equals the clean run."""
    marts_after_fault = pipeline.marts()
    pipeline.workspace.elt("run", "--target", pipeline.target)
    recovered = warehouse_fingerprint(pipeline.query)

    clean_rows, recovered_rows = kept_rows(clean), kept_rows(recovered)
    rows_lost = sum(max(rows - recovered_rows.get(name, 0), 0) for name, rows in clean_rows.items())
    marts_kept = marts_after_fault == pipeline.marts_before
    observed = fault_observed
    if faulted:
        observed += f"; marts {'unchanged' if marts_kept else 'CHANGED'} before the rerun"
    observed += f"; rerun {'equals' if recovered == clean else 'DIFFERS from'} a clean run"
    record("fault", case, engine_name(pipeline.target), expected, observed, rows_lost)

    assert recovered == clean, differences(clean, recovered)
    if faulted:
        assert marts_kept, ("consumers saw a half-built state", differences(pipeline.marts_before, marts_after_fault))


def killed_at(pipeline: Pipeline, point: str) -> subprocess.CompletedProcess[str]:
    killed = pipeline.run({KILL_AT_VARIABLE: point})
    assert killed.returncode == -signal.SIGKILL, (point, killed.returncode, killed.stderr[-3000:])
    return killed


def test_sigkill_inside_the_history_build(pipeline: Pipeline, clean_run) -> None:
    """Killed after the customers' history table was rebuilt over the daily batches, before it committed."""
    killed_at(pipeline, dbt_node_point("int_customers__versioned"))

    query = pipeline.query
    assert_every_ledger_batch_complete(query)
    # Every daily batch's customer changes were loaded, and the rebuilt history rolled back.
    assert query(f"select count(*) from raw.erp_customers where _batch_id = '{FIRST_DAILY_BATCH}'")[0][0] > 0
    unbuilt = (
        f"select count(*) from intermediate.int_customers__versioned where source_batch_id = '{FIRST_DAILY_BATCH}'"
    )
    assert query(unbuilt) == [(0,)]

    recover_and_compare(
        "SIGKILL inside the history build (int_customers__versioned, after the daily batches' loads)",
        pipeline,
        clean_run(pipeline.target),
        "killed before the history table's commit; the export's history stayed",
    )


def live_version(query: Query) -> int:
    return query("select version from audit.publish_log where status = 'live'")[0][0]


def version_schemas(query: Query) -> list[str]:
    listed = "select schema_name from information_schema.schemata where schema_name like 'marts_v%' order by 1"
    return [row[0] for row in query(listed)]


@pytest.mark.parametrize("point", ["publish:after-copy", "publish:before-commit"])
def test_sigkill_during_publish(point: str, pipeline: Pipeline, clean_run) -> None:
    """Killed in the publish transaction, after the green builds of every daily batch: consumers keep the export."""
    query = pipeline.query
    live_before, schemas_before = live_version(query), version_schemas(query)
    killed_at(pipeline, point)

    assert_every_ledger_batch_complete(query)
    assert live_version(query) == live_before
    # The new version's schema and copies were in the killed transaction: none is left behind.
    assert version_schemas(query) == schemas_before
    built = "select count(*) from marts_build.fct_order_lines"
    assert query(built) != query("select count(*) from marts.fct_order_lines"), "the daily batches were built"

    recover_and_compare(
        f"SIGKILL during publish ({point}, after the daily batches' builds)",
        pipeline,
        clean_run(pipeline.target),
        f"killed at {point}; live version, version schemas and views as before",
    )


def test_sigkill_inside_the_incremental_fact_build(pipeline: Pipeline, clean_run) -> None:
    """Killed inside fct_order_lines' incremental run (delete+insert and post-hook done, not committed)."""
    fact_before = content_fingerprint(pipeline.query, FACT_BUILD_SCHEMA, "fct_order_lines")
    killed_at(pipeline, dbt_node_point("fct_order_lines"))

    compiled = pipeline.workspace.dbt_target_dir / "compiled/wholesale/models/marts/core/fct_order_lines.sql"
    assert "where line_changed_date >=" in compiled.read_text(), "the kill was meant for the incremental branch"
    assert_every_ledger_batch_complete(pipeline.query)
    fact_after = content_fingerprint(pipeline.query, FACT_BUILD_SCHEMA, "fct_order_lines")
    assert fact_after == fact_before, "the fact's delete+insert was committed: the kill came too late"

    recover_and_compare(
        "SIGKILL inside the incremental fact build (fct_order_lines, first daily batch)",
        pipeline,
        clean_run(pipeline.target),
        "killed before fct_order_lines' commit; the fact kept the export's lines",
    )


@pytest.fixture
def restartable_postgres(tmp_path: Path) -> Iterator[tuple[dict[str, str], Callable[[], None]]]:
    """(libpq variables, restart) of a PostgreSQL server of this test's own: the session's server is shared."""
    import pgserver

    server = local_pg.start(tmp_path / "restartable-pg", keep_running=False)

    def pg_ctl(*args: str) -> None:
        pgserver.pg_ctl(["-w", "-m", "fast", *args], pgdata=server.pgdata, user=server.system_user, timeout=120)

    try:
        yield local_pg.connection_env(server), lambda: pg_ctl("restart")
    finally:
        # pgserver only stops the postmaster it started, and a restart starts a new one.
        with suppress(subprocess.CalledProcessError):
            pg_ctl("stop")
        server.cleanup()


RESTART_PAUSE_SECONDS = 10
# The command `elt run` names when its build fails.
SCHEDULED_BUILD = " ".join(("dbt build", *PRODUCTION_BUILD_ARGS))


def test_postgres_restarted_mid_build(
    tmp_path: Path, landed_export: Path, landed_days_with_a_repeated_change: Path, restartable_postgres, clean_run
) -> None:
    """A real server restart (pg_ctl restart -m fast) while dbt is inside fct_order_lines' transaction."""
    server_env, restart = restartable_postgres
    workspace = make_workspace(tmp_path / "workspace", landing_dir=landed_export)
    with fresh_postgres_database(server_env) as database_env:
        workspace.env.update(database_env)
        pipeline = built_export("pg", workspace, landed_days_with_a_repeated_change)
        marker = tmp_path / "inside-fct-order-lines"
        first = pipeline.start(
            {
                PAUSE_AT_VARIABLE: dbt_node_point("fct_order_lines"),
                PAUSE_SECONDS_VARIABLE: str(RESTART_PAUSE_SECONDS),
                PAUSE_MARKER_VARIABLE: str(marker),
            }
        )
        wait_for(marker, first)
        paused_at = time.monotonic()
        restart()
        assert time.monotonic() - paused_at < RESTART_PAUSE_SECONDS, "the restart outlasted the pause: make it longer"
        stdout, stderr = first.communicate(timeout=600)

        assert first.returncode == 1, (stdout[-3000:], stderr[-3000:])
        assert "Traceback" not in stderr
        assert f"`{SCHEDULED_BUILD}` failed on target pg" in stderr and "fct_order_lines" in stderr, stderr
        assert "terminat" in stderr or "closed the connection" in stderr, stderr
        assert_every_ledger_batch_complete(pipeline.query)

        recover_and_compare(
            "PostgreSQL restarted mid-build (inside fct_order_lines, first daily batch)",
            pipeline,
            clean_run("pg"),
            "run failed with exit 1 naming the node and the lost connection",
        )


def wait_for(marker: Path, process: preforked.PreforkedProcess, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"the run never reached its pause point ({marker.name})"
        time.sleep(0.05)


def file_size_limited_to(limit: int) -> Callable[[], None]:
    """A preexec_fn: writes past `limit` bytes fail with EFBIG (File too large), as on a full disk.

    SIGXFSZ is ignored, or the kernel would kill the process at the first such write. Chmod
    cannot stand in for this: the tests run as root, which ignores file permissions."""

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


def erp_raw(query) -> dict[str, tuple]:
    """The fingerprint of the ERP's raw tables, the source whose batch the fault stops."""
    return {
        name: value for name, value in warehouse_fingerprint(query, ("raw",)).items() if name.startswith("raw.erp_")
    }


@pytest.mark.parametrize("stage", ["load", "build"])
def test_disk_full_on_the_duckdb_file(
    stage: str, workspace: Workspace, landed_days_with_a_repeated_change: Path, clean_run
) -> None:
    """The DuckDB file (or its WAL) cannot grow: while loading the first daily batch, or while building after it.

    While loading, 16 KiB is less than the batch's WAL; while building, the file's current
    size stops the checkpoint that writes the rebuilt tables into it. Neither limit stops dbt's
    own files (its manifest and log stay under the file's size), so the failure is the warehouse's.
    """
    pipeline = built_export("dev", workspace, landed_days_with_a_repeated_change)
    raw_before = erp_raw(pipeline.query)
    limit = 16 * 1024 if stage == "load" else workspace.duckdb_path.stat().st_size

    failed = pipeline.run(preexec=file_size_limited_to(limit))

    assert failed.returncode == 1, (failed.stdout[-3000:], failed.stderr[-3000:])
    assert "File too large" in failed.stderr and "Traceback" not in failed.stderr, failed.stderr
    assert_every_ledger_batch_complete(pipeline.query)
    if stage == "load":
        assert f"batch {FIRST_DAILY_BATCH} failed" in failed.stderr
        # (The other sources' small batches of that day may fit and load: their source is not held back.)
        assert erp_raw(pipeline.query) == raw_before, "a half-written batch is in raw"
    else:
        assert f"`{SCHEDULED_BUILD}` failed on target dev" in failed.stderr

    recover_and_compare(
        f"disk full on the DuckDB file while {'loading' if stage == 'load' else 'building'} the first daily batch",
        pipeline,
        clean_run("dev"),
        f"exit 1: {'the batch rolled back' if stage == 'load' else 'dbt build failed'}, 'File too large' named",
    )


TWO_RUNS_PAUSE_SECONDS = 15


def test_two_runs_at_once(pipeline: Pipeline, clean_run, tmp_path: Path) -> None:
    """A second `elt run` while the first is inside its build is refused at once and changes nothing."""
    marker = tmp_path / "first-run-is-building"
    first = pipeline.start(
        {
            PAUSE_AT_VARIABLE: dbt_node_point("fct_order_lines"),
            PAUSE_SECONDS_VARIABLE: str(TWO_RUNS_PAUSE_SECONDS),
            PAUSE_MARKER_VARIABLE: str(marker),
        }
    )
    wait_for(marker, first)
    second = pipeline.run()
    assert first.poll() is None, "the first run was no longer paused when the second ended: make the pause longer"

    assert second.returncode == 1, (second.stdout[-3000:], second.stderr[-3000:])
    said = " ".join(second.stderr.split())  # rich wraps long lines
    assert f"`elt run --target {pipeline.target}` (process {first.pid}, since " in said, said
    assert "holds the warehouse lock" in said and "Traceback" not in said, said
    stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, (stdout[-3000:], stderr[-3000:])
    clean = clean_run(pipeline.target)
    first_run_equals_clean = warehouse_fingerprint(pipeline.query) == clean

    recover_and_compare(
        "two `elt run` at once (the second while the first is inside fct_order_lines)",
        pipeline,
        clean,
        f"second refused with exit 1, naming the first run as the warehouse lock's holder; the first finished, "
        f"{'equal to' if first_run_equals_clean else 'DIFFERENT from'} a clean run",
        expected="the second is refused, the first finishes; both equal a clean run",
        faulted=False,
    )
    assert first_run_equals_clean
