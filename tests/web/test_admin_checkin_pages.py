"""The admin console's check-in pages through the real app: the clinic's check-in window form
(and a patient's scan honouring the new window at once), a location's check-in settings,
its printable QR page, its kiosk page, the button that opens the waiting-room display, and
the live operations overview on the console's home."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from clinicflow.checkin import qr as codes
from clinicflow.checkin.qr import QrFormat
from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory
from tests.factories import bearer, login
from tests.web.staff import Browser, Day, at, clinic_day
from tests.web.test_display_pages import arrive
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


async def qr_url(day: Day, location_id: str) -> str:
    shown = await day.api.get(f"/api/v1/locations/{location_id}/qr-token", headers=day.admin)
    assert shown.status_code == 200, shown.text
    return str(shown.json()["url"])


async def test_a_location_page_sets_up_check_in_and_edits_its_settings(day: Day) -> None:
    admin = await admin_browser(day)
    place = {"clinic_id": str(day.clinic.id), "name": "Side entrance", "kind": "checkin_desk"}
    created = await day.api.post("/api/v1/clinic-locations", json=place, headers=day.admin)
    assert created.status_code == 201, created.text
    location_id = created.json()["id"]
    path = f"/admin/locations/{location_id}"
    before = await admin.get(path)
    assert before.status_code == 200, before.text
    assert "This location takes no check-ins yet." in before.text
    assert (await admin.get(f"{path}/qr/print")).status_code == 404
    form = {"enabled": "on", "qr_mode": "rotating", "rotation_seconds": "30", "ticket_prefix": "S"}
    taken = await admin.post(f"{path}/check-in", {**form, "geofence_mode": "off"})
    assert taken.status_code == 303, taken.text
    assert taken.headers["location"] == f"{path}?done=checkin-created"
    read = await day.api.get(f"/api/v1/appointments/check-in/locations/{location_id}", headers=day.admin)
    assert read.status_code == 200, read.text
    assert read.json()["qr_mode"] == "rotating"
    assert read.json()["rotation_seconds"] == 30
    after = await admin.get(path, done="checkin-created")
    assert "The location takes check-ins now." in after.text
    assert f'href="{path}/kiosk"' in after.text
    assert f'action="{path}/display"' in after.text
    bad = await admin.post(f"{path}/check-in", {**form, "rotation_seconds": "5", "ticket_prefix": "s1"})
    assert bad.status_code == 422, bad.text
    assert 'id="f-rotation_seconds-error"' in bad.text
    assert 'id="f-ticket_prefix-error"' in bad.text
    fence = await admin.post(f"{path}/check-in", {**form, "geofence_mode": "enforce"})
    assert fence.status_code == 422, fence.text  # neither a centre here nor on the location
    assert 'id="f-fence_latitude-error"' in fence.text
    unchanged = await day.api.get(f"/api/v1/appointments/check-in/locations/{location_id}", headers=day.admin)
    assert unchanged.json()["rotation_seconds"] == 30
    assert unchanged.json()["ticket_prefix"] == "S"
    assert (await admin.post(f"{path}/check-in", form, csrf=False)).status_code == 403


async def test_the_print_page_carries_the_locations_printed_code(day: Day) -> None:
    admin = await admin_browser(day)
    desk = await make_desk(day, "Main desk")
    printed = await admin.get(f"/admin/locations/{desk}/qr/print")
    assert printed.status_code == 200, printed.text
    url = await qr_url(day, desk)
    assert codes.render(url, QrFormat.SVG).decode() in printed.text  # check-in's own QR image
    assert "<svg" in printed.text
    assert "Main desk" in printed.text
    assert day.clinic.name in printed.text
    assert "Scan with your phone's camera to check in" in printed.text
    assert "@media print" in printed.text
    revoked = await admin.post(f"/admin/locations/{desk}/check-in/revoke")
    assert revoked.status_code == 303, revoked.text
    reprinted = await admin.get(f"/admin/locations/{desk}/qr/print")
    assert codes.render(url, QrFormat.SVG).decode() not in reprinted.text
    assert codes.render(await qr_url(day, desk), QrFormat.SVG).decode() in reprinted.text
    kiosk = await admin.get(f"/admin/locations/{desk}/kiosk")
    assert kiosk.status_code == 200
    assert "uses a printed code, not a kiosk screen" in kiosk.text
    assert "<svg" not in kiosk.text


async def test_the_kiosk_page_shows_the_rotating_code_and_keeps_up(day: Day) -> None:
    admin = await admin_browser(day)
    desk = await make_desk(day, "Kiosk desk")
    setup = {"enabled": "on", "qr_mode": "rotating", "rotation_seconds": "60", "ticket_prefix": "K"}
    assert (await admin.post(f"/admin/locations/{desk}/check-in", setup)).status_code == 303
    kiosk = await admin.get(f"/admin/locations/{desk}/kiosk")
    assert kiosk.status_code == 200, kiosk.text
    assert codes.render(await qr_url(day, desk), QrFormat.SVG).decode() in kiosk.text
    assert 'hx-trigger="every 30s"' in kiosk.text
    assert '<meta http-equiv="refresh" content="30">' in kiosk.text
    assert kiosk.headers["cache-control"] == "no-store"
    day.clock.set(day.clock.now() + timedelta(seconds=61))
    later = await admin.get(f"/admin/locations/{desk}/kiosk")
    assert codes.render(await qr_url(day, desk), QrFormat.SVG).decode() in later.text
    assert later.text != kiosk.text
    printed = await admin.get(f"/admin/locations/{desk}/qr/print")
    assert "a printed copy would stop working" in printed.text
    assert "<svg" not in printed.text


async def test_the_display_button_issues_a_token_and_opens_the_board(day: Day) -> None:
    admin = await admin_browser(day)
    desk = await make_desk(day)
    opened = await admin.post(f"/admin/locations/{desk}/display")
    assert opened.status_code == 303, opened.text
    target = opened.headers["location"]
    assert target.startswith(f"/display/{desk}?token=cfd1.")
    screen = day.make_client(clock=day.clock)
    board = await screen.get(target)
    assert board.status_code == 200, board.text
    assert "Now calling" in board.text
    assert (await admin.post(f"/admin/locations/{desk}/display", csrf=False)).status_code == 403


async def test_check_in_pages_refuse_strangers(
    day: Day, database: Database, make_client: ClientFactory
) -> None:
    desk = await make_desk(day)
    pages = [f"/admin/locations/{desk}/qr/print", f"/admin/locations/{desk}/kiosk"]
    anonymous = day.make_client(clock=day.clock)
    for path in pages:
        away = await anonymous.get(path)
        assert away.status_code == 303
        assert away.headers["location"].startswith("/login")
    doctor = await day.browser(day.doctor)
    for path in pages:
        assert (await doctor.get(path)).status_code == 403
    assert (await doctor.post(f"/admin/locations/{desk}/display")).status_code == 403
    other = await clinic_day(database, make_client)
    stranger = await admin_browser(other)
    for path in pages:
        assert (await stranger.get(path)).status_code == 404
    assert (await stranger.post(f"/admin/locations/{desk}/display")).status_code == 404
    settings = await stranger.post(f"/admin/locations/{desk}/check-in", {"qr_mode": "printed"})
    assert settings.status_code == 404


def tile(html: str, name: str) -> str:
    found = re.search(rf'<dd id="tile-{name}">([^<]*)</dd>', html)
    assert found is not None, html
    return found.group(1)


async def test_the_overview_counts_a_seeded_day(day: Day) -> None:
    desk = await make_desk(day)
    admin = await admin_browser(day)
    empty = await admin.get("/admin")
    assert empty.status_code == 200, empty.text
    assert tile(empty.text, "waiting") == "0"
    assert tile(empty.text, "average-wait") == "none called yet"
    assert tile(empty.text, "offers") == "0"
    people = [day.patient] + [await day.person(Role.PATIENT, f"Patient {n}") for n in range(3)]
    wide = {"opens_before_minutes": 120, "closes_after_minutes": 120}
    put = await day.api.put(f"/api/v1/clinics/{day.clinic.id}/check-in-policy", json=wide, headers=day.admin)
    assert put.status_code == 200, put.text
    for n, who in enumerate(people):  # all arrive now, for 09:00, 09:30, 10:00 and 10:30
        await arrive(day, desk, 9 + n // 2, 30 * (n % 2), patient=who)
    doctor = bearer(await login(day.api, tenant=day.tenant.slug, email=day.doctor.email))
    day.clock.set(at(9, 10))
    first = await day.api.post(f"/api/v1/queues/{desk}/call-next", headers=doctor)
    assert first.status_code == 200, first.text
    started = await day.api.post(
        f"/api/v1/queues/entries/{first.json()['check_in_id']}/start", headers=doctor
    )
    assert started.status_code == 200, started.text
    day.clock.set(at(9, 30))
    second = await day.api.post(f"/api/v1/queues/{desk}/call-next", headers=doctor)
    assert second.status_code == 200, second.text
    missed = await day.api.post(
        f"/api/v1/queues/entries/{second.json()['check_in_id']}/no-show", headers=doctor
    )
    assert missed.status_code == 200, missed.text
    board = await admin.get("/admin", clinic=str(day.clinic.id))
    assert board.status_code == 200, board.text
    assert tile(board.text, "waiting") == "2"
    assert tile(board.text, "in-consultation") == "1"
    assert tile(board.text, "called") == "0"
    assert tile(board.text, "average-wait") == "20 min"  # 10 and 30 minutes from arrival to call
    assert tile(board.text, "no-shows") == "1"
    channels = f"clinic:{day.clinic.id},queue:{desk}"
    assert f'sse-connect="/api/v1/events/stream?channels={channels}"' in board.text
    assert "sse:queue.updated" in board.text
    assert f'hx-get="/admin?clinic={day.clinic.id}"' in board.text


async def test_the_overview_is_for_admins_of_the_clinic(
    day: Day, database: Database, make_client: ClientFactory
) -> None:
    anonymous = day.make_client(clock=day.clock)
    away = await anonymous.get("/admin")
    assert away.status_code == 303
    assert away.headers["location"].startswith("/login")
    doctor = await day.browser(day.doctor)
    assert (await doctor.get("/admin")).status_code == 403
    other = await clinic_day(database, make_client)
    stranger = await admin_browser(other)
    foreign = await stranger.get("/admin", clinic=str(day.clinic.id))  # not theirs: their own clinic
    assert foreign.status_code == 200
    assert f"Today at {other.clinic.name}" in foreign.text
    assert str(day.clinic.id) not in foreign.text


async def test_the_overview_counts_open_waitlist_offers(day: Day) -> None:
    waiting = await day.person(Role.PATIENT, "Wendy Wait")
    join = {"clinic_id": str(day.clinic.id), "doctor_id": str(day.doctor.id), "patient_id": str(waiting.id)}
    joined = await day.api.post("/api/v1/waitlists", json=join, headers=day.admin)
    assert joined.status_code == 201, joined.text
    freed = await day.book(at(14))
    cancelled = await day.api.post(f"/api/v1/appointments/{freed['id']}/cancel", json={}, headers=day.admin)
    assert cancelled.status_code == 200, cancelled.text
    invited = await day.api.post(
        f"/api/v1/appointments/{freed['id']}/waitlist/invite", json={}, headers=day.admin
    )
    assert invited.status_code == 200, invited.text
    admin = await admin_browser(day)
    board = await admin.get("/admin")
    assert board.status_code == 200, board.text
    assert tile(board.text, "offers") == "1"
    assert "sse:waitlist.updated" in board.text
