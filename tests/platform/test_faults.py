"""Faults, for real: SIGKILLed processes, a database that goes away, load against the pools.

Every test runs `clinicflow serve` (and `clinicflow worker`) as subprocesses on a
database of its own, then checks what PostgreSQL holds. Workers beat every
second and count as dead after 3 s here, so stalled jobs come back quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from clinicflow.platform.migrations import upgrade_to_head
from tests.conftest import SMALL_SERVER_POOLS, admin_dsn, recreate_database, run_database_name, server_slot
from tests.platform.processes import (
    DEMO_PASSWORD,
    DEMO_PATIENT,
    Cluster,
    demo_login,
    libpq,
    problem,
    proxy_to,
    via,
)

pytestmark = pytest.mark.slow

# Idle connections expire before uvicorn's 5 s keep-alive does: reusing one the server is
# closing at that moment is a client-side ReadError, not the server's fault.
CLIENT_LIMITS = httpx.Limits(keepalive_expiry=1)
FAST_STALL = {"CLINICFLOW_JOBS_HEARTBEAT_SECONDS": "1", "CLINICFLOW_JOBS_STALLED_AFTER_SECONDS": "3"}
# A job left in `doing` by a dead worker must run again within this.
RERUN_BOUND_SECONDS = 120
CONNECTION_BUDGET = 20
TEST_CONNECTION = "faults-test"  # the test's own connections to the database, told apart from the server's

# Due jobs not yet done; the stalled-job sweep itself (a job every 5 s) is not what we wait for.
PENDING_JOBS = """
    SELECT count(*) FROM procrastinate_jobs
    WHERE status IN ('todo', 'doing') AND (scheduled_at IS NULL OR scheduled_at <= now())
      AND queue_name <> 'maintenance'
"""


@pytest.fixture
def faults_url(server_url: str) -> Iterator[str]:
    name = run_database_name("faults")
    url = recreate_database(server_url, name)
    upgrade_to_head(url)
    yield url
    with psycopg.connect(admin_dsn(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cluster(faults_url: str, tmp_path: Path) -> Iterator[Cluster]:
    # Small pools (the suite's connection budget); the load test measures the defaults.
    processes = Cluster(faults_url, tmp_path, **FAST_STALL, **SMALL_SERVER_POOLS)
    yield processes
    processes.stop_all()


@pytest.fixture
def default_cluster(faults_url: str, tmp_path: Path) -> Iterator[Cluster]:
    with server_slot():
        processes = Cluster(faults_url, tmp_path, **FAST_STALL)
        yield processes
        processes.stop_all()


@pytest.fixture
async def db(faults_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A direct connection to the test's database (never through the proxy)."""
    async with await psycopg.AsyncConnection.connect(
        libpq(faults_url), autocommit=True, application_name=TEST_CONNECTION
    ) as conn:
        yield conn


