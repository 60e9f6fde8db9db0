"""Every query of the live queue.

A queue read is two statements, both compiled once (`direct.Query`):

- `LOCATION`: the location, its clinic's time zone and the clinic's default consult length
  (reads tenancy's `clinic_locations` and `clinics` in SQL, with tenancy's rule that a live
  row has `archived_at IS NULL`, as `tenancy.service.get_location` does);
- `SNAPSHOT` / `SNAPSHOT_WITH_NAMES`: the waiting entries in queue order, read from
  `ix_check_ins_queue` alone (an index-only scan: the order's keys, the id, the doctor and
  the ticket are in the index), joined by primary key to the few columns the index lacks;
  the entries called or in consultation; and per doctor of the queue the lengths of their
  recent consults (`ix_check_ins_tenant_id_doctor_id_completed_at`). The staff variant adds
  the patients' and doctors' names (identity's `users`, by primary key).

Moves are one conditional UPDATE each (`... WHERE queue_status = ANY(:from) RETURNING`), so
two concurrent moves of one entry never both succeed. `claim_head` takes the head of one
doctor's queue with `FOR UPDATE SKIP LOCKED` after a transaction-scoped advisory lock on that
doctor's queue (see `QueueRepository.lock_queue`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Uuid, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY

from clinicflow.checkin.models import DEFAULT_CONSULT_MINUTES, CheckIn, QueueStatus
from clinicflow.checkin.queue.estimates import SAMPLE_DAYS, SAMPLE_SIZE
from clinicflow.checkin.queue.ordering import SQL_ORDER_TEXT
from clinicflow.checkin.queue.rows import Calling, Entry, Moved, QueueDesk, QueueLocation, Snapshot
from clinicflow.platform.db import TenantScopedRepository, UnitOfWork, direct
from clinicflow.platform.db.direct import Query

OPEN = (QueueStatus.WAITING, QueueStatus.CALLED, QueueStatus.IN_CONSULTATION)


LOCATION = Query(
    text(
        f"""
SELECT l.id AS location_id, l.clinic_id, c.timezone,
       COALESCE(p.default_consult_minutes, {DEFAULT_CONSULT_MINUTES}) AS default_consult_minutes
FROM clinic_locations l
JOIN clinics c ON c.tenant_id = l.tenant_id AND c.id = l.clinic_id AND c.archived_at IS NULL
LEFT JOIN clinic_checkin_policies p ON p.tenant_id = l.tenant_id AND p.clinic_id = l.clinic_id
WHERE l.tenant_id = :tenant_id AND l.id = :location_id AND l.archived_at IS NULL
"""
    ),
    name="queue.location",
)

#: The live check-in locations of the tenant's live clinics (of `clinic_ids` unless NULL), by
#: location id, each with what `LOCATION` reads for one: a queue picker and the queue it shows
#: in two statements, not three.
DESKS = Query(
    text(
        f"""
SELECT l.id AS location_id, l.clinic_id, l.name, c.timezone,
       COALESCE(p.default_consult_minutes, {DEFAULT_CONSULT_MINUTES}) AS default_consult_minutes
FROM checkin_locations s
JOIN clinic_locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id AND l.archived_at IS NULL
JOIN clinics c ON c.tenant_id = l.tenant_id AND c.id = l.clinic_id AND c.archived_at IS NULL
LEFT JOIN clinic_checkin_policies p ON p.tenant_id = l.tenant_id AND p.clinic_id = l.clinic_id
WHERE s.tenant_id = :tenant_id AND (CAST(:clinic_ids AS uuid[]) IS NULL OR l.clinic_id = ANY(:clinic_ids))
ORDER BY l.id
LIMIT :limit
"""
    ).bindparams(bindparam("clinic_ids", type_=ARRAY(Uuid()))),
    name="queue.desks",
)

#: Which of these locations have entries of the doctor still open (waiting, called, in
#: consultation) that arrived in the last day: `ix_check_ins_tenant_id_location_id_checked_in_at`
#: narrows to the locations' recent check-ins. Open entries are today's: the end-of-day sweep
#: closes the rest.
DESKS_WITH_OPEN_ENTRIES = Query(
    text(
        """
