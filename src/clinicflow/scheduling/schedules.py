"""A doctor's schedule as one query returns it (`repository.SCHEDULE_SQL`), ready for slot generation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clinicflow.errors import FieldProblem, ValidationFailed
from clinicflow.scheduling.availability import Busy, FreeSlot, Interval, Slot, WeeklyRule, generate_slots


@dataclass(frozen=True)
class Schedule:
    """Everything slot generation needs for one doctor at one clinic."""

    clinic_id: uuid.UUID
    tz: ZoneInfo
    min_notice_minutes: int
    horizon_days: int
    rules: list[WeeklyRule]
    time_off: list[Interval]
    location_id: uuid.UUID | None = None  # the plan's; a rule's own location wins for its slots

    def located(self, slot: Slot) -> Slot:
        """The slot with where its visit happens: its rule's location, else the plan's."""
        if slot.location_id is not None or self.location_id is None:
            return slot
        return replace(slot, location_id=self.location_id)


@dataclass(frozen=True)
class Snapshot:
    """One read of a doctor's schedule: where they practise, their plans, what is booked."""

    now: datetime  # the transaction's (or statement's) time in the database
    doctor_clinics: frozenset[uuid.UUID | None]  # None: every clinic; empty: not an active doctor
    clinic_timezone: str | None  # of the clinic asked for, if it is live
    schedules: list[Schedule]
    busy: list[Busy]

    def require_doctor_at(self, clinic_id: uuid.UUID, *, field: str = "doctor_id") -> None:
        """422 unless the clinic is live and the doctor practises there."""
        if self.clinic_timezone is None:
            raise ValidationFailed(
                "No such clinic", errors=[FieldProblem(field="clinic_id", message="no such clinic")]
            )
        if None not in self.doctor_clinics and clinic_id not in self.doctor_clinics:
            raise ValidationFailed(
                "This doctor does not practise at this clinic",
                errors=[FieldProblem(field=field, message="not a doctor of this clinic")],
            )

    def schedule_at(self, clinic_id: uuid.UUID) -> Schedule | None:
        return next((s for s in self.schedules if s.clinic_id == clinic_id), None)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def _rule(r: list[Any]) -> WeeklyRule:
    weekday, start, end, slot_minutes, before, after, capacity, valid_from, valid_to, location = r
    return WeeklyRule(
        weekday=weekday,
        start=time.fromisoformat(start),
        end=time.fromisoformat(end),
        slot_minutes=slot_minutes,
        buffer_before=before,
        buffer_after=after,
        capacity=capacity,
        valid_from=_day(valid_from),
        valid_to=_day(valid_to),
        location_id=uuid.UUID(location) if location is not None else None,
    )


def _schedule(plan: dict[str, Any]) -> Schedule:
    return Schedule(
        clinic_id=uuid.UUID(plan["clinic_id"]),
        tz=ZoneInfo(plan["timezone"]),
        min_notice_minutes=plan["min_notice_minutes"],
        horizon_days=plan["horizon_days"],
        rules=[_rule(r) for r in plan["rules"]],
        time_off=[
            Interval(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in plan["time_off"]
        ],
        location_id=uuid.UUID(plan["location_id"]) if plan["location_id"] is not None else None,
    )


def snapshot_of(row: dict[str, Any]) -> Snapshot:
    """The snapshot in a `SCHEDULE_SQL` row."""
    busy = [
        Busy(blocked_from=f, blocked_until=u, starts_at=s, group=g)
        for f, u, s, g in zip(
            row["busy_from"] or [],
            row["busy_until"] or [],
            row["busy_starts"] or [],
            row["busy_group"] or [],
            strict=True,
        )
    ]
    return Snapshot(
        now=row["tx_now"],
        doctor_clinics=frozenset(row["doctor_clinics"]),
        clinic_timezone=row["clinic_timezone"],
        schedules=[_schedule(p) for p in row["plans"]],
        busy=busy,
    )


def candidate_slots(
    schedule: Schedule, start: datetime, end: datetime, *, now: datetime | None
) -> list[FreeSlot]:
    """Slots of the plan in `[start, end)`, clear of time off (bounded by notice and horizon
    when `now` is given)."""
    slots = generate_slots(
        schedule.rules,
        schedule.tz,
        start,
        end,
        exceptions=schedule.time_off,
        not_before=now + timedelta(minutes=schedule.min_notice_minutes) if now else None,
        not_after=now + timedelta(days=schedule.horizon_days) if now else None,
    )
    return [FreeSlot(s, s.capacity) for s in slots]
