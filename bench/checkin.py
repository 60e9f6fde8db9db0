"""Check-in benchmarks (issue 13): the QR scan against the bare INSERT, and the queue read.

(a) Scan: 64 clients, one door (check-in location) each, check patients in through the
    full API — `POST /api/v1/appointments/check-in/scan-qr` with a bearer token and the location's signed QR
    token: token check, the patient's appointments in the window, the conditional status
    move, ticket, the constrained INSERT, audit, domain event and realtime NOTIFY, one
    transaction — against a bare Starlette endpoint doing only the constrained
    `INSERT INTO check_ins … ON CONFLICT DO NOTHING` (same table, same unique constraint,
    same indexes), in the same run, rounds alternating. Every request checks in an
    appointment nobody checked in before, so every answer must be 200 (ours) / 201 (bare).
(c) Queue read: `GET /api/v1/queues/{location_id}` as reception with 200 patients waiting
    (each with its estimate), by one client (a desk's screen) and by 16 at once.

Each patient has 20 appointments in today's window (a busy family clinic has one or two;
20 makes the window query do more than it will in production, not less).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from bench.auth import PASSWORD, environment_for_servers
from bench.loadgen import Result, request_bytes, run, run_each
from bench.processes import prepare_database, serving
from clinicflow.identity.passwords import hash_password_sync
from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.ids import uuid7

DATABASE = "clinicflow_bench_checkin"
SLUG = "bench-checkin"
HOST = "127.0.0.1"
PATIENTS_PER_CLIENT = 10
VISITS_PER_PATIENT = 20
DOCTORS_PER_CLIENT = 4
VISIT = timedelta(seconds=10)
QUEUE_WAITING = 200


@dataclass
class World:
    tenant_id: uuid.UUID
    clinic_id: uuid.UUID
    doors: list[uuid.UUID]  # per client, the check-in location its patients scan at
    queue_location_id: uuid.UUID  # 200 waiting, for the queue read
    admin_email: str
    desk_email: str
    # ours: per client, its patients' emails and, per patient, appointment ids in order
    emails: list[list[str]] = field(default_factory=list)
    visits: list[list[list[uuid.UUID]]] = field(default_factory=list)
    # bare: per client, (appointment id, patient id, doctor id, starts_at) to insert check-ins for
    bare: list[list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime]]] = field(default_factory=list)


Cursor = psycopg.Cursor[tuple[object, ...]]


def _copy(cur: Cursor, table: str, columns: str, rows: list[tuple[object, ...]]) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _users(cur: Cursor, tenant_id: uuid.UUID, specs: list[tuple[str, str, str | None]]) -> list[uuid.UUID]:
    ids = [uuid7() for _ in specs]
    _copy(
        cur,
        "users",
        "id, tenant_id, email, full_name, password_hash",
        [(i, tenant_id, e, e.split("@")[0], pw) for i, (e, _, pw) in zip(ids, specs, strict=True)],
    )
    _copy(
        cur,
        "role_grants",
        "id, tenant_id, user_id, role",
        [(uuid7(), tenant_id, i, role) for i, (_, role, _) in zip(ids, specs, strict=True)],
    )
    return ids


def _appointment(
    tenant_id: uuid.UUID, clinic_id: uuid.UUID, doctor: uuid.UUID, patient: uuid.UUID, starts: datetime
) -> tuple[object, ...]:
    aid = uuid7()
    ends = starts + VISIT
    return (
        aid,
        tenant_id,
        clinic_id,
        doctor,
        patient,
        starts,
        ends,
        starts,
        ends,
        aid,
        "scheduled",
        "in_person",
    )


APPOINTMENT_COLUMNS = (
    "id, tenant_id, clinic_id, doctor_id, patient_id, starts_at, ends_at, blocked_from, blocked_until, "
    "slot_group_id, status, kind"
)


def seed(url: str, *, clients: int) -> World:
    """A UTC clinic with two check-in locations; per client 10 patients with 20 appointments each
    in the next 20 minutes (4 doctors, 10-second visits) and as many for the bare contender; 200
    patients already waiting at the queue location."""
    tenant_id, clinic_id, queue_location_id = uuid7(), uuid7(), uuid7()
    doors = [uuid7() for _ in range(clients)]
    stored = hash_password_sync(PASSWORD)
    world = World(tenant_id, clinic_id, doors, queue_location_id, "admin@ci.example", "desk@ci.example")
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO tenants (id, name, slug) VALUES (%s, 'Check-in', %s)", (tenant_id, SLUG))
        cur.execute(
            "INSERT INTO clinics (id, tenant_id, name, slug, timezone) VALUES (%s, %s, 'C', 'c', 'UTC')",
            (clinic_id, tenant_id),
        )
        places = [(door, f"Desk {c}") for c, door in enumerate(doors)] + [(queue_location_id, "Waiting room")]
        for lid, name in places:
            cur.execute(
                "INSERT INTO clinic_locations (id, tenant_id, clinic_id, name, kind) "
                "VALUES (%s, %s, %s, %s, 'checkin_desk')",
                (lid, tenant_id, clinic_id, name),
            )
            cur.execute(
                "INSERT INTO checkin_locations (id, tenant_id, location_id, clinic_id) "
                "VALUES (%s, %s, %s, %s)",
                (uuid7(), tenant_id, lid, clinic_id),
            )
        _users(
            cur,
            tenant_id,
            [(world.admin_email, "TENANT_ADMIN", stored), (world.desk_email, "RECEPTIONIST", stored)],
        )
        doctors = _users(
            cur,
            tenant_id,
            [(f"doctor{i}@ci.example", "DOCTOR", None) for i in range(2 * clients * DOCTORS_PER_CLIENT)],
        )
        specs = [
            (f"p{c}-{j}@ci.example", "PATIENT", stored)
            for c in range(clients)
            for j in range(PATIENTS_PER_CLIENT)
        ]
        patients = _users(cur, tenant_id, specs)
        # The bare contender's appointments have patients of their own, so that a scanner's
        # window query reads their 20 appointments, not the bare ones too.
        bare_patients = _users(
            cur,
            tenant_id,
            [
                (f"b{c}-{j}@ci.example", "PATIENT", None)
                for c in range(clients)
                for j in range(PATIENTS_PER_CLIENT)
            ],
        )
        rows: list[tuple[object, ...]] = []
        for c in range(clients):
            world.emails.append([specs[c * PATIENTS_PER_CLIENT + j][0] for j in range(PATIENTS_PER_CLIENT)])
            per_patient: list[list[uuid.UUID]] = []
            for j in range(PATIENTS_PER_CLIENT):
                patient = patients[c * PATIENTS_PER_CLIENT + j]
                mine = []
                for k in range(VISITS_PER_PATIENT):
                    doctor = doctors[c * DOCTORS_PER_CLIENT + k % DOCTORS_PER_CLIENT]
                    slot = j * (VISITS_PER_PATIENT // DOCTORS_PER_CLIENT) + k // DOCTORS_PER_CLIENT
                    row = _appointment(tenant_id, clinic_id, doctor, patient, first + slot * VISIT)
                    rows.append(row)
                    mine.append(row[0])  # type: ignore[arg-type]
                per_patient.append(mine)
            world.visits.append(per_patient)
            bare = []
            for k in range(PATIENTS_PER_CLIENT * VISITS_PER_PATIENT * 8):
                doctor = doctors[(clients + c) * DOCTORS_PER_CLIENT + k % DOCTORS_PER_CLIENT]
                patient = bare_patients[c * PATIENTS_PER_CLIENT + k % PATIENTS_PER_CLIENT]
                row = _appointment(
                    tenant_id, clinic_id, doctor, patient, first + (k // DOCTORS_PER_CLIENT) * VISIT
                )
                rows.append(row)
                bare.append((row[0], patient, doctor, row[5]))  # type: ignore[arg-type]
            world.bare.append(bare)
        _copy(cur, "appointments", APPOINTMENT_COLUMNS, rows)
        _seed_waiting(cur, world, doctors[:4], patients, first)
        conn.commit()
        cur.execute("ANALYZE")
    return world


def _seed_waiting(
    cur: Cursor,
    world: World,
    doctors: list[uuid.UUID],
    patients: list[uuid.UUID],
    first: datetime,
) -> None:
    """200 checked-in appointments waiting at the queue location, 4 doctors, one in consultation each."""
    day = first.date()
    rows: list[tuple[object, ...]] = []
    check_ins: list[tuple[object, ...]] = []
    for n in range(QUEUE_WAITING + len(doctors)):
        doctor = doctors[n % len(doctors)]
        patient = patients[n % len(patients)]
        starts = first - timedelta(hours=1) + (n // len(doctors)) * timedelta(minutes=1)
        row = _appointment(world.tenant_id, world.clinic_id, doctor, patient, starts)
        consulting = n < len(doctors)
        rows.append((*row[:10], "in_consultation" if consulting else "checked_in", row[11]))
        arrived = starts - timedelta(minutes=10)
        check_ins.append(
            (
                uuid7(),
                world.tenant_id,
                world.clinic_id,
                world.queue_location_id,
                row[0],
                patient,
                doctor,
                starts,
                "qr",
                arrived,
                day,
                n + 1,
                f"A-{n + 1:03d}",
                arrived,
                "in_consultation" if consulting else "waiting",
                arrived if consulting else None,
            )
        )
    _copy(cur, "appointments", APPOINTMENT_COLUMNS, rows)
    _copy(
        cur,
        "check_ins",
        "id, tenant_id, clinic_id, location_id, appointment_id, patient_id, doctor_id, "
        "appointment_starts_at, method, checked_in_at, local_day, ticket_number, ticket, queued_at, "
        "queue_status, started_at",
        check_ins,
    )


def _login(client: httpx.Client, email: str) -> str:
    response = client.post("/api/v1/auth/login", json={"tenant": SLUG, "email": email, "password": PASSWORD})
    assert response.status_code == 200, f"login {response.status_code}: {response.text}"
    return str(response.json()["access_token"])


async def _tokens(port: int, emails: list[str]) -> list[str]:
    """A bearer token per email, 16 logins at a time (argon2 runs in the server's threads)."""
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=120) as client:

        async def one(email: str) -> str:
            async with gate:
                r = await client.post(
                    "/api/v1/auth/login", json={"tenant": SLUG, "email": email, "password": PASSWORD}
                )
                assert r.status_code == 200, f"login {r.status_code}: {r.text}"
                return str(r.json()["access_token"])

        return list(await asyncio.gather(*(one(e) for e in emails)))


