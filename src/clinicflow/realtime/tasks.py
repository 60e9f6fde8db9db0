"""Real time jobs."""

from __future__ import annotations

from clinicflow.platform import runtime
from clinicflow.platform.jobs import job_app
from clinicflow.realtime.repository import delete_expired_tickets


@job_app.periodic(cron="*/5 * * * *", periodic_id="realtime-tickets-prune")
@job_app.task(name="realtime.prune_tickets", queue="maintenance", queueing_lock="realtime.prune_tickets")
async def prune_tickets(timestamp: int) -> None:
    """Every five minutes: delete expired stream tickets (idempotent)."""
    async with runtime.database().transaction() as uow:
        await delete_expired_tickets(uow, now=runtime.clock().now())
