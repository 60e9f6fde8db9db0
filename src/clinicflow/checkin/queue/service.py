"""Reading a location's queue, and telling everyone what a change did to it.

Callers own the unit of work; nothing here commits. A read is two statements (the
location, then the queue's snapshot: `repository`), whatever the queue's length.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinicflow.checkin import events
from clinicflow.checkin.models import QueueStatus
from clinicflow.checkin.queue import estimates
from clinicflow.checkin.queue import policy as access
from clinicflow.checkin.queue import repository as queries
from clinicflow.checkin.queue.estimates import DoctorLoad, Estimate
from clinicflow.checkin.queue.policy import View
from clinicflow.checkin.queue.rows import Entry, Moved, QueueDesk, QueueLocation, Snapshot
from clinicflow.checkin.queue.schemas import OwnPlaceRead, OwnQueueRead, QueueRead
from clinicflow.errors import NotFound
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.realtime.policy import patient_channel

#: What a waiting patient hears on their `patient:` channel when their place or estimate moves.
QUEUE_POSITION = "queue.position"


async def location_or_raise(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID
) -> QueueLocation:
    """The tenant's live location with its clinic's zone and default consult (404 otherwise)."""
    found = await queries.location(uow, tenant_id=tenant_id, location_id=location_id)
    if found is None:
        raise NotFound("Location not found")
    return found


def local_day(location: QueueLocation, now: datetime) -> date:
    """The clinic-local date of `now` at the location's clinic."""
    return now.astimezone(ZoneInfo(location.timezone)).date()


def default_consult(location: QueueLocation) -> timedelta:
    return timedelta(minutes=location.default_consult_minutes)


def loads(snapshot: Snapshot, default: timedelta) -> dict[uuid.UUID, DoctorLoad]:
    """Per doctor of the snapshot: their consult length and what they have in hand."""
    result = {
        doctor_id: DoctorLoad(consult=estimates.consult_length(seconds, default))
        for doctor_id, seconds in snapshot.consult_seconds.items()
    }
    for entry in snapshot.active:
        load = result.setdefault(entry.doctor_id, DoctorLoad(consult=default))
        if entry.queue_status == QueueStatus.IN_CONSULTATION and entry.started_at is not None:
            load.started.append(entry.started_at)
        else:
            load.called += 1
    return result


def board(snapshot: Snapshot, default: timedelta, now: datetime) -> dict[uuid.UUID, Estimate]:
    """Every waiting entry's position and estimate."""
    return estimates.estimate_waits(
        [(e.id, e.doctor_id) for e in snapshot.waiting], loads(snapshot, default), default=default, now=now
    )


def _row(entry: Entry, now: datetime, estimate: Estimate | None, position: int | None) -> dict[str, object]:
    """One entry's `QueueEntryRead` fields (validated with the whole read, in one call)."""
    return {
        "check_in_id": entry.id,
        "appointment_id": entry.appointment_id,
        "ticket": entry.ticket,
        "status": entry.queue_status,
        "priority": entry.priority,
        "late": entry.late,
        "patient_id": entry.patient_id,
        "patient_name": entry.patient_name,
        "doctor_id": entry.doctor_id,
        "doctor_name": entry.doctor_name,
        "appointment_starts_at": entry.appointment_starts_at,
        "checked_in_at": entry.checked_in_at,
        "queued_at": entry.queued_at,
        "called_at": entry.called_at,
        "started_at": entry.started_at,
        "waited_minutes": estimates.minutes_of(now - entry.queued_at) if position is not None else 0,
        "recall_count": entry.recall_count,
        "skip_count": entry.skip_count,
        "long_wait": entry.long_wait_flagged_at is not None,
        "position": position,
        "ahead": estimate.ahead if estimate else None,
        "estimate_minutes": estimate.minutes if estimate else None,
    }


