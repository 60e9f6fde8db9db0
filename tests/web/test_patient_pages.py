"""The patient app's appointment, waitlist and profile pages, through the real app over HTTP.

Each page: it renders, bad input shows the field's message and changes nothing, a form
without its CSRF token is refused, another tenant's object is the 404 page, and an
anonymous browser is sent to sign in. The live stream accepts the page's cookie.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.extract import extract_from_file
from sqlalchemy import text

from clinicflow.identity import service as identity
from clinicflow.platform.clock import FrozenClock
from clinicflow.platform.db import Database
from clinicflow.scheduling import errors as scheduling_errors
from clinicflow.waitlist import errors as waitlist_errors
from clinicflow.web.patient_appointment import week_to_offer
from clinicflow.web.rendering import HERE, translations
from tests.conftest import ClientFactory
from tests.factories import bearer, login, make_user
from tests.scheduling.conftest import Practice, make_practice, tomorrow_at
from tests.web.test_sessions import form_token, sign_in


@dataclass
class Patient:
    """A patient with a profile, signed in to the pages (`browser`) and to the API (`api`)."""

    id: uuid.UUID
    email: str
    api: dict[str, str]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def browser(make_client: ClientFactory, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(clock=clock) as client:
        yield client


@pytest.fixture
async def practice(database: Database, browser: httpx.AsyncClient) -> Practice:
    p = await make_practice(database, browser)
    await p.set_availability(browser)
    return p


async def _patient(database: Database, browser: httpx.AsyncClient, practice: Practice) -> Patient:
    user = await make_user(database, tenant_id=practice.tenant.id)
    async with database.transaction() as uow:
        await identity.add_patient_profile(uow, tenant_id=practice.tenant.id, user_id=user.id)
    tokens = await login(browser, tenant=practice.tenant.slug, email=user.email)
    return Patient(user.id, user.email, bearer(tokens))


@pytest.fixture
async def patient(database: Database, browser: httpx.AsyncClient, practice: Practice) -> Patient:
    me = await _patient(database, browser, practice)
    signed_in = await sign_in(browser, practice.tenant, me.email)
    assert signed_in.status_code == 303, signed_in.text
    return me


async def _book(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient, hour: int, **extra: Any
) -> dict[str, Any]:
    booked = await browser.post(
        "/api/v1/appointments", json=practice.booking(tomorrow_at(hour), **extra), headers=patient.api
    )
    assert booked.status_code == 201, booked.text
    found: dict[str, Any] = booked.json()
    return found


async def _appointment(browser: httpx.AsyncClient, patient: Patient, appointment_id: str) -> dict[str, Any]:
    response = await browser.get(f"/api/v1/appointments/{appointment_id}", headers=patient.api)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _token(browser: httpx.AsyncClient, path: str) -> str:
    page = await browser.get(path)
    assert page.status_code == 200, page.text
    return form_token(page.text)


# --- the appointment page ----------------------------------------------------------------


async def test_the_appointment_page_shows_the_visit_the_video_link_and_the_calendar_file(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    visit = await _book(browser, practice, patient, 10, kind="video", reason="Rash on the arm")
    page = await browser.get(f"/app/appointments/{visit['id']}")
    assert page.status_code == 200
    assert "Appointment with Test User" in page.text
    assert "Rash on the arm" in page.text
    assert f'href="{visit["video_url"]}"' in page.text.replace("&amp;", "&")
    assert "Join the video visit" in page.text
    assert f'href="/app/appointments/{visit["id"]}.ics"' in page.text
    assert f'action="/app/appointments/{visit["id"]}/cancel"' in page.text
    assert "/reschedule" in page.text  # the doctor's free times, to move it to
    in_person = await _book(browser, practice, patient, 11)
    plain = await browser.get(f"/app/appointments/{in_person['id']}")
    assert "Join the video visit" not in plain.text
    home = await browser.get("/app")
    assert f'href="/app/appointments/{visit["id"]}"' in home.text


async def test_cancelling_with_a_reason_cancels_and_keeps_the_reason(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    visit = await _book(browser, practice, patient, 10)
    path = f"/app/appointments/{visit['id']}"
    token = await _token(browser, path)
    done = await browser.post(f"{path}/cancel", data={"csrf_token": token, "reason": "Feeling better"})
    assert done.status_code == 303
    assert done.headers["location"] == f"{path}?cancelled=1"
    after = await browser.get(done.headers["location"])
    assert "Your appointment is cancelled." in after.text
    assert "Feeling better" in after.text
    stored = await _appointment(browser, patient, visit["id"])
    assert (stored["status"], stored["cancel_reason"]) == ("cancelled", "Feeling better")


async def test_a_too_long_reason_is_shown_by_the_field_and_cancels_nothing(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    visit = await _book(browser, practice, patient, 10)
    path = f"/app/appointments/{visit['id']}"
    token = await _token(browser, path)
    refused = await browser.post(f"{path}/cancel", data={"csrf_token": token, "reason": "x" * 501})
    assert refused.status_code == 422
    assert 'id="reason-error">Keep the reason under 500 characters<' in refused.text
    assert 'aria-invalid="true" aria-describedby="reason-error"' in refused.text
    assert "x" * 501 in refused.text  # what was typed stays
    assert (await _appointment(browser, patient, visit["id"]))["status"] == "scheduled"


async def test_inside_the_cut_off_cancelling_is_refused_readably_and_changes_nothing(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    visit = await _book(browser, practice, patient, 10, kind="video")
    path = f"/app/appointments/{visit['id']}"
    token = await _token(browser, path)  # still open: the page offers the forms
    policy = await browser.put(
        f"/api/v1/clinics/{practice.clinic.id}/scheduling-policy",
        json={"patient_cancel_cutoff_minutes": 72 * 60},
        headers=practice.admin,
    )
    assert policy.status_code == 200, policy.text
    refused = await browser.post(f"{path}/cancel", data={"csrf_token": token, "reason": "Away"})
    assert refused.status_code == 409
    message = re.search(r'id="cancel-error">([^<]+)<', refused.text)
    assert message is not None, refused.text
    assert message.group(1) == (
        "It is too late to cancel online; please call the clinic "
        "Online changes close 72 hours before the visit."
    )
    moved = await browser.post(f"{path}/reschedule", data={"csrf_token": token, "starts_at": tomorrow_at(14)})
    assert moved.status_code == 409
    assert 'id="reschedule-error">It is too late' in moved.text
    stored = await _appointment(browser, patient, visit["id"])
    assert (stored["status"], stored["starts_at"]) == ("scheduled", visit["starts_at"])
    later = await browser.get(path)
    assert "/cancel" not in later.text
    assert "To cancel or move it now, please call the clinic." in later.text
    assert "Join the video visit" in later.text  # the visit itself goes on


@pytest.mark.parametrize(
    ("starts_at", "monday"),
    [
        ("2026-12-07T09:00:00+00:00", "2026-12-07"),  # a Monday visit: its own week
        ("2026-12-13T23:30:00+00:00", "2026-12-14"),  # Sunday night in UTC is Monday in Berlin
        ("2026-12-06T10:00:00+00:00", "2026-11-30"),  # a Sunday visit: the week it ends
    ],
)
def test_the_page_offers_the_week_of_the_visit_whatever_day_it_is_today(starts_at: str, monday: str) -> None:
    """Seen on a Sunday, a Monday visit offered the week ending that Sunday (nothing left in
    it): the suite failed every Sunday."""
    assert week_to_offer(datetime.fromisoformat(starts_at), "Europe/Berlin").isoformat() == monday


async def test_moving_to_another_free_time_of_the_same_doctor(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    visit = await _book(browser, practice, patient, 10)
    path = f"/app/appointments/{visit['id']}"
    page = await browser.get(path)
    offered = re.findall(r'name="starts_at" value="([^"]+)"', page.text)
    new_time = tomorrow_at(15)
    assert new_time.isoformat() in offered or new_time.astimezone(UTC).isoformat() in offered
    token = form_token(page.text)
    moved = await browser.post(f"{path}/reschedule", data={"csrf_token": token, "starts_at": new_time})
    assert moved.status_code == 303
    assert moved.headers["location"] == f"{path}?rescheduled=1"
    stored = await _appointment(browser, patient, visit["id"])
    assert datetime.fromisoformat(stored["starts_at"]) == new_time


async def test_a_bad_or_taken_time_is_shown_by_the_move_form_and_moves_nothing(
    browser: httpx.AsyncClient, database: Database, practice: Practice, patient: Patient
) -> None:
    visit = await _book(browser, practice, patient, 10)
    other = await _patient(database, browser, practice)
    await _book(browser, practice, other, 12)
    path = f"/app/appointments/{visit['id']}"
    token = await _token(browser, path)
    garbage = await browser.post(f"{path}/reschedule", data={"csrf_token": token, "starts_at": "soon"})
    assert garbage.status_code == 422
    assert 'id="reschedule-error">Check the fields marked below<' in garbage.text
    taken = await browser.post(f"{path}/reschedule", data={"csrf_token": token, "starts_at": tomorrow_at(12)})
    assert taken.status_code == 409
    assert 'id="reschedule-error">This time is no longer available<' in taken.text
    assert (await _appointment(browser, patient, visit["id"]))["starts_at"] == visit["starts_at"]


async def test_forms_without_their_csrf_token_are_refused_and_change_nothing(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    visit = await _book(browser, practice, patient, 10)
    path = f"/app/appointments/{visit['id']}"
    await browser.get(path)  # the browser has its CSRF cookie; the forms below lack the token
    for action, form in (
        (f"{path}/cancel", {"reason": "x"}),
        (f"{path}/reschedule", {"starts_at": tomorrow_at(15).isoformat()}),
        ("/app/waitlists", {"clinic_id": str(practice.clinic.id), "doctor_id": str(practice.doctor_id)}),
        ("/app/profile", {"full_name": "Someone Else"}),
    ):
        refused = await browser.post(action, data=form)
        assert refused.status_code == 403, action
        assert "security token" in refused.text, action
    stored = await _appointment(browser, patient, visit["id"])
    assert (stored["status"], stored["starts_at"]) == ("scheduled", visit["starts_at"])
    mine = await browser.get(f"/api/v1/patients/{patient.id}/waitlists", headers=patient.api)
    assert mine.json()["items"] == []
    me = await browser.get("/api/v1/users/me", headers=patient.api)
    assert me.json()["full_name"] == "Test User"


async def test_another_tenants_appointment_or_entry_is_the_not_found_page(
    browser: httpx.AsyncClient, database: Database, practice: Practice, patient: Patient
) -> None:
    elsewhere = await make_practice(database, browser)
    await elsewhere.set_availability(browser)
    foreign = await browser.post(
        "/api/v1/appointments", json=elsewhere.booking(tomorrow_at(10)), headers=elsewhere.patient
    )
    assert foreign.status_code == 201, foreign.text
    entry = await browser.post(
        "/api/v1/waitlists", json={"clinic_id": str(elsewhere.clinic.id)}, headers=elsewhere.patient
    )
    assert entry.status_code == 201, entry.text
    appointment_id, entry_id = foreign.json()["id"], entry.json()["id"]
    token = await _token(browser, "/app/profile")
    for method, path in (
        ("GET", f"/app/appointments/{appointment_id}"),
        ("POST", f"/app/appointments/{appointment_id}/cancel"),
        ("POST", f"/app/appointments/{appointment_id}/reschedule"),
        ("POST", f"/app/waitlists/{entry_id}/accept"),
        ("POST", f"/app/waitlists/{entry_id}/decline"),
        ("POST", f"/app/waitlists/{entry_id}/leave"),
    ):
        data = {"csrf_token": token, "starts_at": tomorrow_at(11).isoformat()} if method == "POST" else None
        response = await browser.request(method, path, data=data)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "not found" in response.text, path
    still = await browser.get(f"/api/v1/appointments/{appointment_id}", headers=elsewhere.patient)
    assert still.json()["status"] == "scheduled"


async def test_anonymous_browsers_are_sent_to_sign_in(browser: httpx.AsyncClient) -> None:
    some = uuid.uuid4()
    for path in (f"/app/appointments/{some}", "/app/waitlists", "/app/profile"):
        response = await browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=" + path.replace("/", "%2F")), path


# --- the waitlist ---------------------------------------------------------------------------


async def _join(browser: httpx.AsyncClient, practice: Practice, **fields: Any) -> httpx.Response:
    token = await _token(browser, f"/app/doctors/{practice.doctor_id}")
    form = {"csrf_token": token, "clinic_id": str(practice.clinic.id), "doctor_id": str(practice.doctor_id)}
    return await browser.post("/app/waitlists", data={**form, **fields})


async def _entries(browser: httpx.AsyncClient, patient: Patient) -> list[dict[str, Any]]:
    response = await browser.get(f"/api/v1/patients/{patient.id}/waitlists", headers=patient.api)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_joining_from_the_doctors_page_lists_the_entry_and_publishes_it_live(
    browser: httpx.AsyncClient, database: Database, practice: Practice, patient: Patient
) -> None:
    doctor_page = await browser.get(f"/app/doctors/{practice.doctor_id}")
    assert "Nothing fits? Join the waitlist" in doctor_page.text
    joined = await _join(browser, practice, weekdays=["0", "2"], day_parts=["morning"], notes="Mornings")
    assert joined.status_code == 303
    assert joined.headers["location"] == "/app/waitlists?joined=1"
    (entry,) = await _entries(browser, patient)
    assert (entry["doctor_id"], entry["status"]) == (str(practice.doctor_id), "active")
    assert entry["window"]["weekdays"] == [0, 2]
    assert entry["window"]["day_parts"] == ["morning"]
    page = await browser.get(joined.headers["location"])
    assert "You are on the waitlist." in page.text
    assert "No time is free yet." in page.text
    assert f'sse-connect="/api/v1/events/stream?channels=patient:{patient.id}"' in page.text
    assert 'hx-trigger="sse:waitlist.updated, sse:reset"' in page.text
    async with database.engine.connect() as conn:
        published = (
            (
                await conn.execute(
                    text("SELECT data->>'change' FROM realtime_events WHERE channel = :c AND type = :t"),
                    {"c": f"patient:{patient.id}", "t": "waitlist.updated"},
                )
            )
            .scalars()
            .all()
        )
    assert published == ["waitlist.joined"]


async def test_bad_or_repeated_joins_show_the_fields_error_and_add_nothing(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    backwards = await _join(browser, practice, date_from="2031-05-10", date_to="2031-05-01")
    assert backwards.status_code == 422
    assert 'id="date_to-error">The last day is before the first one<' in backwards.text
    assert 'value="2031-05-10"' in backwards.text  # what was typed stays
    bad_day = await _join(browser, practice, weekdays=["9"])
    assert bad_day.status_code == 422
    assert 'id="weekdays-error">Tick days of the week only<' in bad_day.text
    assert await _entries(browser, patient) == []
    assert (await _join(browser, practice)).status_code == 303
    again = await _join(browser, practice)
    assert again.status_code == 409
    assert 'id="join-error">The patient is already waiting for this clinic and doctor<' in again.text
    assert len(await _entries(browser, patient)) == 1


async def _offer(
    browser: httpx.AsyncClient, database: Database, practice: Practice, patient: Patient
) -> tuple[dict[str, Any], str]:
    """The patient waits for the doctor; another patient's 10:00 is cancelled and offered."""
    assert (await _join(browser, practice)).status_code == 303
    other = await _patient(database, browser, practice)
    freed = await _book(browser, practice, other, 10)
    cancelled = await browser.post(f"/api/v1/appointments/{freed['id']}/cancel", headers=practice.admin)
    assert cancelled.status_code == 200, cancelled.text
    invited = await browser.post(
        f"/api/v1/appointments/{freed['id']}/waitlist/invite", json={}, headers=practice.admin
    )
    assert invited.status_code == 200, invited.text
    (entry,) = await _entries(browser, patient)
    assert entry["status"] == "invited"
    return entry, await _token(browser, "/app/waitlists")


