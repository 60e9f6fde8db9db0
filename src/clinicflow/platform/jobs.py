"""Background jobs on procrastinate, in the same PostgreSQL as the data.

`defer` inserts the job on the unit of work's own connection, so the job
exists exactly when the use case commits (a transactional outbox). Tasks are
named `domain.verb`, take ids, reload what they need and must tolerate running
twice. A job that exhausts its retries stays in `procrastinate_jobs` with
status `failed` (our dead letters): `clinicflow jobs failed` lists them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate import RetryStrategy
from procrastinate.job_context import JobContext
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from clinicflow.platform.db.database import UnitOfWork
from clinicflow.platform.logging import get_logger
from clinicflow.platform.metrics import JOB_DURATION, JOBS_RUN

log = get_logger(__name__)

# Modules whose import registers tasks on `job_app`.
TASK_MODULES = [
    "clinicflow.platform.maintenance",
    "clinicflow.messaging.tasks",
    "clinicflow.scheduling.events",
    "clinicflow.scheduling.notifications",
    "clinicflow.scheduling.sweep",
    "clinicflow.waitlist.events",
    "clinicflow.waitlist.offers",
]

#: Default for domain tasks: retried up to 5 times (6 runs), waiting 2, 4, 8, 16, 32 s.
DEFAULT_RETRY = RetryStrategy(max_attempts=5, exponential_wait=2)

job_app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(),
    import_paths=TASK_MODULES,
)


async def defer(
    uow: UnitOfWork,
    task: procrastinate.tasks.Task[Any, Any, Any],
    *,
    queueing_lock: str | None = None,
    schedule_at: datetime | None = None,
    **task_kwargs: Any,
) -> int:
    """Defer `task` inside the unit of work's transaction; returns the job id.

    The job becomes visible to workers only when the unit of work commits; a
    rollback discards it.
    """
    connection = await uow.driver_connection()
    options: dict[str, Any] = {"connection": connection}
    if queueing_lock is not None:
        options["queueing_lock"] = queueing_lock
    if schedule_at is not None:
        options["schedule_at"] = schedule_at
    job_id: int = await task.configure(**options).defer_async(**task_kwargs)
    return job_id


async def _observe(call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Any) -> Any:
    task_name = context.job.task_name
    started = time.perf_counter()
    try:
        result = await call_next()
    except BaseException:
        JOBS_RUN.labels(task=task_name, outcome="failed").inc()
        log.warning("job.failed", task=task_name, job_id=context.job.id, attempt=context.job.attempts)
        raise
    finally:
        JOB_DURATION.labels(task=task_name).observe(time.perf_counter() - started)
    JOBS_RUN.labels(task=task_name, outcome="succeeded").inc()
    return result


async def open_jobs(conninfo: str, *, max_size: int = 5) -> AsyncConnectionPool[Any]:
    """Open the job app on its own small pool and return that pool (close it on exit)."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        open=False,
        # No connection kwargs: procrastinate sets autocommit on its LISTEN
        # connection itself and asks for dict rows per cursor.
        check=AsyncConnectionPool.check_connection,
    )
    await pool.open(wait=True)
    await job_app.open_async(pool=pool)
    return pool


async def close_jobs(pool: AsyncConnectionPool[Any]) -> None:
    await job_app.close_async()
    await pool.close()


async def run_worker(*, wait: bool = True, concurrency: int = 4, **options: Any) -> None:
    """Run a worker until cancelled (`wait=True`) or until the queue is empty."""
    await job_app.run_worker_async(
        wait=wait,
        concurrency=concurrency,
        install_signal_handlers=False,
        worker_middleware=[_observe],
        **options,
    )


@dataclass(frozen=True, slots=True)
class FailedJob:
    id: int
    task_name: str
    queue: str
    attempts: int
    args: dict[str, Any]
    failed_at: datetime | None


async def list_failed_jobs(uow: UnitOfWork, *, limit: int = 100) -> list[FailedJob]:
    """Jobs that exhausted their retries, newest first."""
    conn = await uow.driver_connection()
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """
            SELECT j.id, j.task_name, j.queue_name, j.attempts, j.args,
                   (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS failed_at
            FROM procrastinate_jobs j
            WHERE j.status = 'failed'
            ORDER BY j.id DESC
            LIMIT %s
            """,
            (limit,),
        )
        rows = await cur.fetchall()
    return [
        FailedJob(
            id=row["id"],
            task_name=row["task_name"],
            queue=row["queue_name"],
            attempts=row["attempts"],
            args=row["args"],
            failed_at=row["failed_at"],
        )
        for row in rows
    ]