def _full(location: QueueLocation, day: date, snapshot: Snapshot, now: datetime) -> QueueRead:
    """The staff read, validated in one call: per-entry models cost 36 µs each in Python,
    the whole read's dict validated at once costs a fraction of it."""
    places = board(snapshot, default_consult(location), now)
    active = [_row(e, now, None, None) for e in snapshot.active]
    return QueueRead.model_validate(
        {
            "location_id": location.location_id,
            "clinic_id": location.clinic_id,
            "day": day,
            "waiting": [_row(e, now, places[e.id], n) for n, e in enumerate(snapshot.waiting, start=1)],
            "called": [r for r in active if r["status"] == QueueStatus.CALLED],
            "in_consultation": [r for r in active if r["status"] == QueueStatus.IN_CONSULTATION],
        }
    )


def _own(
    location: QueueLocation, day: date, snapshot: Snapshot, now: datetime, patient_id: uuid.UUID
) -> OwnQueueRead:
    places = board(snapshot, default_consult(location), now)
    mine = [e for e in (*snapshot.waiting, *snapshot.active) if e.patient_id == patient_id]
    return OwnQueueRead(
        location_id=location.location_id,
        day=day,
        entries=[
            OwnPlaceRead(
                check_in_id=e.id,
                appointment_id=e.appointment_id,
                ticket=e.ticket,
                status=e.queue_status,
                doctor_id=e.doctor_id,
                position=places[e.id].position if e.id in places else None,
                ahead=places[e.id].ahead if e.id in places else None,
                estimate_minutes=places[e.id].minutes if e.id in places else None,
            )
            for e in mine
        ],
    )


async def read_queue(
    uow: UnitOfWork,
    principal: TenantPrincipal,
    *,
    location_id: uuid.UUID,
    day: date | None,
    now: datetime,
) -> QueueRead | OwnQueueRead:
    """The location's queue of `day` (default: today, clinic-local): all of it for the clinic's
    queue readers (names, waits, estimates), a patient's own entries for a patient. 404 for
    another tenant's or an archived location. Reads only: two statements."""
    location = await location_or_raise(uow, tenant_id=principal.tenant_id, location_id=location_id)
    view = access.queue_view(principal, location.clinic_id)
    day = day or local_day(location, now)
    snapshot = await queries.snapshot(
        uow,
        tenant_id=principal.tenant_id,
        location_id=location_id,
        day=day,
        now=now,
        names=view is View.FULL,
    )
    if view is View.FULL:
        return _full(location, day, snapshot, now)
    return _own(location, day, snapshot, now, principal.user_id)


@dataclass(frozen=True, slots=True)
class StaffQueue:
    """A location's whole queue with its clinic's zone, for showing its times on the clinic's clock."""

    queue: QueueRead
    timezone: str


async def read_staff_queue(
    uow: UnitOfWork,
    principal: TenantPrincipal,
    *,
    location_id: uuid.UUID,
    day: date | None,
    now: datetime,
) -> StaffQueue:
    """What `read_queue` answers the clinic's queue readers, with the clinic's zone; 404 for
    anyone else (a patient reads their own entries through `read_queue`). Two statements."""
    location = await location_or_raise(uow, tenant_id=principal.tenant_id, location_id=location_id)
    return await read_staff_queue_at(uow, principal, location, day=day, now=now)


async def read_staff_queue_at(
    uow: UnitOfWork, principal: TenantPrincipal, location: QueueLocation, *, day: date | None, now: datetime
) -> StaffQueue:
    """`read_staff_queue` of a location already read (`queue_desks`): one statement."""
    if access.queue_view(principal, location.clinic_id) is not View.FULL:
        raise NotFound("Location not found")
    day = day or local_day(location, now)
    snapshot = await queries.snapshot(
        uow, tenant_id=principal.tenant_id, location_id=location.location_id, day=day, now=now, names=True
    )
    return StaffQueue(_full(location, day, snapshot, now), location.timezone)


