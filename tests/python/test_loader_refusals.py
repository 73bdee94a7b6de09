"""Deliveries and places the loader must refuse with one true line, and the advice in it followed.

A batch dated outside [the export's business date, tomorrow] is refused before any of it is
written, and removing it (what the message says) lets the load go on. A manifest that
replaces itself is an error, not a silent skip. The count of batches that "stay pending"
counts only those not loaded, and "the failure is recorded" is said only when it was. A
landing area that is a symbolic link loop, or a warehouse on a read-only file system, is
one line, not a traceback. And no value depends on the loader's time zone.
"""

from __future__ import annotations

import dataclasses
import resource
import shutil
import signal
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import ELT, Workspace, pg_connect, warehouse_query
from elt.generate.manifest import describe_file, read_manifest, write_manifest

EXPORT = "19980802-export"
DAYS = ("19980803-daily", "19980804-daily", "19980805-daily")
# Wide enough that the CLI's console never wraps a message: a newline in stderr is the message's own.
UNWRAPPED = {"COLUMNS": "100000"}


def own_landing(workspace: Workspace, landed_days: Path, *batch_ids: str) -> Path:
    """A landing area of this test's own, holding copies of the session's batches named."""
    landing = workspace.root / "landing"
    landing.mkdir(exist_ok=True)
    workspace.env["ELT_LANDING_DIR"] = str(landing)
    workspace.env.update(UNWRAPPED)
    for batch_id in batch_ids:
        shutil.copytree(landed_days / batch_id, landing / batch_id)
    return landing


def land_as(source: Path, landing: Path, batch_id: str, *, replaces: str | None = None, sha256: str = "") -> Path:
    """`source`'s files as a batch of another id and business date, its orders' comments changed.

    The change gives it content of its own, so the ledger does not skip it as a copy. With
    `sha256`, the manifest claims that checksum for the orders file: a broken delivery.
    """
    batch_dir = landing / batch_id
    shutil.copytree(source, batch_dir)
    orders = batch_dir / "orders.parquet"
    table = pq.read_table(orders)
    index = table.schema.get_field_index("o_comment")
    table = table.set_column(index, "o_comment", pc.binary_join_element_wise(table["o_comment"], " (again)", ""))
    pq.write_table(table, orders)
    manifest = read_manifest(batch_dir)
    files = tuple(describe_file(batch_dir, item.entity, item.path) for item in manifest.files)
    if sha256:
        files = tuple(dataclasses.replace(item, sha256=sha256) if item.entity == "orders" else item for item in files)
    business_date = date.fromisoformat(batch_id[:8])
    changed = dataclasses.replace(
        manifest, batch_id=batch_id, business_date=business_date, files=files, replaces=replaces
    )
    write_manifest(batch_dir, changed)
    return batch_dir


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error the CLI printed, checked to be one line with no traceback; returned without its prefix."""
    assert result.returncode == 1, (result.stdout[-3000:], result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0].removeprefix("error: ")


def ledger(query) -> set[str]:
    return {row[0] for row in query("select distinct batch_id from audit.load_batches")}


def failures(query, batch_id: str) -> list[str]:
    return [row[0] for row in query(f"select error from audit.load_failures where batch_id = '{batch_id}'")]


def rows_of(query, batch_id: str) -> int:
    return query(f"select count(*) from raw.erp_orders where _batch_id = '{batch_id}'")[0][0]


def utc_today() -> date:
    return datetime.now(UTC).date()


# --- business dates outside [export, tomorrow] -------------------------------------------------


def test_a_batch_dated_after_tomorrow_is_refused_and_removing_it_lets_later_days_load(
    engine, landed_days: Path
) -> None:
    """Loaded, a batch of 2099 made every real day after it "older than the newest loaded batch", for good."""
    target, workspace, query = engine
    landing = own_landing(workspace, landed_days, EXPORT, DAYS[0])
    future = land_as(landed_days / DAYS[1], landing, "20990101-daily")

    message = one_line_error(workspace.elt("load", "--target", target, check=False))
    assert f"batch {future.name} failed" in message and "business date 2099-01-01 is after tomorrow" in message
    assert f"remove {future}" in message and "Nothing of it was loaded" in message
    assert "The failure is recorded in audit.load_failures" in message
    assert ledger(query) == {EXPORT, DAYS[0]} and rows_of(query, future.name) == 0
    assert failures(query, future.name) and "\n" not in failures(query, future.name)[0]

    # The next real day still loads: the refused batch holds nothing back.
    shutil.copytree(landed_days / DAYS[1], landing / DAYS[1])
    one_line_error(workspace.elt("load", "--target", target, check=False))
    assert ledger(query) == {EXPORT, DAYS[0], DAYS[1]}

    # The advice, followed: remove it, load again.
    shutil.rmtree(future)
    shutil.copytree(landed_days / DAYS[2], landing / DAYS[2])
    workspace.elt("load", "--target", target)
    assert ledger(query) == {EXPORT, *DAYS}


def test_a_batch_dated_before_the_export_is_refused_without_advice_to_unload_everything(
    engine, landed_days: Path
) -> None:
    """It used to say `elt replay --from-date 1900-01-01`, which unloads every batch in the warehouse."""
    target, workspace, query = engine
    landing = own_landing(workspace, landed_days, EXPORT, DAYS[0])
    workspace.elt("load", "--target", target)
    ancient = land_as(landed_days / DAYS[1], landing, "19000101-daily")

    message = one_line_error(workspace.elt("load", "--target", target, check=False))
    assert "business date 1900-01-01 is before the export's (1998-08-02, batch 19980802-export)" in message
    assert "replay" not in message and f"remove {ancient}" in message
    assert ledger(query) == {EXPORT, DAYS[0]} and rows_of(query, ancient.name) == 0
    assert failures(query, ancient.name)

    shutil.rmtree(ancient)
    shutil.copytree(landed_days / DAYS[1], landing / DAYS[1])
    workspace.elt("load", "--target", target)
    assert ledger(query) == {EXPORT, DAYS[0], DAYS[1]}


def test_a_batch_before_the_landed_export_is_refused_on_an_empty_warehouse(workspace, landed_days: Path) -> None:
    """With nothing loaded yet, the export's date comes from the landed export (its id sorts after 1900's)."""
    landing = own_landing(workspace, landed_days, EXPORT)
    land_as(landed_days / DAYS[0], landing, "19000101-daily")
    message = one_line_error(workspace.elt("load", "--target", "dev", check=False))
    assert "business date 1900-01-01 is before the export's (1998-08-02, batch 19980802-export)" in message


def test_tomorrow_is_the_latest_business_date_that_loads(workspace, landed_days: Path) -> None:
    """One day of slack for a source whose day starts before the loader's (UTC) does; two days is refused."""
    landing = own_landing(workspace, landed_days, EXPORT)
    tomorrow = land_as(landed_days / DAYS[0], landing, f"{utc_today() + timedelta(days=1):%Y%m%d}-daily")
    after = land_as(landed_days / DAYS[1], landing, f"{utc_today() + timedelta(days=2):%Y%m%d}-daily")
    message = one_line_error(workspace.elt("load", "--target", "dev", check=False))
    assert f"batch {after.name} failed" in message and "is after tomorrow" in message
    assert ledger(warehouse_query("dev", workspace.env)) == {EXPORT, tomorrow.name}


