"""The one transaction every check-in ends in (`checkin.arrivals.admit`), on real PostgreSQL.

The API tests (scan, staff, override) drive it through HTTP; these pin its own
guarantees: one check-in per appointment under 50 concurrent admissions, tickets
unique per location and day, and nothing left behind by a refused one.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from clinicflow.audit.service import Actor, ActorType
from clinicflow.checkin.arrivals import Desk, Window, admit
from clinicflow.checkin.errors import AlreadyCheckedIn, AppointmentExpired, NotCheckable, TooEarly
from clinicflow.checkin.models import Method
from clinicflow.checkin.repository import ticket_label
from clinicflow.platform.db import Database
from clinicflow.scheduling import visits
from tests.scheduling.conftest import Practice

BERLIN = ZoneInfo("Europe/Berlin")


async def location_of(client: httpx.AsyncClient, practice: Practice) -> uuid.UUID:
    created = await client.post(
        "/api/v1/clinic-locations",
        json={"clinic_id": str(practice.clinic.id), "name": "Front desk", "kind": "checkin_desk"},
        headers=practice.admin,
    )
    assert created.status_code == 201, created.text
    return uuid.UUID(created.json()["id"])


async def book_soon(client: httpx.AsyncClient, practice: Practice) -> uuid.UUID:
    start = datetime.now(UTC) + timedelta(hours=1)
    slot = (await practice.slots(client, start, days=1))[0]
    booked = await client.post(
        "/api/v1/appointments", json=practice.booking(slot["starts_at"]), headers=practice.patient
    )
    assert booked.status_code == 201, booked.text
    return uuid.UUID(booked.json()["id"])


async def admit_once(
    database: Database, practice: Practice, appointment_id: uuid.UUID, location_id: uuid.UUID
) -> str:
    async with database.transaction() as uow:
        visit = await visits.get_visit(uow, tenant_id=practice.tenant.id, appointment_id=appointment_id)
        assert visit is not None
        row = await admit(
            uow,
            Actor(ActorType.USER, practice.patient_id),
            visit=visit,
            desk=Desk(location_id=location_id, ticket_prefix="A", zone=BERLIN),
            window=Window(),
            method=Method.QR,
            now=datetime.now(UTC),
            checked_in_by=practice.patient_id,
        )
        return row.ticket


async def test_fifty_concurrent_admissions_make_one_check_in(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    location_id = await location_of(client, practice)
    appointment_id = await book_soon(client, practice)

    results = await asyncio.gather(
        *(admit_once(database, practice, appointment_id, location_id) for _ in range(50)),
        return_exceptions=True,
    )

    tickets = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, AlreadyCheckedIn)]
    assert tickets == ["A-001"]
    assert len(refused) == 49, [r for r in results if not isinstance(r, str | AlreadyCheckedIn)]
    assert all(r.extra["check_in"]["ticket"] == "A-001" for r in refused)
    async with database.transaction() as uow:
        rows = (
            await uow.session.execute(
                text("SELECT count(*) FROM check_ins WHERE appointment_id = :a"), {"a": appointment_id}
            )
        ).scalar_one()
        audits = (
            await uow.session.execute(
                text(
                    "SELECT count(*) FROM audit_events"
                    " WHERE action = 'appointment.check_in' AND subject_id = :a"
                ),
                {"a": appointment_id},
            )
        ).scalar_one()
    assert (rows, audits) == (1, 1)
    shown = await client.get(f"/api/v1/appointments/{appointment_id}", headers=practice.patient)
    assert shown.json()["status"] == "checked_in"


async def test_a_cancelled_appointment_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    location_id = await location_of(client, practice)
    appointment_id = await book_soon(client, practice)
    cancelled = await client.post(
        f"/api/v1/appointments/{appointment_id}/cancel", json={"reason": "ill"}, headers=practice.patient
    )
    assert cancelled.status_code == 200, cancelled.text

    with pytest.raises(NotCheckable):
        await admit_once(database, practice, appointment_id, location_id)

    async with database.transaction() as uow:
        counts = (
            await uow.session.execute(
                text(
                    "SELECT (SELECT count(*) FROM check_ins), (SELECT count(*) FROM checkin_ticket_counters)"
                )
            )
        ).one()
    assert tuple(counts) == (0, 0)


def test_the_window_includes_both_ends_and_says_when_it_opens_or_closed() -> None:
    window = Window(opens_before=timedelta(minutes=30), closes_after=timedelta(hours=2))
    # 2026-03-29 is the spring-forward day in Berlin: 02:00 becomes 03:00.
    starts = datetime(2026, 3, 29, 3, 15, tzinfo=BERLIN)
    second = timedelta(seconds=1)
    opens, closes = window.opens_at(starts), window.closes_at(starts)
    assert opens.astimezone(BERLIN).strftime("%H:%M %z") == "01:45 +0100"  # 30 real minutes
    for inside in (opens, opens + second, closes - second, closes):
        window.check(starts, inside, BERLIN)
    with pytest.raises(TooEarly) as early:
        window.check(starts, opens - second, BERLIN)
    assert early.value.extra["opens_at"] == "2026-03-29T01:45:00+01:00"
    with pytest.raises(AppointmentExpired) as late:
        window.check(starts, closes + second, BERLIN)
    assert late.value.extra["closed_at"] == "2026-03-29T05:15:00+02:00"


def test_ticket_labels_pad_to_three_digits_and_grow_past_them() -> None:
    assert [ticket_label("A", n) for n in (1, 14, 999, 1000)] == ["A-001", "A-014", "A-999", "A-1000"]


async def test_a_refused_admission_leaves_nothing_even_if_its_transaction_goes_on_to_commit(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    """The audit event, job, ticket and row an admission sends with its move are rolled back
    to its savepoint when the move is refused, whatever the caller then does."""
    location_id = await location_of(client, practice)
    appointment_id = await book_soon(client, practice)
    cancelled = await client.post(
        f"/api/v1/appointments/{appointment_id}/cancel", json={"reason": "ill"}, headers=practice.patient
    )
    assert cancelled.status_code == 200, cancelled.text
    async with database.transaction() as uow:
        visit = await visits.get_visit(uow, tenant_id=practice.tenant.id, appointment_id=appointment_id)
        assert visit is not None
        with pytest.raises(NotCheckable):
            await admit(
                uow,
                Actor(ActorType.USER, practice.patient_id),
                visit=visit,
                desk=Desk(location_id=location_id, ticket_prefix="A", zone=BERLIN),
                window=Window(),
                method=Method.QR,
                now=datetime.now(UTC),
                checked_in_by=practice.patient_id,
            )
        # the caller carries on and commits
    async with database.transaction() as uow:
        counts = (
            await uow.session.execute(
                text(
                    "SELECT (SELECT count(*) FROM check_ins), (SELECT count(*) FROM checkin_ticket_counters),"
                    " (SELECT count(*) FROM audit_events"  # append-only: scoped by subject
                    "  WHERE action = 'appointment.check_in' AND subject_id = :a),"
                    " (SELECT count(*) FROM procrastinate_jobs"
                    "  WHERE args->>'appointment_id' = :a_text AND args->>'event' = 'appointment.checked_in')"
                ),
                {"a": appointment_id, "a_text": str(appointment_id)},
            )
        ).one()
    assert tuple(counts) == (0, 0, 0, 0)


async def test_the_database_labels_tickets_as_ticket_label_does(
    client: httpx.AsyncClient, database: Database, practice: Practice
) -> None:
    """The ticket is labelled in the arrival's SQL: the same as `ticket_label`, past 999 too."""
    location_id = await location_of(client, practice)
    appointment_id = await book_soon(client, practice)
    async with database.transaction() as uow:
        visit = await visits.get_visit(uow, tenant_id=practice.tenant.id, appointment_id=appointment_id)
        assert visit is not None
        await uow.session.execute(
            text(
                "INSERT INTO checkin_ticket_counters (tenant_id, location_id, local_day, last_number)"
                " VALUES (:t, :l, :d, 999)"
            ),
            {"t": practice.tenant.id, "l": location_id, "d": visit.starts_at.astimezone(BERLIN).date()},
        )
    assert await admit_once(database, practice, appointment_id, location_id) == ticket_label("A", 1000)
