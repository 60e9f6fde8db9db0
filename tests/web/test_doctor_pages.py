"""The doctor hub through the real app: my day, my hours, my time off, my waitlist, follow-ups."""

from __future__ import annotations

import re

import pytest

from clinicflow.identity.roles import Role
from clinicflow.platform.db import Database
from tests.conftest import ClientFactory, count_rows
from tests.web.staff import Day, at, clinic_day, sign_in


@pytest.fixture
async def day(database: Database, make_client: ClientFactory) -> Day:
    return await clinic_day(database, make_client)


async def test_my_day_is_a_timeline_of_my_visits_on_the_clinics_clock(day: Day) -> None:
    other_doctor = await day.person(Role.DOCTOR, "Dr Other", clinic_id=day.clinic.id)
    plan = {
        "clinic_id": str(day.clinic.id),
        "min_notice_minutes": 0,
        "rules": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(7)],
    }
    put = await day.api.put(f"/api/v1/doctors/{other_doctor.id}/availability", json=plan, headers=day.admin)
    assert put.status_code == 200, put.text
    early = await day.book(at(8, 30))
    await day.book(at(14))
    await day.book(at(15), doctor=other_doctor)  # not mine
    cancelled = await day.book(at(16))
    refused = await day.api.post(f"/api/v1/appointments/{cancelled['id']}/cancel", json={}, headers=day.admin)
    assert refused.status_code == 200, refused.text
    doctor = await day.browser(day.doctor)
    page = await doctor.get("/doctor")
    assert page.status_code == 200, page.text
    assert "Tuesday 04 June 2030" in page.text
    row = r'<li class="(visit|now)[^"]*"[^>]*>\s*<time datetime="2030-06-04T(\d\d:\d\d)'
    rows = re.findall(row, page.text)
    assert rows == [("visit", "08:30"), ("now", "09:00"), ("visit", "14:00"), ("visit", "16:00")]
    assert page.text.count("Pat Jones</strong>") == 3
    assert "15:00" not in page.text  # the other doctor's visit
    assert "Cancelled" in page.text
    assert "Scheduled" in page.text
    assert f'href="/doctor/appointments/{early["id"]}"' in page.text
    assert 'aria-current="date"' in page.text


async def test_the_week_navigation_moves_between_days_and_counts_their_visits(day: Day) -> None:
    await day.book(at(10, days=1))
    await day.book(at(11, days=1))
    doctor = await day.browser(day.doctor)
    today = await doctor.get("/doctor")
    assert 'href="?day=2030-06-05"' in today.text
    assert re.search(r'2030-06-05">\s*Wed 05\s*<span class="count">2 visits', today.text), today.text
    assert 'href="?day=2030-06-10"' in today.text  # next week's Monday
    wednesday = await doctor.get("/doctor", day="2030-06-05")
    assert wednesday.status_code == 200
    assert "Wednesday 05 June 2030" in wednesday.text
    assert wednesday.text.count("Pat Jones</strong>") == 2
    assert "Back to today" in wednesday.text
    assert 'class="now"' not in wednesday.text
    bad = await doctor.get("/doctor", day="next tuesday")
    assert bad.status_code == 422
    assert "That is not a day" in bad.text


async def test_the_hub_is_for_doctors_and_anonymous_visitors_sign_in_first(day: Day) -> None:
    anonymous = day.make_client(clock=day.clock)
    for path in ("/doctor", "/doctor/availability", "/doctor/waitlist"):
        response = await anonymous.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2Fdoctor")
    for role in (Role.NURSE, Role.RECEPTIONIST, Role.PATIENT, Role.TENANT_ADMIN):
        someone = await day.browser(await day.person(role, f"A {role}"))
        refused = await someone.get("/doctor")
        assert refused.status_code == 403, role
        assert "The doctor hub is for doctors" in refused.text, refused.text


async def test_signing_in_lands_each_role_in_its_app(day: Day) -> None:
    expected = {
        Role.DOCTOR: "/doctor",
        Role.NURSE: "/desk",
        Role.RECEPTIONIST: "/desk",
        Role.TENANT_ADMIN: "/admin",
        Role.CLINIC_ADMIN: "/admin",
        Role.PATIENT: "/app",
        Role.PHARMACIST: "/",
    }
    for role, landing in expected.items():
        user = await day.person(role, f"A {role}")
        response = await sign_in(day.make_client(clock=day.clock), day.tenant, user.email)
        assert response.status_code == 303
        assert response.headers["location"] == landing, role
    asked = await sign_in(
        day.make_client(clock=day.clock), day.tenant, day.doctor.email, next_path="/doctor/waitlist"
    )
    assert asked.headers["location"] == "/doctor/waitlist"


