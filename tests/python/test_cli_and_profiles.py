"""The command line explains itself, and targets read their settings only from the environment."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DIRTY_DAYS, DIRTY_SEED, ELT, PROJECT_DIR, make_workspace
from elt.errors import EltError
from elt.targets import postgres_connection_kwargs, target_config
from test_source_contracts import project_copy


def test_every_command_is_explained_by_help() -> None:
    overview = subprocess.run([str(ELT), "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("generate", "load", "run", "status"):
        assert command in overview
        detail = subprocess.run([str(ELT), command, "--help"], capture_output=True, text=True, check=True).stdout
        assert "Usage" in detail and len(detail) > 200, command


def test_dev_target_is_duckdb_with_an_overridable_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_DUCKDB_PATH", raising=False)
    assert target_config(PROJECT_DIR, "dev")["type"] == "duckdb"
    assert target_config(PROJECT_DIR, "dev")["path"] == "warehouse.duckdb"
    monkeypatch.setenv("WAREHOUSE_DUCKDB_PATH", "/data/elsewhere.duckdb")
    assert target_config(PROJECT_DIR, "dev")["path"] == "/data/elsewhere.duckdb"


def test_prod_target_has_no_default_password_and_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "USER", "PASSWORD", "DATABASE", "PORT", "SSLMODE"):
        monkeypatch.delenv(f"ELT_PROD_PG_{name}", raising=False)
    with pytest.raises(EltError, match="ELT_PROD_PG_HOST is not set"):
        target_config(PROJECT_DIR, "prod")

    monkeypatch.setenv("ELT_PROD_PG_HOST", "db.internal")
    monkeypatch.setenv("ELT_PROD_PG_USER", "transformer")
    monkeypatch.setenv("ELT_PROD_PG_DATABASE", "warehouse")
    with pytest.raises(EltError, match="ELT_PROD_PG_PASSWORD"):
        target_config(PROJECT_DIR, "prod")

    monkeypatch.setenv("ELT_PROD_PG_PASSWORD", "from-the-environment")
    kwargs = postgres_connection_kwargs(target_config(PROJECT_DIR, "prod"))
    assert kwargs == {
        "host": "db.internal",
        "port": 5432,
        "user": "transformer",
        "password": "from-the-environment",  # pragma: allowlist secret
        "dbname": "warehouse",
        "sslmode": "require",
    }


def test_prod_password_is_not_written_in_the_profile() -> None:
    profile = (PROJECT_DIR / "profiles.yml").read_text()
    assert "env_var('ELT_PROD_PG_PASSWORD')" in profile


def test_unknown_target_is_a_clear_error(workspace) -> None:
    result = workspace.elt("load", "--target", "staging", check=False)
    assert result.returncode == 1
    assert "unknown target 'staging'" in result.stderr and "Traceback" not in result.stderr


def test_a_project_dbt_cannot_parse_is_not_reported_as_failed_nodes(workspace, tmp_path) -> None:
    project = project_copy(tmp_path / "project")
    models = project / "models" / "marts" / "core" / "_core__models.yml"
    # An unquoted colon in a description: the YAML error a hand edit most often makes.
    models.write_text(models.read_text().replace("description: >\n", "description: Grain: one row\n", 1))
    workspace.env["ELT_PROJECT_DIR"] = str(project)
    result = workspace.elt("run", "--target", "dev", check=False)
    said = " ".join(result.stderr.split())
    assert result.returncode == 1 and "Traceback" not in result.stderr, said
    assert "before running any node" in said and "_core__models.yml" in said, said
    assert "node(s) failed" not in said, said


# What dbt prints for each node it runs: the lines `elt run` leaves to logs/dbt.log unless --verbose.
DBT_NODE_LINE = re.compile(r"\d+ of \d+ (START|OK|PASS|WARN) ")


@pytest.mark.e2e
def test_a_run_reads_in_80_columns_and_explains_its_warning(tmp_path: Path, landed_dirty: Path) -> None:
    """A dirty run, piped at 80 columns: progress and a summary, not dbt's node log; the warning explained."""
    shutil.copytree(landed_dirty, tmp_path / "landing")
    workspace = make_workspace(tmp_path, extra_env={"COLUMNS": "80"})
    run = workspace.elt("run", "--days", DIRTY_DAYS, "--seed", DIRTY_SEED, "--dirty")
    lines = run.stdout.splitlines()
    assert not [line for line in lines if DBT_NODE_LINE.search(line)], run.stdout
    assert all(len(line.rstrip()) <= 80 for line in lines), [line for line in lines if len(line.rstrip()) > 80]
    # Every batch in the table, with its numbers whole (nothing cut to '…').
    batches = sorted(path.parent.name for path in landed_dirty.glob("*/manifest.json"))
    assert all(any(line.split()[:1] == [batch] for line in lines) for batch in batches), run.stdout
    assert "…" not in run.stdout
    # The build's one warning: which test, how many rows, and what it checks, from its YAML description.
    built = json.loads((workspace.dbt_target_dir / "build_run_results.json").read_text())["results"]
    warned = [result for result in built if result["status"] == "warn"]
    assert warned, "the dirty feed no longer makes the build warn: this test checks nothing"
    summary = " ".join(run.stdout.split())
    assert f"{len(warned)} warned" in summary
    for result in warned:
        assert result["unique_id"].split(".")[2] in summary
        assert f"warned, {result['failures']:,} row" in summary
    assert "a line a day before its order" in summary
    # dbt's own log is all there, in logs/.
    assert DBT_NODE_LINE.search((Path(workspace.env["DBT_LOG_PATH"]) / "dbt.log").read_text())

    verbose = workspace.elt("run", "--days", DIRTY_DAYS, "--seed", DIRTY_SEED, "--dirty", "--verbose")
    assert DBT_NODE_LINE.search(verbose.stdout), verbose.stdout[-2000:]

    status = workspace.elt("status").stdout.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in status), [line for line in status if len(line.rstrip()) > 80]
    assert all(any(line.split()[:1] == [batch] for line in status) for batch in batches)
