"""Waitlist benchmarks (issue 5), with 100k active entries in one clinic's queue.

1. Join throughput: concurrent patients joining the (already 100k-deep) queue.
   Joins of one clinic serialise on its policy row (that is what makes the cap
   exact), so this measures the serialised path.
2. Promote throughput: staff promoting entries into distinct free slots.
3. Vacancy to invitation: the time from a cancellation's 200 to the next
   candidate's invitation row, served by `clinicflow serve`'s in-process
   worker (target: p95 under 1 s).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from bench.auth import PASSWORD
from clinicflow.identity.passwords import hash_password_sync
from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.ids import uuid7
from clinicflow.waitlist import scoring

QUEUE = 100_000
SPARE_PATIENTS = 5_000


def seed(url: str, *, queue: int = QUEUE) -> dict[str, Any]:
    """A tenant with one clinic, a doctor open 24/7 in 5-minute slots, `queue` waiting patients
    and spare patients to join; an admin and a patient who can log in."""
    tenant_id, clinic_id, doctor_id, admin_id, patient_id = (uuid7() for _ in range(5))
    stored = hash_password_sync(PASSWORD)
    weights = scoring.Weights()
    now = datetime.now(UTC)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO tenants (id, name, slug) VALUES (%s, 'Queue', 'bench-queue')", (tenant_id,))
        cur.execute(
            "INSERT INTO clinics (id, tenant_id, name, slug, timezone) "
            "VALUES (%s, %s, 'Q', 'q', 'Europe/Berlin')",
            (clinic_id, tenant_id),
        )
        for user_id, email, role, password in (
            (doctor_id, "doctor@q.example", "DOCTOR", None),
            (admin_id, "admin@q.example", "TENANT_ADMIN", stored),
            (patient_id, "patient@q.example", "PATIENT", stored),
        ):
            cur.execute(
                "INSERT INTO users (id, tenant_id, email, full_name, password_hash) "
                "VALUES (%s, %s, %s, %s, %s)",
                (user_id, tenant_id, email, role.title(), password),
            )
            cur.execute(
                "INSERT INTO role_grants (id, tenant_id, user_id, role) VALUES (%s, %s, %s, %s)",
                (uuid7(), tenant_id, user_id, role),
            )
        plan_id = uuid7()
        cur.execute(
            "INSERT INTO availability_plans "
            "(id, tenant_id, doctor_id, clinic_id, min_notice_minutes, horizon_days) "
            "VALUES (%s, %s, %s, %s, 0, 60)",
            (plan_id, tenant_id, doctor_id, clinic_id),
        )
        for weekday in range(7):
            cur.execute(
                "INSERT INTO availability_rules "
                "(id, tenant_id, plan_id, weekday, start_local, end_local, slot_minutes) "
                "VALUES (%s, %s, %s, %s, '00:00', '00:00', 5)",
                (uuid7(), tenant_id, plan_id, weekday),
            )
        patients = [uuid7() for _ in range(queue + SPARE_PATIENTS)]
        with cur.copy("COPY users (id, tenant_id, email, full_name) FROM STDIN") as copy:
            for i, pid in enumerate(patients):
                copy.write_row((pid, tenant_id, f"p{i}@q.example", f"Patient {i}"))
        with cur.copy("COPY role_grants (id, tenant_id, user_id, role) FROM STDIN") as copy:
            for pid in patients:
                copy.write_row((uuid7(), tenant_id, pid, "PATIENT"))
        columns = (
            "id, tenant_id, clinic_id, doctor_id, patient_id, status, priority_tier, priority_key, "
            "expires_at, created_at, updated_at"
        )
        with cur.copy(f"COPY waitlist_entries ({columns}) FROM STDIN") as copy:
            for i, pid in enumerate(patients[:queue]):
                joined = now - timedelta(minutes=queue - i)
                tier = i % 6
                key = scoring.order_key(
                    weights, tier=tier, chronic=False, boost=0, pinned=False, joined=joined
                )
                copy.write_row(
                    (
                        uuid7(),
                        tenant_id,
                        clinic_id,
                        None,
                        pid,
                        "active",
                        tier,
                        key,
                        now + timedelta(days=30),
                        joined,
                        joined,
                    )
                )
        cur.execute(
            "INSERT INTO waitlist_policies "
            "(id, tenant_id, clinic_id, max_queue_size, offer_response_minutes, live_entries) "
            "VALUES (%s, %s, %s, 1000000, 60, %s)",
            (uuid7(), tenant_id, clinic_id, queue),
        )
        conn.commit()
        cur.execute("ANALYZE")
    return {
        "tenant_id": tenant_id,
        "clinic_id": clinic_id,
        "doctor_id": doctor_id,
        "spare": patients[queue:],
        "slug": "bench-queue",
    }


async def _token(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"tenant": "bench-queue", "email": email, "password": PASSWORD}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _closed_loop(
    requests: list[tuple[str, str, dict[str, Any]]],
    client: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    concurrency: int,
) -> tuple[float, list[float], int]:
    """Send the requests on `concurrency` workers; (requests/s, latencies ms, non-2xx count)."""
    queue = list(reversed(requests))
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while queue:
            method, path, body = queue.pop()
            started = time.perf_counter()
            response = await client.request(method, path, json=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 300:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - started), latencies, errors


def _pct(values: list[float], p: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(len(data) * p / 100))] if data else float("nan")


async def throughput(
    port: int, world: dict[str, Any], *, joins: int = 1000, promotes: int = 400
) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        admin = await _token(client, "admin@q.example")
        clinic = str(world["clinic_id"])
        join_requests = [
            ("POST", "/api/v1/waitlists", {"clinic_id": clinic, "patient_id": str(pid)})
            for pid in world["spare"][:joins]
        ]
        join_rps, join_lat, join_errors = await _closed_loop(join_requests, client, admin, concurrency=16)
        queue = await client.get(
            "/api/v1/waitlists", params={"clinic_id": clinic, "limit": 200}, headers=admin
        )
        entries = [e["id"] for e in queue.json()["items"]]
        while len(entries) < promotes:
            more = await client.get(
                "/api/v1/waitlists",
                params={"clinic_id": clinic, "limit": 200, "cursor": queue.json()["next_cursor"]},
                headers=admin,
            )
            queue = more
            entries += [e["id"] for e in more.json()["items"]]
        first = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        promote_requests = [
            (
                "POST",
                f"/api/v1/waitlists/{entry}/promote",
                {
                    "starts_at": (first + timedelta(minutes=5 * i)).isoformat(),
                    "doctor_id": str(world["doctor_id"]),
                },
            )
            for i, entry in enumerate(entries[:promotes])
        ]
        promote_rps, promote_lat, promote_errors = await _closed_loop(
            promote_requests, client, admin, concurrency=16
        )
    return {
        "join_rps": join_rps,
        "join_p95": _pct(join_lat, 95),
        "join_errors": float(join_errors),
        "promote_rps": promote_rps,
        "promote_p95": _pct(promote_lat, 95),
        "promote_errors": float(promote_errors),
    }


def drop_pending_jobs(url: str) -> None:
    """The throughput phase leaves event jobs behind; the latency phase should not queue behind them."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("DELETE FROM procrastinate_jobs WHERE status = 'todo'")


