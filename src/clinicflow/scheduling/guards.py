"""Scheduling's say in other domains' use cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling.repository import AppointmentRepository
from clinicflow.tenancy import service as tenancy


async def future_appointments(uow: UnitOfWork, tenant_id: uuid.UUID, clinic_id: uuid.UUID) -> str | None:
    """A clinic with active appointments still to come cannot be deleted (move or cancel them first)."""
    count = await AppointmentRepository(uow, tenant_id).count_upcoming_at(clinic_id, datetime.now(UTC))
    return f"it has {count} upcoming appointment(s); move or cancel them first" if count else None


def register() -> None:
    """Tell tenancy to ask scheduling before a clinic is archived (the app calls this at build)."""
    tenancy.register_clinic_archive_guard(future_appointments)