SELECT DISTINCT q.location_id FROM check_ins q
WHERE q.tenant_id = :tenant_id AND q.location_id = ANY(:location_ids) AND q.checked_in_at >= :since
  AND q.doctor_id = :doctor_id AND q.queue_status IN ('waiting', 'called', 'in_consultation')
"""
    ).bindparams(bindparam("location_ids", type_=ARRAY(Uuid())), bindparam("doctor_id", type_=Uuid())),
    name="queue.desks_with_open_entries",
)


_ENTRY_COLUMNS = (
    "c.id, c.doctor_id, c.ticket, c.queue_status, c.priority, c.late, c.appointment_starts_at, "
    "c.queued_at, c.checked_in_at, c.called_at, c.started_at, c.patient_id, c.appointment_id, "
    "c.recall_count, c.skip_count, c.long_wait_flagged_at"
)
#: The entry columns after `id, doctor_id`, empty (the rows of consult lengths).
_NO_ENTRY = (
    "NULL::text, NULL::text, NULL::smallint, NULL::boolean, "
    "NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, "
    "NULL::uuid, NULL::uuid, NULL::integer, NULL::integer, NULL::timestamptz"
)


def _snapshot_sql(*, names: bool, one_doctor: bool = False) -> str:
    name_columns = "pu.full_name::text AS patient_name, du.full_name::text AS doctor_name"
    name_joins = (
        "LEFT JOIN users pu ON pu.tenant_id = c.tenant_id AND pu.id = c.patient_id "
        "LEFT JOIN users du ON du.tenant_id = c.tenant_id AND du.id = c.doctor_id"
    )
    if not names:
        name_columns, name_joins = "NULL::text AS patient_name, NULL::text AS doctor_name", ""
    doctor = "AND q.doctor_id = :doctor_id" if one_doctor else ""
    return f"""
WITH waiting AS MATERIALIZED (
  SELECT q.id, q.doctor_id, row_number() OVER (ORDER BY {SQL_ORDER_TEXT}) AS n
  FROM check_ins q
  WHERE q.tenant_id = :tenant_id AND q.location_id = :location_id AND q.local_day = :day
    AND q.queue_status = 'waiting' {doctor}
),
active AS MATERIALIZED (
  SELECT q.id, q.doctor_id, row_number() OVER (ORDER BY q.called_at, q.id) AS n
  FROM check_ins q
  WHERE q.local_day = :day AND q.queue_status IN ('called', 'in_consultation')
    AND q.tenant_id = :tenant_id AND q.location_id = :location_id {doctor}
),
parts AS (
  SELECT 'w' AS part, id, n FROM waiting UNION ALL SELECT 'a', id, n FROM active
)
SELECT parts.part, parts.n, {_ENTRY_COLUMNS}, {name_columns}, NULL::float8[] AS seconds
FROM parts JOIN check_ins c ON c.id = parts.id AND c.tenant_id = :tenant_id {name_joins}
UNION ALL
SELECT 'd', 0, NULL::uuid, d.doctor_id, {_NO_ENTRY}, NULL::text, NULL::text,
  ARRAY(SELECT EXTRACT(EPOCH FROM h.completed_at - h.started_at)::float8
        FROM check_ins h
        WHERE h.tenant_id = :tenant_id AND h.doctor_id = d.doctor_id
          AND h.completed_at IS NOT NULL AND h.started_at IS NOT NULL AND h.completed_at >= :since
        ORDER BY h.completed_at DESC LIMIT {SAMPLE_SIZE})
FROM (SELECT doctor_id FROM waiting UNION SELECT doctor_id FROM active) d
ORDER BY 1 DESC, 2
"""


#: The waiting list's read alone, as `EXPLAIN` shows it must run: index only.
WAITING_SQL = f"""
SELECT q.id, q.doctor_id, q.ticket FROM check_ins q
WHERE q.tenant_id = :tenant_id AND q.location_id = :location_id AND q.local_day = :day
  AND q.queue_status = 'waiting'
