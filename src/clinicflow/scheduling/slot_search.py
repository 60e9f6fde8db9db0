"""Free slots of a doctor: one query (`repository.SCHEDULE_SQL`), then pure slot generation."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta

from clinicflow.errors import FieldProblem, NotFound, ValidationFailed
from clinicflow.platform.db import UnitOfWork
from clinicflow.scheduling import repository
from clinicflow.scheduling.availability import free_slots
from clinicflow.scheduling.schedules import candidate_slots, snapshot_of
from clinicflow.scheduling.schemas import SlotRead

MAX_SLOT_RANGE = timedelta(days=31)


def _check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed(
            "The range is empty", errors=[FieldProblem(field="to", message="must be after from")]
        )
    if end - start > MAX_SLOT_RANGE:
        raise ValidationFailed(
            "The range is too long", errors=[FieldProblem(field="to", message="at most 31 days after from")]
        )


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
    """Free, bookable slots of a doctor in `[start, end)` (at one clinic or all of theirs),
    in (starts_at, clinic) order. One round trip; NotFound if there is no such doctor."""
    _check_range(start, end)
    params = repository.schedule_params(
        tenant_id=tenant_id, doctor_id=doctor_id, clinic_id=clinic_id, start=start, end=end, with_busy=True
    )
    snapshot = snapshot_of(await repository.load_schedule_row(uow, params))
    if not snapshot.doctor_clinics:
        raise NotFound("Doctor not found")
    result: list[SlotRead] = []
    for schedule in snapshot.schedules:
        candidates = [c.slot for c in candidate_slots(schedule, start, end, now=now)]
        result.extend(
            SlotRead(
                starts_at=free.slot.starts_at,
                ends_at=free.slot.ends_at,
                clinic_id=schedule.clinic_id,
                capacity=free.slot.capacity,
                remaining=free.remaining,
            )
            for free in free_slots(candidates, snapshot.busy)
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
