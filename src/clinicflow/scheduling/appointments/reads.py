"""Seeing appointments: one by id, or a filtered page, limited to what the principal may see."""

from __future__ import annotations

import uuid
from datetime import datetime

from clinicflow.errors import NotFound
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, read_page
from clinicflow.scheduling import policy
from clinicflow.scheduling.models import Appointment
from clinicflow.scheduling.repository import AppointmentFilters, AppointmentRepository
from clinicflow.scheduling.schemas import AppointmentRead
from clinicflow.scheduling.state import Status


def read(appointment: Appointment) -> AppointmentRead:
    return AppointmentRead.model_validate(appointment, from_attributes=True)


async def get_visible(
    uow: UnitOfWork, principal: TenantPrincipal, appointment_id: uuid.UUID, *, lock: bool = False
) -> Appointment:
    """The appointment if the principal may see it (else 404, also for another tenant's);
    `lock` holds its row until the transaction ends."""
    repo = AppointmentRepository(uow, principal.tenant_id)
    appointment = await repo.get_visible(appointment_id, policy.visibility(principal), lock=lock)
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
    filters = AppointmentFilters(
        patient_id=patient_id,
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        status=status.value if status is not None else None,
        start=start,
        end=end,
    )
    stmt = AppointmentRepository(uow, principal.tenant_id).visible_rows(policy.visibility(principal), filters)
    return await read_page(uow, stmt, Appointment.id, page, AppointmentRead)
