"""Two doctors calling next 100 times in parallel on one queue of 100 waiting patients:
every patient is called exactly once, and in queue order."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from clinicflow.platform.db import Database
from tests.checkin.queue_support import new_patients, open_day, rows, seat, second_doctor
from tests.conftest import ClientFactory
from tests.scheduling.conftest import Practice


async def test_two_doctors_calling_in_parallel_call_everyone_once_in_queue_order(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    seats = await seat(database, client, day, await new_patients(database, practice, 100))
    _, colleague = await second_doctor(database, client, practice)
    body = {"doctor_id": str(practice.doctor_id)}

    async def doctor(headers: dict[str, str]) -> list[httpx.Response]:
        """One doctor pressing "call next" 100 times, each as soon as the last answered."""
        return [await day.api.post(day.path("/call-next"), json=body, headers=headers) for _ in range(100)]

    first, second = await asyncio.gather(doctor(practice.doctor), doctor(colleague))

    answers = [*first, *second]
    assert Counter(r.status_code for r in answers) == {200: 100, 409: 100}
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"QUEUE_EMPTY"}
    called = [r.json()["check_in_id"] for r in answers if r.status_code == 200]
    assert sorted(called) == sorted(str(s.check_in_id) for s in seats)  # each exactly once
    assert min(sum(r.status_code == 200 for r in first), sum(r.status_code == 200 for r in second)) > 0
    # Each doctor's own calls, and all of them by call time, follow the queue's order.
    queue_order = [str(s.check_in_id) for s in seats]
    for answers_of_one in (first, second):
        mine = [r.json()["check_in_id"] for r in answers_of_one if r.status_code == 200]
        assert mine == sorted(mine, key=queue_order.index)
    by_time = await rows(
        database,
        "SELECT id::text FROM check_ins WHERE location_id = :l ORDER BY called_at",
        l=day.location_id,
    )
    assert [r[0] for r in by_time] == queue_order
    assert await rows(database, "SELECT DISTINCT queue_status FROM check_ins") == [("called",)]
