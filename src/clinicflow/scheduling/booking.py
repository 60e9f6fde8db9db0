"""Appointment use cases: book, see, move through the visit, cancel, reschedule.

Holds for waitlist offers are in `holds.py`; follow-ups and series in `recurring.py`.

Callers own the unit of work; nothing here commits. The database refuses a
double booking (exclusion constraint) and a seat past a group's capacity
(check constraint); both become 409 SLOT_UNAVAILABLE. Every change writes an
audit event and emits a domain event in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from clinicflow.identity import policy as identity_policy
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.clock import Clock
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.db.integrity import translate_db_error
from clinicflow.platform.ids import uuid7
from clinicflow.platform.pagination import PageParams, read_page
from clinicflow.scheduling import availability_service as availability
from clinicflow.scheduling.availability import Slot
from clinicflow.scheduling.errors import (
    BeyondHorizon,
    CancellationTooLate,
    InsideMinimumNotice,
    InThePast,
    OutsideAvailability,
)
from clinicflow.scheduling.events import AppointmentEvent, Event, emit
from clinicflow.scheduling.models import (
    Appointment,
    AppointmentKind,
    ClinicSchedulingPolicy,
    FollowUpPlan,
    GroupSlot,
)
from clinicflow.scheduling.schemas import (
    AppointmentRead,
    BookingIn,
    RescheduleIn,
)
from clinicflow.scheduling.state import Action, Status, next_status
from clinicflow.scheduling.video import VideoProvider

P = Permission
DEFAULT_CANCEL_CUTOFF = timedelta(minutes=1440)


@dataclass(frozen=True)
class SchedulingConfig:
    clock: Clock
    video: VideoProvider


def read(appointment: Appointment) -> AppointmentRead:
    return AppointmentRead.model_validate(appointment, from_attributes=True)


def _event(event: Event, a: Appointment, **details: object) -> AppointmentEvent:
    return AppointmentEvent(
        event=event,
        tenant_id=a.tenant_id,
        appointment_id=a.id,
        clinic_id=a.clinic_id,
        doctor_id=a.doctor_id,
        patient_id=a.patient_id,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        details=dict(details),
    )


async def resolve_patient(
    uow: UnitOfWork, principal: TenantPrincipal, *, clinic_id: uuid.UUID, patient_id: uuid.UUID | None
) -> uuid.UUID:
    """Who a booking is for: staff with `appointments:book` at the clinic book for a
    patient; a patient books for themselves only."""
    return await identity_policy.resolve_patient(
        uow,
        principal,
        clinic_id=clinic_id,
        patient_id=patient_id,
        staff=P.APPOINTMENTS_BOOK,
        self_service=P.APPOINTMENTS_SELF,
        doing="book",
    )


async def _validated_slot(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID,
    starts_at: datetime,
    enforce_notice: bool = True,
) -> Slot:
    """The offered slot starting exactly at `starts_at`, or the specific 422 saying why not.

    `enforce_notice=False` (waitlist offers of a freed slot) skips minimum notice and horizon.
    """
    tz: ZoneInfo = await availability.require_doctor_at(
        uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=clinic_id
    )
    now = cfg.clock.now()
    starts_at = starts_at.astimezone(UTC)
    field = [FieldProblem(field="starts_at", message="not bookable")]
    if starts_at <= now:
        raise InThePast(errors=field)
    schedule = await availability.load_schedule(
        uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=clinic_id, tz=tz
    )
    if schedule is None:
        raise OutsideAvailability("The doctor has no availability at this clinic", errors=field)
    if enforce_notice and starts_at < now + timedelta(minutes=schedule.plan.min_notice_minutes):
        raise InsideMinimumNotice(
            f"Book at least {schedule.plan.min_notice_minutes} minutes ahead", errors=field
        )
    if enforce_notice and starts_at > now + timedelta(days=schedule.plan.horizon_days):
        raise BeyondHorizon(f"Book at most {schedule.plan.horizon_days} days ahead", errors=field)
    exceptions = await availability.time_off_between(
        uow,
        tenant_id=tenant_id,
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        start=starts_at - timedelta(days=1),
        end=starts_at + timedelta(days=1),
    )
    offered = availability.candidate_slots(
        schedule, starts_at, starts_at + timedelta(microseconds=1), exceptions=exceptions, now=None
    )
    if not offered:
        raise OutsideAvailability(errors=field)
    return offered[0].slot


async def _take_seat(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, doctor_id: uuid.UUID, clinic_id: uuid.UUID, slot: Slot
) -> uuid.UUID:
    """The slot group id for a new appointment: its own for a one-seat slot; for a group
    session, one more seat on the session's counter (row-locked upsert; full is 409)."""
    if slot.capacity == 1:
        return uuid7()  # a one-seat appointment is its own group: this becomes its id
    stmt = (
        insert(GroupSlot)
        .values(
            id=uuid7(),
            tenant_id=tenant_id,
            doctor_id=doctor_id,
            clinic_id=clinic_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            capacity=slot.capacity,
            booked=1,
        )
        .on_conflict_do_update(
            index_elements=["tenant_id", "doctor_id", "starts_at"],
            set_={"booked": GroupSlot.booked + 1},
        )
        .returning(GroupSlot.id)
    )
    try:
        return (await uow.session.execute(stmt)).scalar_one()
    except DBAPIError as exc:
        raise translate_db_error(exc) or exc from exc