async def queue_desks(
    uow: UnitOfWork, principal: TenantPrincipal, *, among: frozenset[uuid.UUID] | None, limit: int
) -> list[QueueDesk]:
    """The check-in locations whose whole queue the principal reads (of the clinics `among`
    unless None), by location id, at most `limit`: one statement."""
    clinics = access.full_queue_clinics(principal)  # None: all of them
    if among is not None:
        clinics = among if clinics is None else clinics & among
    if clinics is not None and not clinics:
        return []
    return await queries.desks(uow, tenant_id=principal.tenant_id, clinic_ids=clinics, limit=limit)


async def desks_with_my_patients(
    uow: UnitOfWork, principal: TenantPrincipal, *, location_ids: Sequence[uuid.UUID], now: datetime
) -> set[uuid.UUID]:
    """Which of these locations have patients of the principal (a clinician) still open in
    their queue today: waiting for them, called, or with them. One statement."""
    return await queries.desks_with_open_entries(
        uow, tenant_id=principal.tenant_id, doctor_id=principal.user_id, location_ids=location_ids, now=now
    )


async def announce(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    location: QueueLocation,
    moved: Iterable[Moved],
    reason: str,
    before: Snapshot,
    after: Snapshot,
    now: datetime,
) -> None:
    """Publish a queue change in the caller's transaction: `queue.updated` on the location's
    channel (per moved entry: its ticket and doctor, no patient), and `queue.position` on
    the `patient:` channel of each patient whose entry moved or whose waiting place or
    estimate changed (ids and small numbers only), all in one more statement."""
    default = default_consult(location)
    old, new = board(before, default, now), board(after, default, now)
    patients = {e.id: e.patient_id for e in (*before.waiting, *before.active, *after.waiting)}
    moved_entries = list(moved)
    notices: list[events.Notice] = [
        events.queue_notice(
            clinic_id=location.clinic_id,
            location_id=location.location_id,
            reason=reason,
            ticket=entry.ticket,
            doctor_id=entry.doctor_id,
        )
        for entry in moved_entries
    ]
    for entry in moved_entries:
        if entry.id not in new:
            data = {
                "check_in_id": entry.id,
                "location_id": location.location_id,
                "status": entry.queue_status,
            }
            notices.append((patient_channel(entry.patient_id), QUEUE_POSITION, data))
    notices += _changed_places(location, old, new, patients)
    await events.publish_notices(uow, notices, tenant_id=tenant_id)


def _changed_places(
    location: QueueLocation,
    old: dict[uuid.UUID, Estimate],
    new: dict[uuid.UUID, Estimate],
    patients: dict[uuid.UUID, uuid.UUID],
) -> list[events.Notice]:
    """`queue.position` for each waiting entry whose place or estimate is not what it was."""
    notices: list[events.Notice] = []
    for check_in_id, estimate in new.items():
        if old.get(check_in_id) != estimate:
            data = {"check_in_id": check_in_id, "location_id": location.location_id, "status": "waiting"}
            notices.append(
                (patient_channel(patients[check_in_id]), QUEUE_POSITION, data | estimate.as_event())
            )
    return notices


def arrival_notices(
    location: QueueLocation, after: Snapshot, arrived: uuid.UUID, now: datetime
) -> list[events.Notice]:
    """What an arrival changes for the patients waiting at its location: `queue.position` for
    the arriving entry and for each one it now stands ahead of (an earlier appointment or a
    higher priority sorts it ahead). `after` is the queue read with the arrival in it — its
    doctor's part is enough, since a place and an estimate depend on the patients ahead for
    the same doctor only (`estimates`); the queue before it is the same without the
    arrival, so no second read is needed."""
    before = Snapshot(
        waiting=[e for e in after.waiting if e.id != arrived],
        active=after.active,
        consult_seconds=after.consult_seconds,
    )
    default = default_consult(location)
    patients = {e.id: e.patient_id for e in after.waiting}
    return _changed_places(location, board(before, default, now), board(after, default, now), patients)
