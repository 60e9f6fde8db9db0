"""The ASGI application: routes, error rendering, middleware and the resources' lifetime.

Building it (`create_app`) has four steps, each one function: the per-app
configuration (`AppConfig`), the domains' event handlers
(`register_event_handlers`, the one place where a domain is wired to another's
events), the resources' lifetime (`_lifespan`) and the HTTP surface (`_routes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, FastAPI

from clinicflow.audit.routes import router as audit_router
from clinicflow.checkin.config import CheckInConfig
from clinicflow.checkin.qr import QrKeys
from clinicflow.checkin.queue.routes import router as queue_router
from clinicflow.checkin.routes import router as checkin_router
from clinicflow.config import Settings, get_settings
from clinicflow.identity import events as identity_events
from clinicflow.identity import passwords
from clinicflow.identity.access import WebContext
from clinicflow.identity.auth import AuthConfig
from clinicflow.identity.family_routes import router as family_router
from clinicflow.identity.routes import auth_router, users_router
from clinicflow.identity.tokens import TokenKeys
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
from clinicflow.scheduling import guards as scheduling_guards
from clinicflow.scheduling import notifications as scheduling_notifications
from clinicflow.scheduling.config import SchedulingConfig
from clinicflow.scheduling.routes import rooms as video_rooms_router
from clinicflow.scheduling.routes import router as scheduling_router
from clinicflow.scheduling.video import SignedRoomProvider
from clinicflow.tenancy.routes import router as tenancy_router
from clinicflow.waitlist import events as waitlist_events
from clinicflow.waitlist.config import WaitlistConfig
from clinicflow.waitlist.routes import router as waitlist_router
from clinicflow.web import home, pages
from clinicflow.web.patient_stream import stream_principal

log = get_logger(__name__)


#: In the order a request tries them (each route a regular expression, each router skipped
#: at once outside its prefix: `platform.routing`): the day's busiest paths first — the
#: login, a QR scan and the queue a whole waiting room reads — then the rest. No two routers
#: answer one path, so the order changes what a request costs, never where it goes.
DOMAIN_ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    checkin_router,
    queue_router,
    users_router,
    tenancy_router,
    scheduling_router,
    video_rooms_router,
    waitlist_router,
    audit_router,
    outbox_router,
    realtime_router,
    family_router,
)


def register_event_handlers() -> None:
    """Wire every domain's handlers to the events and hooks of the domains they listen to.

    Called once per build by `create_app`; each registration is idempotent (a
    handler is kept once), so building several apps in one process is safe.
    Nothing subscribes by being imported.
    """
    # Scheduling refuses to archive a clinic that still has upcoming appointments.
    scheduling_guards.register()
    # The patient hears of each change to their appointment.
    scheduling_notifications.register()
    # A freed slot is offered to the waitlist.
    waitlist_events.register()
    # Appointment changes are published on the real-time stream.
    realtime_events.register()


@dataclass(frozen=True, slots=True)
class AppConfig:
    """What one app's requests share, built from the settings (and a test clock)."""

    settings: Settings
    auth: AuthConfig
    limiter: RateLimiter
    scheduling: SchedulingConfig
    checkin: CheckInConfig

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None) -> AppConfig:
        if not settings.secret_key:
            raise ValueError("settings need their secrets: use Settings(...).with_secrets()")
        passwords.set_memory_cost(settings.password_hash_memory_kib)
        auth = AuthConfig(
            keys=TokenKeys(settings.secret_key),
            clock=clock or SystemClock(),
            access_ttl_seconds=settings.access_token_ttl_seconds,
            session_ttl=timedelta(days=settings.session_ttl_days),
            public_url=settings.public_url,
        )
        scheduling = SchedulingConfig(
            clock=auth.clock,
            video=SignedRoomProvider(secret_key=settings.secret_key, public_url=settings.public_url),
        )
        limiter = RateLimiter(redis_url=settings.redis_url, prefix=settings.rate_limit_prefix)
        checkin = CheckInConfig(
            clock=auth.clock,
            qr=QrKeys(settings.secret_key, settings.checkin_qr_key_ids.split(",")),  # derived once
            public_url=settings.public_url,
            rate_per_patient=settings.checkin_rate_per_patient,
            rate_per_location=settings.checkin_rate_per_location,
        )
        return cls(settings=settings, auth=auth, limiter=limiter, scheduling=scheduling, checkin=checkin)

    def install(self, app: FastAPI, db: Database) -> None:
        """Put the database and the shared configuration on `app.state`, where requests find them."""
        app.state.db = db
        app.state.listener = None  # the process's LISTEN connection, when it owns its database
        app.state.worker = None  # the WorkerSupervisor, when this process runs one
        app.state.web = WebContext(db=db, settings=self.settings, auth=self.auth, limiter=self.limiter)
        app.state.scheduling = self.scheduling
        app.state.waitlist = WaitlistConfig(clock=self.scheduling.clock, scheduling=self.scheduling)
        app.state.checkin = self.checkin
        # Pages' EventSources authenticate with their session cookie (web.patient_stream).
        app.state.realtime = RealtimeContext(
            keys=DisplayKeys(self.settings.secret_key or ""), cookie=stream_principal
        )


