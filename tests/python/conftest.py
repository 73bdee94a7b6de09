"""Shared fixtures: real warehouses only (a temp DuckDB file, a real PostgreSQL server).

The PostgreSQL server is the one named by PGHOST when that is set (a CI service container,
say); otherwise the session starts its own throwaway server from the pgserver wheel. Each
test that needs PostgreSQL gets a fresh database on it, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
ELT = Path(sys.executable).parent / "elt"
DBT = Path(sys.executable).parent / "dbt"
# Small dbt projects that tests build on purpose; they share the profiles.yml there.
FIXTURE_PROJECTS_DIR = PROJECT_DIR / "tests" / "dbt_fixtures"
TEST_SCALE_FACTOR = "0.01"


@dataclass
class Workspace:
    """One isolated pipeline: its own landing area, DuckDB file, dbt target and log dirs."""

    root: Path
    env: dict[str, str]

    @property
    def landing_dir(self) -> Path:
        return Path(self.env["ELT_LANDING_DIR"])

    @property
    def duckdb_path(self) -> Path:
        return Path(self.env["WAREHOUSE_DUCKDB_PATH"])

    @property
    def dbt_target_dir(self) -> Path:
        return Path(self.env["DBT_TARGET_PATH"])

    def elt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            [str(ELT), *args], cwd=PROJECT_DIR, env=self.env, capture_output=True, text=True, check=False
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"elt {' '.join(args)} exited {completed.returncode}\n"
                f"stdout:\n{completed.stdout[-6000:]}\nstderr:\n{completed.stderr[-3000:]}"
            )
        return completed

    def dbt(self, target: str, *args: str, project_dir: Path = PROJECT_DIR) -> subprocess.CompletedProcess[str]:
        """One dbt command on this workspace's warehouse; the caller checks its exit code.

        The main project by default, or a fixture project under tests/dbt_fixtures.
        """
        profiles_dir = PROJECT_DIR if project_dir == PROJECT_DIR else FIXTURE_PROJECTS_DIR
        command = [str(DBT), *args, "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)]
        return subprocess.run(
            [*command, "--target", target], cwd=project_dir, env=self.env, capture_output=True, text=True, check=False
        )

    def manifest(self, batch_id: str) -> dict:
        return json.loads((self.landing_dir / batch_id / "manifest.json").read_text())


def make_workspace(root: Path, landing_dir: Path | None = None, extra_env: dict[str, str] | None = None) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "ELT_", "WAREHOUSE_"))}
    env.update(
        {
            "ELT_LANDING_DIR": str(landing_dir or root / "landing"),
            "WAREHOUSE_DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "DBT_TARGET_PATH": str(root / "dbt-target"),
            "DBT_LOG_PATH": str(root / "dbt-logs"),
            "ELT_STATE_DIR": str(root / "state"),
            "ELT_SCALE_FACTOR": TEST_SCALE_FACTOR,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
    )
    env.update(extra_env or {})
    return Workspace(root, env)


@pytest.fixture(scope="session")
def landed_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A landing directory holding the SF 0.01 export, generated once per session (read-only for tests)."""
    root = tmp_path_factory.mktemp("shared-landing")
    workspace = make_workspace(root)
    workspace.elt("generate", "--scale-factor", TEST_SCALE_FACTOR)
    return workspace.landing_dir


TEST_DAYS = "3"
TEST_SEED = "11"
DIRTY_DAYS = "5"
DIRTY_SEED = "5"


def land_days_after_export(root: Path, landed_export: Path, *generate_args: str) -> Path:
    """A copy of the shared export plus the daily batches `elt generate <args>` lands after it."""
    shutil.copytree(landed_export, root / "landing")
    workspace = make_workspace(root)
    workspace.elt("generate", "--scale-factor", TEST_SCALE_FACTOR, *generate_args)
    return workspace.landing_dir


@pytest.fixture(scope="session")
def landed_days(tmp_path_factory: pytest.TempPathFactory, landed_export: Path) -> Path:
    """A landing directory with the export and TEST_DAYS daily change batches (read-only for tests)."""
    root = tmp_path_factory.mktemp("shared-landing-days")
    return land_days_after_export(root, landed_export, "--days", TEST_DAYS, "--seed", TEST_SEED)


