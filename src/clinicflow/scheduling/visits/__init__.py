"""The day of the visit as other domains see it: appointments to arrive for, and their moves.

Check-in and the queue (`clinicflow.checkin`) decide *who* may check a patient in or
call them; this module is scheduling's side of it, with no authorization of its own:

- `Visit` (read by `visits.repository.VisitRepository`): one appointment as a read
  model (no ORM object leaves scheduling);
- `visits_between`: the appointments of some patients starting in a window, at a clinic;
- `advance`: one visit move (check in, start, complete, no-show) as ONE conditional
  UPDATE, so two concurrent moves of one appointment never both succeed, audited and
  emitted like every other transition;
- `queue_advance` / `advanced`: the same move sent in the caller's pipeline, with its
  audit event and job, so a core path (the QR scan) pays one round trip for all of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

import psycopg

from clinicflow.audit import service as audit
from clinicflow.audit.service import Actor
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling.events import AppointmentEvent, Event, emit, queue_emit
from clinicflow.scheduling.state import TRANSITIONS, Action, Status
from clinicflow.scheduling.visits.repository import Visit, VisitRepository, moved_visit, queue_move

__all__ = [
    "TARGETS",
    "VISIT_ACTIONS",
    "Visit",
    "advance",
    "advanced",
    "get_visit",
    "queue_advance",
    "sources",
    "visits_between",
]

#: The moves of the visit itself; everything else goes through `appointments.transition`.
VISIT_ACTIONS = frozenset({Action.CHECK_IN, Action.START, Action.COMPLETE, Action.NO_SHOW})

_EVENTS = {
    Action.CHECK_IN: Event.CHECKED_IN,
    Action.START: Event.STARTED,
    Action.COMPLETE: Event.COMPLETED,
    Action.NO_SHOW: Event.NO_SHOW,
}


def sources(action: Action) -> frozenset[Status]:
    """The statuses `action` may leave (the transition table's rows for it)."""
    return frozenset(current for (current, a) in TRANSITIONS if a is action)


def _target(action: Action) -> Status:
    (target,) = {to for (_, a), to in TRANSITIONS.items() if a is action}
    return target


#: Each visit move leads to one status whatever it leaves (checked at import).
TARGETS = {action: _target(action) for action in VISIT_ACTIONS}


async def visits_between(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    patient_ids: Collection[uuid.UUID],
    start: datetime,
    end: datetime,
    clinic_id: uuid.UUID | None = None,
) -> list[Visit]:
    """The patients' appointments starting in [start, end), any status, by start time."""
    if not patient_ids:
        return []
    return await VisitRepository(uow, tenant_id).starting_between(
        patient_ids, start=start, end=end, clinic_id=clinic_id
    )


async def get_visit(uow: UnitOfWork, *, tenant_id: uuid.UUID, appointment_id: uuid.UUID) -> Visit | None:
    """The tenant's appointment, or None (also for another tenant's id)."""
    return await VisitRepository(uow, tenant_id).visit(appointment_id)


async def advance(
    uow: UnitOfWork,
    actor: Actor,
    *,
    tenant_id: uuid.UUID,
    appointment_id: uuid.UUID,
    action: Action,
    details: dict[str, object] | None = None,
) -> Visit | None:
    """Apply one visit move, or return None when the appointment is not in a status it
    leaves (or does not exist in the tenant): the caller says why.

    Guarantees: one statement (`UPDATE … WHERE status IN (…) RETURNING`), so of two
    concurrent moves of one appointment exactly one succeeds and the other sees the
    status it left; the change is audited as `appointment.<action>` and its domain
    event deferred, in the caller's transaction. The caller has authorized it.
    """
    if action not in VISIT_ACTIONS:
        raise ValueError(f"{action} is not a visit move")
    target = TARGETS[action]
    visit = await VisitRepository(uow, tenant_id).move(appointment_id, sources(action), target)
    if visit is None:
        return None
    extra = dict(details or {})
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=actor,
        action=f"appointment.{action.value}",
        subject_type="appointment",
        subject_id=visit.id,
        after={"status": target.value},
        details=extra,
    )
    await emit(uow, _event(visit, action, extra))
    return visit


def _event(visit: Visit, action: Action, details: dict[str, object]) -> AppointmentEvent:
    """The domain event of a visit move (the visit's doctor, patient and times)."""
    return AppointmentEvent(
        event=_EVENTS[action],
        tenant_id=visit.tenant_id,
        appointment_id=visit.id,
        clinic_id=visit.clinic_id,
        doctor_id=visit.doctor_id,
        patient_id=visit.patient_id,
        starts_at=visit.starts_at,
        ends_at=visit.ends_at,
        details=details,
    )


async def queue_advance(
    connection: psycopg.AsyncConnection[Any],
    actor: Actor,
    *,
    visit: Visit,
    action: Action,
    details: dict[str, object] | None = None,
) -> psycopg.AsyncCursor[Any]:
    """`advance` sent on the transaction's psycopg connection, for a caller's pipeline: the
    conditional UPDATE, the audit event and the domain event's job travel together. Read the
    outcome with `advanced(cursor)` after the pipeline.

    The audit event and the job are sent before the UPDATE's answer is known: when the
    move did not happen (`advanced` is None) the caller must not commit them, so it rolls
    back to a savepoint taken before, or lets its refusal end the transaction.
    `visit` is the appointment as the caller read it in this transaction (the event's
    doctor, patient and times; the move changes only the status).
    """
    if action not in VISIT_ACTIONS:
        raise ValueError(f"{action} is not a visit move")
    target = TARGETS[action]
    cursor = await queue_move(connection, visit.tenant_id, visit.id, sources(action), target)
    extra = dict(details or {})
    await audit.queue_change(
        connection, actor, f"appointment.{action.value}", visit, after={"status": target.value}, details=extra
    )
    await queue_emit(connection, _event(visit, action, extra))
    return cursor


async def advanced(cursor: psycopg.AsyncCursor[Any]) -> Visit | None:
    """The visit as `queue_advance` moved it, or None when it left no status it may leave."""
    return await moved_visit(cursor)
