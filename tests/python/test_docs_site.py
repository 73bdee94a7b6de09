"""The docs site stakeholders browse, in a real browser: the project overview on its home page, a mart
found with the search box, the mart's page (description, columns), and its lineage graph leading back
to the ERP source. Served as `make docs` serves it, and as the single static_index.html opened from disk.

Headless Chromium through Playwright. Playwright cannot download its own browser here, so it drives
Debian's chromium (or the Chrome that CHROMIUM_PATH names, as on GitHub's runners); with no browser
the tests fail and say what to install.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from browser import TIMEOUT_MS, Chromium, assert_screenshot, free_port, served
from conftest import DBT, PROJECT_DIR, TEST_SCALE_FACTOR, WITH_DOCS, Workspace, make_workspace, warehouse_query

pytestmark = pytest.mark.e2e


MART = "fct_order_lines"
# The ERP table the mart's rows come from: its lineage graph must lead back to it.
SOURCE = ("erp", "erp_order_lines")
SEARCH_PLACEHOLDER = "Search for models..."


@dataclass
class DocsSite:
    """A generated docs site: its target dir, its manifest, and the URL `dbt docs serve` serves it on."""

    target_dir: Path
    manifest: dict
    url: str
    workspace: Workspace

    def resource(self, unique_id: str) -> dict:
        return self.manifest["nodes"].get(unique_id) or self.manifest["sources"][unique_id]

    def model_id(self, name: str) -> str:
        nodes = self.manifest["nodes"].items()
        return next(uid for uid, node in nodes if node["resource_type"] == "model" and node["name"] == name)

    def source_id(self, source_name: str, name: str) -> str:
        return next(
            uid
            for uid, source in self.manifest["sources"].items()
            if source["source_name"] == source_name and source["name"] == name
        )


@contextmanager
def dbt_docs_serve(workspace: Workspace) -> Iterator[str]:
    """`dbt docs serve` as `make docs` runs it, on a free port; yields its URL.

    dbt 1.11 serves the directory of its target-path, which DBT_TARGET_PATH (in the workspace's env)
    points at the workspace's build. Its request log goes to a file: a pipe nobody reads would fill
    and stall the server.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [str(DBT), "docs", "serve", "--port", str(port), "--no-browser"]
    command += ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    with served(command, workspace.root, workspace.env, url, wait_s=60):
        yield url


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory: pytest.TempPathFactory, landed_export: Path) -> Iterator[DocsSite]:
    """A small warehouse built by `elt run` (which ends with `dbt docs generate --static`), served."""
    workspace = make_workspace(tmp_path_factory.mktemp("docs-site"), landing_dir=landed_export, extra_env=WITH_DOCS)
    workspace.elt("run", "--target", "dev", "--scale-factor", TEST_SCALE_FACTOR)
    target_dir = workspace.dbt_target_dir
    for artifact in ("index.html", "static_index.html", "manifest.json", "catalog.json"):
        assert (target_dir / artifact).is_file(), f"elt run wrote no {artifact} to {target_dir}"
    manifest = json.loads((target_dir / "manifest.json").read_text())
    with dbt_docs_serve(workspace) as url:
        yield DocsSite(target_dir, manifest, url, workspace)


MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def words(text: str) -> str:
    """The words of a text as a reader sees them, whatever the markdown around them (link targets dropped)."""
    return " ".join(re.findall(r"\w+", MARKDOWN_LINK.sub(r"\1", text)))


def assert_shows(locator: Locator, text: str, what: str, timeout_s: float = TIMEOUT_MS / 1000) -> None:
    """The element shows `text` (compared word by word, as rendered), waiting for the page to render it."""
    expected = words(text)
    assert expected, f"{what}: nothing to look for (empty in the manifest)"
    deadline = time.monotonic() + timeout_s
    while True:
        shown = words(locator.inner_text())
        if f" {expected} " in f" {shown} ":
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what} is not on the page.\nExpected the words: {expected}\nThe page shows: {shown[:3000]}"
            )
        time.sleep(0.2)


