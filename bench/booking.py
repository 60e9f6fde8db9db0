"""Booking benchmark (issue 12 item 6; owed by the scheduling issue).

Many clients (64) book distinct free slots through the full API — `POST /api/v1/appointments`
as patients with bearer tokens — against a bare Starlette endpoint doing only the same
constrained INSERT into `appointments` (same table, same exclusion constraint), in the same
run, rounds alternating. Every client books its own doctor's next 5-minute slot, so no two
requests compete for a slot and slots never run out (each doctor is open 24/7 for two years).
The bare contender books other doctors of the same tenant, so both fill one table.

Round trips per booking are counted once, outside the server: the server runs against a
counting proxy (`bench.roundtrips`) for a few sequential bookings.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from bench.auth import PASSWORD, environment_for_servers
from bench.loadgen import Result, request_bytes, run_each
from bench.processes import prepare_database, serving
from bench.roundtrips import counting_proxy
from clinicflow.identity.passwords import hash_password_sync
from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.ids import uuid7

DATABASE = "clinicflow_bench_booking"
SLUG = "bench-book"
SLOT = timedelta(minutes=5)
HOST = "127.0.0.1"


@dataclass(frozen=True)
class World:
    tenant_id: uuid.UUID
    clinic_id: uuid.UUID
    ours_doctors: list[uuid.UUID]  # client i of ours books ours_doctors[i]
    bare_doctors: list[uuid.UUID]
    trips_doctor: uuid.UUID  # the round-trip count books here
    patients: list[uuid.UUID]  # client i books as patients[i]
    emails: list[str]
    first_slot: datetime


def _user(
    cur: psycopg.Cursor[tuple[object, ...]], tenant_id: uuid.UUID, email: str, role: str, pw: str | None
) -> uuid.UUID:
    user_id = uuid7()
    cur.execute(
        "INSERT INTO users (id, tenant_id, email, full_name, password_hash) VALUES (%s, %s, %s, %s, %s)",
        (user_id, tenant_id, email, email.split("@")[0], pw),
    )
    cur.execute(
        "INSERT INTO role_grants (id, tenant_id, user_id, role) VALUES (%s, %s, %s, %s)",
        (uuid7(), tenant_id, user_id, role),
    )
    return user_id


def _open_all_hours(
    cur: psycopg.Cursor[tuple[object, ...]], tenant_id: uuid.UUID, clinic_id: uuid.UUID, doctor_id: uuid.UUID
) -> None:
    """A plan at the clinic open 24/7 in 5-minute slots, no notice, two years ahead."""
    plan_id = uuid7()
    cur.execute(
        "INSERT INTO availability_plans "
        "(id, tenant_id, doctor_id, clinic_id, min_notice_minutes, horizon_days) "
        "VALUES (%s, %s, %s, %s, 0, 730)",
        (plan_id, tenant_id, doctor_id, clinic_id),
    )
    cur.executemany(
        "INSERT INTO availability_rules "
        "(id, tenant_id, plan_id, weekday, start_local, end_local, slot_minutes) "
        "VALUES (%s, %s, %s, %s, '00:00', '00:00', 5)",
        [(uuid7(), tenant_id, plan_id, weekday) for weekday in range(7)],
    )


def seed(url: str, *, clients: int) -> World:
    """One tenant and clinic (UTC), a doctor per client and contender, a patient per client."""
    tenant_id, clinic_id = uuid7(), uuid7()
    stored = hash_password_sync(PASSWORD)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO tenants (id, name, slug) VALUES (%s, 'Booking', %s)", (tenant_id, SLUG))
        cur.execute(
            "INSERT INTO clinics (id, tenant_id, name, slug, timezone) VALUES (%s, %s, 'B', 'b', 'UTC')",
            (clinic_id, tenant_id),
        )
        doctors = [
            _user(cur, tenant_id, f"doctor{i}@b.example", "DOCTOR", None) for i in range(2 * clients + 1)
        ]
        for doctor_id in doctors:
            _open_all_hours(cur, tenant_id, clinic_id, doctor_id)
        emails = [f"patient{i}@b.example" for i in range(clients)]
        patients = [_user(cur, tenant_id, email, "PATIENT", stored) for email in emails]
        conn.commit()
        cur.execute("ANALYZE")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    return World(
        tenant_id=tenant_id,
        clinic_id=clinic_id,
        ours_doctors=doctors[:clients],
        bare_doctors=doctors[clients : 2 * clients],
        trips_doctor=doctors[-1],
        patients=patients,
        emails=emails,
        first_slot=tomorrow.replace(hour=0, minute=0, second=0, microsecond=0),
    )


class Slots:
    """Hands out each doctor's free slots in order: a slot is never asked for twice."""

    def __init__(self, first: datetime) -> None:
        self._first = first
        self._taken: dict[uuid.UUID, int] = defaultdict(int)

    def take(self, doctor_id: uuid.UUID) -> str:
        n = self._taken[doctor_id]
        self._taken[doctor_id] = n + 1
        return (self._first + n * SLOT).isoformat()


