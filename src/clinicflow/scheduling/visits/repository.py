"""Appointments as `Visit` rows, and the one-statement visit moves (`scheduling.visits`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import Uuid, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from clinicflow.platform.db import TenantScopedRepository
from clinicflow.platform.db.direct import Query
from clinicflow.scheduling.models import Appointment
from clinicflow.scheduling.state import Status


@dataclass(frozen=True, slots=True)
class Visit:
    """One appointment as check-in and the queue need it (`scheduling.visits`)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    clinic_id: uuid.UUID
    doctor_id: uuid.UUID
    patient_id: uuid.UUID
    location_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime
    status: str
    kind: str


_VISIT_COLUMNS = (
    Appointment.id,
    Appointment.tenant_id,
    Appointment.clinic_id,
    Appointment.doctor_id,
    Appointment.patient_id,
    Appointment.location_id,
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.status,
    Appointment.kind,
)


_BETWEEN = (
    select(*_VISIT_COLUMNS)
    .where(
        Appointment.tenant_id == bindparam("tenant_id"),
        Appointment.patient_id == any_(bindparam("patient_ids", type_=ARRAY(Uuid()))),
        Appointment.starts_at >= bindparam("start"),
        Appointment.starts_at < bindparam("end"),
    )
    .order_by(Appointment.starts_at, Appointment.id)
)
#: A scan's read (compiled once: `direct.Query`), of any clinic or of one.
_STARTING_BETWEEN = Query(_BETWEEN, name="visits.starting_between")
_STARTING_BETWEEN_AT = Query(
    _BETWEEN.where(Appointment.clinic_id == bindparam("clinic_id")), name="visits.starting_between_at"
)


class VisitRepository(TenantScopedRepository[Appointment]):
    """Appointments as `Visit` rows, and the one-statement visit moves."""

    model = Appointment

    async def starting_between(
        self,
        patient_ids: Collection[uuid.UUID],
        *,
        start: datetime,
        end: datetime,
        clinic_id: uuid.UUID | None,
    ) -> list[Visit]:
        """By start time; reads `ix_appointments_tenant_id_patient_id_starts_at`."""
        values: dict[str, Any] = {
            "tenant_id": self.tenant_id,
            "patient_ids": list(patient_ids),
            "start": start,
            "end": end,
        }
        if clinic_id is None:
            rows = await self.uow.fetch(_STARTING_BETWEEN, **values)
        else:
            rows = await self.uow.fetch(_STARTING_BETWEEN_AT, clinic_id=clinic_id, **values)
        return [Visit(**row) for row in rows]

    async def visit(self, id_: uuid.UUID) -> Visit | None:
        stmt = select(*_VISIT_COLUMNS).where(Appointment.tenant_id == self.tenant_id, Appointment.id == id_)
        row = (await self.uow.execute(stmt)).mappings().first()
        return Visit(**row) if row is not None else None

    async def move(self, id_: uuid.UUID, leaving: Collection[Status], target: Status) -> Visit | None:
        """`UPDATE … SET status = target WHERE status IN leaving RETURNING`: None when it left none."""
        stmt = (
            update(Appointment)
            .where(
                Appointment.tenant_id == self.tenant_id,
                Appointment.id == id_,
                Appointment.status.in_([s.value for s in leaving]),
            )
            .values(status=target.value)
            .returning(*_VISIT_COLUMNS)
            .execution_options(synchronize_session=False)
        )
        row = (await self.uow.execute(stmt)).mappings().first()
        return Visit(**row) if row is not None else None


#: `VisitRepository.move` for a psycopg pipeline (the same statement, written for psycopg).
_MOVE = """
UPDATE appointments SET status = %(target)s, updated_at = now()
WHERE tenant_id = %(tenant_id)s AND id = %(id)s AND status = ANY(%(leaving)s)
RETURNING id, tenant_id, clinic_id, doctor_id, patient_id, location_id, starts_at, ends_at, status, kind
"""


async def queue_move(
    connection: psycopg.AsyncConnection[Any],
    tenant_id: uuid.UUID,
    id_: uuid.UUID,
    leaving: Collection[Status],
    target: Status,
) -> psycopg.AsyncCursor[Any]:
    """Send `move`'s UPDATE in the caller's pipeline; `moved_visit(cursor)` reads it after."""
    values = {
        "target": target.value,
        "tenant_id": tenant_id,
        "id": id_,
        "leaving": [s.value for s in leaving],
    }
    return await connection.cursor(row_factory=dict_row).execute(_MOVE, values)


async def moved_visit(cursor: psycopg.AsyncCursor[Any]) -> Visit | None:
    row = await cursor.fetchone()
    return Visit(**row) if row is not None else None
