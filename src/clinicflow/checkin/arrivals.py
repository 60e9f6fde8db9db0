"""An appointment arrives: the one transaction every way of checking in ends in.

A QR scan, reception's check-in, an override and a kiosk all call `admit` once per
appointment, after deciding who may check whom in and (except an override) that the
clinic's window is open (`Window.check`). `admit` then, in the caller's transaction and
in ONE round trip (a pipeline, after a savepoint):

1. moves the appointment to `checked_in` with one conditional UPDATE, with its audit
   event and its domain event's job (`scheduling.visits.queue_advance`);
2. takes the location's next ticket for the clinic-local day of the appointment and
   inserts the `check_ins` row in one statement (`uq_check_ins_tenant_id_appointment_id`
   decides, never a read-then-write), which is also the patient's place in the queue;
3. reads the doctor's part of the location's queue with the arrival in it (the same round
   trip: an arrival changes the places of that doctor's patients only);

then publishes, in one statement, `queue.updated` to the location, `appointment.updated` to
the patient, and `queue.position` to the arriving patient and to everyone waiting whose place
or estimate the arrival changed (`queue.service.arrival_notices`). When the move or the
row did not happen, everything the attempt sent is rolled back to the savepoint and the
refusal says why.

Commit publishes everything; a rollback nothing. Of 50 concurrent check-ins of one
appointment, one moves it and the other 49 find it checked in: ALREADY_CHECKED_IN with
the existing check-in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinicflow.audit.service import Actor
from clinicflow.checkin import events
from clinicflow.checkin.errors import AlreadyCheckedIn, AppointmentExpired, NotCheckable, TooEarly
from clinicflow.checkin.models import (
    DEFAULT_CLOSES_AFTER_MINUTES,
    DEFAULT_CONSULT_MINUTES,
    DEFAULT_LATE_AFTER_MINUTES,
    DEFAULT_OPENS_BEFORE_MINUTES,
    CheckIn,
    Method,
    Priority,
)
from clinicflow.checkin.queue import repository as queue_queries
from clinicflow.checkin.queue import service as queue_service
from clinicflow.checkin.queue.rows import QueueLocation
from clinicflow.checkin.repository import (
    CheckInRepository,
    arrival,
    queue_arrival,
    queue_savepoint,
    undo_attempt,
)
from clinicflow.checkin.schemas import CheckInRead
from clinicflow.errors import ClinicflowError
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.jsonable import to_jsonable
from clinicflow.scheduling import visits
from clinicflow.scheduling.state import Action
from clinicflow.scheduling.visits import Visit


@dataclass(frozen=True, slots=True)
class Window:
    """A clinic's check-in window around an appointment's start, and when arriving is late.

    Durations of real time, not wall-clock: across a DST change "30 minutes before" is
    still 30 minutes before.
    """

    opens_before: timedelta = timedelta(minutes=DEFAULT_OPENS_BEFORE_MINUTES)
    closes_after: timedelta = timedelta(minutes=DEFAULT_CLOSES_AFTER_MINUTES)
    late_after: timedelta = timedelta(minutes=DEFAULT_LATE_AFTER_MINUTES)
    default_consult: timedelta = timedelta(minutes=DEFAULT_CONSULT_MINUTES)

    def opens_at(self, starts_at: datetime) -> datetime:
        # In UTC: Python subtracts wall-clock time between datetimes of one zone, so a
        # Berlin 03:15 on the spring-forward day minus 30 minutes would be 02:45 (no such time).
        return starts_at.astimezone(UTC) - self.opens_before

    def closes_at(self, starts_at: datetime) -> datetime:
        return starts_at.astimezone(UTC) + self.closes_after

    def is_open(self, starts_at: datetime, now: datetime) -> bool:
        """Both ends included: check-in opens at `opens_at` and closes after `closes_at`."""
        return self.opens_at(starts_at) <= now <= self.closes_at(starts_at)

    def check(self, starts_at: datetime, now: datetime, zone: ZoneInfo) -> None:
        """TOO_EARLY (with `opens_at`) or APPOINTMENT_EXPIRED (with `closed_at`), in the
        clinic's time zone, unless `now` is inside the window."""
        opens_at, closes_at = self.opens_at(starts_at), self.closes_at(starts_at)
        local = starts_at.astimezone(zone)
        if now < opens_at:
            raise TooEarly(
                f"Check-in opens at {opens_at.astimezone(zone):%H:%M} for the appointment at {local:%H:%M}",
                opens_at=opens_at.astimezone(zone).isoformat(),
                starts_at=local.isoformat(),
            )
        if now > closes_at:
            raise AppointmentExpired(
                f"Check-in closed at {closes_at.astimezone(zone):%H:%M} for the appointment at {local:%H:%M}",
                closed_at=closes_at.astimezone(zone).isoformat(),
                starts_at=local.isoformat(),
            )


@dataclass(frozen=True, slots=True)
class Desk:
    """Where the arrival is recorded: a check-in location of the appointment's clinic."""

    location_id: uuid.UUID
    ticket_prefix: str
    zone: ZoneInfo


def read(check_in: CheckIn) -> CheckInRead:
    return CheckInRead.model_validate(check_in, from_attributes=True)


