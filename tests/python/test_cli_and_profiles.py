"""The command line explains itself, and targets read their settings only from the environment."""

from __future__ import annotations

import subprocess

import pytest

from conftest import ELT, PROJECT_DIR
from elt.errors import EltError
from elt.targets import postgres_connection_kwargs, target_config


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
