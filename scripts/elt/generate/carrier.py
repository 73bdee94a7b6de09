"""A carrier's shipment-tracking events, simulated: the JSON Lines feed a parcel carrier sends.

The carrier moves the ERP's order lines shipped by TRUCK or RAIL. Each line it carries is
one shipment with a tracking number; its scans are events: `picked_up` on the ERP's ship
date, `in_transit` on some days between, an `exception` on a few of those, and `delivered`
on the ERP's receipt date. One file a day (source `carrier`,
models/staging/carrier/_carrier__sources.yml), landed as batch `<date>-carrier`.

What the carrier knows on a day follows the ERP's state that day (the daily simulator's,
not its possibly dirty deliveries): a day's file holds the events it knows then and did not
know the day before. The carrier took the freight on 60 days before the export: its first
file, on the export's business date, is the backfill of every shipment picked up since. A
shipment once delivered is closed: when the ERP completes an order later, booking its
receipt on that day, the carrier's delivery stays where it was (rpt_carrier_on_time_delivery
counts such shipments).

The feed is as such feeds are, dirty or not: a file's events are in no particular order; an
order the ERP completes today was shipped yesterday by its account, so that pick-up arrives
a day late; 5% of scans reach the carrier's system one to three days late; 1% of events are
sent again the next day, and a few twice in one file (the loader quarantines the copy).

With --dirty, the day after the export carries events the contract refuses (quarantined):
an event type the contract does not know, timestamps with a UTC offset, an event without
its order key; and on the second day the carrier's export stops halfway through the file's
last line (the batch fails), then sends it whole the same day as a corrected delivery.

Every random choice is md5 of (seed, purpose, event or line), so the same arguments give
the same files, and a day's file depends only on the days up to it. Tracking numbers and
event ids name the line and the scan, whatever the seed.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from elt.generate.manifest import MANIFEST_NAME, Manifest, read_manifest, sha256_of, write_manifest
from elt.land import land_files

CARRIER = "carrier"
EVENTS_KIND = "daily"
EVENTS_FILE = "shipment_events.jsonl"
CARRIED_MODES = ("TRUCK", "RAIL")
# The carrier took the shipper's TRUCK and RAIL freight on from this many days before the
# export; its first file is the backfill of every shipment since.
CARRIED_DAYS_BEFORE_EXPORT = 60
# Of the days a shipment is between pick-up and delivery, the share with a scan, and of
# those the share that is an exception instead.
SCAN_RATE, EXCEPTION_RATE = 0.25, 0.08
LATE_RATE, RESENT_RATE, DOUBLED_RATE = 0.05, 0.01, 0.005
EXCEPTION_CODES = ("ADDRESS_QUERY", "WEATHER_DELAY", "DAMAGED_LABEL", "RECIPIENT_ABSENT")
HUBS = ("Antwerp", "Chicago", "Dubai", "Johannesburg", "Lima", "Mumbai", "Rotterdam", "Sao Paulo", "Shanghai")
# --dirty, by day after the export.
REFUSED_EVENTS_DAY, CUT_OFF_DAY = 1, 2

CARRIED_LINES = f"""
    select l_orderkey, l_linenumber, l_shipdate, l_receiptdate
    from order_lines
    where l_shipmode in ({", ".join(f"'{mode}'" for mode in CARRIED_MODES)})