def already_checked_in(check_in: CheckIn) -> AlreadyCheckedIn:
    """ALREADY_CHECKED_IN carrying the existing check-in (so a second scan shows the ticket)."""
    return AlreadyCheckedIn(
        f"Already checked in at {check_in.checked_in_at:%H:%M} UTC, ticket {check_in.ticket}",
        check_in=to_jsonable(read(check_in).model_dump()),
    )


async def admit(
    uow: UnitOfWork,
    actor: Actor,
    *,
    visit: Visit,
    desk: Desk,
    window: Window,
    method: Method,
    now: datetime,
    checked_in_by: uuid.UUID | None,
    override_reason: str | None = None,
    distance_m: int | None = None,
    outside_geofence: bool = False,
    priority: Priority = Priority.NORMAL,
) -> CheckIn:
    """Check one appointment in at `desk`, in the caller's transaction (see the module); the
    caller authorized it and applied the window (`Window.check`) unless it is an override.
    Raises ALREADY_CHECKED_IN (with the existing check-in), or INVALID_TRANSITION (cancelled, …)."""
    repo = CheckInRepository(uow, visit.tenant_id)
    details: dict[str, object] = {"method": method.value, "location_id": str(desk.location_id)}
    if override_reason is not None:
        details["override_reason"] = override_reason
    values = _arrival(
        visit,
        desk,
        window,
        method=method,
        now=now,
        checked_in_by=checked_in_by,
        override_reason=override_reason,
        distance_m=distance_m,
        outside_geofence=outside_geofence,
        priority=priority,
    )
    async with uow.pipeline() as connection:  # one round trip for all of it
        await queue_savepoint(connection)
        moving = await visits.queue_advance(
            connection, actor, visit=visit, action=Action.CHECK_IN, details=details
        )
        arriving = await queue_arrival(
            connection, tenant_id=visit.tenant_id, prefix=desk.ticket_prefix, values=values
        )
        reading = await queue_queries.queue_doctor_snapshot(
            connection,
            tenant_id=visit.tenant_id,
            location_id=desk.location_id,
            doctor_id=visit.doctor_id,
            day=local_day(visit, desk),
            now=now,
        )
    moved, row = await visits.advanced(moving), await arrival(arriving)
    doctors_queue = await queue_queries.snapshot_of(reading)
    if moved is None or row is None:
        # Refused: what this attempt sent (its audit event, job, ticket, row) is undone here,
        # whatever the caller does next.
        await undo_attempt(uow)
        raise await _refusal(repo, visit, moved=moved is not None)
    places = queue_service.arrival_notices(_queue_place(visit, desk, window), doctors_queue, row.id, now)
    await _publish(uow, visit, desk, row, places)
    return row


async def _refusal(repo: CheckInRepository, visit: Visit, *, moved: bool) -> ClinicflowError:
    """Why an arrival was refused: the appointment's check-in, else its status."""
    existing = await repo.for_appointment(visit.id)
    if existing is not None:
        return already_checked_in(existing)
    if moved:  # the row conflicted yet none is there now: it changed under us
        return NotCheckable("The appointment's check-in changed while checking in", current=visit.status)
    return NotCheckable(f"An appointment that is {visit.status} cannot be checked in", current=visit.status)


def _queue_place(visit: Visit, desk: Desk, window: Window) -> QueueLocation:
    """The desk as the queue's estimates see it."""
    return QueueLocation(
        location_id=desk.location_id,
        clinic_id=visit.clinic_id,
        timezone=desk.zone.key,
        default_consult_minutes=int(window.default_consult.total_seconds() // 60),
    )


def local_day(visit: Visit, desk: Desk) -> date:
    """The clinic-local day of the visit: the day of the queue it joins."""
    return visit.starts_at.astimezone(desk.zone).date()


def _arrival(
    visit: Visit,
    desk: Desk,
    window: Window,
    *,
    method: Method,
    now: datetime,
    checked_in_by: uuid.UUID | None,
    override_reason: str | None,
    distance_m: int | None,
    outside_geofence: bool,
    priority: Priority,
) -> dict[str, object]:
    """The check-in row's values but its ticket (taken in the same statement, last)."""
    return {
        "clinic_id": visit.clinic_id,
        "location_id": desk.location_id,
        "appointment_id": visit.id,
        "patient_id": visit.patient_id,
        "doctor_id": visit.doctor_id,
        "appointment_starts_at": visit.starts_at,
        "method": method.value,
        "checked_in_by": checked_in_by,
        "override_reason": override_reason,
        "checked_in_at": now,
        "queued_at": now,
        "local_day": local_day(visit, desk),
        "priority": int(priority),
        "late": now > visit.starts_at.astimezone(UTC) + window.late_after,
        "distance_m": distance_m,
        "outside_geofence": outside_geofence,
    }


async def _publish(
    uow: UnitOfWork, visit: Visit, desk: Desk, check_in: CheckIn, places: list[events.Notice]
) -> None:
    """`queue.updated` to the location's followers, `appointment.updated` to the patient's,
    and `queue.position` to every waiting patient whose place the arrival changed (`places`):
    one statement."""
    notices = [
        events.queue_notice(
            clinic_id=visit.clinic_id,
            location_id=desk.location_id,
            reason="checked_in",
            ticket=check_in.ticket,
            doctor_id=visit.doctor_id,
        ),
        events.visit_notice(appointment_id=visit.id, patient_id=visit.patient_id, status="checked_in"),
        *places,
    ]
    await events.publish_notices(uow, notices, tenant_id=visit.tenant_id)
