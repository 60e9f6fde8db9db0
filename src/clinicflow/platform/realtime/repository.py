"""Every query of the replay log (`realtime_events`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Text, cast, delete, func, insert, select

from clinicflow.platform.db import UnitOfWork
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


async def insert_events(uow: UnitOfWork, rows: Sequence[dict[str, Any]], *, notify: bool) -> None:
    """Insert the rows; with `notify`, also NOTIFY this transaction's id, in the same statement.

    The notification is delivered by PostgreSQL only if the transaction commits.
    """
    stmt = insert(RealtimeEvent).values(list(rows))
    if not notify:
        await uow.execute(stmt)
        return
    published = stmt.returning(RealtimeEvent.txid).cte("published")
    await uow.execute(
        select(func.pg_notify(NOTIFY_CHANNEL, cast(func.max(published.c.txid), Text))).select_from(published)
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
