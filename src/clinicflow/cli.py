"""`clinicflow` command line: serve, worker, migrate, seed, tenants, jobs.

Exit codes: 0 success, 1 the request was refused or failed (message on
stderr), 2 wrong usage (Typer), 3 configuration error.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from clinicflow.config import ConfigurationError, Settings, get_settings
from clinicflow.errors import ClinicflowError
from clinicflow.platform import runtime
from clinicflow.platform.db import Database, UnitOfWork
from clinicflow.platform.db.url import libpq_url, resolve_database_url
from clinicflow.platform.logging import configure_logging

if TYPE_CHECKING:
    from procrastinate.jobs import Job

app = typer.Typer(help="Clinicflow: patient flow for clinic groups.", no_args_is_help=True)
tenants_app = typer.Typer(help="Manage tenants.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect background jobs.", no_args_is_help=True)
admins_app = typer.Typer(help="Manage platform administrators (SUPER_ADMIN).", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(admins_app, name="admins")
app.add_typer(jobs_app, name="jobs")

T = TypeVar("T")


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _settings() -> Settings:
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        _say(f"configuration error: {exc}")
        raise typer.Exit(3) from exc
    configure_logging(level=settings.log_level, json=settings.log_json)
    return settings


def _database_url(settings: Settings) -> str:
    if not settings.database_url:
        _say(f"starting embedded PostgreSQL in {settings.var_dir / 'postgres'} ...")
    return resolve_database_url(settings)


def _migrate(url: str) -> None:
    from clinicflow.platform.migrations import upgrade_to_head

    _say("applying migrations ...")
    upgrade_to_head(url)


def _in_transaction(url: str, use_case: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run one use case in one unit of work; domain errors exit 1 with their message."""

    async def run() -> T:
        database = Database(url, pool_size=2, max_overflow=0)
        runtime.set_database(database)
        try:
            async with database.transaction() as uow:
                return await use_case(uow)
        finally:
            runtime.set_database(None)
            await database.dispose()

    try:
        return asyncio.run(run())
    except ClinicflowError as exc:
        details = "; ".join(f"{p.field}: {p.message}" for p in exc.errors)
        _say(f"error {exc.code}: {exc.detail}" + (f" ({details})" if details else ""))
        raise typer.Exit(1) from exc


def _print_demo_logins(base_url: str | None = None) -> None:
    from clinicflow.demo import DEMO_LOGINS, DEMO_TENANT_SLUG

    if base_url:
        typer.echo(f"\nClinicflow is running at {base_url}")
        typer.echo(f"  API docs:  {base_url}/docs")
        typer.echo(f"  readiness: {base_url}/health/ready")
        typer.echo(f"  try it:    scripts/try-it.sh {base_url}")
    typer.echo(f"\nDemo logins (tenant '{DEMO_TENANT_SLUG}'; the platform admin logs in without a tenant):")
    for login in DEMO_LOGINS:
        typer.echo(f"  {login.role:<15} {login.email:<36} {login.password}")
    typer.echo("")


def _seed_demo(url: str, settings: Settings) -> None:
    from clinicflow.app import AppConfig
    from clinicflow.demo import live_day, seed_demo

    created = _in_transaction(url, seed_demo)
    _say("demo data created" if created else "demo data already present")
    config = AppConfig.build(settings.with_secrets(), None)
    if _in_transaction(url, lambda uow: live_day(uow, config.scheduling, config.checkin)):
        _say("today is a live clinic day: patients are waiting at Riverside's reception desk")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(envvar="CLINICFLOW_HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="CLINICFLOW_PORT", help="Port to listen on.")] = 8000,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not run jobs in this process.")] = False,
    demo: Annotated[bool, typer.Option("--demo", help="Seed the demo tenant and print its logins.")] = False,
) -> None:
    """Migrate, then serve the API and pages (with an in-process job worker unless --no-worker)."""
    from clinicflow.app import create_app
    from clinicflow.platform.serving import run_server

    settings = _settings()
    url = _database_url(settings)
    _migrate(url)
    if demo:
        _seed_demo(url, settings)
    application = create_app(
        settings=settings.model_copy(update={"database_url": url}), with_worker=not no_worker
    )
    if demo:
        _print_demo_logins(f"http://{host}:{port}")
    else:
        typer.echo(f"Clinicflow is running at http://{host}:{port}")
    run_server(application, host=host, port=port)
    _say("stopped")


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Jobs run at once [default: CLINICFLOW_WORKER_CONCURRENCY]."),
    ] = None,
) -> None:
    """Run a background job worker until interrupted; it restarts itself if the database goes away."""
    from clinicflow.app import register_event_handlers
    from clinicflow.platform.jobs import WorkerSupervisor, close_jobs, open_jobs

    register_event_handlers()
    settings = _settings()
    url = _database_url(settings)
    jobs_at_once = concurrency or settings.worker_concurrency
    process_name = f"clinicflow-worker-{os.getpid()}"

    async def run() -> None:
        # Jobs write through the ORM pool; their few reads need little (and hardly any is hot).
        database = Database(
            url,
            pool_size=jobs_at_once,
            max_overflow=2,
            read_pool_size=1,
            orm_read_pool_size=2,
            read_timeout=settings.db_pool_timeout,
            pool_timeout=settings.db_pool_timeout,
            connect_timeout=settings.db_connect_timeout,
            application_name=process_name,
        )
        runtime.set_database(database)
        pool = await open_jobs(
            libpq_url(url),
            max_size=jobs_at_once + 2,
            wait_seconds=settings.db_pool_timeout,
            connect_timeout=settings.db_connect_timeout,
            application_name=f"{process_name}-jobs",
        )
        supervisor = WorkerSupervisor(
            concurrency=jobs_at_once,
            heartbeat_seconds=settings.jobs_heartbeat_seconds,
            stalled_after_seconds=settings.jobs_stalled_after_seconds,
            name=process_name,
        )
        try:
            await supervisor.run()
        finally:
            await close_jobs(pool)
            await database.dispose()

    _say("worker started; Ctrl-C stops it")
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        _say("worker stopped")


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    settings = _settings()
    _migrate(_database_url(settings))
    _say("database is at the latest revision")


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Create the demo tenant (idempotent).")] = False,
) -> None:
    """Load data. Today: the demo tenant."""
    if not demo:
        _say("nothing to seed: pass --demo")
        raise typer.Exit(2)
    settings = _settings()
    url = _database_url(settings)
    _migrate(url)
    _seed_demo(url, settings)
    _print_demo_logins()


