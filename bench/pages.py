"""Server-rendered pages vs the JSON endpoints behind them (issue 14).

`uv run python -m bench --suite pages`

One real app (`bench.servers ours`) on a seeded tenant. Each pair is measured in
alternating rounds at the same concurrency, on the same server, in the same run:

- "my appointments": `GET /app` with the patient's page-session cookie vs
  `GET /api/v1/appointments?patient_id=…` with the same patient's bearer token.
- "doctor's queue": `GET /doctor/queue?location=…` with the doctor's cookie (their clinics,
  the check-in locations to choose from, the queue, the template) vs `GET
  /api/v1/queues/{location_id}` with the same doctor's bearer token, QUEUE_WAITING patients
  waiting for that doctor today (one already with them); and the same page as htmx re-fetches
  it on every queue event (`HX-Request`: the queue's fragment alone) vs the same endpoint.

Targets: the page serves at least 70% of the API's throughput, with p95 < 50 ms at
16 clients. The page does what the endpoint does (the principal, the same service
call) plus the template: the ratio is the cost of rendering.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import psycopg

from bench.loadgen import Result, median_result, run
from bench.processes import prepare_database, serving
from clinicflow.identity.passwords import hash_password_sync
from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.ids import uuid7

DB = "clinicflow_bench_pages"
SLUG = "pages"
PASSWORD = "bench-password-123"  # noqa: S105 (a benchmark account)
PATIENT_EMAIL = "patient@pages.example"
DOCTOR_EMAIL = "doctor@pages.example"
APPOINTMENTS = 12  # half past, half upcoming: a patient's page in a busy year
QUEUE_WAITING = 20  # a busy doctor's morning at one desk
TARGET_RATIO = 0.70
TARGET_P95_MS = 50.0


@dataclass(frozen=True)
class World:
    tenant_id: uuid.UUID
    patient_id: uuid.UUID
    location_id: uuid.UUID  # the doctor's queue: QUEUE_WAITING waiting, one in consultation


def seed(url: str) -> World:
    """A tenant with one clinic, one doctor and one patient holding APPOINTMENTS visits, and a
    check-in desk where QUEUE_WAITING patients wait for the doctor today."""
    tenant_id, clinic_id, doctor_id, patient_id = uuid7(), uuid7(), uuid7(), uuid7()
    stored = hash_password_sync(PASSWORD)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO tenants (id, name, slug) VALUES (%s, 'Pages', %s)", (tenant_id, SLUG))
        cur.execute(
            "INSERT INTO clinics (id, tenant_id, name, slug, timezone) "
            "VALUES (%s, %s, 'Pages clinic', 'p', 'Europe/Berlin')",
            (clinic_id, tenant_id),
        )
        for user_id, email, role, pw in (
            (doctor_id, DOCTOR_EMAIL, "DOCTOR", stored),
            (patient_id, PATIENT_EMAIL, "PATIENT", stored),
        ):
            cur.execute(
                "INSERT INTO users (id, tenant_id, email, full_name, password_hash) "
                "VALUES (%s, %s, %s, %s, %s)",
                (user_id, tenant_id, email, email.split("@")[0].title(), pw),
            )
            cur.execute(
                "INSERT INTO role_grants (id, tenant_id, user_id, role) VALUES (%s, %s, %s, %s)",
                (uuid7(), tenant_id, user_id, role),
            )
        for n in range(APPOINTMENTS):
            appointment_id = uuid7()
            starts = now + timedelta(days=7 * (n - APPOINTMENTS // 2), hours=1)
            cur.execute(
                "INSERT INTO appointments (id, tenant_id, clinic_id, doctor_id, patient_id, starts_at, "
                "ends_at, blocked_from, blocked_until, slot_group_id, status, kind, reason) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'in_person', 'Check-up')",
                (
                    appointment_id,
                    tenant_id,
                    clinic_id,
                    doctor_id,
                    patient_id,
                    starts,
                    starts + timedelta(minutes=30),
                    starts,
                    starts + timedelta(minutes=30),
                    appointment_id,
                    "completed" if starts < now else "scheduled",
                ),
            )
        location_id = _seed_queue(cur, tenant_id, clinic_id, doctor_id)
        conn.commit()
        cur.execute("ANALYZE")
    return World(tenant_id=tenant_id, patient_id=patient_id, location_id=location_id)


def _seed_queue(
    cur: psycopg.Cursor[tuple[object, ...]], tenant_id: uuid.UUID, clinic_id: uuid.UUID, doctor_id: uuid.UUID
) -> uuid.UUID:
    """A check-in desk where QUEUE_WAITING patients wait for the doctor today (clinic-local,
    Berlin), checked in ten minutes before their 5-minute visits of the last two hours; one more
    is in consultation (bench/checkin.py seeds its queue the same way)."""
    location_id = uuid7()
    cur.execute(
        "INSERT INTO clinic_locations (id, tenant_id, clinic_id, name, kind) "
        "VALUES (%s, %s, %s, 'Ground floor desk', 'checkin_desk')",
        (location_id, tenant_id, clinic_id),
    )
    cur.execute(
        "INSERT INTO checkin_locations (id, tenant_id, location_id, clinic_id) VALUES (%s, %s, %s, %s)",
        (uuid7(), tenant_id, location_id, clinic_id),
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    day = now.astimezone(ZoneInfo("Europe/Berlin")).date()
    for n in range(QUEUE_WAITING + 1):
        patient_id, appointment_id = uuid7(), uuid7()
        consulting = n == 0
        cur.execute(
            "INSERT INTO users (id, tenant_id, email, full_name) VALUES (%s, %s, %s, %s)",
            (patient_id, tenant_id, f"queued{n}@pages.example", f"Queued Patient {n}"),
        )
        cur.execute(
            "INSERT INTO role_grants (id, tenant_id, user_id, role) VALUES (%s, %s, %s, 'PATIENT')",
            (uuid7(), tenant_id, patient_id),
        )
        starts = now - timedelta(minutes=5 * (QUEUE_WAITING + 1 - n))
        cur.execute(
            "INSERT INTO appointments (id, tenant_id, clinic_id, doctor_id, patient_id, starts_at, "
            "ends_at, blocked_from, blocked_until, slot_group_id, status, kind, reason) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'in_person', 'Check-up')",
            (
                appointment_id,
                tenant_id,
                clinic_id,
                doctor_id,
                patient_id,
                starts,
                starts + timedelta(minutes=5),
                starts,
                starts + timedelta(minutes=5),
                appointment_id,
                "in_consultation" if consulting else "checked_in",
            ),
        )
        arrived = starts - timedelta(minutes=10)
        cur.execute(
            "INSERT INTO check_ins (id, tenant_id, clinic_id, location_id, appointment_id, patient_id, "
            "doctor_id, appointment_starts_at, method, checked_in_at, local_day, ticket_number, ticket, "
            "queued_at, queue_status, started_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'qr', %s, %s, %s, %s, %s, %s, %s)",
            (
                uuid7(),
                tenant_id,
                clinic_id,
                location_id,
                appointment_id,
                patient_id,
                doctor_id,
                starts,
                arrived,
                day,
                n + 1,
                f"A-{n + 1:03d}",
                arrived,
                "in_consultation" if consulting else "waiting",
                now - timedelta(minutes=3) if consulting else None,
            ),
        )
    return location_id


def bearer_token(port: int, email: str = PATIENT_EMAIL) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        json={"tenant": SLUG, "email": email, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def page_cookies(port: int, email: str = PATIENT_EMAIL) -> str:
    """Sign in through the login form, as a browser does: the `Cookie` header it then sends."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        form = client.get("/login")
        form.raise_for_status()
        match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert match is not None, "the login form carries a CSRF token"
        signed_in = client.post(
            "/login",
            data={
                "csrf_token": match.group(1),
                "tenant": SLUG,
                "email": email,
                "password": PASSWORD,
                "next": "/app",
            },
            headers={"Origin": f"http://127.0.0.1:{port}"},
        )
        assert signed_in.status_code == 303, signed_in.text[:500]
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def check_queue(port: int, world: World, token: str, cookies: str) -> None:
    """Both contenders show the seeded queue: QUEUE_WAITING waiting, one in consultation."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        api = client.get(f"/api/v1/queues/{world.location_id}", headers={"Authorization": f"Bearer {token}"})
        api.raise_for_status()
        waiting = api.json()["waiting"]
        assert len(waiting) == QUEUE_WAITING, f"{len(waiting)} waiting, expected {QUEUE_WAITING}"
        page = client.get(f"/doctor/queue?location={world.location_id}", headers={"Cookie": cookies})
        assert page.status_code == 200, page.text[:500]
        rows = page.text.count('<tr class="waiting')
        assert rows == QUEUE_WAITING, f"the page lists {rows} waiting, expected {QUEUE_WAITING}"


def compare(
    port: int,
    pairs: dict[str, dict[str, tuple[str, dict[str, str]]]],
    *,
    rounds: int,
    seconds: float,
    clients: int,
) -> dict[str, dict[str, list[Result]]]:
    """Alternating rounds per pair: page, api, page, api, ... (each after a warm-up)."""
    results: dict[str, dict[str, list[Result]]] = {name: {"page": [], "api": []} for name in pairs}

    def one(path: str, headers: dict[str, str], length: float) -> Result:
        return asyncio.run(run("127.0.0.1", port, path, concurrency=clients, seconds=length, headers=headers))

    for name, contenders in pairs.items():
        for path, headers in contenders.values():
            one(path, headers, 1.0)
        for _ in range(rounds):
            for kind, (path, headers) in contenders.items():
                results[name][kind].append(one(path, headers, seconds))
    return results


def render(results: dict[str, dict[str, list[Result]]], *, clients: int, seconds: float) -> list[str]:
    lines = [
        "## Pages vs the JSON behind them (issue 14)",
        "",
        "`DATABASE_URL=… ./scripts/uv run python -m bench --suite pages` — bench/pages.py. "
        f"{clients} keep-alive clients, alternating rounds of {seconds:.0f} s on one server; "
        "every round listed, verdict on the median round.",
        "",
        "| pair | round | page req/s | api req/s | page / api | page p95 ms | api p95 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for name, by_kind in results.items():
        for n, (page, api) in enumerate(zip(by_kind["page"], by_kind["api"], strict=True), start=1):
            lines.append(
                f"| {name} | {n} | {page.rps:.0f} | {api.rps:.0f} | {page.rps / api.rps:.2f} | "
                f"{page.pct(95):.1f} | {api.pct(95):.1f} | {page.errors_text()} / {api.errors_text()} |"
            )
        page, api = median_result(by_kind["page"]), median_result(by_kind["api"])
        ratio = page.rps / api.rps
        met = ratio >= TARGET_RATIO and page.pct(95) < TARGET_P95_MS
        verdicts.append(
            f"- {name}: page {ratio:.2f} of the API's throughput (target ≥ {TARGET_RATIO:.2f}), "
            f"page p95 {page.pct(95):.1f} ms (target < {TARGET_P95_MS:.0f} ms): "
            f"{'met' if met else 'MISSED'}."
        )
    return [*lines, "", *verdicts, ""]


def report(*, rounds: int, seconds: float, clients: int = 16) -> str:
    url = prepare_database(DB)
    world = seed(url)
    with serving("ours", url=url) as ports:
        port = ports["ours"]
        token, cookies = bearer_token(port), page_cookies(port)
        doctor_token, doctor_cookies = bearer_token(port, DOCTOR_EMAIL), page_cookies(port, DOCTOR_EMAIL)
        check_queue(port, world, doctor_token, doctor_cookies)
        pairs = {
            "my appointments": {
                "page": ("/app", {"Cookie": cookies}),
                "api": (
                    f"/api/v1/appointments?patient_id={world.patient_id}&limit=100",
                    {"Authorization": f"Bearer {token}"},
                ),
            },
            "doctor's queue": {
                "page": (f"/doctor/queue?location={world.location_id}", {"Cookie": doctor_cookies}),
                "api": (f"/api/v1/queues/{world.location_id}", {"Authorization": f"Bearer {doctor_token}"}),
            },
            "doctor's queue, live re-fetch": {
                "page": (
                    f"/doctor/queue?location={world.location_id}",
                    {"Cookie": doctor_cookies, "HX-Request": "true"},
                ),
                "api": (f"/api/v1/queues/{world.location_id}", {"Authorization": f"Bearer {doctor_token}"}),
            },
        }
        results = compare(port, pairs, rounds=rounds, seconds=seconds, clients=clients)
    return "\n".join(render(results, clients=clients, seconds=seconds))
