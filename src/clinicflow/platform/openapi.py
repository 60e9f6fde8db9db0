"""Problem responses declared in the OpenAPI document, so clients see every error a route gives."""

from __future__ import annotations

from typing import Any

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
    422: "Invalid input (VALIDATION_FAILED with a field list)",
    429: "Rate limited (RATE_LIMIT_EXCEEDED, with Retry-After)",
}


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
