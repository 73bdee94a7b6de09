"""The warehouse as Dagster assets: what the team schedules, watches and reruns from Dagster's UI.

`make dagster` serves these definitions on http://127.0.0.1:3000 (docs/orchestration.md). The
asset graph is the pipeline `elt run` runs, one asset per step, on the same code:

  landing/<source>  each source's landed batches (the simulated extracts: elt.generate)
  <source>/<table>  its raw tables, loaded exactly once (elt.load), one step per source
  the dbt models    dagster-dbt, from dbt's manifest; each dbt test is an asset check
  marts/<mart>      the published views consumers read (write-audit-publish, elt.dbt.publish_marts)
  dbt_docs          the docs site (dbt docs generate --static)
  dashboards        the stakeholder dashboards (elt.dashboards)

Jobs, a schedule and a sensor:
- `daily_warehouse`: the whole graph, each morning at 06:00 UTC (schedule daily_warehouse_schedule):
  the extracts land the next day, and the rest follows;
- `load_and_publish`: everything after landing, launched by the sensor new_landing_batches when
  landed batches are not loaded yet (a delivery arrived, or an earlier run stopped before loading).

Retries are safe because every step is idempotent: the extracts write only batches not yet
landed, the loader loads a batch's content once however often it is asked, the build derives
everything from raw (decision 0022), the publication publishes only what was audited and
makes no new version from the same inputs (decision 0023), and docs and dashboards are redrawn.
Each step that changes the warehouse holds the warehouse lock (decision 0025), so a step and
an `elt` command from a shell never interleave; Dagster runs one run at a time (dagster.yaml).

Configuration is the environment `elt` reads (settings.py): DBT_TARGET picks the target (dev,
the embedded DuckDB file, by default), ELT_LANDING_DIR, WAREHOUSE_DUCKDB_PATH, DBT_TARGET_PATH.
"""

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetSpec,
    Backoff,
    Config,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    in_process_executor,
    multi_asset,
    sensor,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets, get_asset_key_for_model

from elt.dashboards import build_dashboards
from elt.dbt import PRODUCTION_BUILD_ARGS, dbt_target_dir, publish_marts, run_dbt
from elt.errors import EltError
from elt.generate.daily import DAILY_KIND
from elt.generate.export import find_export, generate_all
from elt.generate.manifest import list_batches, read_manifest
from elt.load.ddl import LEDGER_TABLE
from elt.load.loader import LoadError, load_pending, open_warehouse
from elt.locking import reading_warehouse, warehouse_lock
from elt.run import build_inputs, ensure_local_postgres, live_version
from elt.settings import Paths
from elt.sources import ERP, sources
from elt.targets import target_config

TARGET = os.environ.get("DBT_TARGET", "dev")
PATHS = Paths.resolve()
PROJECT_DIR = PATHS.project_dir
# The engine, as the asset graph labels each warehouse asset: duckdb or postgres.
TARGET_KIND = target_config(PROJECT_DIR, TARGET)["type"]
# What the dbt project is parsed from: a newer file than the manifest means parse again.
DBT_PROJECT_FILES = ("dbt_project.yml", "models", "macros", "seeds", "snapshots", "tests/dbt")
# A failed step is tried again after a minute, then after two: long enough for a lock held by a
# shell command, or a restarting server, to clear. A failed dbt test fails again, so it stops there.
RETRY = RetryPolicy(max_retries=2, delay=60, backoff=Backoff.EXPONENTIAL)
WAREHOUSE_GROUP = "raw"
LANDING_GROUP = "landing"


def _prepared_target() -> None:
    if TARGET == "pg":
        # As `elt run --target pg` does: PGHOST names the server, or the project's own local one starts.
        from rich.console import Console

        ensure_local_postgres(PATHS, Console(stderr=True))


