"""Families through the real app: a patient's "My family" page lists their own dependants only;
reception links and unlinks dependants from the patient's desk page (audited), bad input is
said next to the field and changes nothing, a nurse is shown the service's refusal."""

from __future__ import annotations

import uuid

import pytest

from clinicflow.errors import NotFound
from clinicflow.identity import family
from clinicflow.identity.models import User
from clinicflow.identity.principal import Grant, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory, count_rows
from tests.web.staff import Browser, Day, clinic_day


@pytest.fixture
async def day(database: Database, make_client: ClientFactory) -> Day:
    return await clinic_day(database, make_client)


@pytest.fixture
async def reception(day: Day) -> User:
    return await day.person(Role.RECEPTIONIST, "Sam Rivera", clinic_id=day.clinic.id)


@pytest.fixture
async def desk(day: Day, reception: User) -> Browser:
    return await day.browser(reception)


async def _link(day: Day, guardian: User, dependant: User, relationship: str = "child") -> None:
    body = {"dependant_id": str(dependant.id), "relationship": relationship}
    linked = await day.api.post(f"/api/v1/patients/{guardian.id}/dependants", json=body, headers=day.admin)
    assert linked.status_code == 201, linked.text


async def _dependants(day: Day, guardian: User) -> list[str]:
    listed = await day.api.get(f"/api/v1/patients/{guardian.id}/dependants", headers=day.admin)
    assert listed.status_code == 200, listed.text
    return [str(item["dependant_id"]) for item in listed.json()["items"]]


async def test_my_family_lists_my_dependants_only(day: Day) -> None:
    kid = await day.person(Role.PATIENT, "Kit Jones")
    grandad = await day.person(Role.PATIENT, "Reg Jones")
    neighbour = await day.person(Role.PATIENT, "Nora Next")
    their_kid = await day.person(Role.PATIENT, "Ned Next")
    await _link(day, day.patient, kid)
    await _link(day, day.patient, grandad, "parent")
    await _link(day, neighbour, their_kid)
    patient = await day.browser(day.patient)
    page = await patient.get("/app/family")
    assert page.status_code == 200, page.text
    assert '<strong class="dependant">Kit Jones</strong> · My child' in page.text
    assert '<strong class="dependant">Reg Jones</strong> · My parent' in page.text
    assert "Ned Next" not in page.text
    assert '<a href="/app/family">My family</a>' in page.text
    spanish = await patient.client.get("/app/family", headers={"Accept-Language": "es"})
    assert "Mi familia" in spanish.text
    assert "Kit Jones</strong> · Mi hijo o hija" in spanish.text
    alone = await day.browser(their_kid)
    nobody = await alone.get("/app/family")
    assert nobody.status_code == 200
    assert "No one is linked to your account yet." in nobody.text
    assert "Kit Jones" not in nobody.text


async def test_my_family_is_for_patients_and_anonymous_visitors_sign_in(day: Day, desk: Browser) -> None:
    anonymous = day.make_client(clock=day.clock)
    response = await anonymous.get("/app/family")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fapp%2Ffamily")
    assert (await desk.get("/app/family")).status_code == 403


async def test_reception_links_and_unlinks_a_dependant(day: Day, desk: Browser, database: Database) -> None:
    kid = await day.person(Role.PATIENT, "Kit Jones")
    by_email = await desk.post(
        f"/desk/patients/{day.patient.id}/dependants",
        {"dependant": kid.email.upper(), "relationship": "child"},
    )
    assert by_email.status_code == 303, by_email.text
    assert by_email.headers["location"] == f"/desk/patients/{day.patient.id}?linked=1"
    assert await _dependants(day, day.patient) == [str(kid.id)]
    page = await desk.get(f"/desk/patients/{day.patient.id}", linked="1")
    assert "The dependant is linked." in page.text
    assert f'<a href="/desk/patients/{kid.id}">Kit Jones</a> · Child' in page.text
    theirs = await desk.get(f"/desk/patients/{kid.id}")
    assert f'<a href="/desk/patients/{day.patient.id}">Pat Jones</a> · Guardian (Child)' in theirs.text
    gran = await day.person(Role.PATIENT, "Gran Jones")
    by_id = await desk.post(
        f"/desk/patients/{day.patient.id}/dependants", {"dependant": str(gran.id), "relationship": "parent"}
    )
    assert by_id.status_code == 303, by_id.text
    assert sorted(await _dependants(day, day.patient)) == sorted([str(kid.id), str(gran.id)])
    gone = await desk.post(f"/desk/patients/{day.patient.id}/dependants/{kid.id}/unlink")
    assert gone.status_code == 303, gone.text
    assert gone.headers["location"] == f"/desk/patients/{day.patient.id}?unlinked=1"
    assert await _dependants(day, day.patient) == [str(gran.id)]
    trail = await day.api.get("/api/v1/audit-events", headers=day.admin)
    assert trail.status_code == 200, trail.text
    actions = [e["action"] for e in trail.json()["items"]]
    assert actions.count("guardian_link.created") == 2
    assert actions.count("guardian_link.removed") == 1
    again = await desk.post(f"/desk/patients/{day.patient.id}/dependants/{kid.id}/unlink")
    assert again.status_code == 404


