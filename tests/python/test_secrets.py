"""No secret in the repository: detect-secrets over every tracked file, against the committed
baseline, and proof that the scan does catch a password, a key and a credentialed URL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import PROJECT_DIR

BIN = PROJECT_DIR / ".venv" / "bin"
BASELINE = PROJECT_DIR / ".secrets.baseline"


def scan(files: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "detect-secrets-hook"), "--baseline", str(BASELINE), *files],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.splitlines() if (PROJECT_DIR / name).is_file()]


def test_baseline_allows_nothing() -> None:
    """The baseline is a list of accepted findings; ours is empty, so any finding fails."""
    assert json.loads(BASELINE.read_text())["results"] == {}


def test_tracked_files_hold_no_secret() -> None:
    files = tracked_files()
    assert "profiles.yml" in files and len(files) > 100
    result = scan(files, PROJECT_DIR)
    assert result.returncode == 0, result.stdout[-4000:]


def test_the_scan_catches_a_password_a_key_and_a_credentialed_url(tmp_path: Path) -> None:
    # Written out of pieces, so this file itself holds none of them.
    planted = {
        "profiles.yml": "prod:\n  type: postgres\n  pass" + "word: " + "Tr0ub4dor-and-3\n",
        "deploy.sh": "export AWS_ACCESS_KEY_ID=AKIA" + "Q3EGRS5ABCDEFG7H\n",
        "notes.md": "reach it at postgres://loader:" + "s3cr3t-pw" + "@db.internal:5432/warehouse\n",
        "id_key.pem": "-----BEGIN RSA PRIV" + "ATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIV" + "ATE KEY-----\n",
    }
    for name, text in planted.items():
        (tmp_path / name).write_text(text)
        result = scan([name], tmp_path)
        assert result.returncode != 0, f"{name} was not flagged:\n{result.stdout}"
        assert name in result.stdout
