"""One warehouse lock, held by every command that changes the warehouse (decision 0025).

`elt load`, `run`, `publish`, `rollback`, `replay` and `setup-roles` each hold it for their
whole duration, so no two of them interleave: a replay unloading days while a run builds
them, a publish between a run's build and its own publish, two loaders. A second command
is refused at once, before it changes anything, with a message naming the command that
holds the lock, its process and since when. `elt run` calling the loader (and a replay
calling itself through the CLI) takes it again in the same process: the lock counts
nested holds instead of waiting on itself.

- DuckDB: an flock on `<warehouse file>.lock` beside the database file; the kernel releases
  it when the process ends, however it ends (SIGKILL included). The holder writes its
  command, pid and start time into the file, and empties it before letting go.
- PostgreSQL: a session advisory lock, held by a connection of its own; the server releases
  it when that connection ends, which a crash or a restart also does. The holder is
  described by that connection's application_name (`<pid> <command line>`), which
  pg_stat_activity shows every role, found through pg_locks, and its backend_start: nothing
  to clean up after a crash, unlike a row in an audit table.

`elt status` changes nothing and does not wait for the lock (`reading_warehouse`).
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import psycopg

from elt.errors import EltError
from elt.faults import fault_point
from elt.load.warehouse import warehouse_directory
from elt.settings import Paths
from elt.targets import postgres_connection_kwargs, target_config

# Any constant works, as long as every elt of one database uses the same one.
POSTGRES_WAREHOUSE_LOCK_KEY = 7_301_946_186
# PostgreSQL keeps the first NAMEDATALEN - 1 bytes of an application_name.
_APPLICATION_NAME_BYTES = 63
# How long a command waits for an `elt status` that holds the DuckDB lock to read (it takes
# well under a second) before it gives up.
READER_WAIT_SECONDS = 15.0

F = TypeVar("F", bound=Callable[..., object])

# Nested holds in this process, by lock: the outermost one takes and releases the lock.
_held: dict[str, int] = {}


def duckdb_lock_path(duckdb_path: Path) -> Path:
    return duckdb_path.with_name(f"{duckdb_path.name}.lock")


def command_line() -> str:
    """This process's command line as a user would type it: `elt replay --from-date ...`."""
    program = Path(sys.argv[0]).name if sys.argv else "python"
    return shlex.join([program, *sys.argv[1:]])


@contextmanager
def warehouse_lock(target: str, paths: Paths) -> Iterator[None]:
    """Hold the warehouse lock for the body; EltError at once, naming the holder, if another process holds it."""
    config = target_config(paths.project_dir, target)
    if config["type"] == "duckdb":
        key = str(duckdb_lock_path(paths.duckdb_path))
        acquire = functools.partial(_duckdb_lock, paths.duckdb_path, reads_only=False)
    elif config["type"] == "postgres":
        kwargs = postgres_connection_kwargs(config)
        key = _postgres_where(kwargs)
        acquire = functools.partial(_advisory_lock, kwargs)
    else:
        # The loader names the supported types when it opens the warehouse.
        yield
        return
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    with acquire():
        _held[key] = 1
        try:
            fault_point("warehouse-locked")
            yield
        finally:
            del _held[key]


def holds_warehouse_lock(function: F) -> F:
    """Decorate a function of (target, paths, ...) to run it under the warehouse lock."""

    @functools.wraps(function)
    def wrapper(target: str, paths: Paths, *args, **kwargs):
        with warehouse_lock(target, paths):
            return function(target, paths, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def reading_warehouse(target: str, paths: Paths) -> Iterator[str | None]:
    """For `elt status`: never waits for a command that changes the warehouse.

    Yields the description of the command holding the lock, or None. On PostgreSQL the
    reader takes no lock (it reads committed data while a command writes). On DuckDB no
    other process can open the file, even read-only, while one has it open for writing,
    and a reader that opened it between two of a command's steps would make the command's
    next step fail: so the reader holds the lock for its moment of reading, marked as a
    reader (commands wait for it), and when a command holds it, says so in an EltError
    instead of opening the file.
    """
    config = target_config(paths.project_dir, target)
    if config["type"] == "duckdb":
        with _duckdb_lock(paths.duckdb_path, reads_only=True):
            yield None
    elif config["type"] == "postgres":
        yield postgres_lock_holder(postgres_connection_kwargs(config))
    else:
        yield None


def _since(started: datetime) -> str:
    today = datetime.now(UTC).date()
    return f"{started:%H:%M} UTC" if started.date() == today else f"{started:%Y-%m-%d %H:%M} UTC"


def _holder(command: str, pid: object, started: datetime | None) -> str:
    since = f", since {_since(started)}" if started is not None else ""
    return f"`{command}` (process {pid}{since})"


def _refusal(holder: str, where: str) -> EltError:
    return EltError(
        f"{holder} holds the warehouse lock on {where}; wait for it to finish, then run again; "
        "this command changed nothing."
    )


# DuckDB ------------------------------------------------------------------------------------


def _read_record(descriptor: int) -> dict | None:
    """The holder's record, or None while it is still being written (or was never written)."""
    try:
        record = json.loads(os.pread(descriptor, 4096, 0).decode())
        return record if isinstance(record, dict) else None
    except (ValueError, UnicodeDecodeError):
        return None


@contextmanager
def _duckdb_lock(duckdb_path: Path, reads_only: bool) -> Iterator[None]:
    path = duckdb_lock_path(duckdb_path)
    warehouse_directory(duckdb_path)  # one line, not a traceback, where it cannot be created
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise EltError(
            f"{path}: cannot open the warehouse's lock file ({error.strerror or error}). Check that the "
            "warehouse's directory can be written (not on a read-only or full file system), or point "
            "WAREHOUSE_DUCKDB_PATH elsewhere; then run again."
        ) from error
    try:
        deadline = time.monotonic() + READER_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                record = _read_record(descriptor)
            # A reader lets go in a moment, and a holder writes its record right after it
            # takes the lock: wait for either; refuse a holder that is changing the warehouse.
            if (record is not None and not record.get("reads_only")) or time.monotonic() > deadline:
                raise _duckdb_refusal(record, duckdb_path, reads_only) from None
            time.sleep(0.05)
        started = datetime.now(UTC)
        record = {"command": command_line(), "pid": os.getpid(), "since": started.isoformat(), "reads_only": reads_only}
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(record).encode(), 0)
        try:
            yield
        finally:
            # Emptied before it is released: a record in the file always describes a live holder.
            with suppress(OSError):
                os.ftruncate(descriptor, 0)
    finally:
        os.close(descriptor)  # releases the flock


