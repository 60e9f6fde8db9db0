"""The two contenders, each served by uvicorn in its own process.

- `ours`: the real Clinicflow app (middleware, error handling, unit of work,
  tenant-scoped repository, Pydantic response schema), plus one bench-only
  route written like GET /api/v1/clinics without its bearer token (the
  identity suite measures the authenticated endpoint itself).
- `bare`: a plain Starlette app with a raw psycopg pool running the same SQL
  (for the booking suite: only the constrained INSERT into `appointments`; for check-in,
  only the constrained INSERT into `check_ins`).
"""

# No `from __future__ import annotations` here: FastAPI must resolve the route
# signature's annotations at import time.
import itertools
import json
import os
import sys
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from clinicflow.app import create_app
from clinicflow.config import Environment, Settings
from clinicflow.identity import events as identity_events
from clinicflow.identity.access import Web
from clinicflow.platform.db import Database
from clinicflow.platform.db.url import libpq_url
from clinicflow.platform.ids import uuid7
from clinicflow.platform.listener import Listener
from clinicflow.platform.logging import configure_logging
from clinicflow.platform.pagination import Page, Paging
from clinicflow.platform.serving import run_server
from clinicflow.tenancy import service as tenancy
from clinicflow.tenancy.schemas import ClinicRead

TENANT_READ_SQL = (
    "SELECT id, name, slug, timezone, address_line1, address_line2, city, region, postal_code, "
    "country_code, phone, max_daily_appointments, max_concurrent_patients, created_at, updated_at "
    "FROM clinics WHERE tenant_id = %s AND archived_at IS NULL ORDER BY id LIMIT 51"
)
# The booking suite's bare contender: the INSERT a booking comes down to, under the same
# exclusion constraint (no double booking), in one transaction.
BOOKING_SQL = (
    "INSERT INTO appointments (id, tenant_id, clinic_id, doctor_id, patient_id, starts_at, ends_at, "
    "blocked_from, blocked_until, slot_group_id, status, kind, created_by) "
    "VALUES (%(id)s, %(tenant_id)s, %(clinic_id)s, %(doctor_id)s, %(patient_id)s, %(starts_at)s, "
    "%(ends_at)s, %(starts_at)s, %(ends_at)s, %(id)s, 'scheduled', 'in_person', %(patient_id)s) "
    "RETURNING created_at, updated_at"
)
BOOKING_SLOT = timedelta(minutes=5)
# The check-in suite's bare contender: the INSERT a check-in comes down to, under the same
# unique constraint (one per appointment) and indexes, in one transaction; tickets from a
# process-local counter.
CHECKIN_SQL = (
    "INSERT INTO check_ins (id, tenant_id, clinic_id, location_id, appointment_id, patient_id, doctor_id, "
    "appointment_starts_at, method, checked_in_by, local_day, ticket_number, ticket) "
    "VALUES (%(id)s, %(tenant_id)s, %(clinic_id)s, %(location_id)s, %(appointment_id)s, %(patient_id)s, "
    "%(doctor_id)s, %(starts_at)s, 'qr', %(patient_id)s, %(local_day)s, %(ticket_number)s, %(ticket)s) "
    "ON CONFLICT ON CONSTRAINT uq_check_ins_tenant_id_appointment_id DO NOTHING RETURNING checked_in_at"
)


