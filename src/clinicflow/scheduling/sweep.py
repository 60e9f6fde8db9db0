"""The no-show sweep: appointments still open some time after their end become `no_show`."""

from __future__ import annotations

from datetime import UTC, datetime

from clinicflow.audit import service as audit
from clinicflow.audit.service import SYSTEM
from clinicflow.platform import runtime
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.jobs import job_app
from clinicflow.scheduling.appointments.creation import appointment_event
from clinicflow.scheduling.events import Event, emit
from clinicflow.scheduling.repository import lock_overdue
from clinicflow.scheduling.state import Action, Status, next_status

DEFAULT_NO_SHOW_AFTER_MINUTES = 30


async def mark_no_shows(uow: UnitOfWork, *, now: datetime, limit: int = 500) -> int:
    """Mark up to `limit` overdue open appointments as no-shows; returns how many.

    Idempotent: only `scheduled`/`confirmed` rows past their clinic's grace are
    touched, locked with SKIP LOCKED so concurrent sweeps share the work instead
    of doing it twice. Each one is audited and emits `appointment.no_show`.
    """
    overdue = await lock_overdue(uow, now=now, default_grace=DEFAULT_NO_SHOW_AFTER_MINUTES, limit=limit)
    for appointment in overdue:
        previous = Status(appointment.status)
        appointment.status = next_status(previous, Action.NO_SHOW).value
        await audit.record_change(
            uow,
            SYSTEM,
            "appointment.no_show",
            appointment,
            before={"status": previous.value},
            after={"status": Status.NO_SHOW.value},
            details={"by": "sweep"},
        )
        await emit(uow, appointment_event(Event.NO_SHOW, appointment, by="sweep"))
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
