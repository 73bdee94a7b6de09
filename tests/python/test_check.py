"""`elt check`: the project keeps its own conventions, and every convention's check fires.

tests/dbt_fixtures/broken_models/ holds models that break each rule (its README says
which); laid over a copy of the project, they must make `elt check` fail naming them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import PROJECT_DIR, make_workspace

FIXTURE = PROJECT_DIR / "tests" / "dbt_fixtures" / "broken_models"
# What dbt reads to parse the project, and the checks' config: not target/, .venv or data.
PROJECT_PARTS = [
    "models",
    "macros",
    "seeds",
    "snapshots",
    "analyses",
    "tests/dbt",
    "dbt_project.yml",
    "profiles.yml",
    "dbt-bouncer.yml",
]

STAGING_INVOICES = "models/staging/erp/stg_erp_invoices.sql"
TREASURY_ORDERS = "models/marts/treasury/treasury_orders.sql"
TREASURY_YAML = "models/marts/treasury/_treasury__models.yml"
SNAPSHOT = "snapshots/snap_erp__orders.yml"

# Each rule, and the (file to fix, check) lines the fixture must produce for it.
EXPECTED = {
    "1. models, columns, sources and snapshots are described": [
        (TREASURY_YAML, "check_model_description_populated"),
        (TREASURY_YAML, "check_model_column_description_populated"),
        # A model without YAML is sent to the folder's models YAML, where it belongs.
        ("models/staging/erp/_erp__models.yml", "check_model_description_populated"),
        ("models/staging/crm/_crm__sources.yml", "check_source_description_populated"),
        (SNAPSHOT, "check_snapshot_description_populated"),
    ],
    "2. the grain is tested unique and not_null": [
        (TREASURY_YAML, "check_model_has_unique_test"),
        ("models/marts/core/_core__models.yml", "check_model_has_unique_test"),
        ("models/intermediate/_int__enriched.yml", "grain_has_not_null_test"),
    ],
    # A not-null constraint counts on a table with an enforced contract, never on a view;
    # a not_null test counts unfiltered or scoped to the latest build, never filtered otherwise.
    "2b. a declared but unenforced constraint, or a filtered test, leaves the grain untested": [
        ("models/intermediate/_int__enriched.yml", "grain_has_not_null_test", "int_orders__open_view"),
        ("models/intermediate/_int__enriched.yml", "grain_has_not_null_test", "int_orders__partly_tested"),
        ("models/intermediate/_int__enriched.yml", "grain_has_not_null_test", "int_orders__key_partly_tested"),
    ],
    "3. staging selects only from sources, nothing else does": [
        (STAGING_INVOICES, "check_lineage_permitted_upstream_models"),
        (STAGING_INVOICES, "check_lineage_seed_cannot_be_used"),
        (STAGING_INVOICES, "check_model_depends_on_multiple_sources"),
        (STAGING_INVOICES, "staging_reads_only_sources"),
        ("models/staging/crm/stg_crm__contacts.sql", "check_model_has_no_upstream_dependencies"),
        (TREASURY_ORDERS, "check_lineage_source_cannot_be_used"),
        (SNAPSHOT, "snapshot_reads_staging"),
    ],
    "4. no mart reads another area's staging": [
        (TREASURY_ORDERS, "check_lineage_permitted_upstream_models"),
        ("models/marts/core/dim_contacts.sql", "check_lineage_permitted_upstream_models"),
    ],
    "5. names follow STYLE.md by layer": [
        (STAGING_INVOICES, "check_model_names"),
        ("models/intermediate/int_orders_enriched.sql", "check_model_names"),
        (TREASURY_ORDERS, "check_model_names"),
        (SNAPSHOT, "check_snapshot_names"),
        ("models/adhoc/adhoc_order_counts.sql", "check_model_directories"),
    ],
    "6. marts have enforced contracts and public access": [
        (TREASURY_ORDERS, "check_model_has_contracts_enforced"),
        (TREASURY_ORDERS, "check_model_access"),
    ],
    "7. sources have freshness": [
        ("models/staging/crm/_crm__sources.yml", "check_source_freshness_populated"),
    ],
}


def copy_project(destination: Path) -> Path:
    destination.mkdir(parents=True)
    for part in PROJECT_PARTS:
        source = PROJECT_DIR / part
        if source.is_dir():
            shutil.copytree(source, destination / part)
        else:
            shutil.copyfile(source, destination / part)
    return destination


def test_the_project_passes_its_checks(tmp_path: Path) -> None:
    result = make_workspace(tmp_path).elt("check")
    assert "project checks passed" in result.stdout


def test_broken_models_fail_every_rule_naming_the_file_to_fix(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    for folder in ("models", "snapshots"):
        shutil.copytree(FIXTURE / folder, project / folder, dirs_exist_ok=True)
    result = make_workspace(tmp_path / "run").elt("check", "--project-dir", str(project), check=False)
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"

    assert result.returncode == 1, output
    assert "project check(s) failed" in result.stderr, output
    lines = result.stdout.splitlines()
    for rule, expected in EXPECTED.items():
        for file, check, *model in expected:
            found = any(
                line.startswith(f"{file}: {check}: ") and f"`{model[0]}`" in line
                if model
                else line.startswith(f"{file}: {check}: ")
                for line in lines
            )
            assert found, f"rule {rule}: no {file}: {check} {model}\n{output}"
    # Only the fixture's models fail: every violation names one of them.
    fixture_models = {path.stem for path in FIXTURE.rglob("*.sql")} | {"snap_erp__orders", "crm.crm_contacts"}
    violations = [line for line in lines if line.startswith(("models/", "snapshots/"))]
    assert violations, output
    for line in violations:
        assert any(f"`{name}`" in line for name in fixture_models), line
