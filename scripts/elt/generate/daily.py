"""Daily change batches: what the ERP sends each business day after the initial export.

The simulator keeps the ERP's current state in an in-memory DuckDB database, seeded from
the export, and for each day derives that day's changes from it in SQL: new orders with
their lines (like TPC-H's RF1), cancelled open orders as tombstones (like RF2), orders
that completed (status, ship and receipt dates), and attribute changes on customers,
parts, suppliers and supplier offers, the history the dimensions keep.

Every random choice is md5 of (seed, day, purpose, key): the same arguments give the same
rows, and single-threaded writes of ordered rows give the same parquet bytes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb

from elt.entities import OP_COLUMN
from elt.errors import EltError
from elt.generate.dirty import (
    ADDED_COLUMN,
    BREAKING_FAULTS,
    DELIVERY_FAULTS,
    LATE_ARRIVAL_RATE,
    RESENT_DAY,
    DirtyReport,
    Injection,
    add_column,
    deliver_broken,
    late_arrival_injections,
    resend,
    spoil_rows,
)
from elt.generate.manifest import SCHEMA_VERSION, Manifest, describe_file, read_manifest, write_manifest
from elt.generate.simulated import simulated_entity

DAILY_KIND = "daily"
ATTRIBUTE_CHANGE_SHARE = 0.005
SHIP_MODES = ("AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK")
SHIP_INSTRUCTIONS = ("COLLECT COD", "DELIVER IN PERSON", "NONE", "TAKE BACK RETURN")
PRIORITIES = ("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW")
SEGMENTS = ("AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY")
# Regions and nations never change in the ERP, so daily batches never carry them.
DAILY_ENTITIES = ("customers", "suppliers", "parts", "part_suppliers", "orders", "order_lines")


@dataclass(frozen=True)
class DayVolumes:
    new_orders: int
    cancelled_orders: int
    completed_orders: int

    @classmethod
    def for_scale(cls, scale_factor: float) -> DayVolumes:
        # TPC-H's refresh functions touch SF * 1500 orders; cancellations are rarer here.
        return cls(
            new_orders=max(1, round(1500 * scale_factor)),
            cancelled_orders=max(1, round(150 * scale_factor)),
            completed_orders=max(1, round(1500 * scale_factor)),
        )


def _choice(values: tuple[str, ...], random_sql: str) -> str:
    listed = ", ".join("'" + value + "'" for value in values)
    return f"[{listed}][1 + cast(floor({random_sql} * {len(values)}) as integer)]"


class ErpState:
    """The ERP's current rows, with helpers to draw deterministic random numbers in SQL."""

    def __init__(self, export_dir: Path, seed: int) -> None:
        self.con = duckdb.connect()
        self.con.execute("set threads = 1")  # one writer thread: identical parquet bytes every time
        self.seed = seed
        for name in DAILY_ENTITIES:
            self.con.execute(
                f"create table {name} as select * from read_parquet($path)",
                {"path": str(export_dir / simulated_entity(name).file_name)},
            )
        self.con.execute(
            """create table supplier_slots as
            select ps_partkey, ps_suppkey,
                row_number() over (partition by ps_partkey order by ps_suppkey) - 1 as slot
            from part_suppliers"""
        )

    def random(self, day: int, purpose: str, key_sql: str) -> str:
        """SQL for a number in [0, 1) fixed by seed, day, purpose and key."""
        salt = f"{self.seed}:{day}:{purpose}:"
        return f"(cast(md5_number('{salt}' || cast({key_sql} as varchar)) % 1000000 as double) / 1000000)"

    def count(self, table: str) -> int:
        return self.con.execute(f"select count(*) from {table}").fetchone()[0]


