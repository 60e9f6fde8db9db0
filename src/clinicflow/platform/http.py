"""HTTP plumbing shared by every route: request ids, body limits, metrics, problem+json."""

from __future__ import annotations

import logging
import random
import re
import time
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clinicflow.errors import (
    ClinicflowError,
    FieldProblem,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from clinicflow.platform.context import client_address_var, request_id_var
from clinicflow.platform.db.database import DatabaseUnavailable
from clinicflow.platform.db.integrity import translate_db_error
from clinicflow.platform.db.unavailable import is_unavailable
from clinicflow.platform.hygiene import check_body, check_path_and_query
from clinicflow.platform.logging import get_logger
from clinicflow.platform.metrics import HTTP_LATENCY, HTTP_REQUESTS

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_KNOWN_STATUSES = {status.value for status in HTTPStatus}

log = get_logger("clinicflow.http")


class RequestContextMiddleware:
    """Outermost middleware (inside Starlette's error handler).

    - takes a well-formed `X-Request-Id` or makes one, exposes it to logs and echoes it;
    - refuses bodies over the limit with 413 before the app reads a byte of them;
    - refuses text PostgreSQL cannot store and over-deep bodies with 422 (platform.hygiene);
    - records request count and latency by route template and status, and logs one line.

    It runs on every request, so its per-request work is kept small (see
    docs/benchmarks.md): metric children are cached per label set, the
    request id reaches log lines through a context variable read only when a
    line is rendered, and the access line is skipped when INFO is filtered.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self._metrics: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._stdlib_log = logging.getLogger("clinicflow.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, REQUEST_ID_HEADER)
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else _new_request_id()
        token = request_id_var.set(request_id)
        client = scope.get("client")
        address_token = client_address_var.set(client[0] if client else None)
        started = time.perf_counter()
        status = 500
        response_started = False
        request_id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                if not any(key.lower() == b"x-request-id" for key, _ in headers):
                    headers.append(request_id_header)
                message = {**message, "headers": headers}
            await send(message)

        try:
            body_receive = await self._checked_receive(scope, receive)
            await self.app(scope, body_receive, send_with_id)
        except ClinicflowError as refused:
            # Refused at the edge (too large, unstorable text, too deep): no route ran.
            if response_started:
                raise
            await _send_problem(send_with_id, refused)
        except Exception as exc:
            # Rendered here, inside the request's context, so the 500 carries the
            # request id and is counted and logged like any other response.
            log.exception("http.unhandled_exception")
            if response_started:
                raise
            await _send_problem(send_with_id, _internal_error(exc))
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope["method"]
            counter, latency = self._metric_children(method, template, status)
            counter.inc()
            latency.observe(elapsed)
            if self._stdlib_log.isEnabledFor(logging.INFO):
                log.info(
                    "http.request",
                    method=method,
                    path=scope["path"],
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            request_id_var.reset(token)
            client_address_var.reset(address_token)

    def _metric_children(self, method: str, template: str, status: int) -> tuple[Any, Any]:
        """The labelled counter and histogram for this response, looked up once per label set.

        The key space is bounded: route templates (not raw paths) by methods by statuses.
        """
        key = (method, template, status)
        children = self._metrics.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(method=method, route=template, status=str(status)),
                HTTP_LATENCY.labels(method=method, route=template),
            )
            self._metrics[key] = children
        return children

    async def _checked_receive(self, scope: Scope, receive: Receive) -> Receive:
        """Check the path and query, read the body up front (bounded) and check it.

        Raises PayloadTooLarge or ValidationFailed (see platform.hygiene) before
        the app sees the request.
        """
        check_path_and_query(scope["path"], scope["query_string"])
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return receive
        too_large = PayloadTooLarge(f"The request body exceeds {self.max_body_bytes} bytes")
        declared = _header(scope, "content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        check_body(body)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


def _new_request_id() -> str:
    """128 random bits as 32 hex digits, like a uuid4's hex.

    A request id correlates log lines; it grants nothing, so it needs
    uniqueness, not unpredictability: the process's PRNG gives it without
    the system call `uuid4` makes on every request.
    """
    return f"{random.getrandbits(128):032x}"


def _header(scope: Scope, name: str) -> str | None:
    raw = name.encode()
    for key, value in scope.get("headers", []):
        if key == raw:
            return str(value.decode("latin-1"))
    return None


def problem_body(error: ClinicflowError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://clinicflow.dev/problems/{error.code.lower().replace('_', '-')}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    if error.errors:
        body["errors"] = [{"field": p.field, "message": p.message} for p in error.errors]
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    for key, value in error.extra.items():
        if value is not None and key not in body:
            body[key] = value
    return body


def problem_response(error: ClinicflowError) -> JSONResponse:
    headers = dict(error.headers)
    request_id = request_id_var.get()
    if request_id:
        headers["X-Request-Id"] = request_id
    return JSONResponse(
        problem_body(error), status_code=error.status, headers=headers, media_type=PROBLEM_JSON
    )


async def _send_problem(send: Send, error: ClinicflowError) -> None:
    response = problem_response(error)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    # A body field or query parameter is named by itself ("starts_at", "from");
    # path parameters and headers keep their location ("path.clinic_id").
    if parts and parts[0] in ("body", "query"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _on_clinicflow_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ClinicflowError)
    if exc.status >= 500:
        log.error("http.error", code=exc.code, detail=exc.detail)
    return problem_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    malformed = False
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            malformed = True
        problems.append(FieldProblem(field=_field_of(err.get("loc", ())), message=str(err.get("msg", ""))))
    detail = "The request body is not valid JSON" if malformed else "Some fields are not valid"
    return problem_response(ValidationFailed(detail, errors=problems))


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error: ClinicflowError
    if exc.status_code == 404:
        error = NotFound(f"No route for {request.method} {request.url.path}")
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
    elif exc.status_code == 400:
        # FastAPI's only 400: a body it could not decode (not UTF-8, a broken form).
        error = ValidationFailed(
            "The request body could not be read",
            errors=[FieldProblem(field="body", message="is not valid UTF-8 JSON")],
        )
    else:
        error = ClinicflowError(str(exc.detail))
        error.status = exc.status_code
        error.code = "HTTP_ERROR"
        error.title = HTTPStatus(exc.status_code).phrase if exc.status_code in _KNOWN_STATUSES else "Error"
    response = problem_response(error)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_db_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    domain = translate_db_error(exc)
    if domain is not None:
        return problem_response(domain)
    return await _on_unexpected(request, exc)


def _internal_error(exc: BaseException) -> ClinicflowError:
    """What an unhandled exception answers: 503 DATABASE_UNAVAILABLE (retry) if the database
    could not serve the request (`platform.db.unavailable`), else 500."""
    if is_unavailable(exc):
        return DatabaseUnavailable()
    return ClinicflowError("Something went wrong on our side. Quote the request id when reporting it.")


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("http.unhandled_exception", exc_type=type(exc).__name__)
    return problem_response(_internal_error(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as application/problem+json with a stable code."""
    app.add_exception_handler(ClinicflowError, _on_clinicflow_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(DBAPIError, _on_db_error)
    # Any other exception is rendered by RequestContextMiddleware, which owns the request id.
