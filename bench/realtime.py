"""Fan-out (issue 13 bench b): N SSE subscribers on one `clinicflow serve`, one queue change to all.

`uv run python -m bench --suite realtime [--subscribers 2000]`

One real `clinicflow serve --no-worker` (the demo tenant seeded) serves N streams of one
location's queue (`queue:<location_id>`, each with a signed display token, so opening
them costs no database query: the fan-out is what is measured). The bench process then
commits a queue change with `platform.realtime.publish` (as a use case would) and
records when each subscriber receives it: latency = receipt - commit, on one clock.
Memory per connection = the server's RSS growth while the N streams opened, / N.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import quantiles

import psycopg

from clinicflow.platform.db import Database
from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.realtime import publish
from clinicflow.realtime.display import DisplayClaims, DisplayKeys

SECRET = "bench-realtime-" + "k" * 40
OPEN_AT_ONCE = 100  # streams being opened concurrently
WAIT_SECONDS = 10.0  # a subscriber without the change by then counts as missing


@dataclass
class Subscriber:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    received: dict[int, float] = field(default_factory=dict)  # change number -> monotonic time

    async def read(self) -> None:
        async for raw in self.reader:
            line = raw.decode().strip()
            if line.startswith("data:") and '"position"' in line:
                self.received[json.loads(line[5:])["position"]] = time.monotonic()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (from /proc, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(url: str, port: int, var_dir: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CLINICFLOW_SECRET_KEY": SECRET,
        "CLINICFLOW_VAR_DIR": var_dir,
        "CLINICFLOW_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "clinicflow.cli", "serve", "--port", str(port), "--no-worker", "--demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("serve did not become ready")


def _demo_queue(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT l.tenant_id, l.id FROM clinic_locations l JOIN tenants t ON t.id = l.tenant_id "
            "WHERE t.slug = 'demo' ORDER BY l.id LIMIT 1"
        ).fetchone()
    assert row is not None
    return row[0], row[1]


async def _open(port: int, path: str) -> Subscriber:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**16)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r}")
    while (await reader.readline()).strip():
        pass  # headers
    while b"subscribed" not in await reader.readline():
        pass
    return Subscriber(reader, writer)


async def _fan_out(port: int, url: str, server_pid: int, n: int, changes: int) -> dict[str, float]:
    tenant_id, location_id = _demo_queue(url)
    channel = f"queue:{location_id}"
    token = DisplayKeys(SECRET).issue(
        DisplayClaims(
            tenant_id=tenant_id, location_id=location_id, expires_at=datetime.now(UTC) + timedelta(days=1)
        )
    )
    path = f"/api/v1/events/stream?channels={channel}&display_token={token}"
    await asyncio.sleep(1.0)
    rss_before = _rss_kib(server_pid)
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one() -> Subscriber:
        async with gate:
            return await _open(port, path)

    started = time.monotonic()
    subscribers = await asyncio.gather(*(one() for _ in range(n)))
    opened_in = time.monotonic() - started
    await asyncio.sleep(2.0)  # let allocations settle
    rss_after = _rss_kib(server_pid)
    readers = [asyncio.create_task(s.read()) for s in subscribers]
    database = Database(url, pool_size=1, max_overflow=0, read_pool_size=1, orm_read_pool_size=1)
    latencies: list[float] = []
    missing = 0
    cpu: list[float] = []
    try:
        for change_no in range(changes):
            cpu_before = _cpu_seconds(server_pid)
            async with database.transaction() as uow:
                await publish(
                    uow,
                    channel,
                    "queue.updated",
                    {"location_id": location_id, "position": change_no, "status": "waiting"},
                    tenant_id=tenant_id,
                )
            committed = time.monotonic()
            while time.monotonic() - committed < WAIT_SECONDS:
                if all(change_no in s.received for s in subscribers):
                    break
                await asyncio.sleep(0.05)
            cpu.append(_cpu_seconds(server_pid) - cpu_before)
            await asyncio.sleep(1.0)
            for s in subscribers:
                at = s.received.get(change_no)
                if at is None:
                    missing += 1
                else:
                    latencies.append((at - committed) * 1000)
    finally:
        await database.dispose()
        for task in readers:
            task.cancel()
        for s in subscribers:
            s.writer.close()
    cuts = quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "subscribers": n,
        "changes": changes,
        "deliveries": len(latencies),
        "missing": missing,
        "p50": cuts[49],
        "p99": cuts[98],
        "max": max(latencies, default=0.0),
        "opened_in": opened_in,
        "rss_before_mib": rss_before / 1024,
        "rss_after_mib": rss_after / 1024,
        "kib_per_connection": (rss_after - rss_before) / n,
        "cpu_ms_per_change": sorted(cpu)[len(cpu) // 2] * 1000,
    }


def report(url: str, *, subscribers: int = 2000, changes: int = 5) -> list[str]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as var_dir:
        proc = _serve(url, port, var_dir)
        try:
            r = asyncio.run(_fan_out(port, url, proc.pid, subscribers, changes))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    verdict = "met" if r["p99"] < 1000 and not r["missing"] else "MISSED"
    return [
        f"## Real time fan-out: {subscribers:,} SSE subscribers on one process",
        "",
        f"One `clinicflow serve --no-worker`; {subscribers:,} streams of one location's queue (display "
        f"tokens), opened {OPEN_AT_ONCE} at a time in {r['opened_in']:.1f} s; {changes} queue changes "
        "committed by `publish` in another process, each once the last one was delivered everywhere; "
        f"latency = receipt - commit (missing: not received within {WAIT_SECONDS:.0f} s). Server CPU: "
        f"median user+system time of the serve process from commit to the last delivery "
        f"(**{r['cpu_ms_per_change']:.0f} ms** per change fanned out to {subscribers:,}; load-independent).",
        "",
        "| subscribers | deliveries | missing | p50 ms | p99 ms | max ms | RSS before → after "
        "| per connection |",
        "|---:|---:|---:|---:|---:|---:|---|---:|",
        f"| {subscribers:,} | {r['deliveries']:.0f} | {r['missing']:.0f} | {r['p50']:.0f} | "
        f"**{r['p99']:.0f}** | {r['max']:.0f} | {r['rss_before_mib']:.0f} → {r['rss_after_mib']:.0f} MiB | "
        f"**{r['kib_per_connection']:.1f} KiB** |",
        "",
        f"- Target: every subscriber gets the change, p99 < 1 s — {verdict}.",
        "",
    ]
