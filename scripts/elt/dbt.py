"""dbt, invoked in-process: one interpreter for the whole run, so dbt parses once."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from elt.errors import EltError


@dataclass(frozen=True)
class DbtSummary:
    command: str
    passed: int
    failed: int
    skipped: int
    warned: int
    seconds: float


def _summarise(command: str, run_results_path: Path) -> DbtSummary:
    if not run_results_path.is_file():
        return DbtSummary(command, 0, 0, 0, 0, 0.0)
    document = json.loads(run_results_path.read_text())
    statuses = [result["status"] for result in document.get("results", [])]
    return DbtSummary(
        command=command,
        passed=sum(status in ("success", "pass") for status in statuses),
        failed=sum(status in ("error", "fail", "runtime error") for status in statuses),
        skipped=sum(status == "skipped" for status in statuses),
        warned=sum(status == "warn" for status in statuses),
        seconds=float(document.get("elapsed_time", 0.0)),
    )


def run_dbt(project_dir: Path, target: str, *args: str) -> DbtSummary:
    """Run one dbt command against `target`; raises EltError with where to look when it fails."""
    from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

    command = [*args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target", target]
    result = dbtRunner().invoke(command)
    target_path = Path(project_dir) / os.environ.get("DBT_TARGET_PATH", "target")
    summary = _summarise(" ".join(args), target_path / "run_results.json")
    if not result.success:
        reason = f": {result.exception}" if result.exception else ""
        raise EltError(
            f"`dbt {' '.join(args)}` failed on target {target}{reason}. "
            f"{summary.failed} node(s) failed; the dbt output above names them, and "
            "target/run_results.json and logs/dbt.log have the details."
        )
    return summary
