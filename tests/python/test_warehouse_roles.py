"""PostgreSQL roles, against a real server: each role can do its job and nothing more.

The pipeline runs as two login users, one holding `loader` and one holding `transformer`;
a third login user holding `reporter` then proves it reaches the published marts, with
personal data masked, and nothing else; a fourth, holding `reporter_pii`, reads the same
marts unmasked in `marts_pii`.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from conftest import TEST_SCALE_FACTOR, pg_connect

PII_COLUMNS = ("customer_name", "customer_address", "customer_phone")


@pytest.fixture
def login_users(postgres_database: dict[str, str]) -> Iterator[dict[str, tuple[str, str]]]:
    """One login user per warehouse role: {role: (user, password)}; dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    users = {
        role: (f"{role}_login_{suffix}", secrets.token_hex(16))
        for role in ("loader", "transformer", "reporter", "reporter_pii")
    }
    with pg_connect(postgres_database, autocommit=True) as admin:
        for user, password in users.values():
            admin.execute(
                psycopg.sql.SQL("create user {} login password {}").format(
                    psycopg.sql.Identifier(user), psycopg.sql.Literal(password)
                )
            )
    yield users
    with pg_connect(postgres_database, autocommit=True) as admin:
        for user, _ in users.values():
            # A test may have dropped one already, as the rotation runbook does.
            if admin.execute("select 1 from pg_roles where rolname = %s", (user,)).fetchone():
                admin.execute(psycopg.sql.SQL("drop owned by {} cascade").format(psycopg.sql.Identifier(user)))
                admin.execute(psycopg.sql.SQL("drop user {}").format(psycopg.sql.Identifier(user)))


def connect_as(database_env: dict[str, str], user: str, password: str) -> psycopg.Connection:
    return pg_connect({**database_env, "PGUSER": user, "PGPASSWORD": password}, autocommit=True)


def refused(connection: psycopg.Connection, sql: str) -> bool:
    try:
        connection.execute(sql)
    except errors.InsufficientPrivilege:
        return True
    return False


@pytest.mark.e2e
def test_each_role_does_its_job_and_nothing_more(workspace, postgres_database, login_users) -> None:
    workspace.env.update(postgres_database)
    # The administrator (the server's superuser here) sets up the roles once.
    workspace.elt("setup-roles", "--target", "pg")
    with pg_connect(postgres_database, autocommit=True) as admin:
        for role, (user, _) in login_users.items():
            admin.execute(
                psycopg.sql.SQL("grant {} to {}").format(psycopg.sql.Identifier(role), psycopg.sql.Identifier(user))
            )

    # The whole job, loading as the loader and building and publishing as the transformer.
    loader_user, loader_password = login_users["loader"]
    transformer_user, transformer_password = login_users["transformer"]
    workspace.env.update(
        {
            "PGUSER": transformer_user,
            "PGPASSWORD": transformer_password,
            "ELT_TRANSFORMER_PGROLE": "transformer",
            "ELT_LOADER_PGUSER": loader_user,
            "ELT_LOADER_PGPASSWORD": loader_password,
            "ELT_LOADER_PGROLE": "loader",
        }
    )
    workspace.elt("run", "--target", "pg", "--scale-factor", TEST_SCALE_FACTOR)
    workspace.elt("status", "--target", "pg")

    with pg_connect(postgres_database) as admin:
        owners = dict(
            admin.execute(
                "select nspname, pg_get_userbyid(nspowner) from pg_namespace "
                "where nspname in ('raw', 'audit', 'staging', 'marts_build', 'marts', 'marts_pii', 'marts_v1')"
            ).fetchall()
        )
        built_lines = admin.execute("select count(*) from marts_build.fct_order_lines").fetchone()[0]
        real_names = admin.execute("select count(distinct customer_name) from marts_v1.dim_customers").fetchone()[0]
        real_customers = admin.execute(
            f"select customer_id, {', '.join(PII_COLUMNS)} from marts_build.dim_customers order by customer_id"
        ).fetchall()
    # Objects belong to the group roles, not to whoever logged in.
    assert owners == {
        "raw": "loader",
        "audit": "loader",
        "staging": "transformer",
        "marts_build": "transformer",
        "marts": "transformer",
        "marts_pii": "transformer",
        "marts_v1": "transformer",
    }

    reporter_user, reporter_password = login_users["reporter"]
    with connect_as(postgres_database, reporter_user, reporter_password) as reporter:
        # Reads the published marts...
        assert reporter.execute("select count(*) from marts.fct_order_lines").fetchone()[0] == built_lines > 0
        for column in PII_COLUMNS:
            values = reporter.execute(
                f"select distinct {column} from marts.dim_customers where customer_id <> -1"
            ).fetchall()
            assert values == [("***",)], column
        assert real_names > 1
        # ...and nothing else: not the unmasked tables behind the views, not dbt's build, not raw or audit.
        for relation in (
            "marts_v1.dim_customers",
            "marts_build.dim_customers",
            "marts_build.fct_order_lines",
            "staging.stg_erp__customers",
            "intermediate.int_customers__versioned",
            "raw.erp_customers",
            "audit.load_batches",
            "audit.publish_log",
            "marts_pii.dim_customers",
            "marts_pii.fct_order_lines",
        ):
            assert refused(reporter, f"select * from {relation} limit 1"), relation
        for statement in (
            "delete from marts.fct_orders",
            "update marts.dim_customers set market_segment = 'x'",
            "create table marts.scratch (id integer)",
            "create schema reporter_scratch",
            "drop view marts.fct_orders",
        ):
            assert refused(reporter, statement), statement

    pii_user, pii_password = login_users["reporter_pii"]
    with connect_as(postgres_database, pii_user, pii_password) as reporter_pii:
        # Reads personal data, unmasked, in marts_pii, and the masked marts as any reporter does...
        assert (
            reporter_pii.execute(
                f"select customer_id, {', '.join(PII_COLUMNS)} from marts_pii.dim_customers order by customer_id"
            ).fetchall()
            == real_customers
        )
        assert reporter_pii.execute("select count(*) from marts.fct_order_lines").fetchone()[0] == built_lines
        # ...and still nothing behind the views, and writes nothing.
        for statement in (
            "select * from marts_v1.dim_customers limit 1",
            "select * from marts_build.dim_customers limit 1",
            "select * from raw.erp_customers limit 1",
            "delete from marts_pii.dim_customers",
            "create table marts_pii.scratch (id integer)",
        ):
            assert refused(reporter_pii, statement), statement

    with connect_as(postgres_database, loader_user, loader_password) as loader:
        loader.execute("set role loader")
        assert loader.execute("select count(*) from raw.erp_orders").fetchone()[0] > 0
        assert loader.execute("select count(*) from audit.load_batches").fetchone()[0] > 0
        for statement in (
            "select * from marts.fct_orders limit 1",
            "select * from marts_build.fct_orders limit 1",
            "select * from staging.stg_erp__orders limit 1",
            "create table staging.scratch (id integer)",
            "create table marts.scratch (id integer)",
            "drop table marts_build.fct_orders",
        ):
            assert refused(loader, statement), statement

    with connect_as(postgres_database, transformer_user, transformer_password) as transformer:
        transformer.execute("set role transformer")
        assert transformer.execute("select count(*) from raw.erp_orders").fetchone()[0] > 0
        for statement in (
            "delete from raw.erp_orders",
            "insert into raw.erp_regions select * from raw.erp_regions",
            "create table raw.scratch (id integer)",
            "drop table raw.erp_orders",
            "delete from audit.load_batches",
            "select * from audit.quarantine limit 1",
        ):
            assert refused(transformer, statement), statement


