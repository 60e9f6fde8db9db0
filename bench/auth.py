"""Identity benchmarks (issue 3).

1. argon2id cost: hashes per second on one core (OWASP parameters), the bound
   on login throughput.
2. Login storm: many clients log in at once while a probe asks `/health/live`
   every 10 ms; the event loop must keep answering (hashing runs in threads,
   argon2-cffi releases the GIL), target p99 < 50 ms.
3. Authenticated read: `GET /api/v1/clinics` with a bearer token (token check,
   session and grants lookup, scoped query) against the bare Starlette
   endpoint running the clinics query alone, same run, alternating rounds.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid

import httpx
import psycopg

from bench.loadgen import Result, median_result, run
from clinicflow.identity.passwords import hash_password_sync, verify_password_sync
from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.ids import uuid7

PASSWORD = "bench-password-123"  # noqa: S105 (a benchmark account)


def hashes_per_second(seconds: float = 3.0) -> float:
    """argon2id verifications per second on this thread (one core)."""
    stored = hash_password_sync(PASSWORD)
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        verify_password_sync(stored, PASSWORD)
        done += 1
    return done / (time.perf_counter() - started)


def seed_users(url: str, tenant_id: uuid.UUID, slug: str, *, count: int) -> list[str]:
    """`count` users in the tenant (the first a TENANT_ADMIN), one shared password hash."""
    stored = hash_password_sync(PASSWORD)
    emails = [f"bench{i}@{slug}.example" for i in range(count)]
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute("UPDATE tenants SET slug = %s WHERE id = %s", (slug, tenant_id))
        for i, email in enumerate(emails):
            user_id = uuid7()
            cur.execute(
                "INSERT INTO users (id, tenant_id, email, full_name, password_hash) "
                "VALUES (%s, %s, %s, %s, %s)",
                (user_id, tenant_id, email, f"Bench {i}", stored),
            )
            role = "TENANT_ADMIN" if i == 0 else "NURSE"
            cur.execute(
                "INSERT INTO role_grants (id, tenant_id, user_id, role) VALUES (%s, %s, %s, %s)",
                (uuid7(), tenant_id, user_id, role),
            )
        conn.commit()
    return emails


def _pct(values: list[float], p: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(len(data) * p / 100))] if data else float("nan")


async def login_storm(
    port: int, slug: str, emails: list[str], *, seconds: float, concurrency: int
) -> dict[str, float]:
    """Closed-loop logins on `concurrency` connections; a probe samples /health/live meanwhile."""
    probe: list[float] = []
    stop = asyncio.Event()

    async def probe_live() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            while not stop.is_set():
                started = time.perf_counter()
                response = await client.get("/health/live")
                assert response.status_code == 200
                probe.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.01)

    async def storm() -> Result:
        results = await asyncio.gather(
            *(
                run(
                    "127.0.0.1",
                    port,
                    "/api/v1/auth/login",
                    concurrency=1,
                    seconds=seconds,
                    method="POST",
                    body=json.dumps({"tenant": slug, "email": email, "password": PASSWORD}).encode(),
                )
                for email in (emails * concurrency)[:concurrency]
            )
        )
        merged = [lat for r in results for lat in r.latencies_ms]
        return Result(len(merged), sum(r.errors for r in results), seconds, merged)

    prober = asyncio.create_task(probe_live())
    await asyncio.sleep(0.5)
    idle = list(probe)
    result = await storm()
    stop.set()
    await prober
    during = probe[len(idle) :]
    return {
        "logins_per_s": result.rps,
        "login_errors": float(result.errors),
        "login_p50": result.pct(50),
        "login_p99": result.pct(99),
        "live_p50": _pct(during, 50),
        "live_p99": _pct(during, 99),
        "live_max": max(during) if during else float("nan"),
        "live_samples": float(len(during)),
    }


def access_token(port: int, slug: str, email: str) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        json={"tenant": slug, "email": email, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def compare_authenticated_read(
    ours_port: int,
    bare_port: int,
    tenant_id: uuid.UUID,
    token: str,
    *,
    rounds: int,
    seconds: float,
    concurrency: int,
) -> dict[str, list[Result]]:
    """Alternating rounds: ours `GET /api/v1/clinics` with a bearer token vs bare's query.

    Every round of each contender, in order (ours, bare, ours, bare...).
    """
    results: dict[str, list[Result]] = {"ours": [], "bare": []}
    targets = {
        "ours": (ours_port, "/api/v1/clinics", {"Authorization": f"Bearer {token}"}),
        "bare": (bare_port, f"/bench/tenants/{tenant_id}/clinics", {}),
    }

    def one(port: int, path: str, headers: dict[str, str], length: float) -> Result:
        return asyncio.run(
            run("127.0.0.1", port, path, concurrency=concurrency, seconds=length, headers=headers)
        )

    for port, path, headers in targets.values():  # warm-up
        one(port, path, headers, 1.0)
    for _ in range(rounds):
        for kind, (port, path, headers) in targets.items():
            results[kind].append(one(port, path, headers, seconds))
    return results


def read_rounds_table(rounds: dict[str, list[Result]]) -> list[str]:
    """Markdown: every round of both contenders and its ratio."""
    lines = [
        "| round | ours req/s | bare req/s | ours / bare | ours p50 ms | ours p99 ms | bare p50 ms "
        "| errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, (ours, bare) in enumerate(zip(rounds["ours"], rounds["bare"], strict=True), start=1):
        lines.append(
            f"| {n} | {ours.rps:.0f} | {bare.rps:.0f} | {ours.rps / bare.rps:.2f} | {ours.pct(50):.2f} | "
            f"{ours.pct(99):.2f} | {bare.pct(50):.2f} | {ours.errors + bare.errors} |"
        )
    return lines


def median_rounds(rounds: dict[str, list[Result]]) -> dict[str, Result]:
    return {kind: median_result(rs) for kind, rs in rounds.items()}


def environment_for_servers() -> None:
    """The storm measures hashing, not the rate limiter: lift the login limits for the bench."""
    os.environ["CLINICFLOW_LOGIN_RATE_PER_ACCOUNT"] = "1000000/minute"
    os.environ["CLINICFLOW_LOGIN_RATE_PER_ADDRESS"] = "1000000/minute"
