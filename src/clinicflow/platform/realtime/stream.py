"""An SSE response for one subscription: replay after `Last-Event-ID`, then live events.

Wire format (sse-starlette): each event has `id` (the log's id), `event` (its type)
and `data` (JSON: the ids it was published with, plus `channel`). `reset` events
carry no id and `data: {"reason": ...}`: the client's state may be stale; it
refetches what it shows (and, when the stream ends after one, reconnects with
`Last-Event-ID`). Heartbeats are comment lines (`: ping`), every `heartbeat` seconds.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

from clinicflow.platform.db import Database
from clinicflow.platform.realtime.hub import Hub, Reset, Subscription, Tick
from clinicflow.platform.realtime.repository import StoredEvent, events_after, oldest_id

HEARTBEAT_SECONDS = 15.0
#: Milliseconds a browser waits before reconnecting (the SSE `retry` field).
RETRY_MILLISECONDS = 2000
#: Most events replayed on resume; a client further behind gets `reset` and refetches.
REPLAY_LIMIT = 500
#: A send to a client blocked this long ends its stream (a stalled TCP peer).
SEND_TIMEOUT_SECONDS = 30.0
#: How often (at least; on the hub's ticks) a long stream checks its caller may still follow it.
RECHECK_SECONDS = 60.0

#: What a subscriber sees of an event's data (a display sees less than staff).
Redact = Callable[[StoredEvent], dict[str, Any]]
#: Whether the caller may still follow the stream (e.g. their session is live).
StillAllowed = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class StreamOptions:
    heartbeat: float = HEARTBEAT_SECONDS
    replay_limit: int = REPLAY_LIMIT
    send_timeout: float = SEND_TIMEOUT_SECONDS
    recheck: float = RECHECK_SECONDS


def full_data(event: StoredEvent) -> dict[str, Any]:
    """Everything the event was published with (for callers allowed to see all of it)."""
    return event.data


class _Encoded:
    """Wire bytes of recent events, per redaction: one event fanned out to N subscribers is
    serialised once, not N times (JSON and SSE framing were most of a delivery's CPU)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._bytes: OrderedDict[tuple[int, Redact], bytes] = OrderedDict()

    def __call__(self, event: StoredEvent, redact: Redact) -> bytes:
        key = (event.id, redact)
        encoded = self._bytes.get(key)
        if encoded is None:
            data = json.dumps({**redact(event), "channel": event.channel}, separators=(",", ":"))
            encoded = ServerSentEvent(data, id=str(event.id), event=event.type).encode()
            self._bytes[key] = encoded
            if len(self._bytes) > self._size:
                self._bytes.popitem(last=False)
        return encoded


_message = _Encoded()


def _reset(reason: str) -> ServerSentEvent:
    return ServerSentEvent(json.dumps({"reason": reason}), event="reset")


def event_stream(
    hub: Hub,
    database: Database,
    *,
    tenant_id: uuid.UUID,
    channels: Iterable[str],
    last_event_id: int | None,
    redact: Redact = full_data,
    still_allowed: StillAllowed | None = None,
    options: StreamOptions | None = None,
) -> EventSourceResponse:
    """The SSE response following `channels` of the tenant (already authorized by the caller).

    Subscribes before replaying, so nothing committed meanwhile falls between the
    replay and the live events; an event in both is sent once.
    """
    options = options or StreamOptions()
    body = _events(
        hub,
        database,
        tenant_id=tenant_id,
        channels=frozenset(channels),
        last_event_id=last_event_id,
        redact=redact,
        still_allowed=still_allowed,
        options=options,
    )
    return EventSourceResponse(body, ping=options.heartbeat, send_timeout=options.send_timeout)


async def _replay(
    database: Database, subscription: Subscription, after_id: int, limit: int
) -> tuple[list[StoredEvent], bool]:
    """Events after `after_id`, and whether some may be gone (pruned, or more than `limit`)."""
    async with database.reading() as uow:
        oldest = await oldest_id(uow)
        events = await events_after(
            uow,
            tenant_id=subscription.tenant_id,
            channels=subscription.channels,
            after_id=after_id,
            limit=limit + 1,
        )
    # The client's last event is still in the log unless it was pruned (or never existed).
    missed = oldest is None or oldest > after_id or len(events) > limit
    return events[:limit], missed


async def _events(
    hub: Hub,
    database: Database,
    *,
    tenant_id: uuid.UUID,
    channels: frozenset[str],
    last_event_id: int | None,
    redact: Redact,
    still_allowed: StillAllowed | None,
    options: StreamOptions,
) -> AsyncIterator[ServerSentEvent | bytes]:
    subscription = hub.subscribe(tenant_id, channels)
    try:
        # The first message: the client knows it is subscribed (and how soon to reconnect).
        yield ServerSentEvent(comment="subscribed", retry=RETRY_MILLISECONDS)
        replayed: set[int] = set()
        if last_event_id is not None:
            events, missed = await _replay(database, subscription, last_event_id, options.replay_limit)
            if missed:
                yield _reset("replay_incomplete")
            for event in events:
                replayed.add(event.id)
                yield _message(event, redact)
        next_check = time.monotonic() + options.recheck
        while True:
            item = await subscription.next()
            if isinstance(item, Tick):
                if still_allowed is not None and time.monotonic() >= next_check:
                    if not await still_allowed():
                        yield _reset("unauthorized")
                        return
                    next_check = time.monotonic() + options.recheck
                continue
            if isinstance(item, Reset):
                yield _reset(item.reason)
                return
            if item.id not in replayed:
                yield _message(item, redact)
    finally:
        hub.unsubscribe(subscription)