def _own_database(settings: Settings) -> Database:
    """The database of a serving process, its pools sized by the settings' connection budget."""
    # Every connection of this process is named after it, so pg_stat_activity
    # counts them against the budget (settings.connection_budget).
    return Database(
        resolve_database_url(settings),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        read_pool_size=settings.db_read_pool_size,
        orm_read_pool_size=settings.db_orm_read_pool_size,
        read_timeout=settings.db_pool_timeout,
        pool_timeout=settings.db_pool_timeout,
        connect_timeout=settings.db_connect_timeout,
        application_name=f"clinicflow-serve-{os.getpid()}",
    )


def _start_worker(app: FastAPI, settings: Settings, name: str) -> asyncio.Task[None]:
    supervisor = WorkerSupervisor(
        concurrency=settings.worker_concurrency,
        heartbeat_seconds=settings.jobs_heartbeat_seconds,
        stalled_after_seconds=settings.jobs_stalled_after_seconds,
        name=name,
    )
    app.state.worker = supervisor
    return asyncio.create_task(supervisor.run(), name="clinicflow-worker")


def _lifespan(
    config: AppConfig, *, owns_database: bool, with_worker: bool
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Open the database, the job queue and the worker at start-up; close them at shutdown.

    A database passed to `create_app` belongs to the caller: nothing is opened.
    """
    settings = config.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not owns_database:  # the caller owns it; app.state.db is set at build
            yield
            return
        db = _own_database(settings)
        config.install(app, db)
        listener = Listener(
            libpq_url(db.url),
            application_name=f"{db.application_name}-listen",
            connect_timeout=settings.db_connect_timeout,
        )
        app.state.listener = listener
        identity_events.register(listener, app.state.web.principals)
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
            application_name=f"{db.application_name}-jobs",
        )
        worker = _start_worker(app, settings, db.application_name) if with_worker else None
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

    return lifespan


def _routes(app: FastAPI, settings: Settings, extra_routers: Iterable[APIRouter]) -> None:
    """Error rendering, middleware, and every router: operations, pages, the domains' APIs."""
    install_error_handlers(app)
    document_edge_errors(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(health_router)
    home.install(app)
    pages.install(app, settings)
    for router in (*DOMAIN_ROUTERS, *extra_routers):
        app.include_router(router)


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
    config = AppConfig.build(settings or get_settings(), clock)
    register_event_handlers()
    app = FastAPI(
        title="Clinicflow",
        version="0.1.0",
        summary="Patient flow for multi-clinic organisations.",
        lifespan=_lifespan(config, owns_database=database is None, with_worker=with_worker),
        # Our own /docs and /redoc (web.home) serve Swagger UI and Redoc from local copies.
        docs_url=None,
        redoc_url=None,
        telemetry=None if config.settings.otel else {"tracing": False, "metrics": False, "logs": False},
    )
    head_revision()  # parse the migration scripts now, not on the first readiness probe
    if database is not None:
        config.install(app, database)
    _routes(app, config.settings, extra_routers)
    return app