def _new_orders(state: ErpState, day: int, business_date: date, volumes: DayVolumes) -> None:
    def r(purpose: str) -> str:
        return state.random(day, purpose, "o_orderkey")

    max_key = state.con.execute("select max(o_orderkey) from orders").fetchone()[0]
    customers, parts = state.count("customers"), state.count("parts")
    state.con.execute(
        f"""create or replace temp table day_new_orders as
        select
            {max_key} + range as o_orderkey,
            1 + cast(floor({r("customer")} * {customers}) as bigint) as o_custkey,
            1 + cast(floor({r("lines")} * 7) as integer) as line_count,
            {_choice(PRIORITIES, r("priority"))} as o_orderpriority,
            'Clerk#' || lpad(cast(1 + cast(floor({r("clerk")} * 1000) as integer) as varchar), 9, '0') as o_clerk
        from (select range + 1 as range from range({volumes.new_orders})) as keys"""
    )

    def lr(purpose: str) -> str:
        return state.random(day, purpose, "o_orderkey * 8 + line_number")

    state.con.execute(
        f"""create or replace temp table day_new_lines as
        with drawn as (
            select
                o_orderkey as l_orderkey,
                line_number as l_linenumber,
                1 + cast(floor({lr("part")} * {parts}) as bigint) as l_partkey,
                cast(floor({lr("supplier")} * 4) as integer) as slot,
                cast(1 + floor({lr("quantity")} * 50) as decimal(15, 2)) as l_quantity,
                cast(floor({lr("discount")} * 11) / 100 as decimal(15, 2)) as l_discount,
                cast(floor({lr("tax")} * 9) / 100 as decimal(15, 2)) as l_tax,
                date '{business_date}' + cast(1 + floor({lr("ship")} * 121) as integer) as l_shipdate,
                date '{business_date}' + cast(30 + floor({lr("commit")} * 61) as integer) as l_commitdate,
                cast(1 + floor({lr("receipt")} * 30) as integer) as transit_days,
                {_choice(SHIP_INSTRUCTIONS, lr("instruct"))} as l_shipinstruct,
                {_choice(SHIP_MODES, lr("mode"))} as l_shipmode
            from day_new_orders
            cross join (select range as line_number from range(1, 8)) as numbers
            where line_number <= line_count
        )
        select
            drawn.l_orderkey, drawn.l_partkey, slots.ps_suppkey as l_suppkey, drawn.l_linenumber,
            drawn.l_quantity,
            cast(drawn.l_quantity * parts.p_retailprice as decimal(15, 2)) as l_extendedprice,
            drawn.l_discount, drawn.l_tax, 'N' as l_returnflag, 'O' as l_linestatus,
            drawn.l_shipdate, drawn.l_commitdate, drawn.l_shipdate + drawn.transit_days as l_receiptdate,
            drawn.l_shipinstruct, drawn.l_shipmode, 'simulated order line' as l_comment
        from drawn
        inner join parts on drawn.l_partkey = parts.p_partkey
        inner join supplier_slots as slots on drawn.l_partkey = slots.ps_partkey and drawn.slot = slots.slot"""
    )
    state.con.execute(
        f"""create or replace temp table day_new_orders_full as
        select
            orders.o_orderkey, orders.o_custkey, 'O' as o_orderstatus,
            cast(sum(round(lines.l_extendedprice * (1 + lines.l_tax) * (1 - lines.l_discount), 2))
                as decimal(15, 2)) as o_totalprice,
            date '{business_date}' as o_orderdate, orders.o_orderpriority, orders.o_clerk,
            0 as o_shippriority, 'simulated order' as o_comment
        from day_new_orders as orders
        inner join day_new_lines as lines on orders.o_orderkey = lines.l_orderkey
        group by all"""
    )


def _cancelled_and_completed(state: ErpState, day: int, business_date: date, volumes: DayVolumes) -> None:
    order_pick = state.random(day, "cancel", "o_orderkey")
    state.con.execute(
        f"""create or replace temp table day_cancelled as
        select o_orderkey from orders
        where o_orderstatus = 'O' and o_orderdate < date '{business_date}' - 1
        order by {order_pick}, o_orderkey
        limit {volumes.cancelled_orders}"""
    )
    complete_pick = state.random(day, "complete", "o_orderkey")
    state.con.execute(
        f"""create or replace temp table day_completed as
        select o_orderkey from orders
        where o_orderstatus in ('O', 'P') and o_orderdate < date '{business_date}' - 1
            and o_orderkey not in (select o_orderkey from day_cancelled)
        order by {complete_pick}, o_orderkey
        limit {volumes.completed_orders}"""
    )
    returned = state.random(day, "returned", "l_orderkey * 8 + l_linenumber")
    state.con.execute(
        f"""create or replace temp table day_completed_lines as
        select
            l_orderkey, l_partkey, l_suppkey, l_linenumber, l_quantity, l_extendedprice, l_discount, l_tax,
            case when {returned} < 0.05 then 'R' else 'A' end as l_returnflag,
            'F' as l_linestatus,
            least(l_shipdate, date '{business_date}' - 1) as l_shipdate,
            l_commitdate,
            date '{business_date}' as l_receiptdate,
            l_shipinstruct, l_shipmode, l_comment
        from order_lines
        where l_orderkey in (select o_orderkey from day_completed)"""
    )


