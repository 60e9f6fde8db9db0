"""Real time: publish inside the transaction, fan out to SSE subscribers of every process.

How an event travels:

1. A use case calls `publish(uow, channel, type, ids, tenant_id=...)` inside its unit of
   work. The event is INSERTed into the replay log `realtime_events` (ids only) and the
   transaction's first event also issues `pg_notify('clinicflow_realtime', <txid>)`.
   PostgreSQL delivers the notification at commit only: a rollback sends nothing.
2. Each process has one `LISTEN` connection (`platform.listener`). Its `Hub` collects the
   transaction ids that arrive, loads their events with ONE query per batch, and puts
   each event into the bounded queue of every in-memory subscriber of that channel.
   A subscriber whose queue is full is dropped with a `reset` event (its client resumes
   with `Last-Event-ID`); it never slows the others.
3. `stream.event_stream` turns a subscription into an SSE response: replay after
   `Last-Event-ID` from the log, then live events, heartbeats as comment lines.

A lost `LISTEN` connection means missed notifications: every subscriber gets `reset`
and resumes from the log. The log is pruned by `platform.realtime_prune` (an hour kept).
This package knows no domain: who may follow which channel is decided by the caller.
"""

from clinicflow.platform.realtime.hub import Hub, Reset, Subscription, Tick
from clinicflow.platform.realtime.publish import MAX_DATA_BYTES, EventTooLarge, publish, publish_many
from clinicflow.platform.realtime.repository import NOTIFY_CHANNEL, StoredEvent

__all__ = [
    "MAX_DATA_BYTES",
    "NOTIFY_CHANNEL",
    "EventTooLarge",
    "Hub",
    "Reset",
    "StoredEvent",
    "Subscription",
    "Tick",
    "publish",
    "publish_many",
]
