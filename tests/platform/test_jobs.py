"""Jobs ride on the unit of work's transaction; failures are retried, then kept."""

from __future__ import annotations

import pytest
from procrastinate import RetryStrategy
from sqlalchemy import text

from clinicflow.platform.db import Database
from clinicflow.platform.jobs import defer, job_app, list_failed_jobs, run_worker
from tests.factories import make_tenant

RAN: list[str] = []
ATTEMPTS: list[str] = []


@job_app.task(name="tests.record", queue="tests")
async def record(value: str) -> None:
    RAN.append(value)


@job_app.task(name="tests.always_fails", queue="tests", retry=RetryStrategy(max_attempts=2))
async def always_fails(note: str) -> None:
    ATTEMPTS.append(note)
    raise RuntimeError("the provider is down")


@pytest.fixture(autouse=True)
def _reset() -> None:
    RAN.clear()
    ATTEMPTS.clear()


async def _drain() -> None:
    """Run the worker until no job is left to do."""
    await run_worker(wait=False, queues=["tests"], concurrency=1)


async def _job_count(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM procrastinate_jobs"))).scalar_one())


async def test_job_deferred_in_a_committed_unit_of_work_runs(database: Database) -> None:
    async with database.transaction() as uow:
        await defer(uow, record, value="committed")
    await _drain()
    assert RAN == ["committed"]


async def test_job_deferred_in_a_rolled_back_unit_of_work_never_runs(database: Database) -> None:
    class UseCaseFailed(Exception):
        pass

    with pytest.raises(UseCaseFailed):
        async with database.transaction() as uow:
            await defer(uow, record, value="rolled-back")
            raise UseCaseFailed
    assert await _job_count(database) == 0
    await _drain()
    assert RAN == []


async def test_job_and_rows_commit_together(database: Database) -> None:
    """The job sees the row its use case wrote: same transaction, same commit."""
    tenant = await make_tenant(database)
    async with database.transaction() as uow:
        await uow.session.execute(
            text("UPDATE tenants SET name = 'Renamed' WHERE id = :id"), {"id": tenant.id}
        )
        job_id = await defer(uow, record, value=str(tenant.id))
        # Not visible outside the transaction before commit.
        async with database.engine.connect() as other:
            seen = await other.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
            assert seen.scalar_one() == 0
    assert await _job_count(database) == 1


async def test_failed_job_is_retried_then_kept_as_failed_and_listed(database: Database) -> None:
    async with database.transaction() as uow:
        job_id = await defer(uow, always_fails, note="reminder-42")
    await _drain()

    # procrastinate's max_attempts counts retries: the first run plus two retries, then it stops.
    assert ATTEMPTS == ["reminder-42"] * 3
    async with database.transaction() as uow:
        failed = await list_failed_jobs(uow)
    assert [(f.id, f.task_name, f.attempts, f.args) for f in failed] == [
        (job_id, "tests.always_fails", 3, {"note": "reminder-42"})
    ]
    assert failed[0].failed_at is not None


async def test_queueing_lock_refuses_a_second_pending_job(database: Database) -> None:
    from procrastinate.exceptions import AlreadyEnqueued

    async with database.transaction() as uow:
        await defer(uow, record, value="one", queueing_lock="tenant-1:digest")
    with pytest.raises(AlreadyEnqueued):
        async with database.transaction() as uow:
            await defer(uow, record, value="two", queueing_lock="tenant-1:digest")
    assert await _job_count(database) == 1
