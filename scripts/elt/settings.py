"""Where things live: the dbt project, the landing area and the DuckDB warehouse file.

Every path can be overridden by an environment variable so tests and operators can point
a run at a scratch directory without editing files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from elt.errors import EltError

PROJECT_DIR_ENV = "ELT_PROJECT_DIR"
LANDING_DIR_ENV = "ELT_LANDING_DIR"
DUCKDB_PATH_ENV = "WAREHOUSE_DUCKDB_PATH"
STATE_DIR_ENV = "ELT_STATE_DIR"


def find_project_dir() -> Path:
    if os.environ.get(PROJECT_DIR_ENV):
        return Path(os.environ[PROJECT_DIR_ENV]).resolve()
    for candidate in (Path.cwd(), *Path.cwd().parents):
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    # The package sits at <project>/scripts/elt when installed in editable mode.
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Paths:
    project_dir: Path
    landing_dir: Path
    duckdb_path: Path
    # The dbt artifacts (manifest.json) of the last successful build: the production state
    # that slim CI compares a change against and defers unchanged models to.
    state_dir: Path

    @classmethod
    def resolve(cls) -> Paths:
        project_dir = find_project_dir()
        landing_dir = Path(os.environ.get(LANDING_DIR_ENV) or project_dir / "landing")
        duckdb_path = Path(os.environ.get(DUCKDB_PATH_ENV) or project_dir / "warehouse.duckdb")
        state_dir = Path(os.environ.get(STATE_DIR_ENV) or project_dir / "state")
        return cls(
            project_dir,
            _resolved(landing_dir, LANDING_DIR_ENV),
            _resolved(duckdb_path, DUCKDB_PATH_ENV),
            _resolved(state_dir, STATE_DIR_ENV),
        )


def _resolved(path: Path, variable: str) -> Path:
    try:
        return path.resolve()
    except RuntimeError as error:  # pathlib's word for a symbolic link loop
        raise EltError(
            f"{variable}={path} runs into a symbolic link loop ({error}: a link that leads back to itself); "
            f"point {variable} at a real directory or file, or fix the link."
        ) from error
