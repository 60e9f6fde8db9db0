"""The waitlist's periodic jobs."""

from __future__ import annotations

from clinicflow.platform import runtime
from clinicflow.platform.jobs import job_app
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.offers import expire_due


@job_app.periodic(cron="* * * * *", periodic_id="waitlist-expiry")
@job_app.task(name="waitlist.expire_due", queueing_lock="waitlist.expire_due")
async def expire_due_job(timestamp: int) -> None:
    """Every minute, until nothing is due: unanswered offers and stale entries (see
    `offers.expire_due`), in batches of one transaction each."""
    while True:
        async with runtime.database().transaction() as uow:
            if await expire_due(uow, WaitlistConfig.for_jobs()) == 0:
                return