# --- manifests that replace themselves ---------------------------------------------------------


def test_a_broken_batch_that_replaces_itself_is_a_clear_failure(engine, landed_days: Path) -> None:
    """It used to count as its own corrected delivery: recorded as failed and skipped, the load exiting 0."""
    target, workspace, query = engine
    landing = own_landing(workspace, landed_days, EXPORT)
    broken = land_as(landed_days / DAYS[0], landing, DAYS[0], replaces=DAYS[0], sha256="0" * 64)
    shutil.copytree(landed_days / DAYS[1], landing / DAYS[1])

    message = one_line_error(workspace.elt("load", "--target", target, check=False))
    assert f"{broken / 'manifest.json'}: replaces names its own batch ({DAYS[0]})" in message
    assert "1 later batch(es) stay pending" in message
    assert ledger(query) == {EXPORT}
    assert "replaces names its own batch" in failures(query, DAYS[0])[0]


# --- what the failure message says about the rest ----------------------------------------------


def test_later_batches_said_to_stay_pending_are_those_not_loaded(engine, landed_days: Path) -> None:
    target, workspace, query = engine
    landing = own_landing(workspace, landed_days, EXPORT, DAYS[0], DAYS[1])
    workspace.elt("load", "--target", target)
    # A second batch for the first day, landed after the second day loaded: history would go out of order.
    late = land_as(landed_days / DAYS[0], landing, "19980803-late")

    message = one_line_error(workspace.elt("load", "--target", target, check=False))
    assert f"batch {late.name} failed" in message and "older than the newest loaded batch" in message
    assert "stay pending" not in message, "the only later batch is loaded"

    shutil.copytree(landed_days / DAYS[2], landing / DAYS[2])
    message = one_line_error(workspace.elt("load", "--target", target, check=False))
    assert "; 1 later batch(es) stay pending" in message
    assert ledger(query) == {EXPORT, DAYS[0], DAYS[1]}


def limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_failure_that_cannot_be_recorded_says_so(engine, landed_days: Path) -> None:
    """The disk full: neither the batch nor the record of its failure can be written, and the message says both.

    DuckDB: the process may write no file beyond 512 bytes, less than the write-ahead log of
    one row. PostgreSQL: a trigger refuses every row of audit.load_failures, as a full disk
    or a lost permission would; the batch itself fails on a wrong checksum.
    """
    target, workspace, query = engine
    landing = own_landing(workspace, landed_days, EXPORT)
    workspace.elt("load", "--target", target)
    if target == "dev":
        shutil.copytree(landed_days / DAYS[0], landing / DAYS[0])
        limit = limit_file_size(512)
    else:
        land_as(landed_days / DAYS[0], landing, DAYS[0], sha256="0" * 64)
        with pg_connect(workspace.env) as connection:
            connection.execute(
                "create function audit.refuse_row() returns trigger language plpgsql as "
                "$$ begin raise exception 'could not extend file: No space left on device'; end $$"
            )
            connection.execute(
                "create trigger no_space before insert on audit.load_failures "
                "for each row execute function audit.refuse_row()"
            )
        limit = None
    result = subprocess.run(
        [str(ELT), "load", "--target", target],
        cwd=workspace.root,
        env=workspace.env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=limit,
    )
    message = one_line_error(result)
    assert failures(query, DAYS[0]) == []
    assert "is recorded" not in message
    assert "could not be recorded in audit.load_failures either" in message
    assert ledger(query) == {EXPORT}


