"""`elt land SOURCE PATH`: seal files a source delivered as a landed batch, manifest and all.

A batch is a directory landing/<batch_id>/ with the files named as the source's contract
names them (<entity>.<format's extension>) and a manifest.json written last
(scripts/elt/landing-manifest.schema.json). This writes both for files a user already has:
it reads each file in its contract's format (so a file the loader could not read is refused
here, before it lands), counts its rows and takes its checksum. Whether the rows meet the
contract is the loader's to say, with quarantine reasons, as for every other batch.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import pyarrow.parquet as pq

from elt.entities import FILE_EXTENSIONS, Entity
from elt.errors import EltError
from elt.generate.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    Manifest,
    ManifestFile,
    read_manifest,
    sha256_of,
    write_manifest,
)
from elt.load.formats import readable_as_parquet
from elt.sources import Source, source

LANDED_KIND = "delivery"
# Same-day batches of one source: <date>-<source>, then -02 ... -99, which sort in landing order.
MAX_SAME_DAY = 99


def land_files(
    landing_dir: Path,
    source_name: str,
    files_path: Path,
    business_date: date,
    entity_name: str | None = None,
    replaces: str | None = None,
    batch_kind: str = LANDED_KIND,
    generator: str = "elt land",
) -> Manifest:
    """Copy the files into a new batch directory of `source_name` and seal it; returns its manifest."""
    delivered_by = source(source_name)
    files = _delivered_files(files_path)
    if entity_name is not None and len(files) != 1:
        raise EltError(
            f"--entity names the entity of one file; {files_path} holds {len(files)}. Name each file instead."
        )
    entities = [_entity_of(path, delivered_by, entity_name) for path in files]
    names = [entity.name for entity in entities]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise EltError(f"{files_path}: more than one file for entity(ies) {repeated}; a batch holds one per entity.")
    with TemporaryDirectory(prefix="elt-land-") as scratch:
        rows = [_rows_of(path, entity, Path(scratch)) for path, entity in zip(files, entities, strict=True)]

    batch_dir = _new_batch_dir(landing_dir, business_date, delivered_by.name)
    try:
        listed = []
        for path, entity, count in zip(files, entities, rows, strict=True):
            copied = batch_dir / entity.file_name
            shutil.copyfile(path, copied)
            listed.append(ManifestFile(entity.name, entity.file_name, count, sha256_of(copied), copied.stat().st_size))
        manifest = Manifest(
            batch_id=batch_dir.name,
            batch_kind=batch_kind,
            business_date=business_date,
            schema_version=SCHEMA_VERSION,
            scale_factor=None,
            generator=generator,
            files=tuple(listed),
            replaces=replaces,
            source=delivered_by.name,
        )
        write_manifest(batch_dir, manifest)  # last: until it exists, the directory is no batch
        return read_manifest(batch_dir)  # what the loader will read, checked against the schema
    except BaseException:
        shutil.rmtree(batch_dir, ignore_errors=True)
        raise


def _delivered_files(files_path: Path) -> list[Path]:
    if files_path.is_dir():
        files = sorted(path for path in files_path.iterdir() if path.is_file() and not path.name.startswith("."))
        files = [path for path in files if path.name != MANIFEST_NAME]
    elif files_path.is_file():
        files = [files_path]
    else:
        raise EltError(f"{files_path}: no such file or directory; give the file, or the directory of files, to land.")
    if not files:
        raise EltError(f"{files_path}: holds no file to land.")
    return files


def _entity_of(path: Path, delivered_by: Source, entity_name: str | None) -> Entity:
    """The entity a file holds: the one --entity names, else the one its name is <entity>.<extension> of."""
    extension = FILE_EXTENSIONS[delivered_by.file_format]
    known = sorted(entity.name for entity in delivered_by.entities)
    if entity_name is not None:
        entity = delivered_by.entity(entity_name)
        if entity is None:
            raise EltError(f"--entity {entity_name!r}: source {delivered_by.name} has no such entity (it has {known}).")
    else:
        entity = delivered_by.entity(path.stem) if path.suffix == f".{extension}" else None
        if entity is None:
            raise EltError(
                f"{path}: source {delivered_by.name} delivers {known} as <entity>.{extension}; name the file "
                "after its entity, or land it alone with --entity."
            )
    if path.suffix.lower() != f".{extension}":
        raise EltError(
            f"{path}: source {delivered_by.name}'s contract declares {delivered_by.file_format} files "
            f"(.{extension}); convert the file or correct the contract ({delivered_by.contract_path.name})."
        )
    return entity


def _rows_of(path: Path, entity: Entity, scratch: Path) -> int:
    """Data rows in the file, read as the loader will read it; a file it cannot read is refused now."""
    readable = readable_as_parquet(path, entity, scratch)
    try:
        return pq.ParquetFile(readable).metadata.num_rows
    except Exception as error:  # pyarrow raises several types for unreadable files
        raise EltError(f"{path}: not a readable {entity.file_format} file ({error}); nothing was landed.") from error


def _new_batch_dir(landing_dir: Path, business_date: date, source_name: str) -> Path:
    landing_dir.mkdir(parents=True, exist_ok=True)
    base = f"{business_date:%Y%m%d}-{source_name}"
    for attempt in range(1, MAX_SAME_DAY + 1):
        batch_dir = landing_dir / (base if attempt == 1 else f"{base}-{attempt:02d}")
        try:
            batch_dir.mkdir()
        except FileExistsError:
            continue
        return batch_dir
    raise EltError(f"{landing_dir}: {MAX_SAME_DAY} batches of {source_name} on {business_date} already; land fewer.")
