"""Background jobs on procrastinate, in the same PostgreSQL as the data.

`defer` inserts the job on the unit of work's own connection, so the job
exists exactly when the use case commits (a transactional outbox). Tasks are
named `domain.verb`, take ids, reload what they need and must tolerate running
twice. A job that exhausts its retries stays in `procrastinate_jobs` with
status `failed` (our dead letters): `clinicflow jobs failed` lists them.

Workers die: `kill -9`, a lost machine, a lost database. Each worker sends a
heartbeat (procrastinate's `procrastinate_workers`); a job in `doing` whose
worker has not beaten for `stalled_after_seconds` is stalled, and the periodic
`platform.retry_stalled_jobs` (platform.maintenance) puts it back in the queue.
`clinicflow jobs stalled` lists them. A worker that stops because its database
went away is restarted by `WorkerSupervisor`, with a bounded backoff.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import procrastinate
import psycopg
from procrastinate import RetryStrategy
from procrastinate import sql as procrastinate_sql
from procrastinate.job_context import JobContext
from procrastinate.types import JobToDefer
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from clinicflow.platform.db.database import UnitOfWork
from clinicflow.platform.db.unavailable import RECONNECT_WINDOW_SECONDS, is_unavailable
from clinicflow.platform.logging import get_logger
from clinicflow.platform.metrics import JOB_DURATION, JOBS_RUN, WORKER_RESTARTS

log = get_logger(__name__)

# Modules whose import registers tasks on `job_app`.
TASK_MODULES = [
    "clinicflow.platform.maintenance",
    "clinicflow.platform.realtime.tasks",
    "clinicflow.messaging.tasks",
    "clinicflow.checkin.queue.tasks",
    "clinicflow.realtime.tasks",
    "clinicflow.scheduling.events",
    "clinicflow.scheduling.notifications",
    "clinicflow.scheduling.sweep",
    "clinicflow.waitlist.notices",
    "clinicflow.waitlist.tasks",
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


async def queue_job(
    connection: psycopg.AsyncConnection[Any],
    task: procrastinate.tasks.Task[Any, Any, Any],
    **task_kwargs: Any,
) -> None:
    """`defer` without waiting for the job's id: the job's INSERT is sent on `connection`
    and, inside a psycopg pipeline, travels with the caller's other statements (one round
    trip for all). The same row as `defer` writes, through procrastinate's own defer query;
    it becomes visible to workers only when the transaction commits.
    """
    job = task.configure().make_new_job(**task_kwargs)
    row = JobToDefer(
        queue_name=job.queue,
        task_name=job.task_name,
        priority=job.priority,
        lock=job.lock,
        queueing_lock=job.queueing_lock,
        args=Jsonb(job.task_kwargs),  # type: ignore[arg-type]  # dumped as jsonb, as procrastinate does
        scheduled_at=job.scheduled_at,
    )
    await connection.execute(procrastinate_sql.queries["defer_jobs"], {"jobs": [row]})


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


async def open_jobs(
    conninfo: str,
    *,
    max_size: int = 5,
    wait_seconds: float = 5.0,
    connect_timeout: int = 5,
    application_name: str | None = None,
) -> AsyncConnectionPool[Any]:
    """Open the job app on its own small pool and return that pool (close it on exit).

    A running worker also holds one LISTEN connection outside the pool (with the
    pool's connection settings), so the job queue's budget is `max_size + 1`.
    `wait_seconds`: how long a job-queue query waits for a connection.
    """
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        open=False,
        timeout=wait_seconds,
        reconnect_timeout=RECONNECT_WINDOW_SECONDS,
        # No autocommit or row factory here: procrastinate sets autocommit on its
        # LISTEN connection itself and asks for dict rows per cursor.
        kwargs={
            "application_name": application_name or f"clinicflow-{os.getpid()}-jobs",
            "connect_timeout": connect_timeout,
        },
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


#: Key of `JobContext.additional_context` that carries the worker's stall bound to the
#: periodic retry task.
STALLED_AFTER_KEY = "stalled_after_seconds"
DEFAULT_STALLED_AFTER_SECONDS = 30.0
DEFAULT_HEARTBEAT_SECONDS = 10.0


class WorkerSupervisor:
    """Runs a job worker for as long as it is running, restarting it whenever it stops.

    A worker stops when its database goes away (a failed heartbeat, listener or
    fetch ends procrastinate's worker); without this, the process would serve
    requests while its jobs wait forever. Each restart waits a backoff that
    doubles from `min_backoff` up to `max_backoff`, and starts again from
    `min_backoff` once a worker has run for longer than `max_backoff`.
    `up` is False while the worker is down (backing off): readiness reports it.
    """

    def __init__(
        self,
        *,
        concurrency: int = 4,
        heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS,
        stalled_after_seconds: float = DEFAULT_STALLED_AFTER_SECONDS,
        min_backoff: float = 0.5,
        max_backoff: float = 5.0,
        name: str = "worker",
    ) -> None:
        self.concurrency = concurrency
        self.heartbeat_seconds = heartbeat_seconds
        self.stalled_after_seconds = stalled_after_seconds
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.name = name
        self.up = False
        self.restarts = 0

    async def run(self) -> None:
        """Run the worker until cancelled."""
        backoff = self.min_backoff
        while True:
            started = time.monotonic()
            self.up = True
            try:
                await run_worker(
                    wait=True,
                    concurrency=self.concurrency,
                    update_heartbeat_interval=self.heartbeat_seconds,
                    # A worker starting up deletes the rows of workers silent for this long.
                    stalled_worker_timeout=self.stalled_after_seconds,
                    additional_context={STALLED_AFTER_KEY: self.stalled_after_seconds},
                )
                log.warning("worker.stopped", worker=self.name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_unavailable(exc):
                    log.warning("worker.database_lost", worker=self.name, error=repr(exc))
                else:
                    log.exception("worker.crashed", worker=self.name)
            finally:
                self.up = False
            if time.monotonic() - started > self.max_backoff:
                backoff = self.min_backoff
            self.restarts += 1
            WORKER_RESTARTS.inc()
            log.info("worker.restarting", worker=self.name, in_seconds=backoff, restarts=self.restarts)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)


async def list_stalled_jobs(
    *, stalled_after_seconds: float = DEFAULT_STALLED_AFTER_SECONDS
) -> list[procrastinate.jobs.Job]:
    """Jobs in `doing` whose worker is gone: no heartbeat for `stalled_after_seconds`."""
    jobs = await job_app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_seconds)
    return sorted(jobs, key=lambda job: job.id or 0)


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
