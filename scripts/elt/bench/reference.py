"""The hand-written reference that `elt bench` times the dbt pipeline against.

`benchmarks/reference/<engine>/*.sql` (engine: duckdb or postgres), with the steps both
engines run as written in `benchmarks/reference/portable/`, rebuild the schema
`reference_marts` straight from raw: the same tables, columns and rows as dbt's
`marts_build`, with no dbt, snapshots or staging views (tests/python/test_reference_sql.py
checks it on both engines). They need nothing but raw: seed rows are written inline.
The files run in name order on one connection, since later ones read the temp tables
earlier ones create.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg

from elt.errors import EltError
from elt.load.warehouse import apply_duckdb_settings
from elt.settings import Paths
from elt.targets import duckdb_settings, postgres_connection_kwargs, target_config

REFERENCE_DIR = Path("benchmarks") / "reference"
SCHEMA = "reference_marts"


# SQL that both engines run as written (benchmarks/reference/portable/), merged by file name
# with each engine's own: a step written once where the dialects agree.
PORTABLE = "portable"


def reference_files(project_dir: Path, engine: str) -> list[Path]:
    """The engine's reference SQL files and the portable ones, in the order they run (by name)."""
    own = sorted((project_dir / REFERENCE_DIR / engine).glob("*.sql"))
    if not own:
        raise EltError(f"no reference SQL for {engine} in {project_dir / REFERENCE_DIR / engine}.")
    portable = sorted((project_dir / REFERENCE_DIR / PORTABLE).glob("*.sql"))
    both = sorted({path.name for path in own} & {path.name for path in portable})
    if both:
        raise EltError(f"{both} are in both {REFERENCE_DIR / engine} and {REFERENCE_DIR / PORTABLE}; keep one of each.")
    return sorted([*own, *portable], key=lambda path: path.name)


def run_reference(target: str, paths: Paths) -> float:
    """Rebuild `reference_marts` on the target's warehouse; returns the seconds the SQL took.

    `target` is a profiles.yml target (`dev`, `pg`, `prod`); its type picks the engine and
    the connection is made as the loader makes it. The clock runs from the first statement
    to the end of the last; connecting and reading the files are not counted.
    """
    config = target_config(paths.project_dir, target)
    engine = config["type"]
    if engine not in ("duckdb", "postgres"):
        raise EltError(f"target {target!r} is of type {engine!r}; the reference SQL exists for duckdb and postgres.")
    scripts = [(path, path.read_text()) for path in reference_files(paths.project_dir, engine)]
    if engine == "duckdb":
        with duckdb.connect(str(paths.duckdb_path)) as connection:
            apply_duckdb_settings(connection, duckdb_settings(config))
            return _timed(scripts, connection.execute, duckdb.Error)
    # Autocommit: each file is sent as one query, which PostgreSQL runs as one transaction.
    with psycopg.connect(**postgres_connection_kwargs(config), autocommit=True) as connection:
        return _timed(scripts, connection.execute, psycopg.Error)


def _timed(scripts: list[tuple[Path, str]], execute: Callable[[str], object], engine_error: type[Exception]) -> float:
    started = time.perf_counter()
    for path, sql in scripts:
        try:
            execute(sql)
        except engine_error as error:
            raise EltError(f"{path}: the reference SQL failed: {error}".strip()) from error
    return time.perf_counter() - started
