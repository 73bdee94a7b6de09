"""The semantic layer: MetricFlow's answers equal the reports that publish the same metrics.

`mf query` runs against the warehouse of the shared dirty run, on each engine, and its
answers are held to the rpt_ tables, which compute the same figures in SQL of their own:
- revenue, gross margin and orders by month, sales region and market segment, against
  rpt_monthly_revenue_by_region_segment (which rounds money to the cent; MetricFlow sums
  exactly, so its figures are rounded the same way here before they are compared);
- lines received, on time, the on-time rate and average days late by supplier and month of
  receipt, against rpt_supplier_on_time_delivery.

MetricFlow reads the semantic manifest from <project>/target/, and the workspace keeps its
dbt artifacts elsewhere (DBT_TARGET_PATH), so mf runs in a directory of links to the
project's files whose target/ is the workspace's.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from conftest import PROJECT_DIR, Workspace

MF = Path(sys.executable).parent / "mf"
CENT = Decimal("0.01")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "snapshots", "analyses", "tests")


def metricflow_project(workspace: Workspace) -> Path:
    """A view of the project whose target/ is the workspace's dbt target directory."""
    view = workspace.root / "metricflow-project"
    view.mkdir(exist_ok=True)
    for name in PROJECT_FILES:
        (view / name).symlink_to(PROJECT_DIR / name)
    (view / "target").symlink_to(workspace.dbt_target_dir)
    return view


def mf_query(workspace: Workspace, target: str, view: Path, metrics: list[str], group_by: list[str]) -> list[dict]:
    """Rows of `mf query`, as text, from the CSV it writes (money keeps its exact decimals there)."""
    output = workspace.root / f"mf-{'-'.join(metrics)}.csv"
    command = [str(MF), "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by), "--csv", str(output)]
    # The workspace's DuckDB file is named relative to its own directory, which mf does not run in.
    env = {**workspace.env, "DBT_TARGET": target, "WAREHOUSE_DUCKDB_PATH": str(workspace.duckdb_path.resolve())}
    result = subprocess.run(command, cwd=view, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0 and output.is_file(), result.stdout + result.stderr
    with output.open(newline="") as file:
        return list(csv.DictReader(file))


def month_of(text: str) -> str:
    """'1994-03-01 00:00:00' (MetricFlow) and a date (the reports) compare as '1994-03-01'."""
    return str(text)[:10]


def cents(text: str) -> Decimal | None:
    return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP) if text else None


@pytest.mark.e2e
def test_metrics_equal_the_reports(engine, start_from_built_dirty_run) -> None:
    target, workspace, query = engine
    start_from_built_dirty_run(target, workspace)  # `elt run --dirty` over landed_dirty
    view = metricflow_project(workspace)

    revenue = mf_query(
        workspace,
        target,
        view,
        ["revenue", "gross_margin", "order_count"],
        ["metric_time__month", "customer__region_name", "customer__market_segment_name"],
    )
    from_metrics = {
        (month_of(row["metric_time__month"]), row["customer__region_name"], row["customer__market_segment_name"]): (
            cents(row["revenue"]),
            cents(row["gross_margin"]),
            int(row["order_count"]),
        )
        for row in revenue
    }
    report = {
        (month_of(month), region, segment): (net_revenue, gross_margin, order_count)
        for month, region, segment, net_revenue, gross_margin, order_count in query(
            "select order_month, region_name, market_segment_name, net_revenue, gross_margin, order_count "
            "from marts_build.rpt_monthly_revenue_by_region_segment"
        )
    }
    assert len(report) > 100
    assert from_metrics == report

    on_time = mf_query(
        workspace,
        target,
        view,
        ["received_lines", "on_time_lines", "on_time_rate", "average_days_late"],
        ["metric_time__month", "supplier"],
    )
    # A month with lines received only in other statuses has no received line at all: the report has no row.
    from_metrics = {
        (int(row["supplier"]), month_of(row["metric_time__month"])): row
        for row in on_time
        if row["received_lines"] != "0"
    }
    report = {
        (supplier, month_of(month)): (received, on_time_count, rate, days_late)
        for supplier, month, received, on_time_count, rate, days_late in query(
            "select supplier_id, receipt_month, received_line_count, on_time_line_count, on_time_rate, "
            "average_days_late from marts_build.rpt_supplier_on_time_delivery"
        )
    }
    assert len(report) > 100
    assert from_metrics.keys() == report.keys()
    for key, (received, on_time_count, rate, days_late) in report.items():
        row = from_metrics[key]
        assert (int(row["received_lines"]), int(row["on_time_lines"])) == (received, on_time_count), key
        # The report rounds the rate to four decimals and the average to two, at presentation.
        assert abs(Decimal(row["on_time_rate"]) - rate) <= Decimal("0.00005"), key
        assert abs(Decimal(row["average_days_late"]) - days_late) <= Decimal("0.005"), key
