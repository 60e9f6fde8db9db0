"""Every query of scheduling, each starting from the caller's tenant.

Two kinds live here:

- ORM and Core statements on `TenantScopedRepository`s, for use cases that
  change a loaded row (transitions, plans, policies) or page through rows;
- the core path's plain SQL, run on psycopg directly: one statement loads all a
  booking or a slot search needs (`SCHEDULE_SQL`), and a booking is written with
  `INSERT ... RETURNING` inside a pipeline (`UnitOfWork.pipeline`), so the row, its audit
  event and its job travel in one round trip.

The schedule statement reads two other domains' tables (live clinics, active
doctors' grants) in SQL, as the unit of one query; their rules (a clinic is live
while `archived_at` is null, a doctor is an active user with a DOCTOR grant) are
those of `tenancy.service.clinic_timezone` and `identity.directory.doctor_clinics`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import (
    ColumnElement,
    Select,
    TextClause,
    delete,
    func,
    literal,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from clinicflow.identity.roles import Role
from clinicflow.platform.db import TenantScopedRepository, UnitOfWork
from clinicflow.platform.db.integrity import translate_db_error
from clinicflow.platform.ids import uuid7
from clinicflow.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentSeries,
    AvailabilityPlan,
    AvailabilityRule,
    ClinicSchedulingPolicy,
    FollowUpPlan,
    GroupSlot,
    TimeOff,
)
from clinicflow.scheduling.policy import Visibility

_ACTIVE = ", ".join(f"'{s}'" for s in ACTIVE_STATUSES)

#: The doctor's active holds starting within a day of `[busy_from, busy_until)`, through the
#: `(tenant_id, doctor_id, starts_at)` index (a visit is at most a day long).
BUSY_SQL = f"""
SELECT array_agg(a.blocked_from) AS busy_from, array_agg(a.blocked_until) AS busy_until,
       array_agg(a.starts_at) AS busy_starts, array_agg(a.slot_group_id <> a.id) AS busy_group
FROM appointments a
WHERE :with_busy AND a.tenant_id = :tenant_id AND a.doctor_id = :doctor_id
  AND a.starts_at >= :busy_from AND a.starts_at < :busy_until AND a.status IN ({_ACTIVE})
"""

#: Everything a booking or a slot search needs, in one statement: where the doctor practises,
#: the clinic's zone, each plan (one clinic's or all) with its rules and time off, and (for a
#: search) the doctor's busy ranges.
SCHEDULE_SQL = f"""
SELECT now() AS tx_now,
  ARRAY(SELECT g.clinic_id FROM role_grants g
        JOIN users u ON u.tenant_id = g.tenant_id AND u.id = g.user_id
        WHERE g.tenant_id = :tenant_id AND g.user_id = :doctor_id AND g.role = :doctor_role
          AND u.is_active) AS doctor_clinics,
  (SELECT c.timezone FROM clinics c
   WHERE c.tenant_id = :tenant_id AND c.id = :clinic_id AND c.archived_at IS NULL) AS clinic_timezone,
  COALESCE((
    SELECT json_agg(json_build_object(
      'clinic_id', p.clinic_id, 'timezone', c.timezone, 'location_id', p.location_id,
      'min_notice_minutes', p.min_notice_minutes, 'horizon_days', p.horizon_days,
      'rules', (SELECT COALESCE(json_agg(json_build_array(r.weekday, r.start_local, r.end_local,
                          r.slot_minutes, r.buffer_before, r.buffer_after, r.capacity, r.valid_from,
                          r.valid_to, r.location_id) ORDER BY r.weekday, r.start_local), '[]'::json)
                FROM availability_rules r WHERE r.tenant_id = p.tenant_id AND r.plan_id = p.id),
      'time_off', (SELECT COALESCE(json_agg(json_build_array(t.starts_at, t.ends_at)), '[]'::json)
                   FROM time_off t
                   WHERE t.tenant_id = p.tenant_id AND t.doctor_id = p.doctor_id
                     AND (t.clinic_id = p.clinic_id OR t.clinic_id IS NULL)
                     AND t.starts_at < :off_until AND t.ends_at > :off_from)
    ) ORDER BY p.clinic_id)
    FROM availability_plans p
    JOIN clinics c ON c.tenant_id = p.tenant_id AND c.id = p.clinic_id AND c.archived_at IS NULL
    WHERE p.tenant_id = :tenant_id AND p.doctor_id = :doctor_id
      AND (CAST(:clinic_id AS uuid) IS NULL OR p.clinic_id = :clinic_id)
  ), '[]'::json) AS plans,
  busy.*
