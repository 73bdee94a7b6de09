"""What `elt status` reads besides the batches: published versions, recent runs, freshness."""

from __future__ import annotations

from pathlib import Path

from elt.load.warehouse import Warehouse, utc_now
from elt.sources import Source, sources

VERSIONS = """
    select version, schema_name, status, published_at, status_changed_at
    from audit.publish_log order by version desc
"""
RUNS = """
    select started_at, status, finished_at, batches_loaded, batches_failed, rows_in, rows_quarantined,
        completeness, tests_failed, published_version, error
    from audit.run_history order by started_at desc limit {limit}
"""


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


def freshness_lines(warehouse: Warehouse, project_dir: Path) -> list[str]:
    """One line per source: how long ago its newest batch loaded, against the ages its contract declares."""
    newest = {
        row[0]: row[1:]
        for row in warehouse.query(
            "select source, max(finished_at), max(business_date) from audit.load_batches group by source"
        )
    }
    return [_freshness_line(source, newest.get(source.name), project_dir) for source in sources(project_dir)]


def _freshness_line(source: Source, newest: tuple | None, project_dir: Path) -> str:
    declared_in = source.contract_path.relative_to(project_dir)
    if newest is None:
        verdict = "[red]ERROR[/]" if source.freshness else "[yellow]none declared[/]"
        return f"Freshness of {source.name} {verdict}: nothing loaded yet ({declared_in})."
    newest_load, newest_business_date = newest
    age = utc_now() - newest_load
    loaded = (
        f"the newest batch (business date {newest_business_date}) was loaded {age.total_seconds() / 3600:.1f} h ago"
    )
    if source.freshness is None:
        return f"Freshness of {source.name}: {loaded}; its contract declares no freshness ({declared_in})."
    warn_after, error_after = source.freshness
    verdict = "[red]ERROR[/]" if age > error_after else "[yellow]WARN[/]" if age > warn_after else "[green]OK[/]"
    return (
        f"Freshness of {source.name} {verdict}: {loaded}; warn after {warn_after.total_seconds() / 3600:g} h, "
        f"error after {error_after.total_seconds() / 3600:g} h ({declared_in})."
    )
