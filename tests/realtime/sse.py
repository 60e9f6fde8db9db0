"""A small SSE client for tests: reads a stream in the background, one parsed message at a time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Message:
    event: str = "message"
    id: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)
    received_at: float = 0.0  # time.monotonic()

    @property
    def json(self) -> Any:
        return json.loads(self.data)


class Stream:
    """`async with Stream(client, params=…) as s: await s.event()`; the stream is subscribed once entered."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        params: dict[str, str],
        headers: dict[str, str] | None = None,
        path: str = "/api/v1/events/stream",
    ) -> None:
        self._request = client.build_request("GET", path, params=params, headers=headers or {})
        self._client = client
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.response: httpx.Response | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Stream:
        self.response = await self._client.send(self._request, stream=True)
        assert self.response.status_code == 200, (await self.response.aread()).decode()
        self._reader = asyncio.create_task(self._read(self.response))
        first = await self.next(within=5)
        assert "subscribed" in first.comments, first
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self._reader
        if self.response is not None:
            await self.response.aclose()

    async def _read(self, response: httpx.Response) -> None:
        message = Message()
        async for line in response.aiter_lines():
            if line == "":
                if message.data or message.id or message.event != "message" or message.comments:
                    message.received_at = time.monotonic()
                    await self.messages.put(message)
                message = Message()
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                message.comments.append(value)
            elif name == "event":
                message.event = value
            elif name == "id":
                message.id = value
            elif name == "data":
                message.data = f"{message.data}\n{value}" if message.data else value

    async def next(self, *, within: float = 5.0) -> Message:
        """The next message of any kind (comments included)."""
        async with asyncio.timeout(within):
            return await self.messages.get()

    async def event(self, *, within: float = 5.0) -> Message:
        """The next real event (heartbeats and other comments skipped)."""
        async with asyncio.timeout(within):
            while True:
                message = await self.messages.get()
                if message.event != "message" or message.data:
                    return message

    async def nothing_for(self, seconds: float) -> None:
        """Assert that no event arrives for `seconds`."""
        with contextlib.suppress(TimeoutError):
            message = await self.event(within=seconds)
            raise AssertionError(f"unexpected event: {message}")