@pytest.mark.e2e
def test_a_login_user_is_replaced_without_moving_any_object(workspace, postgres_database, login_users) -> None:
    """docs/runbooks/rotate-credentials.md: a new login user takes over the loader's work; the old one is dropped."""
    workspace.env.update(postgres_database)
    workspace.elt("setup-roles", "--target", "pg")
    old_user, old_password = login_users["loader"]
    new_user, new_password = f"{old_user}_rotated", secrets.token_hex(16)
    with pg_connect(postgres_database, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("grant loader to {}").format(psycopg.sql.Identifier(old_user)))
    loader_env = {"ELT_LOADER_PGUSER": old_user, "ELT_LOADER_PGPASSWORD": old_password, "ELT_LOADER_PGROLE": "loader"}
    workspace.env.update(loader_env)
    workspace.elt("load", "--target", "pg")
    with pg_connect(postgres_database) as admin:
        loaded = admin.execute("select count(*) from raw.erp_orders").fetchone()[0]

    # The runbook's steps: a new user with the same group role, the job pointed at it, the old user dropped.
    with pg_connect(postgres_database, autocommit=True) as admin:
        admin.execute(
            psycopg.sql.SQL("create user {} login password {}").format(
                psycopg.sql.Identifier(new_user), psycopg.sql.Literal(new_password)
            )
        )
        admin.execute(psycopg.sql.SQL("grant loader to {}").format(psycopg.sql.Identifier(new_user)))
    workspace.env.update({"ELT_LOADER_PGUSER": new_user, "ELT_LOADER_PGPASSWORD": new_password})
    workspace.elt("load", "--target", "pg")
    with pg_connect(postgres_database, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("drop owned by {}").format(psycopg.sql.Identifier(old_user)))
        admin.execute(psycopg.sql.SQL("drop user {}").format(psycopg.sql.Identifier(old_user)))
    try:
        status = workspace.elt("status", "--target", "pg")
        assert "loaded" in status.stdout
        with pg_connect(postgres_database) as admin:
            assert admin.execute("select count(*) from raw.erp_orders").fetchone()[0] == loaded > 0
            owners = admin.execute(
                "select distinct pg_get_userbyid(relowner) from pg_class "
                "where relnamespace in ('raw'::regnamespace, 'audit'::regnamespace) and relkind = 'r'"
            ).fetchall()
            assert owners == [("loader",)]
        # The old credentials no longer work.
        with pytest.raises(psycopg.OperationalError):
            connect_as(postgres_database, old_user, old_password).close()
    finally:
        with pg_connect(postgres_database, autocommit=True) as admin:
            admin.execute(psycopg.sql.SQL("drop owned by {}").format(psycopg.sql.Identifier(new_user)))
            admin.execute(psycopg.sql.SQL("drop user {}").format(psycopg.sql.Identifier(new_user)))