ORDER BY {SQL_ORDER_TEXT}
"""
SNAPSHOT = Query(text(_snapshot_sql(names=False)), name="queue.snapshot")
SNAPSHOT_WITH_NAMES = Query(text(_snapshot_sql(names=True)), name="queue.snapshot_with_names")
#: One doctor's part of the queue (what an arrival for them changes: nobody else's place).
DOCTOR_SNAPSHOT = Query(
    text(_snapshot_sql(names=False, one_doctor=True)).bindparams(bindparam("doctor_id", type_=Uuid())),
    name="queue.doctor_snapshot",
)

_ENTRY_FIELDS = tuple(Entry.__dataclass_fields__)


def _snapshot(rows: Sequence[dict[str, Any]]) -> Snapshot:
    waiting: list[Entry] = []
    active: list[Entry] = []
    seconds: dict[uuid.UUID, list[float]] = {}
    for row in rows:
        if row["part"] == "d":
            seconds[row["doctor_id"]] = list(row["seconds"] or [])
            continue
        entry = Entry(**{key: row[key] for key in _ENTRY_FIELDS})
        (waiting if row["part"] == "w" else active).append(entry)
    return Snapshot(waiting=waiting, active=active, consult_seconds=seconds)


async def location(uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID) -> QueueLocation | None:
    row = await uow.fetch_one(LOCATION, tenant_id=tenant_id, location_id=location_id)
    return QueueLocation(**row) if row is not None else None


async def desks(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, clinic_ids: Collection[uuid.UUID] | None, limit: int
) -> list[QueueDesk]:
    """`DESKS`: one statement."""
    rows = await uow.fetch(
        DESKS, tenant_id=tenant_id, clinic_ids=None if clinic_ids is None else list(clinic_ids), limit=limit
    )
    return [QueueDesk(QueueLocation(**_place_of(row)), row["name"]) for row in rows]


def _place_of(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "name"}


async def snapshot(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    day: date,
    now: datetime,
    names: bool = False,
) -> Snapshot:
    """The location's queue of `day` in one statement (see the module)."""
    rows = await uow.fetch(
        SNAPSHOT_WITH_NAMES if names else SNAPSHOT,
        tenant_id=tenant_id,
        location_id=location_id,
        day=day,
        since=now - timedelta(days=SAMPLE_DAYS),
    )
    return _snapshot(rows)


async def desks_with_open_entries(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    doctor_id: uuid.UUID,
    location_ids: Sequence[uuid.UUID],
    now: datetime,
) -> set[uuid.UUID]:
    """`DESKS_WITH_OPEN_ENTRIES`: one statement whatever the number of locations."""
    rows = await uow.fetch(
        DESKS_WITH_OPEN_ENTRIES,
        tenant_id=tenant_id,
        doctor_id=doctor_id,
        location_ids=list(location_ids),
        since=now - timedelta(days=1),
    )
    return {row["location_id"] for row in rows}


async def queue_doctor_snapshot(
    connection: psycopg.AsyncConnection[Any],
    *,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    doctor_id: uuid.UUID,
    day: date,
    now: datetime,
) -> psycopg.AsyncCursor[Any]:
    """Send the snapshot of one doctor's part of the queue (`DOCTOR_SNAPSHOT`, without names) in
    the caller's pipeline, after the statements queued before it (it sees their rows: an
    arrival's own check-in); `snapshot_of(cursor)` reads it after the pipeline."""
    cursor = connection.cursor()
    values = {
        "tenant_id": tenant_id,
        "location_id": location_id,
        "doctor_id": doctor_id,
        "day": day,
        "since": now - timedelta(days=SAMPLE_DAYS),
    }
    await direct.send(cursor, DOCTOR_SNAPSHOT, values)
    return cursor


async def snapshot_of(cursor: psycopg.AsyncCursor[Any]) -> Snapshot:
    """The queue `queue_doctor_snapshot` read."""
    async with cursor:
        return _snapshot(await direct.rows_of(cursor, DOCTOR_SNAPSHOT))


_MOVED = (
    CheckIn.id,
    CheckIn.clinic_id,
    CheckIn.location_id,
    CheckIn.local_day,
    CheckIn.doctor_id,
    CheckIn.patient_id,
    CheckIn.appointment_id,
    CheckIn.ticket,
    CheckIn.queue_status,
    CheckIn.priority,
)


_LOCK_QUEUE = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_CLAIM_HEAD = text(
    f"""
UPDATE check_ins c SET queue_status = 'called', called_at = :now, called_by = :called_by
WHERE c.tenant_id = :tenant_id AND c.id = (
  SELECT q.id FROM check_ins q
  WHERE q.tenant_id = :tenant_id AND q.location_id = :location_id AND q.local_day = :day
    AND q.queue_status = 'waiting' AND q.doctor_id = :doctor_id
  ORDER BY {SQL_ORDER_TEXT}
  LIMIT 1
  FOR UPDATE SKIP LOCKED
)
RETURNING c.id, c.clinic_id, c.location_id, c.local_day, c.doctor_id, c.patient_id, c.appointment_id,
  c.ticket, c.queue_status, c.priority
"""
)


