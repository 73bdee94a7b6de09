"""`elt replay [--source S] --from-date D`: unload the batches of business date D and later, to load them again.

With --source only that source's batches are unloaded (its raw tables, quarantine rows and
ledger rows); every other source's stay as they are. Without it, every source's are.

It is how a loaded batch is reprocessed (its corrected delivery replaces the directory under
the same batch id) and how a missing day older than the newest loaded one is backfilled:
batches load in business-date order (the incremental facts rebuild a window before their
newest date, not the whole past), so everything from the first day that changes is loaded
again, in order, by the next `elt run`. The SCD2 history needs no step of its own: it is
derived from raw (decision 0022), so the next build derives it again without the unloaded rows.

The steps, each idempotent, under a request kept in audit.replays so an interrupted replay
is finished by running it again, and `elt run` refuses to start on a half-done one:
1. record the request (status `requested`);
2. delete the batches' rows from raw, their quarantine rows and ledger rows, and mark the
   request `unloaded`, in one transaction (as the loader);
3. the next `elt run` loads the pending batches; its first build is a --full-refresh, so the
   incremental models forget the unloaded rows too; then the request is `done`.
Consumers keep the published version throughout; the next green run publishes a new one.
"""

from __future__ import annotations

import uuid
from datetime import date

from elt.errors import EltError
from elt.faults import fault_point
from elt.load.ddl import LEDGER_TABLE, QUARANTINE_TABLE, raw_table
from elt.load.loader import open_warehouse
from elt.load.warehouse import Warehouse, utc_now
from elt.locking import holds_warehouse_lock
from elt.settings import Paths
from elt.sources import all_entities, source

REPLAYS_TABLE = "audit.replays"
CREATE_REPLAYS = f"""create table if not exists {REPLAYS_TABLE} (
    replay_id varchar(36) not null primary key,
    from_date date not null,
    batch_ids varchar(4000) not null,
    status varchar(16) not null,
    requested_at timestamp not null,
    changed_at timestamp not null
)"""
# Replays requested before sources were named unloaded every source: null means all of them.
ADD_REPLAY_SOURCE = f"alter table {REPLAYS_TABLE} add column if not exists source varchar(30)"


def replay_command(from_date: date, source_name: str | None) -> str:
    return "elt replay" + (f" --source {source_name}" if source_name else "") + f" --from-date {from_date}"


def _open_replays(warehouse: Warehouse) -> list[tuple]:
    warehouse.append_rows((CREATE_REPLAYS, ADD_REPLAY_SOURCE), {})
    return warehouse.query(
        f"select replay_id, from_date, status, source from {REPLAYS_TABLE} where status in ('requested', 'unloaded') "
        "order by requested_at"
    )


@holds_warehouse_lock
def replay_from(target: str, paths: Paths, from_date: date, source_name: str | None = None) -> list[str]:
    """Unload every batch of business date `from_date` and later (of `source_name` alone, if given); their ids."""
    # A name from the registry, never the command line's text, goes into the SQL below.
    chosen = source(source_name) if source_name else None
    entities = chosen.entities if chosen else all_entities()
    of_source = f" and source = '{chosen.name}'" if chosen else ""
    day = f"'{from_date.isoformat()}'"
    with open_warehouse(target, paths) as warehouse:
        batch_ids = [
            row[0]
            for row in warehouse.query(
                f"select distinct batch_id from {LEDGER_TABLE} where business_date >= {day}{of_source} "
                "order by batch_id"
            )
        ]
        open_replays = _open_replays(warehouse)
        earlier = [row for row in open_replays if (row[1], row[3]) != (from_date, source_name)]
        if earlier:
            raise EltError(
                f"a replay from {earlier[0][1]} is not finished ({earlier[0][2]}). Run "
                f"`{replay_command(earlier[0][1], earlier[0][3])}` to finish it, then `elt run`, before starting "
                "another."
            )
        if not batch_ids and not open_replays:
            whose = f" of source {source_name}" if source_name else ""
            raise EltError(
                f"no batch{whose} of business date {from_date} or later is loaded; there is nothing to replay."
            )
        replay_id = open_replays[0][0] if open_replays else str(uuid.uuid4())
        if not open_replays:
            now = utc_now()
            row = (replay_id, from_date, ",".join(batch_ids)[:4000], "requested", now, now, source_name)
            warehouse.append_rows((), {REPLAYS_TABLE: [row]})
    fault_point("replay-requested")

    with open_warehouse(target, paths) as warehouse:
        statements = tuple(f"delete from {raw_table(entity)} where _business_date >= {day}" for entity in entities)
        statements += (
            f"delete from {QUARANTINE_TABLE} where batch_id in "
            f"(select batch_id from {LEDGER_TABLE} where business_date >= {day}{of_source})",
            f"delete from {LEDGER_TABLE} where business_date >= {day}{of_source}",
            f"update {REPLAYS_TABLE} set status = 'unloaded', changed_at = '{utc_now().isoformat(' ')}' "
            f"where replay_id = '{replay_id}'",
        )
        warehouse.append_rows(statements, {})
    return batch_ids


def replay_state(target: str, paths: Paths) -> tuple[str, date, str, str | None] | None:
    """(replay id, from date, status, source or None for all) of an unfinished replay, if there is one."""
    with open_warehouse(target, paths) as warehouse:
        open_replays = _open_replays(warehouse)
    return open_replays[0] if open_replays else None


def finish_replay(target: str, paths: Paths, replay_id: str) -> None:
    with open_warehouse(target, paths) as warehouse:
        warehouse.append_rows(
            (
                f"update {REPLAYS_TABLE} set status = 'done', changed_at = '{utc_now().isoformat(' ')}' "
                f"where replay_id = '{replay_id}'",
            ),
            {},
        )
