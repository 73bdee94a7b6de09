"""The command line explains itself, and targets read their settings only from the environment."""

from __future__ import annotations

import subprocess

import pytest

from conftest import ELT, PROJECT_DIR
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
