"""The hub and publish, in process: one NOTIFY per transaction, one query per batch, bounded queues."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Select, select

from clinicflow.platform.db import Database
from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.listener import Listener
from clinicflow.platform.realtime import NOTIFY_CHANNEL, EventTooLarge, Hub, Reset, StoredEvent, publish
from clinicflow.platform.realtime.models import RealtimeEvent
from tests.factories import make_tenant


@pytest.fixture
async def listener(database_url: str) -> AsyncIterator[Listener]:
    listener = Listener(libpq_url(database_url), poll_seconds=0.1, min_backoff=0.05)
    yield listener
    await listener.stop()


@pytest.fixture
async def notifications(database_url: str) -> AsyncIterator[asyncio.Queue[str]]:
    """Every NOTIFY on the realtime channel, as seen by a separate session."""
    received: asyncio.Queue[str] = asyncio.Queue()
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as conn:
        await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

        async def pump() -> None:
            async for notify in conn.notifies():
                await received.put(notify.payload)

        task = asyncio.create_task(pump())
        yield received
        task.cancel()


async def _tenant(database: Database) -> uuid.UUID:
    tenant = await make_tenant(database)
    return tenant.id


async def test_a_transaction_sends_one_notification_however_many_events(
    database: Database, notifications: asyncio.Queue[str]
) -> None:
    tenant_id = await _tenant(database)
    async with database.transaction() as uow:
        await publish(uow, ["clinic:1", "patient:1"], "a.changed", {"n": 1}, tenant_id=tenant_id)
        await publish(uow, "clinic:1", "a.changed", {"n": 2}, tenant_id=tenant_id)
        await publish(uow, "clinic:1", "a.changed", {"n": 3}, tenant_id=tenant_id)
    payload = await asyncio.wait_for(notifications.get(), 2)
    await asyncio.sleep(0.3)
    assert notifications.empty()
    async with database.reading() as uow:
        rows = (await uow.session.execute(_events_of(int(payload)))).all()
    assert [(channel, data["n"]) for channel, data in rows] == [
        ("clinic:1", 1),
        ("patient:1", 1),
        ("clinic:1", 2),
        ("clinic:1", 3),
    ]


def _events_of(txid: int) -> Select[tuple[str, dict[str, Any]]]:
    return (
        select(RealtimeEvent.channel, RealtimeEvent.data)
        .where(RealtimeEvent.txid == txid)
        .order_by(RealtimeEvent.id)
    )


async def test_a_rollback_publishes_nothing(database: Database, notifications: asyncio.Queue[str]) -> None:
    tenant_id = await _tenant(database)
    with pytest.raises(RuntimeError):
        async with database.transaction() as uow:
            await publish(uow, "clinic:1", "a.changed", {"n": 1}, tenant_id=tenant_id)
            raise RuntimeError("the use case fails")
    await asyncio.sleep(0.5)
    assert notifications.empty()


async def test_events_carry_ids_not_content(database: Database) -> None:
    tenant_id = await _tenant(database)
    async with database.transaction() as uow:
        with pytest.raises(EventTooLarge):
            await publish(uow, "clinic:1", "a.changed", {"note": "x" * 5000}, tenant_id=tenant_id)


def _event(n: int, tenant_id: uuid.UUID, channel: str = "clinic:1") -> StoredEvent:
    return StoredEvent(n, tenant_id, channel, "a.changed", {"n": n})


async def test_a_full_subscriber_is_dropped_with_reset_and_others_get_everything(database: Database) -> None:
    hub = Hub(database, queue_size=3)
    tenant = uuid.uuid4()
    slow = hub.subscribe(tenant, ["clinic:1"])
    other_tenant = hub.subscribe(uuid.uuid4(), ["clinic:1"])
    fast = hub.subscribe(tenant, ["clinic:1", "clinic:2"], queue_size=100)
    hub.fan_out([_event(n, tenant) for n in range(1, 6)])
    assert [await slow.next() for _ in range(4)] == [
        _event(1, tenant),
        _event(2, tenant),
        _event(3, tenant),
        Reset("overflow"),
    ]
    assert [(await fast.next()).id for _ in range(5)] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]
    assert hub.subscribers == 2
    assert hub.dropped == 1
    hub.fan_out([_event(6, tenant)])
    assert (await fast.next()).id == 6  # type: ignore[union-attr]
    assert other_tenant.closed is False
    assert other_tenant.pending == 0


async def test_the_hub_loads_each_batch_of_notifications_with_one_query(
    database: Database, listener: Listener
) -> None:
    tenant_id = await _tenant(database)
    hub = Hub(database)
    hub.attach(listener)
    await listener.start(wait=5)
    subscription = hub.subscribe(tenant_id, ["clinic:1"])
    for n in range(3):
        async with database.transaction() as uow:
            await publish(uow, "clinic:1", "a.changed", {"n": n}, tenant_id=tenant_id)
    got = [await asyncio.wait_for(subscription.next(), 2) for _ in range(3)]
    assert [event.data["n"] for event in got] == [0, 1, 2]  # type: ignore[union-attr]
    assert 1 <= hub.loads <= 3
    # Notifications that arrive together are loaded together.
    hub.loads = 0
    for txid in await _txids(database, tenant_id):
        hub.notified(str(txid))
    await asyncio.sleep(0.3)
    assert hub.loads == 1
    await hub.close()


async def _txids(database: Database, tenant_id: uuid.UUID) -> list[int]:
    async with database.reading() as uow:
        result = await uow.execute(select(RealtimeEvent.txid).where(RealtimeEvent.tenant_id == tenant_id))
        return [row[0] for row in result]


async def test_a_lost_listener_connection_resets_every_subscriber(database: Database) -> None:
    hub = Hub(database)
    first = hub.subscribe(uuid.uuid4(), ["clinic:1"])
    second = hub.subscribe(uuid.uuid4(), ["queue:1"])
    hub.reset_all()  # what the listener calls after it reconnects
    assert await first.next() == Reset("listener_reset")
    assert await second.next() == Reset("listener_reset")
    assert hub.subscribers == 0