async def test_bad_input_is_said_next_to_the_field_and_links_nothing(
    day: Day, desk: Browser, database: Database, reception: User
) -> None:
    kid = await day.person(Role.PATIENT, "Kit Jones")
    await _link(day, day.patient, kid)
    path = f"/desk/patients/{day.patient.id}/dependants"
    cases = {
        "nobody@example.test": "No patient has this email address or id",
        "not-an-id": "No patient has this email address or id",
        "": "No patient has this email address or id",
        str(day.patient.id): "a patient is not their own dependant",
        day.patient.email: "a patient is not their own dependant",
        reception.email: "no such patient",  # staff are not dependants
        kid.email: "This patient is already a dependant of this guardian",
    }
    for named, message in cases.items():
        refused = await desk.post(path, {"dependant": named, "relationship": "child"})
        assert refused.status_code in {409, 422}, (named, refused.status_code)
        assert f'id="dependant-error">{message}<' in refused.text, named
        assert f'value="{named}"' in refused.text
    unknown = await desk.post(path, {"dependant": str(day.doctor.id), "relationship": "cousin"})
    assert unknown.status_code == 422
    assert 'id="relationship-error">Choose what the dependant is to this patient<' in unknown.text
    assert await _dependants(day, day.patient) == [str(kid.id)]
    assert await count_rows(database, "patient_guardians") == 1


async def test_a_nurse_sees_the_rule_and_nothing_changes_without_the_token_or_elsewhere(
    day: Day, desk: Browser, database: Database, make_client: ClientFactory
) -> None:
    kid = await day.person(Role.PATIENT, "Kit Jones")
    path = f"/desk/patients/{day.patient.id}/dependants"
    nurse = await day.browser(await day.person(Role.NURSE, "Nia Nurse", clinic_id=day.clinic.id))
    page = await nurse.get(f"/desk/patients/{day.patient.id}")
    assert "Families are linked by reception." in page.text
    refused = await nurse.post(path, {"dependant": kid.email, "relationship": "child"})
    assert refused.status_code == 403
    assert "Families are linked by reception: you need the permission family:manage" in refused.text
    forged = await desk.post(path, {"dependant": kid.email, "relationship": "child"}, csrf=False)
    assert forged.status_code == 403
    patient = await day.browser(day.patient)
    assert (await patient.post(path, {"dependant": kid.email, "relationship": "child"})).status_code == 403
    assert await count_rows(database, "patient_guardians") == 0
    await _link(day, day.patient, kid)
    unforged = await desk.post(f"{path}/{kid.id}/unlink", csrf=False)
    assert unforged.status_code == 403
    assert (await nurse.post(f"{path}/{kid.id}/unlink")).status_code == 403
    other = await clinic_day(database, make_client)
    stranger = await other.person(Role.PATIENT, "Far Away")
    hidden = await desk.post(
        f"/desk/patients/{other.patient.id}/dependants",
        {"dependant": str(stranger.id), "relationship": "child"},
    )
    assert hidden.status_code == 404
    across = await desk.post(path, {"dependant": str(other.patient.id), "relationship": "child"})
    assert across.status_code == 422
    assert 'id="dependant-error">no such patient<' in across.text
    assert (
        await desk.post(f"/desk/patients/{other.patient.id}/dependants/{stranger.id}/unlink")
    ).status_code == 404
    assert await _dependants(day, day.patient) == [str(kid.id)]
    assert await count_rows(database, "patient_guardians") == 1


def _as(day: Day, user: User, role: Role) -> TenantPrincipal:
    grants = (Grant(role, None),)
    return TenantPrincipal(
        subject_id=user.id, tenant_id=day.tenant.id, session_id=uuid.uuid4(), grants=grants
    )


async def test_a_patients_guardians_are_read_by_the_patient_or_the_desk_only(
    day: Day, database: Database, reception: User
) -> None:
    kid = await day.person(Role.PATIENT, "Kit Jones")
    neighbour = await day.person(Role.PATIENT, "Nora Next")
    await _link(day, day.patient, kid)
    async with database.reading() as uow:
        for reader in (_as(day, kid, Role.PATIENT), _as(day, reception, Role.RECEPTIONIST)):
            found = await family.list_guardians(uow, reader, patient_id=kid.id)
            assert [(g.guardian_id, g.full_name, g.relationship.value) for g in found] == [
                (day.patient.id, "Pat Jones", "child")
            ]
        assert (
            await family.list_guardians(uow, _as(day, day.patient, Role.PATIENT), patient_id=day.patient.id)
            == []
        )
        with pytest.raises(NotFound):
            await family.list_guardians(uow, _as(day, neighbour, Role.PATIENT), patient_id=kid.id)
        with pytest.raises(NotFound):  # staff are nobody's dependants
            await family.list_guardians(uow, _as(day, reception, Role.RECEPTIONIST), patient_id=reception.id)
