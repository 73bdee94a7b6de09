"""A load killed at any moment leaves no partial batch, and a rerun ends equal to a clean load."""

from __future__ import annotations

import signal
from pathlib import Path

import preforked
from conftest import ELT
from elt.faults import KILL_AT_VARIABLE
from fingerprints import assert_every_ledger_batch_complete, clean_fingerprint, fingerprint

# Where the loader can die: before anything is written, mid-transaction after some entities
# are written, just before the commit, and just after it (before the next batch starts).
KILL_POINTS = ("after-verify", "after-stage", "after-write-orders", "before-commit", "after-commit")


def test_killed_loads_then_rerun_equal_a_clean_load(engine, landed_days: Path) -> None:
    target, workspace, query = engine
    workspace.env["ELT_LANDING_DIR"] = str(landed_days)

    # Two rounds: the first dies in the export, the second in the first daily batch.
    for point in KILL_POINTS * 2:
        killed = preforked.run(
            [ELT, "load", "--target", target], cwd=workspace.root, env={**workspace.env, KILL_AT_VARIABLE: point}
        )
        assert killed.returncode == -signal.SIGKILL, (point, killed.returncode, killed.stderr[-2000:])

    workspace.elt("load", "--target", target)
    after_crashes = fingerprint(query)
    assert_every_ledger_batch_complete(query)

    # A clean load of the same landing area into a fresh warehouse gives the same raw content.
    assert clean_fingerprint(workspace, target) == after_crashes
