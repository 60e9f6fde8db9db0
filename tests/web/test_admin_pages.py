"""The admin console (`/admin`) through the real app over HTTP, with real rows.

Each page renders for a tenant admin; a clinic admin sees and changes only their clinics
(another clinic is the 404 page, as in the API); a patient or doctor gets the 403 page; an
anonymous browser is sent to sign in; another tenant's clinic, location or user is the 404
page; bad input shows the field's message and changes nothing; a form without its CSRF
token is refused.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.identity import service as identity
from clinicflow.identity.principal import Grant, TenantPrincipal
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from clinicflow.platform.pagination import PageParams
from clinicflow.scheduling import policy_service as scheduling_policies
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.models import Clinic, Tenant
from clinicflow.tenancy.schemas import ClinicRead, LocationCreate, LocationRead
from clinicflow.waitlist import policies as waitlist_policies
from tests.conftest import ClientFactory, count_rows
from tests.factories import make_clinic, make_tenant, make_user
from tests.scheduling.conftest import make_practice, tomorrow_at
from tests.web.test_sessions import form_token, sign_in

SignIn = Callable[..., Awaitable[httpx.AsyncClient]]


@dataclass
class Org:
    """A tenant with two clinics (A with a location), its people, and another tenant."""

    tenant: Tenant
    a: Clinic
    b: Clinic
    location: uuid.UUID
    admin: uuid.UUID
    admin_email: str
    clinic_admin_email: str
    doctor: uuid.UUID
    doctor_email: str
    nurse_b: uuid.UUID
    patient_email: str
    other: Tenant
    other_clinic: Clinic
    other_location: uuid.UUID
    other_user: uuid.UUID


async def _location(database: Database, tenant_id: uuid.UUID, clinic_id: uuid.UUID, name: str) -> uuid.UUID:
    async with database.transaction() as uow:
        made = await tenancy.create_location(
            uow, tenant_id=tenant_id, data=LocationCreate(clinic_id=clinic_id, name=name)
        )
        return made.id


@pytest.fixture
async def org(database: Database) -> Org:
    tenant = await make_tenant(database)
    a = await make_clinic(database, tenant_id=tenant.id, slug="north")
    b = await make_clinic(database, tenant_id=tenant.id, slug="south")
    admin = await make_user(database, tenant_id=tenant.id, roles=(Role.TENANT_ADMIN,))
    clinic_admin = await make_user(database, tenant_id=tenant.id, roles=(Role.CLINIC_ADMIN,), clinic_id=a.id)
    doctor = await make_user(database, tenant_id=tenant.id, roles=(Role.DOCTOR,), clinic_id=a.id)
    async with database.transaction() as uow:
        await identity.add_staff_profile(
            uow, tenant_id=tenant.id, user_id=doctor.id, specialty="Dermatology", license_number="D-7"
        )
    nurse_b = await make_user(database, tenant_id=tenant.id, roles=(Role.NURSE,), clinic_id=b.id)
    patient = await make_user(database, tenant_id=tenant.id)
    other = await make_tenant(database)
    other_clinic = await make_clinic(database, tenant_id=other.id)
    other_user = await make_user(database, tenant_id=other.id, roles=(Role.NURSE,))
    return Org(
        tenant=tenant,
        a=a,
        b=b,
        location=await _location(database, tenant.id, a.id, "Front desk"),
        admin=admin.id,
        admin_email=admin.email,
        clinic_admin_email=clinic_admin.email,
        doctor=doctor.id,
        doctor_email=doctor.email,
        nurse_b=nurse_b.id,
        patient_email=patient.email,
        other=other,
        other_clinic=other_clinic,
        other_location=await _location(database, other.id, other_clinic.id, "Elsewhere"),
        other_user=other_user.id,
    )


@pytest.fixture
def signed_in(make_client: ClientFactory) -> SignIn:
    """A fresh browser signed in to the pages as the user with this email."""

    async def open_as(tenant: Tenant, email: str) -> httpx.AsyncClient:
        browser = make_client()
        response = await sign_in(browser, tenant, email)
        assert response.status_code == 303, response.text
        return browser

    return open_as


@pytest.fixture
async def admin(org: Org, signed_in: SignIn) -> httpx.AsyncClient:
    return await signed_in(org.tenant, org.admin_email)


@pytest.fixture
async def clinic_admin(org: Org, signed_in: SignIn) -> httpx.AsyncClient:
    return await signed_in(org.tenant, org.clinic_admin_email)


async def post_form(
    browser: httpx.AsyncClient, page: str, action: str, data: dict[str, Any]
) -> httpx.Response:
    """Open `page` (for its form token) and post `data` to `action`, as the page's form does."""
    opened = await browser.get(page)
    assert opened.status_code == 200, opened.text
    return await browser.post(action, data={"csrf_token": form_token(opened.text), **data})