class QueueRepository(TenantScopedRepository[CheckIn]):
    model = CheckIn

    async def entry(self, check_in_id: uuid.UUID) -> Moved | None:
        """The tenant's check-in (any status), or None."""
        stmt = select(*_MOVED).where(CheckIn.tenant_id == self.tenant_id, CheckIn.id == check_in_id)
        row = (await self.uow.execute(stmt)).mappings().first()
        return Moved(**row) if row is not None else None

    async def lock_queue(self, *, location_id: uuid.UUID, day: date, doctor_id: uuid.UUID) -> None:
        """Take the transaction-scoped advisory lock of one doctor's queue at a location and day.

        Every move of that queue takes it first, so they take turns: calls happen strictly
        in queue order (also when one rolls back), and the positions a move announces are
        those its transaction really left. Other queues are not held up.
        """
        key = f"queue:{self.tenant_id}:{location_id}:{day.isoformat()}:{doctor_id}"
        await self.uow.execute(_LOCK_QUEUE.bindparams(key=key))

    async def claim_head(
        self, *, location_id: uuid.UUID, day: date, doctor_id: uuid.UUID, called_by: uuid.UUID, now: datetime
    ) -> Moved | None:
        """Mark the head of `doctor_id`'s queue called; None when nobody waits for them.

        Run under `lock_queue`; `FOR UPDATE SKIP LOCKED` passes over an entry that a use case
        outside the queue's lock (the end-of-day sweep) holds at that moment instead of
        waiting for it.
        """
        stmt = _CLAIM_HEAD.bindparams(
            now=now,
            called_by=called_by,
            tenant_id=self.tenant_id,
            location_id=location_id,
            day=day,
            doctor_id=doctor_id,
        )
        row = (await self.uow.execute(stmt)).mappings().first()
        return Moved(**row) if row is not None else None

    async def move(
        self, check_in_id: uuid.UUID, leaving: Collection[QueueStatus], values: dict[str, Any]
    ) -> Moved | None:
        """`UPDATE … SET values WHERE queue_status IN leaving RETURNING`: None when it left none."""
        stmt = (
            update(CheckIn)
            .where(
                CheckIn.tenant_id == self.tenant_id,
                CheckIn.id == check_in_id,
                CheckIn.queue_status.in_([s.value for s in leaving]),
            )
            .values(**values)
            .returning(*_MOVED)
            .execution_options(synchronize_session=False)
        )
        row = (await self.uow.execute(stmt)).mappings().first()
        return Moved(**row) if row is not None else None

    async def served_since(
        self, *, location_id: uuid.UUID, day: date, day_start: datetime
    ) -> list[tuple[uuid.UUID, datetime]]:
        """(doctor, called_at) of the day's finished entries (completed or no-show).

        Bounded by arrival (`checked_in_at` within two days of the day) so the location's
        check-in index reads the day's rows only, not its history.
        """
        stmt = select(CheckIn.doctor_id, CheckIn.called_at).where(
            CheckIn.tenant_id == self.tenant_id,
            CheckIn.location_id == location_id,
            CheckIn.checked_in_at >= day_start - timedelta(days=2),
            CheckIn.checked_in_at < day_start + timedelta(days=3),
            CheckIn.local_day == day,
            CheckIn.queue_status.in_([QueueStatus.COMPLETED.value, QueueStatus.NO_SHOW.value]),
            CheckIn.called_at.is_not(None),
        )
        return [(row.doctor_id, row.called_at) for row in await self.uow.execute(stmt)]

    async def flag_long_waits(self, ids: Collection[uuid.UUID], now: datetime) -> list[Moved]:
        """Flag these waiting entries, once each (already flagged ones are left alone)."""
        stmt = (
            update(CheckIn)
            .where(
                CheckIn.tenant_id == self.tenant_id,
                CheckIn.id.in_(list(ids)),
                CheckIn.queue_status == QueueStatus.WAITING.value,
                CheckIn.long_wait_flagged_at.is_(None),
            )
            .values(long_wait_flagged_at=now)
            .returning(*_MOVED)
            .execution_options(synchronize_session=False)
        )
        return [Moved(**row) for row in (await self.uow.execute(stmt)).mappings()]