@tenants_app.command("create")
def tenants_create(
    name: Annotated[str, typer.Option(help="Display name of the organisation.")],
    slug: Annotated[str, typer.Option(help="Short id used at login, e.g. 'northside'.")],
    admin_email: Annotated[str, typer.Option(help="Email of the first tenant admin.")],
    admin_password: Annotated[str, typer.Option(help="Password of the first tenant admin.")],
) -> None:
    """Create a tenant and its first TENANT_ADMIN."""
    from pydantic import ValidationError

    from clinicflow.tenancy.onboarding import onboard_tenant

    settings = _settings()
    url = _database_url(settings)
    try:
        tenant = _in_transaction(
            url,
            lambda uow: onboard_tenant(
                uow, name=name, slug=slug, admin_email=admin_email, admin_password=admin_password
            ),
        )
    except ValidationError as exc:
        for err in exc.errors():
            _say(f"error: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
        raise typer.Exit(1) from exc
    typer.echo(f"tenant {tenant.slug} created (id {tenant.id}); admin {admin_email}")


@admins_app.command("create")
def admins_create(
    email: Annotated[str, typer.Option(help="Login email of the platform administrator.")],
    password: Annotated[str, typer.Option(help="Password (10 to 256 characters).")],
    name: Annotated[str, typer.Option(help="Full name.")] = "Platform administrator",
) -> None:
    """Create a SUPER_ADMIN: logs in without a tenant, creates tenants, sees no tenant data."""
    from clinicflow.identity import service as identity

    settings = _settings()
    url = _database_url(settings)
    admin_id = _in_transaction(
        url, lambda uow: identity.create_platform_admin(uow, email=email, full_name=name, password=password)
    )
    typer.echo(f"platform admin {email} created (id {admin_id}); log in without a tenant")


@jobs_app.command("failed")
def jobs_failed(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many to list.")] = 50,
) -> None:
    """List jobs that exhausted their retries (dead letters), newest first."""
    from clinicflow.platform.jobs import list_failed_jobs

    settings = _settings()
    url = _database_url(settings)
    failed = _in_transaction(url, lambda uow: list_failed_jobs(uow, limit=limit))
    if not failed:
        typer.echo("no failed jobs")
        return
    typer.echo(f"{'id':>8}  {'task':<40} {'attempts':>8}  failed at                  args")
    for job in failed:
        at = job.failed_at.isoformat(timespec="seconds") if job.failed_at else "-"
        typer.echo(f"{job.id:>8}  {job.task_name:<40} {job.attempts:>8}  {at:<26} {job.args}")


@jobs_app.command("stalled")
def jobs_stalled(
    older_than: Annotated[
        float | None,
        typer.Option(
            min=0, help="Seconds without a heartbeat [default: CLINICFLOW_JOBS_STALLED_AFTER_SECONDS]."
        ),
    ] = None,
) -> None:
    """List jobs in `doing` whose worker stopped sending heartbeats (they are queued again soon)."""
    from clinicflow.platform.jobs import close_jobs, list_stalled_jobs, open_jobs

    settings = _settings()
    url = _database_url(settings)
    bound = settings.jobs_stalled_after_seconds if older_than is None else older_than

    async def run() -> list[Job]:
        pool = await open_jobs(
            libpq_url(url), max_size=2, application_name=f"clinicflow-cli-{os.getpid()}-jobs"
        )
        try:
            return await list_stalled_jobs(stalled_after_seconds=bound)
        finally:
            await close_jobs(pool)

    stalled = asyncio.run(run())
    if not stalled:
        typer.echo("no stalled jobs")
        return
    typer.echo(f"{'id':>8}  {'task':<40} {'queue':<14} {'attempts':>8}  {'worker':>8}  args")
    for job in stalled:
        worker_id = "-" if job.worker_id is None else str(job.worker_id)
        typer.echo(
            f"{job.id:>8}  {job.task_name:<40} {job.queue:<14} {job.attempts:>8}  {worker_id:>8}  "
            f"{job.task_kwargs}"
        )


def main() -> None:
    app(prog_name="clinicflow")


if __name__ == "__main__":
    main()
