"""The bad-input corpus (bad_inputs.py) on each engine: every case ends as the contract says, no row goes missing.

All cases land in one landing area per engine, each as its own batch a couple of days after
the previous one, and one `elt load` loads them all: a broken delivery is followed by its
corrected re-delivery (`replaces`), so its failure is recorded without holding up the cases
after it. Cases with a second step (a manifest landing late, a batch id reused) then run it
and load that batch alone.

What a case must show is checked against the landing files themselves (read here with
pyarrow), not against the loader's ledger: rows lost = rows in the landed files - rows in raw
- rows in the quarantine, for every delivery that must load.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import Query, Workspace, fresh_postgres_database, make_workspace, warehouse_query
from elt.entities import OP_COLUMN
from elt.sources import all_entities, erp_entities
from reliability.bad_inputs import (
    ACCEPTED,
    BATCH_FAILED,
    CASES,
    QUARANTINED,
    SKIPPED,
    WAITS,
    BadInput,
    Delivery,
    sha256_of,
)
from reliability.outcomes import engine_name, record

# Well after the export (1998-08-02) and its daily batches; two days per case leave room
# for a case's own first delivery the day before.
FIRST_CASE_DATE = date(2001, 1, 1)
ROWS_PER_CASE = 3
GOOD_ROW_ENTITIES = ("orders", "order_lines", "parts")
# What a failure message must tell the reader to do, in one of these words.
ACTIONS = ("Ask for", "ask for", "corrected delivery", "Reprocess", "Upgrade the loader")


@dataclass
class Landed:
    """A delivery that must end up loaded: its rows per entity, counted in the files here."""

    rows: dict[str, int]
    sha256: dict[str, str]


@dataclass
class Corpus:
    target: str
    workspace: Workspace
    query: Query
    deliveries: dict[str, Delivery] = field(default_factory=dict)  # case name -> its delivery
    must_load: dict[str, Landed] = field(default_factory=dict)  # batch id -> what was landed
    loads: list[subprocess.CompletedProcess[str]] = field(default_factory=list)
    loaded_by_first_load: set[str] = field(default_factory=set)
    second_steps: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    def one(self, sql: str):
        return self.query(sql)[0][0]

    def ledger(self) -> set[str]:
        return {row[0] for row in self.query("select distinct batch_id from audit.load_batches")}

    def failure(self, batch_id: str) -> str | None:
        rows = self.query(
            f"select error from audit.load_failures where batch_id = '{batch_id}' order by failed_at desc limit 1"
        )
        return rows[0][0] if rows else None

    def readable(self, message: str) -> str:
        """A message as the report shows it: one line, landing paths relative to the landing area."""
        return " ".join(message.replace(f"{self.workspace.landing_dir}/", "landing/").split())

    def rows_lost(self, batch_id: str) -> int:
        """Rows of the landed files of a batch that must load, found neither in raw nor in the quarantine."""
        lost = 0
        for entity, landed in self.must_load[batch_id].rows.items():
            in_raw = self.one(f"select count(*) from raw.erp_{entity} where _batch_id = '{batch_id}'")
            quarantined = self.one(
                f"select count(*) from audit.quarantine where batch_id = '{batch_id}' and entity = '{entity}'"
            )
            lost += landed - in_raw - quarantined
        return lost


def good_rows(export_dir: Path) -> dict[str, list[dict]]:
    """Enough of the export's rows for every case, each marked as a change file marks an insert."""
    needed = len(CASES) * ROWS_PER_CASE
    return {
        entity: [
            {**row, OP_COLUMN: "insert"}
            for row in pq.read_table(export_dir / f"{entity}.parquet").slice(0, needed).to_pylist()
        ]
        for entity in GOOD_ROW_ENTITIES
    }


def case_batch_id(position: int, case: BadInput) -> str:
    # A case with a second load comes after every other case's date: the loader refuses a
    # batch older than the newest loaded one (history loads in business-date order).
    if case.afterwards is not None:
        position += len(CASES)
    return f"{FIRST_CASE_DATE + timedelta(days=2 * position + 1):%Y%m%d}-{case.name}"


