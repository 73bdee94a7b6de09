"""A batch's manifest: what the extract promises, so the loader can check it before loading.

landing/<batch_id>/manifest.json lists each file with its entity, row count and sha256.
The manifest is written last and atomically, so a directory without one is an extract
still being written (or one that crashed) and is never loaded.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from elt.entities import ENTITIES_BY_NAME
from elt.errors import EltError

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
BATCH_ID_PATTERN = re.compile(r"^[0-9]{8}-[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class ManifestFile:
    entity: str
    path: str
    rows: int
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Manifest:
    batch_id: str
    batch_kind: str
    business_date: date
    schema_version: int
    scale_factor: float
    generator: str
    files: tuple[ManifestFile, ...]
    # A corrected re-delivery names the batch it stands in for; that one is then never loaded.
    replaces: str | None = None

    @property
    def content_sha256(self) -> str:
        """One checksum over every file: the same delivery under another name has the same one."""
        digest = hashlib.sha256()
        for item in sorted(self.files, key=lambda f: f.entity):
            digest.update(f"{item.entity}:{item.sha256}\n".encode())
        return digest.hexdigest()

    def to_json(self) -> str:
        document = asdict(self)
        document["business_date"] = self.business_date.isoformat()
        document["files"] = [asdict(item) for item in self.files]
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_file(batch_dir: Path, entity: str, file_name: str) -> ManifestFile:
    path = batch_dir / file_name
    rows = pq.ParquetFile(path).metadata.num_rows
    return ManifestFile(entity, file_name, rows, sha256_of(path), path.stat().st_size)


def write_manifest(batch_dir: Path, manifest: Manifest) -> Path:
    target = batch_dir / MANIFEST_NAME
    partial = batch_dir / f".{MANIFEST_NAME}.partial"
    partial.write_text(manifest.to_json())
    partial.replace(target)
    return target


def read_manifest(batch_dir: Path) -> Manifest:
    path = batch_dir / MANIFEST_NAME
    where = f"{path}"
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise EltError(f"{where}: no manifest; the extract is incomplete. Re-run `elt generate`.") from error
    except json.JSONDecodeError as error:
        raise EltError(f"{where}: not valid JSON ({error}). Ask for the batch to be re-delivered.") from error
    try:
        files = tuple(ManifestFile(**item) for item in document["files"])
        manifest = Manifest(
            batch_id=document["batch_id"],
            batch_kind=document["batch_kind"],
            business_date=date.fromisoformat(document["business_date"]),
            schema_version=int(document["schema_version"]),
            scale_factor=float(document["scale_factor"]),
            generator=document["generator"],
            files=files,
            replaces=document.get("replaces"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise EltError(f"{where}: malformed manifest ({error!r}). Ask for the batch to be re-delivered.") from error
    _check_identifiers(manifest, where)
    return manifest


def _check_identifiers(manifest: Manifest, where: str) -> None:
    """Names from files end up in SQL and paths, so they must match what we expect exactly."""
    if not BATCH_ID_PATTERN.match(manifest.batch_id):
        raise EltError(f"{where}: batch_id {manifest.batch_id!r} is not of the form YYYYMMDD-<kind>.")
    if manifest.replaces is not None and not BATCH_ID_PATTERN.match(str(manifest.replaces)):
        raise EltError(f"{where}: replaces {manifest.replaces!r} is not a batch id (YYYYMMDD-<kind>).")
    if manifest.schema_version != SCHEMA_VERSION:
        raise EltError(
            f"{where}: schema_version {manifest.schema_version}, this loader reads {SCHEMA_VERSION}. "
            "Upgrade the loader or ask for an extract in the supported version."
        )
    for item in manifest.files:
        entity = ENTITIES_BY_NAME.get(item.entity)
        if entity is None:
            raise EltError(f"{where}: unknown entity {item.entity!r}; expected one of {sorted(ENTITIES_BY_NAME)}.")
        if item.path != entity.file_name:
            raise EltError(f"{where}: entity {item.entity!r} must be in {entity.file_name!r}, not {item.path!r}.")


def verify_files(batch_dir: Path, manifest: Manifest) -> None:
    """Check every file against the manifest before the warehouse is touched."""
    for item in manifest.files:
        path = batch_dir / item.path
        if not path.is_file():
            raise EltError(f"{path}: listed in the manifest but missing. Ask for the batch to be re-delivered.")
        actual_sha = sha256_of(path)
        if actual_sha != item.sha256:
            raise EltError(
                f"{path}: sha256 is {actual_sha[:12]}..., the manifest says {item.sha256[:12]}...; "
                "the file is corrupt or truncated. Ask for the batch to be re-delivered."
            )
        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except Exception as error:  # pyarrow raises several types for unreadable files
            raise EltError(f"{path}: not a readable parquet file ({error}).") from error
        if rows != item.rows:
            raise EltError(f"{path}: holds {rows} rows, the manifest says {item.rows}. Ask for a re-delivery.")


def list_batches(landing_dir: Path) -> list[Path]:
    """Complete batches (those with a manifest) in business-date order; the id starts with the date."""
    if not landing_dir.is_dir():
        return []
    return sorted(path.parent for path in landing_dir.glob(f"*/{MANIFEST_NAME}"))
