"""Connection settings for a dbt target, read from the project's profiles.yml.

The loader and dbt must talk to the same warehouse, so the loader renders the very
profile dbt uses (its `env_var()` calls included) instead of keeping a second copy.
Only the chosen target is rendered: the production target's required secrets need not
be set to run on DuckDB.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
import yaml

from elt.errors import EltError

PROFILE_NAME = "wholesale"
_NO_DEFAULT = object()


def _env_var_function(target: str):
    def env_var(name: str, default: Any = _NO_DEFAULT) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is _NO_DEFAULT:
            raise EltError(
                f"environment variable {name} is not set; target '{target}' needs it. See README.md, section Targets."
            )
        return default

    return env_var


def _render(value: Any, environment: jinja2.Environment, target: str) -> Any:
    if isinstance(value, dict):
        return {key: _render(item, environment, target) for key, item in value.items()}
    if isinstance(value, str) and "{{" in value:
        rendered = environment.from_string(value).render(env_var=_env_var_function(target))
        return yaml.safe_load(rendered) if rendered.strip().isdigit() else rendered
    return value


def target_config(project_dir: Path, target: str) -> dict[str, Any]:
    profiles = yaml.safe_load((project_dir / "profiles.yml").read_text())
    outputs = profiles[PROFILE_NAME]["outputs"]
    if target not in outputs:
        raise EltError(f"unknown target {target!r}; profiles.yml defines {sorted(outputs)}.")
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    environment.filters["as_number"] = lambda value: value
    return {key: _render(value, environment, target) for key, value in outputs[target].items()}


def postgres_connection_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    kwargs = {
        "host": config["host"],
        "port": int(config.get("port", 5432)),
        "user": config["user"],
        "dbname": config.get("dbname") or config["database"],
        "sslmode": config.get("sslmode", "prefer"),
    }
    password = config.get("password", config.get("pass"))
    if password:
        kwargs["password"] = password
    return kwargs


def duckdb_settings(config: dict[str, Any]) -> dict[str, str]:
    """The DuckDB settings of a duckdb target (profiles.yml `settings`), as dbt applies them."""
    return {key: str(value) for key, value in (config.get("settings") or {}).items()}


# The loader logs in as its own user and takes its own role where warehouse roles are set
# up (docs/security.md); unset, it uses the target's connection like dbt does.
LOADER_USER_ENV = "ELT_LOADER_PGUSER"
LOADER_PASSWORD_ENV = "ELT_LOADER_PGPASSWORD"  # pragma: allowlist secret (the variable's name, not a value)
LOADER_ROLE_ENV = "ELT_LOADER_PGROLE"


def loader_connection_kwargs(config: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(libpq keyword arguments, role to SET) for the loader on a postgres target."""
    kwargs = postgres_connection_kwargs(config)
    if os.environ.get(LOADER_USER_ENV):
        kwargs["user"] = os.environ[LOADER_USER_ENV]
        kwargs.pop("password", None)
    if os.environ.get(LOADER_PASSWORD_ENV):
        kwargs["password"] = os.environ[LOADER_PASSWORD_ENV]
    return kwargs, os.environ.get(LOADER_ROLE_ENV) or None