def qr_tokens(port: int, world: World) -> list[str]:
    """Each door's printed-QR token, as its admin sees it."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=60) as client:
        admin = {"Authorization": f"Bearer {_login(client, world.admin_email)}"}
        found = []
        for door in world.doors:
            response = client.get(f"/api/v1/locations/{door}/qr-token", headers=admin)
            assert response.status_code == 200, response.text
            found.append(str(response.json()["token"]))
        return found


def ours_requests(
    world: World, tokens: list[list[str]], qrs: list[str]
) -> Callable[[int], Callable[[], bytes]]:
    def for_client(c: int) -> Callable[[], bytes]:
        def sequence() -> Iterator[bytes]:
            for k in range(VISITS_PER_PATIENT):  # round-robin over the client's patients
                for j in range(PATIENTS_PER_CLIENT):
                    body = {"token": qrs[c], "appointment_ids": [str(world.visits[c][j][k])]}
                    headers = {"Authorization": f"Bearer {tokens[c][j]}"}
                    yield request_bytes(
                        HOST,
                        "/api/v1/appointments/check-in/scan-qr",
                        "POST",
                        headers,
                        json.dumps(body).encode(),
                    )
            raise RuntimeError("client ran out of appointments: raise VISITS_PER_PATIENT")

        it = sequence()
        return lambda: next(it)

    return for_client


def bare_requests(world: World) -> Callable[[int], Callable[[], bytes]]:
    def for_client(c: int) -> Callable[[], bytes]:
        fixed = {
            "tenant_id": str(world.tenant_id),
            "clinic_id": str(world.clinic_id),
            "location_id": str(world.doors[c]),
        }
        it = iter(world.bare[c])

        def next_request() -> bytes:
            appointment, patient, doctor, starts = next(it)
            body = fixed | {
                "appointment_id": str(appointment),
                "patient_id": str(patient),
                "doctor_id": str(doctor),
                "starts_at": starts.isoformat(),
            }
            return request_bytes(HOST, "/bench/check-ins", "POST", {}, json.dumps(body).encode())

        return next_request

    return for_client


def compare_scans(
    ports: dict[str, int], world: World, *, rounds: int, seconds: float, clients: int
) -> list[dict[str, Result]]:
    """Alternating rounds (ours, then bare), after a one-second warm-up of each."""
    emails = [e for per_client in world.emails for e in per_client]
    flat = asyncio.run(_tokens(ports["ours"], emails))
    tokens = [flat[c * PATIENTS_PER_CLIENT : (c + 1) * PATIENTS_PER_CLIENT] for c in range(clients)]
    qrs = qr_tokens(ports["ours"], world)
    makers = {"ours": ours_requests(world, tokens, qrs), "bare": bare_requests(world)}
    # One request generator per client for the whole run: appointments are never reused.
    requests = {kind: [make(c) for c in range(clients)] for kind, make in makers.items()}
    ok = {"ours": b"200", "bare": b"201"}

    def one(kind: str, length: float) -> Result:
        return asyncio.run(
            run_each(
                HOST,
                ports[kind],
                lambda c: requests[kind][c],
                concurrency=clients,
                seconds=length,
                ok=ok[kind],
            )
        )

    for kind in requests:
        one(kind, 1.0)
    return [{kind: one(kind, seconds) for kind in requests} for _ in range(rounds)]


#: Concurrent readers of the queue: one reception screen (the latency a desk sees), and 16.
READERS = (1, 16)


def queue_reads(port: int, world: World, *, rounds: int, seconds: float) -> dict[int, list[Result]]:
    """Per number of concurrent readers (`READERS`), `rounds` rounds of reads."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=60) as client:
        desk = {"Authorization": f"Bearer {_login(client, world.desk_email)}"}
        shown = client.get(f"/api/v1/queues/{world.queue_location_id}", headers=desk)
        assert shown.status_code == 200, shown.text
        waiting = shown.json()["waiting"]
        assert len(waiting) == QUEUE_WAITING, f"{len(waiting)} waiting, expected {QUEUE_WAITING}"
    path = f"/api/v1/queues/{world.queue_location_id}"
    asyncio.run(run(HOST, port, path, concurrency=16, seconds=1.0, headers=desk))
    return {
        n: [
            asyncio.run(run(HOST, port, path, concurrency=n, seconds=seconds, headers=desk))
            for _ in range(rounds)
        ]
        for n in READERS
    }


