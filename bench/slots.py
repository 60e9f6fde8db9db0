"""Slot search benchmark (issue 12 item 6): one doctor-week's free slots among 1M appointments.

The database `clinicflow_bench_slots` is seeded once and reused by later runs (it is
detected: the seeded tenants are there, it holds at least 1M appointments and the target
doctor's diary still covers the weeks ahead; otherwise it is dropped and seeded again).
Seeding is SQL (`INSERT … SELECT generate_series`) into the real schema, under its
exclusion constraint: 2 tenants, 10 clinics each, 10 doctors each, each doctor working Monday to
Friday 08:00-18:00 clinic time in 15-minute slots, half of the slots of every working day
booked, for half a year back and half a year ahead (~1.04M appointments), 5,000 patients
per tenant.

Then `GET /api/v1/doctors/{id}/slots?clinic_id=…&from=…&to=…` for the target doctor's next
full week (100 free slots of 200, an afternoon of time off) at 1 and 16 clients, as a
patient with a bearer token.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time as clock
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import psycopg

from bench.auth import PASSWORD, environment_for_servers
from bench.loadgen import Result, run
from bench.processes import prepare_database, serving
from clinicflow.identity.passwords import hash_password_sync
from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.ids import uuid7

DATABASE = "clinicflow_bench_slots"
TENANTS, CLINICS, DOCTORS, PATIENTS = 2, 10, 10, 5_000
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London", "Australia/Sydney")
MIN_APPOINTMENTS = 1_000_000
SLUG = "bench-slots-0"
LOGIN = "patient@slots.example"
HOST = "127.0.0.1"

APPOINTMENTS_SQL = """
INSERT INTO appointments (id, tenant_id, clinic_id, doctor_id, patient_id, starts_at, ends_at,
                          blocked_from, blocked_until, slot_group_id, status, kind)
SELECT q.id, d.tenant_id, d.clinic_id, d.doctor_id, p.id, q.starts_at, q.starts_at + interval '15 minutes',
       q.starts_at, q.starts_at + interval '15 minutes', q.id,
       CASE WHEN q.starts_at < now() THEN 'completed' ELSE 'scheduled' END, 'in_person'
