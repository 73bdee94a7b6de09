"""Project checks (`elt check`): the project's conventions, checked over dbt's manifest.

dbt-bouncer runs the checks in dbt-bouncer.yml; the few rules it has no check for are
plain functions over manifest.json below. Only the manifest is read, so the check needs
no warehouse: `dbt parse` (in-process, a few seconds) makes it from the files on disk.

dbt-bouncer runs as a subprocess of the dbt-bouncer beside this interpreter. Its Python
entry point (`dbt_bouncer.run_bouncer`) prints its own report to stdout, replaces the
root logger's handlers, reads the artifacts directory only from its config file and
returns nothing but an exit code, so in-process it would be no cleaner: the subprocess
gives the same JSON results without touching this process's logging or output.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml
from rich.console import Console
from rich.text import Text

from elt.dbt import dbt_target_dir, run_dbt
from elt.errors import EltError
from elt.sources import sources

CONFIG_FILE = "dbt-bouncer.yml"
# The manifest's structure does not depend on the engine, and dev (a DuckDB file that
# parsing never opens) needs no server and no credentials.
PARSE_TARGET = "dev"

# Checks whose fix is in the model's YAML, not in its .sql: the .sql path dbt-bouncer
# reports would send the reader to the wrong file.
YAML_FIXED_CHECKS = {
    "check_model_description_populated",
    "check_model_column_description_populated",
    "check_model_has_unique_test",
}
# Config that dbt_project.yml and the YAML set for marts; it is the .sql to fix only
# when the model's own config() block overrides it.
CONFIG_CHECKS = {"check_model_has_contracts_enforced": "contract", "check_model_access": "access"}


@dataclass(frozen=True, order=True)
class Violation:
    file: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class CheckResult:
    violations: list[Violation]
    checks_run: int
    seconds: float


def check_project(project_dir: Path, console: Console) -> CheckResult:
    """Run every project check on `project_dir`, print what fails; raises EltError if anything does."""
    started = time.perf_counter()
    project_dir = Path(project_dir).resolve()
    with console.status("Parsing the dbt project"):
        manifest_path = parse_project(project_dir)
    with console.status("Checking the project"):
        manifest = json.loads(manifest_path.read_text())
        violations, bouncer_checks = run_bouncer(project_dir, manifest_path.parent, manifest)
        own_violations, own_checks = run_own_checks(manifest)
    violations = sorted(set(violations) | set(own_violations))
    result = CheckResult(violations, bouncer_checks + own_checks, time.perf_counter() - started)
    for violation in violations:
        line = Text.assemble((violation.file, "bold"), ": ", (violation.rule, "cyan"), ": ", violation.message)
        console.print(line, soft_wrap=True, highlight=False)
    if violations:
        raise EltError(
            f"{len(violations)} of {result.checks_run} project check(s) failed, listed above as "
            "<file to fix>: <check>: <what is wrong>. `dbt-bouncer explain <check>` says what a "
            f"dbt-bouncer check wants, and {CONFIG_FILE} and scripts/elt/check.py why we hold to it."
        )
    return result


def parse_project(project_dir: Path) -> Path:
    """`dbt parse`, so the manifest matches the files on disk; returns manifest.json's path."""
    run_dbt(project_dir, PARSE_TARGET, "parse", "--quiet")
    manifest = dbt_target_dir(project_dir) / "manifest.json"
    if not manifest.is_file():
        raise EltError(f"{manifest}: `dbt parse` wrote no manifest; see the dbt output above.")
    return manifest


def _bouncer_executable() -> Path:
    executable = Path(sys.executable).parent / "dbt-bouncer"
    if not executable.is_file():
        raise EltError(
            f"{executable}: dbt-bouncer is not installed beside this Python. Install the dev extras: "
            ".venv/bin/pip install -e '.[dev]'."
        )
    return executable


def run_bouncer(project_dir: Path, artifacts_dir: Path, manifest: dict) -> tuple[list[Violation], int]:
    """The checks in dbt-bouncer.yml on `artifacts_dir`'s manifest; returns failures and the number run."""
    config_path = project_dir / CONFIG_FILE
    if not config_path.is_file():
        raise EltError(f"{config_path}: no dbt-bouncer config; the project commits one at its root.")
    config = with_source_areas(yaml.safe_load(config_path.read_text()), project_dir)
    # The committed config names ./target; the artifacts are wherever DBT_TARGET_PATH put them.
    config["dbt_artifacts_dir"] = str(artifacts_dir.resolve())
    with tempfile.TemporaryDirectory(prefix="elt-check-") as scratch:
        effective_config = Path(scratch) / CONFIG_FILE
        effective_config.write_text(yaml.safe_dump(config, sort_keys=False))
        results_path = Path(scratch) / "results.json"
        env = {key: value for key, value in os.environ.items() if not key.startswith("DBT_BOUNCER_")}
        completed = subprocess.run(
            [
                str(_bouncer_executable()),
                "run",
                "--config-file",
                str(effective_config),
                "--output-file",
                str(results_path),
                "--output-format",
                "json",
            ],
            cwd=scratch,
            env={**env, "NO_COLOR": "1"},
            capture_output=True,
            text=True,
            check=False,
        )
        # 0: all passed, 1: some failed; anything else means the checks did not run.
        if completed.returncode not in (0, 1) or not results_path.is_file():
            output = (completed.stderr + completed.stdout).strip()[-3000:]
            raise EltError(
                f"dbt-bouncer exited {completed.returncode} without checking {config_path.name} "
                f"(a bad config or artifact?):\n{output}"
            )
        results = json.loads(results_path.read_text())
    failures = [result for result in results if result["outcome"] != "success"]
    return [_bouncer_violation(result, project_dir, manifest) for result in failures], len(results)


