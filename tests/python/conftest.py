"""Shared fixtures: real warehouses only (a temp DuckDB file, a real PostgreSQL server).

The PostgreSQL server is the one named by PGHOST when that is set (a CI service container,
say); otherwise the session (each pytest-xdist worker's session) starts its own throwaway
server from the pgserver wheel. Each test that needs PostgreSQL gets a fresh database on
it, dropped afterwards.

dbt parses the project once per session and target, not once per test (docs/testing.md):
a full parse costs seconds, and dbt reuses a saved parse (target/partial_parse.msgpack)
only when the connection it was made for is the same. So every workspace names its DuckDB
file by the same relative path, run from the workspace's own directory, each test's
PostgreSQL database has the same name on its worker's server, and a workspace about to run
dbt starts from the parse saved for that connection. dbt itself still checks the files and
the connection, and parses again whatever differs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import psycopg
import pytest

import preforked
from browser import Chromium

PROJECT_DIR = Path(__file__).resolve().parents[2]
ELT = Path(sys.executable).parent / "elt"
DBT = Path(sys.executable).parent / "dbt"
# Small dbt projects that tests build on purpose; they share the profiles.yml there.
FIXTURE_PROJECTS_DIR = PROJECT_DIR / "tests" / "dbt_fixtures"
TEST_SCALE_FACTOR = "0.01"
# What a workspace whose `elt run` must end with the docs step sets (make_workspace's default is off).
WITH_DOCS = {"ELT_RUN_DOCS": "true"}
# The DuckDB file of every workspace, relative to the workspace's directory (the commands'
# working directory there), so that dbt sees one connection in all of them.
WORKSPACE_DUCKDB_FILE = "warehouse.duckdb"
# The workspace's directory, for helpers that get only its environment.
WORKSPACE_DIR_VARIABLE = "TEST_WORKSPACE_DIR"
# What a saved parse depends on besides the project's files: the variables profiles.yml
# renders into each target's connection.
PARSE_KEY_VARIABLES = {
    "dev": ("WAREHOUSE_DUCKDB_PATH", "ELT_DUCKDB_MEMORY_LIMIT"),
    "pg": ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "ELT_TRANSFORMER_PGROLE"),
}
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# `elt` commands that never start dbt, so need no saved parse (a session that only
# generates and loads parses nothing).
ELT_COMMANDS_WITHOUT_DBT = ("generate", "load", "dashboards")


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
        return duckdb_file(self.env)

    @property
    def dbt_target_dir(self) -> Path:
        return Path(self.env["DBT_TARGET_PATH"])

    def elt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if args[0] not in ELT_COMMANDS_WITHOUT_DBT:
            # profiles.yml's default target is DBT_TARGET's, or dev.
            target = args[args.index("--target") + 1] if "--target" in args else self.env.get("DBT_TARGET", "dev")
            self.seed_parse(target)
        completed = preforked.run([ELT, *args], cwd=self.root, env=self.env)
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
        if project_dir == PROJECT_DIR:
            self.seed_parse(target)
        command = [str(DBT), *args, "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)]
        return preforked.run([*command, "--target", target], cwd=self.root, env=self.env)

    def seed_parse(self, target: str) -> None:
        """Start the workspace's dbt target directory from the session's parse for this connection.

        Only before the workspace's first dbt command: after that, dbt keeps its own."""
        seeded = self.dbt_target_dir / PARTIAL_PARSE_FILE
        if target in PARSE_KEY_VARIABLES and not seeded.exists():
            self.dbt_target_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(parsed_project(target, self.env), seeded)

    def manifest(self, batch_id: str) -> dict:
        return json.loads((self.landing_dir / batch_id / "manifest.json").read_text())