FROM bench_doctor d
CROSS JOIN LATERAL (
    SELECT gen_random_uuid() AS id, s, extract(doy FROM day)::int AS doy,
           ((day::date + time '08:00' + s * interval '15 minutes') AT TIME ZONE d.tz) AS starts_at
    FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS day,
         generate_series(0, 39) AS s
    WHERE extract(isodow FROM day) <= 5 AND (s + extract(doy FROM day)::int + d.n) %% 2 = 0
) q
JOIN bench_patient p ON p.tenant_id = d.tenant_id AND p.n = (d.n * 7919 + q.s * 31 + q.doy) %% %(patients)s
WHERE d.tenant_id = %(tenant)s
"""


@dataclass(frozen=True)
class Target:
    tenant_id: uuid.UUID
    clinic_id: uuid.UUID
    doctor_id: uuid.UUID
    zone: str
    appointments: int


Cursor = psycopg.Cursor[tuple[object, ...]]


def _grant(
    cur: Cursor, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str, clinic: uuid.UUID | None
) -> None:
    cur.execute(
        "INSERT INTO role_grants (id, tenant_id, user_id, role, clinic_id) VALUES (%s, %s, %s, %s, %s)",
        (uuid7(), tenant_id, user_id, role, clinic),
    )


def _doctor(cur: Cursor, tenant_id: uuid.UUID, clinic_id: uuid.UUID, n: int, zone: str) -> uuid.UUID:
    """A doctor of one clinic, working Monday to Friday 08:00-18:00 there in 15-minute slots."""
    doctor_id, plan_id = uuid7(), uuid7()
    cur.execute(
        "INSERT INTO users (id, tenant_id, email, full_name) VALUES (%s, %s, %s, %s)",
        (doctor_id, tenant_id, f"doctor{n}@slots.example", f"Doctor {n}"),
    )
    _grant(cur, tenant_id, doctor_id, "DOCTOR", clinic_id)
    cur.execute(
        "INSERT INTO availability_plans (id, tenant_id, doctor_id, clinic_id, min_notice_minutes, "
        "horizon_days) VALUES (%s, %s, %s, %s, 60, 365)",
        (plan_id, tenant_id, doctor_id, clinic_id),
    )
    cur.executemany(
        "INSERT INTO availability_rules (id, tenant_id, plan_id, weekday, start_local, end_local, "
        "slot_minutes) VALUES (%s, %s, %s, %s, '08:00', '18:00', 15)",
        [(uuid7(), tenant_id, plan_id, weekday) for weekday in range(5)],
    )
    cur.execute(
        "INSERT INTO bench_doctor VALUES (%s, %s, %s, %s, %s)", (tenant_id, clinic_id, doctor_id, zone, n)
    )
    return doctor_id


def _patients(cur: Cursor, tenant_id: uuid.UUID) -> None:
    cur.execute(
        "INSERT INTO users (id, tenant_id, email, full_name) "
        "SELECT gen_random_uuid(), %s, 'p' || i || '@slots.example', 'Patient ' || i "
        "FROM generate_series(0, %s - 1) AS i",
        (tenant_id, PATIENTS),
    )
    cur.execute(
        "INSERT INTO role_grants (id, tenant_id, user_id, role) "
        "SELECT gen_random_uuid(), tenant_id, id, 'PATIENT' FROM users WHERE tenant_id = %s",
        (tenant_id,),
    )
    cur.execute(
        "INSERT INTO bench_patient SELECT tenant_id, row_number() OVER (ORDER BY id) - 1, id "
        "FROM users WHERE tenant_id = %s",
        (tenant_id,),
    )


def _tenant(cur: Cursor, t: int, *, first: date, last: date) -> Target:
    """Tenant `t` with its clinics, doctors, patients and a year of appointments."""
    tenant_id = uuid7()
    cur.execute(
        "INSERT INTO tenants (id, name, slug) VALUES (%s, %s, %s)",
        (tenant_id, f"Slots {t}", f"bench-slots-{t}"),
    )
    _patients(cur, tenant_id)
    doctors: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    for c in range(CLINICS):
        clinic_id, zone = uuid7(), ZONES[c % len(ZONES)]
        cur.execute(
            "INSERT INTO clinics (id, tenant_id, name, slug, timezone) VALUES (%s, %s, %s, %s, %s)",
            (clinic_id, tenant_id, f"Clinic {c}", f"c{c}", zone),
        )
        for k in range(DOCTORS):
            doctors.append((clinic_id, _doctor(cur, tenant_id, clinic_id, c * DOCTORS + k, zone), zone))
    params = {"first": first, "last": last, "tenant": tenant_id, "patients": PATIENTS}
    cur.execute(APPOINTMENTS_SQL, params)
    clinic_id, doctor_id, zone = doctors[0]
    return Target(tenant_id, clinic_id, doctor_id, zone, cur.rowcount)


def seed(url: str) -> Target:
    """Seed the whole world; returns the doctor whose week is searched."""
    today = datetime.now(UTC).date()
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bench_doctor (tenant_id uuid, clinic_id uuid, doctor_id uuid, tz text, n int)"
        )
        cur.execute("CREATE TEMP TABLE bench_patient (tenant_id uuid, n int, id uuid)")
        targets = [
            _tenant(cur, t, first=today - timedelta(days=182), last=today + timedelta(days=183))
            for t in range(TENANTS)
        ]
        target = targets[0]
        login = uuid7()
        cur.execute(
            "INSERT INTO users (id, tenant_id, email, full_name, password_hash) "
            "VALUES (%s, %s, %s, 'Searcher', %s)",
            (login, target.tenant_id, LOGIN, hash_password_sync(PASSWORD)),
        )
        _grant(cur, target.tenant_id, login, "PATIENT", None)
        conn.commit()
        conn.autocommit = True  # VACUUM runs outside a transaction
        cur.execute("VACUUM ANALYZE")
    return Target(
        target.tenant_id,
        target.clinic_id,
        target.doctor_id,
        target.zone,
        sum(t.appointments for t in targets),
    )


FIND_SQL = """
SELECT t.id, p.clinic_id, u.id, c.timezone,
       (SELECT count(*) FROM appointments),
       (SELECT max(starts_at) FROM appointments a WHERE a.tenant_id = t.id AND a.doctor_id = u.id)
FROM tenants t
JOIN users u ON u.tenant_id = t.id AND u.email = 'doctor0@slots.example'
JOIN availability_plans p ON p.tenant_id = t.id AND p.doctor_id = u.id
JOIN clinics c ON c.tenant_id = t.id AND c.id = p.clinic_id
WHERE t.slug = %s
"""


def existing(url: str) -> Target | None:
    """The seeded world, if this database holds it and its diary still covers the next weeks."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(FIND_SQL, (SLUG,)).fetchone()
    if row is None:
        return None
    tenant_id, clinic_id, doctor_id, zone, count, last = row
    if not isinstance(last, datetime) or not isinstance(count, int):
        return None
    if count < MIN_APPOINTMENTS or last < datetime.now(UTC) + timedelta(days=28):
        return None
    return Target(
        uuid.UUID(str(tenant_id)), uuid.UUID(str(clinic_id)), uuid.UUID(str(doctor_id)), str(zone), count
    )


