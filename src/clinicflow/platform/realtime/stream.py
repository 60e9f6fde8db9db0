"""An SSE response for one subscription: replay after `Last-Event-ID`, then live events.

Wire format (sse-starlette): each event has `id` (the log's id), `event` (its type)
and `data` (JSON: the ids it was published with, plus `channel`). `reset` events
carry no id and `data: {"reason": ...}`: the client's state may be stale; it
refetches what it shows (and, when the stream ends after one, reconnects with
`Last-Event-ID`). Heartbeats are comment lines (`: ping`), every `heartbeat` seconds.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

from clinicflow.platform.db import Database
from clinicflow.platform.realtime.hub import Hub, Reset, Subscription
from clinicflow.platform.realtime.repository import StoredEvent, events_after, oldest_id

HEARTBEAT_SECONDS = 15.0
#: Milliseconds a browser waits before reconnecting (the SSE `retry` field).
RETRY_MILLISECONDS = 2000
#: Most events replayed on resume; a client further behind gets `reset` and refetches.
REPLAY_LIMIT = 500
#: A send to a client blocked this long ends its stream (a stalled TCP peer).
SEND_TIMEOUT_SECONDS = 30.0
#: How often a long stream checks that its caller may still follow it.
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


def _message(event: StoredEvent, redact: Redact) -> ServerSentEvent:
    data = {**redact(event), "channel": event.channel}
    return ServerSentEvent(json.dumps(data, separators=(",", ":")), id=str(event.id), event=event.type)


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


async def _next(subscription: Subscription, seconds: float) -> StoredEvent | Reset | None:
    try:
        async with asyncio.timeout(seconds):
            return await subscription.next()
    except TimeoutError:
        return None


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
) -> AsyncIterator[ServerSentEvent]:
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
        while True:
            item = await _next(subscription, options.recheck)
            if item is None:
                if still_allowed is not None and not await still_allowed():
                    yield _reset("unauthorized")
                    return
                continue
            if isinstance(item, Reset):
                yield _reset(item.reason)
                return
            if item.id not in replayed:
                yield _message(item, redact)
    finally:
        hub.unsubscribe(subscription)
