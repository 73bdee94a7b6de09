"""The stakeholder dashboards, in a real browser, held to the published marts they say they read.

On the shared dirty run of each engine (whose `elt run` drew them after publishing), and drawn
again by `elt dashboards`: the index lists a page for every dashboard exposure of the dbt
project; every chart renders; and what each chart plots equals what the test computes itself,
in Python, from the rows of the published view the chart names (`select *`, no SQL of the
chart's). Revenue is also held to the fact table's total, a mart the chart does not read.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import pytest

from browser import Chromium, assert_screenshot
from conftest import Workspace

pytestmark = pytest.mark.e2e

PROJECT = "wholesale"
# Plotted numbers are floats of exact decimals; rates are compared to this.
TOLERANCE = 1e-6

Plotted = dict[tuple[str, str], float]


def _month(value: object) -> str:
    return str(value)[:10]


def _sums(rows: list[dict], x: str, series: str, *measures: str) -> dict[tuple[str, str], list[Decimal]]:
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(measures))
    for row in rows:
        key = (str(row[series]), _month(row[x]))
        for index, measure in enumerate(measures):
            if row[measure] is not None:
                totals[key][index] += Decimal(row[measure])
    return totals


def revenue_by(series: str) -> Callable[[list[dict]], Plotted]:
    def expected(rows: list[dict]) -> Plotted:
        return {key: float(net) for key, (net,) in _sums(rows, "order_month", series, "net_revenue").items()}

    return expected


def margin_rate_by_region(rows: list[dict]) -> Plotted:
    sums = _sums(rows, "order_month", "region_name", "gross_margin", "net_revenue")
    return {key: float(margin / net) for key, (margin, net) in sums.items() if net}


def on_time_by_nation(rows: list[dict]) -> Plotted:
    sums = _sums(rows, "receipt_month", "supplier_nation_name", "on_time_line_count", "received_line_count")
    by_nation: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for (nation, _), (on_time, received) in sums.items():
        by_nation[nation][0] += on_time
        by_nation[nation][1] += received
    return {("on-time rate", nation): float(on_time / received) for nation, (on_time, received) in by_nation.items()}


def cohort_retention(rows: list[dict]) -> Plotted:
    return {
        (_month(row["cohort_month"]), str(row["months_since_first_order"])): float(row["retention_rate"])
        for row in rows
    }


def revenue_against_target(rows: list[dict]) -> Plotted:
    with_target = [row for row in rows if row["revenue_target"] is not None]
    sums = _sums([{**row, "all": ""} for row in with_target], "report_month", "all", "revenue_target", "net_revenue")
    plotted: Plotted = {}
    for (_, month), (target, net) in sums.items():
        plotted[("Target", month)] = float(target)
        plotted[("Net revenue", month)] = float(net)
    return plotted


def carrier_on_time(rows: list[dict]) -> Plotted:
    plotted: Plotted = {}
    for row in rows:
        for name, column in (("by the carrier", "on_time_rate"), ("by the ERP", "erp_on_time_rate")):
            if row[column] is not None:
                plotted[(name, _month(row["delivery_month"]))] = float(row[column])
    return plotted


# Each chart's id on its page: the mart it reads and what it should plot from that mart's rows.
CHARTS: dict[str, tuple[str, Callable[[list[dict]], Plotted]]] = {
    "net_revenue_by_region": ("rpt_monthly_revenue_by_region_segment", revenue_by("region_name")),
    "net_revenue_by_segment": ("rpt_monthly_revenue_by_region_segment", revenue_by("market_segment_name")),
    "margin_rate_by_region": ("rpt_monthly_revenue_by_region_segment", margin_rate_by_region),
    "on_time_by_supplier_nation": ("rpt_supplier_on_time_delivery", on_time_by_nation),
    "cohort_retention": ("rpt_customer_cohort_retention", cohort_retention),
    "revenue_against_target": ("rpt_revenue_against_target", revenue_against_target),
    "carrier_on_time_rate": ("rpt_carrier_on_time_delivery", carrier_on_time),
}

# What the page's plotly graph holds, as {(series, x): y}; a horizontal bar's category is its y,
# a heatmap's cell is (row, column).
PLOTTED_DATA = """key => document.getElementById(key).data.map(trace => ({
    type: trace.type, name: trace.name || "", orientation: trace.orientation || "v",
    x: Array.from(trace.x || []), y: Array.from(trace.y || []),
    z: trace.z ? trace.z.map(row => Array.from(row)) : null}))"""


def plotted(traces: list[dict]) -> Plotted:
    points: Plotted = {}
    for trace in traces:
        if trace["type"] == "heatmap":
            for row_label, row in zip(trace["y"], trace["z"], strict=True):
                for column_label, value in zip(trace["x"], row, strict=True):
                    if value is not None:
                        points[(_month(row_label), str(column_label))] = value
        elif trace["orientation"] == "h":
            points.update({(trace["name"], str(y)): x for x, y in zip(trace["x"], trace["y"], strict=True)})
        else:
            points.update({(trace["name"], _month(x)): y for x, y in zip(trace["x"], trace["y"], strict=True)})
    return points


def published_rows(query, mart: str) -> list[dict]:
    names = [row[0] for row in query(_columns_sql(mart))]
    return [dict(zip(names, row, strict=True)) for row in query(f"select {', '.join(names)} from marts.{mart}")]


def _columns_sql(mart: str) -> str:
    return (
        "select column_name from information_schema.columns "
        f"where table_schema = 'marts' and table_name = '{mart}' order by ordinal_position"
    )


def assert_same_points(chart: str, shown: Plotted, expected: Plotted) -> None:
    assert shown.keys() == expected.keys(), (
        f"{chart} plots other points than its mart holds: only plotted {sorted(shown.keys() - expected.keys())[:5]}, "
        f"missing {sorted(expected.keys() - shown.keys())[:5]}"
    )
    # Money to the cent, rates to TOLERANCE (a relative bound covers both magnitudes).
    wrong = {
        key: (shown[key], value)
        for key, value in expected.items()
        if abs(shown[key] - value) > max(TOLERANCE, abs(value) * 1e-12, 0.005 if abs(value) > 1 else 0)
    }
    assert not wrong, f"{chart} plots values its mart does not hold (plotted, expected): {list(wrong.items())[:5]}"


def test_every_dashboard_draws_its_published_mart_in_a_browser(
    engine, start_from_built_dirty_run, chromium: Chromium
) -> None:
    target, workspace, query = engine
    start_from_built_dirty_run(target, workspace)  # `elt run --dirty`, docs and dashboards included
    site = workspace.dbt_target_dir / "dashboards"
    assert (site / "index.html").is_file(), f"elt run drew no dashboards in {site}"
    drawn = workspace.elt("dashboards", "--target", target)
    assert "dashboards/index.html" in drawn.stdout, drawn.stdout

    manifest = json.loads((workspace.dbt_target_dir / "manifest.json").read_text())
    exposures = {
        exposure["name"]: exposure
        for exposure in manifest["exposures"].values()
        if (exposure.get("url") or "").startswith("dashboards/")
    }
    assert len(exposures) >= 5, f"the project declares {len(exposures)} dashboard exposures with a page"
    (live_version,) = query("select version from audit.publish_log where status = 'live'")[0]

    index = chromium.open((site / "index.html").as_uri())
    links = {link.inner_text(): link.get_attribute("href") for link in index.locator("ul.dashboards a").all()}
    assert sorted(links.values()) == sorted(f"{name}.html" for name in exposures), links
    seen_charts: set[str] = set()
    for name, exposure in exposures.items():
        page = chromium.open((site / f"{name}.html").as_uri())
        assert page.locator("h1").inner_text() == exposure["label"]
        assert f"Published version {live_version} of the marts" in page.locator("footer").inner_text()
        sections = page.locator("section.chart")
        assert sections.count() >= 1, f"{name} has no chart"
        page.locator(".js-plotly-plot .main-svg").first.wait_for()
        for section in sections.all():
            chart = section.locator(".js-plotly-plot").get_attribute("id")
            mart, expected_from = CHARTS[chart]
            assert section.get_attribute("data-mart") == f"marts.{mart}"
            assert section.locator("p.definition").inner_text().startswith("Definition.")
            source_link = section.locator("p.source a").get_attribute("href")
            assert source_link == f"../static_index.html#!/source/source.{PROJECT}.marts.{mart}"
            assert f"source.{PROJECT}.marts.{mart}" in manifest["sources"], f"the docs site has no page for {mart}"
            assert mart in {dependency.split(".")[-1] for dependency in exposure["depends_on"]["nodes"]}, (
                f"exposure {name} does not declare that it reads {mart}"
            )
            assert section.locator(".main-svg").count() >= 1, f"{chart} did not render"
            expected = expected_from(published_rows(query, mart))
            assert_same_points(chart, plotted(page.evaluate(PLOTTED_DATA, chart)), expected)
            seen_charts.add(chart)
        if name == "revenue_dashboard":
            screenshot = workspace.root / "revenue_dashboard.png"
            page.screenshot(path=screenshot, full_page=True)
            assert_screenshot(screenshot)
            by_region = plotted(page.evaluate(PLOTTED_DATA, "net_revenue_by_region"))
            (fact_total,) = query("select sum(net_revenue) from marts.fct_orders")[0]
            # The report rounds each (month, region, segment) to the cent: at most half a cent each.
            groups = query("select count(*) from marts.rpt_monthly_revenue_by_region_segment")[0][0]
            assert abs(sum(by_region.values()) - float(fact_total)) <= 0.005 * groups + 0.01
    assert seen_charts == set(CHARTS), f"charts not on any page: {set(CHARTS) - seen_charts}"
    assert not chromium.page_errors, chromium.page_errors


def test_dashboards_before_anything_is_published_say_what_to_run(workspace: Workspace) -> None:
    drawn = workspace.elt("dashboards", check=False)
    assert drawn.returncode != 0
    assert "`elt run`" in drawn.stdout + drawn.stderr, drawn.stdout + drawn.stderr