async def scalar(db: psycopg.AsyncConnection[Any], sql: str, *params: Any) -> Any:
    cursor = await db.execute(sql, params)
    row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def column(db: psycopg.AsyncConnection[Any], sql: str, *params: Any) -> list[Any]:
    cursor = await db.execute(sql, params)
    return [row[0] for row in await cursor.fetchall()]


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float = 0.2
) -> float:
    """Seconds until `check` holds (looked at every `every` s); fails the test after `within` s."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(every)
    return time.monotonic() - started


async def demo_doctor(db: psycopg.AsyncConnection[Any]) -> tuple[uuid.UUID, uuid.UUID]:
    cursor = await db.execute(
        "SELECT u.id, g.clinic_id FROM users u JOIN role_grants g ON g.user_id = u.id "
        "WHERE u.email = 'dr.okafor@demo.clinicflow.test'"
    )
    row = await cursor.fetchone()
    assert row is not None
    return row[0], row[1]


async def free_slots(
    client: httpx.AsyncClient, headers: dict[str, str], doctor_id: uuid.UUID, *, days: int = 21
) -> list[str]:
    start = datetime.now(UTC) + timedelta(days=1)
    response = await client.get(
        f"/api/v1/doctors/{doctor_id}/slots",
        params={"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return [slot["starts_at"] for slot in response.json()["items"]]


def booking(doctor_id: uuid.UUID, clinic_id: uuid.UUID, starts_at: str) -> dict[str, str]:
    return {"doctor_id": str(doctor_id), "clinic_id": str(clinic_id), "starts_at": starts_at}


async def book(
    client: httpx.AsyncClient, headers: dict[str, str], key: str, body: dict[str, str]
) -> httpx.Response:
    return await client.post("/api/v1/appointments", json=body, headers={**headers, "Idempotency-Key": key})


def contested_requests(
    doctor_id: uuid.UUID, clinic_id: uuid.UUID, slots: list[str]
) -> list[tuple[str, dict[str, str]]]:
    """Each slot asked for twice, under two keys: exactly one of each pair may win."""
    requests = [
        (f"storm-{i}-{n}", booking(doctor_id, clinic_id, slot))
        for i, slot in enumerate(slots)
        for n in (0, 1)
    ]
    random.Random(11).shuffle(requests)
    return requests


@contextlib.asynccontextmanager
async def outbox_locked(faults_url: str) -> AsyncIterator[None]:
    """Jobs that write the outbox (`messaging.send`) wait in `doing` until the block ends."""
    async with (
        await psycopg.AsyncConnection.connect(
            libpq(faults_url), autocommit=True, application_name=TEST_CONNECTION
        ) as conn,
        conn.transaction(),
    ):
        await conn.execute("LOCK TABLE notification_outbox IN EXCLUSIVE MODE")
        yield


async def jobs_in(db: psycopg.AsyncConnection[Any], status: str) -> list[int]:
    return await column(
        db,
        "SELECT id FROM procrastinate_jobs WHERE status = %s AND queue_name <> 'maintenance' ORDER BY id",
        status,
    )


async def replay(
    client: httpx.AsyncClient, headers: dict[str, str], requests: list[tuple[str, dict[str, str]]]
) -> dict[str, httpx.Response]:
    """Send every request again with its key, 10 at a time, retrying 503s (the server is warming up)."""
    gate = asyncio.Semaphore(10)

    async def one(key: str, body: dict[str, str]) -> httpx.Response:
        async with gate:
            for _ in range(20):
                response = await book(client, headers, key, body)
                if response.status_code != 503:
                    return response
                await asyncio.sleep(0.5)
            return response

    answers = await asyncio.gather(*(one(key, body) for key, body in requests))
    return {key: answer for (key, _), answer in zip(requests, answers, strict=True)}


async def assert_bookings_consistent(
    db: psycopg.AsyncConnection[Any],
    doctor_id: uuid.UUID,
    requests: list[tuple[str, dict[str, str]]],
    first: dict[str, httpx.Response | BaseException],
    second: dict[str, httpx.Response],
) -> list[uuid.UUID]:
    """Acknowledged bookings exist once, replays answer the same, no slot is taken twice, all audited."""
    acknowledged: set[uuid.UUID] = set()
    for key, _ in requests:
        again = second[key]
        assert again.status_code in (201, 409), again.text
        if again.status_code == 409:
            assert again.json()["code"] == "SLOT_UNAVAILABLE"
        else:
            acknowledged.add(uuid.UUID(again.json()["id"]))
        earlier = first.get(key)
        if isinstance(earlier, httpx.Response) and earlier.status_code == 201:
            # The key replays the first answer, even across the crash.
            assert again.status_code == 201
            assert again.json()["id"] == earlier.json()["id"]
    slots = {body["starts_at"] for _, body in requests}
    # Both keys of every slot were replayed: each slot ends with exactly one booking.
    assert len(acknowledged) == len(slots)
    starts = [datetime.fromisoformat(s) for s in slots]
    stored = await column(
        db,
        "SELECT id FROM appointments WHERE doctor_id = %s AND starts_at = ANY(%s) "
        "AND status NOT IN ('cancelled')",
        doctor_id,
        starts,
    )
    assert sorted(stored) == sorted(acknowledged)  # each exactly once, nothing unacknowledged
    doubled = await scalar(
        db,
        "SELECT count(*) FROM (SELECT starts_at FROM appointments WHERE doctor_id = %s "
        "AND status NOT IN ('cancelled') GROUP BY starts_at HAVING count(*) > 1) d",
        doctor_id,
    )
    assert doubled == 0
    audited = await scalar(
        db,
        "SELECT count(DISTINCT subject_id) FROM audit_events "
        "WHERE action = 'appointment.booked' AND subject_id = ANY(%s)",
        list(acknowledged),
    )
    audit_rows = await scalar(
        db,
        "SELECT count(*) FROM audit_events WHERE action = 'appointment.booked' AND subject_id = ANY(%s)",
        list(acknowledged),
    )
    assert audited == audit_rows == len(acknowledged)
    return sorted(acknowledged)


async def assert_every_job_ran(
    db: psycopg.AsyncConnection[Any], appointments: list[uuid.UUID], stalled: list[int]
) -> None:
    """The jobs a dead worker held ran again and succeeded; every booking's event and message exist."""
    assert stalled, "the test needs jobs that were running when the worker died"
    statuses = await column(db, "SELECT status FROM procrastinate_jobs WHERE id = ANY(%s)", stalled)
    assert statuses == ["succeeded"] * len(stalled)
    reruns = await column(db, "SELECT attempts FROM procrastinate_jobs WHERE id = ANY(%s)", stalled)
    assert all(attempts >= 1 for attempts in reruns)  # they were put back, not left in `doing`
    ids = [str(a) for a in appointments]
    events = await scalar(
        db,
        "SELECT count(DISTINCT args->>'appointment_id') FROM procrastinate_jobs "
        "WHERE queue_name = 'events' AND status = 'succeeded' AND args->>'appointment_id' = ANY(%s)",
        ids,
    )
    assert events == len(ids)
    # At least once: a job killed between its commit and its bookkeeping may have run twice.
    messaged = await scalar(
        db,
        "SELECT count(DISTINCT payload->>'appointment_id') FROM notification_outbox "
        "WHERE payload->>'appointment_id' = ANY(%s)",
        ids,
    )
    assert messaged == len(ids)
    assert await scalar(db, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'") == 0


async def test_serve_killed_in_a_booking_storm_loses_nothing_and_reruns_its_jobs(
    cluster: Cluster, db: psycopg.AsyncConnection[Any], faults_url: str
) -> None:
    serve, base_url = cluster.serve()
    doctor_id, clinic_id = await demo_doctor(db)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=CLIENT_LIMITS) as client:
        patient = await demo_login(client)
        requests = contested_requests(
            doctor_id, clinic_id, (await free_slots(client, patient, doctor_id))[:40]
        )
        async with outbox_locked(faults_url):
            inflight = [asyncio.create_task(book(client, patient, key, body)) for key, body in requests]

            async def mid_storm() -> bool:
                answered = sum(task.done() for task in inflight)
                return answered >= 10 and len(await jobs_in(db, "doing")) >= 1

            # Looked at often and early: on a quiet machine the 80 bookings are answered within
            # a few hundred ms, and a 0.2 s poll saw the storm over before it saw a job running.
            await eventually(mid_storm, within=45, what="bookings answered and jobs running", every=0.01)
            serve.kill()
            killed_at = time.monotonic()
            stalled = await jobs_in(db, "doing")
            answers = await asyncio.gather(*inflight, return_exceptions=True)
    first = dict(zip([key for key, _ in requests], answers, strict=True))
    lost = [key for key, answer in first.items() if isinstance(answer, BaseException)]
    assert lost, "the kill must land while requests are in flight"

    _, base_url = cluster.serve()
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=CLIENT_LIMITS) as client:
        second = await replay(client, await demo_login(client), requests)
    appointments = await assert_bookings_consistent(db, doctor_id, requests, first, second)

    async def all_done() -> bool:
        return await scalar(db, PENDING_JOBS) == 0 and await jobs_in(db, "doing") == []

    await eventually(all_done, within=RERUN_BOUND_SECONDS - (time.monotonic() - killed_at), what="jobs")
    print(
        f"\nserve SIGKILL: {len(stalled)} stalled jobs; all done {time.monotonic() - killed_at:.1f} s after"
    )
    await assert_every_job_ran(db, appointments, stalled)


