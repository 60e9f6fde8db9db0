"""Scheduling's say in other domains' use cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling.models import ACTIVE_STATUSES, Appointment
from clinicflow.tenancy import service as tenancy


async def future_appointments(uow: UnitOfWork, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> str | None:
    """A clinic with active appointments still to come cannot be deleted (move or cancel them first)."""
    count = (
        await uow.execute(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.tenant_id == tenant_id,
                Appointment.clinic_id == clinic_id,
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.ends_at > datetime.now(UTC),
            )
        )
    ).scalar_one()
    return f"it has {count} upcoming appointment(s); move or cancel them first" if count else None


tenancy.register_clinic_archive_guard(future_appointments)