async def test_an_offer_shows_its_time_and_countdown_and_accepting_books_it(
    browser: httpx.AsyncClient, database: Database, practice: Practice, patient: Patient, clock: FrozenClock
) -> None:
    entry, token = await _offer(browser, database, practice, patient)
    clock.set(clock.now() + timedelta(minutes=7, seconds=30))
    page = await browser.get("/app/waitlists")
    assert "A time is held for you" in page.text
    deadline = datetime.fromisoformat(entry["respond_by"])
    left = int((deadline - clock.now()).total_seconds())
    assert f'data-seconds-left="{left}"' in page.text
    hours, minutes, seconds = left // 3600, left % 3600 // 60, left % 60
    shown = f"{hours} h {minutes} min {seconds} s left" if hours else f"{minutes} min {seconds} s left"
    assert shown in page.text
    assert 'role="timer"' in page.text
    assert '<script src="/static/patient.js" defer></script>' in page.text
    accepted = await browser.post(f"/app/waitlists/{entry['id']}/accept", data={"csrf_token": token})
    assert accepted.status_code == 303
    (after,) = await _entries(browser, patient)
    assert after["status"] == "promoted"
    target = f"/app/appointments/{after['promoted_appointment_id']}?accepted=1"
    assert accepted.headers["location"] == target
    booked = await browser.get(target)
    assert "You took the offered time" in booked.text
    assert "Scheduled" in booked.text


