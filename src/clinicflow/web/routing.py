"""Errors on pages: the error contract rendered as a readable page, sign-in as a redirect.

Page routes use `PageRoute`: a `ClinicflowError` raised by a dependency or a
service becomes an HTML page with the same status (404 for another tenant's
object, exactly like a missing one), and `LoginRequired` a 303 to `/login`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from clinicflow.errors import ClinicflowError
from clinicflow.web.access import LoginRequired
from clinicflow.web.rendering import render


def login_redirect(error: LoginRequired) -> RedirectResponse:
    query = urlencode({"next": error.next_url, "reason": error.reason})
    return RedirectResponse(f"/login?{query}", status_code=303)


class PageRoute(APIRoute):
    """An HTML route: errors render as pages, never as problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as needed:
                return login_redirect(needed)
            except ClinicflowError as error:
                context = {"error": error, "status": error.status}
                return render(request, "error.html", context, status_code=error.status)

        return page_handler
