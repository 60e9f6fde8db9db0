"""Days and weeks in clinic-local time, as every app's pages show them.

Appointments and slots are instants; a page shows them on the day and at the
wall time of their clinic. A week is Monday to Sunday; to catch every local day
of it whatever the clinic's zone, reads ask for a UTC window a little wider
than the week and keep what falls on its local days.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Request

from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.identity import directory
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, decode_cursor
from clinicflow.scheduling import availability_service as availability
from clinicflow.scheduling import booking
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.schemas import AppointmentRead, SlotRead
from clinicflow.scheduling.state import Status
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.schemas import ClinicRead
from clinicflow.waitlist.config import WaitlistConfig

#: UTC offsets run from -12:00 to +14:00: this much around a local week covers it in any zone.
_BEFORE, _AFTER = timedelta(hours=14), timedelta(hours=12)
#: How a visit can happen, as the booking forms offer it (`AppointmentKind` values).
KINDS = ("in_person", "video")
#: More than any one view shows (a busy doctor's week is ~200 visits).
_MAX_ITEMS = 2000


class Timed(Protocol):
    """Something that starts at an instant at a clinic (a slot, an appointment)."""

    @property
    def starts_at(self) -> datetime: ...

    @property
    def clinic_id(self) -> uuid.UUID: ...


T = TypeVar("T", bound=Timed)
#: One local day: (its date, [(item, its clinic-local start, its clinic's name)]).
Day = tuple[date, list[tuple[T, datetime, str]]]


def scheduling_of(request: Request) -> SchedulingConfig:
    config: SchedulingConfig = request.app.state.scheduling
    return config


def waitlist_of(request: Request) -> WaitlistConfig:
    config: WaitlistConfig = request.app.state.waitlist
    return config


def week_of(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def parse_day(value: str | None, *, field: str) -> date | None:
    """A `YYYY-MM-DD` query value (None if absent); 422 naming `field` if it is not a day."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 2199:
        raise ValidationFailed(
            "That is not a day", errors=[FieldProblem(field=field, message="a day, YYYY-MM-DD")]
        )
    return day


def day_in(value: str) -> date | None:
    """The day an ISO date or instant in a form starts with, if it is one (for redrawing a week)."""
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def zone_of(clinic: ClinicRead | None) -> ZoneInfo:
    return ZoneInfo(clinic.timezone) if clinic is not None else ZoneInfo("UTC")


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local day starts and ends at (DST-safe: 23 or 25 hours on a change)."""
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end


def week_window(monday: date) -> tuple[datetime, datetime]:
    """A UTC window holding every local day of the week in any time zone."""
    start = datetime.combine(monday, time.min, tzinfo=UTC) - _BEFORE
    return start, datetime.combine(monday + timedelta(days=7), time.min, tzinfo=UTC) + _AFTER


async def clinics_by_id(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, only: Iterable[uuid.UUID] | None
) -> dict[uuid.UUID, ClinicRead]:
    """Live clinics of the tenant (those in `only`, or all of them), oldest first."""
    wanted = frozenset(only) if only is not None else None
    if wanted is not None and not wanted:
        return {}
    found: dict[uuid.UUID, ClinicRead] = {}
    page = PageParams(limit=200)
    while True:
        items, cursor = await tenancy.list_clinics(uow, tenant_id=tenant_id, page=page, only=wanted)
        found.update((c.id, c) for c in items)
        if cursor is None:
            return found
        page = PageParams(limit=200, after=decode_cursor(cursor))


def by_local_day(
    items: Iterable[T], clinics: dict[uuid.UUID, ClinicRead], first: date, days: int = 7
) -> list[Day[T]]:
    """The items falling on the `days` local days from `first`, grouped by day, in time order."""
    local = []
    for item in items:
        clinic = clinics.get(item.clinic_id)
        at = item.starts_at.astimezone(zone_of(clinic))
        if first <= at.date() < first + timedelta(days=days):
            local.append((item, at, clinic.name if clinic else ""))
    local.sort(key=lambda entry: entry[1])
    return [(day, list(group)) for day, group in groupby(local, key=lambda entry: entry[1].date())]


async def free_week(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID | None,
    monday: date,
    now: datetime,
    where: Callable[[SlotRead], bool] | None = None,
) -> list[Day[SlotRead]]:
    """The doctor's free slots on the local days of a week (at one clinic, or at each; only
    those `where` keeps)."""
    start, end = week_window(monday)
    slots, _ = await availability.free_slots_page(
        uow,
        tenant_id=tenant_id,
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        start=max(start, now),
        end=end,
        now=now,
        limit=500,
        cursor=None,
    )
    if where is not None:
        slots = [s for s in slots if where(s)]
    clinics = await clinics_by_id(uow, tenant_id=tenant_id, only={s.clinic_id for s in slots})
    return by_local_day(slots, clinics, monday)


async def appointments_between(
    uow: UnitOfWork,
    principal: TenantPrincipal,
    *,
    start: datetime,
    end: datetime | None,
    doctor_id: uuid.UUID | None = None,
    clinic_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
    status: Status | None = None,
) -> list[AppointmentRead]:
    """Every appointment the principal sees that starts in [start, end) (up to a bound no view
    reaches), soonest first."""
    found: list[AppointmentRead] = []
    page = PageParams(limit=200)
    while len(found) < _MAX_ITEMS:
        items, cursor = await booking.list_appointments(
            uow,
            principal,
            patient_id=patient_id,
            doctor_id=doctor_id,
            clinic_id=clinic_id,
            status=status,
            start=start,
            end=end,
            page=page,
        )
        found.extend(items)
        if cursor is None:
            break
        page = PageParams(limit=200, after=decode_cursor(cursor))
    return sorted(found, key=lambda a: a.starts_at)


async def names_of(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Full names of users, for showing who an appointment or an entry is for."""
    wanted = set(user_ids)
    contacts = await directory.contacts_of(uow, tenant_id=tenant_id, user_ids=wanted)
    return {user_id: contacts[user_id].full_name if user_id in contacts else "" for user_id in wanted}


def week_days(monday: date) -> Sequence[date]:
    return [monday + timedelta(days=k) for k in range(7)]
