"""The Dagster deployment (orchestration/definitions.py): its job run in process, and its UI in a browser.

In process: on a copy of the built export, a source delivers a day outside Dagster, and the
sensor asks for a run; the schedule's tick is then executed in process (Dagster's
execute_in_process, in a Python of the workspace's environment). What the run did is read back
from the warehouse and the files, not from Dagster: the next day is landed and both days are in
the ledger, a new version of the marts is live and holds the new days' orders, and the docs site
and dashboards were drawn after it. Dagster's own account must agree: every asset materialized,
every dbt test an asset check that passed; and the sensor finds nothing left to load.

In the UI: `dagster-webserver` serves the definitions; the catalog lists every asset, the asset
graph's page lists each under its group and draws them, and the daily job launched from the
job's page succeeds, with its checks shown as passed.
"""

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser import Chromium, assert_screenshot, free_port, served
from conftest import PROJECT_DIR, Workspace, make_workspace, warehouse_query
from elt.sources import sources

pytestmark = pytest.mark.e2e

DEFINITIONS = PROJECT_DIR / "orchestration" / "definitions.py"
DAGSTER_BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 420
CHECKED_MART = "fct_orders"
# The asset graph's side panel, left of the graph: where its groups' carets are.
SIDE_PANEL_X = 600

# Run in the workspace's environment: loads the definitions, ticks the sensor and the schedule,
# executes the schedule's run request in process, and prints what Dagster saw as JSON.
IN_PROCESS = """
import importlib.util, json, sys
from dagster import DagsterInstance, build_schedule_context, build_sensor_context

spec = importlib.util.spec_from_file_location("definitions", sys.argv[1])
definitions = importlib.util.module_from_spec(spec)
spec.loader.exec_module(definitions)
defs = definitions.defs
report = {}

def tick_sensor():
    result = defs.get_sensor_def("new_landing_batches").evaluate_tick(build_sensor_context(definitions=defs))
    return {"run_keys": [request.run_key for request in result.run_requests or []],
            "skip": result.skip_message}

report["sensor_before"] = tick_sensor()
with DagsterInstance.ephemeral() as instance:
    tick = defs.get_schedule_def("daily_warehouse_schedule").evaluate_tick(build_schedule_context(instance=instance))
    (request,) = tick.run_requests
    job = defs.get_job_def(request.job_name or "daily_warehouse")
    result = job.execute_in_process(run_config=request.run_config, instance=instance, tags=request.tags,
                                    raise_on_error=False)
    report["job"] = job.name
    report["success"] = result.success
    events = result.all_events
    report["materialized"] = sorted(
        event.asset_key.to_user_string() for event in events if event.event_type_value == "ASSET_MATERIALIZATION")
    evaluations = [event.event_specific_data for event in events if event.event_type_value == "ASSET_CHECK_EVALUATION"]
    report["checks"] = [
        {"asset": check.asset_key.to_user_string(), "name": check.check_name, "passed": check.passed}
        for check in evaluations]
    report["failures"] = [event.message for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
report["assets"] = sorted(key.to_user_string() for key in defs.resolve_all_asset_keys())
load_and_publish = defs.get_job_def("load_and_publish")
selected = load_and_publish.asset_layer.selected_asset_keys
report["load_and_publish_assets"] = sorted(key.to_user_string() for key in selected)
report["sensor_after"] = tick_sensor()
print("REPORT " + json.dumps(report))
"""


def dagster_env(workspace: Workspace, target: str) -> dict[str, str]:
    """The workspace's environment with absolute paths (Dagster's processes do not run in its directory)."""
    return {
        **workspace.env,
        "DBT_TARGET": target,
        "WAREHOUSE_DUCKDB_PATH": str(workspace.duckdb_path.resolve()),
        "DAGSTER_HOME": str(workspace.root / "dagster-home"),
    }


def private_workspace(root: Path, landed_export: Path) -> Workspace:
    """A workspace with a landing directory of its own: the job lands days into it."""
    landing = root / "landing"
    shutil.copytree(landed_export, landing)
    workspace = make_workspace(root, landing_dir=landing)
    (root / "dagster-home").mkdir()
    return workspace


def attached_tests(workspace: Workspace) -> dict[str, list[str]]:
    """{model: its data tests}, for every test dbt attaches to one model: what Dagster shows as asset checks.

    The tests tagged implied_by_parent_tests are left out, as `elt run` and the job leave them to CI."""
    manifest = json.loads((workspace.dbt_target_dir / "manifest.json").read_text())
    found: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or "implied_by_parent_tests" in node["tags"]:
            continue
        attached = node.get("attached_node")
        if attached and attached.startswith("model."):
            found.setdefault(manifest["nodes"][attached]["name"], []).append(node["name"])
    return found


def job_test_count(workspace: Workspace) -> int:
    """The data tests the job's `dbt build` runs: each is an asset check of the asset it tests."""
    manifest = json.loads((workspace.dbt_target_dir / "manifest.json").read_text())
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    return sum(1 for node in tests if "implied_by_parent_tests" not in node["tags"])