_CLOSE_STALE = text(
    """
WITH stale AS (
  SELECT q.id FROM check_ins q
  JOIN clinics c ON c.tenant_id = q.tenant_id AND c.id = q.clinic_id
  WHERE q.queue_status IN ('waiting', 'called', 'in_consultation') AND q.local_day < :upper
    AND q.local_day < (CAST(:now AS timestamptz) AT TIME ZONE c.timezone)::date
  ORDER BY q.local_day
  LIMIT :limit
  FOR UPDATE OF q SKIP LOCKED
)
UPDATE check_ins q SET queue_status = 'closed', closed_at = :now
FROM stale WHERE q.id = stale.id
RETURNING q.tenant_id, q.id, q.clinic_id, q.location_id, q.local_day, q.doctor_id, q.patient_id,
  q.appointment_id, q.ticket, q.queue_status, q.priority
"""
)

_LONG_WAIT_QUEUES = text(
    """
SELECT DISTINCT q.tenant_id, q.location_id, q.local_day, c.timezone
FROM check_ins q
JOIN clinics c ON c.tenant_id = q.tenant_id AND c.id = q.clinic_id
WHERE q.queue_status = 'waiting' AND q.local_day BETWEEN :lower AND :upper
  AND q.local_day = (CAST(:now AS timestamptz) AT TIME ZONE c.timezone)::date
  AND q.long_wait_flagged_at IS NULL AND q.queued_at < :queued_before
"""
)


async def close_stale(uow: UnitOfWork, *, now: datetime, limit: int) -> list[tuple[uuid.UUID, Moved]]:
    """Close up to `limit` entries (any tenant) still open after their clinic-local day ended;
    (tenant, entry) as closed. Rows another sweep holds are skipped, never closed twice.

    `ix_check_ins_open_local_day` bounds the read: no clinic's today is past UTC's tomorrow.
    """
    stmt = _CLOSE_STALE.bindparams(now=now, upper=now.date() + timedelta(days=1), limit=limit)
    rows = (await uow.execute(stmt)).mappings().all()
    return [(row["tenant_id"], Moved(**{k: v for k, v in row.items() if k != "tenant_id"})) for row in rows]


async def queues_with_long_waiters(
    uow: UnitOfWork, *, now: datetime, queued_before: datetime
) -> list[tuple[uuid.UUID, uuid.UUID, date, str]]:
    """(tenant, location, day, zone) of today's queues (clinic-local) with someone waiting
    since before `queued_before` and not yet flagged."""
    stmt = _LONG_WAIT_QUEUES.bindparams(
        now=now,
        lower=now.date() - timedelta(days=1),
        upper=now.date() + timedelta(days=1),
        queued_before=queued_before,
    )
    return [(row.tenant_id, row.location_id, row.local_day, row.timezone) for row in await uow.execute(stmt)]


#: The called entries of a location's day, newest call first (a display's "now calling").
CALLING = Query(
    text(
        """
SELECT c.ticket, c.called_at, c.recall_count, du.full_name::text AS doctor_name, r.name::text AS room
FROM check_ins c
JOIN appointments a ON a.tenant_id = c.tenant_id AND a.id = c.appointment_id
LEFT JOIN clinic_locations r ON r.tenant_id = a.tenant_id AND r.id = a.location_id
  AND r.kind = 'room' AND r.archived_at IS NULL
LEFT JOIN users du ON du.tenant_id = c.tenant_id AND du.id = c.doctor_id
WHERE c.tenant_id = :tenant_id AND c.location_id = :location_id AND c.local_day = :day
  AND c.queue_status = 'called'
ORDER BY c.called_at DESC, c.id
LIMIT :limit
"""
    ),
    name="queue.calling",
)


async def calling(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, location_id: uuid.UUID, day: date, limit: int
) -> list[Calling]:
    """The location's called entries of `day`, newest call first (at most `limit`)."""
    rows = await uow.fetch(CALLING, tenant_id=tenant_id, location_id=location_id, day=day, limit=limit)
    return [Calling(**row) for row in rows]
