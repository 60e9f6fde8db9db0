"""The audit trail: append-only in the database, readable by tenant admins through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clinicflow.audit import service as audit
from clinicflow.audit.service import SYSTEM
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from clinicflow.platform.db.url import libpq_url
from tests.factories import make_member, make_tenant


async def _one_event(database: Database) -> uuid.UUID:
    tenant = await make_tenant(database)  # writes tenant.created
    async with database.engine.connect() as conn:
        return (
            await conn.execute(text("SELECT id FROM audit_events WHERE tenant_id = :t"), {"t": tenant.id})
        ).scalar_one()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'nothing.happened' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "TRUNCATE audit_events",
    ],
)
async def test_the_database_refuses_to_change_or_remove_audit_events(
    database: Database, statement: str
) -> None:
    event_id = await _one_event(database)
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.transaction() as uow:
            await uow.session.execute(text(statement), {"id": event_id})
    async with database.engine.connect() as conn:
        action = (
            await conn.execute(text("SELECT action FROM audit_events WHERE id = :id"), {"id": event_id})
        ).scalar_one()
    assert action == "tenant.created"


def test_not_even_a_superuser_skipping_triggers_can_delete(database_url: str) -> None:
    """`session_replication_role = replica` disables ordinary triggers; ours are ENABLE ALWAYS."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        is_superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        assert is_superuser == (True,), "this test needs a superuser connection to mean anything"
        conn.execute(
            "INSERT INTO audit_events (id, actor_type, action, subject_type) "
            "VALUES (gen_random_uuid(), 'system', 'test.event', 'test')"
        )
        conn.commit()
        conn.execute("SET session_replication_role = replica")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audit_events WHERE action = 'test.event'")
        conn.rollback()
        count = conn.execute("SELECT count(*) FROM audit_events WHERE action = 'test.event'").fetchone()
    assert count is not None
    assert count[0] >= 1


async def test_admins_read_their_tenants_trail_with_filters(
    client: httpx.AsyncClient, database: Database
) -> None:
    tenant = await make_tenant(database)
    other = await make_tenant(database)
    admin, headers = await make_member(database, client, tenant=tenant, role=Role.TENANT_ADMIN)
    subject = uuid.uuid4()
    async with database.transaction() as uow:
        for i in range(3):
            await audit.record(
                uow,
                tenant_id=tenant.id,
                actor=SYSTEM,
                action="test.thing",
                subject_type="thing",
                subject_id=subject if i < 2 else None,
                after={"n": i},
            )
        await audit.record(
            uow,
            tenant_id=other.id,
            actor=SYSTEM,
            action="test.thing",
            subject_type="thing",
            subject_id=subject,
        )

    everything = (await client.get("/api/v1/audit-events", headers=headers)).json()["items"]
    assert {e["tenant_id"] for e in everything} == {str(tenant.id)}
    assert [e["action"] for e in everything][:2] == ["tenant.created", "auth.login"]

    by_subject = await client.get(f"/api/v1/audit-events?subject_id={subject}", headers=headers)
    assert [e["after"] for e in by_subject.json()["items"]] == [{"n": 0}, {"n": 1}]
    by_actor = await client.get(f"/api/v1/audit-events?actor_id={admin.id}", headers=headers)
    assert [e["action"] for e in by_actor.json()["items"]] == ["auth.login"]
    assert by_actor.json()["items"][0]["request_id"] is not None
    paged = await client.get("/api/v1/audit-events?action=test.thing&limit=2", headers=headers)
    assert len(paged.json()["items"]) == 2
    rest = await client.get(
        f"/api/v1/audit-events?action=test.thing&limit=2&cursor={paged.json()['next_cursor']}",
        headers=headers,
    )
    assert len(rest.json()["items"]) == 1

    now = datetime.now(UTC)
    window = {
        "since": (now - timedelta(minutes=5)).isoformat(),
        "until": (now + timedelta(minutes=5)).isoformat(),
    }
    assert (
        len((await client.get("/api/v1/audit-events", params=window, headers=headers)).json()["items"]) == 5
    )
    future = {"since": (now + timedelta(minutes=5)).isoformat()}
    assert (await client.get("/api/v1/audit-events", params=future, headers=headers)).json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        "since=2026-01-01T00:00:00",  # no offset
        "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",  # empty range
        "actor_id=not-a-uuid",
        "limit=0",
        "cursor=%%%",
    ],
)
async def test_bad_audit_queries_are_422(client: httpx.AsyncClient, database: Database, query: str) -> None:
    tenant = await make_tenant(database)
    _, headers = await make_member(database, client, tenant=tenant, role=Role.TENANT_ADMIN)
    response = await client.get(f"/api/v1/audit-events?{query}", headers=headers)
    assert response.status_code == 422
