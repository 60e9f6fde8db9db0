"""Every query of the replay log (`realtime_events`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Text, Uuid, bindparam, delete, func, select, text

from clinicflow.platform.db import UnitOfWork
from clinicflow.platform.db.direct import Query
from clinicflow.platform.realtime.models import RealtimeEvent

#: The one PostgreSQL channel every process listens on; payload: a transaction id.
NOTIFY_CHANNEL = "clinicflow_realtime"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the stream sends it."""

    id: int
    tenant_id: uuid.UUID
    channel: str
    type: str
    data: dict[str, Any]


_COLUMNS = (
    RealtimeEvent.id,
    RealtimeEvent.tenant_id,
    RealtimeEvent.channel,
    RealtimeEvent.type,
    RealtimeEvent.data,
)


def _events(rows: Iterable[Any]) -> list[StoredEvent]:
    return [StoredEvent(row.id, row.tenant_id, row.channel, row.type, row.data) for row in rows]


def _inserting(*, notify: bool) -> Query:
    """One INSERT of any number of events (one JSON array of them: one SQL text, compiled
    once, one parameter) and, with `notify`, the NOTIFY of this transaction's id in the same
    statement."""
    last = (
        f"SELECT pg_notify('{NOTIFY_CHANNEL}', max(txid)::text) AS notified FROM published"
        if notify
        else "SELECT count(*) AS inserted FROM published"
    )
    return Query(
        text(
            f"""
WITH published AS (
  INSERT INTO realtime_events (tenant_id, channel, type, data)
  SELECT :tenant_id, e.channel, e.type, e.data
  FROM jsonb_to_recordset(CAST(:events AS jsonb)) AS e(channel text, type text, data jsonb)
  RETURNING txid
)
{last}
"""
        ).bindparams(bindparam("tenant_id", type_=Uuid()), bindparam("events", type_=Text())),
        name="realtime.insert_events" + ("_notify" if notify else ""),
    )


_INSERT, _INSERT_NOTIFY = _inserting(notify=False), _inserting(notify=True)


def event_json(channel: str, type: str, data: str) -> str:
    """One event as `insert_events` takes it: `data` is its JSON text already."""
    return f'{{"channel":{json.dumps(channel)},"type":{json.dumps(type)},"data":{data}}}'


async def insert_events(
    uow: UnitOfWork, tenant_id: uuid.UUID, events: Sequence[str], *, notify: bool
) -> None:
    """Insert the tenant's events (each an `event_json`) in one statement, in order; with
    `notify`, also NOTIFY this transaction's id in it.

    The notification is delivered by PostgreSQL only if the transaction commits.
    """
    await uow.fetch(
        _INSERT_NOTIFY if notify else _INSERT, tenant_id=tenant_id, events=f"[{','.join(events)}]"
    )


async def events_of_transactions(uow: UnitOfWork, txids: Iterable[int]) -> list[StoredEvent]:
    """The events written by these (committed) transactions, in id order."""
    stmt = select(*_COLUMNS).where(RealtimeEvent.txid.in_(list(txids))).order_by(RealtimeEvent.id)
    return _events(await uow.execute(stmt))


async def events_after(
    uow: UnitOfWork, *, tenant_id: uuid.UUID, channels: Iterable[str], after_id: int, limit: int
) -> list[StoredEvent]:
    """The tenant's events on these channels with an id above `after_id`, oldest first."""
    stmt = (
        select(*_COLUMNS)
        .where(
            RealtimeEvent.tenant_id == tenant_id,
            RealtimeEvent.channel.in_(list(channels)),
            RealtimeEvent.id > after_id,
        )
        .order_by(RealtimeEvent.id)
        .limit(limit)
    )
    return _events(await uow.execute(stmt))


async def oldest_id(uow: UnitOfWork) -> int | None:
    """The id of the oldest event still kept (None when the log is empty)."""
    return (await uow.execute(select(func.min(RealtimeEvent.id)))).scalar_one_or_none()


async def delete_older_than(uow: UnitOfWork, age: timedelta) -> int:
    """Delete events older than `age` by the database's clock; returns how many."""
    result = await uow.execute(delete(RealtimeEvent).where(RealtimeEvent.created_at < func.now() - age))
    return int(getattr(result, "rowcount", 0) or 0)
