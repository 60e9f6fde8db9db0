"""The queue's periodic jobs (`sweeps` holds what they do)."""

from __future__ import annotations

from datetime import UTC, datetime

from clinicflow.checkin.queue import sweeps
from clinicflow.platform import runtime
from clinicflow.platform.jobs import job_app

BATCH = 500


@job_app.periodic(cron="*/5 * * * *", periodic_id="queue-close-stale")
@job_app.task(name="checkin.close_stale_queue_entries", queueing_lock="checkin.close_stale_queue_entries")
async def close_stale_job(timestamp: int) -> None:
    """Every 5 minutes: close what ended clinic days left open, a batch per transaction."""
    while True:
        async with runtime.database().transaction() as uow:
            if await sweeps.close_stale(uow, now=datetime.now(UTC), limit=BATCH) < BATCH:
                return


@job_app.periodic(cron="* * * * *", periodic_id="queue-long-waits")
@job_app.task(name="checkin.flag_long_waits", queueing_lock="checkin.flag_long_waits")
async def flag_long_waits_job(timestamp: int) -> None:
    """Every minute: flag patients waiting far longer than their estimate, a queue per transaction."""
    now = datetime.now(UTC)
    async with runtime.database().reading() as uow:
        queues = await sweeps.queues_to_check(uow, now=now)
    for tenant_id, location_id, day, zone in queues:
        async with runtime.database().transaction() as uow:
            await sweeps.flag_queue(
                uow, tenant_id=tenant_id, location_id=location_id, day=day, zone=zone, now=now
            )
