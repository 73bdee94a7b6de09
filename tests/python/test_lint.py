"""Style is enforced: the project's SQL lints clean, and the linter does reject bad SQL."""

from __future__ import annotations

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


def test_linter_rejects_sql_against_the_style(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    (tmp_path / ".sqlfluff").write_text((PROJECT_DIR / ".sqlfluff").read_text())
    (tmp_path / "macros").symlink_to(PROJECT_DIR / "macros")
    (model_dir / "bad_model.sql").write_text("SELECT A.x, b.Y FROM {{ ref('a') }} A JOIN b ON A.id = b.id\n")
    result = sqlfluff("lint", "models", cwd=tmp_path)
    assert result.returncode == 1
    assert "bad_model.sql" in result.stdout
    for rule in ("CP01", "AL01"):
        assert rule in result.stdout, rule


def test_python_is_ruff_clean() -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "scripts", "tests/python"], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:]
