"""Slim CI builds a one-model change and what depends on it, and nothing else.

Production is an `elt run` of the project as it is (it saves its manifest as the state).
A branch is a copy of the project with one model edited; `elt ci-slim` on it must build
exactly that model and its descendants, as production's manifest lists them, into ci_*
schemas, with unchanged parents deferred to production and production's tables untouched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import PROJECT_DIR

# The whole pipeline, over and over: in `make test`, not in `make test-fast`.
pytestmark = pytest.mark.e2e

PROJECT_PARTS = ("models", "macros", "seeds", "snapshots", "analyses", "tests/dbt", "dbt_project.yml", "profiles.yml")
CHANGED_MODEL = "model.wholesale.int_supply_costs__versioned"
CHANGED_FILE = "models/intermediate/int_supply_costs__versioned.sql"
BUILT_KINDS = ("model.", "seed.", "snapshot.")


def branch_with_one_model_changed(root: Path) -> Path:
    for part in PROJECT_PARTS:
        source = PROJECT_DIR / part
        if source.is_dir():
            shutil.copytree(source, root / part)
        else:
            shutil.copyfile(source, root / part)
    model = root / CHANGED_FILE
    text = model.read_text()
    assert text.rstrip().endswith("select * from final")
    # A real edit to the logic: offers without a cost cannot price a margin.
    model.write_text(text.rstrip() + "\nwhere supply_cost is not null\n")
    return root


def descendants(manifest: dict, unique_id: str) -> set[str]:
    found: set[str] = set()
    stack = [unique_id]
    while stack:
        for child in manifest["child_map"].get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def test_slim_ci_builds_only_the_changed_model_and_its_children(
    engine, start_from_built_export, tmp_path: Path
) -> None:
    target, workspace, query = engine
    start_from_built_export(target, workspace)
    production = json.loads((Path(workspace.env["ELT_STATE_DIR"]) / "manifest.json").read_text())
    fact_before = query("select count(*), sum(net_revenue), sum(gross_margin) from marts.fct_order_lines")

    branch = branch_with_one_model_changed(tmp_path / "branch")
    workspace.env["ELT_PROJECT_DIR"] = str(branch)
    result = workspace.elt("ci-slim", "--target", target)

    downstream = descendants(production, CHANGED_MODEL)
    expected_built = {CHANGED_MODEL} | {node for node in downstream if node.startswith(BUILT_KINDS)}
    assert "model.wholesale.fct_order_lines" in expected_built and len(expected_built) < 10
    run_results = json.loads((workspace.dbt_target_dir / "ci_slim_run_results.json").read_text())
    statuses = {item["unique_id"]: item["status"] for item in run_results["results"]}
    built = {node for node in statuses if node.startswith(BUILT_KINDS)}
    assert built == expected_built, result.stdout
    tests = {node for node in statuses if node.startswith(("test.", "unit_test."))}
    assert tests and all(node in downstream or node.startswith("unit_test.") for node in tests), tests - downstream
    failed = {node: status for node, status in statuses.items() if status not in ("success", "pass", "no-op")}
    assert not failed
    # Exposures are listed, not run; the ones shown are those downstream of the change.
    assert {node for node, status in statuses.items() if status == "no-op"} <= downstream
    for node in expected_built:
        assert node in result.stdout

    # The change landed beside production, built from production's unchanged parents,
    # and production's fact is as it was.
    assert (
        query("select count(*), sum(net_revenue), sum(gross_margin) from ci_marts_build.fct_order_lines") == fact_before
    )
    assert query("select count(*), sum(net_revenue), sum(gross_margin) from marts.fct_order_lines") == fact_before
    ci_schemas = query(
        "select distinct schema_name from information_schema.schemata where left(schema_name, 3) = 'ci_'"
    )
    expected_schemas = {"ci_" + production["nodes"][node]["schema"] for node in expected_built}
    # A fact that removes rows records their keys for its publication (decision 0014), in the prefixed history schema.
    if any(
        "remove_rows" in hook["sql"]
        for node in expected_built
        for hook in production["nodes"][node]["config"].get("post-hook", [])
    ):
        expected_schemas.add("ci_marts_history")
    assert {row[0] for row in ci_schemas} == expected_schemas