FROM ({BUSY_SQL}) AS busy
"""


def _pyformat(sql: str) -> str:
    """The same SQL with psycopg's `%(name)s` placeholders (for statements sent on psycopg)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


SCHEDULE_PSYCOPG = _pyformat(SCHEDULE_SQL)

_APPOINTMENT_COLUMNS = (
    "id, tenant_id, clinic_id, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until, "
    "slot_group_id, status, kind, reason, video_url, parent_id, series_id, created_by, created_at, "
    "updated_at, location_id"
)
_APPOINTMENT_VALUES = ", ".join(f"%({c.strip()})s" for c in _APPOINTMENT_COLUMNS.split(","))

#: A one-seat appointment is its own slot group.
INSERT_APPOINTMENT = f"""
INSERT INTO appointments ({_APPOINTMENT_COLUMNS}) VALUES ({_APPOINTMENT_VALUES})
RETURNING slot_group_id
"""

#: A seat of a group session: one more on the session's counter (its check constraint refuses
#: a seat past capacity), and the appointment in the session's group — one statement.
INSERT_GROUP_SEAT = f"""
WITH seat AS (
  INSERT INTO group_slots (id, tenant_id, doctor_id, clinic_id, starts_at, ends_at, capacity, booked)
  VALUES (%(group_id)s, %(tenant_id)s, %(doctor_id)s, %(clinic_id)s, %(starts_at)s, %(ends_at)s,
          %(capacity)s, 1)
  ON CONFLICT (tenant_id, doctor_id, starts_at) DO UPDATE SET booked = group_slots.booked + 1
  RETURNING id
)
INSERT INTO appointments ({_APPOINTMENT_COLUMNS})
SELECT {_APPOINTMENT_VALUES.replace("%(slot_group_id)s", "seat.id")} FROM seat
RETURNING slot_group_id
"""


def schedule_params(
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    clinic_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
    with_busy: bool,
) -> dict[str, Any]:
    """Parameters of `SCHEDULE_SQL` for slots starting in `[start, end)`: time off and busy
    ranges are read a day either side (windows crossing midnight, visits up to a day long)."""
    day = timedelta(days=1)
    return {
        "tenant_id": tenant_id,
        "doctor_id": doctor_id,
        "doctor_role": Role.DOCTOR.value,
        "clinic_id": clinic_id,
        "off_from": start - day,
        "off_until": end + day,
        "with_busy": with_busy,
        "busy_from": start - day,
        "busy_until": end + day,
    }


def busy_statement(
    *, tenant_id: uuid.UUID, doctor_id: uuid.UUID, start: datetime, end: datetime
) -> TextClause:
    """`BUSY_SQL` alone, bound (the part of `SCHEDULE_SQL` that reads appointments)."""
    params = schedule_params(
        tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=None, start=start, end=end, with_busy=True
    )
    names = ("with_busy", "tenant_id", "doctor_id", "busy_from", "busy_until")
    return text(BUSY_SQL).bindparams(**{name: params[name] for name in names})


async def load_schedule_row(uow: UnitOfWork, params: dict[str, Any]) -> dict[str, Any]:
    """`SCHEDULE_SQL` in a read-only unit of work: one round trip."""
    result = await uow.execute(text(SCHEDULE_SQL).bindparams(**params))
    row: dict[str, Any] = dict(result.mappings().one())
    return row


async def queue_schedule(
    connection: psycopg.AsyncConnection[Any], params: dict[str, Any]
) -> psycopg.AsyncCursor[Any]:
    """Send `SCHEDULE_SQL` in the caller's pipeline; its row is on the cursor after the block."""
    return await connection.cursor(row_factory=dict_row).execute(SCHEDULE_PSYCOPG, params)


