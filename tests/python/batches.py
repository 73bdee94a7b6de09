"""Landing a copy of a generated batch, optionally with its content changed and its manifest resealed."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from elt.generate.manifest import describe_file, read_manifest, write_manifest


def erp_batches(landing_dir: Path) -> list[Path]:
    """The ERP's landed batches in load order; the other simulated sources' lie beside them (finance's)."""
    return sorted(
        path.parent
        for path in landing_dir.glob("*/manifest.json")
        if json.loads(path.read_text()).get("source", "erp") == "erp"
    )


# entity name, its table -> the table to land instead
Edit = Callable[[str, pa.Table], pa.Table]


def land_batch(source: Path, landing_dir: Path, edit: Edit | None = None) -> Path:
    """Copy a landed batch into `landing_dir`; with `edit`, rewrite its files and reseal the manifest.

    A resealed manifest makes it a well-formed delivery of different content: what a source
    sends when its data is wrong but its files are fine.
    """
    batch_dir = landing_dir / source.name
    if batch_dir.exists():
        shutil.rmtree(batch_dir)
    shutil.copytree(source, batch_dir)
    if edit is None:
        return batch_dir
    manifest = read_manifest(batch_dir)
    for item in manifest.files:
        path = batch_dir / item.path
        pq.write_table(edit(item.entity, pq.read_table(path)), path)
    files = tuple(describe_file(batch_dir, item.entity, item.path) for item in manifest.files)
    write_manifest(batch_dir, dataclasses.replace(manifest, files=files))
    return batch_dir
