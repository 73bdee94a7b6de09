"""Load every pending landed batch, in business-date order per source, exactly once.

Each source's batches load in the order of their business dates, and only that source's
order binds them: a batch of the shop dated years after the ERP's days blocks nothing, and a
broken batch holds back the later batches of its own source alone.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import psycopg

from elt.errors import EltError
from elt.faults import fault_point
from elt.generate.export import EXPORT_KIND
from elt.generate.manifest import (
    MANIFEST_NAME,
    Manifest,
    list_batches,
    manifest_entity,
    read_manifest,
    verify_files,
)
from elt.load.ddl import LEDGER_TABLE
from elt.load.validate import BatchContext, StagedEntity, stage_entity
from elt.load.warehouse import Warehouse, one_line, open_duckdb, open_postgres, utc_now
from elt.locking import holds_warehouse_lock
from elt.settings import Paths
from elt.sources import BUSINESS_DATE_ORDER, ERP, source
from elt.targets import duckdb_settings, loader_connection_kwargs, target_config


@dataclass
class BatchResult:
    batch_id: str
    business_date: date | None
    status: str  # loaded, skipped, superseded, or failed (and replaced by a corrected delivery)
    detail: str = ""
    entities: list[StagedEntity] = field(default_factory=list)
    seconds: float = 0.0
    source: str | None = None  # None: its manifest could not be read

    @property
    def rows_loaded(self) -> int:
        return sum(item.rows_valid for item in self.entities)

    @property
    def rows_quarantined(self) -> int:
        return sum(item.rows_invalid for item in self.entities)


@contextmanager
def open_warehouse(target: str, paths: Paths, reads_only: bool = False) -> Iterator[Warehouse]:
    """The target's warehouse; `reads_only` for a reader that must not wait for a writer (elt status)."""
    config = target_config(paths.project_dir, target)
    if config["type"] == "duckdb":
        with open_duckdb(paths.duckdb_path, duckdb_settings(config)) as warehouse:
            yield warehouse
    elif config["type"] == "postgres":
        with open_postgres(*loader_connection_kwargs(config), reads_only=reads_only) as warehouse:
            yield warehouse
    else:
        raise EltError(f"target {target!r} is of type {config['type']!r}; the loader supports duckdb and postgres.")


def pending_batch_dirs(paths: Paths, only_batch: str | None) -> list[Path]:
    batch_dirs = list_batches(paths.landing_dir)
    if only_batch is not None:
        batch_dirs = [path for path in batch_dirs if path.name == only_batch]
        if not batch_dirs:
            raise EltError(f"no landed batch {only_batch!r} in {paths.landing_dir} (or it has no manifest.json).")
    return batch_dirs


Report = Callable[[str], None]


def _ignore(_: str) -> None:
    pass


def load_batch(warehouse: Warehouse, batch_dir: Path, loaded: dict[str, str], report: Report = _ignore) -> BatchResult:
    """Verify, validate and write one batch; `loaded` maps content checksums to batch ids."""
    # A CSV's or JSON Lines file's rows, rewritten as parquet, are read until the batch is written.
    with tempfile.TemporaryDirectory(prefix=f"elt-{batch_dir.name}-") as scratch:
        return _load_batch(warehouse, batch_dir, loaded, report, Path(scratch))