def access_tokens(port: int, emails: list[str]) -> list[str]:
    """A bearer token per patient (one login each)."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=60) as client:
        tokens = []
        for email in emails:
            response = client.post(
                "/api/v1/auth/login", json={"tenant": SLUG, "email": email, "password": PASSWORD}
            )
            assert response.status_code == 200, f"login {response.status_code}: {response.text}"
            tokens.append(str(response.json()["access_token"]))
    return tokens


def ours_requests(world: World, tokens: list[str], slots: Slots) -> Callable[[int], Callable[[], bytes]]:
    def for_client(i: int) -> Callable[[], bytes]:
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        doctor, clinic = str(world.ours_doctors[i]), str(world.clinic_id)

        def next_request() -> bytes:
            body = {"doctor_id": doctor, "clinic_id": clinic, "starts_at": slots.take(world.ours_doctors[i])}
            return request_bytes(HOST, "/api/v1/appointments", "POST", headers, json.dumps(body).encode())

        return next_request

    return for_client


def bare_requests(world: World, slots: Slots) -> Callable[[int], Callable[[], bytes]]:
    def for_client(i: int) -> Callable[[], bytes]:
        fixed = {
            "tenant_id": str(world.tenant_id),
            "clinic_id": str(world.clinic_id),
            "doctor_id": str(world.bare_doctors[i]),
            "patient_id": str(world.patients[i]),
        }

        def next_request() -> bytes:
            body = fixed | {"starts_at": slots.take(world.bare_doctors[i])}
            return request_bytes(HOST, "/bench/appointments", "POST", {}, json.dumps(body).encode())

        return next_request

    return for_client


def compare(
    ports: dict[str, int], world: World, slots: Slots, *, rounds: int, seconds: float, clients: int
) -> list[dict[str, Result]]:
    """Alternating rounds (ours, then bare), after a one-second warm-up of each."""
    tokens = access_tokens(ports["ours"], world.emails)
    requests = {"ours": ours_requests(world, tokens, slots), "bare": bare_requests(world, slots)}

    def one(kind: str, length: float) -> Result:
        return asyncio.run(
            run_each(HOST, ports[kind], requests[kind], concurrency=clients, seconds=length, ok=b"201")
        )

    for kind in requests:
        one(kind, 1.0)
    return [{kind: one(kind, seconds) for kind in requests} for _ in range(rounds)]


def round_trips(url: str, world: World, slots: Slots, *, bookings: int = 30) -> dict[str, float]:
    """SQL round trips per booking, counted by a proxy in front of PostgreSQL, after a warm-up."""
    with counting_proxy(url) as (proxied, counter), serving("ours", url=proxied) as ports:
        token = access_tokens(ports["ours"], world.emails[:1])[0]
        body = {"doctor_id": str(world.trips_doctor), "clinic_id": str(world.clinic_id)}
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://{HOST}:{ports['ours']}", timeout=60) as client:

            def book(n: int, keyed: bool) -> int:
                counter.measure()
                for _ in range(n):
                    headers = auth | ({"Idempotency-Key": str(uuid.uuid4())} if keyed else {})
                    json_body = body | {"starts_at": slots.take(world.trips_doctor)}
                    response = client.post("/api/v1/appointments", json=json_body, headers=headers)
                    assert response.status_code == 201, response.text
                return counter.done()

            book(5, keyed=False)
            book(5, keyed=True)
            counter.measure()
            time.sleep(1.0)
            idle = counter.done()
            plain = book(bookings, keyed=False)
            keyed = book(bookings, keyed=True)
    return {
        "plain": plain / bookings,
        "keyed": keyed / bookings,
        "idle": float(idle),
        "bookings": float(bookings),
    }


def _row(n: str, by: dict[str, Result]) -> str:
    o, b = by["ours"], by["bare"]
    ratio = f"{o.rps / b.rps:.2f}" if b.rps else "n/a"
    return (
        f"| {n} | {o.rps:.0f} | {o.pct(50):.1f} | {o.pct(99):.1f} | {o.errors_text()} | "
        f"{b.rps:.0f} | {b.pct(50):.1f} | {b.pct(99):.1f} | {b.errors_text()} | {ratio} |"
    )


def render(rounds: list[dict[str, Result]], trips: dict[str, float], *, clients: int, seconds: float) -> str:
    ratios = [r["ours"].rps / r["bare"].rps for r in rounds]
    ratio = statistics.median(ratios)
    p99 = statistics.median(r["ours"].pct(99) for r in rounds)
    errors = sum(r[k].errors for r in rounds for k in r)
    lines = [
        f"## Booking: {clients} clients booking distinct free slots, full API vs the bare constrained INSERT",
        "",
        f"{len(rounds)} alternating rounds of {seconds:.0f} s (ours then bare), "
        f"{clients} keep-alive clients each; "
        "ours: `POST /api/v1/appointments` as a patient with a bearer token; bare: Starlette + psycopg, "
        "one `INSERT INTO appointments` in a transaction.",
        "",
        "| round | ours bookings/s | ours p50 ms | ours p99 ms | ours errors | bare inserts/s | bare p50 ms "
        "| bare p99 ms | bare errors | ours / bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(str(i + 1), r) for i, r in enumerate(rounds)),
        "",
    ]
    if errors:
        lines.append(f"- INVALID: {errors} requests were not answered 201; no ratio is reported.")
    else:
        lines += [
            f"- ours / bare throughput, median of the rounds: **{ratio:.2f}** (target ≥ 0.25, aim 0.4) — "
            f"{'meets' if ratio >= 0.25 else 'MISSES'} the target.",
            f"- ours p99, median of the rounds: **{p99:.0f} ms** (target < 150 ms) — "
            f"{'meets' if p99 < 150 else 'MISSES'} the target.",
        ]
    lines += [
        f"- SQL round trips per booking (counting proxy, {trips['bookings']:.0f} sequential bookings after a "
        f"warm-up; {trips['idle']:.0f} turns in one idle second): **{trips['plain']:.1f}** without "
        f"`Idempotency-Key` (target ≤ 4), **{trips['keyed']:.1f}** with one (target ≤ 5).",
        f"- Load average (1 min) when the rounds ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
    ]
    return "\n".join(lines)


def report(*, rounds: int, seconds: float, clients: int = 64) -> str:
    """The booking suite, end to end, on its own database (`clinicflow_bench_booking`, fresh each run)."""
    url = prepare_database(DATABASE)
    world = seed(url, clients=clients)
    environment_for_servers()
    slots = Slots(world.first_slot)
    trips = round_trips(url, world, slots)
    with serving("ours", "bare", url=url) as ports:
        results = compare(ports, world, slots, rounds=rounds, seconds=seconds, clients=clients)
    return render(results, trips, clients=clients, seconds=seconds)