def _manifest() -> Path:
    """dbt's manifest of the project as it is now: parsed again when a project file is newer."""
    manifest = dbt_target_dir(PROJECT_DIR) / "manifest.json"
    parsed_at = manifest.stat().st_mtime if manifest.is_file() else 0.0
    files = (PROJECT_DIR / name for name in DBT_PROJECT_FILES)
    newest = max(
        (path.stat().st_mtime for root in files for path in ([root] if root.is_file() else root.rglob("*"))),
        default=0.0,
    )
    if newest > parsed_at:
        _prepared_target()
        run_dbt(PROJECT_DIR, TARGET, "parse")
    return manifest


DBT_MANIFEST = _manifest()


# --- landing: the extracts -------------------------------------------------------------


class ExtractConfig(Config):
    """How the simulated extracts land the next days (what `elt generate` is told)."""

    # Days to land after the last one landed; the daily schedule lands one.
    new_days: int = 1
    # Used only when nothing is landed yet: a landed export keeps its own scale factor.
    scale_factor: float = float(os.environ.get("ELT_SCALE_FACTOR", "0.1"))
    seed: int = 1
    dirty: bool = False


def _landing_key(source_name: str) -> AssetKey:
    return AssetKey(["landing", source_name])


def _landed_days(landing_dir: Path) -> int:
    """The ERP's daily batches landed so far (the other sources' deliveries follow its days)."""
    manifests = (read_manifest(path) for path in list_batches(landing_dir))
    return sum(1 for manifest in manifests if manifest.source == ERP and manifest.batch_kind == DAILY_KIND)


@multi_asset(
    specs=[
        AssetSpec(
            _landing_key(item.name),
            description=f"The {item.name} source's batches, landed in the landing directory under its contract.",
            group_name=LANDING_GROUP,
            kinds={"python"},
        )
        for item in sources(PROJECT_DIR)
    ],
    retry_policy=RETRY,
    description="The extracts: land the next day of every source (the ERP's batch first; the others follow it).",
)
def extracts(context: AssetExecutionContext, config: ExtractConfig) -> Iterator[MaterializeResult]:
    export = find_export(PATHS.landing_dir)
    scale_factor = export.scale_factor if export is not None else config.scale_factor
    days = _landed_days(PATHS.landing_dir) + config.new_days
    landed = generate_all(PATHS.landing_dir, scale_factor, days, config.seed, config.dirty)
    for item in sources(PROJECT_DIR):
        batches = [manifest for manifest, _ in landed if manifest.source == item.name]
        new = [manifest.batch_id for manifest, written in landed if written and manifest.source == item.name]
        context.log.info(f"{item.name}: {len(new)} new batch(es) landed: {', '.join(new) or 'none'}")
        yield MaterializeResult(
            asset_key=_landing_key(item.name),
            metadata={
                "new_batches": MetadataValue.int(len(new)),
                "landed_batches": MetadataValue.int(len(batches)),
                "latest_batch": MetadataValue.text(batches[-1].batch_id if batches else ""),
            },
        )


# --- raw: the loader, one step per source ------------------------------------------------


