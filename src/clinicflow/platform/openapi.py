"""Problem responses declared in the OpenAPI document, so clients see every error a route gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """`application/problem+json` (RFC 9457) with a stable `code`."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None
    request_id: str | None = None


_DESCRIPTIONS = {
    401: "Not authenticated (UNAUTHENTICATED, REFRESH_TOKEN_REUSED)",
    403: "Authenticated but not allowed (FORBIDDEN, TENANT_MISMATCH, ROLE_GRANT_FORBIDDEN)",
    404: "Not found, or not visible to the caller (NOT_FOUND)",
    409: "Conflicts with the current state (a CONFLICT code)",
    413: "The request body is over the size limit (PAYLOAD_TOO_LARGE)",
    422: "Invalid input (VALIDATION_FAILED with a field list)",
    429: "Rate limited (RATE_LIMIT_EXCEEDED, with Retry-After)",
    503: "The database is unavailable for now (DATABASE_UNAVAILABLE, with Retry-After)",
}

#: Paths whose operations do not touch the database (so never answer 503).
_NO_DATABASE = ("/health/live", "/metrics")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these error statuses."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS[status],
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }


def document_edge_errors(app: FastAPI) -> None:
    """Declare in the OpenAPI document the errors every route can give, whatever it declares itself.

    The edge answers for all routes (platform.http, platform.hygiene): 422 for
    unstorable text in any path or query and for bodies it cannot read, 413
    for oversized bodies, 401 where a bearer token is required, and 503 when
    the database is unavailable. FastAPI's own 422 (`HTTPValidationError`) is
    replaced by our problem shape, which is what the API really sends.
    """
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                _declare(path, operation)
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = {422}
    if "requestBody" in operation:
        statuses.add(413)
    if operation.get("security"):
        statuses.add(401)
    if not path.startswith(_NO_DATABASE):
        statuses.add(503)
    for status in sorted(statuses):
        existing = responses.get(str(status))
        if existing is None or status == 422:
            responses[str(status)] = {
                "description": (existing or {}).get("description") or _DESCRIPTIONS[status],
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
