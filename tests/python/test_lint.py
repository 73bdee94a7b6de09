"""Style is enforced: the project's SQL lints clean, and the linter does reject bad SQL."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT_DIR

BIN = Path(sys.executable).parent
SQL_DIRS = ["models", "macros", "tests/dbt", "analyses", "snapshots"]


def sqlfluff(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "sqlfluff"), *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_project_sql_is_lint_clean() -> None:
    result = sqlfluff("lint", *SQL_DIRS)
    assert result.returncode == 0, result.stdout[-4000:]


def test_linter_rejects_a_badly_styled_model_and_names_it(tmp_path: Path) -> None:
    """The committed fixture, linted as part of a copy of the project, fails with its path named."""
    fixture = PROJECT_DIR / "tests/dbt_fixtures/lint"
    shutil.copytree(PROJECT_DIR / "models", tmp_path / "models")
    shutil.copytree(fixture / "models", tmp_path / "models", dirs_exist_ok=True)
    (tmp_path / ".sqlfluff").write_text((PROJECT_DIR / ".sqlfluff").read_text())
    (tmp_path / "macros").symlink_to(PROJECT_DIR / "macros")
    result = sqlfluff("lint", "models", cwd=tmp_path)
    assert result.returncode == 1
    failing_files = set(re.findall(r"^== \[(.+)\] FAIL$", result.stdout, flags=re.MULTILINE))
    assert failing_files == {"models/marts/core/fct_badly_styled.sql"}, result.stdout[-3000:]
    for rule in ("CP01", "AL01", "AL02", "LT04", "CP03"):
        assert rule in result.stdout, rule


def test_python_is_ruff_clean() -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "scripts", "tests/python"], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_pre_commit_hooks_pass_offline_on_every_file(tmp_path: Path) -> None:
    """The hooks run from .venv (repo: local), so they need no network; the project passes them all."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "ELT_"))}
    env.update(
        {
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"),
            "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
            "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
        }
    )
    result = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for hook in ("sqlfluff lint", "ruff check", "YAML parses", "project checks"):
        assert re.search(rf"^{re.escape(hook)}.*Passed$", result.stdout, flags=re.MULTILINE), hook