def _attribute_changes(state: ErpState, day: int) -> None:
    def picked(table: str, key: str) -> str:
        share = state.random(day, f"pick-{table}", key)
        return f"{share} < {ATTRIBUTE_CHANGE_SHARE}"

    r = state.random
    state.con.execute(
        f"""create or replace temp table day_customers as
        select
            c_custkey, c_name,
            case when {r(day, "moves", "c_custkey")} < 0.5
                then 'Moved ' || {day} || ' ' || left(md5(c_address || '{day}'), 12) else c_address end as c_address,
            c_nationkey,
            case when {r(day, "phone", "c_custkey")} < 0.3
                then left(c_phone, 3) || lpad(cast(cast(floor({r(day, "digits", "c_custkey")} * 1000) as integer)
                    as varchar), 3, '0') || right(c_phone, 8)
                else c_phone end as c_phone,
            cast(c_acctbal + round(({r(day, "balance", "c_custkey")} - 0.5) * 2000, 2) as decimal(15, 2)) as c_acctbal,
            case when {r(day, "segment", "c_custkey")} < 0.2
                then {_choice(SEGMENTS, r(day, "new-segment", "c_custkey"))} else c_mktsegment end as c_mktsegment,
            c_comment
        from customers where {picked("customers", "c_custkey")}"""
    )
    state.con.execute(
        f"""create or replace temp table day_parts as
        select p_partkey, p_name, p_mfgr, p_brand, p_type, p_size, p_container,
            cast(round(p_retailprice * (0.95 + {r(day, "price", "p_partkey")} * 0.1), 2) as decimal(15, 2))
                as p_retailprice,
            p_comment
        from parts where {picked("parts", "p_partkey")}"""
    )
    state.con.execute(
        f"""create or replace temp table day_suppliers as
        select s_suppkey, s_name,
            'Moved ' || {day} || ' ' || left(md5(s_address || '{day}'), 12) as s_address,
            s_nationkey, s_phone,
            cast(s_acctbal + round(({r(day, "balance", "s_suppkey")} - 0.5) * 2000, 2) as decimal(15, 2)) as s_acctbal,
            s_comment
        from suppliers where {picked("suppliers", "s_suppkey")}"""
    )
    key = "ps_partkey * 100000 + ps_suppkey"
    state.con.execute(
        f"""create or replace temp table day_part_suppliers as
        select ps_partkey, ps_suppkey,
            cast(floor({r(day, "stock", key)} * 10000) as integer) as ps_availqty,
            cast(round(ps_supplycost * (0.95 + {r(day, "cost", key)} * 0.1), 2) as decimal(15, 2)) as ps_supplycost,
            ps_comment
        from part_suppliers where {picked("part_suppliers", key)}"""
    )


def _send_all_new(state: ErpState) -> None:
    """A clean feed sends each new order and all of its lines on the day it is placed."""
    state.con.execute("create or replace temp view day_orders_sent as select * from day_new_orders_full")
    state.con.execute("create or replace temp view day_lines_sent as select * from day_new_lines")