async def test_declining_keeps_the_patient_waiting_and_a_late_answer_is_refused(
    browser: httpx.AsyncClient, database: Database, practice: Practice, patient: Patient, clock: FrozenClock
) -> None:
    # Ten minutes to answer: the page session (30 minutes idle) outlives the deadline.
    policy = await browser.put(
        f"/api/v1/tenants/{practice.tenant.id}/clinics/{practice.clinic.id}/waitlist-policy",
        json={"offer_response_minutes": 10},
        headers=practice.admin,
    )
    assert policy.status_code == 200, policy.text
    entry, token = await _offer(browser, database, practice, patient)
    clock.set(datetime.fromisoformat(entry["respond_by"]) + timedelta(seconds=1))
    late = await browser.post(f"/app/waitlists/{entry['id']}/accept", data={"csrf_token": token})
    assert late.status_code == 409
    assert f'id="entry-{entry["id"]}-error">The time to answer this offer has passed<' in late.text
    assert "Time is up" in late.text
    assert (await _entries(browser, patient))[0]["status"] == "invited"
    declined = await browser.post(f"/app/waitlists/{entry['id']}/decline", data={"csrf_token": token})
    assert declined.status_code == 303
    assert declined.headers["location"] == "/app/waitlists?declined=1"
    assert (await _entries(browser, patient))[0]["status"] == "active"
    left = await browser.post(f"/app/waitlists/{entry['id']}/leave", data={"csrf_token": token})
    assert left.status_code == 303
    assert (await _entries(browser, patient))[0]["status"] == "cancelled"
    assert left.headers["location"] == "/app/waitlists?left=1"
    history = await browser.get(left.headers["location"])
    assert "You left the waitlist." in history.text
    assert "Earlier" in history.text


