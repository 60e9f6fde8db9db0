"""The queue's periodic jobs: closing entries the clinic day left open, flagging long waits.
Both idempotent."""

from __future__ import annotations

from datetime import timedelta

import httpx

from clinicflow.checkin.queue import sweeps
from clinicflow.platform.db import Database
from clinicflow.platform.jobs import job_app
from tests.checkin.queue_support import new_patients, open_day, rows, scalar, seat
from tests.conftest import ClientFactory
from tests.scheduling.conftest import Practice


def test_both_jobs_are_periodic_tasks() -> None:
    import clinicflow.checkin.queue.tasks  # noqa: F401  (the worker imports it: TASK_MODULES)

    assert {"checkin.close_stale_queue_entries", "checkin.flag_long_waits"} <= set(job_app.tasks)
    periodic = {p.task.name for p in job_app.periodic_registry.periodic_tasks.values()}
    assert {"checkin.close_stale_queue_entries", "checkin.flag_long_waits"} <= periodic


async def test_entries_still_open_when_the_clinic_day_ends_are_closed_once(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    waiting, called = await seat(database, client, day, await new_patients(database, practice, 2))
    assert (await day.api.post(day.path("/call-next"), headers=practice.doctor)).status_code == 200
    during = day.clock.now() + timedelta(hours=10)  # 17:30 the same clinic day
    after = day.clock.now() + timedelta(hours=17)  # 00:30 the next clinic day

    async with database.transaction() as uow:
        assert await sweeps.close_stale(uow, now=during) == 0
    async with database.transaction() as uow:
        assert await sweeps.close_stale(uow, now=after) == 2
    async with database.transaction() as uow:
        assert await sweeps.close_stale(uow, now=after) == 0

    closed = await rows(database, "SELECT queue_status, closed_at IS NOT NULL FROM check_ins")
    assert [tuple(r) for r in closed] == [("closed", True), ("closed", True)]
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM audit_events WHERE action = 'queue.closed' AND tenant_id = :t",
            t=practice.tenant.id,
        )
        == 2
    )
    told = await rows(
        database,
        "SELECT data->>'status' FROM realtime_events WHERE channel = :c",
        c=f"queue:{day.location_id}",
    )
    assert told.count(("closed",)) == 1  # one per location and run
    # The appointments are scheduling's: left as they were.
    shown = await client.get(f"/api/v1/appointments/{waiting.appointment_id}", headers=practice.reception)
    assert shown.json()["status"] == "checked_in"
    assert called.check_in_id != waiting.check_in_id


async def test_a_patient_waiting_far_longer_than_the_estimate_is_flagged_once(
    database: Database, client: httpx.AsyncClient, make_client: ClientFactory, practice: Practice
) -> None:
    day = await open_day(database, client, make_client, practice)
    head, second = await seat(database, client, day, await new_patients(database, practice, 2))
    later = day.clock.now() + timedelta(minutes=20)  # nobody called: the head's estimate was 0

    async def run() -> int:
        async with database.reading() as uow:
            queues = await sweeps.queues_to_check(uow, now=later)
        flagged = 0
        for tenant_id, location_id, local_day, zone in queues:
            async with database.transaction() as uow:
                flagged += await sweeps.flag_queue(
                    uow, tenant_id=tenant_id, location_id=location_id, day=local_day, zone=zone, now=later
                )
        return flagged

    assert await run() == 1
    assert await run() == 0
    flags = await rows(database, "SELECT id, long_wait_flagged_at IS NOT NULL FROM check_ins ORDER BY ticket")
    assert [tuple(f) for f in flags] == [(head.check_in_id, True), (second.check_in_id, False)]
    told = await rows(
        database,
        "SELECT data->>'ticket' FROM realtime_events WHERE channel = :c AND data->>'status' = 'long_wait'",
        c=f"queue:{day.location_id}",
    )
    assert told == [("A-001",)]
    board = await day.queue(practice.reception)
    assert [w["long_wait"] for w in board["waiting"]] == [True, False]
