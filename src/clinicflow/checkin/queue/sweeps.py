"""The queue's periodic work: closing what the clinic day left open, flagging long waits.

Both are idempotent (a closed entry is not open any more; a flagged one is not flagged
again) and take rows with SKIP LOCKED or under a conditional UPDATE, so overlapping runs
share the work instead of doing it twice.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from clinicflow.audit import service as audit
from clinicflow.audit.service import SYSTEM
from clinicflow.checkin import events
from clinicflow.checkin.queue import repository as queries
from clinicflow.checkin.queue import service
from clinicflow.checkin.queue.estimates import (
    LONG_WAIT_GRACE,
    DoctorLoad,
    expected_since_queued,
    is_long_wait,
)
from clinicflow.checkin.queue.repository import QueueRepository
from clinicflow.checkin.queue.rows import Entry
from clinicflow.platform.db import UnitOfWork


async def close_stale(uow: UnitOfWork, *, now: datetime, limit: int = 500) -> int:
    """Close up to `limit` entries still waiting, called or in consultation after their
    clinic-local day ended (`closed`, `closed_at`); returns how many. Audited as
    `queue.closed` by the system; one `queue.updated` per location. The appointments are
    left as they are (the visit's record is scheduling's)."""
    closed = await queries.close_stale(uow, now=now, limit=limit)
    for tenant_id, entry in closed:
        await audit.record(
            uow,
            tenant_id=tenant_id,
            actor=SYSTEM,
            action="queue.closed",
            subject_type="queue",
            subject_id=entry.id,
            after={"queue_status": entry.queue_status},
            details={"location_id": str(entry.location_id), "local_day": entry.local_day.isoformat()},
        )
    for tenant_id, clinic_id, location_id in {(t, e.clinic_id, e.location_id) for t, e in closed}:
        await events.queue_changed(
            uow, tenant_id=tenant_id, clinic_id=clinic_id, location_id=location_id, reason="closed"
        )
    return len(closed)


def long_waiters(
    waiting: Sequence[Entry],
    loads: dict[uuid.UUID, DoctorLoad],
    served: Sequence[tuple[uuid.UUID, datetime]],
    *,
    default: DoctorLoad,
    now: datetime,
) -> list[uuid.UUID]:
    """The unflagged waiting entries (in queue order) whose wait is far longer than the
    estimates promised for the work done and left since they were queued
    (`estimates.expected_since_queued`, `estimates.is_long_wait`). Pure."""
    ahead: Counter[uuid.UUID] = Counter()
    found = []
    for entry in waiting:
        load = loads.get(entry.doctor_id, default)
        done = sum(1 for doctor, called in served if doctor == entry.doctor_id and called >= entry.queued_at)
        expected = expected_since_queued(load, served=done, ahead=ahead[entry.doctor_id])
        if entry.long_wait_flagged_at is None and is_long_wait(
            waited=now - entry.queued_at, expected=expected
        ):
            found.append(entry.id)
        ahead[entry.doctor_id] += 1
    return found


async def flag_queue(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID, day: date, zone: str, now: datetime
) -> int:
    """Flag the long waiters of one location's day (`long_wait_flagged_at`), each once, and
    publish `queue.updated` (`long_wait`, with the ticket) for each; returns how many."""
    location = await queries.location(uow, tenant_id=tenant_id, location_id=location_id)
    if location is None:
        return 0
    snapshot = await queries.snapshot(uow, tenant_id=tenant_id, location_id=location_id, day=day, now=now)
    repo = QueueRepository(uow, tenant_id)
    day_start = datetime.combine(day, time(), ZoneInfo(zone))
    served = await repo.served_since(location_id=location_id, day=day, day_start=day_start)
    default = service.default_consult(location)
    ids = long_waiters(
        snapshot.waiting,
        service.loads(snapshot, default),
        served,
        default=DoctorLoad(consult=default),
        now=now,
    )
    flagged = await repo.flag_long_waits(ids, now) if ids else []
    for entry in flagged:
        await events.queue_changed(
            uow,
            tenant_id=tenant_id,
            clinic_id=entry.clinic_id,
            location_id=location_id,
            reason="long_wait",
            ticket=entry.ticket,
            doctor_id=entry.doctor_id,
        )
    return len(flagged)


async def queues_to_check(uow: UnitOfWork, *, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID, date, str]]:
    """Today's queues (clinic-local) where someone unflagged has waited past the grace."""
    return await queries.queues_with_long_waiters(uow, now=now, queued_before=now - LONG_WAIT_GRACE)
