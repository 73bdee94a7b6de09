"""Load every pending landed batch, in business-date order, exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from elt.entities import ENTITIES_BY_NAME
from elt.errors import EltError
from elt.generate.manifest import list_batches, read_manifest, verify_files
from elt.load.validate import BatchContext, StagedEntity, stage_entity
from elt.load.warehouse import Warehouse, open_duckdb, open_postgres, utc_now
from elt.settings import Paths
from elt.targets import postgres_connection_kwargs, target_config


@dataclass
class BatchResult:
    batch_id: str
    business_date: date
    status: str  # "loaded" or "skipped"
    detail: str = ""
    entities: list[StagedEntity] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_loaded(self) -> int:
        return sum(item.rows_valid for item in self.entities)

    @property
    def rows_quarantined(self) -> int:
        return sum(item.rows_invalid for item in self.entities)


@contextmanager
def open_warehouse(target: str, paths: Paths) -> Iterator[Warehouse]:
    config = target_config(paths.project_dir, target)
    if config["type"] == "duckdb":
        with open_duckdb(paths.duckdb_path) as warehouse:
            yield warehouse
    elif config["type"] == "postgres":
        with open_postgres(postgres_connection_kwargs(config)) as warehouse:
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
    started = time.perf_counter()
    manifest = read_manifest(batch_dir)
    if manifest.content_sha256 in loaded:
        first = loaded[manifest.content_sha256]
        detail = "already loaded" if first == manifest.batch_id else f"same content as {first}, already loaded"
        return BatchResult(manifest.batch_id, manifest.business_date, "skipped", detail)

    report(f"{manifest.batch_id}: verifying checksums and row counts")
    verify_files(batch_dir, manifest)
    started_at = utc_now()
    context = BatchContext(manifest.batch_id, manifest.business_date, "insert", started_at)
    staged = []
    for item in manifest.files:
        report(f"{manifest.batch_id}: validating {item.entity} ({item.rows:,} rows)")
        entity = ENTITIES_BY_NAME[item.entity]
        staged.append(stage_entity(warehouse.stage_connection, batch_dir / item.path, entity, item.sha256, context))
    report(f"{manifest.batch_id}: writing {sum(item.rows_in for item in staged):,} rows in one transaction")
    warehouse.write_batch(manifest, staged, started_at)
    drift = sorted({column for item in staged for column in item.extra_columns})
    detail = f"new columns not in the contract, not loaded: {drift}" if drift else ""
    return BatchResult(
        manifest.batch_id, manifest.business_date, "loaded", detail, staged, time.perf_counter() - started
    )


def load_pending(
    target: str,
    paths: Paths,
    only_batch: str | None = None,
    after_each: Callable[[BatchResult], None] | None = None,
    report: Report = _ignore,
) -> list[BatchResult]:
    """Load pending batches oldest first; `after_each` runs after every batch (elt run builds there)."""
    results = []
    for batch_dir in pending_batch_dirs(paths, only_batch):
        # The warehouse is closed between batches so `after_each` (dbt) can open it.
        with open_warehouse(target, paths) as warehouse:
            result = load_batch(warehouse, batch_dir, warehouse.loaded_batches(), report)
        results.append(result)
        if after_each is not None and result.status == "loaded":
            after_each(result)
    return results
