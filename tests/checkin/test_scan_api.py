"""A patient scans a location's QR code: every answer of `POST /appointments/check-in/scan-qr`.

Time is the app's clock (`frozen`: tomorrow 10:05 in Berlin unless a test moves it); the
window edges are driven one second either side of both ends across a DST change.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from clinicflow.config import Settings
from clinicflow.identity.roles import Role
from clinicflow.platform.clock import FrozenClock
from clinicflow.platform.db import Database
from tests.checkin.conftest import book, code_of, make_desk, scan
from tests.conftest import ClientFactory, count_rows
from tests.factories import make_member
from tests.scheduling.conftest import Practice, make_practice, tomorrow_at

BERLIN_HALL = ("52.520008", "13.404954")
#: ~1.1 km north of BERLIN_HALL; ~40 m east of it.
FAR = {"latitude": 52.530008, "longitude": 13.404954}
NEAR = {"latitude": 52.520008, "longitude": 13.405550}


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def status_of(client: httpx.AsyncClient, practice: Practice, appointment_id: str) -> str:
    shown = await client.get(f"/api/v1/appointments/{appointment_id}", headers=practice.admin)
    return str(shown.json()["status"])


async def set_window(client: httpx.AsyncClient, practice: Practice, **minutes: int) -> None:
    put = await client.put(
        f"/api/v1/clinics/{practice.clinic.id}/check-in-policy", json=minutes, headers=practice.admin
    )
    assert put.status_code == 200, put.text


async def test_a_scan_checks_the_visit_in_with_a_ticket_audit_and_event(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    desk = await make_desk(client, practice, ticket_prefix="R")
    appointment = await book(client, practice, tomorrow_at(10, 30))

    scanned = await scan(frozen, practice.patient, await code_of(client, practice, desk))

    assert scanned.status_code == 200, scanned.text
    body = scanned.json()
    assert body["status"] == "checked_in"
    (check_in,) = body["check_ins"]
    assert (check_in["appointment_id"], check_in["location_id"]) == (appointment, desk)
    assert (check_in["ticket"], check_in["method"], check_in["late"]) == ("R-001", "qr", False)
    assert check_in["checked_in_at"] == tomorrow_at(10, 5).astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert await status_of(client, practice, appointment) == "checked_in"
    async with database.engine.connect() as conn:
        by, audit, events = (
            await conn.execute(
                text(
                    "SELECT (SELECT checked_in_by FROM check_ins),"
                    " (SELECT details->>'method' FROM audit_events"
                    "  WHERE action = 'appointment.check_in' AND subject_id = :a),"
                    " (SELECT array_agg(type ORDER BY id) FROM realtime_events WHERE tenant_id = :t)"
                ),
                {"a": uuid.UUID(appointment), "t": practice.tenant.id},
            )
        ).one()
    assert (by, audit) == (practice.patient_id, "qr")
    assert {"queue.updated", "appointment.updated"} <= set(events)


async def test_no_appointment_today_is_not_found(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    later = await book(client, practice, tomorrow_at(10, 30, days=2))  # the day after
    cancelled = await book(client, practice, tomorrow_at(11))
    gone = await client.post(f"/api/v1/appointments/{cancelled}/cancel", headers=practice.patient)
    assert gone.status_code == 200, gone.text
    body = problem(
        await scan(frozen, practice.patient, await code_of(client, practice, desk)),
        404,
        "NO_APPOINTMENT_FOUND",
    )
    assert body["status"] == 404
    # Neither the other day's visit nor the cancelled one was touched.
    assert (await status_of(client, practice, later), await status_of(client, practice, cancelled)) == (
        "scheduled",
        "cancelled",
    )


async def test_a_visit_at_another_location_says_where(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    front = await make_desk(client, practice, name="Front desk")
    wing = await make_desk(client, practice, name="East wing")
    rules = [{"weekday": d, "start": "08:00", "end": "18:00", "location_id": wing} for d in range(7)]
    await practice.set_availability(client, rules=rules)
    appointment = await book(client, practice, tomorrow_at(10, 30))

    body = problem(
        await scan(frozen, practice.patient, await code_of(client, practice, front)), 409, "WRONG_LOCATION"
    )
    assert (body["appointment_id"], body["location_id"], body["location_name"]) == (
        appointment,
        wing,
        "East wing",
    )
    assert await status_of(client, practice, appointment) == "scheduled"
    assert (await scan(frozen, practice.patient, await code_of(client, practice, wing))).status_code == 200


async def test_a_visit_at_the_clinic_at_large_checks_in_at_any_of_its_desks(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    await make_desk(client, practice, name="Front desk")
    side = await make_desk(client, practice, name="Side door")
    await book(client, practice, tomorrow_at(10, 30))  # no location: the clinic at large
    scanned = await scan(frozen, practice.patient, await code_of(client, practice, side))
    assert scanned.json()["check_ins"][0]["location_id"] == side


async def test_too_early_says_from_when_and_too_late_is_expired(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, clock: FrozenClock, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    await book(client, practice, tomorrow_at(11))
    token = await code_of(client, practice, desk)

    early = problem(await scan(frozen, practice.patient, token), 409, "TOO_EARLY")
    assert early["opens_at"] == tomorrow_at(10, 30).isoformat()
    clock.set(tomorrow_at(13, 0) + timedelta(seconds=1))
    late = problem(await scan(frozen, practice.patient, token), 409, "APPOINTMENT_EXPIRED")
    assert late["closed_at"] == tomorrow_at(13).isoformat()


async def test_a_second_scan_shows_the_existing_check_in(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    await book(client, practice, tomorrow_at(10, 30))
    token = await code_of(client, practice, desk)
    first = await scan(frozen, practice.patient, token)
    again = problem(await scan(frozen, practice.patient, token), 409, "ALREADY_CHECKED_IN")
    assert again["check_in"]["id"] == first.json()["check_ins"][0]["id"]
    assert again["check_in"]["ticket"] == "A-001"


async def test_a_disabled_desk_takes_no_check_ins(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    desk = await make_desk(client, practice, enabled=False)
    await book(client, practice, tomorrow_at(10, 30))
    problem(
        await scan(frozen, practice.patient, await code_of(client, practice, desk)), 409, "CHECK_IN_DISABLED"
    )
    assert await count_rows(database, "check_ins") == 0


async def test_an_enforced_geofence_refuses_a_scan_from_afar_or_without_a_position(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    desk = await make_desk(client, practice, coordinates=BERLIN_HALL, geofence_mode="enforce", radius_m=200)
    appointment = await book(client, practice, tomorrow_at(10, 30))
    token = await code_of(client, practice, desk)

    far = problem(await scan(frozen, practice.patient, token, **FAR), 403, "OUTSIDE_GEOFENCE")
    assert (far["radius_m"], far["position_missing"]) == (200, False)
    assert 1100 <= far["distance_m"] <= 1120
    blind = problem(await scan(frozen, practice.patient, token), 403, "OUTSIDE_GEOFENCE")
    assert blind["position_missing"] is True
    assert await count_rows(database, "check_ins") == 0
    assert await status_of(client, practice, appointment) == "scheduled"

    near = await scan(frozen, practice.patient, token, **NEAR)
    assert near.status_code == 200, near.text
    check_in = near.json()["check_ins"][0]
    assert (check_in["outside_geofence"], 35 <= check_in["distance_m"] <= 45) == (False, True)


async def test_a_warning_geofence_checks_in_from_afar_and_flags_it(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice, coordinates=BERLIN_HALL, geofence_mode="warn", radius_m=200)
    await book(client, practice, tomorrow_at(10, 30))
    scanned = await scan(frozen, practice.patient, await code_of(client, practice, desk), **FAR)
    assert scanned.status_code == 200, scanned.text
    check_in = scanned.json()["check_ins"][0]
    assert check_in["outside_geofence"] is True
    assert 1100 <= check_in["distance_m"] <= 1120


async def test_tampered_and_unknown_codes_are_invalid(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    visit = await book(client, practice, tomorrow_at(10, 30))
    token = await code_of(client, practice, desk)
    prefix, kid, payload, signature = token.split(".")
    forged = [
        f"{prefix}.{kid}.{payload[:-2]}{'AB' if payload[-2:] != 'AB' else 'CD'}.{signature}",
        f"{prefix}.{kid}.{payload}.{signature[::-1]}",
        f"{prefix}.9.{payload}.{signature}",
        "not a code at all",
    ]
    codes = [
        problem(await scan(frozen, practice.patient, bad), 422, "QR_CODE_INVALID")["code"] for bad in forged
    ]
    assert codes == ["QR_CODE_INVALID"] * len(forged)
    assert await status_of(client, practice, visit) == "scheduled"  # nothing was checked in
    removed = await client.delete(f"/api/v1/appointments/check-in/locations/{desk}", headers=practice.admin)
    assert removed.status_code == 204, removed.text
    body = problem(await scan(frozen, practice.patient, token), 422, "QR_CODE_INVALID")  # no longer a desk
    assert body["status"] == 422
    assert await status_of(client, practice, visit) == "scheduled"


async def test_several_open_visits_are_listed_then_the_chosen_ones_checked_in(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    await set_window(client, practice, opens_before_minutes=120)
    desk = await make_desk(client, practice)
    first, second, third = [
        await book(client, practice, tomorrow_at(h, m)) for h, m in ((10, 30), (11, 0), (11, 30))
    ]
    token = await code_of(client, practice, desk)

    choice = await scan(frozen, practice.patient, token)
    assert choice.status_code == 200, choice.text
    assert choice.json()["status"] == "choose"
    listed = choice.json()["appointments"]
    assert [a["appointment_id"] for a in listed] == [first, second, third]
    assert all(a["dependant"] is False for a in listed)
    assert await count_rows(database, "check_ins") == 0

    one = await scan(frozen, practice.patient, token, appointment_ids=[second])
    assert [c["appointment_id"] for c in one.json()["check_ins"]] == [second]
    rest = await scan(frozen, practice.patient, token, all=True)
    assert [c["appointment_id"] for c in rest.json()["check_ins"]] == [first, third]
    assert [c["ticket"] for c in rest.json()["check_ins"]] == ["A-002", "A-003"]
    problem(await scan(frozen, practice.patient, token, appointment_ids=[first]), 409, "ALREADY_CHECKED_IN")


async def test_a_chosen_visit_that_is_not_open_gets_its_own_refusal(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    open_now, later = (
        await book(client, practice, tomorrow_at(10, 30)),
        await book(client, practice, tomorrow_at(15)),
    )
    token = await code_of(client, practice, desk)
    problem(await scan(frozen, practice.patient, token, appointment_ids=[open_now, later]), 409, "TOO_EARLY")
    problem(
        await scan(frozen, practice.patient, token, appointment_ids=[str(uuid.uuid4())]),
        404,
        "NO_APPOINTMENT_FOUND",
    )
    assert await count_rows(database, "check_ins") == 0  # one refusal: nothing of the scan happened
    single = await scan(frozen, practice.patient, token)  # only one is open: no choice needed
    assert [c["appointment_id"] for c in single.json()["check_ins"]] == [open_now]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": ""},
        {"token": "x" * 201},
        {"token": "t", "latitude": 52.5},
        {"token": "t", "latitude": 91, "longitude": 0},
        {"token": "t", "all": True, "appointment_ids": [str(uuid.uuid4())]},
        {"token": "t", "appointment_ids": []},
        {"token": "t", "appointment_ids": ["not-a-uuid"]},
        {"token": "t", "patient_id": str(uuid.uuid4())},
    ],
)
async def test_bad_scans_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    frozen: httpx.AsyncClient,
    database: Database,
    practice: Practice,
    body: dict[str, Any],
) -> None:
    await book(client, practice, tomorrow_at(10, 30))
    refused = await frozen.post("/api/v1/appointments/check-in/scan-qr", json=body, headers=practice.patient)
    problem(refused, 422, "VALIDATION_FAILED")
    assert await count_rows(database, "check_ins") == 0


async def test_only_patients_scan(
    client: httpx.AsyncClient, frozen: httpx.AsyncClient, practice: Practice
) -> None:
    desk = await make_desk(client, practice)
    token = await code_of(client, practice, desk)
    assert (await scan(frozen, {}, token)).status_code == 401
    for staff in (practice.doctor, practice.reception, practice.admin):
        problem(await scan(frozen, staff, token), 403, "FORBIDDEN")


async def test_scans_are_rate_limited_per_patient_and_per_location(
    client: httpx.AsyncClient,
    make_client: ClientFactory,
    clock: FrozenClock,
    database: Database,
    practice: Practice,
    settings: Settings,
) -> None:
    desk = await make_desk(client, practice)
    token = await code_of(client, practice, desk)
    tight = settings.model_copy(
        update={"checkin_rate_per_patient": "3/minute", "checkin_rate_per_location": "5/minute"}
    )
    limited = make_client(settings_override=tight, clock=clock)
    for _ in range(3):
        problem(await scan(limited, practice.patient, token), 404, "NO_APPOINTMENT_FOUND")
    refused = await scan(limited, practice.patient, token)
    problem(refused, 429, "RATE_LIMIT_EXCEEDED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60

    others = [
        (await make_member(database, client, tenant=practice.tenant, role=Role.PATIENT))[1] for _ in range(3)
    ]
    answers = [(await scan(limited, headers, token)).status_code for headers in others]
    assert answers == [404, 404, 429]  # the location's 5 a minute: 3 from the first patient, 2 here
    garbage = await scan(limited, others[0], "cq1.1.forged.code")  # a forged code counts for nobody's door
    problem(garbage, 422, "QR_CODE_INVALID")


async def test_fifty_parallel_scans_of_one_visit_make_one_check_in(
    client: httpx.AsyncClient,
    make_client: ClientFactory,
    clock: FrozenClock,
    database: Database,
    practice: Practice,
    settings: Settings,
) -> None:
    desk = await make_desk(client, practice)
    appointment = await book(client, practice, tomorrow_at(10, 30))
    token = await code_of(client, practice, desk)
    roomy = make_client(
        settings_override=settings.model_copy(update={"checkin_rate_per_patient": "1000/minute"}), clock=clock
    )

    answers = await asyncio.gather(*(scan(roomy, practice.patient, token) for _ in range(50)))

    codes = sorted((a.status_code, a.json().get("code")) for a in answers)
    assert codes == [(200, None)] + [(409, "ALREADY_CHECKED_IN")] * 49
    winner = next(a for a in answers if a.status_code == 200).json()["check_ins"][0]
    assert {a.json()["check_in"]["id"] for a in answers if a.status_code == 409} == {winner["id"]}
    assert await count_rows(database, "check_ins") == 1
    async with database.engine.connect() as conn:
        audits = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM audit_events"
                    " WHERE action = 'appointment.check_in' AND subject_id = :a"
                ),
                {"a": uuid.UUID(appointment)},
            )
        ).scalar_one()
    assert audits == 1


# --- the window's edges, across a DST change, through HTTP -----------------------------------

#: Berlin falls back on 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC).
FALL_BACK_DAY = datetime(2026, 10, 25, tzinfo=UTC)


async def test_the_window_edges_one_second_either_side_across_a_dst_change(
    database: Database, make_client: ClientFactory
) -> None:
    clock = FrozenClock(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))  # the day before: bookable
    app = make_client(clock=clock)
    practice = await make_practice(database, app)
    await practice.set_availability(
        app, rules=[{"weekday": 6, "start": "00:00", "end": "12:00", "slot_minutes": 30}]
    )
    await set_window(app, practice, opens_before_minutes=120, closes_after_minutes=120)
    desk = await make_desk(app, practice)
    token = await code_of(app, practice, desk)
    # 03:30 CET is 02:30 UTC; 120 real minutes before is 00:30 UTC = 02:30 CEST, the first
    # 02:30 of the day (wall-clock arithmetic would say 01:30, an hour early).
    first = await book(app, practice, datetime(2026, 10, 25, 2, 30, tzinfo=UTC))
    _, other = await make_member(database, app, tenant=practice.tenant, role=Role.PATIENT)
    # 05:00 CET is 04:00 UTC; it closes 120 minutes after, at 06:00 UTC = 07:00 CET.
    second = await book(app, practice, datetime(2026, 10, 25, 4, 0, tzinfo=UTC), headers=other)
    opens, closes = datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    second_opens = datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    one = timedelta(seconds=1)

    clock.set(opens - one)
    early = problem(await scan(app, practice.patient, token), 409, "TOO_EARLY")
    assert early["opens_at"] == "2026-10-25T02:30:00+02:00"
    assert early["starts_at"] == "2026-10-25T03:30:00+01:00"
    clock.set(opens + one)
    inside = await scan(app, practice.patient, token)
    assert [c["appointment_id"] for c in inside.json()["check_ins"]] == [first], inside.text

    clock.set(closes + one)
    late = problem(await scan(app, other, token), 409, "APPOINTMENT_EXPIRED")
    assert late["closed_at"] == "2026-10-25T07:00:00+01:00"
    clock.set(second_opens - one)
    problem(await scan(app, other, token), 409, "TOO_EARLY")
    clock.set(closes - one)
    last = await scan(app, other, token)
    assert [c["appointment_id"] for c in last.json()["check_ins"]] == [second], last.text
    assert last.json()["check_ins"][0]["late"] is True
    assert last.json()["check_ins"][0]["local_day"] == FALL_BACK_DAY.date().isoformat()