@pytest.fixture(scope="session")
def landed_dirty(tmp_path_factory: pytest.TempPathFactory, landed_export: Path) -> Path:
    """The export and DIRTY_DAYS daily batches from `elt generate --dirty` (read-only for tests)."""
    root = tmp_path_factory.mktemp("shared-landing-dirty")
    return land_days_after_export(root, landed_export, "--days", DIRTY_DAYS, "--seed", DIRTY_SEED, "--dirty")


@pytest.fixture
def workspace(tmp_path: Path, landed_export: Path) -> Workspace:
    return make_workspace(tmp_path, landing_dir=landed_export)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """libpq connection variables of a real PostgreSQL server (external if PGHOST is set)."""
    if os.environ.get("PGHOST"):
        yield {
            "PGHOST": os.environ["PGHOST"],
            "PGPORT": os.environ.get("PGPORT", "5432"),
            "PGUSER": os.environ.get("PGUSER", "postgres"),
            "PGPASSWORD": os.environ.get("PGPASSWORD", ""),
            "PGDATABASE": os.environ.get("PGDATABASE", "postgres"),
        }
        return
    from elt import local_pg

    data_dir = tmp_path_factory.mktemp("pg")
    server = local_pg.start(data_dir, keep_running=False)
    try:
        yield local_pg.connection_env(server)
    finally:
        server.cleanup()


def pg_connect(env: dict[str, str], **kwargs) -> psycopg.Connection:
    return psycopg.connect(
        host=env["PGHOST"],
        port=int(env["PGPORT"]),
        user=env["PGUSER"],
        password=env.get("PGPASSWORD") or None,
        dbname=env["PGDATABASE"],
        **kwargs,
    )


@contextmanager
def fresh_postgres_database(server_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A new, empty database on the server; dropped on exit. Yields libpq variables naming it."""
    name = f"elt_test_{uuid.uuid4().hex[:12]}"
    with pg_connect(server_env, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        yield {**server_env, "PGDATABASE": name}
    finally:
        with pg_connect(server_env, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def postgres_database(postgres_server: dict[str, str]) -> Iterator[dict[str, str]]:
    with fresh_postgres_database(postgres_server) as database_env:
        yield database_env


Query = Callable[[str], list[tuple]]


def warehouse_query(target: str, env: dict[str, str]) -> Query:
    """query(sql) on the warehouse that `env` names for `target`, a new connection per call."""
    if target == "pg":
        database_env = dict(env)

        def query(sql: str) -> list[tuple]:
            with pg_connect(database_env) as connection:
                return connection.execute(sql).fetchall()

        return query

    duckdb_path = env["WAREHOUSE_DUCKDB_PATH"]

    def query(sql: str) -> list[tuple]:
        with duckdb.connect(duckdb_path, read_only=True) as connection:
            return connection.execute(sql).fetchall()

    return query


def warehouse_execute(target: str, env: dict[str, str], sql: str) -> None:
    """Run one statement that writes, on the warehouse that `env` names for `target`, and commit it."""
    if target == "pg":
        with pg_connect(env) as connection:
            connection.execute(sql)
        return
    with duckdb.connect(env["WAREHOUSE_DUCKDB_PATH"]) as connection:
        connection.execute(sql)


@pytest.fixture(params=["dev", "pg"])
def engine(request: pytest.FixtureRequest, workspace: Workspace) -> tuple[str, Workspace, Query]:
    """(target, workspace, query) for each engine; query(sql) runs on that workspace's warehouse."""
    target = request.param
    if target == "pg":
        workspace.env.update(request.getfixturevalue("postgres_database"))
    return target, workspace, warehouse_query(target, workspace.env)


_RELIABILITY_FILES_SELECTED = pytest.StashKey[set]()


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_RELIABILITY_FILES_SELECTED] = {Path(str(item.path)) for item in session.items}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """docs/reliability.md is rewritten only after a complete, green run of the reliability tests."""
    from reliability.outcomes import RECORDED, RELIABILITY_DIR, write_report

    selected = session.config.stash.get(_RELIABILITY_FILES_SELECTED, set())
    every_file = set(RELIABILITY_DIR.glob("test_*.py"))
    # Node ids on the command line (file.py::test) pick single tests: a partial run.
    unfiltered = (
        not session.config.option.keyword
        and not session.config.option.markexpr
        and not any("::" in str(argument) for argument in session.config.args)
    )
    if RECORDED and every_file and every_file <= selected and unfiltered and session.testsfailed == 0:
        write_report(RECORDED)
