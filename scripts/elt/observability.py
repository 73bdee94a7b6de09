"""Run history: what every `elt run` did, kept in the warehouse for `elt status` and dashboards.

One row per run in audit.run_history (status, batches, rows, quarantine rate, completeness,
tests, the version published) and one row per dbt node per build in audit.run_node_results
(dbt's run_results.json: status, seconds, rows affected, failures). A failed run is recorded
too, with its error, before the error reaches the operator.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from elt.load.warehouse import Warehouse

RUN_HISTORY_TABLE = "audit.run_history"
NODE_RESULTS_TABLE = "audit.run_node_results"

CREATE_STATEMENTS = (
    f"""create table if not exists {RUN_HISTORY_TABLE} (
        run_id varchar(36) not null primary key,
        target varchar(64) not null,
        started_at timestamp not null,
        finished_at timestamp not null,
        status varchar(16) not null,
        batches_loaded integer not null,
        batches_failed integer not null,
        rows_in bigint not null,
        rows_loaded bigint not null,
        rows_quarantined bigint not null,
        quarantine_rate double precision,
        completeness double precision,
        dbt_builds integer not null,
        models_built integer not null,
        tests_passed integer not null,
        tests_warned integer not null,
        tests_failed integer not null,
        published_version integer,
        stage_seconds varchar(1000),
        error varchar(4000)
    )""",
    f"""create table if not exists {NODE_RESULTS_TABLE} (
        run_id varchar(36) not null,
        build_number integer not null,
        unique_id varchar(500) not null,
        resource_type varchar(32) not null,
        status varchar(32) not null,
        execution_seconds double precision not null,
        rows_affected bigint,
        failures bigint,
        message varchar(4000),
        primary key (run_id, build_number, unique_id)
    )""",
)

MODEL_TYPES = ("model", "snapshot", "seed")
TEST_TYPES = ("test", "unit_test")


@dataclass
class RunRecord:
    target: str
    started_at: datetime
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # (batch status, rows in, rows loaded, rows quarantined) per batch the loader handled
    batches: list[tuple[str, int, int, int]] = field(default_factory=list)
    # dbt's run_results.json documents, one per build, in order
    builds: list[dict] = field(default_factory=list)
    published_version: int | None = None
    # wall seconds of each stage that ran: generate, load + build, publish, docs
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def add_build(self, run_results_path: Path) -> None:
        if run_results_path.is_file():
            self.builds.append(json.loads(run_results_path.read_text()))


def _node_rows(record: RunRecord) -> list[tuple]:
    rows = []
    for build_number, document in enumerate(record.builds, start=1):
        for result in document.get("results", []):
            unique_id = result["unique_id"]
            adapter_response = result.get("adapter_response") or {}
            rows.append(
                (
                    record.run_id,
                    build_number,
                    unique_id,
                    unique_id.split(".", 1)[0],
                    result["status"],
                    float(result.get("execution_time") or 0.0),
                    adapter_response.get("rows_affected"),
                    result.get("failures"),
                    (result.get("message") or "")[:4000] or None,
                )
            )
    return rows


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def history_row(record: RunRecord, nodes: list[tuple], finished_at: datetime, error: str | None) -> tuple:
    statuses = [(row[3], row[4]) for row in nodes]
    rows_in = sum(batch[1] for batch in record.batches)
    rows_loaded = sum(batch[2] for batch in record.batches)
    rows_quarantined = sum(batch[3] for batch in record.batches)
    return (
        record.run_id,
        record.target,
        record.started_at,
        finished_at,
        "failed" if error else "success",
        sum(batch[0] == "loaded" for batch in record.batches),
        sum(batch[0] == "failed" for batch in record.batches),
        rows_in,
        rows_loaded,
        rows_quarantined,
        _ratio(rows_quarantined, rows_in),
        # Completeness: of the rows the manifests promised (each file's count is checked against
        # its manifest before loading), the share that reached raw.
        _ratio(rows_loaded, rows_in),
        len(record.builds),
        sum(kind in MODEL_TYPES and status == "success" for kind, status in statuses),
        sum(kind in TEST_TYPES and status == "pass" for kind, status in statuses),
        sum(kind in TEST_TYPES and status == "warn" for kind, status in statuses),
        sum(kind in TEST_TYPES and status in ("fail", "error") for kind, status in statuses),
        record.published_version,
        json.dumps({name: round(seconds, 3) for name, seconds in record.stage_seconds.items()}),
        error[:4000] if error else None,
    )


def write_run(warehouse: Warehouse, record: RunRecord, finished_at: datetime, error: str | None) -> None:
    nodes = _node_rows(record)
    warehouse.append_rows(
        CREATE_STATEMENTS,
        {RUN_HISTORY_TABLE: [history_row(record, nodes, finished_at, error)], NODE_RESULTS_TABLE: nodes},
    )