def world() -> tuple[str, Target, str]:
    """(database URL, target, how it was obtained): reused when seeded before, else seeded now."""
    url = prepare_database(DATABASE, fresh=False)
    found = existing(url)
    if found is not None:
        return url, found, "reused the database seeded by an earlier run"
    url = prepare_database(DATABASE, fresh=True)
    started = clock.perf_counter()
    target = seed(url)
    return url, target, f"seeded in {clock.perf_counter() - started:.0f} s (INSERT … SELECT generate_series)"


def target_week(target: Target) -> tuple[datetime, datetime]:
    """The doctor's next full week, Monday 00:00 to Monday 00:00 clinic time."""
    zone = ZoneInfo(target.zone)
    today = datetime.now(zone).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(0), zone), datetime.combine(
        monday + timedelta(days=7), time(0), zone
    )


def prepare_week(url: str, target: Target, start: datetime) -> int:
    """Wednesday afternoon off in the searched week (the exceptions path runs too); booked slots."""
    wednesday = start + timedelta(days=2)
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(
            "DELETE FROM time_off WHERE tenant_id = %s AND doctor_id = %s",
            (target.tenant_id, target.doctor_id),
        )
        conn.execute(
            "INSERT INTO time_off (id, tenant_id, doctor_id, clinic_id, starts_at, ends_at, reason) "
            "VALUES (%s, %s, %s, %s, %s, %s, 'bench')",
            (
                uuid7(),
                target.tenant_id,
                target.doctor_id,
                target.clinic_id,
                wednesday + timedelta(hours=14),
                wednesday + timedelta(hours=18),
            ),
        )
        row = conn.execute(
            "SELECT count(*) FROM appointments WHERE tenant_id = %s AND doctor_id = %s "
            "AND starts_at >= %s AND starts_at < %s",
            (target.tenant_id, target.doctor_id, start, start + timedelta(days=7)),
        ).fetchone()
    return int(row[0]) if row else 0


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def measure(port: int, path: str, *, rounds: int, seconds: float) -> tuple[int, dict[int, list[Result]]]:
    """(free slots in the page, rounds per client count) after a one-second warm-up."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=60) as client:
        login = client.post("/api/v1/auth/login", json={"tenant": SLUG, "email": LOGIN, "password": PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        probe = client.get(path, headers=headers)
        assert probe.status_code == 200, probe.text
        free = len(probe.json()["items"])
    asyncio.run(run(HOST, port, path, concurrency=16, seconds=1.0, headers=headers))
    results: dict[int, list[Result]] = {1: [], 16: []}
    for clients, found in results.items():
        for _ in range(rounds):
            found.append(
                asyncio.run(run(HOST, port, path, concurrency=clients, seconds=seconds, headers=headers))
            )
    return free, results


TARGET_P95_MS = {1: 25.0, 16: 60.0}


def render(
    results: dict[int, list[Result]], *, how: str, target: Target, booked: int, free: int, seconds: float
) -> str:
    lines = [
        f"## Slot search: one doctor-week among {target.appointments:,} appointments",
        "",
        f"Database `{DATABASE}`: {how}. `GET /api/v1/doctors/{{id}}/slots?clinic_id=…&from=…&to=…` for the "
        f"target doctor's next full week ({booked} booked slots, Wednesday afternoon off; the answer "
        f"holds {free} free slots), as a patient with a bearer token; rounds of {seconds:.0f} s.",
        "",
        "| clients | round | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for clients, rounds in results.items():
        for i, r in enumerate(rounds):
            figures = f"{r.rps:.0f} | {r.pct(50):.1f} | {r.pct(95):.1f} | {r.pct(99):.1f} | {r.errors_text()}"
            lines.append(f"| {clients} | {i + 1} | {figures} |")
    lines.append("")
    for clients, rounds in results.items():
        p95 = statistics.median(r.pct(95) for r in rounds)
        errors = sum(r.errors for r in rounds)
        goal = TARGET_P95_MS[clients]
        verdict = "INVALID (errors)" if errors else ("meets" if p95 < goal else "MISSES")
        lines.append(
            f"- {clients} client{'s' if clients > 1 else ''}: p95, median of the rounds: **{p95:.1f} ms** "
            f"(target < {goal:.0f} ms) — {verdict} the target."
        )
    lines.append(
        f"- Load average (1 min) when the rounds ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )
    return "\n".join([*lines, ""])


def report(*, rounds: int, seconds: float) -> str:
    """The slot-search suite, end to end."""
    url, target, how = world()
    start, end = target_week(target)
    booked = prepare_week(url, target, start)
    query = urlencode({"clinic_id": str(target.clinic_id), "from": _instant(start), "to": _instant(end)})
    path = f"/api/v1/doctors/{target.doctor_id}/slots?{query}"
    environment_for_servers()
    with serving("ours", url=url) as ports:
        free, results = measure(ports["ours"], path, rounds=rounds, seconds=seconds)
    return render(results, how=how, target=target, booked=booked, free=free, seconds=seconds)