def assert_model_page(page: Page, model: dict) -> None:
    """The model's page shows its name, its description and every documented column with its description."""
    name = model["name"]
    expect(page.locator(".app-title h1").first).to_contain_text(name)
    description = page.locator("section", has=page.locator("#description"))
    assert_shows(description, model["description"], f"{name}'s description")

    columns = page.locator("section", has=page.locator("#columns"))
    rows = columns.locator("tr.column-row")
    expect(rows).to_have_count(len(model["columns"]))
    shown = {row.locator("td").first.inner_text().strip(): row for row in rows.all()}
    assert sorted(shown) == sorted(model["columns"]), f"{name}'s column table does not list its columns"
    for column, spec in model["columns"].items():
        assert_shows(shown[column], spec["description"], f"the description of {name}.{column}")


def ancestors(parent_map: dict[str, list[str]], unique_id: str) -> set[str]:
    seen: set[str] = set()
    todo = [unique_id]
    while todo:
        for parent in parent_map.get(todo.pop(), []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def lineage_path(parent_map: dict[str, list[str]], source_id: str, model_id: str) -> list[str]:
    """The shortest chain source -> ... -> model in the manifest's DAG, walking parent_map up from the model."""
    came_from: dict[str, str] = {}
    queue = deque([model_id])
    while queue:
        node = queue.popleft()
        if node == source_id:
            path = [node]
            while path[-1] != model_id:
                path.append(came_from[path[-1]])
            return path
        for parent in parent_map.get(node, []):
            if parent not in came_from and parent != model_id:
                came_from[parent] = node
                queue.append(parent)
    raise AssertionError(f"the manifest has no lineage from {source_id} to {model_id}")


def ui_label(resource: dict) -> str:
    """How the docs site labels a node in its graph: a source as source_name.table, anything else by name."""
    if resource["resource_type"] == "source":
        return f"{resource['source_name']}.{resource['name']}"
    return resource["name"]


# The lineage graph is drawn by cytoscape on a canvas, so its nodes are not in the DOM as text. But
# cytoscape registers every instance on its container element (`container._cyreg.cy`, how it finds
# an instance to replace when one is created on the same element), which gives the graph as the user
# sees it: each node's id (dbt's unique_id), the label drawn for it (its `label` style), whether it is
# displayed and on screen, and every edge. The container is found by that property, not by dbt-docs'
# markup, so a change of its element ids or classes does not break the lookup.
READ_GRAPH_JS = """
() => {
    const container = [...document.querySelectorAll("div")].find((el) => el._cyreg && el._cyreg.cy);
    if (!container) return null;
    const cy = container._cyreg.cy;
    const box = container.getBoundingClientRect();
    return {
        nodes: cy.nodes().map((node) => {
            const at = node.renderedBoundingBox();
            const onScreen = at.x2 > 0 && at.y2 > 0 && at.x1 < box.width && at.y1 < box.height;
            return {id: node.id(), label: node.style("label"), shown: node.visible() && onScreen};
        }),
        edges: cy.edges().map((edge) => [edge.source().id(), edge.target().id()]),
    };
}
"""
GRAPH_HAS_JS = """
(ids) => {
    const container = [...document.querySelectorAll("div")].find((el) => el._cyreg && el._cyreg.cy);
    return Boolean(container) && ids.every((id) => container._cyreg.cy.getElementById(id).nonempty());
}
"""


def read_lineage_graph(page: Page, expected_ids: set[str]) -> dict:
    """The graph once it holds every expected node, or as it is when waiting for that times out."""
    with suppress(PlaywrightTimeoutError):  # the caller's assertions say which nodes are missing
        page.wait_for_function(GRAPH_HAS_JS, arg=sorted(expected_ids), timeout=TIMEOUT_MS)
    # Let cytoscape paint the frame it has laid out before anyone takes a screenshot.
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    graph = page.evaluate(READ_GRAPH_JS)
    assert graph is not None, "the lineage graph did not open: no cytoscape graph on the page"
    return graph


def test_home_page_shows_the_project_overview(docs_site: DocsSite, chromium: Chromium) -> None:
    page = chromium.open(docs_site.url)
    expect(page).to_have_url(re.compile(r"#!/overview$"))
    # dbt-docs shows the project's own __overview__ doc block in place of dbt's default one.
    overviews = [doc for doc in docs_site.manifest["docs"].values() if doc["name"] == "__overview__"]
    ours = [doc for doc in overviews if doc["package_name"] != "dbt"]
    assert ours, "models/docs.md has no {% docs __overview__ %} block: the home page shows dbt's generic text"
    assert_shows(page.locator("[marked='overview_md']"), ours[0]["block_contents"], "the project overview")
    assert not chromium.page_errors


def test_search_finds_the_mart_and_its_page_shows_description_and_columns(
    docs_site: DocsSite, chromium: Chromium, tmp_path: Path
) -> None:
    # The server serves this test's build, not some other target dir (say, the checkout's target/).
    with urllib.request.urlopen(docs_site.url + "manifest.json", timeout=10) as response:
        served = json.load(response)
    assert served["metadata"]["invocation_id"] == docs_site.manifest["metadata"]["invocation_id"]

    model_id = docs_site.model_id(MART)
    page = chromium.open(docs_site.url)
    page.get_by_placeholder(SEARCH_PLACEHOLDER).fill(MART)
    # Results list analyses and tests that mention the mart too; pick the model itself.
    result = page.locator(".search-result").filter(
        has=page.locator("h4", has_text=re.compile(rf"^\s*{re.escape(MART)}\s+model\s*$"))
    )
    expect(result).to_have_count(1)
    result.click()
    expect(page).to_have_url(re.compile(re.escape(f"#!/model/{model_id}") + "$"))

    assert_model_page(page, docs_site.resource(model_id))
    screenshot = tmp_path / "model-page.png"
    page.screenshot(path=screenshot)
    assert_screenshot(screenshot)
    assert not chromium.page_errors


def test_lineage_graph_leads_from_the_source_to_the_mart(
    docs_site: DocsSite, chromium: Chromium, tmp_path: Path
) -> None:
    model_id = docs_site.model_id(MART)
    source_id = docs_site.source_id(*SOURCE)
    parent_map = docs_site.manifest["parent_map"]
    path = lineage_path(parent_map, source_id, model_id)
    upstream = ancestors(parent_map, model_id)
    expected = upstream | {model_id}

    # The page the search result leads to; its "View Lineage Graph" button opens the graph of the
    # model's neighbours, and "View Fullscreen" the whole lineage (dbt's selector +model+).
    page = chromium.open(f"{docs_site.url}#!/model/{model_id}")
    expect(page.locator(".app-title h1").first).to_contain_text(MART)
    page.get_by_title("View Lineage Graph").click()
    page.locator("a[data-large][title='View Fullscreen']").click()
    graph = read_lineage_graph(page, expected)

    nodes = {node["id"]: node for node in graph["nodes"]}
    missing = sorted(ui_label(docs_site.resource(uid)) for uid in expected - nodes.keys())
    shown = sorted(node["label"] for node in nodes.values())
    assert not missing, f"the lineage graph of {MART} lacks {missing}; it shows {shown}"
    for uid in expected:
        assert nodes[uid]["label"] == ui_label(docs_site.resource(uid)), f"{uid} is labelled {nodes[uid]['label']!r}"
    hidden = [nodes[uid]["label"] for uid in path if not nodes[uid]["shown"]]
    assert not hidden, f"nodes on the path from the source to {MART} are not on screen: {hidden}"
    edges = {tuple(edge) for edge in graph["edges"]}
    broken = [f"{a} -> {b}" for a, b in pairwise(path) if (a, b) not in edges]
    assert not broken, f"the lineage graph does not connect {' -> '.join(path)}: missing {broken}"

    screenshot = tmp_path / "lineage-graph.png"
    page.screenshot(path=screenshot)
    assert_screenshot(screenshot)
    assert not chromium.page_errors


def test_static_index_opens_from_disk_and_shows_the_mart(
    docs_site: DocsSite, chromium: Chromium, tmp_path: Path
) -> None:
    # Alone in a directory, to prove the one file carries the manifest and catalog it needs.
    static_index = tmp_path / "static_index.html"
    shutil.copyfile(docs_site.target_dir / "static_index.html", static_index)
    model_id = docs_site.model_id(MART)

    page = chromium.open(f"{static_index.as_uri()}#!/model/{model_id}")
    assert_model_page(page, docs_site.resource(model_id))
    assert not chromium.page_errors


PUBLISHED_MART = "fct_orders"
PROJECT = "wholesale"


def embedded_artifacts(static_index: str) -> tuple[dict, dict]:
    """The manifest and catalog `dbt docs generate --static` wrote into the page's script."""
    start = static_index.index("{manifest:") + len("{manifest:")
    decoder = json.JSONDecoder()
    manifest, end = decoder.raw_decode(static_index, start)
    assert static_index.startswith(",catalog:", end), "static_index.html's script is not laid out as dbt writes it"
    catalog, _ = decoder.raw_decode(static_index, end + len(",catalog:"))
    return manifest, catalog


# What the views consumers read leave out (var build_internal_columns in dbt_project.yml).
BUILD_INTERNAL_COLUMNS = {"built_at", "last_changed_date"}


def test_the_docs_list_every_published_relation_consumers_query(docs_site: DocsSite, chromium: Chromium) -> None:
    manifest = docs_site.manifest
    published_models = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "marts"
    }
    declared = {source["name"] for source in manifest["sources"].values() if source["source_name"] == "marts"}
    query = warehouse_query("dev", docs_site.workspace.env)
    views = "select table_name from information_schema.tables where table_schema = 'marts' and table_type = 'VIEW'"
    in_warehouse = {row[0] for row in query(views)}
    assert declared == published_models == in_warehouse, (
        f"declared in models/marts/_published__sources.yml but not published: {sorted(declared - in_warehouse)}; "
        f"published but not declared: {sorted(in_warehouse - declared)}; "
        f"marts that are not published: {sorted(published_models - in_warehouse)}"
    )

    # The catalog read the published view itself: its columns, without the build's own.
    source_id = docs_site.source_id("marts", PUBLISHED_MART)
    catalog = json.loads((docs_site.target_dir / "catalog.json").read_text())
    columns = [
        row[0]
        for row in query(
            "select column_name from information_schema.columns "
            f"where table_schema = 'marts' and table_name = '{PUBLISHED_MART}' order by ordinal_position"
        )
    ]
    assert list(catalog["sources"][source_id]["columns"]) == columns
    assert not BUILD_INTERNAL_COLUMNS & set(columns)

    page = chromium.open(f"{docs_site.url}#!/source/{source_id}")
    expect(page.locator(".app-title h1").first).to_contain_text(f"marts.{PUBLISHED_MART}")
    assert_shows(page.locator("body"), f"warehouse.marts.{PUBLISHED_MART}", "the published relation's name")
    rows = page.locator("section", has=page.locator("#columns")).locator("tr.column-row")
    expect(rows).to_have_count(len(columns))
    assert [row.locator("td").first.inner_text().strip() for row in rows.all()] == columns
    # Its description leads to the mart it publishes.
    page.locator("section", has=page.locator("#description")).get_by_role("link", name=PUBLISHED_MART).click()
    expect(page.locator(".app-title h1").first).to_contain_text(PUBLISHED_MART)
    assert page.url.endswith(f"#!/model/{docs_site.model_id(PUBLISHED_MART)}")
    assert not chromium.page_errors


