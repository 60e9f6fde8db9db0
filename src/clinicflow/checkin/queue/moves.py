"""Moving patients through the queue: call next, recall, skip, start, complete, no-show, priority.

Every move, in the caller's transaction:

1. takes the doctor's queue lock (`QueueRepository.lock_queue`: the moves of one doctor's
   queue at one location and day take turns, so the positions each one announces are
   exact and calls follow queue order);
2. makes ONE conditional UPDATE of the entry (`... WHERE queue_status IN (...)`): of two
   concurrent moves of an entry one wins, the other is 409 QUEUE_INVALID_TRANSITION with the
   entry's current status;
3. moves the appointment when the visit moves (`scheduling.visits.advance`): START at
   `start`, COMPLETE at `complete`, NO_SHOW at `no_show` (409 INVALID_TRANSITION, and
   nothing changed, when the appointment cannot follow: cancelled meanwhile, say);
4. audits it (`queue.<move>`), and publishes `queue.updated` to the location and
   `queue.position` to every patient whose place or estimate changed (`service.announce`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from clinicflow.audit import service as audit
from clinicflow.checkin.models import CheckIn, Priority, QueueStatus
from clinicflow.checkin.queue import policy as access
from clinicflow.checkin.queue import repository as queries
from clinicflow.checkin.queue import service
from clinicflow.checkin.queue.errors import QueueEmpty, QueueMoveInvalid, VisitNotMovable
from clinicflow.checkin.queue.repository import QueueRepository
from clinicflow.checkin.queue.rows import Moved, QueueLocation, Snapshot
from clinicflow.checkin.queue.schemas import MovedRead
from clinicflow.errors import NotFound
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.clock import Clock
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import visits
from clinicflow.scheduling.state import Action, Status

S = QueueStatus
#: A visit whose appointment is no longer one of these has left the queue (cancelled, …).
_IN_QUEUE = frozenset({Status.CHECKED_IN.value, Status.IN_CONSULTATION.value})


@dataclass(frozen=True, slots=True)
class Move:
    """One move of an entry: the statuses it leaves, what it sets, the visit's move."""

    name: str
    leaving: frozenset[QueueStatus]
    values: dict[str, Any]
    visit: Action | None = None


def moved_read(moved: Moved) -> MovedRead:
    return MovedRead(
        check_in_id=moved.id,
        appointment_id=moved.appointment_id,
        location_id=moved.location_id,
        doctor_id=moved.doctor_id,
        patient_id=moved.patient_id,
        ticket=moved.ticket,
        status=moved.queue_status,
        priority=moved.priority,
    )


class _Change:
    """One queue change under way: the lock taken, the snapshot before it, then the announcement."""

    def __init__(self, uow: UnitOfWork, tenant_id: uuid.UUID, location: QueueLocation, day: date) -> None:
        self.uow, self.tenant_id, self.location, self.day = uow, tenant_id, location, day
        self.repo = QueueRepository(uow, tenant_id)

    async def begin(self, doctor_id: uuid.UUID, now: datetime) -> None:
        await self.repo.lock_queue(location_id=self.location.location_id, day=self.day, doctor_id=doctor_id)
        self.before = await self._snapshot(now)

    async def _snapshot(self, now: datetime) -> Snapshot:
        return await queries.snapshot(
            self.uow, tenant_id=self.tenant_id, location_id=self.location.location_id, day=self.day, now=now
        )

    async def finish(self, moved: Collection[Moved], reason: str, now: datetime) -> None:
        after = await self._snapshot(now)
        await service.announce(
            self.uow,
            tenant_id=self.tenant_id,
            location=self.location,
            moved=moved,
            reason=reason,
            before=self.before,
            after=after,
            now=now,
        )


async def _audit(
    uow: UnitOfWork, principal: TenantPrincipal, name: str, moved: Moved, **details: Any
) -> None:
    await audit.record(
        uow,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action=f"queue.{name}",
        subject_type="queue",
        subject_id=moved.id,
        after={"queue_status": moved.queue_status, "priority": moved.priority},
        details={"location_id": str(moved.location_id), "ticket": moved.ticket, **details},
    )


