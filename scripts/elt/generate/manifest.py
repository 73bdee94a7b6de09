"""A batch's manifest: what the extract promises, so the loader can check it before loading.

landing/<batch_id>/manifest.json names the source and lists each file with its entity, row
count and sha256; its format is the JSON schema beside this package
(scripts/elt/landing-manifest.schema.json), which the loader checks first. The manifest is
written last and atomically, so a directory without one is an extract still being written
(or one that crashed) and is never loaded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq

from elt.entities import Entity
from elt.errors import EltError
from elt.load.formats import readable_as_parquet
from elt.sources import ERP, ContractError, source, sources

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
BATCH_ID_PATTERN = re.compile(r"^[0-9]{8}-[a-z0-9][a-z0-9_-]{0,62}$")
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "landing-manifest.schema.json"
SCHEMA_SHOWN = "scripts/elt/landing-manifest.schema.json"


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
    scale_factor: float | None
    generator: str
    files: tuple[ManifestFile, ...]
    # A corrected re-delivery names the batch it stands in for; that one is then never loaded.
    replaces: str | None = None
    source: str = ERP

    @property
    def content_sha256(self) -> str:
        """One checksum over every file: the same delivery under another name has the same one."""
        digest = hashlib.sha256()
        if self.source != ERP:
            # Two sources may deliver equal files; the ERP's checksums stay as the ledger has them.
            digest.update(f"source:{self.source}\n".encode())
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
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise EltError(f"{where}: not valid UTF-8 JSON ({error}). Ask for the batch to be re-delivered.") from error
    version = document.get("schema_version") if isinstance(document, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version != SCHEMA_VERSION:
        raise EltError(
            f"{where}: schema_version {version}, this loader reads {SCHEMA_VERSION}. "
            "Upgrade the loader or ask for an extract in the supported version."
        )
    problem = schema_problem(document)
    if problem is not None:
        raise EltError(
            f"{where}: malformed manifest, {problem} (the format: {SCHEMA_SHOWN}). "
            "Ask for a corrected manifest; nothing was loaded."
        )
    try:
        files = tuple(_manifest_file(item) for item in document["files"])
        scale_factor = document.get("scale_factor")
        manifest = Manifest(
            batch_id=_text(document, "batch_id"),
            batch_kind=_text(document, "batch_kind"),
            business_date=date.fromisoformat(document["business_date"]),
            schema_version=int(document["schema_version"]),
            scale_factor=None if scale_factor is None else float(scale_factor),
            generator=_text(document, "generator"),
            files=files,
            replaces=document.get("replaces"),
            source=document.get("source", ERP),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise EltError(f"{where}: malformed manifest ({error!r}). Ask for the batch to be re-delivered.") from error
    _check_identifiers(manifest, where)
    return manifest


@functools.cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def schema_problem(document: object) -> str | None:
    """What about `document` breaks the landing manifest's JSON schema, in one phrase; None if nothing."""
    error = jsonschema.exceptions.best_match(_schema_validator().iter_errors(document))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "the top level"
    if error.validator in ("pattern", "const") and "description" in error.schema:
        # A regular expression says less to a reader than the field's description does.
        return f"{where} is {error.instance!r}, not as the format describes it: {error.schema['description']}"
    return f"{where}: {error.message}"


