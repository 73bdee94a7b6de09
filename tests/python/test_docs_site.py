"""The docs site stakeholders browse, in a real browser: the project overview on its home page, a mart
found with the search box, the mart's page (description, columns), and its lineage graph leading back
to the ERP source. Served as `make docs` serves it, and as the single static_index.html opened from disk.

Headless Chromium through Playwright. Playwright cannot download its own browser here, so it drives
Debian's chromium (or the Chrome that CHROMIUM_PATH names, as on GitHub's runners); with no browser
the tests fail and say what to install.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from conftest import DBT, PROJECT_DIR, TEST_SCALE_FACTOR, WITH_DOCS, Workspace, make_workspace

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start. The other two
# keep the browser from reaching out (there is no network here, and a test should not wait on one).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 20_000

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def dbt_docs_serve(workspace: Workspace) -> Iterator[str]:
    """`dbt docs serve` as `make docs` runs it, on a free port; yields its URL.

    dbt 1.11 serves the directory of its target-path, which DBT_TARGET_PATH (in the workspace's env)
    points at the workspace's build. Its request log goes to a file: a pipe nobody reads would fill
    and stall the server.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = workspace.root / "dbt-docs-serve.log"
    command = [str(DBT), "docs", "serve", "--port", str(port), "--no-browser"]
    command += ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=workspace.root, env=workspace.env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"dbt docs serve exited {server.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    response.read()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"dbt docs serve did not answer on {url} in 60 s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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
        yield DocsSite(target_dir, manifest, url)


@dataclass
class Chromium:
    """Headless Chromium for one test, launched on first use so that a missing browser fails the test."""

    playwright: Playwright
    browser: Browser | None = None
    # Uncaught JavaScript exceptions on any page: the site broke even where the page looks right.
    page_errors: list[str] = field(default_factory=list)

    def open(self, url: str) -> Page:
        if self.browser is None:
            if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
                pytest.fail(
                    f"No browser at {CHROMIUM}. The docs-site tests drive a real Chromium and Playwright cannot "
                    "download one here: install Debian's chromium (`sudo apt-get install chromium`, as .ci/run "
                    "does), or set CHROMIUM_PATH to a Chrome or Chromium executable.",
                    pytrace=False,
                )
            self.browser = self.playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = self.browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.goto(url)
        return page

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def chromium(playwright: Playwright) -> Iterator[Chromium]:
    session = Chromium(playwright)
    yield session
    session.close()


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


def assert_screenshot(path: Path) -> None:
    """A PNG of at least the viewport's size with something on it (a blank page compresses to a few kB)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= VIEWPORT["width"] and height >= VIEWPORT["height"], f"{path} is {width}x{height}"
    assert len(data) > 30_000, f"{path} is {len(data)} bytes: a blank page?"


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
