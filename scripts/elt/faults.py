"""Named fault points for fault-injection tests.

ELT_KILL_AT=<point> makes the process SIGKILL itself when it gets there, so a test can crash
a run at an exact moment instead of guessing with timers. ELT_PAUSE_AT=<point> makes it
stop there for ELT_PAUSE_SECONDS the first time it gets there (touching ELT_PAUSE_MARKER
first, so a test knows it arrived), which lets a test start a second process, or restart
the database, while the first is at that point.

The points:

- Loader (scripts/elt/load/): `after-verify` (checksums checked, nothing written),
  `after-stage` (batch validated in DuckDB, nothing written), `after-write-<entity>` (that
  entity's rows written, inside the batch's uncommitted transaction), `before-commit` (the
  whole batch and its ledger rows written, not committed), `after-commit`.
- dbt (scripts/elt/dbt.py): `dbt:<node name>`, e.g. `dbt:snp_erp__customers` or
  `dbt:fct_order_lines`: inside that node, after all of its SQL has run in its transaction
  (the snapshot's merge, the incremental delete+insert and post-hook, the table's
  create and rename) and just before dbt sends the node's COMMIT. Nodes that never commit
  (data tests) have no such point.
- Warehouse lock (scripts/elt/locking.py, replay.py): `warehouse-locked` (any command that
  changes the warehouse, just after it took the lock), `replay-requested` (the replay is
  recorded, nothing unloaded yet).

Unset (always, outside tests) a loader point costs two dictionary lookups, and dbt is run
without any event callback unless a `dbt:` point is named.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

KILL_AT_VARIABLE = "ELT_KILL_AT"
PAUSE_AT_VARIABLE = "ELT_PAUSE_AT"
PAUSE_SECONDS_VARIABLE = "ELT_PAUSE_SECONDS"
PAUSE_MARKER_VARIABLE = "ELT_PAUSE_MARKER"
DBT_POINT_PREFIX = "dbt:"
# dbt fires this event on the node's thread right before it sends COMMIT (dbt-adapters'
# SQLConnectionManager.commit), with the node in its node_info; both adapters use it.
_DBT_COMMIT_EVENT = "SQLCommit"


# The points this process has paused at: a pause is for a test to act while the process is
# there, which it does the first time; a loader point comes once per batch, and pausing at
# every batch would only make the test wait.
_PAUSED: set[str] = set()


def fault_point(name: str) -> None:
    if os.environ.get(KILL_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_AT_VARIABLE) == name and name not in _PAUSED:
        _PAUSED.add(name)
        marker = os.environ.get(PAUSE_MARKER_VARIABLE)
        if marker:
            Path(marker).touch()
        time.sleep(float(os.environ.get(PAUSE_SECONDS_VARIABLE, "5")))


def dbt_node_point(node_name: str) -> str:
    return f"{DBT_POINT_PREFIX}{node_name}"


def dbt_fault_callbacks() -> list[Callable[[Any], None]]:
    """The dbtRunner callbacks that act on armed `dbt:<node>` points; none when none is armed."""
    armed = {
        point.removeprefix(DBT_POINT_PREFIX)
        for point in (os.environ.get(KILL_AT_VARIABLE), os.environ.get(PAUSE_AT_VARIABLE))
        if point and point.startswith(DBT_POINT_PREFIX)
    }
    if not armed:
        return []
    reached: set[str] = set()

    def before_node_commit(event: Any) -> None:
        if event.info.name != _DBT_COMMIT_EVENT:
            return
        node_name = event.data.node_info.node_name
        # Only the node's first commit: a pause must not repeat if dbt commits again after it.
        if node_name in armed and node_name not in reached:
            reached.add(node_name)
            fault_point(dbt_node_point(node_name))

    return [before_node_commit]
