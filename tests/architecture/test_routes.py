"""Every route declares who may call it; the OpenAPI document declares every error."""

from __future__ import annotations

import inspect
import re

from fastapi import APIRouter, Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import compile_path

from clinicflow.app import DOMAIN_ROUTERS, create_app
from clinicflow.config import Environment, Settings
from clinicflow.identity.access import Authorized, public
from clinicflow.platform.db import Database
from clinicflow.web.routing import PageRoute

#: Operational endpoints outside the API, public by design (load balancers, Prometheus).
OPERATIONAL = {"/health/live", "/health/ready", "/metrics"}
#: The front door's pages; the apps' pages are the `PageRoute` routes. Pages are declared
#: (public or not) like any route, but are not in the OpenAPI document.
HOME_PAGES = {"/", "/docs", "/redoc"}


def _app(*routers: APIRouter) -> FastAPI:
    settings = Settings(CLINICFLOW_ENV=Environment.TEST, CLINICFLOW_SECRET_KEY="k" * 40)
    return create_app(
        settings=settings, database=Database("postgresql+psycopg://unused/x"), extra_routers=routers
    )


def _declaration(dependant: Dependant) -> str | None:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Authorized):
            return repr(dependency.call)
        if dependency.call is public:
            return "public"
        found = _declaration(dependency)
        if found:
            return found
    return None


def api_routes(app: FastAPI) -> list[tuple[str, set[str], Dependant]]:
    """(path, methods, dependant) of every API route, through included routers.

    FastAPI 0.16x keeps included routers as wrappers in `app.routes`;
    `iter_route_contexts` flattens them. The effective dependant includes
    dependencies added at include time.
    """
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        effective = getattr(context, "_route_context", None)
        dependant = getattr(effective, "dependant", None) or route.dependant
        found.append((context.path or route.path, set(route.methods), dependant))
    return found


def pages_of(app: FastAPI) -> set[str]:
    """Paths of the server-rendered pages (home pages and every `PageRoute`)."""
    paths = {
        c.path or c.original_route.path
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, PageRoute)
    }
    return HOME_PAGES | paths


def _undeclared(app: FastAPI) -> list[str]:
    return [
        f"{sorted(methods)} {path}"
        for path, methods, dependant in api_routes(app)
        if path not in OPERATIONAL and _declaration(dependant) is None
    ]


def test_the_walk_sees_every_api_route() -> None:
    paths = {path for path, _, _ in api_routes(_app())}
    assert {"/api/v1/auth/login", "/api/v1/users/{user_id}/roles", "/api/v1/clinics/{clinic_id}"} <= paths
    assert len(paths) >= 25


def test_every_route_declares_a_permission_or_is_marked_public() -> None:
    assert _undeclared(_app()) == []


def test_the_route_walk_catches_an_undeclared_route() -> None:
    careless = APIRouter()

    @careless.get("/api/v1/oops")
    async def oops() -> dict[str, str]:
        return {"open": "door"}

    assert _undeclared(_app(careless)) == ["['GET'] /api/v1/oops"]


def test_every_protected_route_documents_401_and_every_route_with_input_422() -> None:
    app = _app()
    schema = app.openapi()
    missing = []
    for path, methods, dependant in api_routes(app):
        if path in OPERATIONAL | pages_of(app):
            continue
        for method in methods:
            operation = schema["paths"][path][method.lower()]
            responses = operation["responses"]
            if _declaration(dependant) != "public" and "401" not in responses:
                missing.append(f"{method} {path}: 401")
            if ("requestBody" in operation or operation.get("parameters")) and "422" not in responses:
                missing.append(f"{method} {path}: 422")
    assert missing == []


def test_protected_routes_declare_the_bearer_scheme_and_public_ones_do_not() -> None:
    app = _app()
    schema = app.openapi()
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    for path, methods, dependant in api_routes(app):
        if path in OPERATIONAL | pages_of(app):
            continue
        for method in methods:
            operation = schema["paths"][path][method.lower()]
            secured = bool(operation.get("security"))
            assert secured == (_declaration(dependant) != "public"), f"{method} {path}"


def _blocking_calls(dependant: Dependant) -> list[str]:
    """Sync endpoints and dependencies: FastAPI runs each in a worker thread, per request."""
    found = []
    for dependency in dependant.dependencies:
        call = dependency.call
        if call is not None and not _is_coroutine(call):
            found.append(getattr(call, "__qualname__", repr(call)))
        found += _blocking_calls(dependency)
    return found


def _is_coroutine(call: object) -> bool:
    if inspect.iscoroutinefunction(call):
        return True
    method = next((c.__dict__["__call__"] for c in type(call).__mro__ if "__call__" in c.__dict__), None)
    return inspect.iscoroutinefunction(method)  # a callable instance such as Requires(...)


def _threaded(app: FastAPI) -> set[str]:
    found = set()
    for path, _, dependant in api_routes(app):
        if dependant.call is not None and not _is_coroutine(dependant.call):
            found.add(f"endpoint of {path}")
        found.update(_blocking_calls(dependant))
    return found


def test_no_route_hops_to_a_thread_per_request() -> None:
    """Nothing we run per request blocks, so nothing needs the thread pool (40 threads, a hop each).

    A sync `web` dependency on every route once cost a thread hop per request (bench/).
    """
    assert _threaded(_app()) == set()


def test_the_thread_check_catches_a_sync_dependency() -> None:
    careless = APIRouter()

    def settings_of() -> str:
        return "sync"

    @careless.get("/api/v1/sync", dependencies=[Depends(public), Depends(settings_of)])
    async def sync() -> dict[str, str]:
        return {"value": "sync"}

    assert "test_the_thread_check_catches_a_sync_dependency.<locals>.settings_of" in _threaded(_app(careless))


def _example(path: str) -> str:
    """A path the route answers: each parameter filled with an id."""
    return re.sub(r"\{[^}]+\}", "0190a7c2-3f5e-7d41-9b6a-2c8e4f1d0a37", path)


def test_no_two_domain_routers_answer_one_path() -> None:
    """`app.DOMAIN_ROUTERS` are ordered by traffic, not by precedence: that is only safe while
    no route of one router would also answer a path of another's (same method)."""
    routes = [
        (index, method, route.path, compile_path(route.path)[0])
        for index, router in enumerate(DOMAIN_ROUTERS)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    ]
    assert len(routes) > 50
    clashes = [
        (path, other)
        for index, method, path, _ in routes
        for other_index, other_method, other, pattern in routes
        if other_index != index and other_method == method and pattern.match(_example(path))
    ]
    assert clashes == []
