"""The front door: `/` leads to each app's sign-in; `/docs` and `/redoc` work offline.

`/` is a `PageRoute` like every app page, so the accessibility crawl
(tests/web/test_accessibility.py) visits it too. Each app's card links to
`/login?next=<app>`: signing in there lands in that app.

FastAPI's own docs pages load Swagger UI and Redoc from a CDN. Here they are
built with FastAPI's public `get_swagger_ui_html` / `get_redoc_html` pointing
at copies served from `clinicflow/static/vendor` (see its README for versions),
so the docs work on a machine with no internet and send nothing to a third party.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from clinicflow.identity.access import public
from clinicflow.web.routing import PageRoute

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_URL = "/static"
_templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

router = APIRouter(include_in_schema=False, dependencies=[Depends(public)])
front = APIRouter(include_in_schema=False, dependencies=[Depends(public)], route_class=PageRoute)


#: The apps the front door leads to: (name, path, what it is for).
APPS = (
    ("Patient app", "/app", "Book a visit, see and change your appointments, join a waitlist, check in."),
    ("Doctor hub", "/doctor", "Today's schedule, your live queue, your availability and waitlist."),
    ("Front desk", "/desk", "Today's arrivals, check patients in, book for them, manage waitlists."),
    ("Admin console", "/admin", "Clinics, locations, staff and roles, policies and the audit trail."),
)


def install(app: FastAPI) -> None:
    """Serve the pages and their static files on `app` (built with docs_url=redoc_url=None)."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(front)
    app.include_router(router)


@front.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """What Clinicflow is, a sign-in link to each app, and the API documentation."""
    apps = [
        {"name": name, "href": f"/login?{urlencode({'next': path}, safe='/')}", "summary": summary}
        for name, path, summary in APPS
    ]
    return _templates.TemplateResponse(
        request,
        "home.html",
        {
            "title": request.app.title,
            "summary": request.app.summary,
            "version": request.app.version,
            "apps": apps,
        },
    )


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for the OpenAPI document, from local assets."""
    return get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} — API (Swagger UI)",
        swagger_js_url=f"{STATIC_URL}/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC_URL}/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{STATIC_URL}/favicon.svg",
    )


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """Redoc for the OpenAPI document, from local assets and without web fonts."""
    return get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} — API (Redoc)",
        redoc_js_url=f"{STATIC_URL}/vendor/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{STATIC_URL}/favicon.svg",
        with_google_fonts=False,
    )


def _openapi_url(request: Request) -> str:
    root_path = request.scope.get("root_path", "").rstrip("/")
    return f"{root_path}{request.app.openapi_url}"