def ours(url: str) -> Any:
    router = APIRouter()

    # Written as GET /api/v1/clinics is, minus the bearer token (the identity
    # suite benchmarks that one): same dependencies, read unit of work, service
    # and response model.
    @router.get("/bench/tenants/{tenant_id}/clinics", response_model=Page[ClinicRead])
    async def clinics(tenant_id: uuid.UUID, ctx: Web, page: Paging) -> Page[ClinicRead]:
        async with ctx.db.reading() as uow:
            items, cursor = await tenancy.list_clinics(uow, tenant_id=tenant_id, page=page)
        return Page[ClinicRead](items=items, next_cursor=cursor)

    settings = Settings(CLINICFLOW_ENV=Environment.TEST, CLINICFLOW_LOG_LEVEL="WARNING").with_secrets()
    database = Database(url, pool_size=10, max_overflow=0)
    app = create_app(settings=settings, database=database, extra_routers=[router])
    # The app owns no listener when handed a database; start one as `clinicflow serve` does,
    # so the principal cache is trusted (the authenticated read measures the served path).
    listener = Listener(libpq_url(url), application_name="clinicflow-bench-listen")
    identity_events.register(listener, app.state.web.principals)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> Any:
        await listener.start(wait=10)
        async with inner(served):
            yield
        await listener.stop()

    app.router.lifespan_context = lifespan
    return app


def ours_with_worker(url: str) -> Any:
    """The app as `clinicflow serve` runs it: its own database pool and an in-process worker."""
    import os

    os.environ["DATABASE_URL"] = url
    settings = Settings(CLINICFLOW_ENV=Environment.TEST, CLINICFLOW_LOG_LEVEL="WARNING").with_secrets()
    return create_app(settings=settings, with_worker=True)


def bare(url: str) -> Any:
    pool = AsyncConnectionPool(libpq_url(url), min_size=10, max_size=10, open=False)

    async def ready(request: StarletteRequest) -> JSONResponse:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT version_num FROM alembic_version")).fetchone()
        return JSONResponse({"status": "ready", "schema_revision": row[0] if row else None})

    async def clinics(request: StarletteRequest) -> JSONResponse:
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(TENANT_READ_SQL, (request.path_params["tenant_id"],))
            rows = await cur.fetchall()
        items = [
            {k: (str(v) if not isinstance(v, int | type(None)) else v) for k, v in r.items()}
            for r in rows[:50]
        ]
        return JSONResponse({"items": items, "next_cursor": None})

    async def book(request: StarletteRequest) -> JSONResponse:
        body = json.loads(await request.body())
        starts_at = datetime.fromisoformat(body["starts_at"])
        row = {**body, "id": uuid7(), "starts_at": starts_at, "ends_at": starts_at + BOOKING_SLOT}
        try:
            async with pool.connection() as conn:
                created = await (await conn.execute(BOOKING_SQL, row)).fetchone()
        except pg_errors.ExclusionViolation:
            return JSONResponse({"code": "SLOT_UNAVAILABLE"}, status_code=409)
        assert created is not None
        answer = {k: str(v) for k, v in row.items()} | {"created_at": str(created[0]), "status": "scheduled"}
        return JSONResponse(answer, status_code=201)

    tickets = itertools.count(1_000_000 + os.getpid() * 1000)

    async def check_in(request: StarletteRequest) -> JSONResponse:
        body = json.loads(await request.body())
        starts_at = datetime.fromisoformat(body["starts_at"])
        number = next(tickets)
        row = {
            **body,
            "id": uuid7(),
            "starts_at": starts_at,
            "local_day": starts_at.date(),
            "ticket_number": number,
            "ticket": f"B-{number}",
        }
        async with pool.connection() as conn:
            created = await (await conn.execute(CHECKIN_SQL, row)).fetchone()
        if created is None:
            return JSONResponse({"code": "ALREADY_CHECKED_IN"}, status_code=409)
        answer = {k: str(v) for k, v in row.items()} | {"checked_in_at": str(created[0])}
        return JSONResponse(answer, status_code=201)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        await pool.open()
        yield
        await pool.close()

    return Starlette(
        routes=[
            Route("/health/ready", ready),
            Route("/bench/tenants/{tenant_id}/clinics", clinics),
            Route("/bench/appointments", book, methods=["POST"]),
            Route("/bench/check-ins", check_in, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    kind, url, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    configure_logging(level="WARNING")  # as `clinicflow serve` does, at production verbosity
    app = {"ours": ours, "bare": bare, "ours-worker": ours_with_worker}[kind](url)
    run_server(app, host="127.0.0.1", port=port)  # both contenders served as `clinicflow serve` serves