def field_error(html: str, field: str) -> str:
    """The message shown next to a field (its `f-<field>-error` element)."""
    found = re.search(rf'id="f-{re.escape(field)}-error">([^<]*)<', html)
    assert found is not None, f"no error next to {field}"
    return found.group(1)


async def clinic_of(database: Database, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> ClinicRead | None:
    async with database.reading() as uow:
        clinic = await tenancy.get_clinic(uow, tenant_id=tenant_id, clinic_id=clinic_id)
        return None if clinic is None else ClinicRead.model_validate(clinic)


async def location_of(
    database: Database, tenant_id: uuid.UUID, location_id: uuid.UUID
) -> LocationRead | None:
    async with database.reading() as uow:
        found = await tenancy.get_location(uow, tenant_id=tenant_id, location_id=location_id)
        return None if found is None else LocationRead.model_validate(found)


async def audit_actions(database: Database, tenant_id: uuid.UUID) -> list[str]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT action FROM audit_events WHERE tenant_id = :t ORDER BY id"), {"t": tenant_id}
        )
        return [row[0] for row in rows]


CLINIC_FORM = {
    "name": "East Clinic",
    "slug": "east",
    "timezone": "Asia/Tokyo",
    "max_daily_appointments": "40",
}


# --- every page, for a tenant admin ---------------------------------------------------------


async def test_every_admin_page_renders_for_a_tenant_admin_with_real_data(
    org: Org, admin: httpx.AsyncClient
) -> None:
    pages = {
        "/admin": ["Clinics</a> (2)", "Doctors</a> (1)", "/admin/audit"],
        "/admin/clinics": ["north", "south", "Europe/Berlin", "Add a clinic"],
        "/admin/clinics/new": ['<option value="Europe/Berlin">', 'name="slug"'],
        f"/admin/clinics/{org.a.id}": ['value="north"', "Front desk", "Archive", "Add a location"],
        f"/admin/clinics/{org.a.id}/locations/new": ['name="latitude"', "Checkin desk"],
        f"/admin/locations/{org.location}": ['value="Front desk"', "Delete Front desk"],
        "/admin/users": [
            org.doctor_email,
            org.patient_email,
            "Doctor at Test Clinic",
            "Tenant admin (everywhere)",
        ],
        "/admin/users?role=DOCTOR": [org.doctor_email],
        "/admin/users/new": [
            'name="email"',
            "Everywhere (the whole organisation)",
            '<option value="TENANT_ADMIN">',
        ],
        f"/admin/users/{org.doctor}": ['value="Dermatology"', 'value="D-7"', "Save the roles", "Deactivate"],
        f"/admin/clinics/{org.a.id}/policies": ['value="1440"', 'name="priority_weights.wait_time"'],
        "/admin/audit": ["clinic.created", "location.created"],
    }
    for path, expected in pages.items():
        response = await admin.get(path)
        assert response.status_code == 200, f"{path}: {response.text}"
        assert response.headers["content-type"].startswith("text/html")
        for fragment in expected:
            assert fragment in response.text, f"{path} lacks {fragment!r}"
    doctors = await admin.get("/admin/users?role=DOCTOR")
    assert org.patient_email not in doctors.text


async def test_anonymous_browsers_are_sent_to_sign_in(make_client: ClientFactory, org: Org) -> None:
    browser = make_client()
    for path in ("/admin", f"/admin/clinics/{org.a.id}", "/admin/users", "/admin/audit"):
        response = await browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2Fadmin"), path


@pytest.mark.parametrize("who", ["patient", "doctor"])
async def test_patients_and_doctors_get_the_403_page(
    database: Database, org: Org, signed_in: SignIn, who: str
) -> None:
    browser = await signed_in(org.tenant, org.patient_email if who == "patient" else org.doctor_email)
    for path in ("/admin", "/admin/clinics", f"/admin/clinics/{org.a.id}", "/admin/users", "/admin/audit"):
        response = await browser.get(path)
        assert response.status_code == 403, path
        assert response.headers["content-type"].startswith("text/html")
        assert "You need the permission" in response.text
    token = form_token((await browser.get("/login")).text)
    refused = await browser.post(f"/admin/clinics/{org.a.id}", data={"csrf_token": token, **CLINIC_FORM})
    assert refused.status_code == 403
    assert (await clinic_of(database, org.tenant.id, org.a.id)).name == "Test Clinic"  # type: ignore[union-attr]


# --- clinics ----------------------------------------------------------------------------------