# --- places the loader cannot use ---------------------------------------------------------------


@pytest.mark.parametrize("variable", ["ELT_LANDING_DIR", "WAREHOUSE_DUCKDB_PATH"])
def test_a_path_that_is_a_symlink_loop_is_one_line(workspace, variable: str) -> None:
    loop = workspace.root / "loop"
    loop.symlink_to(loop)
    workspace.env.update(UNWRAPPED)
    workspace.env[variable] = str(loop / "inside") if variable == "WAREHOUSE_DUCKDB_PATH" else str(loop)
    message = one_line_error(workspace.elt("load", "--target", "dev", check=False))
    assert variable in message and str(loop) in message and "symbolic link" in message


def read_only_mounts_work() -> bool:
    probe = subprocess.run(["unshare", "--mount", "--map-root-user", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def in_read_only_mount(workspace: Workspace, mount_point: Path, script: str) -> subprocess.CompletedProcess[str]:
    """`script` (sh) in a mount namespace of its own, where `mount_point` is a tmpfs it may remount read-only."""
    return subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", f"mount -t tmpfs tmpfs {mount_point} && {script}"],
        cwd=workspace.root,
        env=workspace.env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.skipif(not read_only_mounts_work(), reason="no mount namespaces here (unshare --mount)")
def test_a_warehouse_on_a_read_only_file_system_is_one_line(workspace, landed_days: Path) -> None:
    """A real read-only file system (a tmpfs remounted ro in a mount namespace), not a chmod: tests run as root.

    Two ways: the warehouse's directory does not exist and cannot be created; the warehouse
    exists and its file system has gone read-only. PostgreSQL keeps its files on the server,
    out of the loader's reach, so this is DuckDB's case only.
    """
    own_landing(workspace, landed_days, EXPORT)
    mount_point = workspace.root / "mnt"
    mount_point.mkdir()

    workspace.env["WAREHOUSE_DUCKDB_PATH"] = str(mount_point / "sub" / "warehouse.duckdb")
    result = in_read_only_mount(workspace, mount_point, f"mount -o remount,ro {mount_point} && exec {ELT} load")
    message = one_line_error(result)
    # The loader's own message, or the warehouse lock's (elt.locking), whichever comes first.
    assert f"{mount_point / 'sub'}" in message and "Read-only file system" in message
    assert "WAREHOUSE_DUCKDB_PATH" in message

    workspace.env["WAREHOUSE_DUCKDB_PATH"] = str(mount_point / "warehouse.duckdb")
    script = f"{ELT} load >/dev/null && mount -o remount,ro {mount_point} && exec {ELT} load"
    message = one_line_error(in_read_only_mount(workspace, mount_point, script))
    # Under the warehouse lock (elt.locking) its file beside the warehouse is the first to fail to open.
    assert f"{mount_point / 'warehouse.duckdb'}" in message and "cannot open the" in message
    assert "Read-only file system" in message and "WAREHOUSE_DUCKDB_PATH" in message


def test_a_new_column_with_a_time_zone_loads_the_same_whatever_the_loaders_zone(engine, landed_days: Path) -> None:
    """An added timestamp-with-time-zone column is kept as text; that text must not depend on the machine's TZ."""
    target, workspace, query = engine
    landing = own_landing(workspace, landed_days, EXPORT)
    batch_dir = land_as(landed_days / DAYS[0], landing, DAYS[0])
    orders = batch_dir / "orders.parquet"
    table = pq.read_table(orders)
    instant = datetime(1998, 8, 3, tzinfo=UTC)
    table = table.append_column("o_promised_at", pa.array([instant] * table.num_rows, pa.timestamp("us", tz="UTC")))
    pq.write_table(table, orders)
    manifest = read_manifest(batch_dir)
    files = tuple(describe_file(batch_dir, item.entity, item.path) for item in manifest.files)
    write_manifest(batch_dir, dataclasses.replace(manifest, files=files))

    workspace.env["TZ"] = "America/New_York"
    workspace.elt("load", "--target", target)
    stored = query(f"select distinct o_promised_at from raw.erp_orders where _batch_id = '{DAYS[0]}'")
    assert stored == [("1998-08-03 00:00:00+00",)], "the instant as the loader's time zone shows it"


def test_one_line_helper_rejects_a_traceback() -> None:
    """The helper the tests above lean on fails on a traceback and on a message of two lines."""
    for stderr in ("Traceback (most recent call last):\n  ...\n", "error: first line\nsecond line\n"):
        with pytest.raises(AssertionError):
            one_line_error(subprocess.CompletedProcess([], 1, "", stderr))
