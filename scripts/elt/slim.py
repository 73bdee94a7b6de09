"""Slim CI: build only what a change touched, against the state of the last good build.

A successful `elt run` saves its manifest.json in the state directory (ELT_STATE_DIR,
default state/): that is the production state. `elt ci-slim` then builds
`state:modified+` (the changed models, seeds and snapshots and everything downstream)
with `--defer`, so unchanged parents are read from production's relations instead of
being rebuilt. What it builds goes to schemas prefixed with `ci_` (ci_staging,
ci_marts, ...) in the same warehouse, so production's tables are never overwritten.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

from elt.dbt import BUILD_RESULTS, DbtSummary, dbt_target_dir, run_dbt
from elt.errors import EltError
from elt.settings import Paths

# The state dir's name for each artifact: the build's results, not the docs generation's.
STATE_FILES = {"manifest.json": "manifest.json", BUILD_RESULTS: "run_results.json"}
CI_SCHEMA_PREFIX = "ci_"


@dataclass(frozen=True)
class SlimBuild:
    summary: DbtSummary
    built: list[str]


def save_state(paths: Paths) -> None:
    """Keep the artifacts of a successful build as the state slim CI compares against."""
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    for name, saved_as in STATE_FILES.items():
        source = dbt_target_dir(paths.project_dir) / name
        if source.is_file():
            shutil.copyfile(source, paths.state_dir / saved_as)


def build_modified(paths: Paths, target: str, schema_prefix: str = CI_SCHEMA_PREFIX) -> SlimBuild:
    """`dbt build -s state:modified+ --defer` against the saved state; returns what it built."""
    manifest = paths.state_dir / "manifest.json"
    if not manifest.is_file():
        raise EltError(
            f"{manifest}: no production manifest to compare against. Run `elt run --target {target}` on the "
            "main branch first (it saves one), or copy production's manifest.json into that directory "
            "(ELT_STATE_DIR names another)."
        )
    summary = run_dbt(
        paths.project_dir,
        target,
        "build",
        "--select",
        "state:modified+",
        "--defer",
        "--state",
        str(paths.state_dir),
        "--vars",
        json.dumps({"schema_prefix": schema_prefix}),
        keep_results_as="ci_slim_run_results.json",
    )
    results = json.loads((dbt_target_dir(paths.project_dir) / "ci_slim_run_results.json").read_text())
    return SlimBuild(summary, sorted(result["unique_id"] for result in results["results"]))