def manifest_tests(workspace: Workspace) -> set[tuple[str, str]]:
    return {(model, name) for model, names in attached_tests(workspace).items() for name in names}


def test_the_scheduled_job_runs_in_process_and_the_sensor_sees_new_batches(
    tmp_path: Path, landed_export: Path, start_from_built_export
) -> None:
    workspace = private_workspace(tmp_path / "ws", landed_export)
    start_from_built_export("dev", workspace)
    query = warehouse_query("dev", workspace.env)
    (version_before,) = query("select version from audit.publish_log where status = 'live'")[0]
    orders_before = query("select count(*) from marts.fct_orders")[0][0]
    started = time.time()

    # A day delivered outside Dagster: the sensor must notice it.
    workspace.elt("generate", "--days", "1")
    env = dagster_env(workspace, "dev")
    completed = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(DEFINITIONS)],
        cwd=workspace.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("REPORT ")]
    assert completed.returncode == 0 and lines, completed.stdout[-4000:] + completed.stderr[-4000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))
    assert report["success"], report["failures"]
    assert report["sensor_before"]["run_keys"], f"the sensor missed a landed day: {report['sensor_before']}"
    assert not report["sensor_after"]["run_keys"], f"the sensor asks again after the run: {report['sensor_after']}"

    # The warehouse, read by the test: both days landed and loaded, a new live version with their orders.
    ledger = {row[0] for row in query("select distinct batch_id from audit.load_batches")}
    days = sorted(path.name for path in workspace.landing_dir.iterdir() if path.name.endswith("-daily"))
    assert len(days) == 2, f"the job landed no day after the one landed by hand: {days}"
    assert set(days) <= ledger, f"landed but not loaded: {set(days) - ledger}"
    (version_after,) = query("select version from audit.publish_log where status = 'live'")[0]
    assert version_after > version_before
    new_orders = query(
        "select count(*) from raw.erp_orders where _op = 'insert' and _batch_id in ("
        + ", ".join(f"'{day}'" for day in days)
        + ")"
    )[0][0]
    assert new_orders > 0
    assert query("select count(*) from marts.fct_orders")[0][0] > orders_before
    for drawn in ("static_index.html", "dashboards/index.html"):
        assert (workspace.dbt_target_dir / drawn).stat().st_mtime > started, f"{drawn} was not drawn again"

    # Dagster's account: every asset of the daily job materialized, each dbt test a passing check.
    assert set(report["materialized"]) == set(report["assets"]), set(report["assets"]) - set(report["materialized"])
    shown = {(check["asset"], check["name"]) for check in report["checks"]}
    expected = manifest_tests(workspace)
    assert expected, "the manifest attaches no data test to a model"
    assert {(asset.split("/")[-1], name) for asset, name in shown} >= expected, expected - {
        (asset.split("/")[-1], name) for asset, name in shown
    }
    assert all(check["passed"] for check in report["checks"]), [c for c in report["checks"] if not c["passed"]]
    assert not any(asset.startswith("landing/") for asset in report["load_and_publish_assets"])
    assert set(report["load_and_publish_assets"]) == {a for a in report["assets"] if not a.startswith("landing/")}


@contextmanager
def dagster_webserver(env: dict[str, str], root: Path) -> Iterator[str]:
    """The UI `make dagster` serves, on a free port; yields its URL. Runs launch at once (no daemon)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(DAGSTER_BIN / "dagster-webserver"), "-f", str(DEFINITIONS), "-h", "127.0.0.1", "-p", str(port)]
    with served(command, root, env, f"{url}/server_info", wait_s=120):
        yield url


def expected_asset_keys(workspace: Workspace) -> set[str]:
    """Every asset the deployment should show, from the source contracts and dbt's manifest."""
    manifest = json.loads((workspace.dbt_target_dir / "manifest.json").read_text())
    keys = {"dbt_docs", "dashboards"}
    for item in sources(PROJECT_DIR):
        keys.add(f"landing/{item.name}")
        keys |= {f"{item.name}/{entity.raw_table}" for entity in item.entities}
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed", "snapshot") and node["package_name"] == "wholesale":
            keys.add(f"{node['config'].get('schema') or node['schema']}/{node['name']}")
            if node["resource_type"] == "model" and node["fqn"][1] == "marts":
                keys.add(f"marts/{node['name']}")
    return keys


def expected_groups(workspace: Workspace) -> set[str]:
    """The asset graph's groups: landing, raw and published, and one per dbt layer."""
    manifest = json.loads((workspace.dbt_target_dir / "manifest.json").read_text())
    layers = {
        node["fqn"][1] if node["resource_type"] == "model" else f"{node['resource_type']}s"
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot") and node["package_name"] == "wholesale"
    }
    return {"landing", "raw", "published"} | layers


def graphql(url: str, query: str) -> dict:
    """One request to the webserver's GraphQL API (what its pages ask it)."""
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["data"]


