"""Server-rendered pages vs the JSON endpoints behind them (issue 14).

`uv run python -m bench --suite pages`

One real app (`bench.servers ours`) on a seeded tenant. Each pair is measured in
alternating rounds at the same concurrency, on the same server, in the same run:

- "my appointments": `GET /app` with the patient's page-session cookie vs
  `GET /api/v1/appointments?patient_id=…` with the same patient's bearer token.

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
APPOINTMENTS = 12  # half past, half upcoming: a patient's page in a busy year
TARGET_RATIO = 0.70
TARGET_P95_MS = 50.0


@dataclass(frozen=True)
class World:
    tenant_id: uuid.UUID
    patient_id: uuid.UUID


def seed(url: str) -> World:
    """A tenant with one clinic, one doctor and one patient holding APPOINTMENTS visits."""
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
            (doctor_id, "doctor@pages.example", "DOCTOR", None),
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
        conn.commit()
        cur.execute("ANALYZE")
    return World(tenant_id=tenant_id, patient_id=patient_id)


def bearer_token(port: int) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        json={"tenant": SLUG, "email": PATIENT_EMAIL, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def page_cookies(port: int) -> str:
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
                "email": PATIENT_EMAIL,
                "password": PASSWORD,
                "next": "/app",
            },
            headers={"Origin": f"http://127.0.0.1:{port}"},
        )
        assert signed_in.status_code == 303, signed_in.text[:500]
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


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
        pairs = {
            "my appointments": {
                "page": ("/app", {"Cookie": cookies}),
                "api": (
                    f"/api/v1/appointments?patient_id={world.patient_id}&limit=100",
                    {"Authorization": f"Bearer {token}"},
                ),
            }
        }
        results = compare(port, pairs, rounds=rounds, seconds=seconds, clients=clients)
    return "\n".join(render(results, clients=clients, seconds=seconds))