async def _release_seat(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, appointment_id: uuid.UUID, group_id: uuid.UUID
) -> None:
    """Give a group seat back (nothing to do for a one-seat appointment, its own group)."""
    if group_id == appointment_id:
        return
    await uow.session.execute(
        update(GroupSlot)
        .where(GroupSlot.tenant_id == tenant_id, GroupSlot.id == group_id)
        .values(booked=GroupSlot.booked - 1)
    )


async def book(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    principal: TenantPrincipal,
    *,
    data: BookingIn,
    series_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
) -> Appointment:
    """Book an offered slot. Guarantees: never two active appointments of one doctor in
    overlapping time (unless seats of one group session), never more seats than capacity —
    both enforced by the database, answered as 409 SLOT_UNAVAILABLE.

    422 codes say why a time is not bookable: IN_THE_PAST, INSIDE_MINIMUM_NOTICE,
    BEYOND_HORIZON, OUTSIDE_AVAILABILITY (including the doctor's time off).
    """
    tenant_id = principal.tenant_id
    if not principal.can(P.CLINICS_READ, clinic_id=data.clinic_id):
        raise ValidationFailed(
            "No such clinic", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
        )
    patient_id = await resolve_patient(uow, principal, clinic_id=data.clinic_id, patient_id=data.patient_id)
    plan: FollowUpPlan | None = None
    if data.follow_up_plan_id is not None:
        plan = await _open_follow_up(
            uow, tenant_id=tenant_id, plan_id=data.follow_up_plan_id, patient_id=patient_id
        )
        parent_id = plan.parent_id
    slot = await _validated_slot(
        uow,
        cfg,
        tenant_id=tenant_id,
        doctor_id=data.doctor_id,
        clinic_id=data.clinic_id,
        starts_at=data.starts_at,
    )
    group_id = await _take_seat(
        uow, tenant_id=tenant_id, doctor_id=data.doctor_id, clinic_id=data.clinic_id, slot=slot
    )
    appointment_id = uuid7() if slot.capacity > 1 else group_id
    appointment = Appointment(
        id=appointment_id,
        tenant_id=tenant_id,
        clinic_id=data.clinic_id,
        doctor_id=data.doctor_id,
        patient_id=patient_id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        blocked_from=slot.blocked_from,
        blocked_until=slot.blocked_until,
        slot_group_id=group_id,
        status=Status.SCHEDULED.value,
        kind=data.kind.value,
        reason=data.reason,
        parent_id=parent_id,
        series_id=series_id,
        created_by=principal.user_id,
    )
    if data.kind is AppointmentKind.VIDEO:
        appointment.video_url = cfg.video.join_url(tenant_id=tenant_id, appointment_id=appointment_id)
    uow.session.add(appointment)
    await uow.flush()  # the exclusion constraint speaks here
    await uow.session.refresh(appointment, ["created_at", "updated_at"])
    if plan is not None:
        plan.status = "booked"
        plan.appointment_id = appointment.id
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=principal.actor,
        action="appointment.booked",
        subject_type="appointment",
        subject_id=appointment.id,
        after={
            "doctor_id": appointment.doctor_id,
            "clinic_id": appointment.clinic_id,
            "patient_id": patient_id,
            "starts_at": appointment.starts_at,
            "kind": appointment.kind,
        },
    )
    await emit(uow, _event(Event.BOOKED, appointment))
    return appointment


def _visible_clause(principal: TenantPrincipal) -> ColumnElement[bool]:
    """Appointments the principal may see: in clinics where they read appointments, or their own."""
    clinics = principal.clinics_for(P.APPOINTMENTS_READ)
    own = Appointment.patient_id == principal.user_id
    if clinics is None:
        return true()
    if clinics:
        return Appointment.clinic_id.in_(clinics) | own
    return own