async def test_a_tenant_admin_creates_edits_and_archives_a_clinic(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    created = await post_form(admin, "/admin/clinics/new", "/admin/clinics", CLINIC_FORM)
    assert created.status_code == 303, created.text
    clinic_id = uuid.UUID(created.headers["location"].split("/")[3].split("?")[0])
    shown = await admin.get(created.headers["location"])
    assert "The clinic is created." in shown.text
    assert '<option value="Asia/Tokyo" selected>' in shown.text
    saved = await clinic_of(database, org.tenant.id, clinic_id)
    assert saved is not None
    assert (saved.timezone, saved.max_daily_appointments) == ("Asia/Tokyo", 40)
    edit = {**CLINIC_FORM, "name": "East Side", "max_concurrent_patients": "12", "city": "Osaka"}
    edited = await post_form(admin, f"/admin/clinics/{clinic_id}", f"/admin/clinics/{clinic_id}", edit)
    assert edited.status_code == 303
    saved = await clinic_of(database, org.tenant.id, clinic_id)
    assert saved is not None
    assert (saved.name, saved.max_concurrent_patients, saved.city) == ("East Side", 12, "Osaka")
    archived = await post_form(
        admin, f"/admin/clinics/{clinic_id}", f"/admin/clinics/{clinic_id}/archive", {}
    )
    assert archived.status_code == 303
    assert await clinic_of(database, org.tenant.id, clinic_id) is None
    listing = await admin.get(archived.headers["location"])
    assert "The clinic is archived" in listing.text
    assert "East Side" not in listing.text
    assert {"clinic.created", "clinic.updated", "clinic.archived"} <= set(
        await audit_actions(database, org.tenant.id)
    )


async def test_bad_clinic_input_shows_each_fields_error_and_changes_nothing(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    before = await count_rows(database, "clinics")
    bad = {"name": "", "slug": "Not A Slug", "timezone": "Mars/Olympus_Mons", "max_daily_appointments": "-3"}
    refused = await post_form(admin, "/admin/clinics/new", "/admin/clinics", bad)
    assert refused.status_code == 422
    assert "lowercase letters, digits and single dashes" in field_error(refused.text, "slug")
    assert "IANA time zone" in field_error(refused.text, "timezone")
    assert "greater than 0" in field_error(refused.text, "max_daily_appointments")
    assert field_error(refused.text, "name")
    assert 'value="Not A Slug"' in refused.text  # what was typed stays
    taken = await post_form(admin, "/admin/clinics/new", "/admin/clinics", {**CLINIC_FORM, "slug": "north"})
    assert taken.status_code == 409
    assert "slug exists" in field_error(taken.text, "slug")
    assert await count_rows(database, "clinics") == before
    page = f"/admin/clinics/{org.a.id}"
    edit = await post_form(admin, page, page, {**CLINIC_FORM, "timezone": "Europe/Nowhere"})
    assert edit.status_code == 422
    assert "IANA time zone" in field_error(edit.text, "timezone")
    saved = await clinic_of(database, org.tenant.id, org.a.id)
    assert saved is not None
    assert (saved.name, saved.timezone) == ("Test Clinic", "Europe/Berlin")


async def test_a_clinic_with_upcoming_appointments_is_not_archived_and_the_page_says_why(
    database: Database, client: httpx.AsyncClient, signed_in: SignIn
) -> None:
    practice = await make_practice(database, client)
    await practice.set_availability(client)
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(10)), headers=practice.patient
    )
    assert booked.status_code == 201, booked.text
    root = await make_user(database, tenant_id=practice.tenant.id, roles=(Role.TENANT_ADMIN,))
    browser = await signed_in(practice.tenant, root.email)
    page = f"/admin/clinics/{practice.clinic.id}"
    refused = await post_form(browser, page, f"{page}/archive", {})
    assert refused.status_code == 409
    assert "cannot be deleted" in refused.text
    assert await clinic_of(database, practice.tenant.id, practice.clinic.id) is not None


