"""Two `clinicflow serve` processes on one database of their own, shared by the module's tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from clinicflow.platform.db import Database
from clinicflow.platform.migrations import upgrade_to_head
from tests.conftest import SMALL_SERVER_POOLS, admin_dsn, recreate_database, run_database_name, server_slot
from tests.platform.processes import DEMO_PASSWORD, Cluster, libpq

STAFF = "frontdesk@demo.clinicflow.test"
PATIENT = "patient@demo.clinicflow.test"
DOCTOR = "dr.okafor@demo.clinicflow.test"
ADMIN = "admin@demo.clinicflow.test"


@dataclass(frozen=True)
class Servers:
    a: str  # base URLs of the two processes
    b: str
    url: str  # the database's SQLAlchemy URL


@pytest.fixture(scope="module")
def realtime_url(server_url: str) -> Iterator[str]:
    name = run_database_name("realtime")
    url = recreate_database(server_url, name)
    upgrade_to_head(url)
    yield url
    with psycopg.connect(admin_dsn(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def servers(realtime_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with server_slot():
        cluster = Cluster(realtime_url, Path(tmp_path_factory.mktemp("realtime")), **SMALL_SERVER_POOLS)
        try:
            _, a = cluster.serve()  # seeds the demo tenant
            _, b = cluster.serve(demo=False)
            yield Servers(a=a, b=b, url=realtime_url)
        finally:
            cluster.stop_all()


def _marked(servers: Servers) -> dict[str, str]:
    # The clients carry the database URL so helpers can look at the database (the server ignores it).
    return {"x-test-database": servers.url}


@pytest.fixture
async def client_a(servers: Servers) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=servers.a, timeout=10, headers=_marked(servers)) as client:
        yield client


@pytest.fixture
async def client_b(servers: Servers) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=servers.b, timeout=10, headers=_marked(servers)) as client:
        yield client


@pytest.fixture
async def publisher(servers: Servers) -> AsyncIterator[Database]:
    """The test's own connection to the servers' database (a third process publishing)."""
    db = Database(servers.url, pool_size=1, max_overflow=0, read_pool_size=1, orm_read_pool_size=1)
    yield db
    await db.dispose()


async def login(client: httpx.AsyncClient, email: str, tenant: str | None = "demo") -> dict[str, str]:
    """Bearer headers of a demo login (`tenant=None`: the platform admin)."""
    body = {"email": email, "password": DEMO_PASSWORD, **({"tenant": tenant} if tenant else {})}
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def ticket(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/api/v1/events/tickets", headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert datetime.fromisoformat(body["expires_at"]) <= datetime.now(UTC) + timedelta(seconds=31)
    token: str = body["ticket"]
    return token


_BOOKED = "SELECT count(*) FROM realtime_events WHERE channel = %s AND data->>'change' = 'appointment.booked'"


def url_of(client: httpx.AsyncClient) -> str:
    url: str = client.headers["x-test-database"]
    return url


def scalar(url: str, sql: str, *params: Any) -> Any:
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute(sql, params).fetchone()
        assert row is not None
        return row[0]


def demo_ids(url: str) -> dict[str, uuid.UUID]:
    """The demo tenant, its first doctor's clinic and doctor, a location there, the patient."""
    doctor, clinic = (
        scalar(url, "SELECT u.id FROM users u WHERE u.email = %s", DOCTOR),
        scalar(
            url,
            "SELECT g.clinic_id FROM role_grants g JOIN users u ON u.id = g.user_id WHERE u.email = %s",
            DOCTOR,
        ),
    )
    return {
        "tenant": scalar(url, "SELECT id FROM tenants WHERE slug = 'demo'"),
        "doctor": doctor,
        "clinic": clinic,
        "location": scalar(url, "SELECT id FROM clinic_locations WHERE clinic_id = %s LIMIT 1", clinic),
        "patient": scalar(url, "SELECT id FROM users WHERE email = %s", PATIENT),
    }


async def book_for_patient(
    client: httpx.AsyncClient, headers: dict[str, str], ids: dict[str, uuid.UUID], nth: int
) -> str:
    """Book the patient's `nth` free slot of the demo doctor; returns the appointment id."""
    start = datetime.now(UTC) + timedelta(days=2)
    slots = await client.get(
        f"/api/v1/doctors/{ids['doctor']}/slots",
        params={"from": start.isoformat(), "to": (start + timedelta(days=21)).isoformat()},
        headers=headers,
    )
    assert slots.status_code == 200, slots.text
    starts_at = slots.json()["items"][nth]["starts_at"]
    booked = await client.post(
        "/api/v1/appointments",
        json={"doctor_id": str(ids["doctor"]), "clinic_id": str(ids["clinic"]), "starts_at": starts_at},
        headers={**headers, "Idempotency-Key": f"rt-{uuid.uuid4()}"},
    )
    assert booked.status_code == 201, booked.text
    appointment_id: str = booked.json()["id"]
    # `appointment.booked` is published by a job just after the commit: let it land first,
    # so the tests' streams see only what the tests do.
    deadline = time.monotonic() + 10
    while not scalar(url_of(client), _BOOKED, f"appointment:{appointment_id}"):
        assert time.monotonic() < deadline, "appointment.booked was not published"
        await asyncio.sleep(0.05)
    return appointment_id