async def test_another_patients_entry_cannot_be_answered(
    browser: httpx.AsyncClient, database: Database, practice: Practice, patient: Patient
) -> None:
    other = await _patient(database, browser, practice)
    theirs = await browser.post(
        "/api/v1/waitlists", json={"clinic_id": str(practice.clinic.id)}, headers=other.api
    )
    assert theirs.status_code == 201, theirs.text
    token = await _token(browser, "/app/waitlists")
    for action in ("accept", "decline", "leave"):
        path = f"/app/waitlists/{theirs.json()['id']}/{action}"
        response = await browser.post(path, data={"csrf_token": token})
        assert response.status_code == 404, action
    assert (await _entries(browser, other))[0]["status"] == "active"


# --- the profile ----------------------------------------------------------------------------


async def test_the_profile_saves_name_phone_and_language(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    page = await browser.get("/app/profile")
    assert page.status_code == 200
    assert f'value="{patient.email}" readonly' in page.text
    form = {"csrf_token": form_token(page.text), "full_name": "Ana María", "phone": "+34 600 123 456"}
    saved = await browser.post("/app/profile", data={**form, "preferred_language": "es"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/app/profile?saved=1"
    assert browser.cookies["lang"] == "es"
    me = (await browser.get("/api/v1/users/me", headers=patient.api)).json()
    assert me["full_name"] == "Ana María"
    assert me["patient_profile"]["phone"] == "+34 600 123 456"
    assert me["patient_profile"]["preferred_language"] == "es"
    spanish = await browser.get("/app/profile?saved=1")
    assert "Su perfil está guardado." in spanish.text
    cleared = await browser.post("/app/profile", data={**form, "phone": "", "preferred_language": ""})
    assert cleared.status_code == 303
    me = (await browser.get("/api/v1/users/me", headers=patient.api)).json()
    assert me["patient_profile"]["phone"] is None


async def test_a_bad_phone_or_empty_name_is_shown_by_its_field_and_saves_nothing(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    token = await _token(browser, "/app/profile")
    bad = await browser.post(
        "/app/profile",
        data={"csrf_token": token, "full_name": "", "phone": "call me", "preferred_language": "klingon!"},
    )
    assert bad.status_code == 422
    assert 'id="full_name-error">Enter your name (at most 200 characters)<' in bad.text
    assert 'id="phone-error">Enter a phone number' in bad.text
    assert 'id="preferred_language-error">Choose a language from the list<' in bad.text
    assert 'value="call me"' in bad.text
    me = (await browser.get("/api/v1/users/me", headers=patient.api)).json()
    assert (me["full_name"], me["patient_profile"]["phone"]) == ("Test User", None)


# --- live updates and language ----------------------------------------------------------------


async def test_the_event_stream_accepts_the_pages_session_cookie(
    browser: httpx.AsyncClient, make_client: ClientFactory, practice: Practice, patient: Patient
) -> None:
    """In process the app has no hub: a stream that passes authentication and the channel
    check answers 503; without a usable cookie it is 401, another patient's channel 403."""
    own = {"channels": f"patient:{patient.id}"}
    assert (await browser.get("/api/v1/events/stream", params=own)).status_code == 503
    foreign = {"channels": f"patient:{practice.patient_id}"}
    assert (await browser.get("/api/v1/events/stream", params=foreign)).status_code == 403
    cross = await browser.get("/api/v1/events/stream", params=own, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 401
    async with make_client() as anonymous:
        assert (await anonymous.get("/api/v1/events/stream", params=own)).status_code == 401
        anonymous.cookies.set("cf_session", "forged.value")
        assert (await anonymous.get("/api/v1/events/stream", params=own)).status_code == 401


async def test_the_patient_pages_speak_spanish(
    browser: httpx.AsyncClient, practice: Practice, patient: Patient
) -> None:
    visit = await _book(browser, practice, patient, 10)
    spanish = {"Accept-Language": "es-ES,es;q=0.9"}
    waitlists = await browser.get("/app/waitlists", headers=spanish)
    assert "Mis listas de espera" in waitlists.text
    detail = await browser.get(f"/app/appointments/{visit['id']}", headers=spanish)
    assert "Cancelar esta cita" in detail.text
    assert "Añadir al calendario" in detail.text
    doctor = await browser.get(f"/app/doctors/{practice.doctor_id}", headers=spanish)
    assert "Apuntarme a la lista de espera" in doctor.text


#: Errors the patient pages show by their title.
SHOWN_ERRORS = (
    scheduling_errors.CancellationTooLate,
    scheduling_errors.SlotUnavailable,
    scheduling_errors.InvalidTransition,
    scheduling_errors.OutsideAvailability,
    scheduling_errors.InThePast,
    scheduling_errors.InsideMinimumNotice,
    scheduling_errors.BeyondHorizon,
    waitlist_errors.WaitlistDuplicate,
    waitlist_errors.WaitlistFull,
    waitlist_errors.OfferExpired,
    waitlist_errors.OfferNotPending,
    waitlist_errors.EntryClosed,
)


#: The staff apps (doctor hub, front desk, admin console) and the front door are English only:
#: the second locale is the patient app's (issue 14).
ENGLISH_ONLY_TEMPLATES = ("home.html", "doctor", "desk", "admin")
ENGLISH_ONLY_MODULES = ("doctor", "desk", "admin", "landing")


def test_every_string_of_the_pages_has_a_spanish_translation() -> None:
    """The patient app's strings: templates' `_()`, the page modules' `_()`/`N_()` messages,
    and the errors' titles."""
    found: dict[str, str] = {}
    for template in sorted((HERE / "templates").rglob("*.html")):
        if template.relative_to(HERE / "templates").parts[0] in ENGLISH_ONLY_TEMPLATES:
            continue
        for _, message, _, _ in extract_from_file("jinja2", str(template), keywords={"_": None}):
            found.setdefault(str(message), template.name)
    for module in sorted(HERE.glob("*.py")):
        if module.stem.startswith(ENGLISH_ONLY_MODULES):
            continue
        for _, message, _, _ in extract_from_file("python", str(module), keywords={"_": None, "N_": None}):
            found.setdefault(str(message), module.name)
    for error in SHOWN_ERRORS:
        found.setdefault(error.title, error.__name__)
    spanish = translations("es")
    missing = {message: where for message, where in found.items() if spanish.gettext(message) == message}
    assert missing == {}
    assert len(found) > 100
    assert Path(HERE / "locale" / "es" / "LC_MESSAGES" / "messages.po").exists()
