"""`make bench` end to end, small: `elt bench` on a copy of the project, on both engines.

No figure is asserted here: targets live in benchmarks/README.md, never in tests. What is
checked, against sources the harness does not write, is that the bench runs from a clean
checkout; that it times the build the scheduled job runs (the manifest's tests, less the
ones CI runs instead) and the rows the extract delivered (the batches' manifests); that the
README's log and targets table follow the results files; and that no warehouse is left
behind, also when a run fails halfway. The copy keeps the real benchmarks/ untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from conftest import ELT, PROJECT_DIR, TEST_SCALE_FACTOR, pg_connect
from elt.bench.harness import BENCH_WAREHOUSE, KPI_SCALE_FACTOR, RESULTS_LOG_HEADING, TARGETS_END, TARGETS_START
from elt.dbt import IMPLIED_TESTS_TAG

# The whole pipeline, over and over: in `make test`, not in `make test-fast`.
pytestmark = pytest.mark.e2e

SCALE_FACTOR = float(TEST_SCALE_FACTOR)

# What a fresh clone does not hold: generated data, dbt's artifacts, the venv, git itself.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "target", "logs", "landing", "state", ".data", "*.duckdb*", ".local-pg",
    "__pycache__", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, copy, ignore=NOT_IN_A_CLONE)
    return copy


def run_bench(project: Path, postgres_server: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "ELT_", "WAREHOUSE_", "PG"))}
    # The server's admin connection: the bench creates and drops its own database on it.
    env.update(postgres_server)
    env.update({"ELT_PROJECT_DIR": str(project), "NO_COLOR": "1", "COLUMNS": "200"})
    return subprocess.run(
        [str(ELT), "bench", *args], cwd=project, env=env, capture_output=True, text=True, check=False, timeout=1500
    )


def fingerprint(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and ".data" not in path.parts
    }


def batch_manifests(project: Path, scale_factor: float) -> list[list[dict]]:
    """The generator's manifests of the batches the bench landed, by business day (every
    source's deliveries of a day together), first day first."""
    landing = project / "benchmarks" / ".data" / f"sf{scale_factor:g}" / "landing"
    by_day: dict[str, list[dict]] = {}
    for path in landing.glob("*/manifest.json"):
        manifest = json.loads(path.read_text())
        by_day.setdefault(manifest["business_date"], []).append(manifest)
    return [by_day[day] for day in sorted(by_day)]


def delivered_rows(manifests: list[dict]) -> int:
    return sum(item["rows"] for manifest in manifests for item in manifest["files"])


def rows_in(document: dict) -> int:
    return document["rows_loaded"] + document["rows_quarantined"]


def scheduled_data_tests(project: Path, engine: str) -> int:
    """Data tests of the project's manifest that the scheduled build runs (decision 0021)."""
    manifest = json.loads((project / "benchmarks" / ".data" / f"dbt-target-{engine}" / "manifest.json").read_text())
    return sum(
        node["resource_type"] == "test" and IMPLIED_TESTS_TAG not in node["tags"] for node in manifest["nodes"].values()
    )


def timed_tests(document: dict) -> int:
    """How many tests the median build's run_results.json held, as the results file reports them."""
    (label,) = [key for key in document["slowest_dbt_nodes"] if key.startswith("all ")]
    return int(re.match(r"all (\d+) ", label).group(1))


def targets_block(readme: str) -> list[str]:
    return readme.split(TARGETS_START, 1)[1].split(TARGETS_END, 1)[0].strip().splitlines()


def results_log(readme: str) -> list[str]:
    return [line for line in readme.split(RESULTS_LOG_HEADING, 1)[1].splitlines() if line.startswith("| 20")]


def bench_warehouses_left(project: Path, postgres_server: dict[str, str]) -> list[str]:
    with pg_connect(postgres_server) as admin:
        databases = [row[0] for row in admin.execute("select datname from pg_database").fetchall()]
    files = [path.name for path in (project / "benchmarks" / ".data" / "warehouses").glob("*")]
    return [name for name in databases if name == BENCH_WAREHOUSE] + files


