"""Check-in locations and the clinic's check-in window: CRUD, bad input, scopes, tenants, audit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.checkin.conftest import make_desk
from tests.conftest import count_rows
from tests.factories import make_member
from tests.scheduling.conftest import Practice, make_practice

LOCATIONS = "/api/v1/appointments/check-in/locations"


async def _place(client: httpx.AsyncClient, practice: Practice, **extra: Any) -> str:
    body = {"clinic_id": str(practice.clinic.id), "name": "Main entrance", "kind": "site", **extra}
    created = await client.post("/api/v1/clinic-locations", json=body, headers=practice.admin)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _audit(database: Database, tenant_id: uuid.UUID, prefix: str) -> list[dict[str, Any]]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT action, subject_type, subject_id, before, after FROM audit_events"
                " WHERE tenant_id = :t AND action LIKE :p ORDER BY id"
            ),
            {"t": tenant_id, "p": f"{prefix}%"},
        )
        return [dict(r._mapping) for r in rows]


async def test_a_location_takes_check_ins_with_its_settings_and_the_change_is_audited(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    place = await _place(client, practice)
    body = {"location_id": place, "qr_mode": "rotating", "rotation_seconds": 45, "ticket_prefix": "K"}
    created = await client.post(LOCATIONS, json=body, headers=practice.admin)

    assert created.status_code == 201, created.text
    shown = created.json()
    assert shown["location_id"] == place
    assert shown["clinic_id"] == str(practice.clinic.id)
    assert shown["name"] == "Main entrance"
    assert (shown["qr_mode"], shown["rotation_seconds"], shown["qr_version"]) == ("rotating", 45, 1)
    assert (shown["ticket_prefix"], shown["enabled"], shown["geofence_mode"]) == ("K", True, "off")
    assert (await client.get(f"{LOCATIONS}/{place}", headers=practice.reception)).json() == shown
    audit = await _audit(database, practice.tenant.id, "checkin_location.")
    assert [(a["action"], a["subject_type"], str(a["subject_id"])) for a in audit] == [
        ("checkin_location.created", "checkin_location", place)
    ]

    again = await client.post(LOCATIONS, json={"location_id": place}, headers=practice.admin)
    assert again.status_code == 409
    assert again.json()["code"] == "CHECK_IN_LOCATION_EXISTS"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ticket_prefix": "a1"}, "ticket_prefix"),
        ({"ticket_prefix": "ABCD"}, "ticket_prefix"),
        ({"rotation_seconds": 5}, "rotation_seconds"),
        ({"qr_mode": "laminated"}, "qr_mode"),
        ({"geofence_mode": "strict"}, "geofence_mode"),
        ({"latitude": "52.5"}, None),  # without longitude
        ({"latitude": "91", "longitude": "13.4"}, "latitude"),
        ({"radius_m": 5, "latitude": "52.5", "longitude": "13.4"}, "radius_m"),
        ({"qr_version": 7}, "qr_version"),  # set by revoking, never by hand
        ({"tenant_id": str(uuid.uuid4())}, "tenant_id"),
        ({"geofence_mode": "enforce"}, "latitude"),  # no centre here, none on the location
    ],
)
async def test_bad_settings_are_refused_with_the_field_and_nothing_is_stored(
    client: httpx.AsyncClient, database: Database, practice: Practice, body: dict[str, Any], field: str | None
) -> None:
    place = await _place(client, practice)
    refused = await client.post(LOCATIONS, json={"location_id": place, **body}, headers=practice.admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "VALIDATION_FAILED"
    if field is not None:
        assert any(e["field"].endswith(field) for e in refused.json()["errors"]), refused.json()
    assert await count_rows(database, "checkin_locations") == 0


async def test_a_geofence_without_its_own_centre_takes_the_locations_coordinates(
    client: httpx.AsyncClient, practice: Practice
) -> None:
    place = await _place(client, practice, latitude="52.520008", longitude="13.404954", radius_m=80)
    created = await client.post(
        LOCATIONS, json={"location_id": place, "geofence_mode": "warn"}, headers=practice.admin
    )
    assert created.status_code == 201, created.text
    assert (created.json()["latitude"], created.json()["longitude"]) == ("52.520008", "13.404954")
    assert created.json()["radius_m"] == 80


async def test_unknown_or_other_tenants_locations_cannot_be_configured(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    other = await make_practice(database, client)
    theirs = await make_desk(client, other)
    their_place = await _place(client, other)
    for location_id in (str(uuid.uuid4()), their_place):
        refused = await client.post(LOCATIONS, json={"location_id": location_id}, headers=practice.admin)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "location_id"
    for method, path in (
        ("GET", f"{LOCATIONS}/{theirs}"),
        ("PUT", f"{LOCATIONS}/{theirs}"),
        ("DELETE", f"{LOCATIONS}/{theirs}"),
        ("POST", f"{LOCATIONS}/{theirs}/qr-version"),
    ):
        body = {} if method == "PUT" else None
        answered = await client.request(method, path, json=body, headers=practice.admin)
        assert answered.status_code == 404, (method, path, answered.text)
    shown = await client.get(f"{LOCATIONS}/{theirs}", headers=other.admin)
    assert shown.json()["qr_version"] == 1  # untouched


async def test_only_check_in_admins_of_the_clinic_configure_it(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    place = await _place(client, practice)
    other_clinic = await make_practice(database, client, tenant=practice.tenant)
    _, other_clinic_admin = await make_member(
        database, client, tenant=practice.tenant, role=Role.CLINIC_ADMIN, clinic_id=other_clinic.clinic.id
    )
    for headers, expected in ((practice.reception, 403), (practice.patient, 403), (other_clinic_admin, 404)):
        put = await client.put(f"{LOCATIONS}/{desk}", json={}, headers=headers)
        assert put.status_code == expected, (expected, put.text)
    post = await client.post(LOCATIONS, json={"location_id": place}, headers=other_clinic_admin)
    assert post.status_code == 422  # not a location of theirs
    assert (await client.post(LOCATIONS, json={"location_id": place})).status_code == 401
    assert (await client.put(f"{LOCATIONS}/{desk}", json={})).status_code == 401


async def test_settings_are_replaced_revoked_and_removed_with_an_audit_trail(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    changed = await client.put(
        f"{LOCATIONS}/{desk}",
        json={"enabled": False, "geofence_mode": "enforce", "latitude": "48.1", "longitude": "11.5"},
        headers=practice.admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["enabled"], changed.json()["radius_m"]) == (False, 100)
    revoked = await client.post(f"{LOCATIONS}/{desk}/qr-version", headers=practice.admin)
    assert revoked.json()["qr_version"] == 2
    bad = await client.put(f"{LOCATIONS}/{desk}", json={"rotation_seconds": 0}, headers=practice.admin)
    assert bad.status_code == 422
    assert (await client.get(f"{LOCATIONS}/{desk}", headers=practice.admin)).json()["enabled"] is False

    removed = await client.delete(f"{LOCATIONS}/{desk}", headers=practice.admin)
    assert removed.status_code == 204
    assert (await client.get(f"{LOCATIONS}/{desk}", headers=practice.admin)).status_code == 404
    assert (await client.delete(f"{LOCATIONS}/{desk}", headers=practice.admin)).status_code == 404
    assert (await client.put(f"{LOCATIONS}/{desk}", json={}, headers=practice.admin)).status_code == 404

    audit = await _audit(database, practice.tenant.id, "checkin_location.")
    assert [a["action"] for a in audit] == [
        "checkin_location.created",
        "checkin_location.updated",
        "checkin_location.codes_revoked",
        "checkin_location.removed",
    ]
    assert (audit[1]["before"]["enabled"], audit[1]["after"]["enabled"]) == (True, False)
    assert (audit[2]["before"], audit[2]["after"]) == ({"qr_version": 1}, {"qr_version": 2})


async def test_the_list_pages_and_filters_by_clinic(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    first, second = await make_desk(client, practice, name="A"), await make_desk(client, practice, name="B")
    other_clinic = await make_practice(database, client, tenant=practice.tenant)
    elsewhere = await make_desk(client, other_clinic, name="C")
    await make_desk(client, await make_practice(database, client), name="Another tenant's")

    page = await client.get(LOCATIONS, params={"limit": 2}, headers=practice.admin)
    assert [i["location_id"] for i in page.json()["items"]] == [first, second]
    rest = await client.get(
        LOCATIONS, params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=practice.admin
    )
    assert [i["location_id"] for i in rest.json()["items"]] == [elsewhere]
    assert rest.json()["next_cursor"] is None
    mine = await client.get(LOCATIONS, params={"clinic_id": str(practice.clinic.id)}, headers=practice.admin)
    assert [i["location_id"] for i in mine.json()["items"]] == [first, second]
    scoped = await client.get(LOCATIONS, headers=practice.reception)  # their clinic's only
    assert [i["location_id"] for i in scoped.json()["items"]] == [first, second]
    assert (await client.get(LOCATIONS, params={"limit": 0}, headers=practice.admin)).status_code == 422
    assert (await client.get(LOCATIONS, headers=practice.patient)).status_code == 403


async def test_an_archived_location_no_longer_takes_check_ins(
    client: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    assert (
        await client.delete(f"/api/v1/clinic-locations/{desk}", headers=practice.admin)
    ).status_code == 204
    assert (await client.get(f"{LOCATIONS}/{desk}", headers=practice.admin)).status_code == 404
    assert (await client.get(LOCATIONS, headers=practice.admin)).json()["items"] == []


# --- the clinic's window ---------------------------------------------------------------------


async def test_the_window_has_defaults_and_is_replaced_with_an_audit_trail(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    url = f"/api/v1/clinics/{practice.clinic.id}/check-in-policy"
    defaults = await client.get(url, headers=practice.patient)
    assert defaults.json() == {
        "clinic_id": str(practice.clinic.id),
        "opens_before_minutes": 30,
        "closes_after_minutes": 120,
        "late_after_minutes": 15,
        "default_consult_minutes": 15,
    }
    put = await client.put(
        url, json={"opens_before_minutes": 45, "closes_after_minutes": 60}, headers=practice.admin
    )
    assert put.status_code == 200, put.text
    assert (await client.get(url, headers=practice.doctor)).json()["opens_before_minutes"] == 45
    audit = await _audit(database, practice.tenant.id, "checkin_policy.")
    assert [(a["subject_type"], str(a["subject_id"])) for a in audit] == [
        ("checkin_policy", str(practice.clinic.id))
    ]
    assert audit[0]["after"] == {"opens_before_minutes": 45, "closes_after_minutes": 60}


@pytest.mark.parametrize(
    "body",
    [{"opens_before_minutes": 1441}, {"closes_after_minutes": -1}, {"default_consult_minutes": 0}, {"x": 1}],
)
async def test_a_bad_window_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, database: Database, practice: Practice, body: dict[str, Any]
) -> None:
    url = f"/api/v1/clinics/{practice.clinic.id}/check-in-policy"
    refused = await client.put(url, json=body, headers=practice.admin)
    assert refused.status_code == 422
    assert refused.json()["errors"]
    assert await count_rows(database, "clinic_checkin_policies") == 0


async def test_the_window_is_changed_by_check_in_admins_of_the_clinic_only(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    url = f"/api/v1/clinics/{practice.clinic.id}/check-in-policy"
    assert (await client.put(url, json={}, headers=practice.reception)).status_code == 403
    assert (await client.put(url, json={}, headers=practice.doctor)).status_code == 403
    assert (await client.put(url, json={})).status_code == 401
    assert (await client.get(url)).status_code == 401
    other = await make_practice(database, client)
    theirs = f"/api/v1/clinics/{other.clinic.id}/check-in-policy"
    assert (await client.get(theirs, headers=practice.admin)).status_code == 404
    assert (await client.put(theirs, json={}, headers=practice.admin)).status_code == 404
    missing = f"/api/v1/clinics/{uuid.uuid4()}/check-in-policy"
    assert (await client.get(missing, headers=practice.admin)).status_code == 404