def _row(n: str, by: dict[str, Result]) -> str:
    o, b = by["ours"], by["bare"]
    ratio = f"{o.rps / b.rps:.2f}" if b.rps else "n/a"
    return (
        f"| {n} | {o.rps:.0f} | {o.pct(50):.1f} | {o.pct(99):.1f} | {o.errors_text()} | "
        f"{b.rps:.0f} | {b.pct(50):.1f} | {b.pct(99):.1f} | {b.errors_text()} | {ratio} |"
    )


def render(
    scans: list[dict[str, Result]],
    reads: dict[int, list[Result]],
    *,
    clients: int,
    seconds: float,
    longest: int,
) -> str:
    ratio = statistics.median(r["ours"].rps / r["bare"].rps for r in scans)
    p99 = statistics.median(r["ours"].pct(99) for r in scans)
    errors = sum(r[k].errors for r in scans for k in r)
    lines = [
        f"## Check-in (a): {clients} clients scanning a location's QR code, full API vs the bare "
        "constrained INSERT",
        "",
        f"{len(scans)} alternating rounds of {seconds:.0f} s (ours then bare), "
        f"{clients} keep-alive clients each; "
        "ours: `POST /api/v1/appointments/check-in/scan-qr` as a patient with a bearer token and the printed "
        "QR token of the client's own door (64 check-in locations of one clinic; each request a different "
        "appointment); bare: Starlette + psycopg, one `INSERT INTO check_ins … ON CONFLICT DO NOTHING` in a "
        f"transaction at the same doors. The longest queue a door had at the end: {longest} waiting.",
        "",
        "| round | ours scans/s | ours p50 ms | ours p99 ms | ours errors | bare inserts/s | bare p50 ms "
        "| bare p99 ms | bare errors | ours / bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_row(str(i + 1), r) for i, r in enumerate(scans)),
        "",
    ]
    if errors:
        lines.append(f"- INVALID: {errors} requests were not answered 200/201; no ratio is reported.")
    else:
        lines += [
            f"- ours / bare throughput, median of the rounds: **{ratio:.2f}** (target ≥ 0.50) — "
            f"{'meets' if ratio >= 0.5 else 'MISSES'} the target.",
            f"- ours p99, median of the rounds: **{p99:.0f} ms** (target < 150 ms) — "
            f"{'meets' if p99 < 150 else 'MISSES'} the target.",
        ]
    lines += [
        "",
        f"## Check-in (c): the queue of a location with {QUEUE_WAITING} waiting, read by reception",
        "",
        "`GET /api/v1/queues/{location_id}` with a bearer token (every entry with its name, wait and "
        f"estimate: about 120 kB of JSON), keep-alive clients, {rounds_of(reads)} rounds of {seconds:.0f} s "
        "per number of clients.",
        "",
        "| clients | round | reads/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---:|---|---:|---:|---:|---:|---:|",
        *(
            f"| {n} | {i + 1} | {r.rps:.0f} | {r.pct(50):.1f} | {r.pct(95):.1f} | {r.pct(99):.1f} "
            f"| {r.errors_text()} |"
            for n, results in reads.items()
            for i, r in enumerate(results)
        ),
        "",
        *(
            f"- {n} client{'s' if n > 1 else ''}: p95, median of the rounds: **{p95:.1f} ms** "
            f"(target < 20 ms) — {'meets' if p95 < 20 else 'MISSES'} the target."
            for n, p95 in ((n, statistics.median(r.pct(95) for r in results)) for n, results in reads.items())
        ),
        f"- Load average (1 min) when the rounds ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
    ]
    return "\n".join(lines)


