"""Booking an offered slot: for a patient by staff, or by the patient themselves."""

from __future__ import annotations

import uuid

from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform import idempotency
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import policy
from clinicflow.scheduling.appointments.creation import (
    Checked,
    NewAppointment,
    SlotAsk,
    check_slot,
    new_appointment,
    write,
)
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.events import Event
from clinicflow.scheduling.models import Appointment, AppointmentKind, FollowUpPlan
from clinicflow.scheduling.repository import AppointmentRepository
from clinicflow.scheduling.schemas import BookingIn
from clinicflow.scheduling.state import Status


async def _open_follow_up(
    repo: AppointmentRepository, *, plan_id: uuid.UUID, patient_id: uuid.UUID
) -> FollowUpPlan:
    plan = await repo.open_follow_up(plan_id)
    if plan is None or plan.patient_id != patient_id or plan.status != "open":
        raise ValidationFailed(
            "No open follow-up plan for this patient",
            errors=[FieldProblem(field="follow_up_plan_id", message="not an open plan of this patient")],
        )
    return plan


def _new(
    principal: TenantPrincipal,
    data: BookingIn,
    *,
    patient_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    series_id: uuid.UUID | None,
) -> NewAppointment:
    return NewAppointment(
        tenant_id=principal.tenant_id,
        clinic_id=data.clinic_id,
        doctor_id=data.doctor_id,
        patient_id=patient_id,
        status=Status.SCHEDULED,
        kind=data.kind,
        reason=data.reason,
        parent_id=parent_id,
        series_id=series_id,
        created_by=principal.user_id,
    )


async def _book(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    principal: TenantPrincipal,
    data: BookingIn,
    *,
    series_id: uuid.UUID | None,
    parent_id: uuid.UUID | None,
    key: idempotency.Key | None,
) -> Appointment | idempotency.Replay:
    tenant_id = principal.tenant_id
    policy.require_bookable_clinic(principal, data.clinic_id)
    patient_id = await policy.patient_for_booking(
        uow, principal, clinic_id=data.clinic_id, patient_id=data.patient_id
    )
    plan: FollowUpPlan | None = None
    if data.follow_up_plan_id is not None:
        repo = AppointmentRepository(uow, tenant_id)
        plan = await _open_follow_up(repo, plan_id=data.follow_up_plan_id, patient_id=patient_id)
        parent_id = plan.parent_id
    ask = SlotAsk(tenant_id, data.doctor_id, data.clinic_id, data.starts_at)
    checked = await check_slot(uow, cfg, ask, claim=key)
    if not isinstance(checked, Checked):
        return checked  # the answer to the first request with this key
    new = _new(principal, data, patient_id=patient_id, parent_id=parent_id, series_id=series_id)
    appointment = new_appointment(new, checked)
    if data.kind is AppointmentKind.VIDEO:
        appointment.video_url = cfg.video.join_url(tenant_id=tenant_id, appointment_id=appointment.id)
    after = {
        "doctor_id": appointment.doctor_id,
        "clinic_id": appointment.clinic_id,
        "patient_id": patient_id,
        "starts_at": appointment.starts_at,
        "kind": appointment.kind,
    }
    await write(
        uow,
        appointment,
        capacity=checked.slot.capacity,
        actor=principal.actor,
        action="appointment.booked",
        after=after,
        event=Event.BOOKED,
        answer=key,
    )
    if plan is not None:
        plan.status = "booked"
        plan.appointment_id = appointment.id
    return appointment


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
    both enforced by the database, answered as 409 SLOT_UNAVAILABLE. Audited
    (`appointment.booked`) and emits `appointment.booked`, in the caller's transaction.

    422 codes say why a time is not bookable: IN_THE_PAST, INSIDE_MINIMUM_NOTICE,
    BEYOND_HORIZON, OUTSIDE_AVAILABILITY (including the doctor's time off). A patient's
    booking costs two round trips besides BEGIN and COMMIT.
    """
    booked = await _book(uow, cfg, principal, data, series_id=series_id, parent_id=parent_id, key=None)
    assert isinstance(booked, Appointment)
    return booked


async def book_once(
    uow: UnitOfWork,
    cfg: SchedulingConfig,
    principal: TenantPrincipal,
    *,
    data: BookingIn,
    key: idempotency.Key,
) -> Appointment | idempotency.Replay:
    """`book` under an `Idempotency-Key`: the first request with the key books and stores its
    answer; a retry with the same body gets that answer (a Replay), with another body 422
    IDEMPOTENCY_KEY_REUSED. The claim and the answer ride in the booking's own round trips."""
    return await _book(uow, cfg, principal, data, series_id=None, parent_id=None, key=key)