def _hold_back(state: ErpState, day: int) -> tuple[list[int], list[int]]:
    """A dirty feed sends some new orders' lines a day late, and some orders' headers a day late
    (so their lines come first); what was held yesterday goes out today. Returns today's held keys."""
    con = state.con
    held = max(1, round(state.count("day_new_orders") * LATE_ARRIVAL_RATE))
    con.execute(
        f"""create or replace temp table day_late_lines as
        select o_orderkey from day_new_orders order by {state.random(day, "late-lines", "o_orderkey")}, o_orderkey
        limit {held}"""
    )
    con.execute(
        f"""create or replace temp table day_late_headers as
        select o_orderkey from day_new_orders where o_orderkey not in (select o_orderkey from day_late_lines)
        order by {state.random(day, "late-headers", "o_orderkey")}, o_orderkey
        limit {held}"""
    )
    con.execute("create table if not exists held_headers as select * from day_new_orders_full limit 0")
    con.execute("create table if not exists held_lines as select * from day_new_lines limit 0")
    con.execute(
        """create or replace temp table day_orders_sent as
        select * from day_new_orders_full where o_orderkey not in (select o_orderkey from day_late_headers)
        union all select * from held_headers"""
    )
    con.execute(
        """create or replace temp table day_lines_sent as
        select * from day_new_lines where l_orderkey not in (select o_orderkey from day_late_lines)
        union all select * from held_lines"""
    )
    con.execute(
        "create or replace table held_headers as select * from day_new_orders_full "
        "where o_orderkey in (select o_orderkey from day_late_headers)"
    )
    con.execute(
        "create or replace table held_lines as select * from day_new_lines "
        "where l_orderkey in (select o_orderkey from day_late_lines)"
    )
    late_lines = [row[0] for row in con.execute("select o_orderkey from day_late_lines order by 1").fetchall()]
    late_headers = [row[0] for row in con.execute("select o_orderkey from day_late_headers order by 1").fetchall()]
    return late_lines, late_headers


# Which temp tables feed each entity's file, with the op of their rows.
def _change_sets(entity: str) -> list[tuple[str, str]]:
    return {
        "customers": [("day_customers", "update")],
        "parts": [("day_parts", "update")],
        "suppliers": [("day_suppliers", "update")],
        "part_suppliers": [("day_part_suppliers", "update")],
        "orders": [
            ("day_orders_sent", "insert"),
            (
                "(select o.* replace ('F' as o_orderstatus) from orders as o "
                "where o_orderkey in (select o_orderkey from day_completed))",
                "update",
            ),
        ],
        "order_lines": [("day_lines_sent", "insert"), ("day_completed_lines", "update")],
    }[entity]


def _tombstones(entity: str) -> str | None:
    """Delete rows carry only the key; every other column is null."""
    if entity == "orders":
        return "select o_orderkey from day_cancelled"
    if entity == "order_lines":
        return (
            "select l_orderkey, l_linenumber from order_lines "
            "where l_orderkey in (select o_orderkey from day_cancelled)"
        )
    return None


def _write_entity(state: ErpState, entity_name: str, batch_dir: Path) -> bool:
    entity = simulated_entity(entity_name)
    columns = ", ".join(entity.column_names)
    parts = [f"select {columns}, '{op}' as {OP_COLUMN} from {source}" for source, op in _change_sets(entity_name)]
    tombstone_source = _tombstones(entity_name)
    if tombstone_source is not None:
        nulled = ", ".join(name if name in entity.key else f"null as {name}" for name in entity.column_names)
        parts.append(f"select {nulled}, 'delete' as {OP_COLUMN} from ({tombstone_source}) as tombstones")
    query = " union all ".join(parts)
    rows = state.con.execute(f"select count(*) from ({query}) as changes").fetchone()[0]
    if rows == 0:
        return False
    path = str(batch_dir / entity.file_name).replace("'", "''")
    typed = ", ".join(f"cast({column.name} as {column.sql_type}) as {column.name}" for column in entity.columns)
    order_by = ", ".join(entity.key)
    state.con.execute(
        f"copy (select {typed}, {OP_COLUMN} from ({query}) as changes order by {order_by}, {OP_COLUMN}) "
        f"to '{path}' (format parquet)"
    )
    return True


def _apply(state: ErpState) -> None:
    """Advance the ERP's state past today's changes."""
    con = state.con
    con.execute("delete from order_lines where l_orderkey in (select o_orderkey from day_cancelled)")
    con.execute("delete from orders where o_orderkey in (select o_orderkey from day_cancelled)")
    con.execute("update orders set o_orderstatus = 'F' where o_orderkey in (select o_orderkey from day_completed)")
    con.execute(
        "delete from order_lines where l_orderkey in (select o_orderkey from day_completed);"
        "insert into order_lines select * from day_completed_lines;"
        "insert into orders select * from day_new_orders_full;"
        "insert into order_lines by name select * from day_new_lines;"
    )
    for table, key in (
        ("customers", "c_custkey"),
        ("parts", "p_partkey"),
        ("suppliers", "s_suppkey"),
    ):
        con.execute(f"delete from {table} where {key} in (select {key} from day_{table})")
        con.execute(f"insert into {table} select * from day_{table}")
    con.execute(
        "delete from part_suppliers where (ps_partkey, ps_suppkey) in "
        "(select (ps_partkey, ps_suppkey) from day_part_suppliers)"
    )
    con.execute("insert into part_suppliers select * from day_part_suppliers")