def _load_batch(
    warehouse: Warehouse, batch_dir: Path, loaded: dict[str, str], report: Report, scratch: Path
) -> BatchResult:
    started = time.perf_counter()
    manifest = read_manifest(batch_dir)
    if manifest.content_sha256 in loaded:
        first = loaded[manifest.content_sha256]
        detail = "already loaded" if first == batch_dir.name else f"same content as {first}, already loaded"
        return BatchResult(batch_dir.name, manifest.business_date, "skipped", detail, source=manifest.source)
    if manifest.batch_id != batch_dir.name:
        # The ledger, the failure log and "replaces" must all mean the same batch by one id.
        raise EltError(
            f"{batch_dir / MANIFEST_NAME}: names batch {manifest.batch_id}, but lies in {batch_dir.name}/. "
            "Ask for a corrected delivery (or move it to a directory named after its batch id); nothing was loaded."
        )
    if manifest.batch_id in loaded.values():
        raise EltError(
            f"{batch_dir}: batch {manifest.batch_id} is already loaded, with other content. A corrected delivery "
            'needs its own batch id and "replaces" in its manifest, or see docs/runbooks/failed-load.md.'
        )
    if manifest.replaces in loaded.values():
        raise EltError(
            f"{batch_dir}: replaces {manifest.replaces}, which is already loaded. Reprocess that batch to correct it "
            "(docs/runbooks/reprocess-a-batch.md); nothing was written."
        )

    check_business_date(warehouse, batch_dir, manifest)
    if source(manifest.source).batch_order == BUSINESS_DATE_ORDER:
        check_in_order(warehouse, batch_dir, manifest)

    report(f"{manifest.batch_id}: verifying checksums and row counts")
    readable = verify_files(batch_dir, manifest, scratch)
    fault_point("after-verify")
    started_at = utc_now()
    context = BatchContext(manifest.batch_id, manifest.business_date, "insert", started_at)
    staged = []
    for item in manifest.files:
        report(f"{manifest.batch_id}: validating {item.entity} ({item.rows:,} rows)")
        staged.append(
            stage_entity(
                warehouse.stage_connection,
                readable[item.path],
                manifest_entity(manifest, item),
                item.sha256,
                context,
                delivered=batch_dir / item.path,
            )
        )
    fault_point("after-stage")
    report(f"{manifest.batch_id}: writing {sum(item.rows_in for item in staged):,} rows in one transaction")
    try:
        warehouse.write_batch(manifest, staged, started_at)
    except (duckdb.Error, psycopg.Error) as error:
        raise EltError(
            f"{batch_dir}: writing to the warehouse failed ({one_line(error)}); the batch was rolled "
            "back and nothing of it is in raw. If the error is about a file's data, ask for the batch to be "
            "re-delivered; otherwise check the warehouse (space, permissions, connection) and load again."
        ) from error
    fault_point("after-commit")
    added = [f"{item.entity.name}.{column.name}" for item in staged for column in item.added_columns]
    detail = f"new column(s) loaded: {', '.join(added)}" if added else ""
    return BatchResult(
        manifest.batch_id,
        manifest.business_date,
        "loaded",
        detail,
        staged,
        time.perf_counter() - started,
        manifest.source,
    )


def check_in_order(warehouse: Warehouse, batch_dir: Path, manifest: Manifest) -> None:
    """Refuse a batch older than its source's newest loaded one: its history would be written out of order."""
    newest = warehouse.query(
        f"select max(business_date) from {LEDGER_TABLE} where source = '{manifest.source}'"  # a checked name
    )[0][0]
    if newest is not None and manifest.business_date < newest:
        raise EltError(
            f"{batch_dir}: business date {manifest.business_date} is older than the newest loaded batch of source "
            f"{manifest.source} ({newest}); loading it now would write its history out of order. To backfill it, "
            f"run `elt replay --source {manifest.source} --from-date {manifest.business_date}` and then `elt run` "
            "(docs/runbooks/backfill.md)."
        )


