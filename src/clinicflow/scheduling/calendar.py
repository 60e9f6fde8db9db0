"""An appointment as a calendar file, for the API and the pages alike."""

from __future__ import annotations

import uuid

from clinicflow.identity import directory
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import booking
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.ics import appointment_ics
from clinicflow.tenancy import service as tenancy


async def calendar_file(
    uow: UnitOfWork, cfg: SchedulingConfig, principal: TenantPrincipal, appointment_id: uuid.UUID
) -> bytes:
    """The iCalendar file of an appointment the principal may see (404 otherwise)."""
    appointment = booking.read(await booking.get_visible(uow, principal, appointment_id))
    tenant_id = principal.tenant_id
    doctor = await directory.contact_of(uow, tenant_id=tenant_id, user_id=appointment.doctor_id)
    clinic = await tenancy.get_clinic(uow, tenant_id=tenant_id, clinic_id=appointment.clinic_id)
    return appointment_ics(
        appointment,
        clinic_name=clinic.name if clinic else "the clinic",
        doctor_name=doctor.full_name if doctor else "your doctor",
        now=cfg.clock.now(),
    )
