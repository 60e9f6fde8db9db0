"""Families: reception links a guardian to their dependants (audited); the guardian sees them and
checks their visits in with one scan."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.checkin.conftest import book, code_of, make_desk, scan
from tests.conftest import count_rows
from tests.factories import make_member
from tests.scheduling.conftest import Practice, make_practice, tomorrow_at


def dependants(patient_id: uuid.UUID | str) -> str:
    return f"/api/v1/patients/{patient_id}/dependants"


async def _child(
    database: Database, client: httpx.AsyncClient, practice: Practice
) -> tuple[str, dict[str, str]]:
    user, headers = await make_member(database, client, tenant=practice.tenant, role=Role.PATIENT)
    return str(user.id), headers


async def _link(client: httpx.AsyncClient, practice: Practice, child: str, **extra: Any) -> httpx.Response:
    body = {"dependant_id": child, "relationship": "child", **extra}
    return await client.post(dependants(practice.patient_id), json=body, headers=practice.reception)


async def test_reception_links_a_dependant_whom_the_guardian_then_sees(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    child, child_headers = await _child(database, client, practice)
    linked = await _link(client, practice, child)

    assert linked.status_code == 201, linked.text
    body = linked.json()
    assert (body["guardian_id"], body["dependant_id"], body["relationship"]) == (
        str(practice.patient_id),
        child,
        "child",
    )
    assert body["full_name"] == "Test User"
    own = await client.get(dependants(practice.patient_id), headers=practice.patient)
    assert [d["dependant_id"] for d in own.json()["items"]] == [child]
    assert (await client.get(dependants(practice.patient_id), headers=practice.admin)).json() == own.json()
    assert (await client.get(dependants(child), headers=child_headers)).json()["items"] == []
    async with database.engine.connect() as conn:
        actions = (
            await conn.execute(
                text(
                    "SELECT array_agg(action ORDER BY id) FROM audit_events"
                    " WHERE tenant_id = :t AND action LIKE 'guardian%'"
                ),
                {"t": practice.tenant.id},
            )
        ).scalar_one()
    assert actions == ["guardian_link.created"]

    again = await _link(client, practice, child)
    assert again.status_code == 409
    assert again.json()["code"] == "DEPENDANT_ALREADY_LINKED"


@pytest.mark.parametrize("dependant", ["self", "doctor", "unknown", "not-a-uuid"])
async def test_a_dependant_must_be_another_patient(
    client: httpx.AsyncClient, database: Database, practice: Practice, dependant: str
) -> None:
    target = {
        "self": str(practice.patient_id),
        "doctor": str(practice.doctor_id),
        "unknown": str(uuid.uuid4()),
        "not-a-uuid": "abc",
    }[dependant]
    refused = await _link(client, practice, target)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"].endswith("dependant_id")
    assert await count_rows(database, "patient_guardians") == 0


async def test_bad_relationships_and_unknown_fields_are_refused(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    child, _ = await _child(database, client, practice)
    for extra in ({"relationship": "owner"}, {"guardian_id": str(uuid.uuid4())}):
        assert (await _link(client, practice, child, **extra)).status_code == 422
    assert await count_rows(database, "patient_guardians") == 0


async def test_only_the_desk_links_and_only_the_guardian_or_the_desk_reads(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    child, child_headers = await _child(database, client, practice)
    body = {"dependant_id": child, "relationship": "child"}
    for headers in (practice.patient, child_headers, practice.doctor):
        refused = await client.post(dependants(practice.patient_id), json=body, headers=headers)
        assert refused.status_code == 403, refused.text
    assert (await client.post(dependants(practice.patient_id), json=body)).status_code == 401
    assert (await client.get(dependants(practice.patient_id), headers=child_headers)).status_code == 404
    assert (await client.get(dependants(practice.patient_id), headers=practice.doctor)).status_code == 403
    assert (await client.get(dependants(practice.patient_id))).status_code == 401
    assert (
        await client.get(dependants(practice.doctor_id), headers=practice.admin)
    ).status_code == 404  # no patient


async def test_another_tenants_patients_are_not_found(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    other = await make_practice(database, client)
    child, _ = await _child(database, client, practice)
    theirs = await client.post(
        dependants(other.patient_id),
        json={"dependant_id": child, "relationship": "child"},
        headers=practice.reception,
    )
    assert theirs.status_code == 404
    assert (await client.get(dependants(other.patient_id), headers=practice.admin)).status_code == 404
    across = await _link(client, practice, str(other.patient_id))  # their patient as our dependant
    assert across.status_code == 422
    deleted = await client.delete(f"{dependants(other.patient_id)}/{child}", headers=practice.admin)
    assert deleted.status_code == 404


async def test_unlinking_is_audited_and_ends_the_guardians_reach(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    child, _ = await _child(database, client, practice)
    await _link(client, practice, child)
    desk = await make_desk(client, practice)
    await book(client, practice, tomorrow_at(10, 30), patient_id=child, headers=practice.reception)
    url = f"{dependants(practice.patient_id)}/{child}"

    assert (await client.delete(url, headers=practice.patient)).status_code == 403
    assert (await client.delete(url, headers=practice.reception)).status_code == 204
    assert (await client.delete(url, headers=practice.reception)).status_code == 404
    assert (await client.get(dependants(practice.patient_id), headers=practice.patient)).json()["items"] == []
    scanned = await scan(frozen, practice.patient, await code_of(client, practice, desk))
    assert scanned.json()["code"] == "NO_APPOINTMENT_FOUND"  # the child's visit is no longer theirs
    async with database.engine.connect() as conn:
        removed = (
            await conn.execute(
                text(
                    "SELECT before FROM audit_events"
                    " WHERE tenant_id = :t AND action = 'guardian_link.removed'"
                ),
                {"t": practice.tenant.id},
            )
        ).scalar_one()
    assert removed["dependant_id"] == child


async def test_one_scan_checks_in_the_guardian_and_the_dependants(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    await client.put(
        f"/api/v1/clinics/{practice.clinic.id}/check-in-policy",
        json={"opens_before_minutes": 60},
        headers=practice.admin,
    )
    child, _ = await _child(database, client, practice)
    sibling, _ = await _child(database, client, practice)
    stranger, _ = await _child(database, client, practice)
    for dependant in (child, sibling):
        await _link(client, practice, dependant)
    desk = await make_desk(client, practice)
    own = await book(client, practice, tomorrow_at(10, 30))
    childs = await book(client, practice, tomorrow_at(11), patient_id=child, headers=practice.reception)
    await book(client, practice, tomorrow_at(10), patient_id=stranger, headers=practice.reception)
    token = await code_of(client, practice, desk)

    choice = await scan(frozen, practice.patient, token)
    listed = {a["appointment_id"]: a["dependant"] for a in choice.json()["appointments"]}
    assert listed == {own: False, childs: True}  # not the stranger's
    everyone = await scan(frozen, practice.patient, token, all=True)
    assert everyone.status_code == 200, everyone.text
    assert {c["patient_id"] for c in everyone.json()["check_ins"]} == {str(practice.patient_id), child}
    async with database.engine.connect() as conn:
        scanned_by = (
            (await conn.execute(text("SELECT DISTINCT checked_in_by FROM check_ins"))).scalars().all()
        )
    assert scanned_by == [practice.patient_id]


async def test_a_dependants_visit_alone_is_checked_in_by_the_guardians_scan(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    child, child_headers = await _child(database, client, practice)
    await _link(client, practice, child)
    desk = await make_desk(client, practice)
    childs = await book(client, practice, tomorrow_at(10, 30), patient_id=child, headers=practice.reception)
    token = await code_of(client, practice, desk)
    scanned = await scan(frozen, practice.patient, token)
    assert [c["appointment_id"] for c in scanned.json()["check_ins"]] == [childs], scanned.text
    # the child's own scan finds it done
    child_scan = await scan(frozen, child_headers, token)
    assert child_scan.json()["code"] == "ALREADY_CHECKED_IN"
