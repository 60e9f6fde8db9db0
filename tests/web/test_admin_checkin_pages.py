"""The admin console's check-in pages through the real app: the clinic's check-in window form
(and a patient's scan honouring the new window at once), a location's check-in settings,
its printable QR page, its kiosk page, the button that opens the waiting-room display, and
the live operations overview on the console's home."""

from __future__ import annotations

import re
from typing import Any

import pytest

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory
from tests.web.staff import Browser, Day, at, clinic_day
from tests.web.test_visit_pages import code_of, make_desk

WINDOW = {
    "opens_before_minutes": "5",
    "closes_after_minutes": "45",
    "late_after_minutes": "10",
    "default_consult_minutes": "20",
}


@pytest.fixture
async def day(database: Database, make_client: ClientFactory) -> Day:
    return await clinic_day(database, make_client)


async def admin_browser(day: Day) -> Browser:
    return await day.browser(await day.person(Role.TENANT_ADMIN, "Ada Admin"))


async def window_of(day: Day) -> dict[str, Any]:
    read = await day.api.get(f"/api/v1/clinics/{day.clinic.id}/check-in-policy", headers=day.admin)
    assert read.status_code == 200, read.text
    found: dict[str, Any] = read.json()
    return found


async def test_the_check_in_window_form_saves_and_the_next_scan_follows_it(day: Day) -> None:
    admin = await admin_browser(day)
    path = f"/admin/clinics/{day.clinic.id}/policies"
    shown = await admin.get(path)
    assert shown.status_code == 200, shown.text
    assert "The check-in window is not here yet" not in shown.text
    assert 'action="/admin/clinics/' in shown.text
    assert re.search(r'name="opens_before_minutes" type="number" value="30"', shown.text), shown.text
    desk = await make_desk(day)
    token = await code_of(day, desk)
    await day.book(at(9, 30))
    day.clock.set(at(9, 10))  # 20 minutes before the visit
    saved = await admin.post(f"{path}/check-in", WINDOW)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"{path}?done=checkin"
    assert (await window_of(day))["opens_before_minutes"] == 5
    assert (await window_of(day))["default_consult_minutes"] == 20
    again = await admin.get(path, done="checkin")
    assert "The check-in window is saved" in again.text
    assert re.search(r'name="opens_before_minutes" type="number" value="5"', again.text)
    patient = await day.browser(day.patient)
    early = await patient.post("/app/check-in", {"t": token})
    assert early.status_code == 409, early.text
    assert 'data-code="TOO_EARLY"' in early.text
    assert "Check-in opens at 09:25." in early.text
    wider = await admin.post(f"{path}/check-in", {**WINDOW, "opens_before_minutes": "30"})
    assert wider.status_code == 303, wider.text
    done = await patient.post("/app/check-in", {"t": token})
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(f"/app/visit/{desk}")
    trail = await day.api.get(
        "/api/v1/audit-events", params={"action": "checkin_policy.updated"}, headers=day.admin
    )
    assert trail.status_code == 200, trail.text
    assert len(trail.json()["items"]) == 2


async def test_bad_input_shows_each_fields_error_and_changes_nothing(day: Day) -> None:
    admin = await admin_browser(day)
    path = f"/admin/clinics/{day.clinic.id}/policies"
    before = await window_of(day)
    bad = {**WINDOW, "opens_before_minutes": "-3", "default_consult_minutes": "0"}
    refused = await admin.post(f"{path}/check-in", bad)
    assert refused.status_code == 422, refused.text
    assert 'id="f-opens_before_minutes-error"' in refused.text
    assert 'id="f-default_consult_minutes-error"' in refused.text
    assert 'id="f-closes_after_minutes-error"' not in refused.text
    assert 'value="-3"' in refused.text  # what was typed stays in the form
    words = await admin.post(f"{path}/check-in", {**WINDOW, "closes_after_minutes": "soon"})
    assert words.status_code == 422
    assert 'id="f-closes_after_minutes-error"' in words.text
    assert await window_of(day) == before


async def test_the_window_form_needs_its_csrf_token_and_an_admin(
    day: Day, database: Database, make_client: ClientFactory
) -> None:
    admin = await admin_browser(day)
    path = f"/admin/clinics/{day.clinic.id}/policies/check-in"
    before = await window_of(day)
    forged = await admin.post(path, WINDOW, csrf=False)
    assert forged.status_code == 403, forged.text
    doctor = await day.browser(day.doctor)
    assert (await doctor.post(path, WINDOW)).status_code == 403
    anonymous = day.make_client(clock=day.clock)
    away = await anonymous.post(path, data=WINDOW)
    assert away.status_code in {303, 403}
    other = await clinic_day(database, make_client)
    foreign = await admin.post(f"/admin/clinics/{other.clinic.id}/policies/check-in", WINDOW)
    assert foreign.status_code == 404
    assert (await admin.get(f"/admin/clinics/{other.clinic.id}/policies")).status_code == 404
    assert await window_of(day) == before
