"""The no-show sweep: appointments still open some time after their end become `no_show`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, literal, select

from clinicflow.audit import service as audit
from clinicflow.audit.service import SYSTEM
from clinicflow.platform import runtime
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.jobs import job_app
from clinicflow.scheduling.events import AppointmentEvent, Event, emit
from clinicflow.scheduling.models import Appointment, ClinicSchedulingPolicy
from clinicflow.scheduling.state import Action, Status, next_status

DEFAULT_NO_SHOW_AFTER_MINUTES = 30


async def mark_no_shows(uow: UnitOfWork, *, now: datetime, limit: int = 500) -> int:
    """Mark up to `limit` overdue open appointments as no-shows; returns how many.

    Idempotent: only `scheduled`/`confirmed` rows past their clinic's grace are
    touched, locked with SKIP LOCKED so concurrent sweeps share the work instead
    of doing it twice. Each one is audited and emits `appointment.no_show`.
    """
    grace = func.coalesce(
        ClinicSchedulingPolicy.no_show_after_minutes, literal(DEFAULT_NO_SHOW_AFTER_MINUTES)
    )
    stmt = (
        select(Appointment)
        .outerjoin(
            ClinicSchedulingPolicy,
            (ClinicSchedulingPolicy.tenant_id == Appointment.tenant_id)
            & (ClinicSchedulingPolicy.clinic_id == Appointment.clinic_id),
        )
        .where(
            Appointment.status.in_((Status.SCHEDULED.value, Status.CONFIRMED.value)),
            Appointment.ends_at < now,  # lets the partial index on open appointments' ends_at serve
            Appointment.ends_at + func.make_interval(0, 0, 0, 0, 0, grace) < now,
        )
        .order_by(Appointment.ends_at)
        .limit(limit)
        .with_for_update(of=Appointment, skip_locked=True)
    )
    overdue = list((await uow.session.execute(stmt)).scalars())
    for appointment in overdue:
        previous = Status(appointment.status)
        appointment.status = next_status(previous, Action.NO_SHOW).value
        await audit.record(
            uow,
            tenant_id=appointment.tenant_id,
            actor=SYSTEM,
            action="appointment.no_show",
            subject_type="appointment",
            subject_id=appointment.id,
            before={"status": previous.value},
            after={"status": Status.NO_SHOW.value},
            details={"by": "sweep"},
        )
        await emit(
            uow,
            AppointmentEvent(
                event=Event.NO_SHOW,
                tenant_id=appointment.tenant_id,
                appointment_id=appointment.id,
                clinic_id=appointment.clinic_id,
                doctor_id=appointment.doctor_id,
                patient_id=appointment.patient_id,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                details={"by": "sweep"},
            ),
        )
    await uow.flush()
    return len(overdue)


@job_app.periodic(cron="*/5 * * * *", periodic_id="no-show-sweep")
@job_app.task(name="scheduling.sweep_no_shows", queueing_lock="scheduling.sweep_no_shows")
async def sweep_no_shows(timestamp: int) -> None:
    """Every 5 minutes, until nothing is overdue."""
    while True:
        async with runtime.database().transaction() as uow:
            if await mark_no_shows(uow, now=datetime.now(UTC)) < 500:
                return
