from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx
import pytest
from sqlalchemy import text

from clinicflow.app import create_app
from clinicflow.config import Settings
from clinicflow.platform.db import Database
from clinicflow.platform.db.direct import Query
from clinicflow.platform.health import READY_BUDGET_SECONDS
from clinicflow.platform.logging import configure_logging
from clinicflow.platform.migrations import head_revision
from tests.conftest import recreate_database, run_database_name


async def test_live_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_reports_the_head_revision(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema_revision": head_revision()}


async def test_ready_is_503_while_the_schema_is_behind(server_url: str, settings: Settings) -> None:
    # A database that exists but was never migrated: the app must not claim readiness.
    url = recreate_database(server_url, run_database_name("unmigrated"))
    database = Database(url, pool_size=1, max_overflow=0)
    try:
        app = create_app(settings=settings, database=database)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "SERVICE_UNAVAILABLE"
        assert body["expected_revision"] == head_revision()
        assert "clinicflow migrate" in body["detail"]
        assert response.headers["content-type"] == "application/problem+json"
    finally:
        await database.dispose()


async def test_ready_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    """Within the probe's budget: the read pool waits for a connection that never comes."""
    database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_size=1, max_overflow=0)
    app = create_app(settings=settings, database=database)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    started = time.monotonic()
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "The database is not reachable"
    assert time.monotonic() - started < READY_BUDGET_SECONDS + 2  # not the pool's 30 s default
    await database.dispose()


async def test_reads_answer_503_with_retry_after_when_no_connection_frees_up(database_url: str) -> None:
    from clinicflow.platform.db import DatabaseUnavailable

    database = Database(database_url, pool_size=1, max_overflow=0, read_timeout=0.2)
    holding, done = asyncio.Event(), asyncio.Event()

    one = Query(text("SELECT 1"))

    async def hold_the_only_connection() -> None:
        async with database.reading() as uow:
            await uow.fetch(one)  # a read unit of work takes its connection at its first read
            holding.set()
            await done.wait()

    holder = asyncio.create_task(hold_the_only_connection())
    try:
        await holding.wait()
        with pytest.raises(DatabaseUnavailable) as busy:
            async with database.reading() as uow:
                await uow.fetch(one)
        done.set()
        await holder
        assert busy.value.status == 503
        assert busy.value.code == "DATABASE_UNAVAILABLE"
        assert busy.value.headers["Retry-After"] == "1"
        async with database.reading() as uow:  # the held connection went back to the pool
            assert (await uow.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await database.dispose()


def _sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            label_part = line[len(name) + 1 : line.index("}")]
            got = ",".join(sorted(label_part.split(",")))
            if got == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_by_route_template_and_status(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    for _ in range(3):
        assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/no/such/route")).status_code == 404
    after = (await client.get("/metrics")).text

    labels = {"method": "GET", "route": "/health/live", "status": "200"}
    assert (
        _sample(after, "clinicflow_http_requests_total", **labels)
        - _sample(before, "clinicflow_http_requests_total", **labels)
        == 3
    )
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert (
        _sample(after, "clinicflow_http_requests_total", **unmatched)
        - _sample(before, "clinicflow_http_requests_total", **unmatched)
        == 1
    )
    # latency histogram by template, never by raw path
    assert 'clinicflow_http_request_duration_seconds_count{method="GET",route="/health/live"}' in after
    assert "/no/such/route" not in after


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health/live", headers={"X-Request-Id": "bad id with spaces\n"})
    assert generated.headers["x-request-id"] != "bad id with spaces\n"
    assert len(generated.headers["x-request-id"]) == 32


async def test_log_lines_carry_the_request_id_and_filtered_levels_print_nothing(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level="INFO", json=True)  # binds the handler to capsys's stderr
    try:
        await client.get("/health/live", headers={"X-Request-Id": "trace-log-1"})
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
        access = [line for line in lines if line.get("event") == "http.request"]
        assert len(access) == 1
        assert access[0]["request_id"] == "trace-log-1"
        assert access[0]["route"] == "/health/live"
        assert access[0]["status"] == 200

        configure_logging(level="WARNING", json=True)
        await client.get("/health/live", headers={"X-Request-Id": "trace-log-2"})
        assert "trace-log-2" not in capsys.readouterr().err
    finally:
        logging.getLogger().handlers[:] = []
        logging.getLogger().setLevel(logging.WARNING)


async def test_metrics_report_every_database_pool(database: Database) -> None:
    from prometheus_client import generate_latest

    from clinicflow.platform.metrics import REGISTRY, track_pool

    async with database.reading() as uow:
        assert uow.read_only
        await uow.fetch(Query(text("SELECT 1")))  # a hot read holds its connection until the end
        track_pool(database.pool_status)
        exposed = generate_latest(REGISTRY).decode()
    assert 'clinicflow_db_pool_connections{pool="read",state="checked_out"} 1.0' in exposed
    assert 'clinicflow_db_pool_connections{pool="write",state="checked_out"} 0.0' in exposed
    # A hot read never touches the engine that serves every other read.
    assert 'clinicflow_db_pool_connections{pool="read_orm",state="checked_out"} 0.0' in exposed
