"""One `elt run` at a time per warehouse.

The loader already refuses a second loader (DuckDB's file lock, a PostgreSQL advisory
lock), but `elt run` lets go of the warehouse between loading a batch and building it, so
two runs could interleave: one loading day 2 while the other is building day 1, which
would give day 1's snapshot day 2's changes. The run lock spans the whole run (generate,
load, build after each batch, docs) and a second run is refused at once with a message.

- DuckDB: an flock on `<warehouse file>.run.lock` beside the database file; the kernel
  releases it when the process ends, however it ends (SIGKILL included).
- PostgreSQL: a session advisory lock, held by a connection of its own for the run; the
  server releases it when that connection ends, which a crash or a restart also does.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg

from elt.errors import EltError
from elt.settings import Paths
from elt.targets import postgres_connection_kwargs, target_config

# Any constant works, as long as it differs from the loader's (POSTGRES_LOAD_LOCK_KEY): the
# run takes this one on its own connection, and its loader then takes the load lock.
POSTGRES_RUN_LOCK_KEY = 7_301_946_186


def duckdb_run_lock_path(duckdb_path: Path) -> Path:
    return duckdb_path.with_name(f"{duckdb_path.name}.run.lock")


@contextmanager
def exclusive_run(target: str, paths: Paths) -> Iterator[None]:
    """Hold the warehouse's run lock for the body; EltError at once if another run holds it."""
    config = target_config(paths.project_dir, target)
    if config["type"] == "duckdb":
        with _file_lock(duckdb_run_lock_path(paths.duckdb_path), paths.duckdb_path):
            yield
    elif config["type"] == "postgres":
        with _advisory_lock(postgres_connection_kwargs(config)):
            yield
    else:
        # The loader names the supported types when it opens the warehouse.
        yield


@contextmanager
def _file_lock(path: Path, warehouse: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            raise EltError(
                f"another `elt run` is running on {warehouse} (process {holder} holds "
                f"{path}). Wait for it to finish, then run again; this run changed nothing."
            ) from None
        # The holder's pid, for the message above; the lock itself is the flock, not the file.
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # releases the flock


@contextmanager
def _advisory_lock(connection_kwargs: dict) -> Iterator[None]:
    where = "{user}@{host}:{port}/{dbname}".format(**connection_kwargs)
    try:
        connection = psycopg.connect(**connection_kwargs, connect_timeout=15, autocommit=True)
    except psycopg.OperationalError as error:
        raise EltError(f"cannot connect to PostgreSQL at {where}: {error}".strip()) from error
    try:
        locked = connection.execute("select pg_try_advisory_lock(%s)", (POSTGRES_RUN_LOCK_KEY,)).fetchone()[0]
        if not locked:
            raise EltError(
                f"another `elt run` is running against {where} (it holds the run lock). "
                "Wait for it to finish, then run again; this run changed nothing."
            )
        yield
    finally:
        # If the server went away mid-run the lock went with the connection: nothing to release.
        with suppress(psycopg.Error):
            connection.close()