async def get_visible(
    uow: UnitOfWork, principal: TenantPrincipal, appointment_id: uuid.UUID, *, lock: bool = False
) -> Appointment:
    """The appointment if the principal may see it (else 404, also for another tenant's)."""
    stmt = select(Appointment).where(
        Appointment.tenant_id == principal.tenant_id, Appointment.id == appointment_id
    )
    stmt = stmt.where(_visible_clause(principal))
    if lock:
        stmt = stmt.with_for_update()
    appointment = (await uow.session.execute(stmt)).scalar_one_or_none()
    if appointment is None:
        raise NotFound("Appointment not found")
    return appointment


async def list_appointments(
    uow: UnitOfWork,
    principal: TenantPrincipal,
    *,
    patient_id: uuid.UUID | None,
    doctor_id: uuid.UUID | None,
    clinic_id: uuid.UUID | None,
    status: Status | None,
    start: datetime | None,
    end: datetime | None,
    page: PageParams,
) -> tuple[list[AppointmentRead], str | None]:
    """Appointments the principal may see, by id (creation) order, filtered."""
    table = Appointment.__table__
    stmt = select(*table.columns).where(table.c.tenant_id == principal.tenant_id)
    stmt = stmt.where(_visible_clause(principal))
    if patient_id is not None:
        stmt = stmt.where(table.c.patient_id == patient_id)
    if doctor_id is not None:
        stmt = stmt.where(table.c.doctor_id == doctor_id)
    if clinic_id is not None:
        stmt = stmt.where(table.c.clinic_id == clinic_id)
    if status is not None:
        stmt = stmt.where(table.c.status == status.value)
    if start is not None:
        stmt = stmt.where(table.c.starts_at >= start)
    if end is not None:
        stmt = stmt.where(table.c.starts_at < end)
    return await read_page(uow, stmt, Appointment.id, page, AppointmentRead)


async def _policy_cutoff(uow: UnitOfWork, appointment: Appointment) -> timedelta:
    minutes = (
        await uow.execute(
            select(ClinicSchedulingPolicy.patient_cancel_cutoff_minutes).where(
                ClinicSchedulingPolicy.tenant_id == appointment.tenant_id,
                ClinicSchedulingPolicy.clinic_id == appointment.clinic_id,
            )
        )
    ).scalar_one_or_none()
    return timedelta(minutes=minutes) if minutes is not None else DEFAULT_CANCEL_CUTOFF


async def _change_allowed(
    uow: UnitOfWork, cfg: SchedulingConfig, principal: TenantPrincipal, appointment: Appointment
) -> bool:
    """May the principal cancel or move this appointment now? Returns True when it is staff
    acting inside the patient cut-off (an override, audited as such).

    Staff with `appointments:manage` at the clinic may always; the patient may change their own
    only before the clinic's cut-off (CancellationTooLate); anyone else is Forbidden.
    """
    staff = principal.can(P.APPOINTMENTS_MANAGE, clinic_id=appointment.clinic_id)
    own = appointment.patient_id == principal.user_id and principal.has(P.APPOINTMENTS_SELF)
    if not staff and not own:
        raise Forbidden("You may not change this appointment")
    cutoff = await _policy_cutoff(uow, appointment)
    inside = appointment.starts_at - cfg.clock.now() < cutoff
    if inside and not staff:
        raise CancellationTooLate(
            f"Changes online close {int(cutoff.total_seconds() // 3600)} hours before the visit"
        )
    return inside and staff


_MANAGE_ONLY = {Action.CHECK_IN, Action.START, Action.COMPLETE, Action.NO_SHOW}
_EVENTS = {
    Action.CONFIRM: Event.CONFIRMED,
    Action.CHECK_IN: Event.CHECKED_IN,
    Action.START: Event.STARTED,
    Action.COMPLETE: Event.COMPLETED,
    Action.CANCEL: Event.CANCELLED,
    Action.NO_SHOW: Event.NO_SHOW,
}


