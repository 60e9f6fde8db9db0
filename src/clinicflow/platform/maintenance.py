"""Platform housekeeping tasks."""

from __future__ import annotations

from procrastinate.job_context import JobContext

from clinicflow.platform.jobs import job_app

SUCCEEDED_JOB_RETENTION_HOURS = 7 * 24


@job_app.periodic(cron="17 3 * * *", periodic_id="daily")
@job_app.task(name="platform.prune_succeeded_jobs", pass_context=True, queueing_lock="platform.prune")
async def prune_succeeded_jobs(context: JobContext, timestamp: int) -> None:
    """Delete succeeded jobs older than a week. Failed jobs are kept: they are our dead letters."""
    await context.app.job_manager.delete_old_jobs(
        nb_hours=SUCCEEDED_JOB_RETENTION_HOURS, include_failed=False
    )
