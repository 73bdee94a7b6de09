"""What `elt status` reads besides the batches: published versions, recent runs, freshness."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import yaml

from elt.load.warehouse import Warehouse, utc_now

SOURCES_YAML = Path("models/staging/erp/_erp__sources.yml")

VERSIONS = """
    select version, schema_name, status, published_at, status_changed_at
    from audit.publish_log order by version desc
"""
RUNS = """
    select started_at, status, finished_at, batches_loaded, batches_failed, rows_in, rows_quarantined,
        completeness, tests_failed, published_version, error
    from audit.run_history order by started_at desc limit {limit}
"""
NEWEST_LOAD = "select max(finished_at), max(business_date) from audit.load_batches"


def _table_exists(warehouse: Warehouse, schema: str, table: str) -> bool:
    # Both names are constants of this module, never input.
    found = warehouse.query(
        f"select count(*) from information_schema.tables where table_schema = '{schema}' and table_name = '{table}'"
    )
    return found[0][0] > 0


def published_versions(warehouse: Warehouse) -> list[tuple]:
    return warehouse.query(VERSIONS) if _table_exists(warehouse, "audit", "publish_log") else []


def recent_runs(warehouse: Warehouse, limit: int = 5) -> list[tuple[str, ...]]:
    if not _table_exists(warehouse, "audit", "run_history"):
        return []
    rows = []
    for row in warehouse.query(RUNS.format(limit=int(limit))):
        started, state, finished, loaded, failed, rows_in, quarantined, completeness, tests_failed, version, error = row
        rows.append(
            (
                f"{started:%Y-%m-%d %H:%M}",
                state if state == "success" else f"[red]{state}[/]",
                f"{(finished - started).total_seconds():.0f}",
                f"{loaded}" + (f" ({failed} failed)" if failed else ""),
                f"{rows_in:,}",
                f"{quarantined:,}",
                f"{completeness:.3%}" if completeness is not None else "",
                str(tests_failed),
                str(version or ""),
                (error or "")[:120],
            )
        )
    return rows


def freshness_thresholds(project_dir: Path) -> tuple[timedelta, timedelta]:
    """The warn and error ages the ERP source declares (the same ones `dbt source freshness` checks)."""
    source = yaml.safe_load((project_dir / SOURCES_YAML).read_text())["sources"][0]
    freshness = source["config"]["freshness"]

    def age(rule: dict) -> timedelta:
        return timedelta(**{f"{rule['period']}s": rule["count"]})

    return age(freshness["warn_after"]), age(freshness["error_after"])


def freshness_line(warehouse: Warehouse, project_dir: Path) -> str:
    warn_after, error_after = freshness_thresholds(project_dir)
    newest_load, newest_business_date = warehouse.query(NEWEST_LOAD)[0]
    if newest_load is None:
        return "[red]Freshness: nothing loaded yet.[/]"
    age = utc_now() - newest_load
    hours = age.total_seconds() / 3600
    verdict = "[red]ERROR[/]" if age > error_after else "[yellow]WARN[/]" if age > warn_after else "[green]OK[/]"
    return (
        f"Freshness {verdict}: the newest batch (business date {newest_business_date}) was loaded "
        f"{hours:.1f} h ago; warn after {warn_after.total_seconds() / 3600:.0f} h, "
        f"error after {error_after.total_seconds() / 3600:.0f} h (models/staging/erp/_erp__sources.yml)."
    )