async def transition(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    principal: TenantPrincipal,
    *,
    appointment_id: uuid.UUID,
    action: Action,
    reason: str | None = None,
) -> Appointment:
    """Move an appointment along the transition table (409 INVALID_TRANSITION otherwise).

    Staff with `appointments:manage` at the clinic may do anything the table allows,
    cancelling even past the patient cut-off (audited as an override). Patients may
    confirm and cancel their own, cancelling only before the clinic's cut-off.
    """
    appointment = await get_visible(uow, principal, appointment_id, lock=True)
    current = Status(appointment.status)
    target = next_status(current, action)
    override = False
    if action in _MANAGE_ONLY:
        if not principal.can(P.APPOINTMENTS_MANAGE, clinic_id=appointment.clinic_id):
            raise Forbidden("Only clinic staff may do this")
    elif action is Action.CANCEL:
        override = await _change_allowed(uow, cfg, principal, appointment)
    elif action is Action.CONFIRM and not (
        principal.can(P.APPOINTMENTS_MANAGE, clinic_id=appointment.clinic_id)
        or appointment.patient_id == principal.user_id
    ):
        raise Forbidden("You may not confirm this appointment")
    appointment.status = target.value
    if target is Status.CANCELLED:
        appointment.cancelled_at = cfg.clock.now()
        appointment.cancel_reason = reason
        await _release_seat(
            uow,
            tenant_id=appointment.tenant_id,
            appointment_id=appointment.id,
            group_id=appointment.slot_group_id,
        )
    await uow.flush()
    details: dict[str, object] = {"reason": reason} if reason else {}
    if override:
        details["cutoff_override"] = True
    await audit.record_change(
        uow,
        principal.actor,
        f"appointment.{action.value}",
        appointment,
        before={"status": current.value},
        after={"status": target.value},
        details=details,
    )
    await emit(uow, _event(_EVENTS[action], appointment, **details))
    await uow.session.refresh(appointment, ["updated_at"])
    return appointment


async def reschedule(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    principal: TenantPrincipal,
    *,
    appointment_id: uuid.UUID,
    data: RescheduleIn,
) -> Appointment:
    """Move an appointment to another offered slot (optionally another doctor of the clinic).

    Atomic: one UPDATE takes the new time and releases the old one, so the patient is
    never without a booking and the exclusion constraint checks the new time against
    every other appointment (a taken time is 409 SLOT_UNAVAILABLE and nothing changes).
    For group sessions the new seat is taken before the old seat is given back.
    """
    appointment = await get_visible(uow, principal, appointment_id, lock=True)
    current = Status(appointment.status)
    target = next_status(current, Action.RESCHEDULE)
    await _change_allowed(uow, cfg, principal, appointment)
    doctor_id = data.doctor_id or appointment.doctor_id
    slot = await _validated_slot(
        uow,
        cfg,
        tenant_id=appointment.tenant_id,
        doctor_id=doctor_id,
        clinic_id=appointment.clinic_id,
        starts_at=data.starts_at,
    )
    before = {"starts_at": appointment.starts_at, "doctor_id": appointment.doctor_id, "status": current.value}
    old_group = appointment.slot_group_id
    new_group = await _take_seat(
        uow, tenant_id=appointment.tenant_id, doctor_id=doctor_id, clinic_id=appointment.clinic_id, slot=slot
    )
    old = {
        "previous_starts_at": appointment.starts_at,
        "previous_ends_at": appointment.ends_at,
        "previous_doctor_id": appointment.doctor_id,
    }
    appointment.doctor_id = doctor_id
    appointment.starts_at = slot.starts_at
    appointment.ends_at = slot.ends_at
    appointment.blocked_from = slot.blocked_from
    appointment.blocked_until = slot.blocked_until
    appointment.slot_group_id = new_group if slot.capacity > 1 else appointment.id
    appointment.status = target.value
    await uow.flush()  # the exclusion constraint checks the new time here
    await _release_seat(
        uow, tenant_id=appointment.tenant_id, appointment_id=appointment.id, group_id=old_group
    )
    await audit.record(
        uow,
        tenant_id=appointment.tenant_id,
        actor=principal.actor,
        action="appointment.rescheduled",
        subject_type="appointment",
        subject_id=appointment.id,
        before=before,
        after={"starts_at": appointment.starts_at, "doctor_id": doctor_id, "status": target.value},
    )
    await emit(uow, _event(Event.RESCHEDULED, appointment, **old))
    await uow.session.refresh(appointment, ["updated_at"])
    return appointment


async def _open_follow_up(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, plan_id: uuid.UUID, patient_id: uuid.UUID
) -> FollowUpPlan:
    plan = (
        await uow.session.execute(
            select(FollowUpPlan)
            .where(FollowUpPlan.tenant_id == tenant_id, FollowUpPlan.id == plan_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if plan is None or plan.patient_id != patient_id or plan.status != "open":
        raise ValidationFailed(
            "No open follow-up plan for this patient",
            errors=[FieldProblem(field="follow_up_plan_id", message="not an open plan of this patient")],
        )
    return plan
