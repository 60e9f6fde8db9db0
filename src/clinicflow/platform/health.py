"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from clinicflow.errors import ServiceUnavailable
from clinicflow.platform.db import Database, DatabaseUnavailable
from clinicflow.platform.jobs import WorkerSupervisor
from clinicflow.platform.metrics import REGISTRY
from clinicflow.platform.migrations import current_revision, head_revision

router = APIRouter(tags=["operations"])

#: A readiness probe answers within this many seconds, reachable database or not.
READY_BUDGET_SECONDS = 2.0


class Liveness(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    schema_revision: str
    #: "up" when this process runs a job worker (serve without --no-worker); absent otherwise.
    worker: str | None = None


@router.get("/health/live", response_model=Liveness)
async def live() -> Liveness:
    """The process is up and its event loop answers."""
    return Liveness(status="ok")


@router.get(
    "/health/ready",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses={503: {"description": "Database unreachable, schema behind, or job worker down"}},
)
async def ready(request: Request) -> Readiness:
    """The database answers, its schema is at the code's head revision, and the job worker
    this process should run (if any) is running."""
    database: Database = request.app.state.db
    supervisor: WorkerSupervisor | None = getattr(request.app.state, "worker", None)
    worker = None if supervisor is None else ("up" if supervisor.up else "down")
    try:
        async with asyncio.timeout(READY_BUDGET_SECONDS):
            revision = await current_revision(database)
    except (SQLAlchemyError, OSError, DatabaseUnavailable) as exc:  # TimeoutError is an OSError
        raise ServiceUnavailable("The database is not reachable", worker=worker) from exc
    expected = head_revision()
    if revision != expected:
        raise ServiceUnavailable(
            f"The database schema is at {revision or 'nothing'}, the code needs {expected}: "
            "run `clinicflow migrate`",
            schema_revision=revision,
            expected_revision=expected,
        )
    if worker == "down":
        raise ServiceUnavailable(
            "The job worker is down and restarting", schema_revision=revision, worker=worker
        )
    return Readiness(status="ready", schema_revision=revision, worker=worker)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics() -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
