"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from clinicflow.errors import ServiceUnavailable
from clinicflow.platform.db import Database, DatabaseUnavailable
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


@router.get("/health/live", response_model=Liveness)
async def live() -> Liveness:
    """The process is up and its event loop answers."""
    return Liveness(status="ok")


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"description": "Database unreachable or schema behind"}},
)
async def ready(request: Request) -> Readiness:
    """The database answers and its schema is at the code's head revision."""
    database: Database = request.app.state.db
    try:
        async with asyncio.timeout(READY_BUDGET_SECONDS):
            revision = await current_revision(database)
    except (SQLAlchemyError, OSError, DatabaseUnavailable) as exc:  # TimeoutError is an OSError
        raise ServiceUnavailable("The database is not reachable") from exc
    expected = head_revision()
    if revision != expected:
        raise ServiceUnavailable(
            f"The database schema is at {revision or 'nothing'}, the code needs {expected}: "
            "run `clinicflow migrate`",
            schema_revision=revision,
            expected_revision=expected,
        )
    return Readiness(status="ready", schema_revision=revision)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics() -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