async def queue_appointment(
    connection: psycopg.AsyncConnection[Any], values: dict[str, Any], *, capacity: int
) -> psycopg.AsyncCursor[Any]:
    """Send the appointment's INSERT (with its group seat when `capacity` > 1) in the caller's
    pipeline; RETURNING gives its slot group after the block. `created_at` and `updated_at`
    are the transaction's time (`now()`, as the columns' defaults), read with the schedule."""
    cursor = connection.cursor(row_factory=dict_row)
    if capacity == 1:
        return await cursor.execute(INSERT_APPOINTMENT, values)
    return await cursor.execute(INSERT_GROUP_SEAT, {**values, "group_id": uuid7(), "capacity": capacity})


def _visible(visibility: Visibility) -> ColumnElement[bool]:
    own = Appointment.patient_id == visibility.patient_id
    if visibility.clinics is None:
        return true()
    if visibility.clinics:
        return Appointment.clinic_id.in_(visibility.clinics) | own
    return own


@dataclass(frozen=True, slots=True)
class AppointmentFilters:
    patient_id: uuid.UUID | None = None
    doctor_id: uuid.UUID | None = None
    clinic_id: uuid.UUID | None = None
    status: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class AppointmentRepository(TenantScopedRepository[Appointment]):
    model = Appointment

    async def get_visible(
        self, appointment_id: uuid.UUID, visibility: Visibility, *, lock: bool = False
    ) -> Appointment | None:
        stmt = self.select().where(Appointment.id == appointment_id, _visible(visibility))
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def visible_rows(self, visibility: Visibility, filters: AppointmentFilters) -> Select[Any]:
        """Column rows the principal may see, filtered (for a keyset page)."""
        table = Appointment.__table__
        stmt = self.select_columns().where(_visible(visibility))
        for column, value in (
            (table.c.patient_id, filters.patient_id),
            (table.c.doctor_id, filters.doctor_id),
            (table.c.clinic_id, filters.clinic_id),
            (table.c.status, filters.status),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if filters.start is not None:
            stmt = stmt.where(table.c.starts_at >= filters.start)
        if filters.end is not None:
            stmt = stmt.where(table.c.starts_at < filters.end)
        return stmt

    async def cancel_cutoff_minutes(self, clinic_id: uuid.UUID) -> int | None:
        stmt = select(ClinicSchedulingPolicy.patient_cancel_cutoff_minutes).where(
            ClinicSchedulingPolicy.tenant_id == self.tenant_id, ClinicSchedulingPolicy.clinic_id == clinic_id
        )
        return (await self.uow.execute(stmt)).scalar_one_or_none()

    async def take_seat(
        self,
        *,
        doctor_id: uuid.UUID,
        clinic_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
        capacity: int,
    ) -> uuid.UUID:
        """One more seat on a group session's counter (row-locked upsert; full is 409)."""
        stmt = (
            insert(GroupSlot)
            .values(
                id=uuid7(),
                tenant_id=self.tenant_id,
                doctor_id=doctor_id,
                clinic_id=clinic_id,
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=capacity,
                booked=1,
            )
            .on_conflict_do_update(
                index_elements=["tenant_id", "doctor_id", "starts_at"], set_={"booked": GroupSlot.booked + 1}
            )
            .returning(GroupSlot.id)
        )
        try:
            return (await self.session.execute(stmt)).scalar_one()
        except DBAPIError as exc:
            raise translate_db_error(exc) or exc from exc

    async def release_seat(self, appointment: Appointment, group_id: uuid.UUID) -> None:
        """Give a group seat back (nothing to do for a one-seat appointment, its own group)."""
        if group_id == appointment.id:
            return
        await self.session.execute(
            update(GroupSlot)
            .where(GroupSlot.tenant_id == self.tenant_id, GroupSlot.id == group_id)
            .values(booked=GroupSlot.booked - 1)
        )

    async def open_follow_up(self, plan_id: uuid.UUID) -> FollowUpPlan | None:
        stmt = (
            select(FollowUpPlan)
            .where(FollowUpPlan.tenant_id == self.tenant_id, FollowUpPlan.id == plan_id)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add_follow_up(self, plan: FollowUpPlan) -> None:
        assert plan.tenant_id == self.tenant_id
        self.session.add(plan)

    async def add_series(self, series: AppointmentSeries) -> None:
        assert series.tenant_id == self.tenant_id
        self.session.add(series)
        await self.uow.flush()

    async def count_upcoming_at(self, clinic_id: uuid.UUID, now: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.tenant_id == self.tenant_id,
                Appointment.clinic_id == clinic_id,
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.ends_at > now,
            )
        )
        return int((await self.uow.execute(stmt)).scalar_one())


async def lock_overdue(
    uow: UnitOfWork, *, now: datetime, default_grace: int, limit: int
) -> list[Appointment]:
    """Open appointments of every tenant past their clinic's no-show grace, locked SKIP LOCKED.

    The one cross-tenant query of scheduling: the sweep is a system job, and each row
    carries its tenant into the audit event and the domain event."""
    grace = func.coalesce(ClinicSchedulingPolicy.no_show_after_minutes, literal(default_grace))
    stmt = (
        select(Appointment)
        .outerjoin(
            ClinicSchedulingPolicy,
            (ClinicSchedulingPolicy.tenant_id == Appointment.tenant_id)
            & (ClinicSchedulingPolicy.clinic_id == Appointment.clinic_id),
        )
        .where(
            Appointment.status.in_(("scheduled", "confirmed")),
            Appointment.ends_at < now,  # lets the partial index on open appointments' ends_at serve
            Appointment.ends_at + func.make_interval(0, 0, 0, 0, 0, grace) < now,
        )
        .order_by(Appointment.ends_at)
        .limit(limit)
        .with_for_update(of=Appointment, skip_locked=True)
    )
    return list((await uow.session.execute(stmt)).scalars())


class PlanRepository(TenantScopedRepository[AvailabilityPlan]):
    model = AvailabilityPlan

    async def locked(self, doctor_id: uuid.UUID, clinic_id: uuid.UUID) -> AvailabilityPlan | None:
        stmt = self.select().where(
            AvailabilityPlan.doctor_id == doctor_id, AvailabilityPlan.clinic_id == clinic_id
        )
        return (await self.session.execute(stmt.with_for_update())).scalar_one_or_none()

    async def replace_rules(self, plan: AvailabilityPlan, rules: list[AvailabilityRule]) -> None:
        await self.session.execute(
            delete(AvailabilityRule).where(
                AvailabilityRule.tenant_id == self.tenant_id, AvailabilityRule.plan_id == plan.id
            )
        )
        self.session.add_all(rules)
        await self.uow.flush()


class TimeOffRepository(TenantScopedRepository[TimeOff]):
    model = TimeOff

    async def of_doctor(self, doctor_id: uuid.UUID, time_off_id: uuid.UUID) -> TimeOff | None:
        stmt = self.select().where(TimeOff.doctor_id == doctor_id, TimeOff.id == time_off_id)
        return (await self.session.execute(stmt.with_for_update())).scalar_one_or_none()

    async def remove(self, row: TimeOff) -> None:
        await self.session.delete(row)

    async def page_from(
        self, doctor_id: uuid.UUID, *, now: datetime, after: uuid.UUID | None, limit: int
    ) -> list[TimeOff]:
        """Up to `limit` rows not ended by `now`, keyset on (starts_at, id) after the row `after`."""
        stmt = self.select().where(TimeOff.doctor_id == doctor_id, TimeOff.ends_at > now)
        if after is not None:
            anchor = (
                select(TimeOff.starts_at)
                .where(TimeOff.tenant_id == self.tenant_id, TimeOff.id == after)
                .scalar_subquery()
            )
            stmt = stmt.where(tuple_(TimeOff.starts_at, TimeOff.id) > tuple_(anchor, after))
        return await self.list(stmt.order_by(TimeOff.starts_at, TimeOff.id), limit=limit)


class PolicyRepository(TenantScopedRepository[ClinicSchedulingPolicy]):
    model = ClinicSchedulingPolicy

    async def of_clinic(
        self, clinic_id: uuid.UUID, *, for_update: bool = False
    ) -> ClinicSchedulingPolicy | None:
        stmt = self.select().where(ClinicSchedulingPolicy.clinic_id == clinic_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()
