"""One warehouse lock (decision 0025): a real second process holds it, every other command is refused.

Each case starts a real `elt` process that takes the warehouse lock and stops at a named
fault point (ELT_PAUSE_AT), then runs the other commands against the same warehouse while
it waits there: each must exit 1 at once, name the command that holds the lock, and leave
the warehouse as it was. `elt status` must not wait for it. The last case is a process
that is not elt at all holding the DuckDB file, as a manual `dbt build` does.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import preforked
from conftest import ELT, Workspace
from elt.faults import PAUSE_AT_VARIABLE, PAUSE_MARKER_VARIABLE, PAUSE_SECONDS_VARIABLE
from fingerprints import warehouse_fingerprint

EXPORT_BATCH = "19980802-export"
# Long enough for every refused command below; the holder is killed as soon as they are done.
HOLD_SECONDS = 300
# What a refused command must say after the holder's description.
REFUSED = "holds the warehouse lock on"
CHANGED_NOTHING = "this command changed nothing."


def _loaded_export(workspace: Workspace, landed_days: Path, target: str) -> None:
    """The export loaded, the daily batches landed and pending: every command has something to change."""
    shutil.copytree(landed_days, workspace.root / "landing")
    workspace.env["ELT_LANDING_DIR"] = str(workspace.root / "landing")
    workspace.elt("load", "--target", target, "--batch", EXPORT_BATCH)


@contextmanager
def holding(workspace: Workspace, point: str, *command: str) -> Iterator[preforked.PreforkedProcess]:
    """`elt <command>` started and paused at `point`, inside the warehouse lock; SIGKILLed on the way out."""
    marker = workspace.root / f"paused-at-{point}"
    process = preforked.popen(
        [ELT, *command],
        cwd=workspace.root,
        env={
            **workspace.env,
            PAUSE_AT_VARIABLE: point,
            PAUSE_SECONDS_VARIABLE: str(HOLD_SECONDS),
            PAUSE_MARKER_VARIABLE: str(marker),
        },
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"elt {' '.join(command)} never reached {point}"
            time.sleep(0.05)
        yield process
    finally:
        # SIGKILL, as a crash would: the kernel (DuckDB) or the server (PostgreSQL) releases the lock.
        process.send_signal(signal.SIGKILL)
        process.communicate()


def _holder(process: preforked.PreforkedProcess, command: str) -> str:
    return f"`{command}` (process {process.pid}, since "


def test_every_command_is_refused_while_a_replay_holds_the_lock(engine, landed_days: Path) -> None:
    """A replay stopped after recording its request: the others are refused, `elt run` says the replay holds it."""
    target, workspace, query = engine
    _loaded_export(workspace, landed_days, target)
    replay = ("replay", "--from-date", "1998-08-02", "--target", target)
    with holding(workspace, "replay-requested", *replay) as holder:
        # The replay closed the warehouse before its fault point: this reads it on either engine.
        before = warehouse_fingerprint(query, ("raw", "audit"))
        for command in (
            ("run", "--target", target),
            ("load", "--target", target),
            replay,
            ("publish", "--target", target),
            ("rollback", "--target", target),
            ("setup-roles", "--target", target),
        ):
            result = workspace.elt(*command, check=False)
            said = " ".join(result.stderr.split())  # rich wraps long lines
            assert result.returncode == 1, (command, result.stdout[-2000:], result.stderr[-2000:])
            assert "Traceback" not in result.stderr, (command, result.stderr)
            assert _holder(holder, f"elt {' '.join(replay)}") in said, (command, said)
            assert REFUSED in said and CHANGED_NOTHING in said, (command, said)
            # Not "a replay was interrupted": the replay is running, and the message says so.
            assert "interrupted" not in said, (command, said)

        status = workspace.elt("status", "--target", target, check=False)
        said = " ".join(status.stdout.split() + status.stderr.split())
        assert _holder(holder, f"elt {' '.join(replay)}") in said, said
        if target == "pg":
            # PostgreSQL: status reads while the replay holds the lock.
            assert status.returncode == 0, said
            assert "Batches on target pg" in said and EXPORT_BATCH in said, said
        else:
            # DuckDB lets no reader open a file a writer has open: status says who, instead of waiting.
            assert status.returncode == 1 and "Traceback" not in status.stderr, said
            assert "DuckDB lets no other process open the file, even read-only" in said, said
        assert warehouse_fingerprint(query, ("raw", "audit")) == before

    # Killed, the replay let go of the lock: running it again finishes it, as its docs say.
    workspace.elt(*replay)
    assert query("select status from audit.replays") == [("unloaded",)]


def test_status_reads_while_a_load_is_inside_its_transaction(engine, landed_days: Path) -> None:
    """A load stopped before its commit: status is not refused (PostgreSQL) or names the load (DuckDB)."""
    target, workspace, query = engine
    _loaded_export(workspace, landed_days, target)
    before = warehouse_fingerprint(query, ("raw", "audit"))
    load = ("load", "--target", target, "--batch", "19980803-daily")
    with holding(workspace, "before-commit", *load) as holder:
        status = workspace.elt("status", "--target", target, check=False)
        said = " ".join(status.stdout.split() + status.stderr.split())
        assert "Traceback" not in said
        assert _holder(holder, f"elt {' '.join(load)}") in said, said
        if target == "pg":
            assert status.returncode == 0, said
            # The uncommitted batch is not shown as loaded: status reads what is committed.
            assert re.search(r"19980803-daily\W+erp\W+1998-08-03\W+pending", said), said
        else:
            assert status.returncode == 1, said
        second = workspace.elt(*load, check=False)
        said = " ".join(second.stderr.split())
        assert second.returncode == 1 and _holder(holder, f"elt {' '.join(load)}") in said, said
    # The killed load committed nothing, and the refused commands wrote nothing.
    assert warehouse_fingerprint(query, ("raw", "audit")) == before


HOLD_DUCKDB_FILE = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("open", flush=True)
time.sleep(300)
"""


def test_a_duckdb_file_held_by_another_process_is_reported_as_such(workspace: Workspace) -> None:
    """Not elt, so not the warehouse lock: a process (a manual `dbt build`, a notebook) with the file open."""
    workspace.elt("load")
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD_DUCKDB_FILE, str(workspace.duckdb_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout.readline() == "open\n"
        result = workspace.elt("rollback", check=False)
    finally:
        other.kill()
        other.wait()
    said = " ".join(result.stderr.split())
    assert result.returncode == 1 and "Traceback" not in said, said
    assert f"could not open {workspace.duckdb_path}: another process holds its lock" in said, said
    assert f"PID {other.pid})" in said, said
    assert "node(s) failed" not in said, said


def test_the_lock_is_free_the_moment_its_holder_lets_go(engine) -> None:
    """Commands run back to back (a script's, the bench's loads of one day) each find the lock
    free: a holder has let go when it returns, not a moment later when its connection ends."""
    target, workspace, _ = engine
    script = (
        "from elt.locking import warehouse_lock\n"
        "from elt.settings import Paths\n"
        "paths = Paths.resolve()\n"
        "for _ in range(200):\n"
        f"    with warehouse_lock({target!r}, paths):\n"
        "        pass\n"
        "print('all 200 taken')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=workspace.root,
        env=workspace.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "all 200 taken"), done.stderr[-2000:]