async def vacancy_to_invitation(
    port: int, url: str, world: dict[str, Any], *, samples: int = 30
) -> dict[str, float]:
    """Book, cancel, and time until the next candidate's invitation exists."""
    delays: list[float] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        patient = await _token(client, "patient@q.example")
        base = (datetime.now(UTC) + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
        async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
            for i in range(samples):
                starts_at = base + timedelta(minutes=5 * i)
                booked = await client.post(
                    "/api/v1/appointments",
                    json={
                        "doctor_id": str(world["doctor_id"]),
                        "clinic_id": str(world["clinic_id"]),
                        "starts_at": starts_at.isoformat(),
                    },
                    headers=patient,
                )
                booked.raise_for_status()
                cancelled = await client.post(
                    f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=patient
                )
                cancelled.raise_for_status()
                t0 = time.perf_counter()
                while True:
                    row = await (
                        await conn.execute(
                            "SELECT 1 FROM waitlist_offers WHERE tenant_id = %s AND starts_at = %s",
                            (world["tenant_id"], starts_at),
                        )
                    ).fetchone()
                    if row:
                        delays.append((time.perf_counter() - t0) * 1000)
                        break
                    if time.perf_counter() - t0 > 10:
                        raise RuntimeError("no invitation within 10 s")
                    await asyncio.sleep(0.005)
    return {
        "p50": _pct(delays, 50),
        "p95": _pct(delays, 95),
        "max": max(delays),
        "samples": float(len(delays)),
    }
