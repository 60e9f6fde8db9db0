"""Every query of the waitlist.

Each repository starts from its tenant's statement (`TenantScopedRepository`),
so a use case cannot reach another tenant's rows. The one exception is the
expiry sweep (`due_invitations`, `stale_entries`): a job that works across
tenants by design; every row it returns carries its tenant, and what it then
changes goes through the scoped repositories.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from clinicflow.platform.db import TenantScopedRepository, UnitOfWork
from clinicflow.platform.ids import uuid7
from clinicflow.platform.pagination import PageParams, paginate
from clinicflow.waitlist import scoring
from clinicflow.waitlist.models import WaitlistEntry, WaitlistOffer, WaitlistPolicy
from clinicflow.waitlist.schemas import EntryStatus

#: Entries that hold a place in the queue (and under its cap).
LIVE = (EntryStatus.ACTIVE.value, EntryStatus.INVITED.value)
#: What ends an entry's life and counts towards the conversion rate.
CLOSED = (EntryStatus.PROMOTED.value, EntryStatus.EXPIRED.value, EntryStatus.CANCELLED.value)


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """Where a page of the queue ends: the last entry's key, join time and id."""

    priority_key: float
    created_at: datetime
    entry_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """A clinic's queue in numbers (see `EntryRepository.figures`)."""

    depth: dict[str, int]
    average_wait_hours: float | None
    p90_wait_hours: float | None
    promoted_today: int
    expired_today: int
    promoted_recently: int
    closed_recently: int


