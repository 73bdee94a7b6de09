"""`elt run`: generate what is missing, load every pending batch, build once, publish, then docs and dashboards.

One build after all the loads is exact: the SCD2 history is derived from raw, which keeps
every version with its business date (decision 0022), so a run that catches up ten days
builds the same warehouse as ten daily runs, and a run killed anywhere is finished by the next.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg
from rich.console import Console

from elt import local_pg
from elt.dashboards import build_dashboards
from elt.dbt import BUILD_RESULTS, PRODUCTION_BUILD_ARGS, DbtSummary, dbt_target_dir, publish_marts, run_dbt
from elt.errors import EltError
from elt.generate.export import generate_all
from elt.generate.manifest import Manifest
from elt.load.ddl import LEDGER_TABLE
from elt.load.loader import BatchResult, LoadError, load_pending, open_warehouse
from elt.load.warehouse import utc_now
from elt.locking import warehouse_lock
from elt.observability import RunRecord, write_run
from elt.replay import finish_replay, replay_command, replay_state
from elt.settings import Paths
from elt.slim import save_state
from elt.status import published_versions


@dataclass
class RunSummary:
    landed: list[tuple[Manifest, bool]] = field(default_factory=list)
    batches: list[BatchResult] = field(default_factory=list)
    builds: list[DbtSummary] = field(default_factory=list)
    published: bool = False
    # The dashboards' index page, when the run drew them.
    dashboards: Path | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)


def ensure_local_postgres(paths: Paths, console: Console) -> None:
    """For the `pg` target with no server named in PGHOST, start the project's own local one."""
    if os.environ.get("PGHOST"):
        return
    data_dir = paths.project_dir / ".local-pg"
    console.print(f"Using the local PostgreSQL in {data_dir} (started if needed; it keeps running, see README).")
    server = local_pg.start(data_dir, keep_running=True)
    os.environ.update(local_pg.connection_env(server))


def run_pipeline(
    target: str,
    paths: Paths,
    scale_factor: float,
    days: int,
    seed: int,
    console: Console,
    dirty: bool = False,
    docs: bool = True,
) -> RunSummary:
    """Generate, load, build, publish, document (unless `docs` is off); every run lands in audit.run_history."""
    summary = RunSummary()
    # One run at a time per warehouse: two interleaved runs would mix one day's load into another's build.
    with warehouse_lock(target, paths):
        record = RunRecord(target, utc_now(), stage_seconds=summary.stage_seconds)
        try:
            _run_stages(target, paths, scale_factor, days, seed, console, dirty, docs, summary, record)
        except Exception as error:
            _record_run(target, paths, record, str(error), console)
            raise
        _record_run(target, paths, record, None, console)
    return summary