def _advance(
    state: ErpState, business_date: date, on_day: Callable[[date, duckdb.DuckDBPyConnection], None] | None
) -> None:
    """Move the ERP's state past the day, then show it to whoever follows the ERP day by day."""
    _apply(state)
    if on_day:
        on_day(business_date, state.con)


def generate_days(
    landing_dir: Path,
    export: Manifest,
    days: int,
    seed: int,
    dirty: bool = False,
    on_day: Callable[[date, duckdb.DuckDBPyConnection], None] | None = None,
) -> list[tuple[Manifest, bool]]:
    """Land `days` daily batches after the export; days already landed are kept as they are.

    `on_day(business_date, con)` is called after each day, landed or not, with the ERP's
    state past it in `con` (tables order_lines, orders, ...): what another simulated source
    sees of the ERP that day."""
    if days <= 0:
        return []
    state = ErpState(landing_dir / export.batch_id, seed)
    volumes = DayVolumes.for_scale(export.scale_factor)
    report = DirtyReport(seed)
    results = []
    for day in range(1, days + 1):
        business_date = export.business_date + timedelta(days=day)
        batch_id = f"{business_date:%Y%m%d}-{DAILY_KIND}"
        _new_orders(state, day, business_date, volumes)
        _cancelled_and_completed(state, day, business_date, volumes)
        _attribute_changes(state, day)
        if dirty:
            late_lines, late_headers = _hold_back(state, day)
        else:
            _send_all_new(state)
        if (landing_dir / batch_id / "manifest.json").is_file():
            # Already landed: the state must still move past it so later days match.
            _advance(state, business_date, on_day)
            results.append((read_manifest(landing_dir / batch_id), False))
            continue
        work_dir = landing_dir / f".{batch_id}-in-progress"
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        written = [name for name in DAILY_ENTITIES if _write_entity(state, name, work_dir)]
        _advance(state, business_date, on_day)
        if dirty:
            report.injections += late_arrival_injections(batch_id, late_lines, late_headers)
            report.injections += _spoil_files(work_dir, written, seed, day, batch_id)
        manifest = Manifest(
            batch_id=batch_id,
            batch_kind=DAILY_KIND,
            business_date=business_date,
            schema_version=SCHEMA_VERSION,
            scale_factor=export.scale_factor,
            generator=f"elt daily simulator, seed {seed}" + (", dirty" if dirty else ""),
            files=tuple(describe_file(work_dir, name, simulated_entity(name).file_name) for name in written),
        )
        fault = DELIVERY_FAULTS.get(day) if dirty else None
        if fault in BREAKING_FAULTS:
            corrected, injections = deliver_broken(landing_dir, work_dir, manifest, fault)
            # The day's rows load from the corrected delivery, so that is where their faults show.
            report.injections = [
                replace(item, batch_id=corrected.batch_id) if item.batch_id == batch_id else item
                for item in report.injections
            ] + injections
            manifest = corrected
        final_dir = landing_dir / manifest.batch_id
        if final_dir.exists():
            raise EltError(f"{final_dir} exists without a manifest (an interrupted delivery?); remove it and retry.")
        work_dir.rename(final_dir)
        write_manifest(final_dir, manifest)
        if dirty and day == RESENT_DAY:
            report.injections.append(resend(landing_dir, final_dir))
        results.append((manifest, True))
    if dirty:
        report.write(landing_dir)
    return results


def _spoil_files(work_dir: Path, written: list[str], seed: int, day: int, batch_id: str) -> list[Injection]:
    """Row faults in the day's files, and from the added column's day on, the added column."""
    injections = []
    added_day = next(number for number, kind in DELIVERY_FAULTS.items() if kind == "added_column")
    for name in written:
        path = work_dir / simulated_entity(name).file_name
        injections += spoil_rows(path, name, seed, day, batch_id)
        if name == ADDED_COLUMN[0] and day >= added_day:
            add_column(path, seed, day)
            if day == added_day:
                injections.append(
                    Injection(batch_id, "added_column", "accepted", name, (), "", f"new column {ADDED_COLUMN[1]}")
                )
    return injections
