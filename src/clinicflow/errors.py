"""The one error hierarchy of Clinicflow.

Every error a client can see is a ``ClinicflowError`` with a stable
UPPER_SNAKE ``code``, an HTTP ``status`` and optional structured fields. The
API renders them as ``application/problem+json``; pages render ``detail``.
Domains add their own codes by subclassing in their ``errors.py``.

    ClinicflowError                  500 INTERNAL_ERROR
    ├── ValidationFailed             422 VALIDATION_FAILED      (field list in ``errors``)
    │   └── IdempotencyKeyReused     422 IDEMPOTENCY_KEY_REUSED
    ├── Unauthenticated              401 UNAUTHENTICATED
    ├── Forbidden                    403 FORBIDDEN
    │   └── TenantMismatch           403 TENANT_MISMATCH
    ├── NotFound                     404 NOT_FOUND              (also: another tenant's object)
    ├── MethodNotAllowed             405 METHOD_NOT_ALLOWED
    ├── Conflict                     409 CONFLICT               (integrity errors land here)
    ├── PayloadTooLarge              413 PAYLOAD_TOO_LARGE
    ├── RateLimitExceeded            429 RATE_LIMIT_EXCEEDED    (``Retry-After`` header)
    └── ServiceUnavailable           503 SERVICE_UNAVAILABLE
        └── DatabaseUnavailable      503 DATABASE_UNAVAILABLE   (platform.db; ``Retry-After``)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str


class ClinicflowError(Exception):
    # Class-level defaults; a generic error may override them per instance.
    code: str = "INTERNAL_ERROR"
    status: int = 500
    title: str = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class ValidationFailed(ClinicflowError):
    code = "VALIDATION_FAILED"
    status = 422
    title = "The request is not valid"


class IdempotencyKeyReused(ValidationFailed):
    code = "IDEMPOTENCY_KEY_REUSED"
    title = "This Idempotency-Key was used with a different request"


class Unauthenticated(ClinicflowError):
    code = "UNAUTHENTICATED"
    status = 401
    title = "Authentication required"


class Forbidden(ClinicflowError):
    code = "FORBIDDEN"
    status = 403
    title = "Not allowed"


class TenantMismatch(Forbidden):
    code = "TENANT_MISMATCH"
    title = "X-Tenant-Id does not match the authenticated tenant"


class NotFound(ClinicflowError):
    code = "NOT_FOUND"
    status = 404
    title = "Not found"


class MethodNotAllowed(ClinicflowError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    title = "Method not allowed"


class Conflict(ClinicflowError):
    code = "CONFLICT"
    status = 409
    title = "The request conflicts with the current state"


class PayloadTooLarge(ClinicflowError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    title = "The request body is too large"


class RateLimitExceeded(ClinicflowError):
    code = "RATE_LIMIT_EXCEEDED"
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = retry_after


class ServiceUnavailable(ClinicflowError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    title = "The service is not ready"