def make_workspace(root: Path, landing_dir: Path | None = None, extra_env: dict[str, str] | None = None) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "ELT_", "WAREHOUSE_"))}
    env.update(
        {
            WORKSPACE_DIR_VARIABLE: str(root),
            "ELT_LANDING_DIR": str(landing_dir or root / "landing"),
            "WAREHOUSE_DUCKDB_PATH": WORKSPACE_DUCKDB_FILE,
            "DBT_TARGET_PATH": str(root / "dbt-target"),
            "DBT_LOG_PATH": str(root / "dbt-logs"),
            "ELT_STATE_DIR": str(root / "state"),
            "ELT_SCALE_FACTOR": TEST_SCALE_FACTOR,
            # `elt run` without its docs step, which takes as long as the build: the tests of
            # the docs site and of the whole job turn it on (ELT_RUN_DOCS=true).
            "ELT_RUN_DOCS": "false",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
    )
    env.update(extra_env or {})
    return Workspace(root, env)


def duckdb_file(env: dict[str, str]) -> Path:
    """The DuckDB file `env` names: a relative path is the workspace directory's."""
    path = Path(env["WAREHOUSE_DUCKDB_PATH"])
    return path if path.is_absolute() else Path(env[WORKSPACE_DIR_VARIABLE]) / path


def workspace_dir(env: dict[str, str]) -> Path:
    """Where commands on the workspace `env` describes run (its DuckDB path is relative to it)."""
    return Path(env[WORKSPACE_DIR_VARIABLE])


def made_once_per_run(base_temp: Path, name: str, make: Callable[[Path], None]) -> Path:
    """The directory `name` under the run's temp root, made by `make(directory)` the first time
    any pytest-xdist worker of this run asks for it; the others wait for it and reuse it.

    For what the workers would each make alike and only read: landed files, a dbt parse. A
    directory whose maker failed is made again by the next caller, never half reused."""
    # Each worker's temp root is a folder of the run's; without xdist the session's is the run's.
    run_root = base_temp.parent if os.environ.get("PYTEST_XDIST_WORKER") else base_temp
    directory = run_root / name
    with open(run_root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (directory / ".made").exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir()
            make(directory)
            (directory / ".made").touch()
    return directory


# (target, connection) -> the partial_parse.msgpack of one `dbt parse` for it, this run.
_PARSES: dict[tuple, Path] = {}


def parsed_project(target: str, env: dict[str, str]) -> Path:
    """The project parsed by dbt for `target` over the connection `env` names, once per run:
    workers whose connection is the same (a DuckDB file's relative path) share one parse."""
    key = (target, *(env.get(name, "") for name in PARSE_KEY_VARIABLES[target]))
    if key not in _PARSES:

        def parse(scratch: Path) -> None:
            parse_env = {**env, WORKSPACE_DIR_VARIABLE: str(scratch), "DBT_TARGET_PATH": str(scratch / "target")}
            parse_env["DBT_LOG_PATH"] = str(scratch / "logs")
            command = [str(DBT), "parse", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
            completed = preforked.run([*command, "--target", target], cwd=scratch, env=parse_env)
            if completed.returncode != 0:
                raise AssertionError(f"dbt parse --target {target} failed:\n{completed.stdout[-4000:]}")

        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
        scratch = made_once_per_run(_SESSION_BASE_TEMP[0], f"dbt-parse-{digest}", parse)
        _PARSES[key] = scratch / "target" / PARTIAL_PARSE_FILE
    return _PARSES[key]


# The session's temp root (pytest's basetemp), known once the session starts.
_SESSION_BASE_TEMP: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def session_base_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base_temp = tmp_path_factory.getbasetemp()
    _SESSION_BASE_TEMP[:] = [base_temp]
    return base_temp


@pytest.fixture(autouse=True)
def no_warehouse_in_the_project_dir() -> Iterator[None]:
    """A command run from the project directory with a workspace's environment would open the
    project's own DuckDB file (the workspace's path is relative): fail the test that did."""
    project_file = PROJECT_DIR / WORKSPACE_DUCKDB_FILE
    before = project_file.stat().st_mtime_ns if project_file.exists() else None
    yield
    after = project_file.stat().st_mtime_ns if project_file.exists() else None
    assert after == before, (
        f"{project_file} was written during this test: run workspace commands with cwd=workspace.root "
        "(its DuckDB path is relative to it)"
    )


@pytest.fixture(scope="session")
def landed_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A landing directory holding the SF 0.01 export, generated once per run (read-only for tests)."""

    def generate(root: Path) -> None:
        make_workspace(root).elt("generate", "--scale-factor", TEST_SCALE_FACTOR)

    return made_once_per_run(tmp_path_factory.getbasetemp(), "shared-landing", generate) / "landing"


TEST_DAYS = "3"
TEST_SEED = "11"
DIRTY_DAYS = "5"
DIRTY_SEED = "5"


def land_days_after_export(base_temp: Path, name: str, landed_export: Path, *generate_args: str) -> Path:
    """A copy of the shared export plus the daily batches `elt generate <args>` lands after it,
    landed once per run (read-only for tests)."""

    def land(root: Path) -> None:
        shutil.copytree(landed_export, root / "landing")
        make_workspace(root).elt("generate", "--scale-factor", TEST_SCALE_FACTOR, *generate_args)

    return made_once_per_run(base_temp, name, land) / "landing"


@pytest.fixture(scope="session")
def landed_days(tmp_path_factory: pytest.TempPathFactory, landed_export: Path) -> Path:
    """A landing directory with the export and TEST_DAYS daily change batches (read-only for tests)."""
    days = ("--days", TEST_DAYS, "--seed", TEST_SEED)
    return land_days_after_export(tmp_path_factory.getbasetemp(), "shared-landing-days", landed_export, *days)


@pytest.fixture(scope="session")
def landed_dirty(tmp_path_factory: pytest.TempPathFactory, landed_export: Path) -> Path:
    """The export and DIRTY_DAYS daily batches from `elt generate --dirty` (read-only for tests)."""
    days = ("--days", DIRTY_DAYS, "--seed", DIRTY_SEED, "--dirty")
    return land_days_after_export(tmp_path_factory.getbasetemp(), "shared-landing-dirty", landed_export, *days)


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
        server_env = local_pg.connection_env(server)
        # The session's own server, deleted with it: it need not survive an operating-system
        # crash, so commits do not wait for the disk (a restart of the server loses nothing).
        with pg_connect(server_env, autocommit=True) as admin:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                admin.execute(f"alter system set {setting} = off")
            admin.execute("select pg_reload_conf()")
        yield server_env
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
def fresh_postgres_database(server_env: dict[str, str], name: str | None = None) -> Iterator[dict[str, str]]:
    """A new, empty database on the server (named `name`, or a unique name); dropped on exit.

    Yields libpq variables naming it."""
    name = name or f"elt_test_{uuid.uuid4().hex[:12]}"
    with pg_connect(server_env, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
    try:
        yield {**server_env, "PGDATABASE": name}
    finally:
        with pg_connect(server_env, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


# The database of each test's PostgreSQL workspace: one name per worker (a worker runs one
# test at a time), so its tests share one saved dbt parse; module-wide warehouses get
# unique names.
TEST_DATABASE = f"elt_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture
def postgres_database(postgres_server: dict[str, str]) -> Iterator[dict[str, str]]:
    with fresh_postgres_database(postgres_server, TEST_DATABASE) as database_env:
        yield database_env


BuiltExport = Callable[[str, Workspace], None]


def _built_runs(
    tmp_path_factory: pytest.TempPathFactory, request, name: str, landing: Path, *run_args: str
) -> Iterator[BuiltExport]:
    """start(target, workspace): the workspace's warehouse becomes what one `elt run <run_args>`
    over a copy of `landing` leaves, without running it again.

    The run happens once per engine and worker; each test gets a copy: the DuckDB file, or a
    PostgreSQL database created with the built one as its template (under the test's own
    database name, which the built one had too, so dbt's artifacts name the right database),
    and the dbt target and state directories beside it.
    """
    templates: dict[str, Path] = {}
    template_database = f"{TEST_DATABASE}_built_{name}"
    # The server the template database is on, once there is one.
    template_server: dict[str, str] = {}

    def start(target: str, workspace: Workspace) -> None:
        if target == "pg":
            # The test's database, empty so far, is where the copy goes (or the build, the first time).
            server_env = request.getfixturevalue("postgres_server")
            assert workspace.env["PGDATABASE"] == TEST_DATABASE, (
                f"a built {name} run is copied into the test's own database"
            )
        if target not in templates:
            root = tmp_path_factory.mktemp(f"built-{name}-{target}")
            shutil.copytree(landing, root / "landing")
            built = make_workspace(root, extra_env=WITH_DOCS)
            if target == "pg":
                built.env.update({**server_env, "PGDATABASE": TEST_DATABASE})
            built.elt("run", "--target", target, *run_args)
            if target == "pg":
                with pg_connect(server_env, autocommit=True) as admin:
                    admin.execute(f'drop database if exists "{template_database}"')
                    admin.execute(f'alter database "{TEST_DATABASE}" rename to "{template_database}"')
                template_server.update(server_env)
            templates[target] = root
        root = templates[target]
        if target == "pg":
            with pg_connect(server_env, autocommit=True) as admin:
                admin.execute(f'drop database if exists "{TEST_DATABASE}" with (force)')
                admin.execute(f'create database "{TEST_DATABASE}" template "{template_database}"')
        else:
            shutil.copyfile(root / WORKSPACE_DUCKDB_FILE, workspace.duckdb_path)
        shutil.copytree(root / "dbt-target", workspace.dbt_target_dir, dirs_exist_ok=True)
        shutil.copytree(root / "state", Path(workspace.env["ELT_STATE_DIR"]), dirs_exist_ok=True)

    yield start
    if template_server:
        try:
            with pg_connect(template_server, autocommit=True) as admin:
                admin.execute(f'drop database if exists "{template_database}" with (force)')
        except psycopg.OperationalError:
            pass  # the session's own server has stopped already, and its databases went with it


@pytest.fixture(scope="session")
def start_from_built_export(
    tmp_path_factory: pytest.TempPathFactory, landed_export: Path, request
) -> Iterator[BuiltExport]:
    """start(target, workspace): what one `elt run` over the shared export leaves (_built_runs).
    For tests whose subject comes after the export; the tests of `elt run` itself run it."""
    yield from _built_runs(tmp_path_factory, request, "export", landed_export)


@pytest.fixture(scope="session")
def start_from_built_dirty_run(
    tmp_path_factory: pytest.TempPathFactory, landed_dirty: Path, request
) -> Iterator[BuiltExport]:
    """start(target, workspace): what one `elt run --dirty` over the shared dirty landing (the
    export and DIRTY_DAYS days of every source, docs step included) leaves (_built_runs). For
    tests that read what that run did; the tests share one run per engine (one xdist group)."""
    yield from _built_runs(
        tmp_path_factory, request, "dirty_run", landed_dirty, "--days", DIRTY_DAYS, "--seed", DIRTY_SEED, "--dirty"
    )


# The TPC-H questions are checked at the smallest scale at which each of the 22 has an answer
# (at SF 0.01 Q17 finds no line), over the export and a few dirty days of history.
TPCH_SCALE_FACTOR = "0.1"
TPCH_DAYS = "2"


@pytest.fixture(scope="session")
def start_from_built_tpch_run(tmp_path_factory: pytest.TempPathFactory, request) -> Iterator[BuiltExport]:
    """start(target, workspace): what one `elt run --dirty` over an SF TPCH_SCALE_FACTOR export and
    TPCH_DAYS dirty days leaves (_built_runs); landed when first asked for, once per worker."""
    root = tmp_path_factory.mktemp("landing-tpch")
    history = ("--scale-factor", TPCH_SCALE_FACTOR, "--days", TPCH_DAYS, "--seed", DIRTY_SEED, "--dirty")
    make_workspace(root).elt("generate", *history)
    yield from _built_runs(tmp_path_factory, request, "tpch_run", root / "landing", *history)


Query = Callable[[str], list[tuple]]


def warehouse_query(target: str, env: dict[str, str]) -> Query:
    """query(sql) on the warehouse that `env` names for `target`, a new connection per call."""
    if target == "pg":
        database_env = dict(env)

        def query(sql: str) -> list[tuple]:
            with pg_connect(database_env) as connection:
                return connection.execute(sql).fetchall()

        return query

    duckdb_path = str(duckdb_file(env))

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
    with duckdb.connect(str(duckdb_file(env))) as connection:
        connection.execute(sql)


ENGINES = ("dev", "pg")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, workspace: Workspace) -> tuple[str, Workspace, Query]:
    """(target, workspace, query) for each engine; query(sql) runs on that workspace's warehouse."""
    target = request.param
    if target == "pg":
        workspace.env.update(request.getfixturevalue("postgres_database"))
    workspace.seed_parse(target)
    return target, workspace, warehouse_query(target, workspace.env)


# Modules whose module-scoped fixtures build a warehouse once per engine (or, for the
# randomized trials, count what a session's trials fired) keep each engine's tests on one
# pytest-xdist worker (`--dist loadgroup`), so that warehouse is built once, not per worker.
MODULES_SHARING_A_WAREHOUSE_PER_ENGINE = ("test_random_trials", "test_bad_inputs", "test_faults", "test_docs_site")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        action="append",
        choices=ENGINES,
        help="Run the engine-parametrized tests on this engine only (repeat for several; default: all). "
        "`make test` runs all; `make test-fast` runs dev.",
    )


def engine_of(item: pytest.Item) -> str | None:
    """The engine a test runs on: what the engine fixture, or a module's own per-engine fixture, is parametrized by."""
    params = item.callspec.params if hasattr(item, "callspec") else {}
    return next((value for value in params.values() if value in ENGINES), None)


# Before pytest-xdist's own hook, which reads the xdist_group marks added here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config.getoption("--engine")
    if chosen:
        other = [item for item in items if engine_of(item) not in (None, *chosen)]
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = [item for item in items if item not in other]
    for item in items:
        if item.path.stem in MODULES_SHARING_A_WAREHOUSE_PER_ENGINE:
            item.add_marker(pytest.mark.xdist_group(f"{item.path.stem}-{engine_of(item) or 'any'}"))
        elif "start_from_built_dirty_run" in getattr(item, "fixturenames", ()):
            # One worker builds each engine's dirty run for every test that reads it.
            item.add_marker(pytest.mark.xdist_group(f"built-dirty-run-{engine_of(item) or 'any'}"))


_RELIABILITY_FILES_SELECTED = pytest.StashKey[set]()
# What each pytest-xdist worker recorded, gathered on the controller as the workers end.
_WORKER_OUTCOMES: list[dict] = []
_WORKER_FILES: set[Path] = set()


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_RELIABILITY_FILES_SELECTED] = {Path(str(item.path)) for item in session.items}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """On the controller of a --dist loadgroup run: stop if a worker's tests came without their groups.

    pytest-xdist puts a test's xdist_group after an "@" in the node id the controller schedules by.
    A test that lost it would run on any worker, away from the module-scoped state its group shares
    (the randomized trials' named points)."""
    if node.config.getvalue("dist") != "loadgroup":
        return
    ungrouped = [
        nodeid
        for nodeid in ids
        if Path(nodeid.split("::")[0]).stem in MODULES_SHARING_A_WAREHOUSE_PER_ENGINE and "@" not in nodeid
    ]
    if ungrouped:
        raise pytest.UsageError(
            f"pytest-xdist ignored the xdist_group of {len(ungrouped)} tests (first: {ungrouped[0]}): this pytest "
            "and pytest-xdist do not work together (pytest-xdist issue 1386). Install the versions pyproject.toml "
            "pins: rm .venv/.installed-stamp && make test"
        )


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """On the controller of a parallel run: keep what the worker's reliability tests recorded."""
    output = getattr(node, "workeroutput", {})
    _WORKER_OUTCOMES.extend(output.get("reliability_outcomes", []))
    _WORKER_FILES.update(Path(path) for path in output.get("collected_files", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """docs/reliability.md is rewritten only after a complete, green run of the reliability tests.

    In a parallel run each worker hands its outcomes to the controller, which writes the report."""
    from reliability.outcomes import RECORDED, RELIABILITY_DIR, Outcome, write_report

    selected = session.config.stash.get(_RELIABILITY_FILES_SELECTED, set())
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:
        worker_output["reliability_outcomes"] = [asdict(outcome) for outcome in RECORDED]
        worker_output["collected_files"] = [str(path) for path in selected]
        return
    outcomes = [*RECORDED, *(Outcome(**outcome) for outcome in _WORKER_OUTCOMES)]
    selected |= _WORKER_FILES
    every_file = set(RELIABILITY_DIR.glob("test_*.py"))
    # Node ids on the command line (file.py::test) pick single tests: a partial run.
    unfiltered = (
        not session.config.option.keyword
        and not session.config.option.markexpr
        and not session.config.getoption("--engine")
        and not any("::" in str(argument) for argument in session.config.args)
    )
    if outcomes and every_file and every_file <= selected and unfiltered and session.testsfailed == 0:
        write_report(outcomes)


@pytest.fixture(scope="module")
def playwright():
    """One Playwright driver per module (imported late: only the browser tests need it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def chromium(playwright) -> Iterator[Chromium]:
    """A headless Chromium session of the test's own (browser.py)."""
    session = Chromium(playwright)
    yield session
    session.close()
