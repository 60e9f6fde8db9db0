"""A clinic's waitlist in figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicflow.errors import NotFound
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.tenancy import service as tenancy
from clinicflow.waitlist import policy as access
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.repository import EntryRepository
from clinicflow.waitlist.schemas import StatsRead

CONVERSION_WINDOW_DAYS = 30


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


async def clinic_stats(
    uow: UnitOfWork, cfg: WaitlistConfig, principal: TenantPrincipal, *, clinic_id: uuid.UUID
) -> StatsRead:
    """Queue depth by status, wait of active entries, today's promotions and expiries (clinic
    day), and the conversion rate over the last 30 days. Readers of the clinic's queue only
    (404 for the rest). Reads only."""
    access.check_reads_queue(principal, clinic_id)
    zone = await tenancy.clinic_timezone(uow, tenant_id=principal.tenant_id, clinic_id=clinic_id)
    if zone is None:
        raise NotFound("Clinic not found")
    now = cfg.clock.now()
    local_today = now.astimezone(ZoneInfo(zone)).date()
    day_start = datetime.combine(local_today, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    since = now - timedelta(days=CONVERSION_WINDOW_DAYS)
    figures = await EntryRepository(uow, principal.tenant_id).figures(
        clinic_id, now=now, day_start=day_start, since=since
    )
    return StatsRead(
        clinic_id=clinic_id,
        depth=figures.depth,
        average_wait_hours=_rounded(figures.average_wait_hours, 2),
        p90_wait_hours=_rounded(figures.p90_wait_hours, 2),
        promoted_today=figures.promoted_today,
        expired_today=figures.expired_today,
        conversion_rate=(
            round(figures.promoted_recently / figures.closed_recently, 4) if figures.closed_recently else None
        ),
        conversion_window_days=CONVERSION_WINDOW_DAYS,
    )
