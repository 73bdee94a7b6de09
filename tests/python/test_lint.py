"""Style is enforced: the project's SQL lints clean, and the linter does reject bad SQL."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import PARTIAL_PARSE_FILE, PROJECT_DIR, make_workspace, parsed_project

BIN = Path(sys.executable).parent
SQL_DIRS = ["models", "macros", "tests/dbt", "analyses", "snapshots"]
# (pre-commit hook id, the name it prints)
HOOKS_ON_A_FEW_FILES = (("sqlfluff-lint", "sqlfluff lint"), ("detect-secrets", "no secrets"))
A_FEW_FILES = ("models/marts/core/fct_order_lines.sql", "macros/surrogate_key.sql", "profiles.yml")


def sqlfluff(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "sqlfluff"), *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_project_sql_is_lint_clean() -> None:
    result = sqlfluff("lint", *SQL_DIRS)
    assert result.returncode == 0, result.stdout[-4000:]


def test_linter_rejects_a_badly_styled_model_and_names_it(tmp_path: Path) -> None:
    """The committed fixture, linted beside the project's models of its folder, fails with its path named.

    (The project's other models are linted by test_project_sql_is_lint_clean.)"""
    fixture = PROJECT_DIR / "tests/dbt_fixtures/lint"
    folder = Path("models/marts/core")
    shutil.copytree(PROJECT_DIR / folder, tmp_path / folder)
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
    """The hooks run from .venv (repo: local), so they need no network; the project passes them all.

    Two hooks run on a few files here, since a test of their own runs each on every file:
    sqlfluff (test_project_sql_is_lint_clean) and detect-secrets (test_secrets). Running them
    on every file again would double the slowest checks of the edit loop."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "ELT_"))}
    env.update(
        {
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit"),
            "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
            "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
        }
    )
    # `elt check` parses the project; it starts from the session's parse, as a developer's
    # hook starts from their last one (dbt still checks it against the files).
    (tmp_path / "dbt-target").mkdir()
    session_parse = parsed_project("dev", make_workspace(tmp_path / "parse").env)
    shutil.copyfile(session_parse, tmp_path / "dbt-target" / PARTIAL_PARSE_FILE)

    def pre_commit(*args: str, skip: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "pre-commit"), "run", *args],
            cwd=PROJECT_DIR,
            env={**env, "SKIP": ",".join(skip)},
            capture_output=True,
            text=True,
        )

    every_file = pre_commit("--all-files", skip=tuple(hook for hook, _ in HOOKS_ON_A_FEW_FILES))
    a_few_files = pre_commit("--files", *A_FEW_FILES, skip=("elt-check",))
    for result in (every_file, a_few_files):
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for hook in ("ruff check", "YAML parses", "files end with one newline", "project checks"):
        assert re.search(rf"^{re.escape(hook)}.*Passed$", every_file.stdout, flags=re.MULTILINE), hook
    for _, hook in HOOKS_ON_A_FEW_FILES:
        assert re.search(rf"^{re.escape(hook)}.*Skipped$", every_file.stdout, flags=re.MULTILINE), hook
        assert re.search(rf"^{re.escape(hook)}.*Passed$", a_few_files.stdout, flags=re.MULTILINE), hook