def test_static_index_is_the_last_build_and_links_each_dashboard(docs_site: DocsSite, chromium: Chromium) -> None:
    static_index = docs_site.target_dir / "static_index.html"
    manifest, catalog = embedded_artifacts(static_index.read_text())
    build = json.loads((docs_site.target_dir / "build_run_results.json").read_text())["metadata"]
    # The catalog was read after the run's build, from what it built and published, and the
    # manifest beside it is the project as built: every node, source and exposure, unchanged.
    assert catalog["metadata"]["generated_at"] > build["generated_at"]
    for kind in ("nodes", "sources", "exposures"):
        embedded = {uid: item.get("checksum") or item.get("description") for uid, item in manifest[kind].items()}
        written = {
            uid: item.get("checksum") or item.get("description") for uid, item in docs_site.manifest[kind].items()
        }
        assert embedded == written, f"static_index.html holds other {kind} than the build's manifest.json"
    assert f"source.{PROJECT}.marts.{PUBLISHED_MART}" in catalog["sources"]

    for exposure in docs_site.manifest["exposures"].values():
        if exposure.get("type") != "dashboard":
            continue
        page = chromium.open(f"{static_index.as_uri()}#!/exposure/{exposure['unique_id']}")
        link = page.get_by_role("link", name="View this exposure")
        assert link.get_attribute("href") == exposure["url"] == f"dashboards/{exposure['name']}.html"
        # The docs site opens an exposure's url in a new tab.
        with page.context.expect_page() as opened:
            link.click()
        dashboard = opened.value
        dashboard.wait_for_load_state()
        assert dashboard.url == (docs_site.target_dir / exposure["url"]).as_uri()
        expect(dashboard.locator("h1")).to_have_text(exposure["label"])
        dashboard.locator(".js-plotly-plot .main-svg").first.wait_for()
    assert not chromium.page_errors
