"""The ERP's initial full export, produced by tpchgen-cli (spec-conformant TPC-H data)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import duckdb

from elt.errors import EltError
from elt.generate.carrier import CARRIER, CarrierFeed
from elt.generate.daily import generate_days
from elt.generate.finance import FINANCE, generate_finance
from elt.generate.manifest import SCHEMA_VERSION, Manifest, describe_file, list_batches, read_manifest, write_manifest
from elt.generate.simulated import TPCH_TABLE_OF, simulated_entities
from elt.sources import sources

EXPORT_KIND = "export"


def _tpchgen_executable() -> str:
    beside_python = Path(sys.executable).parent / "tpchgen-cli"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("tpchgen-cli")
    if found is None:
        raise EltError("tpchgen-cli is not installed; run `make run` (it installs the project) or `pip install -e .`.")
    return found


def find_export(landing_dir: Path) -> Manifest | None:
    for batch_dir in list_batches(landing_dir):
        manifest = read_manifest(batch_dir)
        if manifest.batch_kind == EXPORT_KIND:
            return manifest
    return None


def generate_export(landing_dir: Path, scale_factor: float) -> tuple[Manifest, bool]:
    """Write the initial export unless one exists; returns the manifest and whether it was written now."""
    existing = find_export(landing_dir)
    if existing is not None:
        if existing.scale_factor != scale_factor:
            raise EltError(
                f"{landing_dir} already holds an export at scale factor {existing.scale_factor:g} "
                f"(batch {existing.batch_id}), not {scale_factor:g}. Use --scale-factor {existing.scale_factor:g}, "
                "or delete the landing directory and the warehouse to start over."
            )
        return existing, False

    landing_dir.mkdir(parents=True, exist_ok=True)
    work_dir = landing_dir / ".export-in-progress"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir()
    command = [
        _tpchgen_executable(),
        "parquet",
        f"--scale-factor={scale_factor}",
        f"--output-dir={work_dir}",
        "--no-progress",
        "--quiet",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise EltError(f"tpchgen-cli failed (exit {completed.returncode}): {completed.stderr.strip()[-500:]}")

    entities = simulated_entities()
    for entity in entities:
        (work_dir / f"{TPCH_TABLE_OF[entity.name]}.parquet").rename(work_dir / entity.file_name)

    # The export is as of the last order date in it; daily batches continue from the next day.
    business_date = duckdb.execute(
        "select max(o_orderdate) from read_parquet($path)", {"path": str(work_dir / "orders.parquet")}
    ).fetchone()[0]
    batch_id = f"{business_date:%Y%m%d}-{EXPORT_KIND}"
    manifest = Manifest(
        batch_id=batch_id,
        batch_kind=EXPORT_KIND,
        business_date=business_date,
        schema_version=SCHEMA_VERSION,
        scale_factor=scale_factor,
        generator=f"tpchgen-cli {version('tpchgen-cli')}",
        files=tuple(describe_file(work_dir, entity.name, entity.file_name) for entity in entities),
    )
    final_dir = landing_dir / batch_id
    if final_dir.exists():
        shutil.rmtree(final_dir)
    work_dir.rename(final_dir)
    write_manifest(final_dir, manifest)
    return manifest, True


def generate_all(
    landing_dir: Path, scale_factor: float, days: int, seed: int, dirty: bool = False
) -> list[tuple[Manifest, bool]]:
    """The export, `days` daily batches after it, finance's targets and the carrier's events,
    generating only what is not landed yet.

    The other sources' deliveries are generated when the project declares that source (its
    contract is what they are sealed against); the ERP's always are. The carrier follows
    the ERP's state day by day (its daily simulator's), so it rides along with the days."""
    export, generated = generate_export(landing_dir, scale_factor)
    declared = {item.name for item in sources()}
    carrier = CarrierFeed(landing_dir, export, seed, dirty) if CARRIER in declared else None
    on_day = carrier.advance if carrier else None
    landed = [(export, generated), *generate_days(landing_dir, export, days, seed, dirty, on_day=on_day)]
    if FINANCE in declared:
        landed += generate_finance(landing_dir, export, days, seed, dirty)
    if carrier:
        landed += carrier.results
    return landed