def corrected(case: BadInput) -> bool:
    """A broken delivery gets a corrected one, unless its failure comes from a second step."""
    return case.expected == BATCH_FAILED and case.afterwards is None


def subject_loads(case: BadInput) -> bool:
    return case.expected in (ACCEPTED, QUARANTINED, WAITS) or (
        case.expected == BATCH_FAILED and case.afterwards is not None
    )


def count_landed(delivery: Delivery) -> Landed:
    rows, sha256 = {}, {}
    for file_name, (entity, written) in delivery.files.items():
        path = delivery.batch_dir / file_name
        rows[entity] = pq.read_table(path).num_rows
        assert rows[entity] == written, f"{path}: the builder wrote {written} rows, the file holds {rows[entity]}"
        sha256[entity] = sha256_of(path)
    return Landed(rows, sha256)


def land(corpus: Corpus, export_dir: Path) -> None:
    landing = corpus.workspace.landing_dir
    rows = good_rows(export_dir)
    for position, case in enumerate(CASES):
        own_rows = {
            entity: rows[entity][position * ROWS_PER_CASE : (position + 1) * ROWS_PER_CASE]
            for entity in GOOD_ROW_ENTITIES
        }
        delivery = Delivery(landing, case_batch_id(position, case), own_rows)
        case.deliver(delivery)
        corpus.deliveries[case.name] = delivery
        for prior in delivery.priors:
            corpus.must_load[prior.batch_id] = count_landed(prior)
        if subject_loads(case):
            corpus.must_load[delivery.batch_id] = count_landed(delivery)
        if corrected(case):
            correction = Delivery(landing, f"{delivery.batch_id}-fixed", own_rows)
            correction.write(case.entity, correction.rows(case.entity))
            correction.seal(replaces=delivery.batch_id)
            corpus.must_load[correction.batch_id] = count_landed(correction)


@pytest.fixture(scope="module", params=["dev", "pg"])
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, landed_export: Path
) -> Iterator[Corpus]:
    target = request.param
    workspace = make_workspace(tmp_path_factory.mktemp(f"bad-inputs-{target}"))
    with ExitStack() as cleanup:
        if target == "pg":
            server = request.getfixturevalue("postgres_server")
            workspace.env.update(cleanup.enter_context(fresh_postgres_database(server)))
        corpus = Corpus(target, workspace, warehouse_query(target, workspace.env))
        export_dir = next(path for path in landed_export.iterdir() if path.name.endswith("-export"))
        land(corpus, export_dir)

        corpus.loads.append(workspace.elt("load", "--target", target, check=False))
        corpus.loaded_by_first_load = corpus.ledger()
        for case in CASES:
            if case.afterwards is not None:
                delivery = corpus.deliveries[case.name]
                case.afterwards(delivery)
                result = workspace.elt("load", "--target", target, "--batch", delivery.batch_id, check=False)
                corpus.loads.append(result)
                corpus.second_steps[case.name] = result
        yield corpus


# --- what each case must show ------------------------------------------------------------------


def observe(corpus: Corpus, case: BadInput) -> str:
    """What happened to the case's delivery, read from the warehouse and the loader's output."""
    batch_id = corpus.deliveries[case.name].batch_id
    failure = corpus.failure(batch_id)
    if failure is not None:
        return f"{BATCH_FAILED}: {corpus.readable(failure)}"
    ledger = corpus.ledger()
    if batch_id in ledger and batch_id not in corpus.loaded_by_first_load:
        return f"{WAITS}: not a batch at the first load, loaded once its manifest landed"
    if batch_id in ledger:
        rows_in = corpus.one(f"select sum(rows_in) from audit.load_batches where batch_id = '{batch_id}'")
        reasons = corpus.query(
            f"select distinct reasons from audit.quarantine where batch_id = '{batch_id}' order by reasons"
        )
        if reasons:
            quarantined = corpus.one(f"select count(*) from audit.quarantine where batch_id = '{batch_id}'")
            shown = "; ".join(corpus.readable(reason) for (reason,) in reasons)
            return f"{QUARANTINED} {quarantined} of {rows_in} rows: {shown[:300]}"
        return f"{ACCEPTED}: {rows_in} of {rows_in} rows in raw"
    said = " ".join(corpus.loads[0].stdout.split())
    if f"{batch_id}: same content as" in said:
        return f"{SKIPPED}: {said.split(f'{batch_id}: ', 1)[1].split(', already loaded')[0]}, already loaded"
    return "not loaded, and no failure recorded"


