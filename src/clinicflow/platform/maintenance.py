"""Platform housekeeping tasks."""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.job_context import JobContext
from procrastinate.jobs import Job, Status

from clinicflow.platform.jobs import DEFAULT_STALLED_AFTER_SECONDS, STALLED_AFTER_KEY, job_app
from clinicflow.platform.logging import get_logger

log = get_logger(__name__)

SUCCEEDED_JOB_RETENTION_HOURS = 7 * 24

#: The stalled-job sweep runs every few seconds; its own finished runs are kept this long.
MAINTENANCE_QUEUE = "maintenance"
MAINTENANCE_RETENTION_HOURS = 1

#: A stalled job is put back at most this many times (or its task's own max_attempts, if more):
#: a job that kills every worker that takes it must end as a visible failure, not loop.
STALLED_RERUN_LIMIT = 5


@job_app.periodic(cron="17 3 * * *", periodic_id="daily")
@job_app.task(name="platform.prune_succeeded_jobs", pass_context=True, queueing_lock="platform.prune")
async def prune_succeeded_jobs(context: JobContext, timestamp: int) -> None:
    """Delete succeeded jobs older than a week. Failed jobs are kept: they are our dead letters."""
    await context.app.job_manager.delete_old_jobs(
        nb_hours=SUCCEEDED_JOB_RETENTION_HOURS, include_failed=False
    )


# Every 5 seconds (croniter's sixth field is seconds). With the default 10 s heartbeat and
# 30 s stall bound, a job taken by a killed worker is queued again within ~35 s.
@job_app.periodic(cron="* * * * * */5", periodic_id="every-5-seconds")
@job_app.task(name="platform.retry_stalled_jobs", queue=MAINTENANCE_QUEUE, pass_context=True)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Queue again the jobs of workers whose heartbeat stopped, then forget those workers.

    The bound comes from the running worker's settings (CLINICFLOW_JOBS_STALLED_AFTER_SECONDS)
    and must be the same on every worker of a deployment. A retried job runs again: jobs are
    idempotent (docs/decisions.md). Two sweeps racing on one job is harmless: the second
    finds it no longer `doing` and skips it.
    """
    stalled_after = float(
        (context.additional_context or {}).get(STALLED_AFTER_KEY, DEFAULT_STALLED_AFTER_SECONDS)
    )
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            if job.attempts >= _rerun_limit(job):
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                log.error("job.stalled_too_often", job_id=job.id, task=job.task_name, attempts=job.attempts)
            else:
                await manager.retry_job(job)
                log.warning(
                    "job.stalled_requeued", job_id=job.id, task=job.task_name, worker_id=job.worker_id
                )
        except Exception:
            # Finished or requeued by someone else meanwhile; the next sweep sees the truth.
            log.warning("job.stalled_skip", job_id=job.id, task=job.task_name, exc_info=True)
    await manager.prune_stalled_workers(stalled_after)
    await manager.delete_old_jobs(nb_hours=MAINTENANCE_RETENTION_HOURS, queue=MAINTENANCE_QUEUE)


def _rerun_limit(job: Job) -> int:
    task = job_app.tasks.get(job.task_name)
    strategy = task.retry_strategy if task is not None else None
    if isinstance(strategy, RetryStrategy) and strategy.max_attempts:
        return max(STALLED_RERUN_LIMIT, strategy.max_attempts)
    return STALLED_RERUN_LIMIT
