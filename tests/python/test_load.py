"""The loader on each engine: a bad delivery fails clearly and writes nothing; bad rows are quarantined."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import Workspace


def land_variant(workspace: Workspace, batch_id: str, change: Callable[[Path], None], reseal: bool = True) -> Path:
    """Copy the shared export into this workspace's own landing area as `batch_id`, altered by `change`.

    With reseal, the manifest is rewritten to match the altered files (a well-formed delivery of
    bad content); without it the manifest keeps the original checksums (a corrupted delivery).
    """
    source = next(path for path in workspace.landing_dir.iterdir() if path.name.endswith("-export"))
    own_landing = workspace.root / "landing"
    target = own_landing / batch_id
    shutil.copytree(source, target)
    workspace.env["ELT_LANDING_DIR"] = str(own_landing)
    change(target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["batch_id"] = batch_id
    if reseal:
        for item in manifest["files"]:
            path = target / item["path"]
            item["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
            item["rows"] = pq.read_metadata(path).num_rows
            item["bytes"] = path.stat().st_size
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def rewrite(path: Path, edit: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(edit(pq.read_table(path)), path)


def nothing_loaded(query) -> bool:
    return query("select count(*) from audit.load_batches") == [(0,)] and query(
        "select count(*) from raw.erp_orders"
    ) == [(0,)]


def test_corrupt_file_fails_the_batch_and_writes_nothing(engine) -> None:
    target, workspace, query = engine

    def truncate_orders(batch_dir: Path) -> None:
        path = batch_dir / "orders.parquet"
        path.write_bytes(path.read_bytes()[:-1000])

    land_variant(workspace, "19980802-export", truncate_orders, reseal=False)
    result = workspace.elt("load", "--target", target, check=False)
    assert result.returncode == 1
    assert "orders.parquet" in result.stderr and "sha256" in result.stderr and "re-delivered" in result.stderr
    assert "Traceback" not in result.stderr
    assert nothing_loaded(query)


def test_missing_required_column_is_a_breaking_change(engine) -> None:
    target, workspace, query = engine

    def drop_order_date(batch_dir: Path) -> None:
        rewrite(batch_dir / "orders.parquet", lambda table: table.drop_columns(["o_orderdate"]))

    land_variant(workspace, "19980802-export", drop_order_date)
    result = workspace.elt("load", "--target", target, check=False)
    assert result.returncode == 1
    assert "breaking schema change" in result.stderr and "o_orderdate" in result.stderr
    assert nothing_loaded(query)


def test_rows_breaking_the_contract_are_quarantined_with_reasons(engine) -> None:
    target, workspace, query = engine

    def spoil_two_lines(batch_dir: Path) -> None:
        def edit(table: pa.Table) -> pa.Table:
            keys = table.column("l_orderkey").to_pylist()
            quantities = table.column("l_quantity").to_pylist()
            keys[2] = None
            quantities[4] = Decimal("-3.00")
            table = table.set_column(0, "l_orderkey", pa.array(keys, pa.int64()))
            index = table.schema.get_field_index("l_quantity")
            return table.set_column(index, "l_quantity", pa.array(quantities, table.schema.field(index).type))

        rewrite(batch_dir / "order_lines.parquet", edit)

    batch_dir = land_variant(workspace, "19980802-export", spoil_two_lines)
    rows_in = pq.read_metadata(batch_dir / "order_lines.parquet").num_rows
    workspace.elt("load", "--target", target)

    ledger = query("select rows_in, rows_loaded, rows_quarantined from audit.load_batches where entity = 'order_lines'")
    assert ledger == [(rows_in, rows_in - 2, 2)]
    assert query("select count(*) from raw.erp_order_lines") == [(rows_in - 2,)]
    quarantined = query("select source_row, reasons from audit.quarantine where entity = 'order_lines' order by 1")
    assert quarantined == [(3, "l_orderkey: missing"), (5, "l_quantity: must be positive")]