def report(*, rounds: int, seconds: float, clients: int = 64) -> str:
    """Both check-in suites on their own database (`clinicflow_bench_checkin`, fresh each run)."""
    url = prepare_database(DATABASE)
    world = seed(url, clients=clients)
    environment_for_servers()
    # The scan's rate limits guard one patient's phone and one location's door; the bench is
    # 640 patients at one door, each scanning up to 20 appointments in a few seconds, so both
    # limits are lifted (their counters are still taken on every scan, so their cost is measured).
    os.environ["CLINICFLOW_CHECKIN_RATE_PER_LOCATION"] = "1000000/minute"
    os.environ["CLINICFLOW_CHECKIN_RATE_PER_PATIENT"] = "1000000/minute"
    with serving("ours", "bare", url=url) as ports:
        # The reads first, on the statistics of the seed's ANALYZE (the scans add thousands
        # of rows that autovacuum would take up to a minute to analyze).
        reads = queue_reads(ports["ours"], world, rounds=rounds, seconds=seconds)
        scans = compare_scans(ports, world, rounds=rounds, seconds=seconds, clients=clients)
    return render(scans, reads, clients=clients, seconds=seconds, longest=longest_queue(url, world))


def rounds_of(reads: dict[int, list[Result]]) -> int:
    return max((len(results) for results in reads.values()), default=0)


def longest_queue(url: str, world: World) -> int:
    """The most patients the scans left waiting at one door."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM check_ins WHERE location_id = ANY(%s) "
            "AND queue_status = 'waiting' GROUP BY location_id) per_door",
            (world.doors,),
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