def _duckdb_refusal(record: dict | None, duckdb_path: Path, reads_only: bool) -> EltError:
    if record is None:
        holder = f"another process (its record in {duckdb_lock_path(duckdb_path)} is empty)"
    else:
        holder = _holder(str(record.get("command")), record.get("pid"), datetime.fromisoformat(record["since"]))
    if reads_only:
        return EltError(
            f"{holder} holds the warehouse lock on {duckdb_path}, and DuckDB lets no other process open the "
            "file, even read-only, while one writes it: `elt status` can show the warehouse once that command "
            "finishes. Nothing was read or changed."
        )
    return _refusal(holder, str(duckdb_path))


# PostgreSQL --------------------------------------------------------------------------------


def _postgres_where(connection_kwargs: dict) -> str:
    return "PostgreSQL {host}:{port}/{dbname}".format(**connection_kwargs)


def _application_name() -> str:
    name = f"{os.getpid()} {command_line()}"
    return name.encode()[:_APPLICATION_NAME_BYTES].decode(errors="ignore")


def _connect(connection_kwargs: dict, **extra) -> psycopg.Connection:
    try:
        return psycopg.connect(**connection_kwargs, connect_timeout=15, autocommit=True, **extra)
    except psycopg.OperationalError as error:
        where = "{user}@{host}:{port}/{dbname}".format(**connection_kwargs)
        raise EltError(f"cannot connect to PostgreSQL at {where}: {error}".strip()) from error


@contextmanager
def _advisory_lock(connection_kwargs: dict) -> Iterator[None]:
    connection = _connect(connection_kwargs, application_name=_application_name())
    try:
        locked = connection.execute("select pg_try_advisory_lock(%s)", (POSTGRES_WAREHOUSE_LOCK_KEY,)).fetchone()[0]
        if not locked:
            holder = _postgres_holder(connection) or "another session"
            raise _refusal(holder, _postgres_where(connection_kwargs))
        try:
            yield
        finally:
            # Released here, not left to the connection's end: the server lets go of a closed
            # connection's locks only when its backend exits, a moment after close() returns,
            # and a command taking the lock right after this one would find it still held.
            with suppress(psycopg.Error):
                connection.execute("select pg_advisory_unlock(%s)", (POSTGRES_WAREHOUSE_LOCK_KEY,))
    finally:
        # If the server went away meanwhile the lock went with the connection: nothing to release.
        with suppress(psycopg.Error):
            connection.close()


# A bigint advisory lock shows in pg_locks as classid (its high 32 bits), objid (its low
# 32 bits) and objsubid 1. backend_start is the holder's start: it connects first thing.
_HOLDER_QUERY = """
    select activity.pid, activity.application_name, activity.backend_start
    from pg_locks as locks
    inner join pg_stat_activity as activity on locks.pid = activity.pid
    where locks.locktype = 'advisory' and locks.granted and locks.objsubid = 1
        and locks.classid = %s and locks.objid = %s
        and locks.database = (select oid from pg_database where datname = current_database())
"""


def _postgres_holder(connection: psycopg.Connection) -> str | None:
    key = POSTGRES_WAREHOUSE_LOCK_KEY
    row = connection.execute(_HOLDER_QUERY, (key >> 32, key & 0xFFFFFFFF)).fetchone()
    if row is None:
        return None
    backend_pid, application_name, backend_start = row
    pid, _, command = (application_name or "").partition(" ")
    if not pid.isdigit() or not command:
        # Not an elt: someone took the lock by hand, say, or a client that renamed its session.
        return f"PostgreSQL session {backend_pid} (application_name {application_name!r})"
    if len(application_name.encode()) >= _APPLICATION_NAME_BYTES:
        command += "..."  # cut by PostgreSQL's limit
    # backend_start is null to a role that may not see the holder's session details.
    return _holder(command, int(pid), backend_start.astimezone(UTC) if backend_start else None)


def postgres_lock_holder(connection_kwargs: dict) -> str | None:
    """Who holds the warehouse lock on this database, or None; takes no lock."""
    connection = _connect(connection_kwargs)
    try:
        return _postgres_holder(connection)
    finally:
        connection.close()
