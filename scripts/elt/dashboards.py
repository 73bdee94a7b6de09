"""The stakeholder dashboards: a static site of charts drawn from the published marts.

One page per dashboard exposure of the dbt project (models/marts/reporting/_reporting__exposures.yml),
so the docs site's exposure links to its page and the page's header is the exposure's label,
description and owner. Every chart reads one published view in `marts` (what consumers query,
never marts_build), says what it plots and how, and links to that relation in the docs site.

Written under the dbt target directory beside static_index.html (dashboards/), so the links
between the two sites are relative and hold wherever the directory is copied or served.
Rebuilt after every publication and rollback: the pages show the live version and when it was
published. The site is written next to the old one and swapped in, so a reader never opens
a page half-written; plotly.js is one local file, so the pages open offline.
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from elt.dbt import dbt_target_dir
from elt.errors import EltError
from elt.load.loader import open_warehouse
from elt.load.warehouse import utc_now
from elt.settings import Paths
from elt.status import published_versions

SITE_DIR = "dashboards"
CONSUMER_SCHEMA = "marts"
PROJECT = "wholesale"
PLOTLY_SCRIPT = "plotly.min.js"
# Region and segment colours stay the same on every chart.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    mart: str
    # What the chart plots and how it is computed from the mart, for the reader.
    definition: str
    # One query over {mart}, the published view; its rows are what `draw` plots.
    sql: str
    draw: Callable[[list[tuple]], object]


@dataclass(frozen=True)
class Dashboard:
    exposure: str
    charts: tuple[Chart, ...]


def _number(value: object) -> object:
    # Decimals are exact in the warehouse; a chart only needs them as plot coordinates.
    return float(value) if isinstance(value, Decimal) else value


def _series(rows: list[tuple]) -> dict[str, tuple[list, list]]:
    """Rows of (x, series name, y) as {series name: (xs, ys)}, in the rows' order."""
    series: dict[str, tuple[list, list]] = {}
    for x, name, y in rows:
        xs, ys = series.setdefault(str(name), ([], []))
        xs.append(x)
        ys.append(_number(y))
    return series


def _figure(**layout: object):
    import plotly.graph_objects as go  # imported late: plotly takes a moment to import

    figure = go.Figure()
    defaults = {"template": "plotly_white", "height": 420, "margin": {"l": 60, "r": 20, "t": 30, "b": 50}}
    figure.update_layout(**{**defaults, "colorway": PALETTE, **layout})
    return figure


def _bars_by_series(rows: list[tuple], y_title: str, barmode: str = "stack"):
    import plotly.graph_objects as go

    figure = _figure(barmode=barmode, yaxis_title=y_title, legend_title_text="")
    for name, (xs, ys) in _series(rows).items():
        figure.add_trace(go.Bar(name=name, x=xs, y=ys))
    return figure


def _lines_by_series(rows: list[tuple], y_title: str, percent: bool = False):
    import plotly.graph_objects as go

    figure = _figure(yaxis_title=y_title, legend_title_text="")
    if len({row[0] for row in rows}) <= 24:
        # A few months: one tick per month, not plotly's weekly ticks between them.
        figure.update_xaxes(dtick="M1", tickformat="%b %Y")
    if percent:
        figure.update_yaxes(tickformat=".0%")
    for name, (xs, ys) in _series(rows).items():
        figure.add_trace(go.Scatter(name=name, x=xs, y=ys, mode="lines+markers"))
    return figure


def _on_time_by_nation(rows: list[tuple]):
    import plotly.graph_objects as go

    figure = _figure(xaxis_title="Lines received on time", xaxis_tickformat=".0%", height=max(420, 22 * len(rows)))
    nations = [row[0] for row in rows]
    figure.add_trace(
        go.Bar(
            name="on-time rate",
            orientation="h",
            y=nations,
            x=[_number(row[1]) for row in rows],
            customdata=[[row[2], row[3]] for row in rows],
            hovertemplate="%{y}: %{x:.1%} (%{customdata[0]:,} of %{customdata[1]:,} lines)<extra></extra>",
        )
    )
    return figure


def _retention_heatmap(rows: list[tuple]):
    import plotly.graph_objects as go

    cohorts = sorted({row[0] for row in rows})
    months = sorted({row[1] for row in rows})
    rate = {(row[0], row[1]): _number(row[2]) for row in rows}
    figure = _figure(xaxis_title="Months since the first order", yaxis_title="Cohort (month of first order)")
    figure.add_trace(
        go.Heatmap(
            x=months,
            y=cohorts,
            z=[[rate.get((cohort, month)) for month in months] for cohort in cohorts],
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"tickformat": ".0%"},
            hovertemplate="cohort %{y}, month %{x}: %{z:.1%}<extra></extra>",
        )
    )
    return figure