def check_business_date(warehouse: Warehouse, batch_dir: Path, manifest: Manifest) -> None:
    """Refuse a business date outside [the export's, tomorrow (UTC)] before anything of the batch is written.

    Batches load in business-date order, so one dated in 2099 would make every real day after
    it "older than the newest loaded batch", and one dated before the export would be advised
    to `elt replay` from its date: which unloads every batch. Neither can be a day of the
    feed; the way out is to correct or remove the directory. Tomorrow, not today: a source
    whose day starts ahead of UTC delivers tomorrow's date while the loader's is still today.
    """
    where = f"{batch_dir}: business date {manifest.business_date}"
    # What the advice must say: correcting the date means a new batch id, so a new directory too.
    fix = (
        f"Correct the manifest's business_date and batch_id, and the directory's name, to the day it holds, or "
        f"remove {batch_dir} if it does not belong here; then load again. Nothing of it was loaded."
    )
    latest = datetime.now(UTC).date() + timedelta(days=1)
    if manifest.business_date > latest:
        raise EltError(
            f"{where} is after tomorrow ({latest}, UTC); no extract comes from the future, and once it was "
            f"loaded every real day landed after it would be refused as older. {fix}"
        )
    if manifest.source != ERP:
        return  # the export that starts the history is the ERP's; another source starts with its first batch
    export = export_of(warehouse, batch_dir.parent)
    if export is not None and manifest.business_date < export[1] and manifest.batch_id != export[0]:
        raise EltError(
            f"{where} is before the export's ({export[1]}, batch {export[0]}); the warehouse has no history "
            f"before its export, so this cannot be a change to it. {fix}"
        )


def export_of(warehouse: Warehouse, landing_dir: Path) -> tuple[str, date] | None:
    """(batch id, business date) of the export: the loaded one, else the first landed one, else None."""
    loaded = warehouse.query(
        f"select batch_id, business_date from {LEDGER_TABLE} where batch_kind = '{EXPORT_KIND}' "
        f"and source = '{ERP}' order by business_date, batch_id limit 1"
    )
    if loaded:
        return loaded[0][0], loaded[0][1]
    for batch_dir in list_batches(landing_dir):
        with suppress(EltError):
            manifest = read_manifest(batch_dir)
            if manifest.batch_kind == EXPORT_KIND and manifest.source == ERP:
                return manifest.batch_id, manifest.business_date
    return None


def replacements(batch_dirs: list[Path]) -> dict[str, str]:
    """Batch id -> the id of the landed corrected delivery that replaces it."""
    replaced = {}
    for batch_dir in batch_dirs:
        try:
            manifest = read_manifest(batch_dir)
        except EltError:
            continue  # reported when its own turn to load comes
        if manifest.replaces is not None:
            replaced[manifest.replaces] = manifest.batch_id
    return replaced


class LoadError(EltError):
    """Some source's batch failed; `results` holds what this load did, the other sources' batches included."""

    def __init__(self, message: str, results: list[BatchResult]) -> None:
        super().__init__(message)
        self.results = results


def source_of(batch_dir: Path) -> str | None:
    """The source a landed batch names, or None when its manifest cannot be read (so its source is unknown)."""
    try:
        return read_manifest(batch_dir).source
    except EltError:
        return None


# The warehouse lock, not a lock of the loader's own: `elt run` holds it already, and a
# loader on its own is refused by, and refuses, every other command that changes the warehouse.
@holds_warehouse_lock
def load_pending(
    target: str,
    paths: Paths,
    only_batch: str | None = None,
    after_each: Callable[[BatchResult], None] | None = None,
    report: Report = _ignore,
    only_source: str | None = None,
) -> list[BatchResult]:
    """Load pending batches oldest first; `after_each` runs after every loaded batch.

    `only_source` loads that source's batches alone (the orchestrator loads each source as
    its own step), and any batch whose manifest cannot be read, since it may be that source's.

    A batch that fails holds back the later batches of its source, so that source's history
    stays in order, unless a corrected delivery that replaces it is landed: then the failure
    is recorded and the replacement loads in its place. The other sources' batches load on.
    A batch whose manifest cannot be read names no source, so it holds back every later batch.
    Raises LoadError, after loading what could be, when any batch failed unreplaced.
    """
    batch_dirs = pending_batch_dirs(paths, only_batch)
    if only_source is not None:
        batch_dirs = [path for path in batch_dirs if source_of(path) in (only_source, None)]
    replaced_by = replacements(list_batches(paths.landing_dir))
    results: list[BatchResult] = []
    failures: list[tuple[Path, str | None, str]] = []  # (batch, its source, the one-line message)
    held: dict[str | None, list[Path]] = {}  # failed source -> its later batches, held back
    for batch_dir in batch_dirs:
        batch_source = source_of(batch_dir)
        if None in held or batch_source in held:
            held[None if None in held else batch_source].append(batch_dir)
            continue
        # The warehouse is closed between batches so `after_each` (dbt) can open it.
        with open_warehouse(target, paths) as warehouse:
            loaded = warehouse.loaded_batches()
            replacement = replaced_by.get(batch_dir.name)
            if replacement is not None and replacement in loaded.values():
                results.append(_superseded(batch_dir, f"superseded by {replacement}, which is loaded"))
                continue
            try:
                result = load_batch(warehouse, batch_dir, loaded, report)
            except EltError as error:
                message = one_line(error)
                recorded = _record_failure(warehouse, batch_dir, message)
                if replacement is None:
                    failures.append((batch_dir, batch_source, f"{message} {recorded}"))
                    held[batch_source] = []
                    results.append(
                        BatchResult(batch_dir.name, business_date_of(batch_dir), "failed", "", source=batch_source)
                    )
                    continue
                detail = f"failed: {message} Superseded by {replacement}, loaded next. {recorded}."
                result = BatchResult(batch_dir.name, business_date_of(batch_dir), "failed", detail, source=batch_source)
        results.append(result)
        if after_each is not None and result.status == "loaded":
            after_each(result)
    if failures:
        with open_warehouse(target, paths) as warehouse:
            loaded = warehouse.loaded_batches()
        raise LoadError(_failure_message(failures, held, loaded, replaced_by, results), results)
    return results


