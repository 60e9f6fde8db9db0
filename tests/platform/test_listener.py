"""The process's LISTEN connection: fan-out, late subscriptions, a lost connection, a missing database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
import pytest

from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.listener import Listener

LISTENER_NAME = "clinicflow-test-listener"


async def eventually(check: Callable[[], bool], *, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def conninfo(database_url: str) -> str:
    return libpq_url(database_url)


@pytest.fixture
async def notify(conninfo: str) -> AsyncIterator[Callable[[str, str], Awaitable[None]]]:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:

        async def send(channel: str, payload: str) -> None:
            await conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))

        yield send


@pytest.fixture
async def listener(conninfo: str) -> AsyncIterator[Listener]:
    listener = Listener(conninfo, application_name=LISTENER_NAME, poll_seconds=0.1, min_backoff=0.05)
    yield listener
    await listener.stop()


async def test_every_callback_of_a_channel_gets_each_payload(
    listener: Listener, notify: Callable[[str, str], Awaitable[None]]
) -> None:
    first: list[str] = []
    second: list[str] = []
    other: list[str] = []
    listener.subscribe("alpha", first.append)
    listener.subscribe("alpha", second.append)
    listener.subscribe("beta", other.append)
    await listener.start(wait=5)
    assert listener.healthy

    await notify("alpha", "one")
    await notify("alpha", "two")
    await notify("beta", "three")
    await eventually(lambda: len(first) == 2 and len(second) == 2 and len(other) == 1)
    assert first == second == ["one", "two"]
    assert other == ["three"]


async def test_a_failing_callback_does_not_starve_the_others(
    listener: Listener, notify: Callable[[str, str], Awaitable[None]]
) -> None:
    got: list[str] = []

    def broken(payload: str) -> None:
        raise RuntimeError("subscriber bug")

    listener.subscribe("alpha", broken)
    listener.subscribe("alpha", got.append)
    await listener.start(wait=5)
    await notify("alpha", "x")
    await notify("alpha", "y")
    await eventually(lambda: got == ["x", "y"])
    assert listener.healthy


async def test_a_channel_subscribed_while_running_is_listened_to(
    listener: Listener, notify: Callable[[str, str], Awaitable[None]]
) -> None:
    listener.subscribe("alpha", lambda payload: None)
    await listener.start(wait=5)
    late: list[str] = []
    unsubscribe = listener.subscribe("gamma", late.append)
    async with asyncio.timeout(5):
        await listener.wait_listening("gamma")
    await notify("gamma", "hello")
    await eventually(lambda: late == ["hello"])

    seen: list[str] = []
    listener.subscribe("alpha", seen.append)
    unsubscribe()
    await notify("gamma", "unheard")
    await notify("alpha", "marker")  # one session's notifications arrive in order
    await eventually(lambda: seen == ["marker"])
    assert late == ["hello"]


async def test_a_lost_connection_is_unhealthy_then_reset_and_listening_again(
    listener: Listener, conninfo: str, notify: Callable[[str, str], Awaitable[None]]
) -> None:
    got: list[str] = []
    resets: list[bool] = []
    listener.subscribe("alpha", got.append)
    listener.on_reset(lambda: resets.append(listener.healthy))
    await listener.start(wait=5)

    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            (LISTENER_NAME,),
        )
        assert (await cursor.fetchall()) == [(True,)]

    await eventually(lambda: not listener.healthy, within=3)
    await eventually(lambda: listener.healthy, within=10)
    assert resets == [False], "reset callbacks run once, before the listener reports healthy"
    assert listener.resets == 1
    await notify("alpha", "after the reset")
    await eventually(lambda: got == ["after the reset"])


async def test_an_unreachable_database_leaves_it_unhealthy_without_raising() -> None:
    listener = Listener(
        "postgresql://postgres@127.0.0.1:1/nothing", connect_timeout=2, min_backoff=0.05, max_backoff=0.1
    )
    await listener.start(wait=0.5)
    assert not listener.healthy
    await asyncio.sleep(0.3)  # it keeps retrying in the background
    assert not listener.healthy
    await listener.stop()


def test_the_listener_is_built_without_a_running_loop(conninfo: Any) -> None:
    # The app builds it in create_app (no loop yet) and starts it in the lifespan.
    Listener(str(conninfo))
