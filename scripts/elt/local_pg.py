"""A throwaway PostgreSQL for local runs and tests: real server binaries from the pgserver wheel.

It listens on a unix socket inside its data directory, so nothing is exposed on the
network and two projects never fight over a port. `connection_env` gives libpq's
standard variables, which the `pg` target in profiles.yml reads.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

from elt.errors import EltError


def start(data_dir: Path, keep_running: bool):
    """Start (or reuse) the server in `data_dir`; without keep_running it stops when Python exits."""
    try:
        import pgserver
    except ImportError as error:
        raise EltError("pgserver is not installed; run `make test` or `pip install -e '.[dev]'`.") from error
    data_dir.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(data_dir, cleanup_mode=None if keep_running else "stop")


def connection_env(server, database: str = "postgres") -> dict[str, str]:
    uri = urlparse(server.get_uri())
    socket_dir = parse_qs(uri.query)["host"][0]
    return {
        "PGHOST": socket_dir,
        "PGPORT": str(uri.port or 5432),
        "PGUSER": uri.username or "postgres",
        "PGPASSWORD": "",
        "PGDATABASE": database,
    }
