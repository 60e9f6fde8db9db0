"""The process's fan-out: notifications in, events out to in-memory subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from clinicflow.platform.db import Database
from clinicflow.platform.listener import Listener
from clinicflow.platform.logging import get_logger
from clinicflow.platform.realtime.repository import NOTIFY_CHANNEL, StoredEvent, events_of_transactions

log = get_logger(__name__)

#: Events a subscriber may have waiting before it is dropped (with `reset`).
DEFAULT_QUEUE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Reset:
    """The end of a subscription that may have missed events: its client resumes from the log.

    `reason`: `overflow` (the client did not keep up), `listener_reset` (this process's
    LISTEN connection was lost), `load_failed` (the log could not be read), `shutdown`.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class Tick:
    """A periodic marker in every queue: time for a long stream to re-check its caller."""


TICK = Tick()
#: Seconds between ticks.
TICK_SECONDS = 60.0


class Subscription:
    """One client's interest in some channels of one tenant, with a bounded queue."""

    __slots__ = ("_queue", "_size", "channels", "closed", "tenant_id")

    def __init__(self, tenant_id: uuid.UUID, channels: frozenset[str], size: int) -> None:
        self.tenant_id = tenant_id
        self.channels = channels
        self.closed = False
        self._size = size
        # One slot more than `size`: room for the Reset that ends a full subscription.
        self._queue: asyncio.Queue[StoredEvent | Reset | Tick] = asyncio.Queue(size + 1)

    def offer(self, event: StoredEvent) -> bool:
        """Queue `event` without waiting; False when the queue is full (the caller drops us)."""
        if self.closed:
            return True
        if self._queue.qsize() >= self._size:
            return False
        self._queue.put_nowait(event)
        return True

    def end(self, reset: Reset) -> None:
        """Close with `reset` as the last item (events already queued are still delivered)."""
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(reset)

    @property
    def pending(self) -> int:
        """Items waiting in the queue."""
        return self._queue.qsize()

    def tick(self) -> None:
        """Queue a Tick unless the queue is busy (then events wake the stream anyway)."""
        if not self.closed and self._queue.empty():
            self._queue.put_nowait(TICK)

    async def next(self) -> StoredEvent | Reset | Tick:
        """The next event, a Tick, or the Reset that ends this subscription."""
        return await self._queue.get()


class Hub:
    """Fans the events of committed transactions out to this process's subscribers.

    Notifications name transactions; the hub batches the ones that arrive while a
    load is running and loads each batch's events with one query. Delivery never
    waits for a subscriber: a full queue drops that subscriber alone.
    """

    def __init__(
        self, database: Database, *, queue_size: int = DEFAULT_QUEUE_SIZE, tick_seconds: float = TICK_SECONDS
    ) -> None:
        self._database = database
        self._tick_seconds = tick_seconds
        self._ticker: asyncio.Task[None] | None = None
        self._queue_size = queue_size
        self._listener: Listener | None = None
        self._by_channel: dict[tuple[uuid.UUID, str], set[Subscription]] = {}
        self._subscriptions: set[Subscription] = set()
        self._pending: set[int] = set()
        self._loader: asyncio.Task[None] | None = None
        self.loads = 0  # queries run (one per batch of notifications)
        self.delivered = 0
        self.dropped = 0

    def attach(self, listener: Listener) -> None:
        """Receive this process's notifications (call before `listener.start()`)."""
        self._listener = listener
        listener.subscribe(NOTIFY_CHANNEL, self.notified)
        listener.on_reset(self.reset_all)

    @property
    def healthy(self) -> bool:
        """True while notifications arrive: a subscriber accepted now misses nothing."""
        return self._listener is not None and self._listener.healthy

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def subscribe(
        self, tenant_id: uuid.UUID, channels: Iterable[str], *, queue_size: int | None = None
    ) -> Subscription:
        """A new subscription to these channels of the tenant (the caller authorized them)."""
        subscription = Subscription(tenant_id, frozenset(channels), queue_size or self._queue_size)
        self._subscriptions.add(subscription)
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick(), name="clinicflow-realtime-tick")
        for channel in subscription.channels:
            self._by_channel.setdefault((tenant_id, channel), set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to `subscription` (its client left, or it was dropped)."""
        self._subscriptions.discard(subscription)
        for channel in subscription.channels:
            key = (subscription.tenant_id, channel)
            followers = self._by_channel.get(key)
            if followers is not None:
                followers.discard(subscription)
                if not followers:
                    del self._by_channel[key]

    def notified(self, payload: str) -> None:
        """Listener callback: a transaction that published has committed (payload: its id)."""
        try:
            txid = int(payload)
        except ValueError:
            log.warning("realtime.bad_notification", payload=payload[:100])
            return
        if not self._subscriptions:
            return  # nobody here listens; the log keeps the events for later resumes
        self._pending.add(txid)
        if self._loader is None or self._loader.done():
            self._loader = asyncio.create_task(self._load_pending(), name="clinicflow-realtime-load")

    def reset_all(self, reason: str = "listener_reset") -> None:
        """End every subscription with `reset` (notifications may have been missed)."""
        for subscription in list(self._subscriptions):
            self._drop(subscription, Reset(reason))

    async def close(self) -> None:
        """End every subscription (`shutdown`) and stop loading."""
        self.reset_all("shutdown")
        for task in (self._loader, self._ticker):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._loader = self._ticker = None

    async def _tick(self) -> None:
        # One timer for the process instead of one per stream read (a timeout per read was
        # a sixth of a delivery's CPU in bench/realtime.py).
        while self._subscriptions:
            await asyncio.sleep(self._tick_seconds)
            for subscription in list(self._subscriptions):
                subscription.tick()

    async def _load_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, set()
            try:
                async with self._database.reading() as uow:
                    events = await events_of_transactions(uow, batch)
            except Exception:
                log.exception("realtime.load_failed", transactions=len(batch))
                self.reset_all("load_failed")
                continue
            self.loads += 1
            self.fan_out(events)

    def fan_out(self, events: Iterable[StoredEvent]) -> None:
        """Offer each event to the subscribers of its tenant and channel."""
        for event in events:
            followers = self._by_channel.get((event.tenant_id, event.channel))
            if not followers:
                continue
            for subscription in tuple(followers):
                if subscription.offer(event):
                    self.delivered += 1
                else:
                    self._drop(subscription, Reset("overflow"))

    def _drop(self, subscription: Subscription, reset: Reset) -> None:
        if reset.reason == "overflow":
            self.dropped += 1
            log.info("realtime.subscriber_dropped", reason=reset.reason)
        self.unsubscribe(subscription)
        subscription.end(reset)