class PolicyRepository(TenantScopedRepository[WaitlistPolicy]):
    model = WaitlistPolicy

    async def of_clinic(self, clinic_id: uuid.UUID) -> WaitlistPolicy | None:
        """The clinic's policy row, if one was ever made."""
        stmt = self.select().where(WaitlistPolicy.clinic_id == clinic_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def ensure(self, clinic_id: uuid.UUID, *, lock: bool = False) -> WaitlistPolicy:
        """The clinic's policy row, created with the defaults on first use. `lock` takes its row
        lock: joins of one clinic serialise on it, which makes the queue cap exact."""
        await self.session.execute(
            insert(WaitlistPolicy)
            .values(id=uuid7(), tenant_id=self.tenant_id, clinic_id=clinic_id)
            .on_conflict_do_nothing(index_elements=["tenant_id", "clinic_id"])
        )
        stmt = self.select().where(WaitlistPolicy.clinic_id == clinic_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one()

    async def templates(self, clinic_id: uuid.UUID) -> dict[str, Any]:
        """The clinic's message template overrides (none until a policy is set)."""
        stmt = self.select().where(WaitlistPolicy.clinic_id == clinic_id)
        templates: dict[str, Any] | None = (
            await self.session.execute(stmt.with_only_columns(WaitlistPolicy.templates))
        ).scalar_one_or_none()
        return templates or {}

    async def release_place(self, clinic_id: uuid.UUID) -> None:
        """One live entry fewer under the clinic's cap."""
        await self.session.execute(
            update(WaitlistPolicy)
            .where(WaitlistPolicy.tenant_id == self.tenant_id, WaitlistPolicy.clinic_id == clinic_id)
            .values(live_entries=WaitlistPolicy.live_entries - 1)
        )


def _key_sql(weights: scoring.Weights) -> Any:
    """The ordering key of `scoring.order_key`, as SQL over the entry's columns."""
    hours = (func.extract("epoch", WaitlistEntry.created_at) - scoring.EPOCH.timestamp()) / 3600
    return (
        weights.priority_tier * WaitlistEntry.priority_tier
        + case((WaitlistEntry.chronic_condition, weights.chronic_condition), else_=0.0)
        + WaitlistEntry.boost
        + case((WaitlistEntry.pinned, scoring.PIN), else_=0.0)
        - weights.wait_time * hours
    )


def _after(position: QueuePosition) -> ColumnElement[bool]:
    """Entries that come after `position` in queue order (key desc, then join time, then id)."""
    return or_(
        WaitlistEntry.priority_key < position.priority_key,
        and_(
            WaitlistEntry.priority_key == position.priority_key,
            or_(
                WaitlistEntry.created_at > position.created_at,
                and_(WaitlistEntry.created_at == position.created_at, WaitlistEntry.id > position.entry_id),
            ),
        ),
    )


QUEUE_ORDER = (WaitlistEntry.priority_key.desc(), WaitlistEntry.created_at, WaitlistEntry.id)


def _for_doctor(doctor_id: uuid.UUID) -> ColumnElement[bool]:
    """Entries waiting for this doctor or for anyone at the clinic."""
    return or_(WaitlistEntry.doctor_id == doctor_id, WaitlistEntry.doctor_id.is_(None))


class EntryRepository(TenantScopedRepository[WaitlistEntry]):
    model = WaitlistEntry

    async def rekey_live(self, clinic_id: uuid.UUID, weights: scoring.Weights) -> None:
        """Recompute the ordering key of the clinic's live entries for new weights."""
        await self.session.execute(
            update(WaitlistEntry)
            .where(
                WaitlistEntry.tenant_id == self.tenant_id,
                WaitlistEntry.clinic_id == clinic_id,
                WaitlistEntry.status.in_(LIVE),
            )
            .values(priority_key=_key_sql(weights))
        )

    async def queue(
        self,
        *,
        clinic_id: uuid.UUID,
        status: EntryStatus,
        doctor_id: uuid.UUID | None,
        after: QueuePosition | None,
        limit: int,
    ) -> list[WaitlistEntry]:
        """Up to `limit` entries of the clinic in one status, in queue order, after `after`."""
        stmt = self.select().where(WaitlistEntry.clinic_id == clinic_id, WaitlistEntry.status == status.value)
        if doctor_id is not None:
            stmt = stmt.where(_for_doctor(doctor_id))
        if after is not None:
            stmt = stmt.where(_after(after))
        return await self.list(stmt.order_by(*QUEUE_ORDER), limit=limit)

    async def of_patient(
        self, patient_id: uuid.UUID, *, clinics: Collection[uuid.UUID] | None, page: PageParams
    ) -> list[WaitlistEntry]:
        """A page (plus one, for the cursor) of the patient's entries, newest first, in `clinics`
        (None: every clinic)."""
        stmt = self.select().where(WaitlistEntry.patient_id == patient_id)
        if clinics is not None:
            stmt = stmt.where(WaitlistEntry.clinic_id.in_(clinics))
        paged = paginate(stmt, WaitlistEntry.id, page, newest_first=True)
        return list((await self.session.execute(paged)).scalars())

    async def candidates(
        self,
        *,
        clinic_id: uuid.UUID,
        doctor_id: uuid.UUID,
        starts_at: datetime,
        now: datetime,
        entry_id: uuid.UUID | None,
        limit: int,
    ) -> list[WaitlistEntry]:
        """Active, unexpired entries that may be offered the doctor's slot at `starts_at` (not
        offered it before), best first, locked; rows another transaction holds are skipped."""
        already = select(WaitlistOffer.entry_id).where(
            WaitlistOffer.tenant_id == self.tenant_id,
            WaitlistOffer.doctor_id == doctor_id,
            WaitlistOffer.starts_at == starts_at,
        )
        stmt = self.select().where(
            WaitlistEntry.clinic_id == clinic_id,
            WaitlistEntry.status == EntryStatus.ACTIVE.value,
            _for_doctor(doctor_id),
            WaitlistEntry.expires_at > now,
            WaitlistEntry.id.not_in(already),
        )
        if entry_id is not None:
            stmt = stmt.where(WaitlistEntry.id == entry_id)
        stmt = stmt.order_by(*QUEUE_ORDER).with_for_update(skip_locked=True)
        return await self.list(stmt, limit=limit)

    async def figures(
        self, clinic_id: uuid.UUID, *, now: datetime, day_start: datetime, since: datetime
    ) -> QueueFigures:
        """Depth by status, the wait of active entries (mean and 90th percentile, hours),
        promotions and expiries since `day_start`, promotions and closings since `since`."""
        scope = (WaitlistEntry.tenant_id == self.tenant_id) & (WaitlistEntry.clinic_id == clinic_id)
        depth = {s.value: 0 for s in EntryStatus}
        rows: Any = await self.uow.execute(
            select(WaitlistEntry.status, func.count()).where(scope).group_by(WaitlistEntry.status)
        )
        depth.update({row[0]: int(row[1]) for row in rows})
        mean, p90 = await self._waits(scope, now)
        promoted_today, expired_today = await self._closed_since(
            scope, day_start, (EntryStatus.PROMOTED.value,), (EntryStatus.EXPIRED.value,)
        )
        promoted, closed = await self._closed_since(scope, since, (EntryStatus.PROMOTED.value,), CLOSED)
        return QueueFigures(
            depth=depth,
            average_wait_hours=mean,
            p90_wait_hours=p90,
            promoted_today=promoted_today,
            expired_today=expired_today,
            promoted_recently=promoted,
            closed_recently=closed,
        )

    async def _waits(self, scope: ColumnElement[bool], now: datetime) -> tuple[float | None, float | None]:
        waited = func.extract("epoch", now - WaitlistEntry.created_at) / 3600
        stmt = select(func.avg(waited), func.percentile_cont(0.9).within_group(waited)).where(
            scope, WaitlistEntry.status == EntryStatus.ACTIVE.value
        )
        row: Any = (await self.uow.execute(stmt)).one()
        return (
            float(row[0]) if row[0] is not None else None,
            float(row[1]) if row[1] is not None else None,
        )

    async def _closed_since(
        self, scope: ColumnElement[bool], since: datetime, *statuses: tuple[str, ...]
    ) -> tuple[int, ...]:
        """For each group of statuses, how many entries closed in one of them since `since`."""
        stmt = select(*(func.count().filter(WaitlistEntry.status.in_(group)) for group in statuses)).where(
            scope, WaitlistEntry.closed_at >= since
        )
        row: Any = (await self.uow.execute(stmt)).one()
        return tuple(int(count) for count in row)


class OfferRepository(TenantScopedRepository[WaitlistOffer]):
    model = WaitlistOffer

    async def of_entry(
        self, entry_id: uuid.UUID, appointment_id: uuid.UUID, *, pending_only: bool = False
    ) -> WaitlistOffer | None:
        """The offer of this appointment's slot to this entry (only while pending, if asked)."""
        stmt = self.select().where(
            WaitlistOffer.entry_id == entry_id, WaitlistOffer.appointment_id == appointment_id
        )
        if pending_only:
            stmt = stmt.where(WaitlistOffer.outcome == "pending")
        return (await self.session.execute(stmt)).scalar_one_or_none()


# --- the expiry sweep: across tenants by design ----------------------------------------------


def _due(stmt: Select[WaitlistEntry], order: Any, limit: int) -> Select[WaitlistEntry]:
    return stmt.order_by(order).limit(limit).with_for_update(skip_locked=True)


async def due_invitations(uow: UnitOfWork, *, now: datetime, limit: int) -> list[WaitlistEntry]:
    """Invited entries, of every tenant, whose time to answer has passed; oldest deadline first,
    locked, skipping rows another transaction holds."""
    stmt = select(WaitlistEntry).where(
        WaitlistEntry.status == EntryStatus.INVITED.value, WaitlistEntry.respond_by < now
    )
    return list((await uow.session.execute(_due(stmt, WaitlistEntry.respond_by, limit))).scalars())


async def stale_entries(uow: UnitOfWork, *, now: datetime, limit: int) -> list[WaitlistEntry]:
    """Active entries, of every tenant, past their expiry; oldest first, locked, skipping rows
    another transaction holds."""
    stmt = select(WaitlistEntry).where(
        WaitlistEntry.status == EntryStatus.ACTIVE.value, WaitlistEntry.expires_at <= now
    )
    return list((await uow.session.execute(_due(stmt, WaitlistEntry.expires_at, limit))).scalars())
