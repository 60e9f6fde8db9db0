"""A small closed-loop HTTP/1.1 load generator (keep-alive, loopback only).

Light enough that, on a 2-core machine, the server under test gets most of
the CPU; both sides of every comparison pay the same client cost.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(len(data) * p / 100))]


async def _connection(
    host: str, port: int, path: str, deadline: float, out: list[float], errs: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            out.append((time.perf_counter() - started) * 1000)
            if not head.startswith(b"HTTP/1.1 200"):
                errs.append(1)
    finally:
        writer.close()


async def run(host: str, port: int, path: str, *, concurrency: int, seconds: float) -> Result:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(host, port, path, deadline, latencies, errors) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    return Result(len(latencies), len(errors), elapsed, latencies)


def median_result(results: list[Result]) -> Result:
    """The run with the median throughput (rounds alternate between contenders)."""
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]
