"""The process's one `LISTEN` connection: PostgreSQL notifications fanned out to callbacks.

A direct psycopg connection in autocommit, never a pooled one: `LISTEN` belongs to
a session, and a pool (or a transaction-mode pooler in front of PostgreSQL) would
hand that session to someone else. One connection serves every channel of the
process; subscribers register callbacks by channel.

PostgreSQL queues notifications only for sessions that are listening, so a
notification sent while the connection is down is lost, not delayed. The listener
therefore says so: `healthy` is False from the moment the connection is found
broken until it is back and listening on every channel again, and then every
`on_reset` callback runs, before `healthy` turns True, so subscribers drop what
they may have missed. A subscriber that caches must bypass its cache while
`healthy` is False.

    listener = Listener(conninfo)
    listener.subscribe("principal_changed", on_change)    # on_change(payload: str)
    listener.on_reset(cache.clear)
    await listener.start()
    ...
    await listener.stop()

Callbacks are plain functions run on the event loop: they must not block. One that
needs to do I/O schedules a task. A callback that raises is logged and the others
still run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from clinicflow.platform.logging import get_logger

log = get_logger(__name__)

NotifyCallback = Callable[[str], object]
ResetCallback = Callable[[], object]


class Listener:
    """One `LISTEN` connection shared by the process; reconnects with backoff."""

    def __init__(
        self,
        conninfo: str,
        *,
        application_name: str | None = None,
        connect_timeout: int = 5,
        poll_seconds: float = 0.5,
        ping_seconds: float = 5.0,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
    ) -> None:
        """`conninfo`: a libpq URL or DSN (not a SQLAlchemy URL).

        The connection is read in windows of `poll_seconds`; between windows, new
        channels get their `LISTEN`, and every `ping_seconds` a `SELECT 1` proves the
        connection alive (a silently dropped one otherwise looks merely quiet).
        A lost connection is retried after `min_backoff` seconds, doubling up to
        `max_backoff`.
        """
        self._conninfo = conninfo
        self._connect_kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": connect_timeout}
        if application_name:
            self._connect_kwargs["application_name"] = application_name
        self._poll = poll_seconds
        self._ping = ping_seconds
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._callbacks: dict[str, list[NotifyCallback]] = {}
        self._reset_callbacks: list[ResetCallback] = []
        self._listening: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._healthy = False
        self._ready = asyncio.Event()
        self._changed = asyncio.Event()  # set (and replaced) whenever health or channels change
        self.resets = 0  # times the connection was re-established after a loss

    @property
    def healthy(self) -> bool:
        """True while connected and listening on every subscribed channel."""
        return self._healthy

    def subscribe(self, channel: str, callback: NotifyCallback) -> Callable[[], None]:
        """Call `callback(payload)` for every notification on `channel`; returns an unsubscribe.

        A channel first subscribed while running is listened to within `poll_seconds`;
        `await listener.wait_listening(channel)` waits for it.
        """
        self._callbacks.setdefault(channel, []).append(callback)

        def unsubscribe() -> None:
            callbacks = self._callbacks.get(channel, [])
            with contextlib.suppress(ValueError):
                callbacks.remove(callback)

        return unsubscribe

    def on_reset(self, callback: ResetCallback) -> None:
        """Call `callback()` after a lost connection is re-established (notifications were missed)."""
        self._reset_callbacks.append(callback)

    async def start(self, *, wait: float | None = None) -> None:
        """Start listening in the background. With `wait`, wait up to that many seconds to be healthy.

        Never raises for an unreachable database: the listener keeps retrying and
        stays unhealthy meanwhile.
        """
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="clinicflow-listener")
        if wait:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), wait)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        task, self._task = self._task, None
        self._set_unhealthy()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close()

    async def wait_listening(self, channel: str) -> None:
        """Wait until `channel` is listened to on a healthy connection (bound it with `asyncio.timeout`)."""
        while not (self._healthy and channel in self._listening):
            await self._changed.wait()

    async def _run(self) -> None:
        backoff = self._min_backoff
        first = True
        while True:
            try:
                await self._connect(reset=not first)
                first = False
                backoff = self._min_backoff
                await self._pump()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure means: reconnect, and say we missed things
                if self._healthy:
                    log.warning("listener connection lost", error=str(exc))
                else:
                    log.debug("listener cannot connect", error=str(exc))
            self._set_unhealthy()
            await self._close()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _connect(self, *, reset: bool) -> None:
        self._connection = await psycopg.AsyncConnection.connect(self._conninfo, **self._connect_kwargs)
        self._listening = set()
        await self._listen_new_channels()
        if reset:
            self.resets += 1
            self._run_callbacks(self._reset_callbacks, ())
        self._healthy = True
        self._ready.set()
        self._announce_change()

    async def _pump(self) -> None:
        connection = self._connection
        assert connection is not None
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self._ping
        while True:
            async for notify in connection.notifies(timeout=self._poll):
                self._run_callbacks(self._callbacks.get(notify.channel, ()), (notify.payload,))
            await self._listen_new_channels()
            if loop.time() >= next_ping:
                await asyncio.wait_for(connection.execute("SELECT 1"), self._poll * 4 + 1)
                next_ping = loop.time() + self._ping
            if connection.closed:
                raise psycopg.OperationalError("the listener connection is closed")

    async def _listen_new_channels(self) -> None:
        connection = self._connection
        assert connection is not None
        for channel in [c for c in self._callbacks if c not in self._listening]:
            await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self._listening.add(channel)
        self._announce_change()

    def _run_callbacks(self, callbacks: Any, args: tuple[Any, ...]) -> None:
        for callback in list(callbacks):
            try:
                callback(*args)
            except Exception:
                log.exception("listener callback failed", callback=repr(callback))

    def _set_unhealthy(self) -> None:
        self._healthy = False
        self._ready.clear()
        self._announce_change()

    def _announce_change(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