def stalled_listing(cluster: Cluster) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "clinicflow.cli", "jobs", "stalled", "--older-than", "3"],
        env=cluster.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


async def test_worker_killed_while_running_jobs_they_run_again_and_are_listed_as_stalled(
    cluster: Cluster, db: psycopg.AsyncConnection[Any], faults_url: str
) -> None:
    _, base_url = cluster.serve("--no-worker")
    worker = cluster.worker()
    doctor_id, clinic_id = await demo_doctor(db)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=CLIENT_LIMITS) as client:
        patient = await demo_login(client)
        requests = contested_requests(
            doctor_id, clinic_id, (await free_slots(client, patient, doctor_id))[:15]
        )
        async with outbox_locked(faults_url):
            first: dict[str, httpx.Response | BaseException] = dict(
                zip(
                    [key for key, _ in requests],
                    await asyncio.gather(*(book(client, patient, key, body) for key, body in requests)),
                    strict=True,
                )
            )

            async def running() -> bool:
                return len(await jobs_in(db, "doing")) >= 1

            await eventually(running, within=30, what="the worker runs jobs")
            worker.kill()
            killed_at = time.monotonic()
            stalled = await jobs_in(db, "doing")

        # Nobody beats for the dead worker: after the bound, the CLI names its jobs.
        listed: list[str] = []

        async def listed_as_stalled() -> bool:
            listed[:] = (await asyncio.to_thread(stalled_listing, cluster)).split()
            return all(str(job_id) in listed for job_id in stalled)

        await eventually(listed_as_stalled, within=30, what="`clinicflow jobs stalled` lists the jobs")
        cluster.worker()
        second = await replay(client, patient, requests)
    appointments = await assert_bookings_consistent(db, doctor_id, requests, first, second)

    async def all_done() -> bool:
        return await scalar(db, PENDING_JOBS) == 0 and await jobs_in(db, "doing") == []

    await eventually(all_done, within=RERUN_BOUND_SECONDS - (time.monotonic() - killed_at), what="jobs")
    print(
        f"\nworker SIGKILL: {len(stalled)} stalled jobs; all done {time.monotonic() - killed_at:.1f} s after"
    )
    await assert_every_job_ran(db, appointments, stalled)
    assert "no stalled jobs" in await asyncio.to_thread(stalled_listing, cluster)


def assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert problem(response)["code"] == "DATABASE_UNAVAILABLE"
    assert int(response.headers["retry-after"]) >= 1


async def test_database_outage_is_503_everywhere_and_everything_recovers(
    cluster: Cluster, db: psycopg.AsyncConnection[Any], faults_url: str
) -> None:
    # Reads give up waiting for a connection after 2 s (default 5 s), to keep the test short.
    cluster.settings["CLINICFLOW_DB_POOL_TIMEOUT"] = "2"
    with proxy_to(faults_url) as proxy:
        _, base_url = cluster.serve(database_url=via(faults_url, proxy.port))
        doctor_id, clinic_id = await demo_doctor(db)
        async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=CLIENT_LIMITS) as client:
            patient = await demo_login(client)
            slots = await free_slots(client, patient, doctor_id)
            ready = await client.get("/health/ready")
            assert ready.json()["worker"] == "up"

            proxy.cut()
            window = {"from": slots[0], "to": slots[-1]}
            login = {"tenant": "demo", "email": DEMO_PATIENT, "password": DEMO_PASSWORD}
            answers = await asyncio.gather(
                client.get(f"/api/v1/doctors/{doctor_id}/slots", params=window, headers=patient),
                client.get("/api/v1/appointments", headers=patient),
                client.post("/api/v1/auth/login", json=login),  # auth: a write
                book(client, patient, "outage-1", booking(doctor_id, clinic_id, slots[0])),  # idempotent
                client.post(
                    "/api/v1/appointments", json=booking(doctor_id, clinic_id, slots[1]), headers=patient
                ),
            )
            for answer in answers:
                assert_database_unavailable(answer)

            async def worker_down() -> bool:
                ready = await client.get("/health/ready")
                assert ready.status_code == 503
                return bool(problem(ready).get("worker") == "down")

            await eventually(worker_down, within=20, what="readiness reports the worker down")

            proxy.restore()
            restored_at = time.monotonic()

            async def serving() -> bool:
                read = await client.get(f"/api/v1/doctors/{doctor_id}/slots", params=window, headers=patient)
                return read.status_code == 200

            read_back = await eventually(serving, within=30, what="reads succeed again")
            booked = await book(client, patient, "after-outage", booking(doctor_id, clinic_id, slots[2]))
            for _ in range(20):
                if booked.status_code != 503:
                    break
                await asyncio.sleep(0.5)
                booked = await book(client, patient, "after-outage", booking(doctor_id, clinic_id, slots[2]))
            assert booked.status_code == 201, booked.text
            appointment_id = booked.json()["id"]
            deferred_at = time.monotonic()

            async def job_ran() -> bool:
                return bool(
                    await scalar(
                        db,
                        "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'events' "
                        "AND status = 'succeeded' AND args->>'appointment_id' = %s",
                        appointment_id,
                    )
                )

            job_after = await eventually(job_ran, within=10, what="a job deferred after recovery runs")

            async def ready_again() -> bool:
                ready = await client.get("/health/ready")
                return ready.status_code == 200 and ready.json()["worker"] == "up"

            await eventually(ready_again, within=10, what="ready again")
            print(
                f"\noutage: reads back {read_back:.1f} s after the database, write at "
                f"{deferred_at - restored_at:.1f} s, its job ran {job_after:.1f} s later"
            )