def batches_that_must_load(corpus: Corpus, case: BadInput) -> list[str]:
    delivery = corpus.deliveries[case.name]
    candidates = [*(prior.batch_id for prior in delivery.priors), delivery.batch_id, f"{delivery.batch_id}-fixed"]
    return [batch_id for batch_id in candidates if batch_id in corpus.must_load]


def stored_values(corpus: Corpus, case: BadInput, columns: tuple[str, ...]) -> dict[int, tuple]:
    batch_id = corpus.deliveries[case.name].batch_id
    rows = corpus.query(
        f"select _source_row, {', '.join(columns)} from raw.erp_{case.entity} "
        f"where _batch_id = '{batch_id}' order by _source_row"
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def delivered_values(corpus: Corpus, case: BadInput, columns: tuple[str, ...]) -> dict[int, tuple]:
    path = corpus.deliveries[case.name].batch_dir / f"{case.entity}.parquet"
    rows = pq.read_table(path, columns=list(columns)).to_pylist()
    return {position: tuple(row[name] for name in columns) for position, row in enumerate(rows, start=1)}


def same_value(delivered, stored) -> bool:
    """Exactly the delivered value: text compared as UTF-8 bytes, numbers and dates by value."""
    if isinstance(delivered, bytes):
        return isinstance(stored, str) and stored.encode() == delivered
    if isinstance(delivered, str):
        return isinstance(stored, str) and stored.encode() == delivered.encode()
    return delivered == stored and (delivered is None) == (stored is None)


def assert_unchanged(corpus: Corpus, case: BadInput, quarantined_rows: set[int]) -> None:
    columns = case.unchanged
    if not columns:
        return
    delivered = delivered_values(corpus, case, columns)
    stored = stored_values(corpus, case, columns)
    assert set(stored) == set(delivered) - quarantined_rows
    for source_row, values in stored.items():
        for name, want, got in zip(columns, delivered[source_row], values, strict=True):
            assert same_value(want, got), (case.name, source_row, name, repr(want)[:200], repr(got)[:200])


def check_quarantined(corpus: Corpus, case: BadInput) -> None:
    delivery = corpus.deliveries[case.name]
    rows = corpus.query(
        f"select entity, source_row, reasons, record from audit.quarantine where batch_id = '{delivery.batch_id}'"
    )
    assert {entity for entity, *_ in rows} == {case.entity}
    by_row = {source_row: (reasons, record) for _, source_row, reasons, record in rows}
    assert set(by_row) == set(case.quarantined), by_row
    file_columns = pq.read_schema(delivery.batch_dir / f"{case.entity}.parquet").names
    for source_row, fragment in case.quarantined.items():
        reasons, record_text = by_row[source_row]
        assert fragment in reasons, (source_row, reasons)
        # The row is kept whole, every column as the file had it.
        assert list(json.loads(record_text)) == file_columns
    assert_unchanged(corpus, case, set(case.quarantined))


def check_accepted(corpus: Corpus, case: BadInput) -> None:
    batch_id = corpus.deliveries[case.name].batch_id
    assert corpus.one(f"select count(*) from audit.quarantine where batch_id = '{batch_id}'") == 0
    assert_unchanged(corpus, case, set())


def check_batch_failed(corpus: Corpus, case: BadInput) -> None:
    batch_id = corpus.deliveries[case.name].batch_id
    message = " ".join(corpus.failure(batch_id).split())
    for fragment in case.message:
        assert fragment in message, (fragment, message)
    assert batch_id in message, "the message must say which batch (its directory or file)"
    assert any(action in message for action in ACTIONS), f"the message does not say what to do: {message}"
    # Nothing of the failed delivery was written: raw, quarantine and ledger hold for its id
    # exactly what an earlier, good delivery under that id put there (if there was one).
    landed = corpus.must_load.get(batch_id)
    in_raw = sum(
        corpus.one(f"select count(*) from raw.{entity.raw_table} where _batch_id = '{batch_id}'")
        for entity in erp_entities()
    )
    ledger = dict(corpus.query(f"select entity, file_sha256 from audit.load_batches where batch_id = '{batch_id}'"))
    if landed is None:
        assert in_raw == 0 and ledger == {}
        assert corpus.one(f"select count(*) from audit.quarantine where batch_id = '{batch_id}'") == 0
        assert f"{batch_id}-fixed" in corpus.ledger(), "the corrected delivery did not load"
    else:
        assert in_raw == sum(landed.rows.values()) and ledger == landed.sha256


def check_skipped(corpus: Corpus, case: BadInput) -> None:
    delivery = corpus.deliveries[case.name]
    assert delivery.batch_id not in corpus.ledger() and corpus.failure(delivery.batch_id) is None
    assert delivery.priors[0].batch_id in observe(corpus, case)


def check_waits(corpus: Corpus, case: BadInput) -> None:
    assert corpus.second_steps[case.name].returncode == 0, corpus.second_steps[case.name].stderr


CHECKS: dict[str, Callable[[Corpus, BadInput], None]] = {
    QUARANTINED: check_quarantined,
    ACCEPTED: check_accepted,
    BATCH_FAILED: check_batch_failed,
    SKIPPED: check_skipped,
    WAITS: check_waits,
}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_ends_as_the_contract_says(corpus: Corpus, case: BadInput) -> None:
    observed = observe(corpus, case)
    rows_lost = sum(corpus.rows_lost(batch_id) for batch_id in batches_that_must_load(corpus, case))
    record("input", case.name, engine_name(corpus.target), case.expected, observed, rows_lost)
    assert observed.startswith(case.expected), observed
    assert rows_lost == 0
    CHECKS[case.expected](corpus, case)


def test_every_load_ends_without_a_stack_trace(corpus: Corpus) -> None:
    first = corpus.loads[0]
    assert first.returncode == 0, first.stderr[-3000:]
    for result in corpus.loads:
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
    for name, result in corpus.second_steps.items():
        case = next(case for case in CASES if case.name == name)
        assert result.returncode == (1 if case.expected == BATCH_FAILED else 0), result.stderr[-3000:]


def test_only_the_deliveries_that_must_load_reached_the_warehouse(corpus: Corpus) -> None:
    """After the injection attempts every table is still there, and nothing else was written."""
    tables = set(
        corpus.query(
            "select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'audit')"
        )
    )
    # The loader creates every registered source's raw tables, whichever sources deliver.
    expected_tables = {("raw", entity.raw_table) for entity in all_entities()}
    expected_tables |= {("audit", "load_batches"), ("audit", "load_failures"), ("audit", "quarantine")}
    assert tables == expected_tables
    in_raw = set()
    for entity in erp_entities():
        in_raw |= {row[0] for row in corpus.query(f"select distinct _batch_id from raw.erp_{entity.name}")}
    quarantined = {row[0] for row in corpus.query("select distinct batch_id from audit.quarantine")}
    assert corpus.ledger() == set(corpus.must_load)
    assert in_raw | quarantined <= set(corpus.must_load)
    landed = sum(sum(item.rows.values()) for item in corpus.must_load.values())
    stored = sum(corpus.one(f"select count(*) from raw.erp_{entity.name}") for entity in erp_entities())
    assert stored + corpus.one("select count(*) from audit.quarantine") == landed


def test_the_corpus_covers_every_outcome() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)) >= 30
    assert {case.expected for case in CASES} == set(CHECKS)
    for case in CASES:
        assert (case.expected == QUARANTINED) == bool(case.quarantined), case.name
        assert (case.expected == BATCH_FAILED) == bool(case.message), case.name