DASHBOARDS = (
    Dashboard(
        "revenue_dashboard",
        (
            Chart(
                "net_revenue_by_region",
                "Net revenue by month and sales region",
                "rpt_monthly_revenue_by_region_segment",
                "Net revenue (after discount, before tax) of the orders placed in each month, summed over "
                "market segments, stacked by the customer's sales region.",
                "select order_month, region_name, sum(net_revenue) from {mart} group by 1, 2 order by 1, 2",
                lambda rows: _bars_by_series(rows, "Net revenue"),
            ),
            Chart(
                "net_revenue_by_segment",
                "Net revenue by month and market segment",
                "rpt_monthly_revenue_by_region_segment",
                "Net revenue of the orders placed in each month, summed over sales regions, one line per "
                "market segment.",
                "select order_month, market_segment_name, sum(net_revenue) from {mart} group by 1, 2 order by 1, 2",
                lambda rows: _lines_by_series(rows, "Net revenue"),
            ),
            Chart(
                "margin_rate_by_region",
                "Gross margin rate by month and sales region",
                "rpt_monthly_revenue_by_region_segment",
                "Gross margin (net revenue less the supply cost of the parts sold) divided by net revenue, "
                "over the orders placed in each month, one line per sales region.",
                "select order_month, region_name, sum(gross_margin) / nullif(sum(net_revenue), 0) from {mart} "
                "group by 1, 2 order by 1, 2",
                lambda rows: _lines_by_series(rows, "Gross margin rate", percent=True),
            ),
        ),
    ),
    Dashboard(
        "supplier_scorecard",
        (
            Chart(
                "on_time_by_supplier_nation",
                "On-time delivery by supplier nation",
                "rpt_supplier_on_time_delivery",
                "Order lines received on or before their committed date, as a share of all lines received "
                "from the nation's suppliers over every month the mart holds; the best at the top.",
                "select supplier_nation_name, sum(on_time_line_count) * 1.0 / sum(received_line_count), "
                "sum(on_time_line_count), sum(received_line_count) from {mart} group by 1 order by 2, 1",
                _on_time_by_nation,
            ),
        ),
    ),
    Dashboard(
        "customer_retention_analysis",
        (
            Chart(
                "cohort_retention",
                "Customer cohort retention",
                "rpt_customer_cohort_retention",
                "Of the customers whose first order was in a month (their cohort), the share who ordered "
                "again N months later.",
                "select cohort_month, months_since_first_order, retention_rate from {mart} order by 1, 2",
                _retention_heatmap,
            ),
        ),
    ),
    Dashboard(
        "revenue_against_target",
        (
            Chart(
                "revenue_against_target",
                "Net revenue against finance's target, by month",
                "rpt_revenue_against_target",
                "Net revenue and finance's revenue target of each month that has a target, summed over "
                "sales regions and market segments.",
                "select report_month, measure, amount from ("
                "select report_month, 'Target' as measure, sum(revenue_target) as amount from {mart} "
                "where revenue_target is not null group by 1 union all "
                "select report_month, 'Net revenue', sum(net_revenue) from {mart} "
                "where revenue_target is not null group by 1) as by_month order by 2 desc, 1",
                lambda rows: _bars_by_series(rows, "Amount", barmode="group"),
            ),
        ),
    ),
    Dashboard(
        "carrier_on_time_scorecard",
        (
            Chart(
                "carrier_on_time_rate",
                "On-time deliveries by the carrier's scans and by the ERP",
                "rpt_carrier_on_time_delivery",
                "Shipments delivered on time in each month, as a share of those the ERP knows: once by the "
                "carrier's delivery scan, once by the receipt date the ERP booked.",
                "select delivery_month, measure, rate from ("
                "select delivery_month, 'by the carrier' as measure, on_time_rate as rate from {mart} "
                "union all select delivery_month, 'by the ERP', erp_on_time_rate from {mart}) as rates "
                "where rate is not null order by 2, 1",
                lambda rows: _lines_by_series(rows, "Delivered on time", percent=True),
            ),
        ),
    ),
)


def docs_link(mart: str) -> str:
    """The published relation's page in the docs site (static_index.html, one directory up)."""
    return f"../static_index.html#!/source/source.{PROJECT}.{CONSUMER_SCHEMA}.{mart}"


