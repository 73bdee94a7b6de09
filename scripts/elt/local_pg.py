"""A throwaway PostgreSQL for local runs and tests: real server binaries from the pgserver wheel.

It listens on a unix socket inside its data directory, so nothing is exposed on the
network and two projects never fight over a port. `connection_env` gives libpq's
standard variables, which the `pg` target in profiles.yml reads.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from elt.errors import EltError


def start(data_dir: Path, keep_running: bool):
    """Start (or reuse) the server in `data_dir`; without keep_running it stops when Python exits."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # pgserver keeps its lock files under the user's runtime dir and warns when a
        # container has none; the fallback it picks is fine for a throwaway server.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        try:
            import pgserver
        except ImportError as error:
            raise EltError("pgserver is not installed; run `make test` or `pip install -e '.[dev]'`.") from error
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
