"""Snapshots that have not taken in the newest business day loaded into their raw table.

`elt run` builds after every batch so that each business day's changes become their own
snapshot version. A run that stops between loading a batch and snapshotting it (killed, a
lost connection, a full disk) leaves that day in raw but not in the snapshots. If the next
run loaded the following day before building, one build would see both days, and a record
changed on both would keep only its second version: a day of history lost. So `elt run`
asks this module first and, when a snapshot lags, builds before it loads anything new.

After a build, every snapshot whose raw table has rows of the newest loaded business date
holds a version from that date (the staging view shows the key's newest version, dated by
its batch, and the timestamp strategy takes it). A snapshot whose newest version is older
than its raw table's newest date therefore missed that day. A false alarm would only cost
one build, never a wrong row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import psycopg

from elt.settings import Paths
from elt.targets import postgres_connection_kwargs, target_config

# snapshots/_erp__snapshots.yml names each snapshot after its raw table: snp_erp__<entity> reads erp_<entity>.
SNAPSHOT_PREFIX = "snp_erp__"
RELATIONS_QUERY = """
    select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'snapshots')
"""

Query = Callable[[str], list[tuple]]


def lagging_snapshots(target: str, paths: Paths) -> list[str]:
    """Names of the snapshots whose newest version is older than the newest business date in their raw table."""
    with _warehouse_query(target, paths) as query:
        if query is None:
            return []
        relations = set(query(RELATIONS_QUERY))
        lagging = []
        for schema, snapshot in sorted(relations):
            if schema != "snapshots" or not snapshot.startswith(SNAPSHOT_PREFIX):
                continue
            raw_table = "erp_" + snapshot.removeprefix(SNAPSHOT_PREFIX)
            if ("raw", raw_table) not in relations:
                continue
            newest_loaded = query(f"select max(_business_date) from raw.{raw_table}")[0][0]
            newest_snapshotted = query(f"select max(source_business_date) from snapshots.{snapshot}")[0][0]
            if newest_loaded is not None and (newest_snapshotted is None or newest_snapshotted < newest_loaded):
                lagging.append(snapshot)
        return lagging


@contextmanager
def _warehouse_query(target: str, paths: Paths) -> Iterator[Query | None]:
    """A read-only query function on the target's warehouse, as dbt's user (it reads raw and snapshots).

    None when there is nothing to read yet, or the warehouse cannot be opened: then the
    loader, which runs next, says why."""
    config = target_config(paths.project_dir, target)
    if config["type"] == "duckdb":
        if not paths.duckdb_path.exists():
            yield None
            return
        try:
            connection = duckdb.connect(str(paths.duckdb_path), read_only=True)
        except duckdb.Error:
            yield None
            return
        with connection:
            yield lambda sql: connection.execute(sql).fetchall()
    elif config["type"] == "postgres":
        try:
            connection = psycopg.connect(**postgres_connection_kwargs(config), connect_timeout=15, autocommit=True)
        except psycopg.OperationalError:
            yield None
            return
        with connection:
            yield lambda sql: connection.execute(sql).fetchall()
    else:
        yield None
