"""Reprocessing a loaded batch and backfilling a missing day, with `elt replay`, on each engine.

Both end equal to a warehouse that loaded the right batches once, in order: raw, the
ledger, the history derived from raw and the published marts.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from batches import erp_batches, land_batch
from conftest import fresh_postgres_database, make_workspace, warehouse_query
from fingerprints import WALL_CLOCK_COLUMNS, fingerprint, relation_fingerprint

HISTORY = (
    "int_customers__versioned",
    "int_suppliers__versioned",
    "int_parts__versioned",
    "int_part_suppliers__versioned",
)


def every_order_urgent(entity: str, table: pa.Table) -> pa.Table:
    """Wrong but well-formed data: the day's orders all claim the top priority."""
    if entity != "orders":
        return table
    urgent = pa.array(["1-URGENT"] * len(table), table.schema.field("o_orderpriority").type)
    return table.set_column(table.schema.get_field_index("o_orderpriority"), "o_orderpriority", urgent)


def warehouse_state(query) -> dict:
    """What a replay must get right: raw and the ledger, the history derived from it, the published marts."""
    state = fingerprint(query)
    for model in HISTORY:
        listed = query(
            "select column_name from information_schema.columns "
            f"where table_schema = 'intermediate' and table_name = '{model}' order by column_name"
        )
        # loaded_at and built_at are wall-clock stamps; everything else follows from the data.
        columns = [row[0] for row in listed if row[0] not in WALL_CLOCK_COLUMNS]
        state[model] = relation_fingerprint(query, f"intermediate.{model}", columns)
    marts = query("select table_name from information_schema.tables where table_schema = 'marts' order by 1")
    for (name,) in marts:
        listed = query(
            "select column_name from information_schema.columns "
            f"where table_schema = 'marts' and table_name = '{name}' order by column_name"
        )
        columns = [row[0] for row in listed if row[0] not in WALL_CLOCK_COLUMNS]
        state[f"marts.{name}"] = relation_fingerprint(query, f"marts.{name}", columns)
    return state


@pytest.mark.e2e
def test_replay_reprocesses_and_backfills_to_the_same_state_as_an_ordered_load(
    engine, landed_days: Path, request: pytest.FixtureRequest
) -> None:
    target, workspace, query = engine
    export, day_one, day_two, day_three = erp_batches(landed_days)[:4]
    landing = workspace.root / "landing"
    landing.mkdir()
    workspace.env["ELT_LANDING_DIR"] = str(landing)

    # Day two is missing when days one and three arrive.
    for batch in (export, day_one, day_three):
        land_batch(batch, landing)
    workspace.elt("run", "--target", target)

    # Day two arrives late, and wrong. Loading it after day three would write history out of order.
    land_batch(day_two, landing, every_order_urgent)
    refused = workspace.elt("run", "--target", target, check=False)
    assert refused.returncode == 1
    advice = " ".join(refused.stderr.split())
    assert "older than the newest loaded batch of source erp" in advice
    assert "elt replay --source erp --from-date" in advice
    business_date = f"{day_two.name[:4]}-{day_two.name[4:6]}-{day_two.name[6:8]}"

    # Backfill: unload from day two on, then load days two and three in order.
    replayed = workspace.elt("replay", "--target", target, "--source", "erp", "--from-date", business_date)
    assert day_three.name in replayed.stdout
    workspace.elt("run", "--target", target)
    urgent = query(
        f"select count(*) from raw.erp_orders where _batch_id = '{day_two.name}' and o_orderpriority = '1-URGENT'"
    )
    assert urgent[0][0] == query(f"select count(*) from raw.erp_orders where _batch_id = '{day_two.name}'")[0][0] > 0

    # Reprocess: the corrected day two replaces the wrong one under the same batch id.
    land_batch(day_two, landing)
    workspace.elt("replay", "--target", target, "--from-date", business_date)
    assert query("select count(*) from raw.erp_orders where _business_date >= " + f"'{business_date}'") == [(0,)]
    workspace.elt("run", "--target", target)
    replayed_state = warehouse_state(query)

    # The same batches loaded once, in order, into a fresh warehouse.
    clean = make_workspace(workspace.root / "clean", landing_dir=landing)
    if target == "pg":
        with fresh_postgres_database(request.getfixturevalue("postgres_server")) as database_env:
            clean.env.update(database_env)
            clean.elt("run", "--target", target)
            clean_state = warehouse_state(warehouse_query(target, clean.env))
    else:
        clean.elt("run", "--target", target)
        clean_state = warehouse_state(warehouse_query(target, clean.env))

    assert replayed_state.keys() == clean_state.keys()
    different = {name for name in clean_state if replayed_state[name] != clean_state[name]}
    assert not different, different
