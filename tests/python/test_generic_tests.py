"""Our generic tests (macros/generic_tests/) catch what they must and pass what they must.

tests/dbt_fixtures/generic_tests is a small dbt project whose seeds hold, for each test,
a clean case and a broken one; its tests are named pass_* or fail_*. It is built on each
engine and every test must end as its name says.
"""

from __future__ import annotations

import json
import re

from conftest import FIXTURE_PROJECTS_DIR, PROJECT_DIR

FIXTURE_PROJECT = FIXTURE_PROJECTS_DIR / "generic_tests"


def test_each_generic_test_passes_clean_data_and_fails_broken_data(engine) -> None:
    target, workspace, _ = engine

    seeded = workspace.dbt(target, "seed", project_dir=FIXTURE_PROJECT)
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    # `dbt test`, not `build`: a failing test must not stop the others from running.
    completed = workspace.dbt(target, "test", project_dir=FIXTURE_PROJECT)
    results = json.loads((workspace.dbt_target_dir / "run_results.json").read_text())["results"]
    outcomes = {
        result["unique_id"].split(".")[2]: result["status"]
        for result in results
        if result["unique_id"].startswith("test.")
    }
    fixture_yaml = (FIXTURE_PROJECT / "seeds" / "_seeds.yml").read_text()
    declared = set(re.findall(r"name: ((?:pass|fail)_\w+)", fixture_yaml))
    assert outcomes.keys() == declared, completed.stdout[-3000:]
    wrong = {
        name: status for name, status in outcomes.items() if status != ("fail" if name.startswith("fail_") else "pass")
    }
    assert not wrong, completed.stdout[-5000:]
    covered = {path.stem for path in (PROJECT_DIR / "macros" / "generic_tests").glob("*.sql")}
    assert all(f"- {macro}:" in fixture_yaml for macro in covered), "a generic test has no fixture case"