def test_bench_measures_every_scenario_on_both_engines_from_a_clean_checkout(
    project_copy: Path, postgres_server: dict[str, str]
) -> None:
    real_benchmarks = fingerprint(PROJECT_DIR / "benchmarks")
    readme_path = project_copy / "benchmarks" / "README.md"
    readme_before = readme_path.read_text()
    started = datetime.now(UTC).replace(microsecond=0)

    completed = run_bench(
        project_copy, postgres_server,
        "--scenario", "full", "--scenario", "daily", "--scenario", "kpi",
        "--engine", "duckdb", "--engine", "postgres", "-s", TEST_SCALE_FACTOR, "--runs", "1",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]

    results = project_copy / "benchmarks" / "results"
    names = [
        f"{scenario}-{engine}-sf{SCALE_FACTOR:g}" for engine in ("duckdb", "postgres") for scenario in ("full", "daily")
    ]
    names.append(f"kpi-duckdb-sf{KPI_SCALE_FACTOR:g}")
    documents = {name: json.loads((results / f"{name}.json").read_text()) for name in names}
    for name, document in documents.items():
        # The KPI's file came with the copy: it must have been measured again, now.
        assert datetime.fromisoformat(document["measured_at"]) >= started, name

    export_day, *days = batch_manifests(project_copy, SCALE_FACTOR)
    # The full build is of every source the project declares, as `elt run` builds it.
    assert {manifest.get("source", "erp") for manifest in export_day} == {"erp", "finance", "carrier"}
    project_vars = yaml.safe_load((project_copy / "dbt_project.yml").read_text())["vars"]
    # The daily scenario warms up until history is pruned as on a steady day, then times one more.
    assert len(days) == int(project_vars["fct_order_lines_lookback_days"]) + 1 + int(
        project_vars["published_versions_kept"]
    )
    for engine in ("duckdb", "postgres"):
        full = documents[f"full-{engine}-sf{SCALE_FACTOR:g}"]
        daily = documents[f"daily-{engine}-sf{SCALE_FACTOR:g}"]
        # Every delivered row was loaded or quarantined (the carrier re-sends a few events within a file).
        assert rows_in(full) == delivered_rows(export_day) and full["rows_loaded"] > 0, engine
        assert rows_in(daily) == delivered_rows(days[-1]) and daily["rows_loaded"] > 0, engine
        # The build timed is the scheduled one: every data test but those CI runs instead, no unit test.
        assert timed_tests(full) == timed_tests(daily) == scheduled_data_tests(project_copy, engine), engine
        stages = (
            full["load_seconds"]["all"][0] + full["transform_seconds"]["all"][0] + full["publish_seconds"]["all"][0]
        )
        assert full["seconds"]["all"][0] == pytest.approx(stages, abs=0.01), engine
        assert full["ratio"]["all"][0] == pytest.approx(
            full["seconds"]["all"][0] / full["reference_seconds"]["all"][0], rel=0.005
        )
        # The day is compared with the full build of the same run.
        assert daily["reference_seconds"]["all"] == full["seconds"]["all"], engine
        profile = full["dbt_concurrency"]
        assert sum(profile["seconds_with_nodes_running"].values()) <= profile["build_seconds"] + 0.01, engine
        assert full["peak_rss_mb"]["pipeline"] > 0 and full["peak_rss_mb"]["reference"] > 0, engine
    kpi = documents[f"kpi-duckdb-sf{KPI_SCALE_FACTOR:g}"]
    (kpi_day,) = batch_manifests(project_copy, KPI_SCALE_FACTOR)
    (kpi_export,) = [manifest for manifest in kpi_day if manifest["batch_kind"] == "export"]
    assert kpi["order_lines"] == next(item["rows"] for item in kpi_export["files"] if item["entity"] == "order_lines")
    assert kpi["order_lines"] >= 1_000_000
    assert timed_tests(kpi) == scheduled_data_tests(project_copy, "duckdb")

    readme = readme_path.read_text()
    # The log gained one row per results file; nothing before it was rewritten.
    assert results_log(readme)[: len(results_log(readme_before))] == results_log(readme_before)
    new_rows = results_log(readme)[len(results_log(readme_before)) :]
    assert [row.split(" | ")[2:5] for row in new_rows] == [
        [document["scenario"], document["engine"], f"{document['scale_factor']:g}"] for document in documents.values()
    ]
    # The targets table: the KPI's row shows the new measurement; the SF1 rows were not touched.
    before, after = targets_block(readme_before), targets_block(readme)
    kpi_row = next(index for index, row in enumerate(after) if row.startswith("| 1M order lines"))
    assert f"{kpi['seconds']['median']:.2f} s (1 run)" in after[kpi_row]
    assert after[:kpi_row] + after[kpi_row + 1 :] == before[:kpi_row] + before[kpi_row + 1 :]

    assert bench_warehouses_left(project_copy, postgres_server) == []
    assert fingerprint(PROJECT_DIR / "benchmarks") == real_benchmarks


def test_a_failed_run_stops_the_bench_with_its_error_and_keeps_what_was_measured(
    project_copy: Path, postgres_server: dict[str, str]
) -> None:
    broken = project_copy / "benchmarks" / "reference" / "postgres" / "99_broken.sql"
    broken.write_text("select count(*) from reference_marts.no_such_mart;\n")
    readme_path = project_copy / "benchmarks" / "README.md"
    logged_before = results_log(readme_path.read_text())

    completed = run_bench(
        project_copy, postgres_server,
        "--scenario", "full", "--engine", "duckdb", "--engine", "postgres", "-s", TEST_SCALE_FACTOR, "--runs", "1",
    )  # fmt: skip

    assert completed.returncode == 1
    error = completed.stderr
    assert "benchmark run reference failed" in error
    assert "99_broken.sql: the reference SQL failed" in error and "no_such_mart" in error
    assert "Traceback" not in error
    results = project_copy / "benchmarks" / "results"
    assert not (results / f"full-postgres-sf{SCALE_FACTOR:g}.json").exists()
    # DuckDB was measured before PostgreSQL failed: its file and its log row are both there.
    duckdb_result = json.loads((results / f"full-duckdb-sf{SCALE_FACTOR:g}.json").read_text())
    logged = results_log(readme_path.read_text())
    assert logged[: len(logged_before)] == logged_before
    assert [row.split(" | ")[2:5] for row in logged[len(logged_before) :]] == [["full", "duckdb", f"{SCALE_FACTOR:g}"]]
    assert duckdb_result["ratio"]["all"][0] > 0
    assert bench_warehouses_left(project_copy, postgres_server) == []