LINEAGE_CHECK = "check_lineage_permitted_upstream_models"
ANY_MART = "^models/marts/"


def with_source_areas(config: dict, project_dir: Path) -> dict:
    """The committed config plus rule 4 for every registered source that no committed rule gives an area.

    A source's staging (models/staging/<source>/) may be read by the mart area named after it
    (models/marts/<source>/), so a source added by its contract file (decision 0028) and its
    area pass `elt check` with no edit here. Appended after the committed checks, whose
    positions (in dbt-bouncer's check ids) stay as they are.
    """
    checks = config.get("manifest_checks") or []
    owned = {
        folder
        for check in checks
        if check.get("name") == LINEAGE_CHECK
        for folder in re.findall(r"staging/([a-z0-9]+)", str(check.get("upstream_path_pattern", "")))
    }
    added = [item.name for item in sources(project_dir) if item.name not in owned]
    if not added:
        return config
    for check in checks:
        if check.get("name") == LINEAGE_CHECK and check.get("include") == ANY_MART:
            # The rule for areas without a staging folder of their own no longer covers theirs.
            excluded = [check["exclude"]] if check.get("exclude") else []
            check["exclude"] = "|".join(excluded + [f"^models/marts/{name}/" for name in added])
    for name in added:
        checks.append(
            {
                "name": LINEAGE_CHECK,
                "description": f"Marts in {name} may read the {name} source's staging, intermediate models and marts "
                f"(the area named after a source registered in models/staging/{name}/).",
                "include": f"^models/marts/{name}/",
                "upstream_path_pattern": f"^models/(staging/{name}|intermediate|marts)/",
            }
        )
    return config


def _bouncer_violation(result: dict, project_dir: Path, manifest: dict) -> Violation:
    # check_run_id is "<check name>:<index in manifest_checks>:<resource>"; dbt-bouncer puts
    # the check's description (our statement of the rule) before the failure message.
    name = result["check_run_id"].split(":", 1)[0]
    message = " ".join(str(result.get("failure_message") or result["outcome"]).split())
    node = manifest["nodes"].get(result.get("unique_id") or "", {})
    file = result.get("file_path") or CONFIG_FILE
    if node.get("resource_type") == "model":
        config_key = CONFIG_CHECKS.get(name)
        if name in YAML_FIXED_CHECKS or (config_key and not _sets_config_in_sql(node, config_key)):
            file = _properties_file(node, project_dir)
    return Violation(file, name, message)


def _sets_config_in_sql(node: dict, key: str) -> bool:
    """Whether the model's own `{{ config(...) }}` block sets `key` (the manifest keeps no record of it)."""
    blocks = re.findall(r"\{\{-?\s*config\s*\((.*?)\)\s*-?\}\}", node.get("raw_code", ""), re.DOTALL)
    return any(re.search(rf"\b{key}\s*=", block) for block in blocks)


def _properties_file(node: dict, project_dir: Path) -> str:
    """The YAML that describes the model, or the folder's `_<folder>__models.yml` it belongs in."""
    if node.get("patch_path"):
        return node["patch_path"].split("://", 1)[-1]
    folder = PurePosixPath(node["original_file_path"]).parent
    existing = sorted((project_dir / folder).glob("_*__models.yml"))
    return str(folder / (existing[0].name if existing else f"_{folder.name}__models.yml"))


# Our own checks: the rules dbt-bouncer has no check for. Each yields the violations it
# finds and counts as one check per resource it looks at.
OwnCheck = Callable[[dict], Iterator[Violation]]


def _project_nodes(manifest: dict, resource_type: str) -> list[dict]:
    project = manifest["metadata"]["project_name"]
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == resource_type and node["package_name"] == project
    ]


def _tests_by_model(manifest: dict) -> dict[str, list[dict]]:
    tests: dict[str, list[dict]] = {}
    for node in _project_nodes(manifest, "test"):
        if node.get("attached_node") and node.get("test_metadata"):
            tests.setdefault(node["attached_node"], []).append(node)
    return tests


def _grains(tests: list[dict]) -> list[tuple[str, ...]]:
    """The column sets a model's uniqueness tests declare unique: its grain, as tested."""
    grains = []
    for test in tests:
        name, kwargs = test["test_metadata"]["name"], test["test_metadata"].get("kwargs", {})
        if name in ("unique", "unique_and_not_null") and test.get("column_name"):
            grains.append((test["column_name"].lower(),))
        elif name in ("unique_combination_of_columns", "unique_and_not_null"):
            grains.append(tuple(str(column).lower() for column in kwargs.get("combination_of_columns", [])))
    return grains


