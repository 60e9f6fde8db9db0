"""Count SQL round trips from outside the server: a loopback TCP proxy in front of PostgreSQL.

The server under test connects to the proxy instead of PostgreSQL (same database, same
protocol bytes, forwarded untouched). A round trip is a *turn*: the client sends after it
last heard from the server (or for the first time on a connection). Statements sent
together — a pipeline, or a BEGIN sent with the first query — are one turn, which is what
a round trip costs in latency. pg_stat_statements would need a server restart on a shared
server; this needs nothing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url


@dataclass
class TurnCounter:
    """Client-to-server turns on every proxied connection while `counting` is set."""

    counting: bool = False
    turns: int = 0
    connections: int = 0
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def turn(self) -> None:
        if self.counting:
            with self._lock:
                self.turns += 1

    def measure(self) -> None:
        self.turns = 0
        self.counting = True

    def done(self) -> int:
        self.counting = False
        return self.turns


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, on_data: Callable[[], None]
) -> None:
    try:
        while data := await reader.read(65536):
            on_data()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()  # the other direction's read then ends too


async def _open(upstream: tuple[str, int]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = upstream
    if host.startswith("/"):  # a socket directory (the embedded server listens on no TCP port)
        return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
    return await asyncio.open_connection(host, port)


async def _serve(
    counter: TurnCounter, upstream: tuple[str, int], ready: threading.Event, stop: asyncio.Event
) -> None:
    handlers: set[asyncio.Task[None]] = set()
    writers: set[asyncio.StreamWriter] = set()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
            task.add_done_callback(handlers.discard)
        server_r, server_w = await _open(upstream)
        writers.update((client_w, server_w))
        counter.connections += 1
        state = {"server_spoke": True}  # the first send on a connection is a turn

        def client_sent() -> None:
            if state["server_spoke"]:
                state["server_spoke"] = False
                counter.turn()

        def server_sent() -> None:
            state["server_spoke"] = True

        await asyncio.gather(_pipe(client_r, server_w, client_sent), _pipe(server_r, client_w, server_sent))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    counter.port = int(server.sockets[0].getsockname()[1])
    ready.set()
    async with server:
        await stop.wait()
        for writer in writers:  # connections still open end before the loop does
            writer.close()
        await asyncio.wait_for(asyncio.gather(*handlers, return_exceptions=True), timeout=5)


@contextmanager
def counting_proxy(url: str) -> Iterator[tuple[str, TurnCounter]]:
    """(a database URL that goes through the proxy, its counter) for the block."""
    target = make_url(url)
    query = dict(target.query)
    host = str(query.pop("host", None) or target.host or "127.0.0.1")
    port = int(str(query.pop("port", None) or target.port or 5432))
    counter = TurnCounter()
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        loop.run_until_complete(_serve(counter, (host, port), ready, stop))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the counting proxy did not start")
    proxied = target.set(host="127.0.0.1", port=counter.port, query=query)
    try:
        yield proxied.render_as_string(hide_password=False), counter
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
