"""Bad input found by fuzzing: each case is a clear 4xx naming its field, and changes nothing.

Each test reproduces one failure schemathesis found over the OpenAPI document
(issue 11) through the HTTP API, against real PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clinicflow.errors import ValidationFailed
from clinicflow.identity import service as identity
from clinicflow.platform.db import Database
from clinicflow.platform.db.integrity import translate_db_error
from clinicflow.platform.hygiene import MAX_BODY_DEPTH
from tests.conftest import count_rows
from tests.factories import PASSWORD, bearer, login
from tests.scheduling.conftest import Practice, make_practice


@pytest.fixture
async def practice(database: Database, client: httpx.AsyncClient) -> Practice:
    p = await make_practice(database, client)
    await p.set_availability(client)
    return p


def _fields(response: httpx.Response) -> list[str]:
    body: dict[str, Any] = response.json()
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    assert body["code"] == "VALIDATION_FAILED", body
    return [problem["field"] for problem in body.get("errors", [])]


async def test_nul_in_the_login_email_is_422_not_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "a\u0000@example.test", "password": "whatever-long"}
    )
    assert response.status_code == 422
    assert _fields(response) == ["email"]


async def test_nul_in_a_clinic_name_is_422_and_creates_nothing(
    client: httpx.AsyncClient, practice: Practice, database: Database
) -> None:
    before = await count_rows(database, "clinics")
    body = {"name": "Bad\u0000Name", "slug": "bad-name", "timezone": "Europe/Berlin"}
    created = await client.post("/api/v1/clinics", json=body, headers=practice.admin)
    assert created.status_code == 422
    assert _fields(created) == ["name"]
    assert await count_rows(database, "clinics") == before

    update = {"name": "Bad\u0000Name", "slug": practice.clinic.slug, "timezone": "Europe/Berlin"}
    updated = await client.put(f"/api/v1/clinics/{practice.clinic.id}", json=update, headers=practice.admin)
    assert updated.status_code == 422
    assert _fields(updated) == ["name"]
    read = await client.get(f"/api/v1/clinics/{practice.clinic.id}", headers=practice.admin)
    assert read.json()["name"] == practice.clinic.name


async def test_nul_in_a_query_parameter_is_422_naming_it(
    client: httpx.AsyncClient, practice: Practice
) -> None:
    response = await client.get("/api/v1/doctors", params={"q": "Dr\u0000"}, headers=practice.admin)
    assert response.status_code == 422
    assert _fields(response) == ["q"]


async def test_a_nul_in_the_path_is_422(client: httpx.AsyncClient, practice: Practice) -> None:
    response = await client.get("/api/v1/clinics/%00", headers=practice.admin)
    assert response.status_code == 422
    assert _fields(response) == ["path"]


async def test_a_lone_surrogate_in_a_body_is_422_naming_the_field(
    client: httpx.AsyncClient, practice: Practice, database: Database
) -> None:
    before = await count_rows(database, "clinics")
    raw = b'{"name": "Bad \\ud800 name", "slug": "surrogate", "timezone": "Europe/Berlin"}'
    response = await client.post(
        "/api/v1/clinics",
        content=raw,
        headers={**practice.admin, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert _fields(response) == ["name"]
    assert await count_rows(database, "clinics") == before


async def test_a_body_that_is_not_utf8_is_422_not_an_undocumented_400(
    client: httpx.AsyncClient, practice: Practice
) -> None:
    response = await client.post(
        "/api/v1/clinics",
        content=b'{"name": "\xff\xfe"}',
        headers={**practice.admin, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert _fields(response) == ["body"]


async def test_a_deeply_nested_body_is_422(client: httpx.AsyncClient, practice: Practice) -> None:
    depth = MAX_BODY_DEPTH + 1
    raw = b"[" * depth + b"]" * depth
    response = await client.post(
        "/api/v1/clinics", content=raw, headers={**practice.admin, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert _fields(response) == ["body"]
    assert "nests deeper" in response.json()["detail"]

    # Deep enough to exhaust Python's recursion limit while parsing.
    abyss = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    response = await client.post(
        "/api/v1/clinics", content=abyss, headers={**practice.admin, "content-type": "application/json"}
    )
    assert response.status_code == 422  # 500 KB: under the body limit, refused for its depth
    assert _fields(response) == ["body"]


async def test_a_non_ascii_video_token_is_404_not_500(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"/video/rooms/{uuid.uuid4()}", params={"tenant": str(uuid.uuid4()), "token": "é"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "instant",
    ["0001-01-01T00:03+01:03", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00", "2026-01-01T10:00"],
)
async def test_instants_off_the_calendar_or_without_an_offset_are_422(
    client: httpx.AsyncClient, practice: Practice, instant: str
) -> None:
    listed = await client.get("/api/v1/appointments", params={"from": instant}, headers=practice.admin)
    assert listed.status_code == 422
    assert _fields(listed) == ["from"]

    slots = await client.get(
        f"/api/v1/doctors/{practice.doctor_id}/slots",
        params={"from": instant, "to": "2026-01-02T00:00:00Z"},
        headers=practice.patient,
    )
    assert slots.status_code == 422
    assert _fields(slots) == ["from"]


async def test_a_date_off_the_calendar_is_422(client: httpx.AsyncClient, practice: Practice) -> None:
    body = {
        "clinic_id": str(practice.clinic.id),
        "rules": [
            {"weekday": 0, "start": "08:00", "end": "12:00", "slot_minutes": 30, "valid_from": "0001-01-01"}
        ],
    }
    response = await client.put(
        f"/api/v1/doctors/{practice.doctor_id}/availability", json=body, headers=practice.admin
    )
    assert response.status_code == 422
    assert _fields(response) == ["rules.0.valid_from"]


async def test_a_tenant_onboarding_error_names_the_bodys_own_field(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.transaction() as uow:
        await identity.create_platform_admin(
            uow, email="ops-hygiene@platform.example", full_name="Ops", password=PASSWORD
        )
    ops = bearer(await login(client, tenant=None, email="ops-hygiene@platform.example"))
    body = {"name": "Short", "slug": "short-pw", "admin_email": "a@short.example", "admin_password": "short"}
    response = await client.post("/api/v1/tenants", json=body, headers=ops)
    assert response.status_code == 422
    assert _fields(response) == ["admin_password"]
    assert await count_rows(database, "tenants") == 0


async def test_a_postgresql_data_error_maps_to_422(database: Database) -> None:
    """The one place that maps database data errors: a real DataError from PostgreSQL."""
    with pytest.raises(ValidationFailed) as raised:
        async with database.transaction() as uow:
            await uow.session.execute(text("SELECT CAST(:value AS smallint)"), {"value": "99999"})
    assert isinstance(raised.value.__cause__, DBAPIError)
    assert [p.field for p in raised.value.errors] == ["body"]

    # A direct read (psycopg, no ORM) lands in the same mapping.
    with pytest.raises(DBAPIError) as direct:
        async with database.reading() as uow:
            await uow.execute(text("SELECT CAST('99999' AS smallint)"))
    mapped = translate_db_error(direct.value)
    assert mapped is not None
    assert (mapped.status, mapped.code) == (422, "VALIDATION_FAILED")