# The `where` of a test that reads the rows the latest build wrote (macro get_where_subquery).
# Every row was inside that scope when it was written, so such a test covers the table.
LATEST_BUILD_SCOPE = "__rows_of_latest_build__"


def _not_null_columns(model: dict, tests: list[dict]) -> set[str]:
    """Columns kept free of nulls by a not_null test or by a not-null constraint the database enforces."""
    # Any other filter (config where) leaves rows untested, so that test does not count.
    # A not_null test declared on the model rather than its column names it in its arguments.
    # unique_and_not_null tests its key columns for nulls too, on the column or the model.
    named = (
        (test.get("column_name") or test["test_metadata"].get("kwargs", {}).get("column_name"), test)
        for test in tests
        if test["test_metadata"]["name"] == "not_null"
    )
    keys = (
        (str(column), test)
        for test in tests
        if test["test_metadata"]["name"] == "unique_and_not_null"
        for column in (
            [test["column_name"]]
            if test.get("column_name")
            else test["test_metadata"].get("kwargs", {}).get("combination_of_columns", [])
        )
    )
    tested = {
        column.lower()
        for column, test in itertools.chain(named, keys)
        if column and test["config"].get("where") in (None, "", LATEST_BUILD_SCOPE)
    }
    # A view enforces nothing; a table with an enforced contract rejects a null on write.
    enforced = model["config"].get("contract", {}).get("enforced") and model["config"]["materialized"] != "view"
    constrained = {
        name.lower()
        for name, column in model.get("columns", {}).items()
        if enforced and any(constraint["type"] == "not_null" for constraint in column.get("constraints", []))
    }
    return tested | constrained


def check_grain_has_not_null_test(manifest: dict) -> Iterator[Violation]:
    """Rule 2: a grain tested unique is tested not_null too (a null key would join to nothing).

    dbt-bouncer's check_model_has_unique_test wants some uniqueness test on a model, and
    check_model_column_has_specified_test a test on columns matched by name; none ties the
    not_null tests to the columns of the grain. A model with no uniqueness test at all is
    reported by check_model_has_unique_test, not twice here.
    """
    tests_by_model = _tests_by_model(manifest)
    for model in _project_nodes(manifest, "model"):
        tests = tests_by_model.get(model["unique_id"], [])
        grains = _grains(tests)
        not_null = _not_null_columns(model, tests)
        if grains and not any(set(grain) <= not_null for grain in grains):
            grain = min(grains, key=len)
            missing = ", ".join(column for column in grain if column not in not_null)
            yield Violation(
                # Generic tests are declared in the model's YAML, so it has one.
                model["patch_path"].split("://", 1)[-1] if model.get("patch_path") else model["original_file_path"],
                "grain_has_not_null_test",
                "Every model has a unique and a not_null test on its grain. - "
                f"`{model['name']}` tests its grain ({', '.join(grain)}) for uniqueness but not for nulls: "
                f"add a not_null test to {missing}, or an enforced not-null constraint on a table with a contract.",
            )


def check_snapshot_reads_staging(manifest: dict) -> Iterator[Violation]:
    """Rule 3: nothing but staging selects from sources, snapshots included.

    dbt-bouncer's check_lineage_source_cannot_be_used looks at models only.
    """
    for snapshot in _project_nodes(manifest, "snapshot"):
        sources = [node for node in snapshot["depends_on"]["nodes"] if node.startswith("source.")]
        if sources:
            names = ", ".join(".".join(source.split(".")[2:]) for source in sources)
            yield Violation(
                snapshot["original_file_path"],
                "snapshot_reads_staging",
                "Only staging models select from sources; snapshots capture the history of staging models. - "
                f"`{snapshot['name']}` snapshots the source {names}: snapshot its staging model instead "
                "(relation: ref('stg_...')).",
            )


def check_staging_reads_only_sources(manifest: dict) -> Iterator[Violation]:
    """Rule 3: staging models select only from sources.

    dbt-bouncer's lineage checks cover upstream models and seeds, not snapshots.
    """
    for model in _project_nodes(manifest, "model"):
        if not model["original_file_path"].startswith("models/staging/"):
            continue
        snapshots = [node.split(".")[-1] for node in model["depends_on"]["nodes"] if node.startswith("snapshot.")]
        if snapshots:
            yield Violation(
                model["original_file_path"],
                "staging_reads_only_sources",
                "Staging models select only from sources, never from a snapshot. - "
                f"`{model['name']}` selects from the snapshot(s) {', '.join(snapshots)}.",
            )


OWN_CHECKS: dict[OwnCheck, str] = {
    check_grain_has_not_null_test: "model",
    check_snapshot_reads_staging: "snapshot",
    check_staging_reads_only_sources: "model",
}


def run_own_checks(manifest: dict) -> tuple[list[Violation], int]:
    violations = [violation for check in OWN_CHECKS for violation in check(manifest)]
    checks_run = sum(len(_project_nodes(manifest, resource_type)) for resource_type in OWN_CHECKS.values())
    return violations, checks_run
