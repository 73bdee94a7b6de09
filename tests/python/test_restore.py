"""A backup restored under another name serves consumers (docs/runbooks/restore.md), on each engine.

The published views must not name the database they were created in: a DuckDB file copied
to another name is another catalog, and a PostgreSQL dump restored into another database
is another database.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import PROJECT_DIR, duckdb_file, pg_connect, warehouse_query
from test_publish import consumer_state, live_version


def postgres_bin(name: str) -> str:
    """The client programs of the server the tests use: the pgserver wheel's, as the runbook says."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(Path(POSTGRES_BIN_PATH) / name)


def restore_elsewhere(target: str, env: dict[str, str], backups: Path) -> dict[str, str]:
    """Back the warehouse up and restore it under another name, as the runbook does; the restored env."""
    backups.mkdir()
    if target == "dev":
        backup = backups / "warehouse-backup.duckdb"
        shutil.copyfile(duckdb_file(env), backup)
        restored = backups / "restored-elsewhere.duckdb"
        shutil.copyfile(backup, restored)
        return {**env, "WAREHOUSE_DUCKDB_PATH": str(restored)}
    dump = backups / "warehouse.dump"
    subprocess.run([postgres_bin("pg_dump"), "--format=custom", f"--file={dump}"], env=env, check=True)
    restored = f"restored_{uuid.uuid4().hex[:8]}"
    with pg_connect(env, autocommit=True) as admin:
        admin.execute(f'create database "{restored}"')
    restored_env = {**env, "PGDATABASE": restored}
    subprocess.run([postgres_bin("pg_restore"), f"--dbname={restored}", str(dump)], env=restored_env, check=True)
    return restored_env


@pytest.mark.e2e
def test_a_backup_restored_under_another_name_serves_consumers(engine, start_from_built_export, tmp_path: Path) -> None:
    target, workspace, query = engine
    start_from_built_export(target, workspace)
    published = consumer_state(query)
    assert len(published) == len(list((PROJECT_DIR / "models" / "marts").rglob("*.sql")))

    restored_env = restore_elsewhere(target, workspace.env, tmp_path / "backups")
    try:
        restored = warehouse_query(target, restored_env)
        # Every consumer view answers, with the rows the original shows.
        assert consumer_state(restored) == published
        assert live_version(restored) == live_version(query)
        # The pipeline carries on there: status reads it, and publish finds the live build.
        restored_workspace = type(workspace)(workspace.root, restored_env)
        restored_workspace.elt("status", "--target", target)
        again = restored_workspace.elt("publish", "--target", target)
        assert "holds the builds version" in " ".join(again.stdout.split())
    finally:
        if target == "pg":
            with pg_connect(workspace.env, autocommit=True) as admin:
                admin.execute(f'drop database if exists "{restored_env["PGDATABASE"]}" with (force)')
