"""A small closed-loop HTTP/1.1 load generator (keep-alive, loopback only).

Light enough that, on a 2-core machine, the server under test gets most of
the CPU; both sides of every comparison pay the same client cost.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Result:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    error_statuses: dict[str, int] = field(default_factory=dict)  # status -> count, of the errors

    def errors_text(self) -> str:
        """`0`, or the error count with its statuses: `3 (503: 2, 409: 1)`."""
        if not self.errors:
            return "0"
        return f"{self.errors} ({', '.join(f'{k}: {v}' for k, v in sorted(self.error_statuses.items()))})"

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(len(data) * p / 100))]


def request_bytes(host: str, path: str, method: str, headers: dict[str, str], body: bytes | None) -> bytes:
    """One HTTP/1.1 keep-alive request as it goes on the wire."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _connection(
    host: str,
    port: int,
    next_request: Callable[[], bytes],
    deadline: float,
    out: list[float],
    errs: list[str],
    ok: bytes,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            request = next_request()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            out.append((time.perf_counter() - started) * 1000)
            if not head.startswith(b"HTTP/1.1 " + ok):
                errs.append(head[9:12].decode(errors="replace"))
    finally:
        writer.close()


async def run(
    host: str,
    port: int,
    path: str,
    *,
    concurrency: int,
    seconds: float,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Result:
    """Closed loop: `concurrency` keep-alive connections each send the request back to back."""
    request = request_bytes(host, path, method, headers or {}, body)
    return await run_each(host, port, lambda _: lambda: request, concurrency=concurrency, seconds=seconds)


async def run_each(
    host: str,
    port: int,
    requests_for: Callable[[int], Callable[[], bytes]],
    *,
    concurrency: int,
    seconds: float,
    ok: bytes = b"200",
) -> Result:
    """Closed loop where every request may differ: connection `i` sends what `requests_for(i)()`
    returns, back to back; a response whose status is not `ok` counts as an error."""
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _connection(host, port, requests_for(i), deadline, latencies, errors, ok)
            for i in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    return Result(len(latencies), len(errors), elapsed, latencies, dict(Counter(errors)))


def median_result(results: list[Result]) -> Result:
    """The run with the median throughput (rounds alternate between contenders)."""
    return sorted(results, key=lambda r: r.rps)[len(results) // 2]
