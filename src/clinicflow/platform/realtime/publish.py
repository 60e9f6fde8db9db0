"""Publishing: an event becomes a row of the replay log and, at commit, one NOTIFY."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from clinicflow.platform.db import ReadOnlyUnitOfWorkError, UnitOfWork
from clinicflow.platform.jsonable import to_jsonable
from clinicflow.platform.realtime.repository import event_json, insert_events

#: An event's `data` is ids (and small codes) only: clients load what they show. PostgreSQL
#: refuses NOTIFY payloads of 8000 bytes; ours carry a transaction id, and this bounds rows.
MAX_DATA_BYTES = 2000
MAX_CHANNEL_LENGTH = 120

_NOTIFIED = "clinicflow.realtime.notified"


class EventTooLarge(ValueError):
    """An event's data is over `MAX_DATA_BYTES`: publish ids, not content."""


def _channels(channel: str | Iterable[str]) -> list[str]:
    channels = [channel] if isinstance(channel, str) else list(dict.fromkeys(channel))
    for name in channels:
        if not name or len(name) > MAX_CHANNEL_LENGTH:
            raise ValueError(f"a channel name has 1 to {MAX_CHANNEL_LENGTH} characters: {name!r}")
    return channels


async def publish(
    uow: UnitOfWork,
    channel: str | Iterable[str],
    type: str,
    ids: Mapping[str, Any],
    *,
    tenant_id: uuid.UUID,
) -> None:
    """Publish `type` with `ids` on one channel or several, inside the unit of work's transaction.

    Guarantees: the event exists (in the replay log, and for live subscribers of
    every process) exactly when the transaction commits; a rollback publishes
    nothing. However many events a transaction publishes, it sends ONE `NOTIFY`
    (naming the transaction), issued with its first event's INSERT in one round
    trip. Raises EventTooLarge for data over MAX_DATA_BYTES, ReadOnlyUnitOfWorkError
    in a read-only unit of work.
    """
    await publish_many(uow, [(channel, type, ids)], tenant_id=tenant_id)


async def publish_many(
    uow: UnitOfWork,
    events: Iterable[tuple[str | Iterable[str], str, Mapping[str, Any]]],
    *,
    tenant_id: uuid.UUID,
) -> None:
    """`publish` for several events, each `(channel or channels, type, ids)` with its own data,
    in ONE statement: a queue change tells each waiting patient their own new position.
    Same guarantees and errors as `publish`."""
    if uow.read_only:
        raise ReadOnlyUnitOfWorkError("publishing writes: it needs a transaction")
    rows = []
    for channel, type, ids in events:
        data = json.dumps(to_jsonable(dict(ids)), separators=(",", ":"))
        if len(data) > MAX_DATA_BYTES:
            raise EventTooLarge(f"{type}: event data over {MAX_DATA_BYTES} bytes; publish ids only")
        rows += [event_json(name, type, data) for name in _channels(channel)]
    if not rows:
        return
    info = uow.session.info
    first = not info.get(_NOTIFIED)
    await insert_events(uow, tenant_id, rows, notify=first)
    info[_NOTIFIED] = True
