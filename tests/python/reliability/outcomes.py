"""What the reliability tests tried and what they saw, gathered into docs/reliability.md.

Each fault-injection or bad-input test calls `record(...)` with what it measured: the
outcome it observed and the rows it lost (counted by the test against an independent
expectation, never assumed). At the end of a session that ran every reliability test and
saw all of them pass, `write_report` renders the summary table in docs/reliability.md, so
the table always describes a real, complete, green run.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RELIABILITY_DIR = Path(__file__).resolve().parent
PROJECT_DIR = RELIABILITY_DIR.parents[2]
REPORT_PATH = PROJECT_DIR / "docs" / "reliability.md"


@dataclass(frozen=True)
class Outcome:
    kind: str  # "fault", "trial" (a randomized sequence of faults) or "input"
    case: str  # what was tried, in a few words
    engine: str  # duckdb or postgres
    expected: str  # the outcome the case must have: quarantined, batch failed, accepted, recovered
    observed: str  # what the test saw
    rows_lost: int  # rows of the landing files found neither in raw nor in the quarantine


RECORDED: list[Outcome] = []


def record(kind: str, case: str, engine: str, expected: str, observed: str, rows_lost: int) -> None:
    if kind not in ("fault", "trial", "input"):
        raise ValueError(f"kind must be fault, trial or input, not {kind!r}")
    RECORDED.append(Outcome(kind, case, engine, expected, observed, rows_lost))


def engine_name(target: str) -> str:
    return "postgres" if target == "pg" else "duckdb"


def _commit() -> str:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or "unknown"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(outcomes: list[Outcome]) -> str:
    faults = [item for item in outcomes if item.kind == "fault"]
    trials = [item for item in outcomes if item.kind == "trial"]
    inputs = [item for item in outcomes if item.kind == "input"]
    lost = sum(item.rows_lost for item in outcomes)
    engines = sorted({item.engine for item in outcomes})
    lines = [
        "# Reliability: what the tests tried",
        "",
        "Written by the test suite (`make test`, tests/python/reliability/) at the end of a",
        "session in which every reliability test ran and passed; do not edit by hand.",
        f"Last written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {_commit()}.",
        "",
        "| | tried | engines | rows lost |",
        "|---|---:|---|---:|",
        f"| faults injected | {len({item.case for item in faults})} cases, {len(faults)} runs | "
        f"{', '.join(engines)} | {sum(item.rows_lost for item in faults)} |",
        f"| randomized trials (kills at every named point and at random moments) | {len(trials)} trials | "
        f"{', '.join(sorted({item.engine for item in trials}))} | {sum(item.rows_lost for item in trials)} |",
        f"| bad inputs | {len({item.case for item in inputs})} cases, {len(inputs)} runs | "
        f"{', '.join(engines)} | {sum(item.rows_lost for item in inputs)} |",
        f"| **all** | {len(outcomes)} runs | | **{lost}** |",
        "",
    ]
    for title, items in (("Faults", faults), ("Randomized trials", trials), ("Bad inputs", inputs)):
        lines += [f"## {title}", "", "| case | engine | expected | observed | rows lost |", "|---|---|---|---|---:|"]
        for item in sorted(items, key=lambda outcome: (outcome.case, outcome.engine)):
            lines.append(
                f"| {_cell(item.case)} | {item.engine} | {_cell(item.expected)} | {_cell(item.observed)} | "
                f"{item.rows_lost} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_report(outcomes: list[Outcome]) -> None:
    REPORT_PATH.write_text(render(outcomes))