def wait_for_run(url: str, run_id: str) -> str:
    """The run's status once it has ended, asked of the webserver's GraphQL API."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    query = f'{{ runOrError(runId: "{run_id}") {{ ... on Run {{ status }} }} }}'
    while True:
        status = graphql(url, query)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        assert time.monotonic() < deadline, f"the run was still {status} after {RUN_TIMEOUT_S} s"
        time.sleep(2)


def test_the_ui_shows_every_asset_and_runs_the_daily_job(
    tmp_path: Path, landed_export: Path, start_from_built_export, chromium: Chromium
) -> None:
    workspace = private_workspace(tmp_path / "ws", landed_export)
    start_from_built_export("dev", workspace)
    query = warehouse_query("dev", workspace.env)
    (version_before,) = query("select version from audit.publish_log where status = 'live'")[0]
    env = dagster_env(workspace, "dev")
    # Runs start at once in their own process, without the daemon that `make dagster` also runs
    # (so neither the schedule nor the sensor can start a run of its own during the test).
    (workspace.root / "dagster-home" / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
        "telemetry:\n  enabled: false\n"
    )
    expected = expected_asset_keys(workspace)
    tests = attached_tests(workspace)
    with dagster_webserver(env, workspace.root) as url:
        # A new instance greets its first visitor on localhost with a newsletter dialog, at a moment
        # of its choosing, over whatever page is open: marked as seen, as its "Skip" button does.
        assert graphql(url, "mutation { setNuxSeen }")["setNuxSeen"]
        # The catalog lists every asset (tall enough that its virtual list renders every row).
        page = chromium.open(f"{url}/assets?view=flat", viewport={"width": 1600, "height": 40 * len(expected) + 2000})
        page.locator("a[href='/assets/dashboards']").first.wait_for()
        links = page.locator("a[href^='/assets/']").all()
        shown = {link.get_attribute("href").removeprefix("/assets/") for link in links}
        assert shown == expected, f"missing: {sorted(expected - shown)}; unexpected: {sorted(shown - expected)}"

        # The asset graph: its side panel lists every asset under its group, and with every group
        # expanded the graph draws them (as many as fit the view: it draws only what is in view).
        height = 40 * len(expected) + 1000
        page = chromium.open(f"{url}/asset-groups", viewport={"width": 1800, "height": height})
        carets = page.locator("[aria-label='arrow_drop_down']")
        carets.first.wait_for()
        side_panel = [index for index in range(carets.count()) if carets.nth(index).bounding_box()["x"] < SIDE_PANEL_X]
        assert len(side_panel) == len(expected_groups(workspace)), f"{len(side_panel)} groups in the side panel"
        for index in reversed(side_panel):  # the lowest first: an opened group pushes those below it down
            carets.nth(index).click()
        listed = {line.strip() for line in page.locator("body").inner_text().splitlines()}
        names = {key.split("/")[-1] for key in expected}
        assert names | expected_groups(workspace) <= listed, sorted((names | expected_groups(workspace)) - listed)
        page.locator("[aria-label='settings']").last.click()
        page.locator("text=Expand all groups >> visible=true").click()
        nodes = page.locator("foreignObject [class*='assetName']")
        nodes.first.wait_for()
        assert nodes.count() >= 20, f"the expanded graph draws {nodes.count()} assets"
        page.screenshot(path=workspace.root / "asset-graph.png")
        assert_screenshot(workspace.root / "asset-graph.png")
        page.close()

        # The daily job, launched from its page, succeeds with every check.
        page = chromium.open(f"{url}/locations/definitions.py/jobs/daily_warehouse")
        page.get_by_role("button", name="Materialize all").click()
        runs = chromium.open(f"{url}/runs")
        run_link = runs.locator("a[href^='/runs/']").first
        run_link.wait_for(timeout=60_000)
        run_path = run_link.get_attribute("href")
        # No page stays open while the run runs: a live run page redraws with every event, and on two
        # cores that takes the time the build needs. The run's status is asked of the server instead.
        page.close()
        runs.close()
        status = wait_for_run(url, run_path.removeprefix("/runs/"))
        assert status == "SUCCESS", (workspace.root / "dagster-webserver.log").read_text()[-4000:]
        run = chromium.open(f"{url}{run_path}")
        expect(run.get_by_text("Success", exact=True).first).to_be_visible(timeout=30_000)
        expect(run.get_by_text(f"{len(expected)} assets", exact=True)).to_be_visible()
        expect(run.get_by_text(f"{job_test_count(workspace)} checks", exact=True)).to_be_visible()
        run.screenshot(path=workspace.root / "run.png")

        # An asset's checks: each of its dbt tests, passed.
        checks = chromium.open(f"{url}/assets/marts_build/{CHECKED_MART}?view=checks")
        expect(checks.get_by_text(f"Checks ({len(tests[CHECKED_MART])})", exact=True)).to_be_visible(timeout=30_000)
        checks.screenshot(path=workspace.root / "checks.png")
        for name in tests[CHECKED_MART]:
            expect(checks.get_by_text(name, exact=True).first).to_be_attached()
        expect(checks.get_by_text("Succeeded", exact=True)).to_have_count(len(tests[CHECKED_MART]))
        assert not chromium.page_errors, chromium.page_errors

    # The warehouse, read by the test: the run published a new version.
    (version_after,) = query("select version from audit.publish_log where status = 'live'")[0]
    assert version_after > version_before
