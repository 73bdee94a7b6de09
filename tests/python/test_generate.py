"""The initial export: TPC-H cardinalities, a truthful manifest, same arguments give the same bytes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import TEST_SCALE_FACTOR, make_workspace
from expected import distinct_count, parquet_rows

# Row counts the TPC-H specification fixes per unit of scale factor (clause 4.2.5).
SPEC_ROWS_PER_SF = {"customers": 150_000, "orders": 1_500_000, "parts": 200_000, "suppliers": 10_000}


def test_export_has_tpch_cardinalities_and_a_truthful_manifest(landed_export: Path) -> None:
    # What `elt generate` lands first: the ERP's export, and on the same day finance's targets
    # and the carrier's backfill of tracking events.
    landed = sorted(path.name for path in landed_export.iterdir() if path.is_dir() and not path.name.startswith("."))
    (batch_dir,) = [landed_export / name for name in landed if name.endswith("-export")]
    assert landed == sorted(batch_dir.name.replace("-export", f"-{kind}") for kind in ("export", "finance", "carrier"))
    manifest = json.loads((batch_dir / "manifest.json").read_text())
    scale_factor = float(TEST_SCALE_FACTOR)

    assert manifest["batch_kind"] == "export"
    assert batch_dir.name == manifest["batch_id"] == manifest["business_date"].replace("-", "") + "-export"
    rows = {item["entity"]: item["rows"] for item in manifest["files"]}
    for entity, per_sf in SPEC_ROWS_PER_SF.items():
        assert rows[entity] == round(per_sf * scale_factor), entity
    assert rows["part_suppliers"] == 4 * rows["parts"]
    assert rows["nations"] == 25 and rows["regions"] == 5
    # Each order has 1 to 7 lines, so lines fall between the two bounds.
    assert rows["orders"] < rows["order_lines"] < 7 * rows["orders"]
    assert distinct_count(batch_dir / "order_lines.parquet", "l_orderkey") == rows["orders"]

    for item in manifest["files"]:
        path = batch_dir / item["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == item["sha256"]
        assert parquet_rows(path) == item["rows"]
        assert path.stat().st_size == item["bytes"]


def test_same_arguments_give_the_same_bytes(tmp_path: Path, landed_export: Path) -> None:
    again = make_workspace(tmp_path)
    again.elt("generate", "--scale-factor", TEST_SCALE_FACTOR)
    first = {path.relative_to(landed_export): path.read_bytes() for path in landed_export.rglob("*") if path.is_file()}
    second = {
        path.relative_to(again.landing_dir): path.read_bytes()
        for path in again.landing_dir.rglob("*")
        if path.is_file()
    }
    assert first.keys() == second.keys()
    assert first == second


def test_generate_is_idempotent_and_refuses_a_different_scale_factor(tmp_path: Path, landed_export: Path) -> None:
    workspace = make_workspace(tmp_path, landing_dir=landed_export)
    before = sorted(path.stat().st_mtime_ns for path in landed_export.rglob("*"))

    repeat = workspace.elt("generate", "--scale-factor", TEST_SCALE_FACTOR)
    assert "already landed" in repeat.stdout and "generated" not in repeat.stdout

    clash = workspace.elt("generate", "--scale-factor", "0.02", check=False)
    assert clash.returncode == 1
    assert "scale factor 0.01" in clash.stderr and "--scale-factor 0.01" in clash.stderr
    assert "Traceback" not in clash.stderr
    assert sorted(path.stat().st_mtime_ns for path in landed_export.rglob("*")) == before