def _load_step(source_name: str, tables: list[str]):
    @multi_asset(
        name=f"load_{source_name}",
        specs=[
            AssetSpec(
                AssetKey([source_name, table]),
                deps=[_landing_key(source_name)],
                description=f"raw.{table}: every row the {source_name} source delivered, with its batch.",
                group_name=WAREHOUSE_GROUP,
                kinds={"python", TARGET_KIND},
            )
            for table in tables
        ],
        retry_policy=RETRY,
        description=f"Load the {source_name} source's pending batches into raw, each exactly once (elt load).",
    )
    def load(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        _prepared_target()
        with warehouse_lock(TARGET, PATHS):
            try:
                results = load_pending(TARGET, PATHS, report=context.log.debug, only_source=source_name)
            except LoadError as error:
                # Nothing half-written: the failed batch is recorded, the others are loaded.
                raise EltError(f"{error} (`elt status` lists the batches; docs/runbooks/ say what to do)") from error
        loaded = [result for result in results if result.status == "loaded"]
        rows = dict.fromkeys(tables, 0)
        quarantined = dict.fromkeys(tables, 0)
        for result in loaded:
            for staged in result.entities:
                rows[staged.entity.raw_table] += staged.rows_valid
                quarantined[staged.entity.raw_table] += staged.rows_invalid
        context.log.info(f"{source_name}: {len(loaded)} batch(es) loaded")
        for table in tables:
            yield MaterializeResult(
                asset_key=AssetKey([source_name, table]),
                metadata={
                    "batches_loaded": MetadataValue.int(len(loaded)),
                    "rows_loaded": MetadataValue.int(rows[table]),
                    "rows_quarantined": MetadataValue.int(quarantined[table]),
                },
            )

    return load


load_steps = [_load_step(item.name, [entity.raw_table for entity in item.entities]) for item in sources(PROJECT_DIR)]


# --- the dbt build -------------------------------------------------------------------------


def _build_inputs_file(run_id: str) -> Path:
    """Where a run's build leaves the hash of what it was built from, for the run's publication."""
    return PATHS.state_dir / "dagster-runs" / f"{run_id}.build-inputs"


class LayerGroups(DagsterDbtTranslator):
    """dbt's nodes grouped by layer in the asset graph (staging, intermediate, marts, snapshots, seeds)."""

    def get_group_name(self, dbt_resource_props) -> str:
        if dbt_resource_props["resource_type"] == "model":
            return dbt_resource_props["fqn"][1]
        return f"{dbt_resource_props['resource_type']}s"


@dbt_assets(
    manifest=DBT_MANIFEST,
    dagster_dbt_translator=LayerGroups(),
    retry_policy=RetryPolicy(max_retries=1, delay=60),
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
    """Every dbt model, snapshot and seed, built and tested in one `dbt build` (its tests are asset checks)."""
    _prepared_target()
    with warehouse_lock(TARGET, PATHS):
        # Taken under the lock, right before the build, as `elt run` does (elt.run.build_inputs).
        inputs = build_inputs(TARGET, PATHS)
        yield from dbt.cli(
            ["build", *PRODUCTION_BUILD_ARGS], context=context, target_path=dbt_target_dir(PROJECT_DIR)
        ).stream()
    recorded = _build_inputs_file(context.run_id)
    recorded.parent.mkdir(parents=True, exist_ok=True)
    recorded.write_text(inputs)


def _published_marts() -> list[str]:
    import json

    nodes = json.loads(DBT_MANIFEST.read_text())["nodes"].values()
    return sorted(node["name"] for node in nodes if node["resource_type"] == "model" and node["fqn"][1] == "marts")


PUBLISHED = _published_marts()


@multi_asset(
    specs=[
        AssetSpec(
            AssetKey(["marts", name]),
            deps=[get_asset_key_for_model([dbt_models], name)],
            description=f"marts.{name}: the published view of {name} that consumers query.",
            group_name="published",
            kinds={TARGET_KIND},
        )
        for name in PUBLISHED
    ],
    retry_policy=RETRY,
    description="Publish the audited marts as a new version, made live in one transaction (elt publish).",
)
def publication(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
    _prepared_target()
    recorded = _build_inputs_file(context.run_id)
    # A build in this run says what it was built from; published alone, the builds decide.
    inputs = recorded.read_text() if recorded.is_file() else None
    with warehouse_lock(TARGET, PATHS):
        before = live_version(TARGET, PATHS)
        outcome = publish_marts(PROJECT_DIR, TARGET, inputs=inputs)
        live = live_version(TARGET, PATHS)
    recorded.unlink(missing_ok=True)
    context.log.info(outcome or f"version {live} is live")
    for name in PUBLISHED:
        yield MaterializeResult(
            asset_key=AssetKey(["marts", name]),
            metadata={
                "live_version": MetadataValue.int(live or 0),
                "new_version": MetadataValue.bool(live != before),
                "outcome": MetadataValue.text(outcome),
            },
        )


PUBLISHED_KEYS = [AssetKey(["marts", name]) for name in PUBLISHED]


@asset(
    deps=PUBLISHED_KEYS,
    group_name="published",
    retry_policy=RETRY,
    kinds={"dbt"},
    description="The dbt docs site (target/index.html and the one-file static_index.html), of the live build.",
)
def dbt_docs() -> MaterializeResult:
    _prepared_target()
    run_dbt(PROJECT_DIR, TARGET, "docs", "generate", "--static")
    site = dbt_target_dir(PROJECT_DIR) / "static_index.html"
    return MaterializeResult(metadata={"static_index": MetadataValue.path(str(site))})


@asset(
    deps=[*PUBLISHED_KEYS, dbt_docs],
    group_name="published",
    retry_policy=RETRY,
    kinds={"plotly"},
    description="The stakeholder dashboards, drawn from the live published marts (elt dashboards).",
)
def dashboards() -> MaterializeResult:
    _prepared_target()
    index = build_dashboards(TARGET, PATHS)
    if index is None:
        raise EltError("nothing is published, so there are no dashboards to draw; the publication step says why.")
    live = MetadataValue.int(live_version(TARGET, PATHS))
    return MaterializeResult(metadata={"index": MetadataValue.path(str(index)), "live_version": live})


# --- jobs, schedule, sensor ------------------------------------------------------------------

daily_warehouse = define_asset_job(
    "daily_warehouse",
    selection=AssetSelection.all(),
    description="Land the next day of every source, load it, build and test, publish, and redraw docs and dashboards.",
    executor_def=in_process_executor,
    tags={"warehouse": TARGET},
)
load_and_publish = define_asset_job(
    "load_and_publish",
    selection=AssetSelection.all() - AssetSelection.assets(extracts),
    description="Load what is landed and not loaded, build and test, publish, and redraw docs and dashboards.",
    executor_def=in_process_executor,
    tags={"warehouse": TARGET},
)

daily_warehouse_schedule = ScheduleDefinition(
    name="daily_warehouse_schedule",
    job=daily_warehouse,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Each morning at 06:00 UTC, after the sources deliver the day before.",
)


def pending_batches(paths: Paths) -> list[str]:
    """Landed batches the warehouse's ledger does not hold (loaded ones, or failed ones awaiting a fix)."""
    landed = [path.name for path in list_batches(paths.landing_dir)]
    if not landed:
        return []
    with reading_warehouse(TARGET, paths), open_warehouse(TARGET, paths, reads_only=True) as warehouse:
        schema, table = LEDGER_TABLE.split(".")
        found = warehouse.query(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", (schema, table)
        )
        ledger = f"select distinct batch_id from {LEDGER_TABLE}"
        loaded = {row[0] for row in warehouse.query(ledger)} if found[0][0] else set()
    return [batch for batch in landed if batch not in loaded]


@sensor(
    job=load_and_publish,
    minimum_interval_seconds=120,
    default_status=DefaultSensorStatus.RUNNING,
    description="Runs load_and_publish when batches are landed that the warehouse has not loaded.",
)
def new_landing_batches(context: SensorEvaluationContext):
    try:
        pending = pending_batches(PATHS)
    except EltError as busy:
        # A command holds the warehouse; it may be loading these very batches. Look again next tick.
        return SkipReason(str(busy))
    if not pending:
        return SkipReason("every landed batch is loaded")
    # The same pending batches launch one run, however many ticks see them.
    run_key = hashlib.sha256(",".join(pending).encode()).hexdigest()[:16]
    return RunRequest(run_key=run_key, tags={"pending_batches": f"{len(pending)}: {pending[0]} .. {pending[-1]}"})


defs = Definitions(
    assets=[extracts, *load_steps, dbt_models, publication, dbt_docs, dashboards],
    jobs=[daily_warehouse, load_and_publish],
    schedules=[daily_warehouse_schedule],
    sensors=[new_landing_batches],
    resources={
        "dbt": DbtCliResource(
            project_dir=str(PROJECT_DIR),
            profiles_dir=str(PROJECT_DIR),
            target=TARGET,
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        )
    },
)
