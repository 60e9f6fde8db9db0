"""The CLI as operators use it: a real process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import text

from clinicflow.identity.passwords import verify_password_sync
from clinicflow.platform.db import Database
from tests.conftest import count_rows
from tests.factories import bearer, login

pytestmark = pytest.mark.slow


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CLINICFLOW_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "clinicflow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def create_tenant(
    database_url: str,
    *,
    slug: str,
    name: str = "Northside Health",
    email: str = "admin@tenant.test",
    password: str = "a-long-enough-secret",
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        database_url,
        "tenants",
        "create",
        "--name",
        name,
        "--slug",
        slug,
        "--admin-email",
        email,
        "--admin-password",
        password,
    )


async def test_tenants_create_makes_a_tenant_admin_who_can_log_in(
    database: Database, database_url: str, client: httpx.AsyncClient
) -> None:
    result = create_tenant(database_url, slug="northside", email="Boss@Northside.test")
    assert result.returncode == 0, result.stderr
    assert "tenant northside created" in result.stdout
    async with database.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT u.password_hash, g.role FROM users u "
                    "JOIN tenants t ON t.id = u.tenant_id JOIN role_grants g ON g.user_id = u.id "
                    "WHERE t.slug = 'northside' AND lower(u.email) = 'boss@northside.test'"
                )
            )
        ).one()
    assert row.role == "TENANT_ADMIN"
    assert row.password_hash.startswith("$argon2id$")
    assert verify_password_sync(row.password_hash, "a-long-enough-secret")
    assert not verify_password_sync(row.password_hash, "wrong-password-here")
    tokens = await login(
        client, tenant="northside", email="boss@northside.test", password="a-long-enough-secret"
    )
    me = await client.get("/api/v1/users/me", headers=bearer(tokens))
    assert me.json()["roles"] == ["TENANT_ADMIN"]


async def test_tenants_create_refuses_a_taken_slug(database: Database, database_url: str) -> None:
    assert create_tenant(database_url, slug="taken").returncode == 0
    again = create_tenant(database_url, slug="taken")
    assert again.returncode == 1
    assert "TENANT_SLUG_TAKEN" in again.stderr
    assert await count_rows(database, "tenants") == 1
    assert await count_rows(database, "users") == 1


async def test_tenants_create_is_all_or_nothing(database: Database, database_url: str) -> None:
    """A weak admin password refuses the whole command: no tenant without its admin."""
    result = create_tenant(database_url, slug="weak", password="short")
    assert result.returncode == 1
    assert "password" in result.stderr
    assert await count_rows(database, "tenants") == 0


async def test_tenants_create_rejects_a_bad_slug(database: Database, database_url: str) -> None:
    result = create_tenant(database_url, slug="Not A Slug!")
    assert result.returncode == 1
    assert "slug" in result.stderr
    assert await count_rows(database, "tenants") == 0


async def test_seed_demo_is_idempotent_and_every_printed_login_works(
    database: Database, database_url: str, client: httpx.AsyncClient
) -> None:
    from clinicflow.demo import DEMO_LOGINS, DEMO_TENANT_SLUG

    first = run_cli(database_url, "seed", "--demo")
    assert first.returncode == 0, first.stderr
    users = await count_rows(database, "users")
    second = run_cli(database_url, "seed", "--demo")
    assert second.returncode == 0
    assert "already present" in second.stderr
    assert await count_rows(database, "users") == users == 12  # 7 logins, 5 in the waiting room
    assert await count_rows(database, "platform_admins") == 1
    assert await count_rows(database, "clinics") == 2
    assert await count_rows(database, "availability_plans") == 3  # with the walk-in doctor's
    # The patient's upcoming check-up and, once, today's live walk-in clinic (six visits).
    assert await count_rows(database, "appointments") == 7
    assert await count_rows(database, "check_ins") == 5
    for demo in DEMO_LOGINS:
        assert demo.email in first.stdout
        tenant = None if demo.role == "platform admin" else DEMO_TENANT_SLUG
        tokens = await login(client, tenant=tenant, email=demo.email, password=demo.password)
        me = (await client.get("/api/v1/users/me", headers=bearer(tokens))).json()
        assert me["email"] == demo.email


async def test_admins_create_makes_a_platform_admin(
    database: Database, database_url: str, client: httpx.AsyncClient
) -> None:
    created = run_cli(
        database_url, "admins", "create", "--email", "root@ops.example", "--password", "a-long-enough-secret"
    )
    assert created.returncode == 0, created.stderr
    tokens = await login(client, tenant=None, email="root@ops.example", password="a-long-enough-secret")
    assert (await client.get("/api/v1/users/me", headers=bearer(tokens))).json()["roles"] == ["SUPER_ADMIN"]
    taken = run_cli(
        database_url, "admins", "create", "--email", "ROOT@ops.example", "--password", "a-long-enough-secret"
    )
    assert taken.returncode == 1
    assert "EMAIL_TAKEN" in taken.stderr
    weak = run_cli(database_url, "admins", "create", "--email", "x@ops.example", "--password", "short")
    assert weak.returncode == 1
    assert await count_rows(database, "platform_admins") == 1


async def test_jobs_failed_lists_dead_letters(database: Database, database_url: str) -> None:
    empty = run_cli(database_url, "jobs", "failed")
    assert empty.returncode == 0
    assert "no failed jobs" in empty.stdout
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts) "
                "VALUES ('default', 'messaging.send', '{\"delivery_id\": \"d-1\"}', 'failed', 6)"
            )
        )
    listed = run_cli(database_url, "jobs", "failed")
    assert listed.returncode == 0
    assert "messaging.send" in listed.stdout
    assert "d-1" in listed.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clinicflow.cli", "frobnicate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