"""


class CarrierFeed:
    """The carrier's view of the ERP, advanced one day at a time, and the files it sends."""

    def __init__(self, landing_dir: Path, export: Manifest, seed: int, dirty: bool) -> None:
        self.landing_dir = landing_dir
        self.first_day = export.business_date
        self.seed = seed
        self.dirty = dirty
        self.results: list[tuple[Manifest, bool]] = []
        self.con = duckdb.connect()
        self.con.execute("set threads = 1")  # ordered single-threaded writes: the same bytes every time
        event_columns = (
            "event_id varchar, order_key bigint, line_number integer, event_type varchar, event_day date, "
            "event_at timestamp, exception_code varchar, location varchar"
        )
        # Every event the carrier knows, and those waiting for the day they reach its feed.
        self.con.execute(f"create table known ({event_columns})")
        self.con.execute(f"create table outbox (delivery_day date, copies integer, {event_columns})")
        with duckdb.connect() as export_con:
            path = _quoted(landing_dir / export.batch_id / "order_lines.parquet")
            export_con.execute(f"create view order_lines as select * from read_parquet('{path}')")
            self.advance(self.first_day, export_con)

    def random(self, purpose: str, key_sql: str, day_sql: str = "event_day") -> str:
        """SQL for a number in [0, 1) fixed by purpose, key and seed; for a scan on or before the
        export's day by purpose and key alone, since the backfill, like the ERP's export,
        is the same whatever seed the days after it are generated with."""
        salt = f"case when {day_sql} <= date '{self.first_day}' then 'export' else '{self.seed}' end"
        return f"(cast(md5_number({salt} || ':carrier:{purpose}:' || {key_sql}) % 1000000 as double) / 1000000)"

    def advance(self, day: date, erp: duckdb.DuckDBPyConnection) -> None:
        """The ERP's state after `day` (its connection has table order_lines): send that day's file."""
        lines = erp.execute(CARRIED_LINES).to_arrow_table()
        self.con.register("carried_lines", lines)
        self._learn(day)
        self.con.unregister("carried_lines")
        self._send(day)

    def _learn(self, day: date) -> None:
        """Events the carrier knows by `day` and did not know before, queued for their delivery days."""
        line_key = "cast(l_orderkey as varchar) || '-' || cast(l_linenumber as varchar)"
        scan = self.random("scan", f"{line_key} || '@' || cast(scan_day as varchar)", "scan_day")
        exception = self.random("exception", f"{line_key} || '@' || cast(scan_day as varchar)", "scan_day")
        carrier_start = self.first_day - timedelta(days=CARRIED_DAYS_BEFORE_EXPORT)
        self.con.execute(
            f"""
            create or replace temp table known_now as
            with lines as (
                -- A shipment once delivered is closed: a receipt the ERP books later changes no scan.
                select * from carried_lines
                where l_shipdate between date '{carrier_start}' and date '{day}'
                    and (l_orderkey, l_linenumber) not in (
                        select (order_key, line_number) from known where event_type = 'delivered'
                    )
            ),
            scan_days as (
                select lines.*, l_shipdate + cast(offsets.days as integer) as scan_day
                from lines
                cross join range(1, 31) as offsets (days)
            ),
            scans as (
                select * from scan_days
                where scan_day < l_receiptdate and scan_day <= date '{day}'
            ),
            events as (
                select l_orderkey, l_linenumber, 'picked_up' as event_type, l_shipdate as event_day from lines
                union all
                select l_orderkey, l_linenumber,
                    case when {exception} < {EXCEPTION_RATE} then 'exception' else 'in_transit' end, scan_day
                from scans
                where {scan} < {SCAN_RATE}
                union all
                select l_orderkey, l_linenumber, 'delivered', l_receiptdate from lines
                where l_receiptdate <= date '{day}'
            ),
            identified as (
                select
                    *,
                    'EV' || upper(left(md5('event:' || {line_key} || ':' || event_type || ':'
                        || cast(event_day as varchar)), 14)) as event_id
                from events
            )
            select
                event_id,
                l_orderkey as order_key,
                l_linenumber as line_number,
                event_type,
                event_day,
                event_day + to_seconds(cast(floor(
                    (case event_type when 'delivered' then 8 else 6 end) * 3600
                    + {self.random("time", "event_id")} * 12 * 3600) as bigint)) as event_at,
                case when event_type = 'exception'
                    then {_choice(EXCEPTION_CODES, self.random("code", "event_id"))} end as exception_code,
                case event_type
                    when 'picked_up' then {_choice(HUBS, self.random("origin", line_key))}
                    when 'delivered' then {_choice(HUBS, self.random("destination", line_key))}
                    else {_choice(HUBS, self.random("hub", "event_id"))}
                end as location
            from identified
            """
        )
        # The backfill arrives whole on its day; a later scan may reach the carrier's system late
        # (by 1 to 3 days: the late share spread over three).
        late = self.random("late", "event_id")
        lag = f"cast(case when {late} < {LATE_RATE} then 1 + floor({late} * {3 / LATE_RATE:g}) else 0 end as integer)"
        if day == self.first_day:
            lag = "0"
        self.con.execute(
            f"""
            create or replace temp table learnt as
            select * from known_now where event_id not in (select event_id from known);
            insert into known select * from learnt;
            insert into outbox select date '{day}' + {lag}, 1, * from learnt;
            insert into outbox select date '{day}' + {lag} + 1, 1, * from learnt
            where {self.random("resent", "event_id")} < {RESENT_RATE};
            update outbox set copies = 2
            where delivery_day = date '{day}' and {self.random("doubled", "event_id")} < {DOUBLED_RATE}
            """
        )

    def _send(self, day: date) -> None:
        """The day's file, unless it is landed already (or the carrier has nothing to say that day)."""
        landed = sorted(self.landing_dir.glob(f"{day:%Y%m%d}-{CARRIER}*/{MANIFEST_NAME}"))
        if landed:
            self.results += [(read_manifest(path.parent), False) for path in landed]
        else:
            self._land_day(day, self._records(day))
        self.con.execute(f"delete from outbox where delivery_day <= date '{day}'")

    def _land_day(self, day: date, records: pa.Table) -> None:
        if not records.num_rows:
            return
        after_export = (day - self.first_day).days
        if self.dirty and after_export == REFUSED_EVENTS_DAY:
            records = self._refused_events(records)
        if self.dirty and after_export == CUT_OFF_DAY:
            cut_off = self._land(day, records, cut_off=True)
            self.results.append((cut_off, True))
            self.results.append((self._land(day, records, replaces=cut_off.batch_id), True))
            return
        self.results.append((self._land(day, records), True))

    def _records(self, day: date) -> pa.Table:
        return self.con.execute(
            f"""
            select
                event_id,
                {self._tracking_number()} as tracking_number,
                order_key,
                line_number,
                event_type,
                strftime(event_at, '%Y-%m-%dT%H:%M:%SZ') as event_at,
                location,
                exception_code
            from outbox
            cross join unnest(range(copies)) as copy (number)
            where delivery_day = date '{day}'
            order by md5(event_id), copy.number
            """
        ).to_arrow_table()

    def _tracking_number(self) -> str:
        line = "cast(order_key as varchar) || '-' || cast(line_number as varchar)"
        return f"'1C' || upper(left(md5('tracking:' || {line}), 16))"

    def _refused_events(self, records: pa.Table) -> pa.Table:
        """Three kinds of event the contract refuses, in place of some of the day's events."""
        rows = records.to_pylist()
        if len(rows) < 5:
            return records
        rows[0]["event_type"] = "out_for_delivery"  # a type the contract does not know
        rows[1]["event_type"] = "out_for_delivery"
        for row in rows[2:4]:  # local time with its UTC offset, not UTC
            row["event_at"] = row["event_at"].replace("Z", "+02:00")
        rows[4]["order_key"] = None  # which order line the scan is for: lost
        return pa.Table.from_pylist(rows, schema=records.schema)

    def _generator(self, day: date) -> str:
        if day == self.first_day:  # the backfill: the same whatever the seed
            return "elt generate (carrier)"
        return f"elt generate (carrier), seed {self.seed}" + (", dirty" if self.dirty else "")

    def _land(self, day: date, records: pa.Table, cut_off: bool = False, replaces: str | None = None) -> Manifest:
        with tempfile.TemporaryDirectory(prefix="elt-carrier-") as scratch:
            path = Path(scratch) / EVENTS_FILE
            self.con.register("records", records)
            self.con.execute(f"copy (select * from records) to '{_quoted(path)}' (format json)")
            self.con.unregister("records")
            manifest = land_files(
                self.landing_dir,
                CARRIER,
                path,
                day,
                replaces=replaces,
                batch_kind=EVENTS_KIND,
                generator=self._generator(day),
            )
        return _cut_off(manifest, self.landing_dir) if cut_off else manifest


def _cut_off(manifest: Manifest, landing_dir: Path) -> Manifest:
    """The carrier's export stopped halfway through the file's last line, and its manifest was
    sealed over what was written (the rows it meant to send, the checksum of the bytes there)."""
    batch_dir = landing_dir / manifest.batch_id
    (listed,) = manifest.files
    path = batch_dir / listed.path
    text = path.read_bytes().rstrip(b"\n")
    last_line = text.rfind(b"\n") + 1
    path.write_bytes(text[: last_line + (len(text) - last_line) // 2])
    files = (replace(listed, sha256=sha256_of(path), bytes=path.stat().st_size),)
    write_manifest(batch_dir, replace(manifest, files=files))
    return read_manifest(batch_dir)


def _choice(options: tuple[str, ...], number_sql: str) -> str:
    listed = ", ".join(f"'{option}'" for option in options)
    return f"[{listed}][1 + cast(floor({number_sql} * {len(options)}) as integer)]"


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