async def test_the_clinic_list_is_paginated_with_the_cursor(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    for n in range(55):
        await make_clinic(database, tenant_id=org.tenant.id, slug=f"branch-{n:02d}")
    first = await admin.get("/admin/clinics")
    found = re.search(r'href="(/admin/clinics\?cursor=[^"]+)" rel="next"', first.text)
    assert found is not None
    assert "branch-47" in first.text
    assert "branch-48" not in first.text
    second = await admin.get(found.group(1))
    assert second.status_code == 200
    assert "branch-48" in second.text
    assert "branch-54" in second.text
    assert 'rel="next"' not in second.text
    bad = await admin.get("/admin/clinics?cursor=not-a-cursor")
    assert bad.status_code == 422


async def test_parallel_posts_of_one_slug_make_one_clinic_and_the_rest_see_the_slug_taken(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    token = form_token((await admin.get("/admin/clinics/new")).text)
    form = {"csrf_token": token, **CLINIC_FORM, "slug": "same-slug"}
    answers = await asyncio.gather(*(admin.post("/admin/clinics", data=form) for _ in range(12)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [303] + [409] * 11
    assert all("slug exists" in field_error(a.text, "slug") for a in answers if a.status_code == 409)
    async with database.engine.connect() as conn:
        made = await conn.execute(
            text("SELECT count(*) FROM clinics WHERE tenant_id = :t AND slug = 'same-slug'"),
            {"t": org.tenant.id},
        )
        assert made.scalar_one() == 1


# --- locations --------------------------------------------------------------------------------


async def test_locations_are_added_edited_moved_and_deleted(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    new = f"/admin/clinics/{org.a.id}/locations/new"
    form = {"name": "Room 4", "kind": "room", "latitude": "52.52", "longitude": "13.405", "radius_m": "50"}
    added = await post_form(admin, new, f"/admin/clinics/{org.a.id}/locations", form)
    assert added.status_code == 303
    listed = await admin.get(added.headers["location"])
    assert "The location is added." in listed.text
    assert "Room 4" in listed.text
    async with database.reading() as uow:
        items, _ = await tenancy.list_locations(
            uow, tenant_id=org.tenant.id, clinic_id=org.a.id, page=PageParams()
        )
    room = next(item for item in items if item.name == "Room 4")
    assert room.radius_m == 50
    page = f"/admin/locations/{room.id}"
    moved = await post_form(
        admin, page, page, {"clinic_id": str(org.b.id), "name": "Room 4b", "kind": "room"}
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/admin/clinics/{org.b.id}?done=location-saved"
    saved = await location_of(database, org.tenant.id, room.id)
    assert saved is not None
    assert (saved.clinic_id, saved.name, saved.latitude) == (org.b.id, "Room 4b", None)
    deleted = await post_form(admin, page, f"{page}/delete", {})
    assert deleted.status_code == 303
    assert await location_of(database, org.tenant.id, room.id) is None


async def test_bad_location_input_shows_the_fields_error_and_changes_nothing(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    before = await count_rows(database, "clinic_locations")
    new = f"/admin/clinics/{org.a.id}/locations/new"
    action = f"/admin/clinics/{org.a.id}/locations"
    refused = await post_form(
        admin, new, action, {"name": "", "kind": "attic", "latitude": "123", "longitude": "1"}
    )
    assert refused.status_code == 422
    assert field_error(refused.text, "name")
    assert "less than or equal to 90" in field_error(refused.text, "latitude")
    assert field_error(refused.text, "kind")
    unpaired = await post_form(admin, new, action, {"name": "Roof", "latitude": "50"})
    assert unpaired.status_code == 422
    assert "Latitude and longitude go together" in unpaired.text
    assert await count_rows(database, "clinic_locations") == before
    page = f"/admin/locations/{org.location}"
    edit = await post_form(admin, page, page, {"clinic_id": str(org.a.id), "name": "x" * 300})
    assert edit.status_code == 422
    assert field_error(edit.text, "name")
    saved = await location_of(database, org.tenant.id, org.location)
    assert saved is not None
    assert saved.name == "Front desk"


# --- users and role grants --------------------------------------------------------------------


async def test_a_tenant_admin_creates_a_doctor_who_is_listed_among_the_doctors(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    form = {
        "full_name": "Dr Ada Quill",
        "email": "ada@example.test",
        "password": "a-long-enough-password",
        "role": "DOCTOR",
        "clinic_id": str(org.a.id),
        "specialty": "Cardiology",
    }
    created = await post_form(admin, "/admin/users/new", "/admin/users", form)
    assert created.status_code == 303, created.text
    page = await admin.get(created.headers["location"])
    assert "The user is created." in page.text
    assert 'value="Cardiology"' in page.text
    assert "Doctor at Test Clinic" in page.text
    doctors = await admin.get("/admin/users?role=DOCTOR")
    assert "Dr Ada Quill" in doctors.text
    assert "user.created" in await audit_actions(database, org.tenant.id)


async def test_bad_user_input_shows_each_fields_error_and_creates_nobody(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    before = await count_rows(database, "users")
    bad = {"full_name": "", "email": "not-an-email", "password": "short", "role": "", "clinic_id": ""}
    refused = await post_form(admin, "/admin/users/new", "/admin/users", bad)
    assert refused.status_code == 422
    assert field_error(refused.text, "email") == "must be an email address"
    assert "at least 10 characters" in field_error(refused.text, "password")
    assert field_error(refused.text, "role") == "Choose a role"
    assert field_error(refused.text, "full_name")
    taken = {
        "full_name": "Twin",
        "email": org.doctor_email.upper(),
        "role": "NURSE",
        "clinic_id": str(org.a.id),
    }
    conflict = await post_form(admin, "/admin/users/new", "/admin/users", taken)
    assert conflict.status_code == 409
    assert "email exists" in field_error(conflict.text, "email")
    everywhere = {"full_name": "P", "email": "p@example.test", "role": "PATIENT", "clinic_id": str(org.a.id)}
    scoped = await post_form(admin, "/admin/users/new", "/admin/users", everywhere)
    assert scoped.status_code == 422
    assert "PATIENT is tenant-wide" in field_error(scoped.text, "clinic_id")
    assert await count_rows(database, "users") == before


async def test_a_users_name_and_profile_are_edited_and_bad_input_changes_nothing(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    page = f"/admin/users/{org.doctor}"
    saved = await post_form(
        admin, page, page, {"full_name": "Dr Bo", "specialty": "Oncology", "license_number": ""}
    )
    assert saved.status_code == 303
    async with database.reading() as uow:
        read = await identity.get_user(uow, _principal_of(org), user_id=org.doctor)
    assert read.full_name == "Dr Bo"
    assert read.staff_profile is not None
    assert (read.staff_profile.specialty, read.staff_profile.license_number) == ("Oncology", None)
    refused = await post_form(admin, page, page, {"full_name": "", "specialty": "y" * 101})
    assert refused.status_code == 422
    assert field_error(refused.text, "full_name")
    assert "at most 100 characters" in field_error(refused.text, "specialty")
    async with database.reading() as uow:
        again = await identity.get_user(uow, _principal_of(org), user_id=org.doctor)
    assert again.full_name == "Dr Bo"


def _principal_of(org: Org) -> TenantPrincipal:
    """A tenant admin's principal, to read users back through identity's service."""
    return TenantPrincipal(
        subject_id=org.admin,
        tenant_id=org.tenant.id,
        session_id=uuid.uuid4(),
        grants=(Grant(Role.TENANT_ADMIN, None),),
    )


async def _grants(database: Database, org: Org, user_id: uuid.UUID) -> set[tuple[str, uuid.UUID | None]]:
    async with database.reading() as uow:
        read = await identity.get_user(uow, _principal_of(org), user_id=user_id)
    return {(g.role.value, g.clinic_id) for g in read.grants}


async def test_role_grants_are_added_and_removed_in_one_replacement(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    page = f"/admin/users/{org.nurse_b}"
    add = {"keep": f"NURSE@{org.b.id}", "add_role": "RECEPTIONIST", "add_clinic": str(org.a.id)}
    added = await post_form(admin, page, f"{page}/roles", add)
    assert added.status_code == 303, added.text
    assert await _grants(database, org, org.nurse_b) == {("NURSE", org.b.id), ("RECEPTIONIST", org.a.id)}
    shown = await admin.get(added.headers["location"])
    assert "The roles are saved" in shown.text
    assert f'value="RECEPTIONIST@{org.a.id}" checked' in shown.text
    dropped = await post_form(admin, page, f"{page}/roles", {"keep": f"RECEPTIONIST@{org.a.id}"})
    assert dropped.status_code == 303
    assert await _grants(database, org, org.nurse_b) == {("RECEPTIONIST", org.a.id)}
    assert "user.roles_changed" in await audit_actions(database, org.tenant.id)


async def test_a_bad_or_refused_grant_shows_why_changes_nothing_and_refusals_are_audited(
    database: Database, org: Org, admin: httpx.AsyncClient, clinic_admin: httpx.AsyncClient
) -> None:
    page = f"/admin/users/{org.nurse_b}"
    keep = {"keep": f"NURSE@{org.b.id}"}
    scoped = await post_form(
        admin, page, f"{page}/roles", {**keep, "add_role": "TENANT_ADMIN", "add_clinic": str(org.a.id)}
    )
    assert scoped.status_code == 422
    assert "TENANT_ADMIN is tenant-wide" in field_error(scoped.text, "add_clinic")
    unknown = await post_form(admin, page, f"{page}/roles", {**keep, "add_role": "WIZARD"})
    assert unknown.status_code == 422
    assert field_error(unknown.text, "add_role") == "Choose a role"
    doctor_page = f"/admin/users/{org.doctor}"
    above = await post_form(
        clinic_admin,
        doctor_page,
        f"{doctor_page}/roles",
        {"keep": f"DOCTOR@{org.a.id}", "add_role": "TENANT_ADMIN"},
    )
    assert above.status_code == 403
    assert "You may not grant TENANT_ADMIN" in above.text
    assert await _grants(database, org, org.nurse_b) == {("NURSE", org.b.id)}
    assert await _grants(database, org, org.doctor) == {("DOCTOR", org.a.id)}
    assert "user.roles_change_refused" in await audit_actions(database, org.tenant.id)
    own = f"/admin/users/{org.admin}"
    yourself = await post_form(
        admin, own, f"{own}/roles", {"keep": "TENANT_ADMIN@tenant", "add_role": "DOCTOR"}
    )
    assert yourself.status_code == 403
    assert "You cannot change your own roles" in yourself.text


async def test_a_deactivated_user_cannot_use_their_session_and_nobody_deactivates_themselves(
    database: Database, org: Org, admin: httpx.AsyncClient, signed_in: SignIn
) -> None:
    doctor = await signed_in(org.tenant, org.doctor_email)
    assert (await doctor.get("/")).status_code == 200
    page = f"/admin/users/{org.doctor}"
    done = await post_form(admin, page, f"{page}/deactivate", {})
    assert done.status_code == 303
    shown = await admin.get(done.headers["location"])
    assert "The user is deactivated" in shown.text
    assert "deactivated" in shown.text
    # The doctor's next page request finds their session ended (before any form check).
    ended = await doctor.post("/logout", data={"csrf_token": "x"})
    assert ended.status_code == 303
    assert ended.headers["location"].endswith("reason=ended")
    own = f"/admin/users/{org.admin}"
    yourself = await post_form(admin, own, f"{own}/deactivate", {})
    assert yourself.status_code == 403
    assert "You cannot deactivate yourself" in yourself.text
    async with database.reading() as uow:
        me = await identity.get_user(uow, _principal_of(org), user_id=org.admin)
    assert me.is_active


async def test_two_last_admins_deactivating_each_other_at_once_leave_one_admin(
    database: Database, org: Org, admin: httpx.AsyncClient, signed_in: SignIn
) -> None:
    second = await make_user(database, tenant_id=org.tenant.id, roles=(Role.TENANT_ADMIN,))
    other_admin = await signed_in(org.tenant, second.email)
    first_page = await admin.get(f"/admin/users/{second.id}")
    second_page = await other_admin.get(f"/admin/users/{org.admin}")
    answers = await asyncio.gather(
        admin.post(f"/admin/users/{second.id}/deactivate", data={"csrf_token": form_token(first_page.text)}),
        other_admin.post(
            f"/admin/users/{org.admin}/deactivate", data={"csrf_token": form_token(second_page.text)}
        ),
    )
    # The tenant's row lock orders them: one wins; the other is refused as the tenant's last
    # admin, or (when the winner committed first) finds its own session ended.
    won = [a for a in answers if a.status_code == 303 and a.headers["location"].endswith("done=deactivated")]
    assert len(won) == 1
    lost = next(a for a in answers if a is not won[0])
    if lost.status_code == 409:
        assert "last active administrator" in lost.text
    else:
        assert lost.status_code == 303
        assert lost.headers["location"].endswith("reason=ended")
    async with database.engine.connect() as conn:
        active = await conn.execute(
            text(
                "SELECT count(*) FROM users u JOIN role_grants g ON g.user_id = u.id"
                " WHERE u.tenant_id = :t AND u.is_active AND g.role = 'TENANT_ADMIN'"
            ),
            {"t": org.tenant.id},
        )
        assert active.scalar_one() == 1


# --- policies ---------------------------------------------------------------------------------


async def test_the_cancellation_policy_form_saves_and_bad_input_changes_nothing(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    page = f"/admin/clinics/{org.a.id}/policies"
    action = f"{page}/scheduling"
    saved = await post_form(
        admin, page, action, {"patient_cancel_cutoff_minutes": "90", "no_show_after_minutes": "10"}
    )
    assert saved.status_code == 303
    assert "The cancellation policy is saved." in (await admin.get(saved.headers["location"])).text
    refused = await post_form(
        admin, page, action, {"patient_cancel_cutoff_minutes": "-5", "no_show_after_minutes": "x"}
    )
    assert refused.status_code == 422
    assert "greater than or equal to 0" in field_error(refused.text, "patient_cancel_cutoff_minutes")
    assert "valid integer" in field_error(refused.text, "no_show_after_minutes")
    async with database.reading() as uow:
        policy = await scheduling_policies.get_policy(uow, tenant_id=org.tenant.id, clinic_id=org.a.id)
    assert (policy.patient_cancel_cutoff_minutes, policy.no_show_after_minutes) == (90, 10)


WAITLIST_FORM = {
    "max_queue_size": "80",
    "auto_expiry_hours": "48",
    "offer_response_minutes": "30",
    "quiet_hours_start": "21:00",
    "quiet_hours_end": "07:30",
    "priority_weights.wait_time": "2",
    "priority_weights.priority_tier": "10",
    "priority_weights.chronic_condition": "5",
    "priority_weights.window_fit": "1.5",
}


async def test_the_waitlist_policy_form_saves_and_bad_input_changes_nothing(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    page = f"/admin/clinics/{org.a.id}/policies"
    action = f"{page}/waitlist"
    saved = await post_form(admin, page, action, WAITLIST_FORM)  # auto_offer unticked
    assert saved.status_code == 303
    shown = await admin.get(saved.headers["location"])
    assert 'value="21:00"' in shown.text
    assert 'value="1.5"' in shown.text
    bad = {**WAITLIST_FORM, "max_queue_size": "0", "priority_weights.wait_time": "5000", "auto_offer": "on"}
    refused = await post_form(admin, page, action, bad)
    assert refused.status_code == 422
    assert "greater than or equal to 1" in field_error(refused.text, "max_queue_size")
    assert "less than or equal to 1000" in field_error(refused.text, "priority_weights-wait_time")
    unpaired = await post_form(admin, page, action, {**WAITLIST_FORM, "quiet_hours_end": ""})
    assert unpaired.status_code == 422
    assert "Quiet_hours_start and quiet_hours_end go together" in unpaired.text
    async with database.reading() as uow:
        policy = await waitlist_policies.policy_of(uow, tenant_id=org.tenant.id, clinic_id=org.a.id)
    assert (policy.max_queue_size, policy.auto_offer, policy.priority_weights.wait_time) == (80, False, 2.0)
    assert policy.quiet_hours_end is not None
    assert policy.quiet_hours_end.strftime("%H:%M") == "07:30"


# --- the audit trail --------------------------------------------------------------------------


async def test_the_audit_trail_filters_names_the_actor_and_pages(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    page = f"/admin/clinics/{org.a.id}"
    await post_form(admin, page, page, {**CLINIC_FORM, "slug": "north", "name": "North Star"})
    trail = await admin.get(
        "/admin/audit", params={"actor": org.admin_email.upper(), "action": "clinic.updated"}
    )
    assert trail.status_code == 200
    assert "Test User (" in trail.text
    assert org.admin_email in trail.text
    assert "name: Test Clinic → North Star" in trail.text
    assert f'href="/admin/clinics/{org.a.id}"' in trail.text
    assert "location.created" not in trail.text
    today = datetime.now(UTC).date()
    empty = await admin.get("/admin/audit", params={"until": (today - timedelta(days=1)).isoformat()})
    assert "No events match." in empty.text
    async with database.transaction() as uow:
        for n in range(51):
            await tenancy.create_location(
                uow, tenant_id=org.tenant.id, data=LocationCreate(clinic_id=org.b.id, name=f"Bay {n}")
            )
    first = await admin.get("/admin/audit", params={"subject_type": "location", "since": today.isoformat()})
    found = re.search(r'href="(/admin/audit\?[^"]+)" rel="next"', first.text)
    assert found is not None
    assert first.text.count("location.created") == 50
    second = await admin.get(found.group(1).replace("&amp;", "&"))
    assert second.text.count("location.created") == 2  # the fixture's and the last bay


async def test_bad_audit_filters_are_shown_next_to_their_field(org: Org, admin: httpx.AsyncClient) -> None:
    params = {"actor": "nobody@example.test", "subject_id": "xyz", "since": "2026-13-01"}
    refused = await admin.get("/admin/audit", params=params)
    assert refused.status_code == 422
    assert field_error(refused.text, "actor") == "no user has this email"
    assert "must be an id" in field_error(refused.text, "subject_id")
    assert "must be a day" in field_error(refused.text, "since")
    backwards = await admin.get("/admin/audit", params={"since": "2026-05-04", "until": "2026-05-01"})
    assert backwards.status_code == 422
    assert field_error(backwards.text, "until") == "must be after since"


# --- a clinic admin's scope -------------------------------------------------------------------


async def test_a_clinic_admin_sees_and_changes_only_their_clinic(
    database: Database, org: Org, clinic_admin: httpx.AsyncClient
) -> None:
    clinics = await clinic_admin.get("/admin/clinics")
    assert "north" in clinics.text
    assert "south" not in clinics.text
    assert "Add a clinic" not in clinics.text
    own = await clinic_admin.get(f"/admin/clinics/{org.a.id}")
    assert own.status_code == 200
    assert "Archive" not in own.text
    for path in (
        f"/admin/clinics/{org.b.id}",
        f"/admin/clinics/{org.b.id}/policies",
        f"/admin/clinics/{org.b.id}/locations/new",
        f"/admin/users/{org.nurse_b}",
    ):
        assert (await clinic_admin.get(path)).status_code == 404, path
    for path in ("/admin/clinics/new", "/admin/audit"):
        assert (await clinic_admin.get(path)).status_code == 403, path
    token = form_token(own.text)
    moved = await clinic_admin.post(f"/admin/clinics/{org.b.id}", data={"csrf_token": token, **CLINIC_FORM})
    assert moved.status_code == 404
    archived = await clinic_admin.post(f"/admin/clinics/{org.a.id}/archive", data={"csrf_token": token})
    assert archived.status_code == 403
    policy = await clinic_admin.post(
        f"/admin/clinics/{org.b.id}/policies/waitlist", data={"csrf_token": token, **WAITLIST_FORM}
    )
    assert policy.status_code == 404
    users = await clinic_admin.get("/admin/users")
    assert org.doctor_email in users.text
    assert org.patient_email in users.text
    new_user = await clinic_admin.get("/admin/users/new")
    assert "Everywhere" not in new_user.text
    assert '<option value="TENANT_ADMIN">' not in new_user.text
    saved = await clinic_of(database, org.tenant.id, org.b.id)
    assert saved is not None
    assert saved.name == "Test Clinic"
    assert await clinic_of(database, org.tenant.id, org.a.id) is not None


async def test_a_clinic_admin_edits_their_clinic_and_adds_staff_there(
    database: Database, org: Org, clinic_admin: httpx.AsyncClient
) -> None:
    page = f"/admin/clinics/{org.a.id}"
    edited = await post_form(clinic_admin, page, page, {**CLINIC_FORM, "slug": "north", "name": "North Wing"})
    assert edited.status_code == 303
    form = {
        "full_name": "Rita Desk",
        "email": "rita@example.test",
        "role": "RECEPTIONIST",
        "clinic_id": str(org.a.id),
    }
    created = await post_form(clinic_admin, "/admin/users/new", "/admin/users", form)
    assert created.status_code == 303, created.text
    elsewhere = {**form, "email": "rita2@example.test", "clinic_id": str(org.b.id)}
    refused = await post_form(clinic_admin, "/admin/users/new", "/admin/users", elsewhere)
    assert refused.status_code == 403
    assert "You may not grant RECEPTIONIST for this clinic" in field_error(refused.text, "role")
    assert "user.create_refused" in await audit_actions(database, org.tenant.id)
    saved = await clinic_of(database, org.tenant.id, org.a.id)
    assert saved is not None
    assert saved.name == "North Wing"


# --- another tenant's objects, and forms without their token --------------------------------


async def test_another_tenants_clinic_location_and_user_are_the_404_page(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    for path in (
        f"/admin/clinics/{org.other_clinic.id}",
        f"/admin/clinics/{org.other_clinic.id}/policies",
        f"/admin/clinics/{org.other_clinic.id}/locations/new",
        f"/admin/locations/{org.other_location}",
        f"/admin/users/{org.other_user}",
    ):
        response = await admin.get(path)
        assert response.status_code == 404, path
        assert "not found" in response.text
    token = form_token((await admin.get("/admin")).text)
    posts = {
        f"/admin/clinics/{org.other_clinic.id}": CLINIC_FORM,
        f"/admin/clinics/{org.other_clinic.id}/archive": {},
        f"/admin/clinics/{org.other_clinic.id}/locations": {"name": "Sneaky"},
        f"/admin/clinics/{org.other_clinic.id}/policies/scheduling": {
            "patient_cancel_cutoff_minutes": "1",
            "no_show_after_minutes": "1",
        },
        f"/admin/clinics/{org.other_clinic.id}/policies/waitlist": WAITLIST_FORM,
        f"/admin/locations/{org.other_location}": {"clinic_id": str(org.other_clinic.id), "name": "Sneaky"},
        f"/admin/locations/{org.other_location}/delete": {},
        f"/admin/users/{org.other_user}": {"full_name": "Sneaky"},
        f"/admin/users/{org.other_user}/deactivate": {},
        f"/admin/users/{org.other_user}/roles": {"add_role": "DOCTOR"},
    }
    for path, data in posts.items():
        response = await admin.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 404, path
    assert await clinic_of(database, org.other.id, org.other_clinic.id) is not None
    assert await location_of(database, org.other.id, org.other_location) is not None
    assert "Sneaky" not in str(await audit_actions(database, org.other.id))


async def test_forms_without_their_csrf_token_are_refused_and_change_nothing(
    database: Database, org: Org, admin: httpx.AsyncClient
) -> None:
    posts = {
        "/admin/clinics": CLINIC_FORM,
        f"/admin/clinics/{org.a.id}": {**CLINIC_FORM, "slug": "north"},
        f"/admin/clinics/{org.b.id}/archive": {},
        f"/admin/clinics/{org.a.id}/locations": {"name": "Forged"},
        f"/admin/locations/{org.location}/delete": {},
        "/admin/users": {"full_name": "F", "email": "f@example.test", "role": "NURSE"},
        f"/admin/users/{org.doctor}/deactivate": {},
        f"/admin/users/{org.doctor}/roles": {"add_role": "NURSE"},
        f"/admin/clinics/{org.a.id}/policies/scheduling": {"patient_cancel_cutoff_minutes": "1"},
    }
    await admin.get("/admin")  # the browser holds its CSRF cookie; the forms lack the token
    before = await audit_actions(database, org.tenant.id)
    for path, data in posts.items():
        missing = await admin.post(path, data=data)
        assert missing.status_code == 403, path
        assert "security token" in missing.text
        forged = await admin.post(path, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 403, path
    token = form_token((await admin.get("/admin")).text)
    cross = await admin.post(
        f"/admin/clinics/{org.b.id}/archive",
        data={"csrf_token": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    assert await audit_actions(database, org.tenant.id) == before
    assert await clinic_of(database, org.tenant.id, org.b.id) is not None
