"""A clinic's day in figures for the admin console's live overview: who waits now, who is
called or in consultation, the average wait from arrival to call, today's no-shows. Reads
only, one statement (`repository.DAY_FIGURES`); the caller owns the unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicflow.checkin import policy
from clinicflow.checkin.repository import DAY_FIGURES, DayFigures
from clinicflow.errors import NotFound
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy


@dataclass(frozen=True, slots=True)
class ClinicDay:
    """The figures of a clinic's clinic-local day."""

    clinic_id: uuid.UUID
    figures: DayFigures

    @property
    def average_wait_minutes(self) -> int | None:
        """The average wait, arrival to call, in whole minutes (None before anyone is called)."""
        seconds = self.figures.average_wait_seconds
        return None if seconds is None else round(seconds / 60)


async def clinic_day(
    uow: UnitOfWork, principal: TenantPrincipal, *, clinic_id: uuid.UUID, now: datetime
) -> ClinicDay:
    """Today's figures (clinic-local day of `now`) of a clinic whose check-in the principal
    configures or whose queue they read (404 otherwise, and for an unknown clinic)."""
    policy.check_reads_operations(principal, clinic_id)
    zone = await tenancy.clinic_timezone(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
    if zone is None:
        raise NotFound("Clinic not found")
    local = ZoneInfo(zone)
    day = now.astimezone(local).date()
    day_start = datetime.combine(day, time(), tzinfo=local).astimezone(UTC)
    day_end = datetime.combine(day + timedelta(days=1), time(), tzinfo=local).astimezone(UTC)
    row = await uow.fetch_one(
        DAY_FIGURES,
        tenant_id=principal.tenant_id,
        clinic_id=clinic_id,
        day=day,
        day_start=day_start,
        day_end=day_end,
    )
    assert row is not None  # an aggregate has one row
    return ClinicDay(clinic_id=clinic_id, figures=DayFigures(**row))
