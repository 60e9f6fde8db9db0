"""Availability use cases: weekly plans, time off and free slots. Callers own the unit of work."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, tuple_

from clinicflow.audit import service as audit
from clinicflow.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from clinicflow.identity import directory
from clinicflow.identity.permissions import Permission
from clinicflow.identity.principal import TenantPrincipal
from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.pagination import PageParams, page_of
from clinicflow.scheduling.availability import (
    Busy,
    FreeSlot,
    Interval,
    WeeklyRule,
    free_slots,
    generate_slots,
)
from clinicflow.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AvailabilityPlan,
    AvailabilityRule,
    TimeOff,
)
from clinicflow.scheduling.schemas import (
    AvailabilityIn,
    AvailabilityRead,
    RuleRead,
    SlotRead,
    TimeOffIn,
    TimeOffRead,
)
from clinicflow.tenancy import service as tenancy

MAX_SLOT_RANGE = timedelta(days=31)


@dataclass(frozen=True)
class Schedule:
    """Everything slot generation needs for one doctor at one clinic."""

    plan: AvailabilityPlan
    tz: ZoneInfo
    rules: list[WeeklyRule]


def _rule(row: AvailabilityRule) -> WeeklyRule:
    return WeeklyRule(
        weekday=row.weekday,
        start=row.start_local,
        end=row.end_local,
        slot_minutes=row.slot_minutes,
        buffer_before=row.buffer_before,
        buffer_after=row.buffer_after,
        capacity=row.capacity,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )


async def require_doctor_at(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID,
    field: str = "doctor_id",
) -> ZoneInfo:
    """The clinic's zone, if the clinic is live and the user practises there as a doctor (422 otherwise)."""
    zone = await tenancy.clinic_timezone(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    if zone is None:
        raise ValidationFailed(
            "No such clinic", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
        )
    clinics = await directory.doctor_clinics(uow, tenant_id=tenant_id, user_id=doctor_id)
    if None not in clinics and clinic_id not in clinics:
        raise ValidationFailed(
            "This doctor does not practise at this clinic",
            errors=[FieldProblem(field=field, message="not a doctor of this clinic")],
        )
    return ZoneInfo(zone)


async def load_schedule(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, doctor_id: uuid.UUID, clinic_id: uuid.UUID, tz: ZoneInfo
) -> Schedule | None:
    plan = (
        await uow.session.execute(
            select(AvailabilityPlan).where(
                AvailabilityPlan.tenant_id == tenant_id,
                AvailabilityPlan.doctor_id == doctor_id,
                AvailabilityPlan.clinic_id == clinic_id,
            )
        )
    ).scalar_one_or_none()
    if plan is None:
        return None
    rows = await uow.session.execute(
        select(AvailabilityRule)
        .where(AvailabilityRule.tenant_id == tenant_id, AvailabilityRule.plan_id == plan.id)
        .order_by(AvailabilityRule.weekday, AvailabilityRule.start_local)
    )
    return Schedule(plan, tz, [_rule(r) for r in rows.scalars()])


async def time_off_between(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> list[Interval]:
    rows = await uow.execute(
        select(TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.tenant_id == tenant_id,
            TimeOff.doctor_id == doctor_id,
            (TimeOff.clinic_id == clinic_id) | TimeOff.clinic_id.is_(None),
            TimeOff.starts_at < end,
            TimeOff.ends_at > start,
        )
    )
    return [Interval(r["starts_at"], r["ends_at"]) for r in rows.mappings()]


def busy_statement(*, tenant_id: uuid.UUID, doctor_id: uuid.UUID, start: datetime, end: datetime) -> Any:
    """The doctor's active holds around `[start, end)`, through `(tenant_id, doctor_id, starts_at)`:
    a visit is at most a day long, so its start lies within a day of the range."""
    table = Appointment.__table__
    return select(
        table.c.blocked_from, table.c.blocked_until, table.c.starts_at, table.c.slot_group_id, table.c.id
    ).where(
        table.c.tenant_id == tenant_id,
        table.c.doctor_id == doctor_id,
        table.c.starts_at >= start - timedelta(days=1),
        table.c.starts_at < end + timedelta(days=1),
        table.c.status.in_(ACTIVE_STATUSES),
    )


async def busy_between(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, doctor_id: uuid.UUID, start: datetime, end: datetime
) -> list[Busy]:
    """The doctor's active holds overlapping `[start, end)` (any clinic: a doctor is in one place)."""
    rows = await uow.execute(busy_statement(tenant_id=tenant_id, doctor_id=doctor_id, start=start, end=end))
    return [
        Busy(
            blocked_from=r["blocked_from"],
            blocked_until=r["blocked_until"],
            starts_at=r["starts_at"],
            group=r["slot_group_id"] != r["id"],  # a one-seat appointment is its own group
        )
        for r in rows.mappings()
    ]


def candidate_slots(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    *,
    exceptions: Sequence[Interval],
    now: datetime | None,
) -> list[FreeSlot]:
    """Slots of the plan in `[start, end)` (bounded by notice and horizon when `now` is given)."""
    plan = schedule.plan
    slots = generate_slots(
        schedule.rules,
        schedule.tz,
        start,
        end,
        exceptions=exceptions,
        not_before=now + timedelta(minutes=plan.min_notice_minutes) if now else None,
        not_after=now + timedelta(days=plan.horizon_days) if now else None,
    )
    return [FreeSlot(s, s.capacity) for s in slots]


async def free_slots_for(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[SlotRead]:
    """Free, bookable slots of a doctor in `[start, end)` (at one clinic or all of theirs)."""
    if end <= start:
        raise ValidationFailed(
            "The range is empty", errors=[FieldProblem(field="to", message="must be after from")]
        )
    if end - start > MAX_SLOT_RANGE:
        raise ValidationFailed(
            "The range is too long", errors=[FieldProblem(field="to", message="at most 31 days after from")]
        )
    plans = select(AvailabilityPlan.clinic_id).where(
        AvailabilityPlan.tenant_id == tenant_id, AvailabilityPlan.doctor_id == doctor_id
    )
    if clinic_id is not None:
        plans = plans.where(AvailabilityPlan.clinic_id == clinic_id)
    clinic_ids = list((await uow.execute(plans)).scalars())
    busy = await busy_between(uow, tenant_id=tenant_id, doctor_id=doctor_id, start=start, end=end)
    result: list[SlotRead] = []
    for plan_clinic in clinic_ids:
        zone = await tenancy.clinic_timezone(uow, tenant_id=tenant_id, clinic_id=plan_clinic)
        if zone is None:
            continue  # archived clinic
        schedule = await load_schedule(
            uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=plan_clinic, tz=ZoneInfo(zone)
        )
        if schedule is None:
            continue
        exceptions = await time_off_between(
            uow,
            tenant_id=tenant_id,
            doctor_id=doctor_id,
            clinic_id=plan_clinic,
            start=start - timedelta(days=1),
            end=end + timedelta(days=1),
        )
        candidates = [c.slot for c in candidate_slots(schedule, start, end, exceptions=exceptions, now=now)]
        for free in free_slots(candidates, busy):
            result.append(
                SlotRead(
                    starts_at=free.slot.starts_at,
                    ends_at=free.slot.ends_at,
                    clinic_id=plan_clinic,
                    capacity=free.slot.capacity,
                    remaining=free.remaining,
                )
            )
    result.sort(key=lambda s: (s.starts_at, str(s.clinic_id)))
    return result


def encode_slot_cursor(slot: SlotRead) -> str:
    raw = f"{slot.starts_at.isoformat()}|{slot.clinic_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_slot_cursor(cursor: str) -> tuple[datetime, str]:
    """The (starts_at, clinic id) a slot page ended at; ValidationFailed if it is not a slot cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        instant, clinic = raw.split("|")
        starts_at = datetime.fromisoformat(instant)
        uuid.UUID(clinic)
        if starts_at.tzinfo is None:
            raise ValueError("a slot cursor's instant has an offset")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(
            "The cursor is not valid", errors=[FieldProblem(field="cursor", message="not a slot cursor")]
        ) from exc
    return starts_at, clinic


async def free_slots_page(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
    now: datetime,
    limit: int,
    cursor: str | None,
) -> tuple[list[SlotRead], str | None]:
    """One page of `free_slots_for`, in (starts_at, clinic) order; the cursor resumes after its last slot."""
    after = decode_slot_cursor(cursor) if cursor else None
    found = await free_slots_for(
        uow,
        tenant_id=tenant_id,
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        start=max(start, after[0]) if after else start,
        end=end,
        now=now,
    )
    if after is not None:
        found = [s for s in found if (s.starts_at, str(s.clinic_id)) > after]
    items = found[:limit]
    return items, encode_slot_cursor(items[-1]) if len(found) > limit and items else None


def _may_manage(principal: TenantPrincipal, doctor_id: uuid.UUID, clinic_id: uuid.UUID | None) -> bool:
    """Schedulers of the clinic, or the doctor themselves."""
    return principal.user_id == doctor_id or principal.can(
        Permission.AVAILABILITY_MANAGE, clinic_id=clinic_id
    )


async def put_availability(
    uow: UnitOfWork, principal: TenantPrincipal, *, doctor_id: uuid.UUID, data: AvailabilityIn
) -> AvailabilityRead:
    """Replace a doctor's plan at a clinic (settings and weekly rules), audited.

    The doctor themselves or `availability:manage` for the clinic; the doctor must
    practise there. Existing appointments are kept even if they fall outside the new rules.
    """
    tenant_id = principal.tenant_id
    if not _may_manage(principal, doctor_id, data.clinic_id):
        raise Forbidden("You may not change this doctor's availability")
    tz = await require_doctor_at(uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id)
    plan = (
        await uow.session.execute(
            select(AvailabilityPlan)
            .where(
                AvailabilityPlan.tenant_id == tenant_id,
                AvailabilityPlan.doctor_id == doctor_id,
                AvailabilityPlan.clinic_id == data.clinic_id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    before = await get_availability(uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id)
    if plan is None:
        plan = AvailabilityPlan(tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id)
        uow.session.add(plan)
    plan.min_notice_minutes = data.min_notice_minutes
    plan.horizon_days = data.horizon_days
    await uow.flush()
    await uow.session.execute(
        delete(AvailabilityRule).where(
            AvailabilityRule.tenant_id == tenant_id, AvailabilityRule.plan_id == plan.id
        )
    )
    for rule in data.rules:
        uow.session.add(
            AvailabilityRule(
                tenant_id=tenant_id,
                plan_id=plan.id,
                weekday=rule.weekday,
                start_local=rule.start,
                end_local=rule.end,
                slot_minutes=rule.slot_minutes,
                buffer_before=rule.buffer_before,
                buffer_after=rule.buffer_after,
                capacity=rule.capacity,
                valid_from=rule.valid_from,
                valid_to=rule.valid_to,
            )
        )
    await uow.flush()
    after = await get_availability(uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id)
    assert after is not None
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=principal.actor,
        action="availability.replaced",
        subject_type="doctor",
        subject_id=doctor_id,
        before=before.model_dump(exclude={"timezone"}) if before else None,
        after=after.model_dump(exclude={"timezone"}),
        details={"clinic_id": data.clinic_id, "timezone": str(tz)},
    )
    return after


async def get_availability(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, doctor_id: uuid.UUID, clinic_id: uuid.UUID
) -> AvailabilityRead | None:
    zone = await tenancy.clinic_timezone(uow, tenant_id=tenant_id, clinic_id=clinic_id)
    if zone is None:
        return None
    schedule = await load_schedule(
        uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=clinic_id, tz=ZoneInfo(zone)
    )
    if schedule is None:
        return None
    return AvailabilityRead(
        doctor_id=doctor_id,
        clinic_id=clinic_id,
        timezone=zone,
        min_notice_minutes=schedule.plan.min_notice_minutes,
        horizon_days=schedule.plan.horizon_days,
        rules=[
            RuleRead(
                weekday=r.weekday,
                start=r.start,
                end=r.end,
                slot_minutes=r.slot_minutes,
                buffer_before=r.buffer_before,
                buffer_after=r.buffer_after,
                capacity=r.capacity,
                valid_from=r.valid_from,
                valid_to=r.valid_to,
            )
            for r in schedule.rules
        ],
    )


async def add_time_off(
    uow: UnitOfWork, principal: TenantPrincipal, *, doctor_id: uuid.UUID, data: TimeOffIn
) -> TimeOffRead:
    """Record an absence (instants, or whole clinic-local days), audited. Slots inside it disappear;
    appointments already booked inside it are kept for staff to move."""
    tenant_id = principal.tenant_id
    if not _may_manage(principal, doctor_id, data.clinic_id):
        raise Forbidden("You may not change this doctor's availability")
    if not await directory.doctor_clinics(uow, tenant_id=tenant_id, user_id=doctor_id):
        raise NotFound("Doctor not found")
    if data.starts_at is not None and data.ends_at is not None:
        starts_at, ends_at = data.starts_at.astimezone(UTC), data.ends_at.astimezone(UTC)
    else:
        assert data.from_date is not None
        assert data.to_date is not None
        if data.clinic_id is None:
            raise ValidationFailed(
                "Whole days are in a clinic's time zone",
                errors=[FieldProblem(field="clinic_id", message="required with from_date and to_date")],
            )
        zone = await tenancy.clinic_timezone(uow, tenant_id=tenant_id, clinic_id=data.clinic_id)
        if zone is None:
            raise ValidationFailed(
                "No such clinic", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
            )
        tz = ZoneInfo(zone)
        starts_at = datetime.combine(data.from_date, time(0), tzinfo=tz).astimezone(UTC)
        ends_at = datetime.combine(data.to_date + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    if data.clinic_id is not None:
        await require_doctor_at(uow, tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=data.clinic_id)
    row = TimeOff(
        tenant_id=tenant_id,
        doctor_id=doctor_id,
        clinic_id=data.clinic_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=data.reason,
    )
    uow.session.add(row)
    await uow.flush()
    read = TimeOffRead(
        id=row.id,
        doctor_id=doctor_id,
        clinic_id=data.clinic_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=data.reason,
    )
    await audit.record(
        uow,
        tenant_id=tenant_id,
        actor=principal.actor,
        action="time_off.added",
        subject_type="doctor",
        subject_id=doctor_id,
        after=read.model_dump(),
    )
    return read


async def remove_time_off(
    uow: UnitOfWork, principal: TenantPrincipal, *, doctor_id: uuid.UUID, time_off_id: uuid.UUID
) -> None:
    row = (
        await uow.session.execute(
            select(TimeOff)
            .where(
                TimeOff.tenant_id == principal.tenant_id,
                TimeOff.doctor_id == doctor_id,
                TimeOff.id == time_off_id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("Time off not found")
    if not _may_manage(principal, doctor_id, row.clinic_id):
        raise Forbidden("You may not change this doctor's availability")
    await uow.session.delete(row)
    await audit.record(
        uow,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        action="time_off.removed",
        subject_type="doctor",
        subject_id=doctor_id,
        before={"id": row.id, "starts_at": row.starts_at, "ends_at": row.ends_at, "clinic_id": row.clinic_id},
    )


async def list_time_off(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, doctor_id: uuid.UUID, page: PageParams, now: datetime
) -> tuple[list[TimeOffRead], str | None]:
    """One page of the doctor's time off that has not ended by `now`, soonest first.

    Keyset on (starts_at, id): the cursor names the last row of the previous page.
    """
    stmt = select(TimeOff).where(
        TimeOff.tenant_id == tenant_id, TimeOff.doctor_id == doctor_id, TimeOff.ends_at > now
    )
    if page.after is not None:
        anchor = (
            select(TimeOff.starts_at)
            .where(TimeOff.tenant_id == tenant_id, TimeOff.id == page.after)
            .scalar_subquery()
        )
        stmt = stmt.where(tuple_(TimeOff.starts_at, TimeOff.id) > tuple_(anchor, page.after))
    rows = await uow.session.execute(stmt.order_by(TimeOff.starts_at, TimeOff.id).limit(page.limit + 1))
    found = [
        TimeOffRead(
            id=r.id,
            doctor_id=r.doctor_id,
            clinic_id=r.clinic_id,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            reason=r.reason,
        )
        for r in rows.scalars()
    ]
    return page_of(found, page)
