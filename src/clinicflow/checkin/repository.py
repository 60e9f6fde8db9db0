"""Every query of check-in. Each repository starts from its tenant's statement
(`TenantScopedRepository`), so a use case cannot reach another tenant's rows."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.dialects.postgresql import insert

from clinicflow.checkin.models import CheckIn, TicketCounter
from clinicflow.platform.db import TenantScopedRepository


def ticket_label(prefix: str, number: int) -> str:
    """`A-007`: the prefix and the number, zero-padded to three digits (more when needed)."""
    return f"{prefix}-{number:03d}"


class CheckInRepository(TenantScopedRepository[CheckIn]):
    model = CheckIn

    async def next_ticket(self, location_id: uuid.UUID, local_day: date) -> int:
        """The next ticket number of the location's day, starting at 1.

        One statement: concurrent check-ins at one location serialise on the counter
        row (held until their transactions end), so numbers are unique and, per day,
        gap-free except where a check-in rolled back.
        """
        stmt = (
            insert(TicketCounter)
            .values(tenant_id=self.tenant_id, location_id=location_id, local_day=local_day, last_number=1)
            .on_conflict_do_update(
                index_elements=["tenant_id", "location_id", "local_day"],
                set_={"last_number": TicketCounter.last_number + 1},
            )
            .returning(TicketCounter.last_number)
        )
        result = await self.uow.execute(stmt)
        return int(result.scalar_one())

    async def insert_arrival(self, values: dict[str, object]) -> CheckIn | None:
        """Insert a check-in; None when the appointment already has one (the unique
        constraint decides: of concurrent inserts exactly one row is made)."""
        stmt = (
            insert(CheckIn)
            .values(tenant_id=self.tenant_id, **values)
            .on_conflict_do_nothing(constraint="uq_check_ins_tenant_id_appointment_id")
            .returning(CheckIn)
        )
        return (await self.uow.execute(stmt)).scalars().one_or_none()

    async def for_appointment(self, appointment_id: uuid.UUID) -> CheckIn | None:
        """The appointment's check-in, if it has one."""
        stmt = self.select().where(CheckIn.appointment_id == appointment_id)
        return (await self.uow.execute(stmt)).scalar_one_or_none()
