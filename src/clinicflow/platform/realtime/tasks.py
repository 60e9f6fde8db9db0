"""Pruning the replay log."""

from __future__ import annotations

from datetime import timedelta

from clinicflow.platform import runtime
from clinicflow.platform.jobs import job_app
from clinicflow.platform.realtime.repository import delete_older_than

#: How long events stay resumable (`Last-Event-ID`); older resumes get `reset`.
RETENTION = timedelta(hours=1)


async def prune_events() -> int:
    """Delete replay-log events older than RETENTION; returns how many (idempotent)."""
    async with runtime.database().transaction() as uow:
        return await delete_older_than(uow, RETENTION)


@job_app.periodic(cron="*/5 * * * *", periodic_id="realtime-prune")
@job_app.task(name="platform.realtime_prune", queue="maintenance", queueing_lock="platform.realtime_prune")
async def prune(timestamp: int) -> None:
    """Every five minutes: forget events older than an hour."""
    await prune_events()