def _run_stages(
    target: str,
    paths: Paths,
    scale_factor: float,
    days: int,
    seed: int,
    console: Console,
    dirty: bool,
    docs: bool,
    summary: RunSummary,
    record: RunRecord,
) -> None:
    started = time.perf_counter()
    with console.status(f"Generating what is missing: export at scale factor {scale_factor:g}, {days} day(s)"):
        summary.landed = generate_all(paths.landing_dir, scale_factor, days, seed, dirty)
    summary.stage_seconds["generate"] = time.perf_counter() - started

    replay = replay_state(target, paths)
    if replay is not None and replay[2] == "requested":
        raise EltError(
            f"a replay from {replay[1]} was interrupted before its batches were unloaded. Run "
            f"`{replay_command(replay[1], replay[3])}` again to finish it, then `elt run`."
        )

    def build() -> None:
        nonlocal replay
        # After a replay the incremental models still hold the unloaded batches' rows: the
        # first build rebuilds them from raw.
        refresh = ["--full-refresh"] if replay is not None else []
        try:
            with console.status("dbt build") as building:
                summary.builds.append(
                    run_dbt(
                        paths.project_dir,
                        target,
                        "build",
                        *PRODUCTION_BUILD_ARGS,
                        *refresh,
                        keep_results_as=BUILD_RESULTS,
                        progress=lambda done: building.update(f"dbt build: {done}"),
                    )
                )
        finally:
            record.add_build(dbt_target_dir(paths.project_dir) / BUILD_RESULTS)
        if replay is not None:
            finish_replay(target, paths, replay[0])
            replay = None

    started = time.perf_counter()
    try:
        with console.status("Loading") as progress:
            try:
                summary.batches = load_pending(target, paths, report=progress.update)
            except LoadError as error:
                summary.batches = error.results  # other sources' batches loaded beside the failed one
                raise
            finally:
                counted = ("loaded", "failed")
                record.batches += [_batch_counts(batch) for batch in summary.batches if batch.status in counted]
        loaded = [batch for batch in summary.batches if batch.status == "loaded"]
        for batch in loaded:
            console.print(f"Loaded [bold]{batch.batch_id}[/]: {batch.rows_loaded:,} rows")
        # Always built, even with nothing new: the models may have changed, or the last run
        # stopped after loading and before its build.
        console.print(f"Running dbt build over {len(loaded)} new batch(es)" if loaded else "Running dbt build")
        inputs = build_inputs(target, paths)
        build()
    except EltError as error:
        raise EltError(
            f"{error} Nothing was published: consumers still see the last good version of the marts "
            "(`elt status` shows which). Fix the cause and run `elt run` again."
        ) from error
    summary.stage_seconds["load + build"] = time.perf_counter() - started

    # Write-audit-publish: reached only when every build above passed its tests.
    started = time.perf_counter()
    live_before = live_version(target, paths)
    outcome = publish_marts(paths.project_dir, target, inputs=inputs)
    record.published_version = live_version(target, paths)
    summary.published = record.published_version != live_before
    if not summary.published:
        # On hold since a rollback, or the builds already live: the operation says which.
        console.print(f"[yellow]{outcome}[/]")
    summary.stage_seconds["publish"] = time.perf_counter() - started

    if docs:
        started = time.perf_counter()
        console.print("Generating the docs site")
        with console.status("dbt docs generate"):
            run_dbt(paths.project_dir, target, "docs", "generate", "--static")
        summary.stage_seconds["docs"] = time.perf_counter() - started
        started = time.perf_counter()
        try:
            with console.status("Drawing the dashboards"):
                summary.dashboards = build_dashboards(target, paths)
        except (EltError, duckdb.Error, psycopg.Error) as error:
            # Published is published: the run stands, and says what to run once the cause is fixed.
            console.print(
                f"[yellow]warning:[/] the dashboards were not drawn ({error}); "
                f"`elt dashboards --target {target}` draws them."
            )
        summary.stage_seconds["dashboards"] = time.perf_counter() - started
    save_state(paths)


# What a build of the marts is made from, besides raw: the project's own files.
BUILD_CODE = ("dbt_project.yml", "models", "macros", "seeds", "snapshots")


def build_inputs(target: str, paths: Paths) -> str:
    """A hash of what the next build is made from: every loaded batch's content and the project's code.

    Taken under the warehouse lock, right before the build, so no load can come between. Two
    builds from equal inputs have equal rows (history and facts are derived from raw, decision
    0022), so the publication makes no new version for the second one (decision 0023)."""
    digest = hashlib.sha256(f"{target}\n".encode())
    with open_warehouse(target, paths) as warehouse:
        ledger = warehouse.query(
            f"select batch_id, entity, content_sha256, rows_loaded from {LEDGER_TABLE} order by batch_id, entity"
        )
    for row in ledger:
        digest.update(("|".join(str(value) for value in row) + "\n").encode())
    for name in BUILD_CODE:
        root = paths.project_dir / name
        files = [root] if root.is_file() else sorted(path for path in root.rglob("*") if path.is_file())
        for path in files:
            digest.update(f"{path.relative_to(paths.project_dir)}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _batch_counts(batch: BatchResult) -> tuple[str, int, int, int]:
    rows_in = sum(item.rows_in for item in batch.entities)
    return (batch.status, rows_in, batch.rows_loaded, batch.rows_quarantined)


def live_version(target: str, paths: Paths) -> int | None:
    with open_warehouse(target, paths) as warehouse:
        live = [row[0] for row in published_versions(warehouse) if row[2] == "live"]
    return live[0] if live else None


def _record_run(target: str, paths: Paths, record: RunRecord, error: str | None, console: Console) -> None:
    try:
        with open_warehouse(target, paths) as warehouse:
            write_run(warehouse, record, utc_now(), error)
    except (EltError, duckdb.Error, psycopg.Error) as failure:
        # The run's own outcome matters more than its record: say so, and let the run's result stand.
        console.print(f"[yellow]warning:[/] the run could not be recorded in audit.run_history: {failure}")