def _plan_form(version: str, rows: list[dict[str, str]], **extra: str) -> dict[str, str]:
    form = {
        "clinic_id": "",
        "version": version,
        "rule_count": str(len(rows)),
        "min_notice_minutes": "0",
        "horizon_days": "60",
        **extra,
    }
    for index, row in enumerate(rows):
        form.update({f"rules-{index}-{name}": value for name, value in row.items()})
    return form


async def test_the_planner_edits_adds_and_removes_weekly_windows(day: Day) -> None:
    doctor = await day.browser(day.doctor)
    page = await doctor.get("/doctor/availability")
    assert page.status_code == 200
    assert page.text.count('name="rules-') >= 7 * 4
    assert 'value="08:00"' in page.text
    assert "Europe/Berlin" in page.text
    version = re.search(r'name="version" value="([^"]+)"', page.text)
    assert version is not None
    rows = [{"weekday": str(d), "start": "08:00", "end": "18:00", "slot_minutes": "30"} for d in range(7)]
    rows[0]["slot_minutes"] = "20"  # edit Monday
    rows[6]["remove"] = "1"  # remove Sunday
    new = {"weekday": "5", "start": "19:00", "end": "21:00", "slot_minutes": "60"}  # a second Saturday window
    form = _plan_form(version.group(1), [*rows, new], clinic_id=str(day.clinic.id), rule_count="7")
    saved = await doctor.post("/doctor/availability", form)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/doctor/availability?clinic_id={day.clinic.id}&saved=1"
    plan = await day.availability()
    windows = sorted((r["weekday"], r["start"][:5], r["end"][:5], r["slot_minutes"]) for r in plan["rules"])
    assert windows == sorted(
        [
            (0, "08:00", "18:00", 20),
            (1, "08:00", "18:00", 30),
            (2, "08:00", "18:00", 30),
            (3, "08:00", "18:00", 30),
            (4, "08:00", "18:00", 30),
            (5, "08:00", "18:00", 30),
            (5, "19:00", "21:00", 60),
        ]
    )
    shown = await doctor.get(saved.headers["location"])
    assert "Your weekly hours are saved." in shown.text


async def test_bad_windows_are_shown_beside_their_fields_and_change_nothing(day: Day) -> None:
    doctor = await day.browser(day.doctor)
    page = await doctor.get("/doctor/availability")
    version = re.search(r'name="version" value="([^"]+)"', page.text)
    assert version is not None
    before = await day.availability()
    rows = [
        {"weekday": "0", "start": "09:00", "end": "09:00", "slot_minutes": "30"},
        {"weekday": "1", "start": "25:00", "end": "12:00", "slot_minutes": "2"},
    ]
    form = _plan_form(version.group(1), rows, clinic_id=str(day.clinic.id), horizon_days="0")
    refused = await doctor.post("/doctor/availability", form)
    assert refused.status_code == 422
    assert 'id="rules-0-error">a window needs a start and an end that differ<' in refused.text
    assert 'id="rules-1-start-error"' in refused.text
    assert 'id="rules-1-slot_minutes-error"' in refused.text
    assert 'id="horizon_days-error"' in refused.text
    assert 'id="rules-1-start" name="rules-1-start" type="time" value="25:00"' in refused.text  # kept
    assert await day.availability() == before


async def test_a_form_drawn_from_an_older_plan_is_refused(day: Day) -> None:
    doctor = await day.browser(day.doctor)
    page = await doctor.get("/doctor/availability")
    version = re.search(r'name="version" value="([^"]+)"', page.text)
    assert version is not None
    elsewhere = await day.api.put(
        f"/api/v1/doctors/{day.doctor.id}/availability",
        json={
            "clinic_id": str(day.clinic.id),
            "min_notice_minutes": 0,
            "rules": [{"weekday": 2, "start": "10:00", "end": "11:00"}],
        },
        headers=day.admin,
    )
    assert elsewhere.status_code == 200
    rows = [{"weekday": "0", "start": "09:00", "end": "12:00", "slot_minutes": "30"}]
    stale = await doctor.post(
        "/doctor/availability", _plan_form(version.group(1), rows, clinic_id=str(day.clinic.id))
    )
    assert stale.status_code == 409
    assert "changed elsewhere meanwhile" in stale.text
    assert 'value="10:00"' in stale.text  # drawn again from the current plan
    assert [r["weekday"] for r in (await day.availability())["rules"]] == [2]


async def test_planner_posts_without_the_form_token_are_refused(day: Day) -> None:
    doctor = await day.browser(day.doctor)
    before = await day.availability()
    rows = [{"weekday": "0", "start": "09:00", "end": "12:00", "slot_minutes": "30"}]
    refused = await doctor.post(
        "/doctor/availability", _plan_form("x", rows, clinic_id=str(day.clinic.id)), csrf=False
    )
    assert refused.status_code == 403
    assert "security token" in refused.text
    off = {"clinic_id": "", "from_date": "2030-06-10"}
    assert (await doctor.post("/doctor/time-off", off, csrf=False)).status_code == 403
    assert await day.availability() == before
    assert await count_rows(day.database, "time_off") == 0