def _failure_message(
    failures: list[tuple[Path, str | None, str]],
    held: dict[str | None, list[Path]],
    loaded: dict[str, str],
    replaced_by: dict[str, str],
    results: list[BatchResult],
) -> str:
    """One line: each failed batch, what it holds back, and what still loaded beside it."""
    parts = []
    for batch_dir, batch_source, message in failures:
        waiting = pending_after(held[batch_source], loaded, replaced_by)
        whose = "every source's" if batch_source is None else f"source {batch_source}'s"
        parts.append(
            f"batch {batch_dir.name} failed: {message}"
            + (f"; {waiting} later batch(es) stay pending so {whose} history loads in order." if waiting else ".")
        )
    failed_sources = {batch_source for _, batch_source, _ in failures}
    others = sum(1 for result in results if result.status == "loaded" and result.source not in failed_sources)
    if others and None not in failed_sources:
        parts.append(f"{others} batch(es) of other sources loaded.")
    return " ".join(parts)


def _record_failure(warehouse: Warehouse, batch_dir: Path, message: str) -> str:
    """Keep the failure in audit.load_failures if the warehouse lets us; says, truly, whether it did."""
    try:
        warehouse.record_failure(batch_dir.name, business_date_of(batch_dir), message)
    except (duckdb.Error, psycopg.Error) as error:
        # The warehouse itself failing (its disk full, say) usually stops this record too.
        return (
            f"The failure could not be recorded in audit.load_failures either ({one_line(error)}), so "
            "`elt status` does not show it"
        )
    return "The failure is recorded in audit.load_failures"


def pending_after(later: list[Path], loaded: dict[str, str], replaced_by: dict[str, str]) -> int:
    """How many of the later landed batches are not loaded (nor copies or replaced ones of loaded batches)."""
    waiting = 0
    for batch_dir in later:
        if batch_dir.name in loaded.values() or replaced_by.get(batch_dir.name) in loaded.values():
            continue
        try:
            if read_manifest(batch_dir).content_sha256 in loaded:
                continue
        except EltError:
            pass  # unreadable: not loaded, so it waits like the rest
        waiting += 1
    return waiting


def business_date_of(batch_dir: Path) -> date | None:
    """The business date a batch id starts with (YYYYMMDD-...), if it does."""
    try:
        return date.fromisoformat(batch_dir.name[:8])
    except ValueError:
        return None


def _superseded(batch_dir: Path, detail: str) -> BatchResult:
    return BatchResult(batch_dir.name, business_date_of(batch_dir), "superseded", detail)