async def call_next(
    uow: UnitOfWork,
    clock: Clock,
    principal: TenantPrincipal,
    *,
    location_id: uuid.UUID,
    doctor_id: uuid.UUID | None,
) -> MovedRead:
    """Call the head of `doctor_id`'s queue (default: the caller's) at the location, today
    (clinic-local): waiting → called, `called_at`/`called_by` set.

    Guarantees: two callers of one queue never get the same patient and none is passed
    over (the queue lock, then `FOR UPDATE SKIP LOCKED` in queue order: `repository`). An
    entry whose appointment left the queue meanwhile (cancelled) is closed and the next one
    called. 409 QUEUE_EMPTY when nobody waits for that doctor. The appointment stays
    `checked_in` until `start`.
    """
    location = await service.location_or_raise(uow, tenant_id=principal.tenant_id, location_id=location_id)
    access.check_moves(principal, location.clinic_id, missing="Location not found")
    doctor = doctor_id or principal.user_id
    now = clock.now()
    change = _Change(uow, principal.tenant_id, location, service.local_day(location, now))
    await change.begin(doctor, now)
    called_at = clock.now()  # read under the queue's lock: call times follow call order
    closed: list[Moved] = []
    while True:
        moved = await change.repo.claim_head(
            location_id=location_id,
            day=change.day,
            doctor_id=doctor,
            called_by=principal.user_id,
            now=called_at,
        )
        if moved is None:
            raise QueueEmpty("Nobody is waiting for this doctor here today", doctor_id=str(doctor))
        visit = await visits.get_visit(
            uow, tenant_id=principal.tenant_id, appointment_id=moved.appointment_id
        )
        if visit is not None and visit.status in _IN_QUEUE:
            break
        gone = await change.repo.move(
            moved.id, [S.CALLED], {"queue_status": S.CLOSED.value, "closed_at": now}
        )
        closed += [gone] if gone is not None else []
    await _audit(uow, principal, "called", moved)
    await change.finish([*closed, moved], "called", now)
    return moved_read(moved)


async def _entry_or_raise(uow: UnitOfWork, principal: TenantPrincipal, check_in_id: uuid.UUID) -> Moved:
    entry = await QueueRepository(uow, principal.tenant_id).entry(check_in_id)
    if entry is None:
        raise NotFound("Queue entry not found")
    return entry


async def _follow(uow: UnitOfWork, principal: TenantPrincipal, moved: Moved, action: Action) -> None:
    """Move the appointment with its entry, or refuse the whole move (it rolls back)."""
    done = await visits.advance(
        uow,
        principal.actor,
        tenant_id=principal.tenant_id,
        appointment_id=moved.appointment_id,
        action=action,
        details={"check_in_id": str(moved.id), "by": "queue"},
    )
    if done is not None:
        return
    visit = await visits.get_visit(uow, tenant_id=principal.tenant_id, appointment_id=moved.appointment_id)
    current = visit.status if visit is not None else None
    if current != visits.TARGETS[action].value:  # already there (moved through scheduling): fine
        raise VisitNotMovable(
            f"The appointment is {current}: it cannot {action.value.replace('_', ' ')}",
            current=current,
            action=action.value,
        )


async def apply(
    uow: UnitOfWork, clock: Clock, principal: TenantPrincipal, *, check_in_id: uuid.UUID, move: Move
) -> MovedRead:
    """Make `move` on one entry (see the module for what every move guarantees). 404 for an
    entry the caller does not see, 403 without the move's permission, 409 when the entry
    (QUEUE_INVALID_TRANSITION) or its appointment (INVALID_TRANSITION) is past it."""
    entry = await _entry_or_raise(uow, principal, check_in_id)
    if move.name == "priority":
        access.check_prioritises(principal, entry.clinic_id)
    else:
        access.check_moves(principal, entry.clinic_id, missing="Queue entry not found")
    location = await service.location_or_raise(
        uow, tenant_id=principal.tenant_id, location_id=entry.location_id
    )
    now = clock.now()
    change = _Change(uow, principal.tenant_id, location, entry.local_day)
    await change.begin(entry.doctor_id, now)
    values = {key: now if value is _NOW else value for key, value in move.values.items()}
    moved = await change.repo.move(check_in_id, move.leaving, values)
    if moved is None:
        current = await _entry_or_raise(uow, principal, check_in_id)
        raise QueueMoveInvalid(
            f"A queue entry that is {current.queue_status} cannot {move.name.replace('_', ' ')}",
            current=current.queue_status,
            action=move.name,
        )
    if move.visit is not None:
        await _follow(uow, principal, moved, move.visit)
    await _audit(uow, principal, move.name, moved)
    await change.finish([moved], move.name, now)
    return moved_read(moved)


#: Stands for the move's instant in `Move.values`.
_NOW = object()

RECALL = Move("recall", frozenset({S.CALLED}), {"recall_count": CheckIn.recall_count + 1})
#: Back of the queue: a skipped patient counts as late (behind every on-time patient of their
#: class) and queues again from now.
SKIP = Move(
    "skip",
    frozenset({S.WAITING, S.CALLED}),
    {"queue_status": S.WAITING.value, "queued_at": _NOW, "late": True, "skip_count": CheckIn.skip_count + 1},
)
START = Move(
    "start",
    frozenset({S.CALLED}),
    {"queue_status": S.IN_CONSULTATION.value, "started_at": _NOW},
    Action.START,
)
COMPLETE = Move(
    "complete",
    frozenset({S.IN_CONSULTATION}),
    {"queue_status": S.COMPLETED.value, "completed_at": _NOW},
    Action.COMPLETE,
)
NO_SHOW = Move("no_show", frozenset({S.CALLED}), {"queue_status": S.NO_SHOW.value}, Action.NO_SHOW)


def set_priority(priority: Priority) -> Move:
    """Set a waiting entry's priority class."""
    return Move("priority", frozenset({S.WAITING}), {"priority": int(priority)})
