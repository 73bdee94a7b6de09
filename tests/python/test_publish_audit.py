"""Publish only what was audited (decision 0023), on each engine.

`elt publish` must judge the marts as they are in marts_build, not by the last `elt` build's
results file: whatever changed them after their tests passed (a manual `dbt run`, one mart
rebuilt, a build that stopped, a manual build whose tests failed) is refused. And a build
already live is not published again as a new version.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from batches import land_batch
from conftest import ELT
from elt.dbt import PRODUCTION_BUILD_ARGS
from elt.faults import KILL_AT_VARIABLE, dbt_node_point
from test_publish import consumer_state, live_version, order_from_1850


def words(completed) -> str:
    # The console wraps long lines wherever the message's names push them: compare words.
    return " ".join((completed.stdout + completed.stderr).split())


def versions(query) -> list[tuple]:
    return query("select version, status from audit.publish_log order by version")


@pytest.mark.e2e
def test_an_unchanged_build_is_not_a_new_version(engine, start_from_built_export) -> None:
    target, workspace, query = engine
    start_from_built_export(target, workspace)
    first = live_version(query)
    state = consumer_state(query)
    for _ in range(4):
        again = workspace.elt("publish", "--target", target)
        assert f"marts_build holds the builds version {first} was published from" in words(again)
    # One version, still live: nothing new, nothing retired.
    assert versions(query) == [(first, "live")]
    assert consumer_state(query) == state


@pytest.mark.e2e
def test_a_run_with_nothing_new_is_not_a_new_version(engine, start_from_built_export, landed_days: Path) -> None:
    """A scheduled run on a day the source sent nothing rebuilds and tests, but publishes no copy of the same rows."""
    target, workspace, query = engine
    landing = workspace.root / "landing"
    shutil.copytree(workspace.landing_dir, landing)
    workspace.env["ELT_LANDING_DIR"] = str(landing)
    start_from_built_export(target, workspace)
    first = live_version(query)
    state = consumer_state(query)
    again = workspace.elt("run", "--target", target)
    assert f"the same loaded batches and project code as version {first}" in words(again)
    assert versions(query) == [(first, "live")]
    assert consumer_state(query) == state
    # A new day is new input: published as the next version.
    day = sorted(path for path in landed_days.iterdir() if path.name.endswith("-daily"))[0]
    land_batch(day, workspace.landing_dir)
    workspace.elt("run", "--target", target, "--days", "0")
    assert versions(query) == [(first, "superseded"), (first + 1, "live")]


def unaudited_change(scenario: str, target: str, workspace, landed_days: Path) -> list[str]:
    """Change marts_build the way `scenario` says; return marts the refusal must name."""
    if scenario == "dbt_run_one_mart":
        assert workspace.dbt(target, "run", "--select", "dim_dates").returncode == 0
        return ["dim_dates"]
    if scenario == "dbt_run":
        assert workspace.dbt(target, "run").returncode == 0
        return ["dim_customers", "fct_order_lines", "rpt_supplier_on_time_delivery"]
    if scenario == "interrupted_build":
        # The build is killed as fct_orders commits: the marts before it are rebuilt (and
        # some tested), but the build never finished its audit.
        env = {**workspace.env, KILL_AT_VARIABLE: dbt_node_point("fct_orders")}
        killed = subprocess.run(
            [str(ELT), "run", "--target", target],
            cwd=workspace.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert killed.returncode != 0
        return ["fct_order_lines"]
    assert scenario == "failed_build"
    # A day whose data fails a test on the fact, loaded and built by hand.
    day = sorted(path for path in landed_days.iterdir() if path.name.endswith("-daily"))[0]
    land_batch(day, workspace.landing_dir, order_from_1850)
    workspace.elt("load", "--target", target)
    # The scheduled build's selection: the unit tests check SQL, not this day's data.
    assert workspace.dbt(target, "build", *PRODUCTION_BUILD_ARGS).returncode != 0
    return ["fct_order_lines"]


@pytest.mark.e2e
@pytest.mark.parametrize("scenario", ["dbt_run_one_mart", "dbt_run", "interrupted_build", "failed_build"])
def test_publish_refuses_marts_changed_since_their_tests_passed(
    engine, start_from_built_export, landed_days: Path, scenario: str
) -> None:
    target, workspace, query = engine
    landing = workspace.root / "landing"
    landing.mkdir()
    workspace.env["ELT_LANDING_DIR"] = str(landing)
    land_batch(landed_days / "19980802-export", landing)
    start_from_built_export(target, workspace)
    first = live_version(query)
    state = consumer_state(query)

    named = unaudited_change(scenario, target, workspace, landed_days)
    refused = workspace.elt("publish", "--target", target, check=False)
    message = words(refused)
    assert refused.returncode == 1, message
    assert "cannot publish" in message and f"consumers still see version {first}" in message
    for mart in named:
        assert mart in message, (mart, message)
    if scenario == "failed_build":
        assert "failed their tests" in message
    # One message, no traceback.
    assert refused.stderr.startswith("error: cannot publish") and "Traceback" not in refused.stderr
    assert live_version(query) == first and consumer_state(query) == state

    if scenario == "dbt_run_one_mart":
        # The tests the rebuilt mart's change can affect, run on it, are its audit.
        assert workspace.dbt(target, "test", "--select", "dim_dates").returncode == 0
        workspace.elt("publish", "--target", target)
        assert live_version(query) == first + 1