def build_dashboards(target: str, paths: Paths) -> Path | None:
    """Draw every dashboard from the live published marts; returns the site's index, None when nothing is live."""
    import plotly.offline

    target_dir = dbt_target_dir(paths.project_dir)
    manifest = _manifest(target_dir)
    with open_warehouse(target, paths) as warehouse:
        live = [row for row in published_versions(warehouse) if row[2] == "live"]
        if not live:
            return None
        version, published_at = live[0][0], live[0][3]
        drawn = {
            chart.key: (chart, warehouse.query(chart.sql.format(mart=f"{CONSUMER_SCHEMA}.{chart.mart}")))
            for dashboard in DASHBOARDS
            for chart in dashboard.charts
        }
    built = target_dir / f"{SITE_DIR}.new"
    shutil.rmtree(built, ignore_errors=True)
    built.mkdir(parents=True)
    (built / PLOTLY_SCRIPT).write_text(plotly.offline.get_plotlyjs())
    footer = f"Published version {version} of the marts, made live {published_at:%Y-%m-%d %H:%M} UTC."
    exposures = [_exposure(manifest, dashboard.exposure) for dashboard in DASHBOARDS]
    for dashboard, exposure in zip(DASHBOARDS, exposures, strict=True):
        sections = [_chart_section(chart, rows, manifest) for chart, rows in (drawn[c.key] for c in dashboard.charts)]
        (built / f"{dashboard.exposure}.html").write_text(_page(exposure, sections, footer))
    (built / "index.html").write_text(_index(exposures, footer))
    _swap_in(built, target_dir / SITE_DIR)
    return target_dir / SITE_DIR / "index.html"


def _manifest(target_dir: Path) -> dict:
    path = target_dir / "manifest.json"
    if not path.is_file():
        raise EltError(f"no dbt manifest at {path}: the dashboards are drawn after a build (`elt run`).")
    return json.loads(path.read_text())


def _exposure(manifest: dict, name: str) -> dict:
    exposure = manifest["exposures"].get(f"exposure.{PROJECT}.{name}")
    if exposure is None:
        raise EltError(
            f"the dashboard {name!r} has no exposure of that name in the dbt project; declare it in "
            "models/marts/reporting/_reporting__exposures.yml (its label, description and owner head the page)."
        )
    return exposure


def _swap_in(built: Path, site: Path) -> None:
    old = site.with_name(f"{site.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if site.exists():
        site.rename(old)
    built.rename(site)
    shutil.rmtree(old, ignore_errors=True)


def _chart_section(chart: Chart, rows: list[tuple], manifest: dict) -> str:
    model = manifest["nodes"].get(f"model.{PROJECT}.{chart.mart}", {})
    if rows:
        figure = chart.draw(rows).to_html(
            full_html=False, include_plotlyjs=False, div_id=chart.key, config={"displaylogo": False, "responsive": True}
        )
    else:
        figure = f'<p class="empty" id="{chart.key}">The mart has no rows for this chart yet.</p>'
    relation = f"{CONSUMER_SCHEMA}.{chart.mart}"
    return f"""
<section class="chart" data-mart="{relation}">
  <h2>{html.escape(chart.title)}</h2>
  {figure}
  <p class="definition"><strong>Definition.</strong> {html.escape(chart.definition)}</p>
  <p class="source"><strong>Reads</strong> <a href="{docs_link(chart.mart)}"><code>{relation}</code></a>:
    {html.escape(" ".join(model.get("description", "").split()))}</p>
</section>"""


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 24px 40px; color: #222; }
header { border-bottom: 1px solid #ddd; margin-bottom: 16px; }
nav a { margin-right: 16px; }
.chart { margin: 24px 0 40px; }
.definition, .source, footer { color: #444; max-width: 900px; }
footer { border-top: 1px solid #ddd; padding-top: 8px; font-size: 0.9em; }
"""


def _owner(exposure: dict) -> str:
    owner = exposure.get("owner") or {}
    return html.escape(" ".join(part for part in (owner.get("name"), owner.get("email")) if part))


def _page(exposure: dict, sections: list[str], footer: str) -> str:
    title = html.escape(exposure.get("label") or exposure["name"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script src="{PLOTLY_SCRIPT}"></script><style>{STYLE}</style></head>
<body>
<header>
  <nav><a href="index.html">All dashboards</a><a href="../static_index.html">Docs site</a></nav>
  <h1>{title}</h1>
  <p class="description">{html.escape(" ".join(exposure.get("description", "").split()))}</p>
  <p class="owner">Owner: {_owner(exposure)}</p>
</header>
{"".join(sections)}
<footer>{html.escape(footer)}</footer>
</body></html>
"""


def _index(exposures: list[dict], footer: str) -> str:
    items = "".join(
        f'<li><a href="{exposure["name"]}.html">{html.escape(exposure.get("label") or exposure["name"])}</a>: '
        f"{html.escape(' '.join(exposure.get('description', '').split()))}</li>"
        for exposure in exposures
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboards</title><style>{STYLE}</style></head>
<body>
<header><nav><a href="../static_index.html">Docs site</a></nav><h1>Dashboards</h1>
<p>Drawn from the published marts after each publication; drawn {utc_now():%Y-%m-%d %H:%M} UTC.</p></header>
<ul class="dashboards">{items}</ul>
<footer>{html.escape(footer)}</footer>
</body></html>
"""