def _text(document: dict, key: str) -> str:
    # The manifest's values go into SQL parameters and messages: a wrong type is a malformed manifest.
    value = document[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be text, not {value!r}")
    return value


def _manifest_file(item: dict) -> ManifestFile:
    entry = ManifestFile(**item)
    for key in ("entity", "path", "sha256"):
        _text(item, key)
    for key in ("rows", "bytes"):
        if not isinstance(item[key], int) or isinstance(item[key], bool):
            raise TypeError(f"{key} of {entry.path!r} must be a whole number, not {item[key]!r}")
    return entry


def _check_identifiers(manifest: Manifest, where: str) -> None:
    """Names from files end up in SQL and paths, so they must match what we expect exactly."""
    fix = "Ask for a corrected manifest; nothing was loaded."
    if not BATCH_ID_PATTERN.match(manifest.batch_id):
        raise EltError(f"{where}: batch_id {manifest.batch_id!r} is not of the form YYYYMMDD-<kind>. {fix}")
    if manifest.batch_id[:8] != f"{manifest.business_date:%Y%m%d}":
        # Batches load in the order of their ids, so an id must start with the day it carries.
        raise EltError(
            f"{where}: batch_id {manifest.batch_id!r} does not start with its business_date "
            f"{manifest.business_date.isoformat()}. {fix}"
        )
    if manifest.replaces is not None and not BATCH_ID_PATTERN.match(str(manifest.replaces)):
        raise EltError(f"{where}: replaces {manifest.replaces!r} is not a batch id (YYYYMMDD-<kind>). {fix}")
    if manifest.replaces == manifest.batch_id:
        # Taken at its word, it would be its own corrected delivery: recorded as failed and skipped.
        raise EltError(
            f"{where}: replaces names its own batch ({manifest.batch_id}); a corrected delivery has a batch id of "
            f"its own and names the broken batch in replaces. {fix}"
        )
    if manifest.schema_version != SCHEMA_VERSION:
        raise EltError(
            f"{where}: schema_version {manifest.schema_version}, this loader reads {SCHEMA_VERSION}. "
            "Upgrade the loader or ask for an extract in the supported version."
        )
    if manifest.source not in {known.name for known in sources()}:
        raise EltError(
            f"{where}: source {manifest.source!r} has no landing contract (known: "
            f"{sorted(known.name for known in sources())}). Declare it in models/staging/{manifest.source}/"
            f"_{manifest.source}__sources.yml first (docs/runbooks/add-a-source.md), or ask for a corrected "
            "manifest. Nothing was loaded."
        )
    delivered_by = source(manifest.source)
    for item in manifest.files:
        entity = delivered_by.entity(item.entity)
        if entity is None:
            raise EltError(
                f"{where}: unknown entity {item.entity!r} of source {manifest.source!r}; expected one of "
                f"{sorted(known.name for known in delivered_by.entities)}. A new entity needs a contract in "
                f"models/staging/{manifest.source}/_{manifest.source}__sources.yml first "
                "(docs/runbooks/add-a-source.md); otherwise ask for a corrected delivery. Nothing was loaded."
            )
        if item.path != entity.file_name:
            raise EltError(
                f"{where}: entity {item.entity!r} must be in {entity.file_name!r} ({entity.file_format}, as its "
                f"source's contract declares), not {item.path!r}. "
                "Ask for a corrected delivery; nothing was loaded."
            )


def verify_files(batch_dir: Path, manifest: Manifest, scratch_dir: Path) -> dict[str, Path]:
    """Check every file against the manifest before the warehouse is touched.

    Returns each listed file's readable parquet (itself, or a CSV's or JSON Lines file's rows
    rewritten as text in scratch_dir, elt.load.formats), which the loader validates."""
    listed = {MANIFEST_NAME, *(item.path for item in manifest.files)}
    # A file the manifest does not list would never load: refuse the batch rather than drop it unseen.
    unlisted = sorted(
        path.name for path in batch_dir.iterdir() if path.name not in listed and not path.name.startswith(".")
    )
    if unlisted:
        raise EltError(
            f"{batch_dir}: {unlisted} are in the batch but not in its manifest, so they would not be loaded. "
            "Ask for a corrected delivery that lists every file (or remove what does not belong); nothing was loaded."
        )
    readable: dict[str, Path] = {}
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
        readable[item.path] = readable_as_parquet(path, manifest_entity(manifest, item), scratch_dir)
        try:
            parquet = pq.ParquetFile(readable[item.path])
        except Exception as error:  # pyarrow raises several types for unreadable files
            raise EltError(
                f"{path}: not a readable parquet file ({error}). Ask for the batch to be re-delivered, as parquet."
            ) from error
        names = [name.lower() for name in parquet.schema_arrow.names]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            # DuckDB would read the second copy as a new column `<name>_1` and load it into raw.
            raise EltError(
                f"{path}: column(s) {repeated} appear more than once, so which one holds the data is unclear. "
                "Ask for a corrected delivery; nothing was loaded."
            )
        rows = parquet.metadata.num_rows
        if rows != item.rows:
            raise EltError(f"{path}: holds {rows} rows, the manifest says {item.rows}. Ask for a re-delivery.")
    return readable


def manifest_entity(manifest: Manifest, item: ManifestFile) -> Entity:
    """The contract of a file of a manifest that read_manifest accepted (so source and entity exist)."""
    entity = source(manifest.source).entity(item.entity)
    if entity is None:
        raise ContractError(f"entity {item.entity!r} of source {manifest.source!r} left its contract while loading.")
    return entity


def list_batches(landing_dir: Path) -> list[Path]:
    """Complete batches (those with a manifest) in business-date order; the id starts with the date."""
    if not landing_dir.is_dir():
        return []
    return sorted(path.parent for path in landing_dir.glob(f"*/{MANIFEST_NAME}"))