async def test_one_serve_process_holds_at_most_20_connections_under_load(
    default_cluster: Cluster, db: psycopg.AsyncConnection[Any], faults_url: str, server_url: str
) -> None:
    serve, base_url = default_cluster.serve()
    doctor_id, clinic_id = await demo_doctor(db)
    database = str(await scalar(db, "SELECT current_database()"))
    ours = f"clinicflow-serve-{serve.pid}-"
    samples: list[dict[str, int]] = []  # connections to the test's database by application_name
    statuses: dict[int, int] = {}
    stop = asyncio.Event()

    async def sample() -> None:
        async with await psycopg.AsyncConnection.connect(admin_dsn(server_url), autocommit=True) as admin:
            while not stop.is_set():
                cursor = await admin.execute(
                    "SELECT application_name, count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND backend_type = 'client backend' GROUP BY 1",
                    (database,),
                )
                samples.append(dict(await cursor.fetchall()))
                await asyncio.sleep(0.05)

    limits = httpx.Limits(max_connections=200, keepalive_expiry=CLIENT_LIMITS.keepalive_expiry)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        patient = await demo_login(client)
        slots = await free_slots(client, patient, doctor_id, days=30)
        window = {"from": slots[0], "to": slots[-1]}
        deadline = time.monotonic() + 12

        async def user(n: int) -> None:
            rng = random.Random(n)
            while time.monotonic() < deadline:
                pick = rng.random()
                if pick < 0.4:
                    key = f"load-{uuid.uuid4().hex}"
                    answer = await book(
                        client, patient, key, booking(doctor_id, clinic_id, rng.choice(slots))
                    )
                elif pick < 0.7:
                    answer = await client.get(
                        f"/api/v1/doctors/{doctor_id}/slots", params=window, headers=patient
                    )
                elif pick < 0.9:
                    answer = await client.get("/api/v1/appointments", headers=patient)
                else:
                    answer = await client.get("/api/v1/users/me", headers=patient)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(user(n) for n in range(100)))
        stop.set()
        await sampler

    for sample in samples:
        sample.pop(TEST_CONNECTION, None)
    busiest = max(samples, key=lambda sample: sum(sample.values()))
    peak = sum(busiest.values())
    print(f"\nload: {sum(statuses.values())} requests {statuses}; peak {peak} connections {busiest}")
    assert peak <= CONNECTION_BUDGET, busiest
    assert peak >= 12, "the load must fill the pools, or the bound proves nothing"
    names = {name for sample in samples for name in sample}
    assert all(name.startswith(ours) for name in names), names  # every connection says whose it is
    assert sum(statuses.get(code, 0) for code in (200, 201, 409)) > 0.9 * sum(statuses.values())
    assert set(statuses) <= {200, 201, 409, 503}
