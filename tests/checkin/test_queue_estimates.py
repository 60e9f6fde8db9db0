"""Wait-time estimates: the pure functions, and through the API with and without history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from clinicflow.checkin.queue.estimates import DoctorLoad, consult_length, estimate_waits
from clinicflow.platform.db import Database
from tests.checkin.queue_support import new_patients, open_day, seat
from tests.conftest import ClientFactory
from tests.scheduling.conftest import Practice

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
D1, D2 = uuid.UUID(int=1), uuid.UUID(int=2)
DEFAULT = timedelta(minutes=15)


def test_the_consult_length_is_the_median_of_recent_ones_or_the_default() -> None:
    assert consult_length([], DEFAULT) == DEFAULT
    assert consult_length([0.0, -5.0], DEFAULT) == DEFAULT  # no real consult
    assert consult_length([600, 660, 10800], DEFAULT) == timedelta(seconds=660)  # one forgotten one
    assert consult_length([600, 900], DEFAULT) == timedelta(seconds=750)


def test_estimates_count_the_work_ahead_for_the_same_doctor_only() -> None:
    loads = {
        D1: DoctorLoad(consult=timedelta(minutes=10), started=[NOW - timedelta(minutes=4)], called=1),
        D2: DoctorLoad(consult=timedelta(minutes=20)),
    }
    waiting = [(uuid.UUID(int=10), D1), (uuid.UUID(int=11), D2), (uuid.UUID(int=12), D1)]
    found = estimate_waits(waiting, loads, default=DEFAULT, now=NOW)
    # D1: 6 minutes left of the consult in progress + the called patient's 10, then 10 per patient.
    assert [(e.position, e.ahead, e.minutes) for e in found.values()] == [(1, 0, 16), (1, 0, 0), (2, 1, 26)]


def test_an_overrunning_consult_still_takes_a_minute_and_unknown_doctors_take_the_default() -> None:
    loads = {D1: DoctorLoad(consult=timedelta(minutes=10), started=[NOW - timedelta(minutes=40)])}
    found = estimate_waits(
        [(uuid.UUID(int=1), D1), (uuid.UUID(int=2), D2), (uuid.UUID(int=3), D2)],
        loads,
        default=DEFAULT,
        now=NOW,
    )
    assert [e.minutes for e in found.values()] == [1, 0, 15]


async def test_history_and_the_consult_in_progress_shape_the_estimate(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    done, current, waiting_1, waiting_2 = await seat(
        database, client, day, await new_patients(database, practice, 4)
    )
    assert [w["estimate_minutes"] for w in (await day.queue(practice.doctor))["waiting"]] == [0, 15, 30, 45]
    assert (await day.api.post(day.path("/call-next"), json={}, headers=practice.doctor)).status_code == 200
    assert (await day.move(done.check_in_id, "start", practice.doctor)).status_code == 200
    assert (await day.move(done.check_in_id, "complete", practice.doctor)).status_code == 200
    assert (await day.api.post(day.path("/call-next"), json={}, headers=practice.doctor)).status_code == 200
    assert (await day.move(current.check_in_id, "start", practice.doctor)).status_code == 200
    # The doctor's history: one consult of 8 minutes; the current one started 3 minutes ago.
    now = day.clock.now()
    async with database.engine.begin() as conn:
        await conn.execute(
            text("UPDATE check_ins SET started_at = :s, completed_at = :c WHERE id = :id"),
            {"s": now - timedelta(minutes=30), "c": now - timedelta(minutes=22), "id": done.check_in_id},
        )
        await conn.execute(
            text("UPDATE check_ins SET started_at = :s WHERE id = :id"),
            {"s": now - timedelta(minutes=3), "id": current.check_in_id},
        )
    body = await day.queue(practice.doctor)
    assert [w["check_in_id"] for w in body["waiting"]] == [
        str(waiting_1.check_in_id),
        str(waiting_2.check_in_id),
    ]
    assert [w["estimate_minutes"] for w in body["waiting"]] == [5, 13]  # 8 - 3 left, then 8 more
    assert [c["check_in_id"] for c in body["in_consultation"]] == [str(current.check_in_id)]
    # Completing it adds a 3-minute sample (median 5.5) and frees the doctor.
    assert (await day.move(current.check_in_id, "complete", practice.doctor)).status_code == 200
    assert [w["estimate_minutes"] for w in (await day.queue(practice.doctor))["waiting"]] == [0, 6]
