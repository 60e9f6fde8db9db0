"""Queue API: a location's live queue, and moving patients through it (see shared/API.md)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request

from clinicflow.checkin.queue import moves, service
from clinicflow.checkin.queue.schemas import CallNextIn, MovedRead, OwnQueueRead, PriorityIn, QueueRead
from clinicflow.identity.access import Requires, Web
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.clock import Clock
from clinicflow.platform.openapi import problems
from clinicflow.platform.routing import PrefixedRouter

router = PrefixedRouter(prefix="/api/v1/queues", tags=["queues"])
P = Permission
Viewer = Annotated[TenantPrincipal, Depends(Requires(P.QUEUE_READ, P.CHECKIN_SELF, any_of=True))]
Caller = Annotated[TenantPrincipal, Depends(Requires(P.QUEUE_CALL))]
Triage = Annotated[TenantPrincipal, Depends(Requires(P.CHECKIN_STAFF))]
_ERRORS = problems(401, 403, 404, 409, 422)


async def queue_clock(request: Request) -> Clock:
    """The app's clock (a test's frozen one, or the system's)."""
    clock: Clock = request.app.state.scheduling.clock
    return clock


Now = Annotated[Clock, Depends(queue_clock)]


@router.get("/{location_id}", response_model=QueueRead | OwnQueueRead, responses=problems(401, 403, 404, 422))
async def read_queue(
    location_id: uuid.UUID,
    principal: Viewer,
    ctx: Web,
    clock: Now,
    day: Annotated[date | None, Query(description="Clinic-local day (default: today there)")] = None,
) -> QueueRead | OwnQueueRead:
    """Staff of the clinic: the whole queue (waiting in order, called, in consultation) with
    waits and estimates. A patient: their own entries, with position, number ahead and
    estimated wait."""
    async with ctx.db.reading() as uow:
        return await service.read_queue(uow, principal, location_id=location_id, day=day, now=clock.now())


@router.post("/{location_id}/call-next", response_model=MovedRead, responses=_ERRORS)
async def call_next(
    location_id: uuid.UUID, principal: Caller, ctx: Web, clock: Now, body: CallNextIn | None = None
) -> MovedRead:
    """Call the next patient of a doctor's queue (default: yours) here today. 409 QUEUE_EMPTY
    when nobody is waiting; two callers never get the same patient."""
    async with ctx.db.transaction() as uow:
        return await moves.call_next(
            uow, clock, principal, location_id=location_id, doctor_id=body.doctor_id if body else None
        )


@router.post("/entries/{check_in_id}/recall", response_model=MovedRead, responses=_ERRORS)
async def recall(check_in_id: uuid.UUID, principal: Caller, ctx: Web, clock: Now) -> MovedRead:
    """Call a called patient again (the displays announce the ticket again)."""
    async with ctx.db.transaction() as uow:
        return await moves.apply(uow, clock, principal, check_in_id=check_in_id, move=moves.RECALL)


@router.post("/entries/{check_in_id}/skip", response_model=MovedRead, responses=_ERRORS)
async def skip(check_in_id: uuid.UUID, principal: Caller, ctx: Web, clock: Now) -> MovedRead:
    """Send a waiting or called patient back: behind every on-time patient of their class."""
    async with ctx.db.transaction() as uow:
        return await moves.apply(uow, clock, principal, check_in_id=check_in_id, move=moves.SKIP)


@router.post("/entries/{check_in_id}/start", response_model=MovedRead, responses=_ERRORS)
async def start(check_in_id: uuid.UUID, principal: Caller, ctx: Web, clock: Now) -> MovedRead:
    """The called patient is in the room: the consult (and the appointment) starts."""
    async with ctx.db.transaction() as uow:
        return await moves.apply(uow, clock, principal, check_in_id=check_in_id, move=moves.START)


@router.post("/entries/{check_in_id}/complete", response_model=MovedRead, responses=_ERRORS)
async def complete(check_in_id: uuid.UUID, principal: Caller, ctx: Web, clock: Now) -> MovedRead:
    """The consult is over: the entry and the appointment are completed."""
    async with ctx.db.transaction() as uow:
        return await moves.apply(uow, clock, principal, check_in_id=check_in_id, move=moves.COMPLETE)


@router.post("/entries/{check_in_id}/no-show", response_model=MovedRead, responses=_ERRORS)
async def no_show(check_in_id: uuid.UUID, principal: Caller, ctx: Web, clock: Now) -> MovedRead:
    """A called patient never came: the entry and the appointment are no-shows."""
    async with ctx.db.transaction() as uow:
        return await moves.apply(uow, clock, principal, check_in_id=check_in_id, move=moves.NO_SHOW)


@router.put("/entries/{check_in_id}/priority", response_model=MovedRead, responses=_ERRORS)
async def set_priority(
    check_in_id: uuid.UUID, body: PriorityIn, principal: Triage, ctx: Web, clock: Now
) -> MovedRead:
    """Set a waiting patient's priority class (0 urgent, 1 high, 2 normal): the desk triages."""
    async with ctx.db.transaction() as uow:
        return await moves.apply(
            uow, clock, principal, check_in_id=check_in_id, move=moves.set_priority(body.priority)
        )