async def test_another_clinic_is_not_mine_to_plan(day: Day, database: Database) -> None:
    from tests.factories import make_clinic

    elsewhere = await make_clinic(database, tenant_id=day.tenant.id)
    doctor = await day.browser(day.doctor)
    assert (await doctor.get("/doctor/availability", clinic_id=str(elsewhere.id))).status_code == 404
    rows = [{"weekday": "0", "start": "09:00", "end": "12:00", "slot_minutes": "30"}]
    page = await doctor.get("/doctor/availability")
    version = re.search(r'name="version" value="([^"]+)"', page.text)
    assert version is not None
    refused = await doctor.post("/doctor/availability", _plan_form("none", rows, clinic_id=str(elsewhere.id)))
    assert refused.status_code == 404
    assert await count_rows(database, "availability_plans") == 1


async def test_time_off_is_added_as_days_or_hours_and_deleted(day: Day) -> None:
    doctor = await day.browser(day.doctor)
    days = {
        "clinic_id": str(day.clinic.id),
        "from_date": "2030-06-10",
        "to_date": "2030-06-11",
        "reason": "Conference",
        "shown_clinic_id": str(day.clinic.id),
    }
    added = await doctor.post("/doctor/time-off", days)
    assert added.status_code == 303, added.text
    hours = {"clinic_id": "", "from_date": "2030-06-05", "start_time": "12:00", "end_time": "14:30"}
    assert (await doctor.post("/doctor/time-off", hours)).status_code == 303
    page = await doctor.get("/doctor/availability")
    assert "Mon 10 Jun 2030 00:00" in page.text
    assert "Wed 12 Jun 2030 00:00" in page.text
    assert "Conference" in page.text
    assert "Wed 05 Jun 2030 12:00" in page.text
    assert "Wed 05 Jun 2030 14:30" in page.text
    assert "every clinic" in page.text
    slots = await day.api.get(
        f"/api/v1/doctors/{day.doctor.id}/slots",
        params={"from": at(12, days=1).isoformat(), "to": at(15, 30, days=1).isoformat()},
        headers=day.admin,
    )
    assert [s["starts_at"][11:16] for s in slots.json()["items"]] == [
        "12:30",
        "13:00",
    ]  # UTC: 14:30, 15:00 Berlin
    ids = re.findall(r'action="/doctor/time-off/([0-9a-f-]+)/delete"', page.text)
    assert len(ids) == 2
    deleted = await doctor.post(f"/doctor/time-off/{ids[0]}/delete", {"shown_clinic_id": str(day.clinic.id)})
    assert deleted.status_code == 303
    assert await count_rows(day.database, "time_off") == 1


async def test_bad_time_off_shows_the_fields_error_and_adds_nothing(day: Day) -> None:
    doctor = await day.browser(day.doctor)
    cases = [
        ({"from_date": "2030-06-12", "to_date": "2030-06-10"}, "off-to_date-error"),
        ({"from_date": "12/06/2030"}, "off-from_date-error"),
        ({"from_date": ""}, "off-from_date-error"),
        ({"from_date": "2030-06-12", "start_time": "10:00"}, "off-end_time-error"),
        ({"from_date": "2030-06-12", "start_time": "10:00", "end_time": "09:00"}, "off-end_time-error"),
        ({"from_date": "2030-06-12", "reason": "x" * 600}, "off-reason-error"),
    ]
    for fields, error_id in cases:
        refused = await doctor.post("/doctor/time-off", {"clinic_id": str(day.clinic.id), **fields})
        assert refused.status_code == 422, fields
        assert f'id="{error_id}"' in refused.text, (fields, refused.text)
    assert await count_rows(day.database, "time_off") == 0


async def test_someone_elses_time_off_is_not_found(
    day: Day, database: Database, make_client: ClientFactory
) -> None:
    other = await clinic_day(database, make_client)
    theirs = await other.api.post(
        f"/api/v1/doctors/{other.doctor.id}/time-off",
        json={"clinic_id": str(other.clinic.id), "from_date": "2030-06-10", "to_date": "2030-06-10"},
        headers=other.admin,
    )
    assert theirs.status_code == 201
    colleague = await day.person(Role.DOCTOR, "Dr Colleague", clinic_id=day.clinic.id)
    mine = await day.api.post(
        f"/api/v1/doctors/{colleague.id}/time-off",
        json={"clinic_id": str(day.clinic.id), "from_date": "2030-06-10", "to_date": "2030-06-10"},
        headers=day.admin,
    )
    doctor = await day.browser(day.doctor)
    for target in (theirs.json()["id"], mine.json()["id"]):
        refused = await doctor.post(f"/doctor/time-off/{target}/delete")
        assert refused.status_code == 404
    assert await count_rows(database, "time_off") == 2


