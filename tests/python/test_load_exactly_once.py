"""Exactly once: a redelivered batch is skipped; a second loader, at the same moment, is refused and changes nothing."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import duckdb

import preforked
from conftest import ELT, pg_connect
from elt.faults import PAUSE_AT_VARIABLE, PAUSE_MARKER_VARIABLE, PAUSE_SECONDS_VARIABLE
from elt.locking import POSTGRES_WAREHOUSE_LOCK_KEY
from fingerprints import clean_fingerprint, fingerprint


def test_batch_redelivered_under_a_new_name_is_skipped(engine, landed_days: Path) -> None:
    target, workspace, query = engine
    landing = workspace.root / "landing"
    shutil.copytree(landed_days, landing)
    workspace.env["ELT_LANDING_DIR"] = str(landing)
    workspace.elt("load", "--target", target)
    before = query("select count(*) from raw.erp_order_lines")

    first_daily = sorted(path for path in landing.iterdir() if path.name.endswith("-daily"))[0]
    again = landing / f"{first_daily.name[:8]}-redelivered"
    shutil.copytree(first_daily, again)
    manifest = json.loads((again / "manifest.json").read_text())
    manifest["batch_id"] = again.name
    (again / "manifest.json").write_text(json.dumps(manifest))

    result = workspace.elt("load", "--target", target)
    assert f"{again.name}: same content as {first_daily.name}, already loaded" in result.stdout
    assert query("select count(*) from raw.erp_order_lines") == before
    assert query(f"select count(*) from audit.load_batches where batch_id = '{again.name}'") == [(0,)]


def test_a_second_loader_is_refused_with_a_clear_message_and_nothing_changes(engine) -> None:
    target, workspace, query = engine
    workspace.elt("load", "--target", target)
    before = query("select count(*) from audit.load_batches")

    if target == "dev":
        holder = duckdb.connect(str(workspace.duckdb_path))  # a running load holds the file like this
        expected = "in use by another process"
    else:
        holder = pg_connect(workspace.env, autocommit=True)
        assert holder.execute("select pg_try_advisory_lock(%s)", (POSTGRES_WAREHOUSE_LOCK_KEY,)).fetchone()[0]
        expected = "holds the warehouse lock"
    try:
        result = workspace.elt("load", "--target", target, check=False)
    finally:
        holder.close()
    assert result.returncode == 1
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert query("select count(*) from audit.load_batches") == before


def test_two_loads_at_once_one_is_refused_and_the_data_is_intact(engine, landed_days: Path) -> None:
    """A real second `elt load` while the first is inside its transaction, then compared to a clean load."""
    target, workspace, query = engine
    workspace.env["ELT_LANDING_DIR"] = str(landed_days)
    marker = workspace.root / "first-load-is-writing"
    first = preforked.popen(
        [ELT, "load", "--target", target],
        cwd=workspace.root,
        env={
            **workspace.env,
            PAUSE_AT_VARIABLE: "before-commit",
            PAUSE_SECONDS_VARIABLE: "4",
            PAUSE_MARKER_VARIABLE: str(marker),
        },
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the first load never reached its commit"
        time.sleep(0.05)

    second = workspace.elt("load", "--target", target, check=False)
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert "holds the warehouse lock" in " ".join(second.stderr.split())

    _, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr
    assert fingerprint(query) == clean_fingerprint(workspace, target)
