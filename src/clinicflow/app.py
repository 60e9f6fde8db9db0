"""The ASGI application: routes, error rendering, middleware and the resources' lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI

from clinicflow.audit.routes import router as audit_router
from clinicflow.config import Settings, get_settings
from clinicflow.identity import passwords
from clinicflow.identity.access import WebContext
from clinicflow.identity.auth import AuthConfig
from clinicflow.identity.auth_routes import router as auth_router
from clinicflow.identity.tokens import TokenKeys
from clinicflow.identity.user_routes import router as users_router
from clinicflow.messaging.routes import router as outbox_router
from clinicflow.platform import runtime
from clinicflow.platform.clock import Clock, SystemClock
from clinicflow.platform.db import Database
from clinicflow.platform.db.url import libpq_url, resolve_database_url
from clinicflow.platform.health import router as health_router
from clinicflow.platform.http import RequestContextMiddleware, install_error_handlers
from clinicflow.platform.jobs import WorkerSupervisor, close_jobs, open_jobs
from clinicflow.platform.listener import Listener
from clinicflow.platform.logging import get_logger
from clinicflow.platform.metrics import track_pool
from clinicflow.platform.migrations import head_revision
from clinicflow.platform.openapi import document_edge_errors
from clinicflow.platform.ratelimit import RateLimiter
from clinicflow.platform.realtime import Hub
from clinicflow.realtime import events as realtime_events
from clinicflow.realtime.access import RealtimeContext
from clinicflow.realtime.display import DisplayKeys
from clinicflow.realtime.routes import router as realtime_router
from clinicflow.scheduling import guards as _guards  # noqa: F401  (registers the clinic-deletion guard)
from clinicflow.scheduling import notifications as _notifications  # noqa: F401  (subscribes handlers)
from clinicflow.scheduling.booking import SchedulingConfig
from clinicflow.scheduling.routes import rooms as video_rooms_router
from clinicflow.scheduling.routes import router as scheduling_router
from clinicflow.scheduling.video import SignedRoomProvider
from clinicflow.tenancy.routes import router as tenancy_router
from clinicflow.waitlist import offers as _offers  # noqa: F401  (subscribes to freed slots)
from clinicflow.waitlist.routes import router as waitlist_router
from clinicflow.waitlist.service import WaitlistConfig
from clinicflow.web import home

log = get_logger(__name__)


def create_app(
    *,
    settings: Settings | None = None,
    database: Database | None = None,
    with_worker: bool = False,
    extra_routers: Iterable[APIRouter] = (),
    clock: Clock | None = None,
) -> FastAPI:
    """Build the app.

    Without `database`, start-up connects to `DATABASE_URL` (or the embedded
    server) and opens the job queue; `with_worker` also runs an in-process
    worker. With `database` (tests, benchmarks), the caller owns it. `clock` replaces the
    system clock for time-based rules (tests).
    """
    settings = settings or get_settings()
    if not settings.secret_key:
        raise ValueError("settings need their secrets: use Settings(...).with_secrets()")
    passwords.set_memory_cost(settings.password_hash_memory_kib)
    auth_config = AuthConfig(
        keys=TokenKeys(settings.secret_key),
        clock=clock or SystemClock(),
        access_ttl_seconds=settings.access_token_ttl_seconds,
        session_ttl=timedelta(days=settings.session_ttl_days),
        public_url=settings.public_url,
    )
    secret_key = settings.secret_key
    realtime_events.register()
    limiter = RateLimiter(redis_url=settings.redis_url, prefix=settings.rate_limit_prefix)

    scheduling_config = SchedulingConfig(
        clock=auth_config.clock,
        video=SignedRoomProvider(secret_key=settings.secret_key, public_url=settings.public_url),
    )

    def install(app: FastAPI, db: Database) -> None:
        app.state.db = db
        app.state.listener = None  # the process's LISTEN connection, when it owns its database
        app.state.worker = None  # the WorkerSupervisor, when this process runs one
        app.state.web = WebContext(db=db, settings=settings, auth=auth_config, limiter=limiter)
        app.state.scheduling = scheduling_config
        app.state.waitlist = WaitlistConfig(clock=scheduling_config.clock, scheduling=scheduling_config)
        app.state.realtime = RealtimeContext(keys=DisplayKeys(secret_key))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if database is not None:  # the caller owns it; app.state.db is set below
            yield
            return
        # Every connection of this process is named after it, so pg_stat_activity
        # counts them against the budget (settings.connection_budget).
        process_name = f"clinicflow-serve-{os.getpid()}"
        db = Database(
            resolve_database_url(settings),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            read_pool_size=settings.db_read_pool_size,
            orm_read_pool_size=settings.db_orm_read_pool_size,
            read_timeout=settings.db_pool_timeout,
            pool_timeout=settings.db_pool_timeout,
            connect_timeout=settings.db_connect_timeout,
            application_name=process_name,
        )
        install(app, db)
        listener = Listener(
            libpq_url(db.url),
            application_name=f"{process_name}-listen",
            connect_timeout=settings.db_connect_timeout,
        )
        app.state.listener = listener
        hub = Hub(db)
        hub.attach(listener)  # before start: its channel is LISTENed on the first connection
        app.state.realtime.hub = hub
        await listener.start(wait=settings.db_connect_timeout)
        runtime.set_database(db)
        track_pool(db.pool_status)
        jobs_pool = await open_jobs(
            libpq_url(db.url),
            max_size=settings.jobs_pool_size,
            wait_seconds=settings.db_pool_timeout,
            connect_timeout=settings.db_connect_timeout,
            application_name=f"{process_name}-jobs",
        )
        worker: asyncio.Task[None] | None = None
        if with_worker:
            supervisor = WorkerSupervisor(
                concurrency=settings.worker_concurrency,
                heartbeat_seconds=settings.jobs_heartbeat_seconds,
                stalled_after_seconds=settings.jobs_stalled_after_seconds,
                name=process_name,
            )
            app.state.worker = supervisor
            worker = asyncio.create_task(supervisor.run(), name="clinicflow-worker")
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await close_jobs(jobs_pool)
            await hub.close()
            await listener.stop()
            runtime.set_database(None)
            await db.dispose()

    app = FastAPI(
        title="Clinicflow",
        version="0.1.0",
        summary="Patient flow for multi-clinic organisations.",
        lifespan=lifespan,
        # Our own /docs and /redoc (web.home) serve Swagger UI and Redoc from local copies.
        docs_url=None,
        redoc_url=None,
        telemetry=None if settings.otel else {"tracing": False, "metrics": False, "logs": False},
    )
    head_revision()  # parse the migration scripts now, not on the first readiness probe
    if database is not None:
        install(app, database)
    install_error_handlers(app)
    document_edge_errors(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(health_router)
    home.install(app)
    domain_routers = (
        auth_router,
        users_router,
        tenancy_router,
        scheduling_router,
        video_rooms_router,
        waitlist_router,
        audit_router,
        outbox_router,
        realtime_router,
    )
    for domain_router in domain_routers:
        app.include_router(domain_router)
    for router in extra_routers:
        app.include_router(router)
    return app