async def test_my_waitlist_lists_who_waits_for_me_in_priority_order(day: Day) -> None:
    urgent = await day.person(Role.PATIENT, "Uma Urgent")
    for patient, tier, doctor in ((day.patient, 0, day.doctor), (urgent, 3, None)):
        body = {
            "clinic_id": str(day.clinic.id),
            "patient_id": str(patient.id),
            "priority_tier": tier,
            "notes": f"note of {patient.full_name}",
        }
        if doctor is not None:
            body["doctor_id"] = str(doctor.id)
        joined = await day.api.post("/api/v1/waitlists", json=body, headers=day.admin)
        assert joined.status_code == 201, joined.text
    doctor = await day.browser(day.doctor)
    page = await doctor.get("/doctor/waitlist")
    assert page.status_code == 200
    assert page.text.index("Uma Urgent") < page.text.index("Pat Jones")
    assert "any doctor" in page.text
    assert "note of Pat Jones" in page.text


async def test_a_follow_up_is_planned_or_booked_from_a_visit(day: Day) -> None:
    visit = await day.book(at(10))
    doctor = await day.browser(day.doctor)
    page = await doctor.get(f"/doctor/appointments/{visit['id']}")
    assert page.status_code == 200
    assert "Pat Jones" in page.text
    assert "Tuesday 04 June 2030, 10:00" in page.text
    assert "Week of 03 Jun 2030" in page.text
    planned = await doctor.post(
        f"/doctor/appointments/{visit['id']}/follow-ups",
        {"due_from": "2030-07-01", "due_to": "2030-07-15", "notes": "check the results"},
    )
    assert planned.status_code == 303, planned.text
    assert "The follow-up is planned" in (await doctor.get(planned.headers["location"])).text
    assert await count_rows(day.database, "follow_up_plans") == 1
    slot = re.search(r'name="starts_at" value="(2030-06-05T[^"]+)"', page.text)
    assert slot is not None
    booked = await doctor.post(f"/doctor/appointments/{visit['id']}/follow-ups", {"starts_at": slot.group(1)})
    assert booked.status_code == 303, booked.text
    listed = await day.api.get(
        "/api/v1/appointments", params={"patient_id": str(day.patient.id)}, headers=day.admin
    )
    follow = [a for a in listed.json()["items"] if a["parent_id"] == visit["id"]]
    assert len(follow) == 1
    assert follow[0]["doctor_id"] == str(day.doctor.id)


async def test_a_bad_follow_up_shows_the_error_and_changes_nothing(day: Day) -> None:
    visit = await day.book(at(10))
    doctor = await day.browser(day.doctor)
    appointments = await count_rows(day.database, "appointments")
    backwards = await doctor.post(
        f"/doctor/appointments/{visit['id']}/follow-ups", {"due_from": "2030-07-15", "due_to": "2030-07-01"}
    )
    assert backwards.status_code == 422
    assert "due_to must not be before due_from" in backwards.text
    assert 'value="2030-07-15"' in backwards.text
    bad_day = await doctor.post(
        f"/doctor/appointments/{visit['id']}/follow-ups", {"due_from": "soon", "due_to": "later"}
    )
    assert bad_day.status_code == 422
    assert 'id="due_from-error"' in bad_day.text
    assert 'id="due_to-error"' in bad_day.text
    taken = await doctor.post(
        f"/doctor/appointments/{visit['id']}/follow-ups", {"starts_at": at(10).isoformat()}
    )
    assert taken.status_code == 409
    no_token = await doctor.post(
        f"/doctor/appointments/{visit['id']}/follow-ups",
        {"due_from": "2030-07-01", "due_to": "2030-07-15"},
        csrf=False,
    )
    assert no_token.status_code == 403
    assert await count_rows(day.database, "follow_up_plans") == 0
    assert await count_rows(day.database, "appointments") == appointments


async def test_another_tenants_visit_is_not_found(
    day: Day, database: Database, make_client: ClientFactory
) -> None:
    other = await clinic_day(database, make_client)
    theirs = await other.book(at(10))
    doctor = await day.browser(day.doctor)
    assert (await doctor.get(f"/doctor/appointments/{theirs['id']}")).status_code == 404
    refused = await doctor.post(
        f"/doctor/appointments/{theirs['id']}/follow-ups", {"due_from": "2030-07-01", "due_to": "2030-07-15"}
    )
    assert refused.status_code == 404
    assert await count_rows(database, "follow_up_plans") == 0
