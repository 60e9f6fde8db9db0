"""Count SQL round trips on the wire: a TCP proxy between the app and PostgreSQL.

A round trip is a turn of the conversation: the client speaks after the server
last spoke. That is what latency costs, however the client batches (a pipeline
of ten statements and one Sync is one turn; ten statements waited for one by
one are ten). BEGIN and COMMIT are turns like any other. The proxy reads the
startup message of each connection for its `application_name`, so counts can be
split by pool (`...-write`, `...-read`, `...-read-orm`). Connections must not use
TLS (`sslmode=disable`): the startup message has to be readable.
"""

from __future__ import annotations

import asyncio
import struct
from collections import Counter
from dataclasses import dataclass, field

SSL_REQUEST = 80877103


@dataclass
class Wire:
    """Turns per application name since the last `reset()`."""

    target_host: str
    target_port: int
    #: A Unix socket to reach PostgreSQL by instead (the embedded server listens on one only).
    target_socket: str | None = None
    turns: Counter[str] = field(default_factory=Counter)
    #: The first bytes the client sent in each turn, by application name (for a failing test's message).
    openings: list[tuple[str, bytes]] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def reset(self) -> None:
        self.turns.clear()
        self.openings.clear()

    def count(self, suffix: str) -> int:
        """Turns of the connections whose application name ends with `suffix`."""
        return sum(n for name, n in self.turns.items() if name.endswith(suffix))

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.target_socket is not None:
            server_reader, server_writer = await asyncio.open_unix_connection(self.target_socket)
        else:
            server_reader, server_writer = await asyncio.open_connection(self.target_host, self.target_port)
        state = {"name": "?", "last": "server"}
        try:
            startup = await _read_startup(client_reader)
            state["name"] = _application_name(startup)
            server_writer.write(startup)
            await server_writer.drain()
            await asyncio.gather(
                self._pump(client_reader, server_writer, state, from_client=True),
                self._pump(server_reader, client_writer, state, from_client=False),
            )
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for writer in (client_writer, server_writer):
                writer.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        state: dict[str, str],
        *,
        from_client: bool,
    ) -> None:
        while data := await reader.read(65536):
            if from_client and state["last"] == "server":
                self.turns[state["name"]] += 1
                self.openings.append((state["name"], data[:60]))
            state["last"] = "client" if from_client else "server"
            writer.write(data)
            await writer.drain()
        writer.close()


async def _read_startup(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(8)
    length, code = struct.unpack("!ii", header)
    if code == SSL_REQUEST:
        raise ConnectionError("the round-trip proxy needs sslmode=disable")
    return header + await reader.readexactly(length - 8)


def _application_name(startup: bytes) -> str:
    parts = startup[8:].split(b"\0")
    pairs = dict(zip(parts[0::2], parts[1::2], strict=False))
    return pairs.get(b"application_name", b"?").decode()
